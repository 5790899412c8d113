/*
 * The Ollama provider: the native POST /api/chat with NDJSON streaming
 * (never the /v1 compatibility shim, which ignores max_completion_tokens and
 * tool_choice and cannot switch thinking off by default).
 */
#ifndef SEAM_PROVIDERS_OLLAMA_H
#define SEAM_PROVIDERS_OLLAMA_H

#include "providers/provider.h"

extern const seam_provider seam_provider_ollama;

/* Encodes <req> as an /api/chat body asking for <model>, into a new jansson
 * object (caller owns it). Returns NULL with SEAM_ERR_INVALID or
 * SEAM_ERR_NOMEM in <*rc> and a message in <err>. Also used by tests. */
json_t *seam_ollama_encode_request(const seam_req *req, const char *model, seam_arena *a,
                                   seam_rc *rc, char *err, size_t errlen);

#endif
