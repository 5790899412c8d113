/*
 * Unit tests for src/upstream/breaker: the state machine against a fake
 * clock, the window, stale tickets, passive health counters, the half-open
 * trial limit under concurrent threads, and allocation failures.
 */
#include "testutil.h"

#include "core/alloc.h"
#include "core/log.h"
#include "upstream/breaker.h"

#include <pthread.h>
#include <stdatomic.h>

#define MS UINT64_C(1000000)

/* Two backends: `a` with its own circuit, `b` with the top-level one. */
static const char yaml[] = "circuit: { failures: 3, window_ms: 1000, cooldown_ms: 500, "
                           "half_open_max: 2 }\n"
                           "backends:\n"
                           "  - { name: a, provider: openai, url: http://127.0.0.1:1, location: "
                           "local, models: [m], circuit: { failures: 1, cooldown_ms: 100 } }\n"
                           "  - { name: b, provider: openai, url: http://127.0.0.1:2, location: "
                           "local, models: [m] }\n"
                           "pools:\n"
                           "  local: [a, b]\n";

static void opens_after_failures_within_the_window(void **state)
{
    seam_config *cfg = load_yaml(yaml);
    seam_breakers *br = seam_breakers_new(cfg);
    assert_non_null(br);
    const size_t B = 1;
    uint64_t t = 1000 * MS;
    seam_breaker_ticket tk;
    assert_true(seam_breaker_allow(br, B, t, &tk));
    assert_true(tk.valid);
    assert_false(tk.trial);
    /* Failures 600 ms apart: never three within one second. */
    seam_breaker_report(br, B, &tk, false, t);
    seam_breaker_report(br, B, &tk, false, t + 600 * MS);
    seam_breaker_report(br, B, &tk, false, t + 1200 * MS);
    assert_int_equal(seam_breaker_get(br, B, t + 1200 * MS), SEAM_BREAKER_CLOSED);
    assert_int_equal(seam_breaker_consecutive_failures(br, B), 3);
    /* The third of the last three within the window: 600, 1200, 1300. */
    seam_breaker_report(br, B, &tk, false, t + 1300 * MS);
    assert_int_equal(seam_breaker_get(br, B, t + 1300 * MS), SEAM_BREAKER_OPEN);
    assert_false(seam_breaker_allow(br, B, t + 1300 * MS, &tk));
    assert_false(tk.valid);
    assert_false(seam_breaker_allow(br, B, t + 1799 * MS, NULL));
    seam_breaker_stats st;
    seam_breaker_stats_get(br, B, t + 1799 * MS, &st);
    assert_int_equal(st.state, SEAM_BREAKER_OPEN);
    assert_int_equal(st.opens, 1);
    assert_int_equal(st.failures, 4);
    assert_int_equal(st.consecutive_failures, 4);
    assert_int_equal(st.rejected, 2);
    /* The other backend is not affected. */
    assert_int_equal(seam_breaker_get(br, 0, t + 1300 * MS), SEAM_BREAKER_CLOSED);
    seam_breakers_free(br);
    seam_config_free(cfg);
}

static void successes_do_not_reset_the_window_but_end_the_run(void **state)
{
    seam_config *cfg = load_yaml(yaml);
    seam_breakers *br = seam_breakers_new(cfg);
    uint64_t t = 5 * MS;
    seam_breaker_report(br, 1, NULL, false, t);
    seam_breaker_report(br, 1, NULL, false, t + 1 * MS);
    seam_breaker_report(br, 1, NULL, true, t + 2 * MS);
    assert_int_equal(seam_breaker_consecutive_failures(br, 1), 0);
    /* Three failures within the window, a success between them. */
    seam_breaker_report(br, 1, NULL, false, t + 3 * MS);
    assert_int_equal(seam_breaker_get(br, 1, t + 3 * MS), SEAM_BREAKER_OPEN);
    assert_int_equal(seam_breaker_consecutive_failures(br, 1), 1);
    seam_breakers_free(br);
    seam_config_free(cfg);
}

static void half_open_trials_close_or_reopen(void **state)
{
    seam_config *cfg = load_yaml(yaml);
    seam_breakers *br = seam_breakers_new(cfg);
    const size_t B = 1;
    uint64_t t = 10 * MS;
    seam_breaker_ticket old, t1, t2, t3;
    assert_true(seam_breaker_allow(br, B, t, &old)); /* a long request of the closed period */
    for (int i = 0; i < 3; i++)
        seam_breaker_report(br, B, NULL, false, t);
    assert_int_equal(seam_breaker_get(br, B, t + 499 * MS), SEAM_BREAKER_OPEN);
    /* Cool-down over: reads half-open, and allows two trials at most. */
    t += 500 * MS;
    assert_int_equal(seam_breaker_get(br, B, t), SEAM_BREAKER_HALF_OPEN);
    assert_true(seam_breaker_allow(br, B, t, &t1));
    assert_true(t1.trial);
    assert_true(seam_breaker_allow(br, B, t, &t2));
    assert_false(seam_breaker_allow(br, B, t, &t3));
    /* A stale report decides nothing. */
    seam_breaker_report(br, B, &old, true, t);
    assert_int_equal(seam_breaker_get(br, B, t), SEAM_BREAKER_HALF_OPEN);
    seam_breaker_report(br, B, &old, false, t);
    assert_int_equal(seam_breaker_get(br, B, t), SEAM_BREAKER_HALF_OPEN);
    /* A trial given back frees its slot. */
    seam_breaker_release(br, B, &t2);
    assert_true(seam_breaker_allow(br, B, t, &t2));
    assert_false(seam_breaker_allow(br, B, t, NULL));
    /* A trial fails: open again, for a whole new cool-down. */
    seam_breaker_report(br, B, &t1, false, t + 10 * MS);
    assert_int_equal(seam_breaker_get(br, B, t + 10 * MS), SEAM_BREAKER_OPEN);
    assert_false(seam_breaker_allow(br, B, t + 509 * MS, NULL));
    /* The other trial's verdict arrives late: it belongs to the old period. */
    seam_breaker_report(br, B, &t2, true, t + 20 * MS);
    assert_int_equal(seam_breaker_get(br, B, t + 20 * MS), SEAM_BREAKER_OPEN);
    seam_breaker_release(br, B, &t2); /* harmless */
    /* Next half-open period: a success closes. */
    t += 510 * MS;
    assert_true(seam_breaker_allow(br, B, t, &t1));
    assert_true(t1.trial);
    seam_breaker_report(br, B, &t1, true, t);
    assert_int_equal(seam_breaker_get(br, B, t), SEAM_BREAKER_CLOSED);
    assert_true(seam_breaker_allow(br, B, t, &t3));
    assert_false(t3.trial);
    /* The window starts afresh after closing: two failures do not open. */
    seam_breaker_report(br, B, &t3, false, t);
    seam_breaker_report(br, B, &t3, false, t);
    assert_int_equal(seam_breaker_get(br, B, t), SEAM_BREAKER_CLOSED);
    seam_breaker_stats st;
    seam_breaker_stats_get(br, B, t, &st);
    assert_int_equal(st.opens, 2);
    seam_breakers_free(br);
    seam_config_free(cfg);
}

static void per_backend_settings_apply(void **state)
{
    seam_config *cfg = load_yaml(yaml);
    assert_int_equal(cfg->backends[0].circuit.failures, 1);
    assert_int_equal(cfg->backends[0].circuit.window_ms, 1000); /* from the top level */
    assert_int_equal(cfg->backends[0].circuit.cooldown_ms, 100);
    assert_int_equal(cfg->backends[0].circuit.half_open_max, 2);
    seam_breakers *br = seam_breakers_new(cfg);
    seam_breaker_report(br, 0, NULL, false, 0);
    assert_int_equal(seam_breaker_get(br, 0, 0), SEAM_BREAKER_OPEN);
    assert_int_equal(seam_breaker_get(br, 0, 100 * MS), SEAM_BREAKER_HALF_OPEN);
    seam_breakers_free(br);
    seam_config_free(cfg);
}

static void out_of_range_and_null(void **state)
{
    seam_config *cfg = load_yaml(yaml);
    seam_breakers *br = seam_breakers_new(cfg);
    seam_breaker_ticket tk = {.valid = true};
    assert_false(seam_breaker_allow(br, 2, 0, &tk));
    assert_false(tk.valid);
    seam_breaker_report(br, 2, NULL, false, 0);
    seam_breaker_release(br, 2, NULL);
    assert_int_equal(seam_breaker_get(br, 2, 0), SEAM_BREAKER_CLOSED);
    assert_int_equal(seam_breaker_consecutive_failures(br, 2), 0);
    assert_false(seam_breaker_allow(NULL, 0, 0, NULL));
    seam_breakers_free(NULL);
    assert_string_equal(seam_breaker_state_name(SEAM_BREAKER_HALF_OPEN), "half_open");
    assert_string_equal(seam_breaker_state_name(SEAM_BREAKER_OPEN), "open");
    assert_string_equal(seam_breaker_state_name(SEAM_BREAKER_CLOSED), "closed");
    seam_breakers_free(br);
    seam_config_free(cfg);
}

static void status_classification(void **state)
{
    for (long s = 100; s < 600; s++)
        assert_int_equal(seam_breaker_counts_status(s), s >= 500);
    assert_false(seam_breaker_counts_status(429));
    assert_false(seam_breaker_counts_status(0));
}

/* ---- concurrency ---------------------------------------------------------- */

struct race {
    seam_breakers *br;
    _Atomic int go;
    _Atomic int granted;
    uint64_t now;
};

static void *hammer(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->go))
        ;
    for (int i = 0; i < 200; i++)
        if (seam_breaker_allow(r->br, 1, r->now, NULL))
            atomic_fetch_add(&r->granted, 1);
    return NULL;
}

/* However many threads ask at once, a half-open breaker hands out exactly
 * half_open_max trial slots per period, including the very moment it turns
 * half-open. */
static void half_open_limit_under_threads(void **state)
{
    seam_config *cfg = load_yaml(yaml);
    seam_breakers *br = seam_breakers_new(cfg);
    enum { THREADS = 8 };
    uint64_t t = 0;
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 3; i++)
            seam_breaker_report(br, 1, NULL, false, t);
        assert_int_equal(seam_breaker_get(br, 1, t), SEAM_BREAKER_OPEN);
        struct race r = {.br = br, .now = t + 500 * MS};
        atomic_init(&r.go, 0);
        atomic_init(&r.granted, 0);
        pthread_t th[THREADS];
        for (int i = 0; i < THREADS; i++)
            assert_int_equal(pthread_create(&th[i], NULL, hammer, &r), 0);
        atomic_store(&r.go, 1);
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        assert_int_equal(atomic_load(&r.granted), 2);
        seam_breaker_stats st;
        seam_breaker_stats_get(br, 1, r.now, &st);
        assert_int_equal(st.state, SEAM_BREAKER_HALF_OPEN);
        /* Both slots are out and unreported: start the next round afresh. */
        t = r.now + MS;
        seam_breakers_free(br);
        br = seam_breakers_new(cfg);
    }
    seam_breakers_free(br);
    seam_config_free(cfg);
}

struct mixed {
    seam_breakers *br;
    _Atomic uint64_t clock;
    _Atomic int trials_out;
    _Atomic int max_seen;
};

/* Threads allow, then report a random verdict, with a shared clock moving
 * forward: at no moment are more trials out than half_open_max. */
static void *churn(void *arg)
{
    struct mixed *m = arg;
    uint64_t rng = (uint64_t)(uintptr_t)&rng;
    for (int i = 0; i < 20000; i++) {
        uint64_t now = atomic_fetch_add(&m->clock, 50 * 1000); /* 0.05 ms per step */
        seam_breaker_ticket tk;
        if (!seam_breaker_allow(m->br, 1, now, &tk))
            continue;
        if (tk.trial) {
            int out = atomic_fetch_add(&m->trials_out, 1) + 1;
            int seen = atomic_load(&m->max_seen);
            while (out > seen && !atomic_compare_exchange_weak(&m->max_seen, &seen, out))
                ;
        }
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if (tk.trial)
            atomic_fetch_sub(&m->trials_out, 1);
        if (rng % 10 == 0)
            seam_breaker_release(m->br, 1, &tk);
        else
            seam_breaker_report(m->br, 1, &tk, rng % 3 != 0, now);
    }
    return NULL;
}

static void state_machine_under_churn(void **state)
{
    seam_config *cfg = load_yaml(yaml);
    struct mixed m = {.br = seam_breakers_new(cfg)};
    atomic_init(&m.clock, 0);
    atomic_init(&m.trials_out, 0);
    atomic_init(&m.max_seen, 0);
    pthread_t th[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&th[i], NULL, churn, &m), 0);
    for (int i = 0; i < 6; i++)
        pthread_join(th[i], NULL);
    assert_true(atomic_load(&m.max_seen) <= 2);
    seam_breaker_stats st;
    seam_breaker_stats_get(m.br, 1, atomic_load(&m.clock), &st);
    assert_true(st.opens > 0); /* the churn really exercised the machine */
    seam_breakers_free(m.br);
    seam_config_free(cfg);
}

static void allocation_failures(void **state)
{
    seam_config *cfg = load_yaml(yaml);
    long n;
    for (n = 0; n < 100; n++) {
        seam_alloc_fail_after(n);
        seam_breakers *br = seam_breakers_new(cfg);
        seam_alloc_fail_after(-1);
        if (br) {
            seam_breakers_free(br);
            break;
        }
    }
    assert_true(n > 2);
    seam_config_free(cfg);
}

int main(void)
{
    seam_log_set_level(SEAM_LOG_ERROR); /* state changes log; keep output short */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(opens_after_failures_within_the_window),
        cmocka_unit_test(successes_do_not_reset_the_window_but_end_the_run),
        cmocka_unit_test(half_open_trials_close_or_reopen),
        cmocka_unit_test(per_backend_settings_apply),
        cmocka_unit_test(out_of_range_and_null),
        cmocka_unit_test(status_classification),
        cmocka_unit_test(half_open_limit_under_threads),
        cmocka_unit_test(state_machine_under_churn),
        cmocka_unit_test(allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
