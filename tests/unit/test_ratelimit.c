/*
 * Unit tests for src/auth/ratelimit: the GCRA arithmetic on a fake clock
 * (a full bucket at first, continuous refill, Retry-After rounded up and
 * at least 1), requests larger than a whole minute, settling an estimate
 * by the measured usage (refund capped at a full bucket, excess charged
 * past empty), and four threads taking from one bucket at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/ratelimit.h"
#include "config/config.h"
#include "core/alloc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#define SEC 1000000000ull
#define MIN (60 * SEC)
#define T0  (1000 * SEC) /* the fake clock's start: any monotonic time */

/* A configuration with key 0 limited to <rpm>/<tpm> and key 1 unlimited,
 * built in C (only the fields the limiter reads). */
static seam_key_conf keys[2];
static seam_config cfg;

static seam_ratelimit *limiter(uint64_t rpm, uint64_t tpm)
{
    memset(keys, 0, sizeof keys);
    memset(&cfg, 0, sizeof cfg);
    keys[0].rpm = rpm;
    keys[0].tpm = tpm;
    cfg.auth.keys = keys;
    cfg.auth.nkeys = 2;
    seam_ratelimit *rl = seam_rl_new(&cfg);
    assert_non_null(rl);
    return rl;
}

static void test_unit_ns(void **state)
{
    assert_int_equal(seam_rl_unit_ns(1), 60 * SEC);
    assert_int_equal(seam_rl_unit_ns(600), 100000000);
    assert_int_equal(seam_rl_unit_ns(2000000), 30000);
    assert_int_equal(seam_rl_unit_ns(7), 8571428572); /* rounded up */
    assert_int_equal(seam_rl_unit_ns(1000000000), 60);
    assert_int_equal(seam_rl_unit_ns(UINT64_MAX), 1);
}

/* 60 rpm: a burst of 60 at once, then one per second. */
static void test_requests_refill(void **state)
{
    seam_ratelimit *rl = limiter(60, 0);
    uint32_t ra = 99;
    for (int i = 0; i < 60; i++)
        assert_int_equal(seam_rl_take_request(rl, 0, T0, &ra), SEAM_RL_OK);
    assert_int_equal(seam_rl_take_request(rl, 0, T0, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 1);
    /* Half a second later: still nothing, and still "1 second". */
    assert_int_equal(seam_rl_take_request(rl, 0, T0 + SEC / 2, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 1);
    /* One second after: exactly one more. */
    assert_int_equal(seam_rl_take_request(rl, 0, T0 + SEC, &ra), SEAM_RL_OK);
    assert_int_equal(seam_rl_take_request(rl, 0, T0 + SEC, &ra), SEAM_RL_LIMITED);
    /* Ten seconds later: ten. */
    int n = 0;
    while (seam_rl_take_request(rl, 0, T0 + 11 * SEC, NULL) == SEAM_RL_OK)
        n++;
    assert_int_equal(n, 10);
    /* An idle hour refills to the capacity, never beyond. */
    n = 0;
    while (seam_rl_take_request(rl, 0, T0 + 3600 * SEC, NULL) == SEAM_RL_OK)
        n++;
    assert_int_equal(n, 60);
    /* The unlimited key and keys out of range are never limited. */
    for (int i = 0; i < 1000; i++)
        assert_int_equal(seam_rl_take_request(rl, 1, T0, &ra), SEAM_RL_OK);
    assert_int_equal(seam_rl_take_request(rl, 7, T0, &ra), SEAM_RL_OK);
    seam_rl_free(rl);
}

/* A limit that does not divide a minute: the whole burst still fits. */
static void test_odd_limit(void **state)
{
    seam_ratelimit *rl = limiter(7, 0);
    for (int i = 0; i < 7; i++)
        assert_int_equal(seam_rl_take_request(rl, 0, T0, NULL), SEAM_RL_OK);
    uint32_t ra;
    assert_int_equal(seam_rl_take_request(rl, 0, T0, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 9); /* 60 / 7 = 8.57 s, rounded up */
    assert_int_equal(seam_rl_take_request(rl, 0, T0 + 8 * SEC, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 1);
    assert_int_equal(seam_rl_take_request(rl, 0, T0 + 9 * SEC, &ra), SEAM_RL_OK);
    seam_rl_free(rl);
}

/* 6000 tpm: 100 tokens a second. */
static void test_tokens_retry_after(void **state)
{
    seam_ratelimit *rl = limiter(0, 6000);
    uint32_t ra = 99;
    assert_int_equal(seam_rl_take_tokens(rl, 0, 5000, T0, &ra), SEAM_RL_OK);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 1000, T0, &ra), SEAM_RL_OK);
    /* Empty: 250 tokens need 2.5 s, said as 3. */
    assert_int_equal(seam_rl_take_tokens(rl, 0, 250, T0, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 3);
    /* Refused takes take nothing: 2.5 s later it fits exactly. */
    assert_int_equal(seam_rl_take_tokens(rl, 0, 250, T0 + 2 * SEC, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 1);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 250, T0 + 2 * SEC + SEC / 2, &ra), SEAM_RL_OK);
    /* A whole minute's worth needs a whole minute from empty. */
    assert_int_equal(seam_rl_take_tokens(rl, 0, 6000, T0 + 2 * SEC + SEC / 2, &ra),
                     SEAM_RL_LIMITED);
    assert_int_equal(ra, 60);
    /* Zero tokens always fit. */
    assert_int_equal(seam_rl_take_tokens(rl, 0, 0, T0, &ra), SEAM_RL_OK);
    seam_rl_free(rl);
}

static void test_too_large(void **state)
{
    seam_ratelimit *rl = limiter(0, 6000);
    uint32_t ra = 99;
    assert_int_equal(seam_rl_take_tokens(rl, 0, 6001, T0, &ra), SEAM_RL_TOO_LARGE);
    assert_int_equal(ra, 0);
    assert_int_equal(seam_rl_take_tokens(rl, 0, UINT64_MAX, T0, &ra), SEAM_RL_TOO_LARGE);
    /* Nothing was taken: the full minute is still there. */
    assert_int_equal(seam_rl_take_tokens(rl, 0, 6000, T0, &ra), SEAM_RL_OK);
    /* Unlimited keys take anything. */
    assert_int_equal(seam_rl_take_tokens(rl, 1, UINT64_MAX, T0, &ra), SEAM_RL_OK);
    seam_rl_free(rl);
}

static void test_settle(void **state)
{
    seam_ratelimit *rl = limiter(0, 6000);
    uint32_t ra;
    /* Estimate 4000, used 1000: 3000 come back. */
    assert_int_equal(seam_rl_take_tokens(rl, 0, 4000, T0, &ra), SEAM_RL_OK);
    seam_rl_settle_tokens(rl, 0, 4000, 1000, T0);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 5000, T0, &ra), SEAM_RL_OK);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 1, T0, &ra), SEAM_RL_LIMITED);
    seam_rl_free(rl);

    /* A refund never fills past the capacity. */
    rl = limiter(0, 6000);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 3000, T0, &ra), SEAM_RL_OK);
    seam_rl_settle_tokens(rl, 0, 3000, 0, T0 + 40 * SEC); /* refilled 4000 meanwhile */
    assert_int_equal(seam_rl_take_tokens(rl, 0, 6000, T0 + 40 * SEC, &ra), SEAM_RL_OK);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 1, T0 + 40 * SEC, &ra), SEAM_RL_LIMITED);
    seam_rl_free(rl);

    /* Used more than estimated: the excess is charged past empty, and the
     * key waits until the debt is repaid. */
    rl = limiter(0, 6000);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 6000, T0, &ra), SEAM_RL_OK);
    seam_rl_settle_tokens(rl, 0, 6000, 9000, T0); /* 3000 owed: 30 s */
    assert_int_equal(seam_rl_take_tokens(rl, 0, 100, T0, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 31);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 100, T0 + 30 * SEC, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 1);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 100, T0 + 31 * SEC, &ra), SEAM_RL_OK);
    /* Equal estimate and usage change nothing; unlimited keys and keys
     * out of range are ignored. */
    seam_rl_settle_tokens(rl, 0, 5, 5, T0);
    seam_rl_settle_tokens(rl, 1, 0, 1000000, T0);
    seam_rl_settle_tokens(rl, 9, 0, 1000000, T0);
    /* An absurd charge saturates rather than wrapping into a full bucket. */
    seam_rl_settle_tokens(rl, 0, 0, UINT64_MAX, T0 + 31 * SEC);
    assert_int_equal(seam_rl_take_tokens(rl, 0, 1, T0 + 3600 * SEC, &ra), SEAM_RL_LIMITED);
    assert_true(ra > 1000);
    seam_rl_free(rl);
}

/* The bare GCRA step, as a Redis script would run it. */
static void test_gcra(void **state)
{
    int64_t tat = 0, next = -1;
    uint32_t ra = 0;
    assert_int_equal(seam_rl_gcra(tat, (int64_t)T0, 60, 60, &next, &ra), SEAM_RL_OK);
    assert_int_equal(next, (int64_t)(T0 + MIN));
    assert_int_equal(seam_rl_gcra(next, (int64_t)T0, 60, 1, &tat, &ra), SEAM_RL_LIMITED);
    assert_int_equal(ra, 1);
    assert_int_equal(seam_rl_gcra(next, (int64_t)(T0 + 2 * SEC), 60, 2, &tat, &ra), SEAM_RL_OK);
    assert_int_equal(tat, (int64_t)(T0 + MIN + 2 * SEC));
    assert_int_equal(seam_rl_gcra(0, 0, 60, 61, &tat, &ra), SEAM_RL_TOO_LARGE);
}

/* Four threads take from one bucket as fast as they can for a while, on
 * the real clock: the total admitted never exceeds the capacity plus what
 * refilled over the run, and the CAS loop loses nothing (an idle bucket
 * ends full again). */
#define THREADS 4
static seam_ratelimit *shared;
static atomic_ullong admitted;
static atomic_ullong tokens_admitted;

static void *hammer(void *arg)
{
    uint64_t end = seam_rl_now_ns() + SEC / 5;
    unsigned long long n = 0, t = 0;
    while (seam_rl_now_ns() < end) {
        if (seam_rl_take_request(shared, 0, seam_rl_now_ns(), NULL) == SEAM_RL_OK)
            n++;
        if (seam_rl_take_tokens(shared, 0, 7, seam_rl_now_ns(), NULL) == SEAM_RL_OK) {
            t += 7;
            seam_rl_settle_tokens(shared, 0, 7, 7, seam_rl_now_ns());
        }
    }
    atomic_fetch_add(&admitted, n);
    atomic_fetch_add(&tokens_admitted, t);
    return arg;
}

static void test_concurrency(void **state)
{
    const uint64_t rpm = 60000, tpm = 600000; /* 1000 req/s, 10000 tok/s */
    shared = limiter(rpm, tpm);
    atomic_store(&admitted, 0);
    atomic_store(&tokens_admitted, 0);
    pthread_t th[THREADS];
    uint64_t start = seam_rl_now_ns();
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    double secs = (double)(seam_rl_now_ns() - start) / 1e9;
    unsigned long long n = atomic_load(&admitted), t = atomic_load(&tokens_admitted);
    double max_n = (double)rpm + secs * (double)rpm / 60 + 1;
    double max_t = (double)tpm + secs * (double)tpm / 60 + 7;
    if ((double)n > max_n || (double)t > max_t)
        fail_msg("admitted %llu requests (max %.0f), %llu tokens (max %.0f) in %.3f s", n, max_n, t,
                 max_t, secs);
    /* The threads really competed for an exhausted bucket. */
    assert_true(n >= rpm);
    assert_true(t >= tpm - 7);
    /* A minute later the bucket is exactly full again. */
    uint64_t later = seam_rl_now_ns() + MIN;
    unsigned long long k = 0;
    while (seam_rl_take_request(shared, 0, later, NULL) == SEAM_RL_OK)
        k++;
    assert_int_equal(k, rpm);
    seam_rl_free(shared);
}

static void test_alloc_failure(void **state)
{
    memset(keys, 0, sizeof keys);
    memset(&cfg, 0, sizeof cfg);
    cfg.auth.keys = keys;
    cfg.auth.nkeys = 2;
    for (long n = 0; n < 3; n++) {
        seam_alloc_fail_after(n);
        seam_ratelimit *rl = seam_rl_new(&cfg);
        seam_alloc_fail_after(-1);
        assert_null(rl);
    }
    seam_ratelimit *rl = seam_rl_new(&cfg);
    assert_non_null(rl);
    seam_rl_free(rl);
    /* No keys at all: a limiter that admits everything. */
    cfg.auth.nkeys = 0;
    rl = seam_rl_new(&cfg);
    assert_non_null(rl);
    assert_int_equal(seam_rl_take_request(rl, 0, T0, NULL), SEAM_RL_OK);
    seam_rl_free(rl);
    seam_rl_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unit_ns),       cmocka_unit_test(test_requests_refill),
        cmocka_unit_test(test_odd_limit),     cmocka_unit_test(test_tokens_retry_after),
        cmocka_unit_test(test_too_large),     cmocka_unit_test(test_settle),
        cmocka_unit_test(test_gcra),          cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_alloc_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
