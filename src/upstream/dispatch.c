/*
 * Backend selection under the clearance invariant. seam_dispatch_pick_task
 * is a first fit over a handful of candidates (for `seam route`); the
 * attempt plan at the end of this file adds the pools' strategies, breakers,
 * health, capacity, retries and fallback chains for serving.
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
#include "core/alloc.h"
#include "policy/decide.h"
#include "upstream/backoff.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
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

/* ---- balancer --------------------------------------------------------- */

struct seam_balancer {
    size_t nbackends, npools;
    _Atomic uint64_t *outstanding; /* per backend */
    _Atomic uint64_t *rotation;    /* per pool, plus one for pinned candidates */
};

seam_balancer *seam_balancer_new(const seam_config *cfg)
{
    seam_balancer *bal = seam_calloc(1, sizeof(*bal));
    if (!bal)
        return NULL;
    bal->nbackends = cfg->nbackends;
    bal->npools = cfg->npools;
    bal->outstanding = seam_calloc(cfg->nbackends ? cfg->nbackends : 1, sizeof(*bal->outstanding));
    bal->rotation = seam_calloc(cfg->npools + 1, sizeof(*bal->rotation));
    if (!bal->outstanding || !bal->rotation) {
        seam_balancer_free(bal);
        return NULL;
    }
    for (size_t i = 0; i < cfg->nbackends; i++)
        atomic_init(&bal->outstanding[i], 0);
    for (size_t i = 0; i <= cfg->npools; i++)
        atomic_init(&bal->rotation[i], 0);
    return bal;
}

void seam_balancer_free(seam_balancer *bal)
{
    if (!bal)
        return;
    seam_free((void *)bal->outstanding);
    seam_free((void *)bal->rotation);
    seam_free(bal);
}

void seam_balancer_begin(seam_balancer *bal, size_t backend)
{
    if (bal && backend < bal->nbackends)
        atomic_fetch_add(&bal->outstanding[backend], 1);
}

void seam_balancer_end(seam_balancer *bal, size_t backend)
{
    if (!bal || backend >= bal->nbackends)
        return;
    /* Never below zero, even if a caller ends twice. */
    uint64_t v = atomic_load(&bal->outstanding[backend]);
    while (v > 0 && !atomic_compare_exchange_weak(&bal->outstanding[backend], &v, v - 1))
        ;
}

uint64_t seam_balancer_outstanding(const seam_balancer *bal, size_t backend)
{
    if (!bal || backend >= bal->nbackends)
        return 0;
    return atomic_load(&((seam_balancer *)bal)->outstanding[backend]);
}

/* The next value of the rotation counter of pool <pool> (npools for pinned
 * candidates), or 0 without a balancer. */
static uint64_t rotate(const seam_dispatch_env *env, size_t pool)
{
    seam_balancer *bal = env ? env->balancer : NULL;
    if (!bal)
        return 0;
    return atomic_fetch_add(&bal->rotation[pool <= bal->npools ? pool : bal->npools], 1);
}

/* ---- the attempt plan --------------------------------------------------- */

/* One set of candidates: a pool, or the backends listing a pinned model
 * (<pool> is then only where strategy and retries come from, if any). */
typedef struct stage {
    const seam_pool_conf *pool;
    const char *pinned_model;
} stage;

static size_t stage_count(const stage *st, const seam_config *cfg)
{
    return st->pinned_model ? cfg->nbackends : (st->pool ? st->pool->nbackends : 0);
}

static size_t stage_backend(const stage *st, size_t k)
{
    return st->pinned_model ? k : st->pool->backends[k];
}

/* What one pass over a stage found. */
typedef struct scan {
    const seam_backend_conf *picked;
    size_t picked_k;
    seam_breaker_ticket ticket;
    bool saturated; /* some candidate lacked only room */
    bool fits;      /* some candidate was cleared, capable, keyed and large enough */
    const seam_backend_conf *largest; /* cleared and capable but too small */
} scan;

static bool was_tried(const seam_plan *p, size_t backend)
{
    for (size_t i = 0; i < p->ntried; i++)
        if (p->tried[i] == backend)
            return true;
    return false;
}

static uint64_t *env_rng(const seam_dispatch_env *env)
{
    static _Thread_local uint64_t local;
    if (env && env->rng)
        return env->rng;
    if (!local)
        local =
            (uint64_t)(uintptr_t)&local ^ (env ? env->now_ns : 0) ^ UINT64_C(0x6a09e667f3bcc909);
    return &local;
}

/* Checks every gate but the breaker's trial slot and capacity; appends the
 * reason to <why> and returns false when <b> may not be used. The
 * invariant comes first: nothing below it can make a refused backend
 * usable. */
static bool gates(const seam_plan *p, const seam_dispatch_env *env, const seam_backend_conf *b,
                  scan *sc, char *why, size_t whylen)
{
    const seam_task *task = p->task;
    const unsigned need = seam_dispatch_needed_caps(task);
    const unsigned flags = env ? env->flags : 0;
    char tmp[160];
    if (!seam_clearance_allows(b, task->sensitivity)) {
        add_why(why, whylen, "%s: clearance %s is below the request's sensitivity", b->name,
                seam_sensitivity_name(b->clearance));
        return false;
    }
    if ((b->capabilities & need) != need) {
        cap_list(need & ~b->capabilities, tmp, sizeof(tmp));
        add_why(why, whylen, "%s: lacks capability %s, which the request needs", b->name, tmp);
        return false;
    }
    const char *bad =
        (flags & SEAM_PICK_IGNORE_KEYS) ? NULL : seam_backend_unusable(b, tmp, sizeof(tmp));
    if (bad) {
        add_why(why, whylen, "%s: %s", b->name, bad);
        return false;
    }
    if (b->context_window && task->needs.context_tokens > b->context_window) {
        if (!sc->largest || b->context_window > sc->largest->context_window)
            sc->largest = b;
        add_why(why, whylen, "%s: context window %" PRIu64 " is too small", b->name,
                b->context_window);
        return false;
    }
    sc->fits = true;
    if (env && seam_health_get(env->health, b->index) == SEAM_HEALTH_DOWN) {
        add_why(why, whylen, "%s: down (health probe)", b->name);
        return false;
    }
    if (env && env->breakers &&
        seam_breaker_get(env->breakers, b->index, env->now_ns) == SEAM_BREAKER_OPEN) {
        add_why(why, whylen, "%s: circuit open", b->name);
        return false;
    }
    return true;
}

/* Tries to take <b>: capacity room, then the breaker (which may hand out a
 * half-open trial slot, so it is asked last and only for the backend about
 * to be used). */
static bool take(const seam_dispatch_env *env, const seam_backend_conf *b, scan *sc, char *why,
                 size_t whylen)
{
    if (env && env->has_room && !env->has_room(env->room_ctx, b->index)) {
        sc->saturated = true;
        add_why(why, whylen, "%s: at max_concurrency", b->name);
        return false;
    }
    if (env && env->breakers &&
        !seam_breaker_allow(env->breakers, b->index, env->now_ns, &sc->ticket)) {
        add_why(why, whylen, "%s: circuit half-open, trial requests already out", b->name);
        return false;
    }
    return true;
}

/* Chooses among usable candidates <u>[0..m) (positions in the stage) by the
 * stage's strategy, asking take() for each until one is granted. <u> is
 * scratch: refused candidates are removed from it. */
static bool choose(const seam_plan *p, const seam_dispatch_env *env, const stage *st, size_t *u,
                   size_t m, scan *sc, char *why, size_t whylen)
{
    const seam_config *cfg = p->cfg;
    const seam_pool_conf *pool = st->pool;
    seam_pool_strategy strategy =
        pool && !st->pinned_model ? pool->strategy : SEAM_STRATEGY_LEAST_OUTSTANDING;
    size_t rot_pool = pool && !st->pinned_model ? pool->index : cfg->npools;
    const uint64_t rot = rotate(env, rot_pool);
    while (m > 0) {
        size_t j = 0; /* index into u of the choice */
        if (strategy == SEAM_STRATEGY_ROUND_ROBIN) {
            j = (size_t)(rot % m);
        } else if (strategy == SEAM_STRATEGY_WEIGHTED) {
            uint64_t total = 0;
            for (size_t i = 0; i < m; i++)
                total += pool->weights ? pool->weights[u[i]] : 1;
            uint64_t r = seam_rand_next(env_rng(env)) % total;
            for (j = 0; j + 1 < m; j++) {
                uint64_t w = pool->weights ? pool->weights[u[j]] : 1;
                if (r < w)
                    break;
                r -= w;
            }
        } else {
            /* Least outstanding; ties are shared in turn (the rotation
             * picks which of them), so idle backends split the load
             * instead of the first taking it all. */
            seam_balancer *bal = env ? env->balancer : NULL;
            uint64_t best = UINT64_MAX, ties = 0;
            for (size_t i = 0; i < m; i++) {
                uint64_t o = seam_balancer_outstanding(bal, stage_backend(st, u[i]));
                if (o < best) {
                    best = o;
                    ties = 0;
                }
                ties += o == best;
            }
            uint64_t nth = rot % ties;
            for (j = 0; j < m; j++)
                if (seam_balancer_outstanding(bal, stage_backend(st, u[j])) == best && nth-- == 0)
                    break;
            if (j == m) /* the counts moved between the passes */
                j = 0;
        }
        const seam_backend_conf *b = &cfg->backends[stage_backend(st, u[j])];
        if (take(env, b, sc, why, whylen)) {
            sc->picked = b;
            sc->picked_k = u[j];
            return true;
        }
        u[j] = u[--m];
    }
    return false;
}

/* One pass over stage <st>: filters by the gates, prefers backends not yet
 * tried, then chooses. SEAM_ERR_NOMEM only for pools of more than 64
 * backends, whose scratch list is allocated. */
static seam_rc scan_stage(const seam_plan *p, const seam_dispatch_env *env, const stage *st,
                          scan *sc, char *why, size_t whylen)
{
    const seam_config *cfg = p->cfg;
    size_t n = stage_count(st, cfg), small[64], *u = small;
    size_t fresh = 0, m = 0;
    memset(sc, 0, sizeof(*sc));
    if (n > 64 && !(u = seam_malloc(n * sizeof(*u))))
        return SEAM_ERR_NOMEM;
    /* Untried candidates first in u, tried ones after them. */
    for (size_t k = 0; k < n; k++) {
        const seam_backend_conf *b = &cfg->backends[stage_backend(st, k)];
        if (st->pinned_model && !lists_model(b, st->pinned_model))
            continue;
        if (!gates(p, env, b, sc, why, whylen))
            continue;
        if (!was_tried(p, b->index)) {
            if (fresh < m)
                u[m] = u[fresh];
            u[fresh++] = k;
        } else {
            u[m] = k;
        }
        m++;
    }
    /* A backend already tried is only retried when the stage has no other:
     * a single-backend pool retries on its one backend. */
    if (!(fresh > 0 && choose(p, env, st, u, fresh, sc, why, whylen)) && m > fresh)
        choose(p, env, st, u + fresh, m - fresh, sc, why, whylen);
    if (u != small)
        seam_free(u);
    return SEAM_OK;
}

static bool stage_at(const seam_plan *p, size_t i, stage *st)
{
    const seam_decision *d = p->d;
    memset(st, 0, sizeof(*st));
    if (i == 0) {
        st->pool = d->pool;
        st->pinned_model = d->pinned_model;
        return true;
    }
    if (i - 1 < d->nfallbacks && d->fallbacks[i - 1] < p->cfg->npools) {
        st->pool = &p->cfg->pools[d->fallbacks[i - 1]];
        return true;
    }
    return false;
}

void seam_plan_init(seam_plan *p, const seam_config *cfg, const seam_decision *d,
                    const seam_task *task)
{
    memset(p, 0, sizeof(*p));
    p->cfg = cfg;
    p->d = d;
    p->task = task;
}

static void record(seam_plan *p, const seam_backend_conf *b, const seam_pool_conf *pool,
                   bool spilled, const seam_breaker_ticket *ticket, seam_pick *out)
{
    p->attempts++;
    p->stage_attempts++;
    if (p->ntried < SEAM_PLAN_MAX_ATTEMPTS)
        p->tried[p->ntried++] = b->index;
    out->backend = b;
    out->pool = pool;
    out->attempt = p->attempts;
    out->fallback = p->stage > 0;
    out->spilled = spilled;
    out->saturated = false;
    out->ticket = *ticket;
}

/* Appends "pool NAME: " to <why> so that the reasons of a chain say which
 * pool each came from. */
static void why_pool(char *why, size_t whylen, const stage *st)
{
    if (st->pinned_model)
        add_why(why, whylen, "model %s", st->pinned_model);
    else if (st->pool)
        add_why(why, whylen, "pool %s", st->pool->name);
}

seam_rc seam_plan_next(seam_plan *p, const seam_dispatch_env *env, seam_pick *out, char *why,
                       size_t whylen)
{
    const bool first = p->attempts == 0;
    const seam_backend_conf *largest = NULL;
    bool any_candidate = false, any_fits = false;
    stage st;
    scan sc;
    memset(out, 0, sizeof(*out));
    why[0] = '\0';
    if (p->attempts >= SEAM_PLAN_MAX_ATTEMPTS) {
        snprintf(why, whylen, "gave up after %u attempts", p->attempts);
        return SEAM_ERR_NO_BACKEND;
    }
    for (; stage_at(p, p->stage, &st); p->stage++, p->stage_attempts = 0) {
        /* A pin outside any pool retries as a pool does by default. */
        uint64_t retries = st.pool ? st.pool->retries : 2;
        if (p->stage_attempts > retries)
            continue; /* this stage's attempts are used up */
        if (stage_count(&st, p->cfg) > 0)
            any_candidate = true;
        why_pool(why, whylen, &st);
        seam_rc rc = scan_stage(p, env, &st, &sc, why, whylen);
        if (rc != SEAM_OK)
            return rc;
        if (sc.largest && (!largest || sc.largest->context_window > largest->context_window))
            largest = sc.largest;
        any_fits |= sc.fits;
        if (sc.picked) {
            record(p, sc.picked, st.pool, false, &sc.ticket, out);
            return SEAM_OK;
        }
        if (sc.saturated) {
            /* Capacity, not failure: overflow to the spill pool if there is
             * one (with every gate, the invariant first), else the caller
             * queues in this pool or answers 429. */
            const seam_pool_conf *busy = st.pool;
            if (busy && busy->has_spill && busy->spill < p->cfg->npools) {
                stage sp = {.pool = &p->cfg->pools[busy->spill]};
                scan ss;
                add_why(why, whylen, "spill to pool %s", sp.pool->name);
                rc = scan_stage(p, env, &sp, &ss, why, whylen);
                if (rc != SEAM_OK)
                    return rc;
                if (ss.picked) {
                    record(p, ss.picked, sp.pool, true, &ss.ticket, out);
                    return SEAM_OK;
                }
            }
            out->saturated = true;
            out->pool = busy;
            return SEAM_ERR_NO_BACKEND;
        }
    }
    if (first && largest && !any_fits) {
        /* Every backend that could serve the request is too small for it:
         * the client must send less, not wait for another backend. (One
         * large enough but down or open makes it a 503 instead.) */
        snprintf(why, whylen,
                 "request needs ~%" PRIu64 " tokens; the largest context window among allowed "
                 "backends is %" PRIu64 " (%s)",
                 p->task->needs.context_tokens, largest->context_window, largest->name);
        return SEAM_ERR_TOO_LARGE;
    }
    if (!any_candidate && !why[0])
        snprintf(why, whylen, "%s",
                 p->d->pool ? "the pool has no backends" : "no pool to route to");
    return SEAM_ERR_NO_BACKEND;
}

seam_rc seam_plan_take(seam_plan *p, const seam_dispatch_env *env, const seam_pool_conf *pool,
                       size_t backend, seam_pick *out, char *why, size_t whylen)
{
    scan sc;
    memset(out, 0, sizeof(*out));
    memset(&sc, 0, sizeof(sc));
    why[0] = '\0';
    if (backend >= p->cfg->nbackends || p->attempts >= SEAM_PLAN_MAX_ATTEMPTS) {
        snprintf(why, whylen, "no such backend, or the attempts are used up");
        return SEAM_ERR_NO_BACKEND;
    }
    const seam_backend_conf *b = &p->cfg->backends[backend];
    if (!gates(p, env, b, &sc, why, whylen))
        return SEAM_ERR_NO_BACKEND;
    if (env && env->breakers &&
        !seam_breaker_allow(env->breakers, b->index, env->now_ns, &sc.ticket)) {
        add_why(why, whylen, "%s: circuit half-open, trial requests already out", b->name);
        return SEAM_ERR_NO_BACKEND;
    }
    record(p, b, pool, false, &sc.ticket, out);
    return SEAM_OK;
}
