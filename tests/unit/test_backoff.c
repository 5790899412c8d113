/*
 * Unit tests for src/upstream/backoff: the bounds and the spread of the
 * full-jitter schedule, Retry-After in both of its forms, and which
 * statuses are retried.
 */
#include "testutil.h"

#include "upstream/backoff.h"

#include <curl/curl.h>

static void schedule_stays_within_bounds(void **state)
{
    uint64_t rng = 42;
    for (unsigned attempt = 0; attempt < 80; attempt++) {
        uint64_t ceiling = attempt < 20 ? 100u << attempt : UINT64_MAX;
        if (ceiling > 30000)
            ceiling = 30000;
        uint64_t lo = UINT64_MAX, hi = 0;
        for (int i = 0; i < 2000; i++) {
            uint64_t ms = seam_backoff_ms(attempt, 100, 30000, &rng);
            assert_true(ms <= ceiling);
            lo = ms < lo ? ms : lo;
            hi = ms > hi ? ms : hi;
        }
        /* Full jitter: the draws reach both ends of [0, ceiling]. */
        assert_true(lo <= ceiling / 50);
        assert_true(hi >= ceiling - ceiling / 50);
    }
    /* Degenerate inputs: nothing to wait, and no overflow anywhere. */
    assert_int_equal(seam_backoff_ms(3, 0, 1000, &rng), 0);
    assert_int_equal(seam_backoff_ms(3, 100, 0, &rng), 0);
    assert_true(seam_backoff_ms(4000000000u, UINT64_MAX / 3, UINT64_MAX, &rng) <= UINT64_MAX);
    for (int i = 0; i < 100; i++)
        assert_true(seam_backoff_ms(70, 1, 1000, &rng) <= 1000);
}

/* The draws are uniform: ten equal buckets over [0, 1000] each get about a
 * tenth (chi-squared well under the 0.1% critical value for 10 buckets). */
static void schedule_is_uniform(void **state)
{
    uint64_t rng = 0; /* a zero seed is valid */
    enum { N = 100000, K = 10 };
    unsigned buckets[K] = {0};
    double sum = 0;
    for (int i = 0; i < N; i++) {
        uint64_t ms = seam_backoff_ms(10, 1, 999, &rng); /* ceiling 999: 1000 values */
        buckets[ms / 100]++;
        sum += (double)ms;
    }
    double chi = 0, expect = (double)N / K;
    for (int k = 0; k < K; k++)
        chi += (buckets[k] - expect) * (buckets[k] - expect) / expect;
    assert_true(chi < 27.9);
    double mean = sum / N;
    assert_true(mean > 489 && mean < 510);
}

static void rng_is_deterministic_per_seed(void **state)
{
    uint64_t a = 7, b = 7, c = 8;
    for (int i = 0; i < 10; i++) {
        uint64_t x = seam_rand_next(&a);
        assert_true(x == seam_rand_next(&b));
        (void)seam_rand_next(&c);
    }
    assert_true(a == b);
    assert_true(a != c);
}

static void retry_after_seconds(void **state)
{
    uint64_t ms = 12345;
    assert_true(seam_retry_after_ms("120", 0, &ms));
    assert_int_equal(ms, 120000);
    assert_true(seam_retry_after_ms("0", 0, &ms));
    assert_int_equal(ms, 0);
    assert_true(seam_retry_after_ms("  7\t", 0, &ms));
    assert_int_equal(ms, 7000);
    /* Capped at a day, even past any integer width. */
    assert_true(seam_retry_after_ms("99999999999999999999999999", 0, &ms));
    assert_int_equal(ms, SEAM_RETRY_AFTER_MAX_S * 1000ull);
    assert_true(seam_retry_after_ms("86401", 0, &ms));
    assert_int_equal(ms, SEAM_RETRY_AFTER_MAX_S * 1000ull);
    ms = 5;
    assert_false(seam_retry_after_ms(NULL, 0, &ms));
    assert_false(seam_retry_after_ms("", 0, &ms));
    assert_false(seam_retry_after_ms("   ", 0, &ms));
    assert_false(seam_retry_after_ms("1.5", 0, &ms));
    assert_false(seam_retry_after_ms("12abc", 0, &ms));
    assert_false(seam_retry_after_ms("-3", 0, &ms));
    assert_false(seam_retry_after_ms("soon", 0, &ms));
    assert_int_equal(ms, 5); /* untouched on failure */
}

static void retry_after_dates(void **state)
{
    /* Sun, 06 Nov 1994 08:49:37 GMT = 784111777, in all three forms of
     * RFC 9110 section 5.6.7. */
    const int64_t when = 784111777;
    uint64_t ms = 0;
    assert_true(seam_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", when - 30, &ms));
    assert_int_equal(ms, 30000);
    assert_true(seam_retry_after_ms("Sunday, 06-Nov-94 08:49:37 GMT", when - 2, &ms));
    assert_int_equal(ms, 2000);
    assert_true(seam_retry_after_ms("Sun Nov  6 08:49:37 1994", when - 1, &ms));
    assert_int_equal(ms, 1000);
    /* In the past: no wait. Far future: a day. */
    assert_true(seam_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", when + 100, &ms));
    assert_int_equal(ms, 0);
    assert_true(seam_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT", when - 10000000, &ms));
    assert_int_equal(ms, SEAM_RETRY_AFTER_MAX_S * 1000ull);
    /* Too long to be a date. */
    char big[200];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_false(seam_retry_after_ms(big, 0, &ms));
}

static void retryable_statuses(void **state)
{
    for (long s = 100; s < 600; s++)
        assert_int_equal(seam_retryable_status(s), s == 429 || s == 502 || s == 503 || s == 504);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(schedule_stays_within_bounds),
        cmocka_unit_test(schedule_is_uniform),
        cmocka_unit_test(rng_is_deterministic_per_seed),
        cmocka_unit_test(retry_after_seconds),
        cmocka_unit_test(retry_after_dates),
        cmocka_unit_test(retryable_statuses),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
