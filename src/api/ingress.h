/*
 * Ingress dialects: how seam talks to one kind of client. Each dialect is a
 * table of functions over the canonical model, the mirror of the egress
 * providers (providers/provider.h): decode a request body into a seam_req,
 * write canonical events as the dialect's stream, render a collected answer
 * as its whole response, and express errors the way its SDK parses them.
 * The proxy knows nothing else about a dialect.
 */
#ifndef SEAM_API_INGRESS_H
#define SEAM_API_INGRESS_H

#include "api/answer.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/canon.h"
#include "core/rc.h"

#include <jansson.h>
#include <stdbool.h>

typedef struct seam_ingress {
    seam_api api;
    const char *name; /* "openai", "anthropic", "ollama-chat", ... for logs */
    const char *path; /* the endpoint, for logs */
    /* Content-Type of a streamed answer: SSE or NDJSON. */
    const char *stream_content_type;
    /* Decodes <body>. On success returns SEAM_OK and a request allocated in
     * <a> (req->ingress set, strings pointing into JSON kept alive by <a>);
     * the "seam" body key, if any, is removed from what is forwarded and
     * returned in <*meta> (NULL when absent). On failure: SEAM_ERR_INVALID
     * with a message in <err> and the offending field in <*param> (or NULL),
     * or SEAM_ERR_NOMEM. */
    seam_rc (*decode)(seam_arena *a, const char *body, size_t len, seam_req **out, json_t **meta,
                      char *err, size_t errlen, const char **param);
    /* The body of an HTTP error reply. <status> is the HTTP status seam
     * answers with; <type> and <code> are seam's OpenAI-style error type
     * ("invalid_request_error", "rate_limit_error", "upstream_error", ...)
     * and code ("invalid_request", "no_allowed_backend", ...), which a
     * dialect with its own vocabulary maps from <status>. <param> may be
     * NULL. Returns a string in <a>, or NULL when out of memory. */
    char *(*error_body)(seam_arena *a, int status, const char *message, const char *type,
                        const char *code, const char *param);
    /* A stream writer for <req>, in <a>. <id> and <model> are used until a
     * start event brings the upstream's. NULL when out of memory. */
    void *(*writer_new)(seam_arena *a, const seam_req *req, const char *id, const char *model);
    /* Appends the bytes for <ev> to <out> (possibly none: a writer may hold
     * back what its dialect sends whole, such as Ollama's tool calls). */
    seam_rc (*writer_event)(void *w, const seam_event *ev, seam_buf *out);
    /* Appends the end of the stream (OpenAI's [DONE], Anthropic's
     * message_delta + message_stop, Ollama's done object). After
     * writer_error it appends only what the dialect still requires. */
    seam_rc (*writer_end)(void *w, seam_buf *out);
    /* Appends a mid-stream error in the dialect's stream shape; the caller
     * then calls writer_end. Arguments as for error_body. */
    seam_rc (*writer_error)(void *w, int status, const char *message, const char *type,
                            const char *code, seam_buf *out);
    /* The whole (non-stream) response for a complete answer, a string in <a>
     * with its length in <*len>, or NULL when out of memory. */
    char *(*answer_body)(const seam_answer *ans, const seam_req *req, seam_arena *a, size_t *len);
    /* Embeddings endpoints only (decode sets req->embed; the members above
     * for streams and answers are NULL): the response for <e>. */
    char *(*embeddings_body)(const seam_embeddings *e, const seam_req *req, seam_arena *a,
                             size_t *len);
} seam_ingress;

extern const seam_ingress seam_ingress_openai;            /* POST /v1/chat/completions */
extern const seam_ingress seam_ingress_anthropic;         /* POST /v1/messages */
extern const seam_ingress seam_ingress_ollama_chat;       /* POST /api/chat */
extern const seam_ingress seam_ingress_ollama_generate;   /* POST /api/generate */
extern const seam_ingress seam_ingress_openai_embeddings; /* POST /v1/embeddings */
extern const seam_ingress seam_ingress_ollama_embed;      /* POST /api/embed */

#endif
