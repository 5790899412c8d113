/*
 * Backend selection under the clearance invariant. The pick is a first-fit
 * over a handful of candidates; load balancing strategies come with pools'
 * resilience settings.
 */
#include "upstream/dispatch.h"
#include "policy/decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool seam_clearance_allows(const seam_backend_conf *b, seam_sensitivity s)
{
    return b != NULL && (unsigned)s <= (unsigned)b->clearance;
}

const char *seam_backend_unusable(const seam_backend_conf *b, char *buf, size_t n)
{
    if (b->api_key_env && b->api_key_env[0]) {
        const char *v = getenv(b->api_key_env);
        if (!v || !v[0]) {
            snprintf(buf, n, "environment variable %s (API key) is not set", b->api_key_env);
            return buf;
        }
    }
    return NULL;
}

static bool lists_model(const seam_backend_conf *b, const char *model)
{
    for (size_t i = 0; i < b->nmodels; i++)
        if (strcmp(b->models[i], model) == 0)
            return true;
    return false;
}

static void add_why(char *why, size_t n, const char *fmt, const char *a, const char *b)
{
    size_t len = strlen(why);
    if (len + 3 >= n)
        return;
    if (len)
        len += (size_t)snprintf(why + len, n - len, "; ");
    if (len < n)
        snprintf(why + len, n - len, fmt, a, b);
}

seam_rc seam_dispatch_pick(const seam_config *cfg, const seam_decision *d, seam_sensitivity s,
                           const seam_health_table *health, unsigned flags,
                           const seam_backend_conf **out, char *why, size_t whylen)
{
    const seam_backend_conf *fallback_down = NULL;
    char tmp[160];
    why[0] = '\0';
    *out = NULL;

    size_t n = d->pinned_model ? cfg->nbackends : (d->pool ? d->pool->nbackends : 0);
    for (size_t k = 0; k < n; k++) {
        const seam_backend_conf *b =
            d->pinned_model ? &cfg->backends[k] : &cfg->backends[d->pool->backends[k]];
        if (d->pinned_model && !lists_model(b, d->pinned_model))
            continue;
        if (!seam_clearance_allows(b, s)) {
            snprintf(tmp, sizeof(tmp), "%s", seam_sensitivity_name(b->clearance));
            add_why(why, whylen, "%s: clearance %s is below the request's sensitivity", b->name,
                    tmp);
            continue;
        }
        const char *bad =
            (flags & SEAM_PICK_IGNORE_KEYS) ? NULL : seam_backend_unusable(b, tmp, sizeof(tmp));
        if (bad) {
            add_why(why, whylen, "%s: %s", b->name, bad);
            continue;
        }
        if (seam_health_get(health, b->index) == SEAM_HEALTH_DOWN) {
            /* Known down: keep looking for a better one, but a stale probe
             * must not make an only backend unusable. */
            if (!fallback_down)
                fallback_down = b;
            continue;
        }
        *out = b;
        return SEAM_OK;
    }
    if (fallback_down) {
        *out = fallback_down;
        return SEAM_OK;
    }
    if (n == 0)
        snprintf(why, whylen, "%s", d->pool ? "the pool has no backends" : "no pool to route to");
    return SEAM_ERR_NO_BACKEND;
}
