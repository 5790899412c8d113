/*
 * Embeddings ingress: OpenAI's POST /v1/embeddings and Ollama's POST
 * /api/embed. Both decode into a seam_req whose user messages are the inputs
 * (one message per input, so that scanning, redaction and policy treat them
 * like any prompt) with req->embed set, and render a provider's
 * seam_embeddings in their own response shape. The dialect tables
 * seam_ingress_openai_embeddings and seam_ingress_ollama_embed are declared
 * in api/ingress.h; this header adds what tests and other modules reach
 * directly.
 */
#ifndef SEAM_API_EMBED_H
#define SEAM_API_EMBED_H

#include "api/ingress.h"
#include "core/buf.h"

#include <stddef.h>

/* Inputs one request may carry. OpenAI documents 2048 per request; Ollama
 * documents no limit, so seam's bound only keeps one body from costing more
 * than a few megabytes of canonical messages. */
#define SEAM_EMBED_MAX_INPUTS_OPENAI 2048
#define SEAM_EMBED_MAX_INPUTS_OLLAMA 65536

/* Appends <n> floats as the base64 (standard alphabet, '=' padding) of their
 * IEEE-754 single-precision little-endian bytes: what OpenAI's
 * encoding_format "base64" returns and its SDKs decode into a Float32Array. */
seam_rc seam_api_embed_base64(const float *v, size_t n, seam_buf *out);

/* Appends <f> as the shortest decimal that reads back as the same float
 * (between 6 and 9 significant digits), so vectors round-trip exactly.
 * SEAM_ERR_INVALID for NaN and infinities, which JSON cannot carry. */
seam_rc seam_api_embed_float(float f, seam_buf *out);

#endif
