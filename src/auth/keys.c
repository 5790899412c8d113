/*
 * Client keys (issue 6): who is asking.
 *
 * The configuration keeps only the SHA-256 of each key (given as
 * key_sha256, or computed at load from the variable key_env names). A
 * presented key is hashed and compared with every configured hash using
 * CRYPTO_memcmp, and the loop visits every key whatever matches, so the
 * time a request takes says nothing about how close a guess came or which
 * entry it hit. Hashing first also makes the comparison length-independent.
 *
 * Nothing here logs, copies or keeps a key; the hash of a presented key
 * lives on the stack and is wiped before returning.
 */
#include "auth/keys.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void seam_auth_sha256(const void *p, size_t len, unsigned char out[32])
{
    SHA256(p, len, out);
}

static bool is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* A presented credential: a view into a header value. */
typedef struct cred {
    const char *p;
    size_t len;
    bool given;     /* the header carried something */
    bool malformed; /* ... but not in a form that holds a key */
} cred;

/* Trims spaces and tabs (RFC 9110 OWS) around <s>. */
static cred trimmed(const char *s)
{
    cred c = {0};
    if (!s)
        return c;
    size_t len = strlen(s);
    while (len && is_ows(s[0])) {
        s++;
        len--;
    }
    while (len && is_ows(s[len - 1]))
        len--;
    c.p = s;
    c.len = len;
    c.given = len > 0;
    return c;
}

/* The key in an Authorization value: "Bearer <key>", the scheme matched
 * case-insensitively (RFC 9110 section 11.1). "Bearer" alone is no key
 * (missing); any other scheme is malformed (invalid). */
static cred bearer(const char *h)
{
    cred c = trimmed(h);
    if (!c.given)
        return c;
    if (c.len >= 6 && !strncasecmp(c.p, "bearer", 6) && (c.len == 6 || is_ows(c.p[6]))) {
        size_t i = 6;
        while (i < c.len && is_ows(c.p[i]))
            i++;
        c.p += i;
        c.len -= i;
        c.given = c.len > 0;
        return c;
    }
    c.malformed = true;
    return c;
}

/* Looks the credential up among the configured keys in constant time:
 * returns 1 and sets <*idx> when it is one of them. Every key is compared,
 * matching or not; keys whose variable was unset (key_present false) have
 * a zero hash and never count. The configuration refuses duplicate
 * hashes, so at most one key matches and OR-ing its index in is exact. */
static int lookup(const seam_config *cfg, const cred *c, size_t *idx)
{
    unsigned char h[32];
    unsigned found = 0;
    size_t at = 0;
    seam_auth_sha256(c->p, c->len, h);
    for (size_t i = 0; i < cfg->auth.nkeys; i++) {
        const seam_key_conf *k = &cfg->auth.keys[i];
        unsigned eq =
            (unsigned)(CRYPTO_memcmp(h, k->sha256, sizeof h) == 0) & (unsigned)k->key_present;
        found |= eq;
        at |= ((size_t)0 - (size_t)eq) & i; /* i when eq, else 0 */
    }
    OPENSSL_cleanse(h, sizeof h);
    *idx = at;
    return (int)found;
}

static const seam_key_conf *refuse(seam_auth_result *res, seam_auth_status st)
{
    res->status = st;
    res->http_status = 401;
    res->message = st == SEAM_AUTH_MISSING ? "missing API key" : "invalid API key";
    res->code = "invalid_api_key";
    return NULL;
}

const seam_key_conf *seam_auth_identify(const seam_config *cfg, const char *authorization,
                                        const char *x_api_key, seam_auth_result *res)
{
    memset(res, 0, sizeof *res);
    if (!cfg->auth.nkeys) {
        res->status = SEAM_AUTH_ANONYMOUS;
        res->http_status = 200;
        return NULL;
    }
    const cred creds[2] = {trimmed(x_api_key), bearer(authorization)};
    bool presented = false;
    for (size_t i = 0; i < 2; i++) {
        size_t idx;
        presented |= creds[i].given;
        if (!creds[i].given || creds[i].malformed)
            continue;
        if (lookup(cfg, &creds[i], &idx)) {
            res->status = SEAM_AUTH_OK;
            res->http_status = 200;
            res->key = &cfg->auth.keys[idx];
            res->key_index = idx;
            return res->key;
        }
    }
    return refuse(res, presented ? SEAM_AUTH_INVALID : SEAM_AUTH_MISSING);
}

void seam_auth_state_init(seam_auth_state *st, const seam_config *cfg)
{
    memset(st, 0, sizeof *st);
    const char *name = cfg->auth.admin_key_env;
    const char *v = name && name[0] ? getenv(name) : NULL;
    if (v && v[0]) {
        seam_auth_sha256(v, strlen(v), st->admin_sha256);
        st->admin_set = true;
    }
}

static bool admin_match(const seam_auth_state *st, const cred *c)
{
    unsigned char h[32];
    if (!c->given || c->malformed)
        return false;
    seam_auth_sha256(c->p, c->len, h);
    bool eq = CRYPTO_memcmp(h, st->admin_sha256, sizeof h) == 0;
    OPENSSL_cleanse(h, sizeof h);
    return eq;
}

bool seam_auth_admin(const seam_auth_state *st, const char *authorization, const char *x_api_key)
{
    if (!st->admin_set)
        return false;
    cred a = trimmed(x_api_key), b = bearer(authorization);
    /* Both are hashed and compared, whichever matches. */
    bool ma = admin_match(st, &a), mb = admin_match(st, &b);
    return ma || mb;
}
