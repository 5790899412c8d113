/*
 * Anthropic Messages ingress: the client-facing dialect of POST /v1/messages,
 * so that the official Anthropic SDKs work against seam unchanged. The
 * dialect itself is the table seam_ingress_anthropic (api/ingress.h); this
 * header adds what lies outside that table.
 */
#ifndef SEAM_API_ANTHROPIC_H
#define SEAM_API_ANTHROPIC_H

#include "api/ingress.h"
#include "config/config.h"
#include "core/arena.h"

#include <stddef.h>

/* POST /v1/messages/count_tokens: decodes <body> as a Messages request
 * (max_tokens is not required there) and answers {"input_tokens":N} with
 * seam's own estimate (policy/task.h), <*status> 200; an invalid body gets
 * Anthropic's error body with <*status> 400. <cfg> may be NULL. Returns a
 * NUL-terminated string in <a> with its length in <*outlen>, or NULL when out
 * of memory. */
char *seam_api_anthropic_count_tokens(seam_arena *a, const seam_config *cfg, const char *body,
                                      size_t len, size_t *outlen, int *status);

/* Anthropic's error type for an HTTP status: 400 invalid_request_error, 401
 * authentication_error, 403 permission_error, 404 not_found_error, 413
 * request_too_large, 429 rate_limit_error, 503 and 529 overloaded_error, 504
 * timeout_error, any other 4xx invalid_request_error, any other 5xx
 * api_error. */
const char *seam_api_anthropic_error_type(int status);

#endif
