/*
 * Unit tests for src/upstream/capacity: slot counts (limited and
 * unlimited, no count below zero), saturation, the queue bound, grants in
 * arrival order, immediate grants delivered on the loop and never inside
 * enqueue, timeouts, cancelling a queued and a granted-but-undelivered
 * wait, eligible backends, a backend shared by two pools, allocation
 * failures, building from a configuration, and two event loops on two
 * threads trading slots thousands of times with timeouts and cancels
 * racing grants (no slot lost or doubled: every counter ends at 0).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "testutil.h"
#include "upstream/capacity.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

/* ---- fixtures ---- */

/* <n> backends with limits <max>, pools given as -1-terminated lists. */
static seam_capacity *make(size_t n, const uint64_t *max, size_t npools, const int (*lists)[8],
                           const size_t *qmax)
{
    size_t idx[8][8];
    seam_capacity_pool_spec spec[8];
    for (size_t j = 0; j < npools; j++) {
        size_t k = 0;
        for (; lists[j][k] >= 0; k++)
            idx[j][k] = (size_t)lists[j][k];
        spec[j] = (seam_capacity_pool_spec){idx[j], k, qmax[j]};
    }
    seam_capacity *cap = seam_capacity_new(n, max, npools, spec);
    assert_non_null(cap);
    return cap;
}

/* What a wait's callback saw, in order. */
struct record {
    int n;
    int who[16];
    seam_capacity_outcome outcome[16];
    size_t backend[16];
};

struct waiter {
    struct record *rec;
    int id;
};

static void on_wait(void *arg, seam_capacity_outcome outcome, size_t backend)
{
    struct waiter *w = arg;
    struct record *r = w->rec;
    assert_true(r->n < 16);
    r->who[r->n] = w->id;
    r->outcome[r->n] = outcome;
    r->backend[r->n] = backend;
    r->n++;
}

static void run_ready(struct event_base *base)
{
    event_base_loop(base, EVLOOP_NONBLOCK);
}

static seam_capacity_wait *enqueue(seam_capacity *cap, size_t pool, struct event_base *base,
                                   uint64_t timeout_ms, struct waiter *w)
{
    seam_capacity_wait *h = NULL;
    assert_int_equal(seam_capacity_enqueue(cap, pool, base, timeout_ms, NULL, 0, on_wait, w, &h),
                     SEAM_OK);
    assert_non_null(h);
    return h;
}

/* ---- slots ---- */

static void test_acquire_release(void **state)
{
    const uint64_t max[] = {2, 0};
    const int pools[][8] = {{0, 1, -1}};
    const size_t q[] = {4};
    seam_capacity *cap = make(2, max, 1, pools, q);

    assert_true(seam_capacity_try_acquire(cap, 0));
    assert_true(seam_capacity_try_acquire(cap, 0));
    assert_false(seam_capacity_try_acquire(cap, 0));
    assert_int_equal(seam_capacity_inflight(cap, 0), 2);
    assert_false(seam_capacity_has_room(cap, 0));
    seam_capacity_release(cap, 0);
    assert_int_equal(seam_capacity_inflight(cap, 0), 1);
    assert_true(seam_capacity_has_room(cap, 0));
    seam_capacity_release(cap, 0);
    assert_int_equal(seam_capacity_inflight(cap, 0), 0);
    /* A release without a slot is ignored: the count never wraps. */
    seam_capacity_release(cap, 0);
    assert_int_equal(seam_capacity_inflight(cap, 0), 0);
    assert_true(seam_capacity_try_acquire(cap, 0));
    seam_capacity_release(cap, 0);

    /* Unlimited: always room, but counted (for metrics and balancing). */
    for (int i = 0; i < 100; i++)
        assert_true(seam_capacity_try_acquire(cap, 1));
    assert_int_equal(seam_capacity_inflight(cap, 1), 100);
    assert_true(seam_capacity_has_room(cap, 1));
    for (int i = 0; i < 100; i++)
        seam_capacity_release(cap, 1);
    assert_int_equal(seam_capacity_inflight(cap, 1), 0);

    assert_int_equal(seam_capacity_limit(cap, 0), 2);
    assert_int_equal(seam_capacity_limit(cap, 1), 0);
    assert_int_equal(seam_capacity_queue_max(cap, 0), 4);
    /* Out of range. */
    assert_false(seam_capacity_try_acquire(cap, 2));
    seam_capacity_release(cap, 2);
    assert_int_equal(seam_capacity_inflight(cap, 7), 0);
    assert_int_equal(seam_capacity_depth(cap, 3), 0);
    seam_capacity_free(cap);
}

static void test_saturated(void **state)
{
    const uint64_t max[] = {1, 1, 0};
    const int pools[][8] = {{0, 1, -1}, {2, -1}, {-1}};
    const size_t q[] = {4, 4, 4};
    seam_capacity *cap = make(3, max, 3, pools, q);
    assert_false(seam_capacity_saturated(cap, 0));
    assert_true(seam_capacity_try_acquire(cap, 0));
    assert_false(seam_capacity_saturated(cap, 0));
    assert_true(seam_capacity_try_acquire(cap, 1));
    assert_true(seam_capacity_saturated(cap, 0));
    seam_capacity_release(cap, 1);
    assert_false(seam_capacity_saturated(cap, 0));
    seam_capacity_release(cap, 0);
    assert_true(seam_capacity_try_acquire(cap, 2));
    assert_false(seam_capacity_saturated(cap, 1)); /* unlimited never fills */
    seam_capacity_release(cap, 2);
    assert_true(seam_capacity_saturated(cap, 2)); /* no backends */
    assert_true(seam_capacity_saturated(cap, 9));
    seam_capacity_free(cap);
}

/* ---- the queue ---- */

static void test_queue_bound(void **state)
{
    const uint64_t max[] = {1};
    const int pools[][8] = {{0, -1}, {0, -1}};
    const size_t q[] = {2, 0};
    seam_capacity *cap = make(1, max, 2, pools, q);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter a = {&rec, 1}, b = {&rec, 2}, c = {&rec, 3};

    assert_true(seam_capacity_try_acquire(cap, 0));
    seam_capacity_wait *wa = enqueue(cap, 0, base, 0, &a);
    seam_capacity_wait *wb = enqueue(cap, 0, base, 0, &b);
    assert_int_equal(seam_capacity_depth(cap, 0), 2);
    seam_capacity_wait *wc = (void *)1;
    assert_int_equal(seam_capacity_enqueue(cap, 0, base, 0, NULL, 0, on_wait, &c, &wc),
                     SEAM_ERR_TOO_BIG);
    assert_null(wc);
    /* A pool without a queue refuses as soon as it is saturated. */
    assert_int_equal(seam_capacity_enqueue(cap, 1, base, 0, NULL, 0, on_wait, &c, &wc),
                     SEAM_ERR_TOO_BIG);
    assert_int_equal(seam_capacity_depth(cap, 0), 2);
    assert_int_equal(seam_capacity_depth(cap, 1), 0);
    /* Bad arguments. */
    assert_int_equal(seam_capacity_enqueue(cap, 5, base, 0, NULL, 0, on_wait, &c, &wc),
                     SEAM_ERR_INVALID);
    assert_int_equal(seam_capacity_enqueue(cap, 0, NULL, 0, NULL, 0, on_wait, &c, &wc),
                     SEAM_ERR_INVALID);
    assert_int_equal(seam_capacity_enqueue(cap, 0, base, 0, NULL, 0, NULL, &c, &wc),
                     SEAM_ERR_INVALID);
    run_ready(base);
    assert_int_equal(rec.n, 0);

    seam_capacity_cancel(wa);
    seam_capacity_cancel(wb);
    seam_capacity_cancel(NULL);
    assert_int_equal(seam_capacity_depth(cap, 0), 0);
    /* With the slot free, even the queueless pool grants at once. */
    seam_capacity_release(cap, 0);
    wc = NULL;
    assert_int_equal(seam_capacity_enqueue(cap, 1, base, 0, NULL, 0, on_wait, &c, &wc), SEAM_OK);
    run_ready(base);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.outcome[0], SEAM_CAPACITY_GRANTED);
    seam_capacity_release(cap, rec.backend[0]);
    assert_int_equal(seam_capacity_inflight(cap, 0), 0);
    event_base_free(base);
    seam_capacity_free(cap);
}

static void test_fifo(void **state)
{
    const uint64_t max[] = {1};
    const int pools[][8] = {{0, -1}};
    const size_t q[] = {8};
    seam_capacity *cap = make(1, max, 1, pools, q);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter w[5];
    assert_true(seam_capacity_try_acquire(cap, 0));
    for (int i = 0; i < 5; i++) {
        w[i] = (struct waiter){&rec, i};
        enqueue(cap, 0, base, 10000, &w[i]);
    }
    assert_int_equal(seam_capacity_depth(cap, 0), 5);
    for (int i = 0; i < 5; i++) {
        /* The slot passes from holder to waiter without ever being free. */
        seam_capacity_release(cap, 0);
        assert_int_equal(seam_capacity_inflight(cap, 0), 1);
        assert_int_equal(seam_capacity_depth(cap, 0), (size_t)(4 - i));
        run_ready(base);
        assert_int_equal(rec.n, i + 1);
        assert_int_equal(rec.who[i], i);
        assert_int_equal(rec.outcome[i], SEAM_CAPACITY_GRANTED);
        assert_int_equal(rec.backend[i], 0);
    }
    seam_capacity_release(cap, 0);
    assert_int_equal(seam_capacity_inflight(cap, 0), 0);
    event_base_free(base);
    seam_capacity_free(cap);
}

static void test_immediate_grant(void **state)
{
    const uint64_t max[] = {3, 3};
    const int pools[][8] = {{0, 1, -1}};
    const size_t q[] = {8};
    seam_capacity *cap = make(2, max, 1, pools, q);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter a = {&rec, 1};
    assert_true(seam_capacity_try_acquire(cap, 0));
    assert_true(seam_capacity_try_acquire(cap, 0));
    enqueue(cap, 0, base, 1000, &a);
    assert_int_equal(rec.n, 0); /* never inside enqueue */
    assert_int_equal(seam_capacity_depth(cap, 0), 0);
    run_ready(base);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.outcome[0], SEAM_CAPACITY_GRANTED);
    assert_int_equal(rec.backend[0], 1); /* the least busy backend with room */
    assert_int_equal(seam_capacity_inflight(cap, 1), 1);
    seam_capacity_release(cap, 1);
    seam_capacity_release(cap, 0);
    seam_capacity_release(cap, 0);
    event_base_free(base);
    seam_capacity_free(cap);
}

static void test_timeout(void **state)
{
    const uint64_t max[] = {1};
    const int pools[][8] = {{0, -1}};
    const size_t q[] = {8};
    seam_capacity *cap = make(1, max, 1, pools, q);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter a = {&rec, 1}, b = {&rec, 2};
    assert_true(seam_capacity_try_acquire(cap, 0));
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enqueue(cap, 0, base, 30, &a);
    enqueue(cap, 0, base, 60, &b);
    event_base_dispatch(base); /* returns when both timers have fired */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    /* libevent's default clock is CLOCK_MONOTONIC_COARSE: a few ms slack. */
    assert_true(ms >= 50);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.who[0], 1);
    assert_int_equal(rec.outcome[0], SEAM_CAPACITY_TIMEOUT);
    assert_int_equal(rec.backend[0], SIZE_MAX);
    assert_int_equal(rec.who[1], 2);
    assert_int_equal(rec.outcome[1], SEAM_CAPACITY_TIMEOUT);
    assert_int_equal(seam_capacity_depth(cap, 0), 0);
    /* Nobody waits: the release just frees the slot. */
    seam_capacity_release(cap, 0);
    assert_int_equal(seam_capacity_inflight(cap, 0), 0);
    event_base_free(base);
    seam_capacity_free(cap);
}

/* A timer that fires while a grant is pending: the grant made first wins. */
static void test_grant_beats_expired_timer(void **state)
{
    const uint64_t max[] = {1};
    const int pools[][8] = {{0, -1}};
    const size_t q[] = {8};
    seam_capacity *cap = make(1, max, 1, pools, q);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter a = {&rec, 1};
    assert_true(seam_capacity_try_acquire(cap, 0));
    enqueue(cap, 0, base, 1, &a);
    struct timespec pause = {0, 5000000};
    nanosleep(&pause, NULL); /* the deadline passes while the loop is not running */
    seam_capacity_release(cap, 0);
    event_base_dispatch(base);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.outcome[0], SEAM_CAPACITY_GRANTED);
    assert_int_equal(seam_capacity_inflight(cap, 0), 1);
    seam_capacity_release(cap, 0);
    event_base_free(base);
    seam_capacity_free(cap);
}

static void test_cancel(void **state)
{
    const uint64_t max[] = {1};
    const int pools[][8] = {{0, -1}};
    const size_t q[] = {8};
    seam_capacity *cap = make(1, max, 1, pools, q);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter a = {&rec, 1}, b = {&rec, 2}, c = {&rec, 3};
    assert_true(seam_capacity_try_acquire(cap, 0));

    /* Queued, then cancelled: gone, and its timer never fires. */
    seam_capacity_wait *wa = enqueue(cap, 0, base, 20, &a);
    seam_capacity_cancel(wa);
    assert_int_equal(seam_capacity_depth(cap, 0), 0);

    /* Granted but not yet delivered, then cancelled: the slot goes on to
     * the next waiter, and the cancelled one never hears of it. */
    seam_capacity_wait *wb = enqueue(cap, 0, base, 0, &b);
    enqueue(cap, 0, base, 0, &c);
    seam_capacity_release(cap, 0); /* b is granted: its event is active */
    assert_int_equal(seam_capacity_depth(cap, 0), 1);
    seam_capacity_cancel(wb);
    assert_int_equal(seam_capacity_depth(cap, 0), 0);
    assert_int_equal(seam_capacity_inflight(cap, 0), 1);
    event_base_dispatch(base);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.who[0], 3);
    assert_int_equal(rec.outcome[0], SEAM_CAPACITY_GRANTED);

    /* Granted, cancelled, nobody else waits: the slot is free again. */
    seam_capacity_wait *wa2 = enqueue(cap, 0, base, 0, &a);
    seam_capacity_release(cap, 0);
    seam_capacity_cancel(wa2);
    assert_int_equal(seam_capacity_inflight(cap, 0), 0);
    event_base_dispatch(base);
    assert_int_equal(rec.n, 1);
    event_base_free(base);
    seam_capacity_free(cap);
}

static void test_eligible(void **state)
{
    const uint64_t max[] = {1, 1, 1};
    const int pools[][8] = {{0, 1, -1}};
    const size_t q[] = {8};
    seam_capacity *cap = make(3, max, 1, pools, q);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter a = {&rec, 1}, b = {&rec, 2}, c = {&rec, 3};
    seam_capacity_wait *h = NULL;
    assert_true(seam_capacity_try_acquire(cap, 0));
    assert_true(seam_capacity_try_acquire(cap, 1));

    /* a may only use backend 1 (listed twice, with backend 2 outside the
     * pool, which is ignored); b may use any. */
    const size_t only1[] = {1, 2, 1};
    assert_int_equal(seam_capacity_enqueue(cap, 0, base, 0, only1, 3, on_wait, &a, &h), SEAM_OK);
    enqueue(cap, 0, base, 0, &b);
    seam_capacity_release(cap, 0); /* a is older but may not use 0 */
    run_ready(base);
    assert_int_equal(rec.n, 1);
    assert_int_equal(rec.who[0], 2);
    assert_int_equal(rec.backend[0], 0);
    seam_capacity_release(cap, 1);
    run_ready(base);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.who[1], 1);
    assert_int_equal(rec.backend[1], 1);

    /* No eligible backend in the pool at all. */
    const size_t only2[] = {2};
    h = (void *)1;
    assert_int_equal(seam_capacity_enqueue(cap, 0, base, 0, only2, 1, on_wait, &c, &h),
                     SEAM_ERR_INVALID);
    assert_null(h);
    assert_int_equal(seam_capacity_enqueue(cap, 0, base, 0, only2, 0, on_wait, &c, &h),
                     SEAM_ERR_INVALID);
    seam_capacity_release(cap, 0);
    seam_capacity_release(cap, 1);
    event_base_free(base);
    seam_capacity_free(cap);
}

/* Backend 0 belongs to pools 0 and 1: its slot goes to the older waiter,
 * whichever pool it waits in. */
static void test_shared_backend(void **state)
{
    const uint64_t max[] = {1, 1};
    const int pools[][8] = {{0, -1}, {0, 1, -1}};
    const size_t q[] = {8, 8};
    seam_capacity *cap = make(2, max, 2, pools, q);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter a = {&rec, 1}, b = {&rec, 2}, c = {&rec, 3};
    assert_true(seam_capacity_try_acquire(cap, 0));
    assert_true(seam_capacity_try_acquire(cap, 1));
    enqueue(cap, 1, base, 0, &a);
    enqueue(cap, 0, base, 0, &b);
    enqueue(cap, 1, base, 0, &c);
    seam_capacity_release(cap, 0);
    seam_capacity_release(cap, 0);
    run_ready(base);
    assert_int_equal(rec.n, 2);
    assert_int_equal(rec.who[0], 1);
    assert_int_equal(rec.who[1], 2);
    /* c waits in pool 1, which backend 1 serves too. */
    seam_capacity_release(cap, 1);
    run_ready(base);
    assert_int_equal(rec.n, 3);
    assert_int_equal(rec.who[2], 3);
    assert_int_equal(rec.backend[2], 1);
    seam_capacity_release(cap, 0);
    seam_capacity_release(cap, 1);
    assert_int_equal(seam_capacity_inflight(cap, 0), 0);
    assert_int_equal(seam_capacity_inflight(cap, 1), 0);
    event_base_free(base);
    seam_capacity_free(cap);
}

static void test_alloc_failure(void **state)
{
    const uint64_t max[] = {1, 2};
    size_t p0[] = {0, 1}, p1[] = {1};
    const seam_capacity_pool_spec spec[] = {{p0, 2, 4}, {p1, 1, 4}};
    /* Fail each allocation of seam_capacity_new in turn: NULL, no leak. */
    int failures = 0;
    for (long n = 0; n < 32; n++) {
        seam_alloc_fail_after(n);
        seam_capacity *cap = seam_capacity_new(2, max, 2, spec);
        seam_alloc_fail_after(-1);
        if (cap) {
            seam_capacity_free(cap);
            break;
        }
        failures++;
    }
    assert_true(failures > 0);

    /* A pool naming an unknown backend. */
    size_t bad[] = {2};
    const seam_capacity_pool_spec badspec[] = {{bad, 1, 4}};
    assert_null(seam_capacity_new(2, max, 1, badspec));

    seam_capacity *cap = seam_capacity_new(2, max, 2, spec);
    assert_non_null(cap);
    struct event_base *base = event_base_new();
    struct record rec = {0};
    struct waiter a = {&rec, 1};
    seam_capacity_wait *h = (void *)1;
    seam_alloc_fail_after(0);
    assert_int_equal(seam_capacity_enqueue(cap, 0, base, 100, NULL, 0, on_wait, &a, &h),
                     SEAM_ERR_NOMEM);
    seam_alloc_fail_after(-1);
    assert_null(h);
    run_ready(base);
    assert_int_equal(rec.n, 0);
    event_base_free(base);
    seam_capacity_free(cap);
}

static void test_from_config(void **state)
{
    static const char yaml[] =
        "listen: 127.0.0.1:0\n"
        "backends:\n"
        "  - { name: a, provider: openai, url: http://127.0.0.1:1, location: local,"
        " models: [m], max_concurrency: 2 }\n"
        "  - { name: b, provider: openai, url: http://127.0.0.1:2, location: local,"
        " models: [m] }\n"
        "pools:\n"
        "  local: { backends: [a, b], queue: { max: 3, timeout_ms: 500 } }\n"
        "  other: [b]\n"
        "policy:\n"
        "  default: local\n";
    seam_config *cfg = load_yaml(yaml);
    seam_capacity *cap = seam_capacity_from_config(cfg);
    assert_non_null(cap);
    int local = seam_config_pool_index(cfg, "local");
    int other = seam_config_pool_index(cfg, "other");
    assert_true(local >= 0 && other >= 0);
    assert_int_equal(seam_capacity_limit(cap, 0), 2);
    assert_int_equal(seam_capacity_limit(cap, 1), 0);
    assert_int_equal(seam_capacity_queue_max(cap, (size_t)local), 3);
    assert_int_equal(seam_capacity_queue_max(cap, (size_t)other), 0);
    assert_true(seam_capacity_try_acquire(cap, 0));
    assert_true(seam_capacity_try_acquire(cap, 0));
    assert_false(seam_capacity_try_acquire(cap, 0));
    assert_false(seam_capacity_saturated(cap, (size_t)local)); /* b is unlimited */
    seam_capacity_release(cap, 0);
    seam_capacity_release(cap, 0);
    seam_capacity_free(cap);
    seam_config_free(cfg);
}

/* ---- two loops on two threads ---- */

#define THREADS    2
#define CLIENTS    8
#define ITERATIONS 1000
#define NB         3

static const uint64_t st_max[NB] = {2, 1, 2};
static const int st_pools[][8] = {{0, 1, -1}, {1, 2, -1}};
static const size_t st_q[] = {6, 6};

struct stress;

struct client {
    struct stress *s;
    uint64_t rng;
    int iter;
    seam_capacity_wait *wait; /* while waiting */
    bool waiting;
    size_t held; /* backend whose slot it holds, or SIZE_MAX */
    size_t elig[2];
    size_t nelig;
    struct event *step; /* next iteration, end of a hold */
    struct event *cancel;
};

struct stress {
    seam_capacity *cap;
    struct event_base *base;
    pthread_t self;
    struct client c[CLIENTS];
    int done;
};

static _Atomic int holders[NB];
static _Atomic long errors, direct, granted, timedout, cancelled, refused;

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void arm(struct event *ev, long usec)
{
    struct timeval tv = {usec / 1000000, usec % 1000000};
    event_add(ev, &tv);
}

static void hold(struct client *c, size_t b)
{
    if (atomic_fetch_add(&holders[b], 1) + 1 > (int)st_max[b])
        atomic_fetch_add(&errors, 1); /* a slot given twice */
    c->held = b;
    /* Mostly given back on the next turn of the loop, sometimes held ~1 ms. */
    uint64_t r = next_rand(&c->rng);
    arm(c->step, r % 4 ? 0 : (long)(r >> 8) % 1000);
}

static void next_iteration(struct client *c)
{
    c->iter++;
    arm(c->step, 0);
}

static void on_stress_wait(void *arg, seam_capacity_outcome outcome, size_t backend)
{
    struct client *c = arg;
    if (!pthread_equal(pthread_self(), c->s->self) || !c->waiting)
        atomic_fetch_add(&errors, 1); /* wrong loop, or a second callback */
    c->waiting = false;
    c->wait = NULL;
    event_del(c->cancel);
    if (outcome == SEAM_CAPACITY_GRANTED) {
        bool ok = false;
        for (size_t i = 0; i < c->nelig; i++)
            ok |= c->elig[i] == backend;
        if (!ok)
            atomic_fetch_add(&errors, 1); /* a backend it may not use */
        atomic_fetch_add(&granted, 1);
        hold(c, backend);
        return;
    }
    atomic_fetch_add(&timedout, 1);
    next_iteration(c);
}

static void on_cancel(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    if (!c->waiting)
        return;
    seam_capacity_cancel(c->wait);
    c->wait = NULL;
    c->waiting = false;
    atomic_fetch_add(&cancelled, 1);
    next_iteration(c);
}

static void on_step(evutil_socket_t fd, short what, void *arg)
{
    struct client *c = arg;
    struct stress *s = c->s;
    if (c->held != SIZE_MAX) {
        atomic_fetch_sub(&holders[c->held], 1);
        seam_capacity_release(s->cap, c->held);
        c->held = SIZE_MAX;
        next_iteration(c);
        return;
    }
    if (c->iter >= ITERATIONS) {
        if (++s->done == CLIENTS)
            event_base_loopexit(s->base, NULL);
        return;
    }
    uint64_t r = next_rand(&c->rng);
    size_t pool = r & 1;
    const int *members = st_pools[pool];
    /* Usually the whole pool; sometimes only one of its backends. */
    c->nelig = 0;
    if ((r >> 1) % 4 == 0)
        c->elig[c->nelig++] = (size_t)members[(r >> 3) & 1];
    else
        for (int i = 0; members[i] >= 0; i++)
            c->elig[c->nelig++] = (size_t)members[i];
    /* Arrivals do not overtake waiters: they take a slot directly only
     * while nobody waits (the wiring rule for the proxy). */
    if (seam_capacity_depth(s->cap, pool) == 0)
        for (size_t i = 0; i < c->nelig; i++)
            if (seam_capacity_try_acquire(s->cap, c->elig[i])) {
                atomic_fetch_add(&direct, 1);
                hold(c, c->elig[i]);
                return;
            }
    uint64_t timeout = 1 + (r >> 8) % 4;
    if ((r >> 12) % 8 == 0)
        timeout = 0; /* no deadline: the cancel timer ends it if nothing else */
    c->waiting = true;
    seam_rc rc = seam_capacity_enqueue(s->cap, pool, s->base, timeout, c->elig, c->nelig,
                                       on_stress_wait, c, &c->wait);
    if (rc != SEAM_OK) {
        c->waiting = false;
        if (rc != SEAM_ERR_TOO_BIG)
            atomic_fetch_add(&errors, 1);
        atomic_fetch_add(&refused, 1);
        next_iteration(c);
        return;
    }
    /* A cancel racing the grants made by the other thread's releases. */
    if (timeout == 0 || (r >> 16) % 3 == 0)
        arm(c->cancel, (long)((r >> 20) % 3000));
}

static void *stress_main(void *arg)
{
    struct stress *s = arg;
    s->self = pthread_self();
    for (int i = 0; i < CLIENTS; i++) {
        struct client *c = &s->c[i];
        arm(c->step, 0);
    }
    event_base_loop(s->base, EVLOOP_NO_EXIT_ON_EMPTY);
    return NULL;
}

static void test_threads(void **state)
{
    seam_capacity *cap = make(NB, st_max, 2, st_pools, st_q);
    struct stress s[THREADS];
    memset(s, 0, sizeof s);
    for (int t = 0; t < THREADS; t++) {
        s[t].cap = cap;
        s[t].base = event_base_new();
        assert_non_null(s[t].base);
        for (int i = 0; i < CLIENTS; i++) {
            struct client *c = &s[t].c[i];
            c->s = &s[t];
            c->rng = 0x9E3779B97F4A7C15ull * (uint64_t)(t * CLIENTS + i + 1);
            c->held = SIZE_MAX;
            c->step = evtimer_new(s[t].base, on_step, c);
            c->cancel = evtimer_new(s[t].base, on_cancel, c);
            assert_non_null(c->step);
            assert_non_null(c->cancel);
        }
    }
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&th[t], NULL, stress_main, &s[t]), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);

    long total = direct + granted + timedout + cancelled + refused;
    print_message("direct %ld granted %ld timed out %ld cancelled %ld refused %ld\n", (long)direct,
                  (long)granted, (long)timedout, (long)cancelled, (long)refused);
    assert_int_equal(errors, 0);
    assert_int_equal(total, (long)THREADS * CLIENTS * ITERATIONS);
    assert_true(granted > 0 && timedout > 0 && cancelled > 0);
    for (size_t b = 0; b < NB; b++) {
        assert_int_equal(seam_capacity_inflight(cap, b), 0);
        assert_int_equal(holders[b], 0);
    }
    assert_int_equal(seam_capacity_depth(cap, 0), 0);
    assert_int_equal(seam_capacity_depth(cap, 1), 0);
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < CLIENTS; i++) {
            event_free(s[t].c[i].step);
            event_free(s[t].c[i].cancel);
        }
        event_base_free(s[t].base);
    }
    seam_capacity_free(cap);
}

int main(void)
{
    /* As seam's main(): grants activate events of other threads' bases. */
    evthread_use_pthreads();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_release),
        cmocka_unit_test(test_saturated),
        cmocka_unit_test(test_queue_bound),
        cmocka_unit_test(test_fifo),
        cmocka_unit_test(test_immediate_grant),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_grant_beats_expired_timer),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_eligible),
        cmocka_unit_test(test_shared_backend),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_from_config),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
