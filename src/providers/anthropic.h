/*
 * The Anthropic Messages provider (POST /v1/messages, named SSE events).
 */
#ifndef SEAM_PROVIDERS_ANTHROPIC_H
#define SEAM_PROVIDERS_ANTHROPIC_H

#include "providers/provider.h"

extern const seam_provider seam_provider_anthropic;

/* Encodes <req> as an Anthropic Messages body asking for <model>, into a new
 * jansson object (caller owns it). <b> gives max_tokens_default. Returns NULL
 * with SEAM_ERR_INVALID or SEAM_ERR_NOMEM in <*rc> and a message in <err>.
 * Also used by tests. */
json_t *seam_anthropic_encode_request(const seam_req *req, const seam_backend_conf *b,
                                      const char *model, seam_arena *a, seam_rc *rc, char *err,
                                      size_t errlen);

#endif
