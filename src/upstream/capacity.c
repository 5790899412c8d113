/*
 * Backend concurrency slots and per-pool wait queues, shared by all workers;
 * see capacity.h for the contract.
 *
 * Why it is correct without a lock on the fast path. A slot count only
 * changes by compare-and-swap, so it never passes its limit and never goes
 * below zero. The one hazard is a lost wake-up: a request finds the pool
 * full and queues while, on another thread, the last busy slot is given
 * back by a releaser that saw nobody waiting. Both sides therefore write
 * first and read second, with sequentially consistent atomics:
 *   releaser: give the slot back (RMW on inflight), then read the depths of
 *             the pools containing the backend;
 *   waiter:   (under the mutex) publish itself (RMW on depth), then try the
 *             slots again.
 * In the single total order of those operations, either the releaser's
 * read sees the waiter (and it takes the mutex and serves the queue, which
 * by then holds the waiter because the waiter published and queued under
 * the mutex), or the waiter's retry sees the freed slot. Nobody sleeps
 * while a slot it may use is free.
 *
 * A waiter has one event on its worker's base: a timer when it has a
 * deadline, and the event another thread activates to grant it. Whoever
 * changes a waiter's state (grant, timeout, cancel) does so under the
 * mutex, and only a queued waiter can change state, so exactly one of them
 * wins. The event's callback, on the waiter's loop, reads the state under
 * the mutex to learn which.
 *
 * Lock order: capacity mutex, then a base's internal lock (event_active
 * under the mutex). libevent releases a base's lock while running
 * callbacks, so no thread holds a base lock while waiting for the mutex.
 */
#include "upstream/capacity.h"
#include "core/alloc.h"
#include "core/log.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/time.h>

enum { WAIT_QUEUED, WAIT_GRANTED };

struct seam_capacity_wait {
    seam_capacity *cap;
    size_t pool;
    struct event *ev; /* on the waiter's base: deadline timer and grant signal */
    seam_capacity_cb cb;
    void *arg;
    /* Under cap->mu. */
    struct seam_capacity_wait *prev, *next;
    int state;
    size_t backend; /* the granted slot's backend */
    uint64_t seq;   /* arrival order, across pools */
    size_t nelig;
    size_t elig[]; /* eligible backends, all members of the pool */
};

struct cap_backend {
    _Atomic uint64_t inflight;
    uint64_t max;  /* 0 = unlimited */
    size_t *pools; /* pools containing this backend */
    size_t npools;
};

struct cap_pool {
    size_t *backends;
    size_t nbackends;
    size_t queue_max;
    _Atomic size_t depth;            /* changed under cap->mu; read anywhere */
    seam_capacity_wait *head, *tail; /* under cap->mu */
    uint64_t served_round;           /* under cap->mu: see serve_backend */
};

struct seam_capacity {
    pthread_mutex_t mu;
    uint64_t seq;   /* under mu */
    uint64_t round; /* under mu */
    size_t nbackends, npools;
    struct cap_backend *b;
    struct cap_pool *p;
};

/* ---- slots ---- */

bool seam_capacity_try_acquire(seam_capacity *cap, size_t backend)
{
    if (!cap || backend >= cap->nbackends)
        return false;
    struct cap_backend *b = &cap->b[backend];
    if (b->max == 0) {
        atomic_fetch_add(&b->inflight, 1);
        return true;
    }
    uint64_t cur = atomic_load(&b->inflight);
    while (cur < b->max)
        if (atomic_compare_exchange_weak(&b->inflight, &cur, cur + 1))
            return true;
    return false;
}

bool seam_capacity_has_room(const seam_capacity *cap, size_t backend)
{
    if (!cap || backend >= cap->nbackends)
        return false;
    struct cap_backend *b = &cap->b[backend];
    return b->max == 0 || atomic_load(&b->inflight) < b->max;
}

bool seam_capacity_saturated(const seam_capacity *cap, size_t pool)
{
    if (!cap || pool >= cap->npools)
        return true;
    const struct cap_pool *p = &cap->p[pool];
    for (size_t i = 0; i < p->nbackends; i++)
        if (seam_capacity_has_room(cap, p->backends[i]))
            return false;
    return true;
}

size_t seam_capacity_depth(const seam_capacity *cap, size_t pool)
{
    return cap && pool < cap->npools ? atomic_load(&cap->p[pool].depth) : 0;
}

size_t seam_capacity_queue_max(const seam_capacity *cap, size_t pool)
{
    return cap && pool < cap->npools ? cap->p[pool].queue_max : 0;
}

uint64_t seam_capacity_inflight(const seam_capacity *cap, size_t backend)
{
    return cap && backend < cap->nbackends ? atomic_load(&cap->b[backend].inflight) : 0;
}

uint64_t seam_capacity_limit(const seam_capacity *cap, size_t backend)
{
    return cap && backend < cap->nbackends ? cap->b[backend].max : 0;
}

/* ---- the queue (everything below runs under cap->mu unless it says not) ---- */

static void unlink_wait(struct cap_pool *p, seam_capacity_wait *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        p->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->tail = w->prev;
    w->prev = w->next = NULL;
    atomic_fetch_sub(&p->depth, 1);
}

/* Takes a slot for <w> on its least busy eligible backend with room
 * (least_outstanding among the free ones; the first listed on a tie).
 * Another thread may take the chosen slot between the look and the
 * compare-and-swap, hence the loop. */
static bool acquire_for(seam_capacity *cap, const seam_capacity_wait *w, size_t *out)
{
    for (;;) {
        size_t best = SIZE_MAX;
        uint64_t best_load = UINT64_MAX;
        for (size_t i = 0; i < w->nelig; i++) {
            size_t b = w->elig[i];
            uint64_t load = atomic_load(&cap->b[b].inflight);
            if ((cap->b[b].max == 0 || load < cap->b[b].max) && load < best_load) {
                best = b;
                best_load = load;
            }
        }
        if (best == SIZE_MAX)
            return false;
        if (seam_capacity_try_acquire(cap, best)) {
            *out = best;
            return true;
        }
    }
}

/* The single place a waiter becomes granted: holding a slot of <backend>
 * (taken by the caller) and out of the queue, it has its event activated so
 * that its own loop delivers the grant. */
static void grant(seam_capacity_wait *w, size_t backend)
{
    w->state = WAIT_GRANTED;
    w->backend = backend;
    event_active(w->ev, EV_TIMEOUT, 0);
}

/* Serves <p>'s waiters in arrival order while its backends have room. */
static void serve_pool(seam_capacity *cap, struct cap_pool *p)
{
    seam_capacity_wait *w = p->head, *next;
    for (; w; w = next) {
        next = w->next;
        size_t b;
        if (acquire_for(cap, w, &b)) {
            unlink_wait(p, w);
            grant(w, b);
        } else if (seam_capacity_saturated(cap, (size_t)(p - cap->p)))
            break;
    }
}

/* After a slot of <backend> came back: serves the pools containing it,
 * the one whose head waiter arrived first going first. */
static void serve_backend(seam_capacity *cap, size_t backend)
{
    struct cap_backend *b = &cap->b[backend];
    uint64_t round = ++cap->round;
    for (;;) {
        struct cap_pool *best = NULL;
        for (size_t i = 0; i < b->npools; i++) {
            struct cap_pool *p = &cap->p[b->pools[i]];
            if (p->head && p->served_round != round && (!best || p->head->seq < best->head->seq))
                best = p;
        }
        if (!best)
            return;
        best->served_round = round;
        serve_pool(cap, best);
    }
}

/* Not under the mutex: takes it only when someone may be waiting. */
void seam_capacity_release(seam_capacity *cap, size_t backend)
{
    if (!cap || backend >= cap->nbackends)
        return;
    struct cap_backend *b = &cap->b[backend];
    uint64_t cur = atomic_load(&b->inflight);
    do {
        if (cur == 0) {
            seam_log_error("capacity: release of backend %zu without a slot held", backend);
            return;
        }
    } while (!atomic_compare_exchange_weak(&b->inflight, &cur, cur - 1));
    bool waiting = false;
    for (size_t i = 0; i < b->npools && !waiting; i++)
        waiting = atomic_load(&cap->p[b->pools[i]].depth) > 0;
    if (!waiting)
        return;
    pthread_mutex_lock(&cap->mu);
    serve_backend(cap, backend);
    pthread_mutex_unlock(&cap->mu);
}

/* The waiter's event, on its own loop: its deadline passed or it was
 * granted (possibly both: a grant made first wins). Frees the wait before
 * running the callback, so the callback may do anything, including
 * enqueueing again. */
static void on_wait_event(evutil_socket_t fd, short what, void *arg)
{
    seam_capacity_wait *w = arg;
    seam_capacity *cap = w->cap;
    seam_capacity_outcome outcome = SEAM_CAPACITY_GRANTED;
    size_t backend = SIZE_MAX;
    pthread_mutex_lock(&cap->mu);
    if (w->state == WAIT_QUEUED) {
        unlink_wait(&cap->p[w->pool], w);
        outcome = SEAM_CAPACITY_TIMEOUT;
    } else {
        backend = w->backend;
    }
    pthread_mutex_unlock(&cap->mu);
    seam_capacity_cb cb = w->cb;
    void *cb_arg = w->arg;
    event_free(w->ev); /* also drops a grant activation that raced the timer */
    seam_free(w);
    cb(cb_arg, outcome, backend);
}

seam_rc seam_capacity_enqueue(seam_capacity *cap, size_t pool, struct event_base *base,
                              uint64_t timeout_ms, const size_t *eligible, size_t neligible,
                              seam_capacity_cb cb, void *arg, seam_capacity_wait **out)
{
    *out = NULL;
    if (!cap || pool >= cap->npools || !base || !cb)
        return SEAM_ERR_INVALID;
    struct cap_pool *p = &cap->p[pool];
    seam_capacity_wait *w = seam_calloc(1, sizeof(*w) + p->nbackends * sizeof(size_t));
    if (!w)
        return SEAM_ERR_NOMEM;
    /* The eligible set, reduced to members of the pool, each once. */
    for (size_t i = 0; i < p->nbackends; i++) {
        bool ok = !eligible;
        for (size_t j = 0; eligible && j < neligible && !ok; j++)
            ok = eligible[j] == p->backends[i];
        for (size_t k = 0; k < w->nelig && ok; k++)
            ok = w->elig[k] != p->backends[i];
        if (ok)
            w->elig[w->nelig++] = p->backends[i];
    }
    if (w->nelig == 0) {
        seam_free(w);
        return SEAM_ERR_INVALID;
    }
    w->cap = cap;
    w->pool = pool;
    w->cb = cb;
    w->arg = arg;
    w->state = WAIT_QUEUED;
    w->ev = event_new(base, -1, 0, on_wait_event, w);
    if (!w->ev) {
        seam_free(w);
        return SEAM_ERR_NOMEM;
    }
    if (timeout_ms > 0) {
        struct timeval tv = {.tv_sec = (time_t)(timeout_ms / 1000),
                             .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
        if (event_add(w->ev, &tv) != 0) {
            event_free(w->ev);
            seam_free(w);
            return SEAM_ERR_NOMEM;
        }
    }

    seam_rc rc = SEAM_OK;
    size_t b;
    pthread_mutex_lock(&cap->mu);
    serve_pool(cap, p); /* older waiters first, should a slot be free */
    if (!p->head && acquire_for(cap, w, &b)) {
        grant(w, b); /* never queued */
    } else if (atomic_load(&p->depth) >= p->queue_max) {
        rc = SEAM_ERR_TOO_BIG;
    } else {
        w->seq = ++cap->seq;
        w->prev = p->tail;
        if (p->tail)
            p->tail->next = w;
        else
            p->head = w;
        p->tail = w;
        atomic_fetch_add(&p->depth, 1); /* publish, then look again: see the top */
        serve_pool(cap, p);
    }
    pthread_mutex_unlock(&cap->mu);
    if (rc != SEAM_OK) {
        event_free(w->ev);
        seam_free(w);
        return rc;
    }
    *out = w;
    return SEAM_OK;
}

void seam_capacity_cancel(seam_capacity_wait *w)
{
    if (!w)
        return;
    seam_capacity *cap = w->cap;
    pthread_mutex_lock(&cap->mu);
    bool granted = w->state == WAIT_GRANTED;
    if (!granted)
        unlink_wait(&cap->p[w->pool], w);
    size_t backend = w->backend;
    pthread_mutex_unlock(&cap->mu);
    /* The grant's activation (if any) was made under the mutex, so it is
     * complete; freeing the event removes it from the active queue. */
    event_free(w->ev);
    seam_free(w);
    if (granted)
        seam_capacity_release(cap, backend);
}

/* ---- life cycle ---- */

seam_capacity *seam_capacity_new(size_t nbackends, const uint64_t *max_concurrency, size_t npools,
                                 const seam_capacity_pool_spec *pools)
{
    seam_capacity *cap = seam_calloc(1, sizeof(*cap));
    if (!cap)
        return NULL;
    if (pthread_mutex_init(&cap->mu, NULL) != 0) {
        seam_free(cap);
        return NULL;
    }
    cap->nbackends = nbackends;
    cap->npools = npools;
    cap->b = seam_calloc(nbackends ? nbackends : 1, sizeof(*cap->b));
    cap->p = seam_calloc(npools ? npools : 1, sizeof(*cap->p));
    if (!cap->b || !cap->p)
        goto fail;
    for (size_t i = 0; i < nbackends; i++) {
        atomic_init(&cap->b[i].inflight, 0);
        cap->b[i].max = max_concurrency ? max_concurrency[i] : 0;
    }
    for (size_t j = 0; j < npools; j++) {
        struct cap_pool *p = &cap->p[j];
        atomic_init(&p->depth, 0);
        p->queue_max = pools[j].queue_max;
        p->backends = seam_calloc(pools[j].nbackends ? pools[j].nbackends : 1, sizeof(size_t));
        if (!p->backends)
            goto fail;
        /* Members once each, so a backend's pool list has no duplicates. */
        for (size_t i = 0; i < pools[j].nbackends; i++) {
            size_t b = pools[j].backends[i];
            if (b >= nbackends)
                goto fail;
            bool dup = false;
            for (size_t k = 0; k < p->nbackends && !dup; k++)
                dup = p->backends[k] == b;
            if (!dup) {
                p->backends[p->nbackends++] = b;
                cap->b[b].npools++;
            }
        }
    }
    for (size_t i = 0; i < nbackends; i++) {
        if (!cap->b[i].npools)
            continue;
        cap->b[i].pools = seam_calloc(cap->b[i].npools, sizeof(size_t));
        if (!cap->b[i].pools)
            goto fail;
        cap->b[i].npools = 0;
    }
    for (size_t j = 0; j < npools; j++)
        for (size_t k = 0; k < cap->p[j].nbackends; k++) {
            struct cap_backend *b = &cap->b[cap->p[j].backends[k]];
            b->pools[b->npools++] = j;
        }
    return cap;
fail:
    seam_capacity_free(cap);
    return NULL;
}

seam_capacity *seam_capacity_from_config(const seam_config *cfg)
{
    uint64_t *max = seam_calloc(cfg->nbackends ? cfg->nbackends : 1, sizeof(uint64_t));
    seam_capacity_pool_spec *pools =
        seam_calloc(cfg->npools ? cfg->npools : 1, sizeof(seam_capacity_pool_spec));
    seam_capacity *cap = NULL;
    if (max && pools) {
        for (size_t i = 0; i < cfg->nbackends; i++)
            max[i] = cfg->backends[i].max_concurrency;
        for (size_t j = 0; j < cfg->npools; j++)
            pools[j] = (seam_capacity_pool_spec){.backends = cfg->pools[j].backends,
                                                 .nbackends = cfg->pools[j].nbackends,
                                                 .queue_max = (size_t)cfg->pools[j].queue.max};
        cap = seam_capacity_new(cfg->nbackends, max, cfg->npools, pools);
    }
    seam_free(max);
    seam_free(pools);
    return cap;
}

void seam_capacity_free(seam_capacity *cap)
{
    if (!cap)
        return;
    if (cap->b)
        for (size_t i = 0; i < cap->nbackends; i++)
            seam_free(cap->b[i].pools);
    if (cap->p)
        for (size_t j = 0; j < cap->npools; j++)
            seam_free(cap->p[j].backends);
    seam_free(cap->b);
    seam_free(cap->p);
    pthread_mutex_destroy(&cap->mu);
    seam_free(cap);
}
