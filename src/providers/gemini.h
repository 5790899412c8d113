/*
 * The Google Gemini provider: generateContent and streamGenerateContent
 * with alt=sse (CRLF-framed SSE that ends at connection close, without a
 * terminator).
 */
#ifndef SEAM_PROVIDERS_GEMINI_H
#define SEAM_PROVIDERS_GEMINI_H

#include "providers/provider.h"

extern const seam_provider seam_provider_gemini;

/* Encodes <req> as a generateContent body (the model goes in the URL), into
 * a new jansson object (caller owns it). Returns NULL with SEAM_ERR_INVALID
 * or SEAM_ERR_NOMEM in <*rc> and a message in <err>. Also used by tests. */
json_t *seam_gemini_encode_request(const seam_req *req, seam_arena *a, seam_rc *rc, char *err,
                                   size_t errlen);

#endif
