/*
 * OpenAI Chat Completions ingress: the client-facing dialect. Decodes a
 * request body into the canonical model and writes answers, streams and
 * errors back in OpenAI's shapes, so the official SDKs work unchanged.
 */
#ifndef SEAM_API_OPENAI_H
#define SEAM_API_OPENAI_H

#include "api/ingress.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/canon.h"
#include "core/rc.h"

#include <jansson.h>
#include <stdbool.h>

/* Decodes <body>. On success returns SEAM_OK and a request allocated in <a>
 * whose strings point into the parsed JSON (kept alive by <a>); the "seam"
 * body key, if any, is removed from what will be forwarded and returned in
 * <*meta> (NULL when absent). On failure returns SEAM_ERR_INVALID with a
 * message in <err> and the offending parameter in <*param> (or NULL). */
seam_rc seam_api_openai_decode(seam_arena *a, const char *body, size_t len, seam_req **out,
                               json_t **meta, char *err, size_t errlen, const char **param);

/* An OpenAI error body: {"error":{"message","type","param","code"}}. Returns
 * a string in <a>. */
char *seam_api_openai_error(seam_arena *a, const char *message, const char *type, const char *param,
                            const char *code);

/* Writes a stream of events as OpenAI SSE chunks. */
typedef struct seam_openai_writer {
    const char *id;    /* response id (upstream's, or synthesised) */
    const char *model; /* echoed model */
    long long created;
    bool include_usage; /* the client asked for the usage chunk */
    bool finished;      /* the finish chunk was written */
    bool usage_sent;
    bool had_tool_calls; /* a turn with tool calls ends in "tool_calls" */
    bool have_usage;
    seam_usage usage;
    seam_arena *arena;
    seam_buf prefix; /* `data: {"id":..,"object":..,"created":..,"model":..` */
} seam_openai_writer;

/* <fallback_id> and <fallback_model> are used when the upstream gives none. */
void seam_openai_writer_init(seam_openai_writer *w, seam_arena *a, const char *fallback_id,
                             const char *fallback_model, bool include_usage);

/* Appends the SSE bytes for <ev> to <out>. */
seam_rc seam_openai_writer_event(seam_openai_writer *w, const seam_event *ev, seam_buf *out);

/* Appends the end of the stream: a pending usage chunk, then "data: [DONE]". */
seam_rc seam_openai_writer_end(seam_openai_writer *w, seam_buf *out);

/* Releases the writer's buffers. */
void seam_openai_writer_free(seam_openai_writer *w);

/* Appends a mid-stream error event (then the caller ends the stream). */
seam_rc seam_openai_writer_error(seam_openai_writer *w, const char *message, const char *type,
                                 const char *code, seam_buf *out);

/* The chat.completion object for a collected answer, in <a>. */
char *seam_api_openai_answer_body(const seam_answer *ans, const seam_req *req, seam_arena *a,
                                  size_t *len);

#endif
