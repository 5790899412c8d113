/*
 * Client keys: who is asking. Maps the key a client presents to one of
 * cfg->auth.keys (and so to a tenant), and checks the admin key.
 *
 * A key is never stored or logged: the configuration holds SHA-256 hashes
 * only, the presented key is hashed on arrival and compared with every
 * configured hash in constant time.
 */
#ifndef SEAM_AUTH_KEYS_H
#define SEAM_AUTH_KEYS_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    SEAM_AUTH_OK = 0,    /* a configured key: <key> and <key_index> are set */
    SEAM_AUTH_ANONYMOUS, /* no keys are configured: everyone is let in */
    SEAM_AUTH_MISSING,   /* keys are configured and the request has none: 401 */
    SEAM_AUTH_INVALID,   /* keys are configured and this one is not one: 401 */
} seam_auth_status;

typedef struct seam_auth_result {
    seam_auth_status status;
    int http_status;          /* 200 for OK and ANONYMOUS, else 401 */
    const char *message;      /* NULL when let in; "missing API key" or "invalid API key" */
    const char *code;         /* NULL when let in; OpenAI-style error code "invalid_api_key" */
    const seam_key_conf *key; /* the matching key (in cfg), NULL unless OK */
    size_t key_index;         /* its index in cfg->auth.keys (rate limiter buckets) */
} seam_auth_result;

/* Identifies the client from its request headers: <authorization> is the
 * value of the Authorization header and <x_api_key> that of x-api-key,
 * each NULL when absent. Authorization must use the Bearer scheme
 * ("Bearer <key>", scheme case-insensitive); a raw value without the scheme
 * is refused, because a proxy that forwards "Basic ..." would otherwise
 * present its own credentials as a key. When both headers are sent, the
 * request is let in if either holds a configured key, x-api-key checked
 * first (clients such as the Anthropic SDK may send a placeholder in the
 * other). Surrounding spaces and tabs are not part of a key.
 *
 * Fills <res> and returns res->key: the matching key, or NULL when the
 * client is anonymous (no keys configured: res->status ANONYMOUS, let it
 * in) or refused (res->status MISSING or INVALID, answer res->http_status
 * with res->message in the client's dialect). Keys whose key_env was
 * unset at load never match. Thread-safe; reads <cfg> only. */
const seam_key_conf *seam_auth_identify(const seam_config *cfg, const char *authorization,
                                        const char *x_api_key, seam_auth_result *res);

/* The admin key, hashed once when the server starts (from the variable
 * cfg->auth.admin_key_env names), so that a request never reads the
 * environment. Plain data: no cleanup, copy freely. */
typedef struct seam_auth_state {
    bool admin_set; /* admin_key_env is configured and its variable is set */
    unsigned char admin_sha256[32];
} seam_auth_state;

/* Fills <st> from <cfg> and the environment. Call once per configuration
 * snapshot (at start and after a reload), before workers use <st>. */
void seam_auth_state_init(seam_auth_state *st, const seam_config *cfg);

/* True when one of the headers (as for seam_auth_identify) holds the admin
 * key. Always false when no admin key is set: admin endpoints are then
 * refused. Constant time in the key. */
bool seam_auth_admin(const seam_auth_state *st, const char *authorization, const char *x_api_key);

/* Computes the SHA-256 of <len> bytes at <p> into <out>; the hash the
 * configuration's key_sha256 holds. */
void seam_auth_sha256(const void *p, size_t len, unsigned char out[32]);

#endif
