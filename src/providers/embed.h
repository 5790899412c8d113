/*
 * Embeddings egress: one canonical embeddings request (a seam_req with
 * req->embed set, its user messages the inputs) to each backend's own
 * endpoint, and each endpoint's answer back to seam_embeddings.
 *
 *   OpenAI-compatible  POST /v1/embeddings
 *   Ollama             POST /api/embed (the native endpoint, never /v1)
 *   Gemini             POST /v1beta/models/<model>:batchEmbedContents
 *   Anthropic          has no embeddings API: building fails
 *
 * Error bodies are the providers' usual ones: the proxy reads them with
 * seam_provider_get(kind)->error_message as for chat.
 */
#ifndef SEAM_PROVIDERS_EMBED_H
#define SEAM_PROVIDERS_EMBED_H

#include "providers/provider.h"

/* Gemini's batchEmbedContents takes at most this many requests per call. */
#define SEAM_GEMINI_EMBED_MAX_BATCH 100

/* One text to embed, pointing into the request. */
typedef struct seam_embed_input {
    const char *text;
    size_t len;
} seam_embed_input;

/* The texts to embed: one per user message of <req>, in order, each its
 * text parts joined (after redaction they are the redacted texts, which is
 * what must leave). Sets <*out> (in <a>) and <*n>. SEAM_ERR_INVALID when
 * there is none, SEAM_ERR_NOMEM. */
seam_rc seam_provider_embed_inputs(const seam_req *req, seam_arena *a, seam_embed_input **out,
                                   size_t *n);

/* Builds the call that asks backend <b> to embed <req>'s inputs with
 * <model>; <api_key> is NULL when the backend has none. Headers carry the
 * provider's usual authentication (Bearer for OpenAI-compatible and Ollama,
 * x-goog-api-key for Gemini). Unmodelled client fields are forwarded only to
 * a backend of the client's own dialect. Returns SEAM_ERR_INVALID with a
 * message in <err> when the backend cannot do it (Anthropic: "backend X
 * (anthropic) cannot embed"; Gemini: more than 100 inputs). <out->body> is
 * initialised in every case; the caller frees it (seam_buf_free). */
seam_rc seam_provider_embed_build(const seam_req *req, const seam_backend_conf *b,
                                  const char *model, const char *api_key, seam_arena *a,
                                  seam_upstream_call *out, char *err, size_t errlen);

/* Parses a success body from a provider of <kind> into <out>, values in <a>.
 * SEAM_ERR_UPSTREAM with a message in <err> when the body is not that
 * provider's embeddings shape: not JSON, no vectors, ragged dimensions,
 * values that are not numbers or do not fit a float, an OpenAI index out of
 * place. SEAM_ERR_INVALID for a kind that has no embeddings (Anthropic). */
seam_rc seam_provider_embed_parse(seam_provider_kind kind, const char *body, size_t len,
                                  seam_arena *a, seam_embeddings *out, char *err, size_t errlen);

/* Checks a parsed answer against the request it answers: one vector per
 * input. SEAM_ERR_UPSTREAM with a message in <err> otherwise (a backend that
 * drops an input would shift every later vector onto the wrong text). */
seam_rc seam_provider_embed_check(const seam_req *req, const seam_embeddings *e, char *err,
                                  size_t errlen);

#endif
