/*
 * Backend selection under the clearance invariant. The pick is a first-fit
 * over a handful of candidates; load balancing strategies come with pools'
 * resilience settings.
 *
 * A candidate is skipped, in this order, for: clearance below the request's
 * sensitivity (the invariant, always first), a capability the request needs
 * and the backend's configuration says it lacks, an API key variable that is
 * unset, a context window smaller than the request. The order decides which
 * failure is reported when nothing is left: only backends that could
 * otherwise serve the request count towards "too large", so a request is
 * never told to shrink for a backend it may not reach anyway.
 */
#include "upstream/dispatch.h"
#include "policy/decide.h"

#include <inttypes.h>
#include <stdarg.h>
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

unsigned seam_dispatch_needed_caps(const seam_task *t)
{
    return (t->needs.vision ? SEAM_CAP_VISION : 0u) | (t->needs.tools ? SEAM_CAP_TOOLS : 0u) |
           (t->needs.thinking ? SEAM_CAP_THINKING : 0u) |
           (t->needs.embeddings ? SEAM_CAP_EMBEDDINGS : 0u);
}

bool seam_backend_fits(const seam_backend_conf *b, const seam_task *t)
{
    unsigned need = seam_dispatch_needed_caps(t);
    return (b->capabilities & need) == need &&
           (b->context_window == 0 || t->needs.context_tokens <= b->context_window);
}

static bool lists_model(const seam_backend_conf *b, const char *model)
{
    for (size_t i = 0; i < b->nmodels; i++)
        if (strcmp(b->models[i], model) == 0)
            return true;
    return false;
}

/* Appends "; <formatted>" (or just <formatted> at the start) to <why>,
 * silently cut at its size. */
static void add_why(char *why, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_why(char *why, size_t n, const char *fmt, ...)
{
    size_t len = strlen(why);
    if (len + 3 >= n)
        return;
    if (len)
        len += (size_t)snprintf(why + len, n - len, "; ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why + len, n - len, fmt, ap);
    va_end(ap);
}

/* Writes the names of the bits of <caps> as "vision, tools" into <out>. */
static void cap_list(unsigned caps, char *out, size_t n)
{
    size_t len = 0;
    out[0] = '\0';
    for (unsigned bit = 1; bit & SEAM_CAP_ALL; bit <<= 1)
        if ((caps & bit) && len < n)
            len += (size_t)snprintf(out + len, n - len, "%s%s", len ? ", " : "",
                                    seam_capability_name(bit));
}

seam_rc seam_dispatch_pick_task(const seam_config *cfg, const seam_decision *d,
                                const seam_task *task, const seam_health_table *health,
                                unsigned flags, const seam_backend_conf **out, char *why,
                                size_t whylen)
{
    const seam_backend_conf *fallback_down = NULL, *largest = NULL;
    const seam_sensitivity s = task->sensitivity;
    const unsigned need = seam_dispatch_needed_caps(task);
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
            add_why(why, whylen, "%s: clearance %s is below the request's sensitivity", b->name,
                    seam_sensitivity_name(b->clearance));
            continue;
        }
        if ((b->capabilities & need) != need) {
            cap_list(need & ~b->capabilities, tmp, sizeof(tmp));
            add_why(why, whylen, "%s: lacks capability %s, which the request needs", b->name, tmp);
            continue;
        }
        const char *bad =
            (flags & SEAM_PICK_IGNORE_KEYS) ? NULL : seam_backend_unusable(b, tmp, sizeof(tmp));
        if (bad) {
            add_why(why, whylen, "%s: %s", b->name, bad);
            continue;
        }
        if (b->context_window && task->needs.context_tokens > b->context_window) {
            if (!largest || b->context_window > largest->context_window)
                largest = b;
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
    if (largest) {
        /* Every backend that could serve the request is too small for it:
         * the client must send less, not wait for another backend. */
        snprintf(why, whylen,
                 "request needs ~%" PRIu64 " tokens; the largest context window among allowed "
                 "backends is %" PRIu64 " (%s)",
                 task->needs.context_tokens, largest->context_window, largest->name);
        return SEAM_ERR_TOO_LARGE;
    }
    if (n == 0)
        snprintf(why, whylen, "%s", d->pool ? "the pool has no backends" : "no pool to route to");
    return SEAM_ERR_NO_BACKEND;
}

seam_rc seam_dispatch_pick(const seam_config *cfg, const seam_decision *d, seam_sensitivity s,
                           const seam_health_table *health, unsigned flags,
                           const seam_backend_conf **out, char *why, size_t whylen)
{
    seam_task t;
    memset(&t, 0, sizeof(t));
    t.sensitivity = s;
    return seam_dispatch_pick_task(cfg, d, &t, health, flags, out, why, whylen);
}
