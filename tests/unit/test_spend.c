/*
 * Budget spend counters: UTC day and month boundaries, add and check
 * (spend >= limit is exhausted, a limit of 0 from the start), rollover with
 * explicit timestamps in place of a clock (a late add for a past day, a
 * clock a hair behind), concurrent adds across a boundary, and the start
 * values read back from a ledger file.
 */
#include "testutil.h"

#include "ledger/ledger.h"
#include "ledger/spend.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Milliseconds since the epoch of a UTC date and time (timegm is the
 * independent reference here; spend.c computes dates by arithmetic). */
static int64_t utc(int y, int mo, int d, int h, int mi, int s, int ms)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm(&tm) * 1000 + ms;
}

#define EPS 1e-9

/* A configuration holding only budgets (the rest is not read). */
typedef struct {
    seam_config cfg;
    seam_budget_conf b[3];
} budgets;

static void budgets_init(budgets *bs)
{
    memset(bs, 0, sizeof *bs);
    bs->b[0] = (seam_budget_conf){.tenant = "research",
                                  .usd_per_day = 1.0,
                                  .usd_per_month = 3.0,
                                  .on_exhausted = SEAM_BUDGET_LOCAL};
    bs->b[1] = (seam_budget_conf){.tenant = "finance",
                                  .usd_per_day = -1,
                                  .usd_per_month = 10.0,
                                  .on_exhausted = SEAM_BUDGET_REJECT};
    bs->b[2] = (seam_budget_conf){.tenant = "frozen",
                                  .usd_per_day = 0,
                                  .usd_per_month = -1,
                                  .on_exhausted = SEAM_BUDGET_REJECT};
    bs->cfg.budgets = bs->b;
    bs->cfg.nbudgets = 3;
}

static void test_period_starts(void **state)
{
    int64_t t = utc(2024, 2, 29, 13, 14, 15, 678);
    assert_int_equal(seam_spend_day_start_ms(t), utc(2024, 2, 29, 0, 0, 0, 0));
    assert_int_equal(seam_spend_month_start_ms(t), utc(2024, 2, 1, 0, 0, 0, 0));
    t = utc(2025, 12, 31, 23, 59, 59, 999);
    assert_int_equal(seam_spend_day_start_ms(t), utc(2025, 12, 31, 0, 0, 0, 0));
    assert_int_equal(seam_spend_month_start_ms(t), utc(2025, 12, 1, 0, 0, 0, 0));
    t = utc(2026, 1, 1, 0, 0, 0, 0);
    assert_int_equal(seam_spend_day_start_ms(t), t);
    assert_int_equal(seam_spend_month_start_ms(t), t);
    assert_int_equal(seam_spend_month_start_ms(0), 0);
    assert_int_equal(seam_spend_day_start_ms(-1), -86400000LL);
    /* Every day of several years against timegm. */
    for (int64_t d = utc(2023, 1, 1, 0, 0, 0, 0); d < utc(2029, 1, 1, 0, 0, 0, 0);
         d += 86400000LL) {
        time_t secs = (time_t)(d / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        int64_t noon = d + 12 * 3600000LL;
        assert_int_equal(seam_spend_day_start_ms(noon), d);
        assert_int_equal(seam_spend_month_start_ms(noon),
                         utc(tm.tm_year + 1900, tm.tm_mon + 1, 1, 0, 0, 0, 0));
    }
}

static void test_add_and_check(void **state)
{
    budgets bs;
    budgets_init(&bs);
    int64_t now = utc(2025, 3, 14, 12, 0, 0, 0);
    seam_spend *s = seam_spend__new_at(&bs.cfg, NULL, now);
    assert_non_null(s);
    double rd, rm;

    /* No budget: always OK, no limits. */
    assert_int_equal(seam_spend_check(s, "nobody", now, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(isinf(rd) && isinf(rm));
    assert_int_equal(seam_spend_check(s, NULL, now, &rd, &rm), SEAM_BUDGET_OK);
    assert_false(seam_spend_has_budget(s, "nobody"));
    assert_int_equal(seam_spend_action(s, "nobody"), SEAM_BUDGET_LOCAL);
    seam_spend_add(s, "nobody", 100, now); /* ignored */

    assert_true(seam_spend_has_budget(s, "research"));
    assert_int_equal(seam_spend_action(s, "research"), SEAM_BUDGET_LOCAL);
    assert_int_equal(seam_spend_action(s, "finance"), SEAM_BUDGET_REJECT);
    assert_int_equal(seam_spend_check(s, "research", now, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rd - 1.0) < EPS && fabs(rm - 3.0) < EPS);

    seam_spend_add(s, "research", 0.4, now);
    seam_spend_add(s, "research", -5, now);       /* ignored */
    seam_spend_add(s, "research", NAN, now);      /* ignored */
    seam_spend_add(s, "research", INFINITY, now); /* ignored */
    assert_int_equal(seam_spend_check(s, "research", now, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rd - 0.6) < EPS && fabs(rm - 2.6) < EPS);
    seam_spend_add(s, "research", 0.59999999, now);
    assert_int_equal(seam_spend_check(s, "research", now, NULL, NULL), SEAM_BUDGET_OK);
    seam_spend_add(s, "research", 0.00000001, now);
    /* Exactly at the limit is exhausted. */
    assert_int_equal(seam_spend_check(s, "research", now, &rd, &rm), SEAM_BUDGET_EXHAUSTED);
    assert_true(rd == 0 && fabs(rm - 2.0) < EPS);
    seam_spend_add(s, "research", 0.5, now); /* the overshoot of a request in flight */
    assert_int_equal(seam_spend_check(s, "research", now, &rd, NULL), SEAM_BUDGET_EXHAUSTED);
    assert_true(rd == 0);

    /* Month limit only. */
    seam_spend_add(s, "finance", 9.99, now);
    assert_int_equal(seam_spend_check(s, "finance", now, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(isinf(rd) && fabs(rm - 0.01) < EPS);
    seam_spend_add(s, "finance", 0.02, now);
    assert_int_equal(seam_spend_check(s, "finance", now, &rd, &rm), SEAM_BUDGET_EXHAUSTED);
    assert_true(rm == 0);

    /* A limit of 0 is exhausted before any spend. */
    assert_int_equal(seam_spend_check(s, "frozen", now, &rd, &rm), SEAM_BUDGET_EXHAUSTED);
    assert_true(rd == 0 && isinf(rm));

    /* Tiny costs add up exactly (1e-8 units): 1000 requests of one token
     * at 0.10 USD per million tokens. */
    int64_t later = utc(2025, 3, 20, 0, 0, 0, 0);
    for (int i = 0; i < 1000; i++)
        seam_spend_add(s, "research", 1e-7, later);
    seam_spend_check(s, "research", later, &rd, NULL);
    assert_true(fabs(rd - (1.0 - 1e-4)) < EPS);
    seam_spend_free(s);
    seam_spend_free(NULL);
}

static void test_day_rollover(void **state)
{
    budgets bs;
    budgets_init(&bs);
    int64_t last = utc(2025, 3, 14, 23, 59, 59, 999);
    int64_t first = utc(2025, 3, 15, 0, 0, 0, 0);
    seam_spend *s = seam_spend__new_at(&bs.cfg, NULL, utc(2025, 3, 14, 8, 0, 0, 0));
    double rd, rm;
    seam_spend_add(s, "research", 0.9, last);
    assert_int_equal(seam_spend_check(s, "research", last, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rd - 0.1) < EPS);
    /* A new day starts with the first add in it... */
    seam_spend_add(s, "research", 0.5, first);
    assert_int_equal(seam_spend_check(s, "research", first, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rd - 0.5) < EPS);
    assert_true(fabs(rm - (3.0 - 1.4)) < EPS);
    /* ...and a request of the day before that ends after it counts for
     * its own day (the ledger row says so too), not against today. */
    seam_spend_add(s, "research", 0.7, last);
    assert_int_equal(seam_spend_check(s, "research", first, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rd - 0.5) < EPS);
    assert_true(fabs(rm - (3.0 - 2.1)) < EPS); /* same month: it counts there */
    /* A check whose clock is a hair behind sees the new day's spend, not
     * an empty day. */
    seam_spend_check(s, "research", last, &rd, NULL);
    assert_true(fabs(rd - 0.5) < EPS);
    /* A day with no add yet reads as empty, without anyone rolling it. */
    int64_t next = utc(2025, 3, 16, 10, 0, 0, 0);
    assert_int_equal(seam_spend_check(s, "research", next, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rd - 1.0) < EPS);
    assert_true(fabs(rm - 0.9) < EPS);
    /* Day exhausted, then the next day is fresh. */
    seam_spend_add(s, "research", 0.85, next);
    assert_int_equal(seam_spend_check(s, "research", next, &rd, &rm), SEAM_BUDGET_OK);
    seam_spend_add(s, "research", 0.15, next);
    assert_int_equal(seam_spend_check(s, "research", next, &rd, &rm), SEAM_BUDGET_EXHAUSTED);
    /* The next day is fresh, but the month (3.1 of 3.0) is spent. */
    assert_int_equal(seam_spend_check(s, "research", next + 86400000LL, &rd, &rm),
                     SEAM_BUDGET_EXHAUSTED);
    assert_true(fabs(rd - 1.0) < EPS);
    assert_true(rm == 0);
    seam_spend_free(s);
}

static void test_month_rollover(void **state)
{
    budgets bs;
    budgets_init(&bs);
    int64_t last = utc(2025, 3, 31, 23, 59, 59, 999);
    int64_t first = utc(2025, 4, 1, 0, 0, 0, 0);
    seam_spend *s = seam_spend__new_at(&bs.cfg, NULL, utc(2025, 3, 31, 0, 0, 0, 0));
    double rd, rm;
    seam_spend_add(s, "finance", 10.0, last);
    assert_int_equal(seam_spend_check(s, "finance", last, &rd, &rm), SEAM_BUDGET_EXHAUSTED);
    assert_int_equal(seam_spend_check(s, "finance", first, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rm - 10.0) < EPS);
    seam_spend_add(s, "finance", 2.5, first);
    seam_spend_add(s, "finance", 4.0, last); /* March's, late */
    assert_int_equal(seam_spend_check(s, "finance", first, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rm - 7.5) < EPS);
    /* Year boundary. */
    seam_spend_add(s, "finance", 9.0, utc(2025, 12, 31, 23, 0, 0, 0));
    assert_int_equal(seam_spend_check(s, "finance", utc(2025, 12, 31, 23, 30, 0, 0), NULL, &rm),
                     SEAM_BUDGET_OK);
    assert_true(fabs(rm - 1.0) < EPS);
    assert_int_equal(seam_spend_check(s, "finance", utc(2026, 1, 1, 0, 0, 0, 0), NULL, &rm),
                     SEAM_BUDGET_OK);
    assert_true(fabs(rm - 10.0) < EPS);
    seam_spend_free(s);
}

/* ---- concurrent adds across a boundary ---- */

#define THREADS 4
#define ADDS    20000

typedef struct {
    seam_spend *s;
    int64_t before, after;
} add_arg;

/* Half the adds before midnight, half after, interleaved, 0.001 USD each. */
static void *adder(void *p)
{
    add_arg *a = p;
    for (int i = 0; i < ADDS; i++)
        seam_spend_add(a->s, "finance", 0.001, i % 2 ? a->after : a->before);
    return NULL;
}

static void test_concurrent_adds_across_midnight(void **state)
{
    budgets bs;
    budgets_init(&bs);
    bs.b[1].usd_per_day = 1000;
    bs.b[1].usd_per_month = 1000;
    /* A month boundary: the new day and the new month must each hold
     * exactly the adds stamped after it, whatever the interleaving. */
    add_arg a = {.before = utc(2025, 4, 30, 23, 59, 59, 999), .after = utc(2025, 5, 1, 0, 0, 0, 0)};
    a.s = seam_spend__new_at(&bs.cfg, NULL, a.before);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, adder, &a), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    double rd, rm;
    seam_spend_check(a.s, "finance", a.after, &rd, &rm);
    double expect = THREADS * (ADDS / 2) * 0.001;
    assert_true(fabs(1000 - rd - expect) < 1e-6);
    assert_true(fabs(1000 - rm - expect) < 1e-6);
    seam_spend_free(a.s);

    /* Same day: every add counts. */
    a.before = a.after = utc(2025, 5, 2, 12, 0, 0, 0);
    a.s = seam_spend__new_at(&bs.cfg, NULL, a.before);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, adder, &a), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    seam_spend_check(a.s, "finance", a.after, &rd, &rm);
    assert_true(fabs(1000 - rd - THREADS * ADDS * 0.001) < 1e-6);
    seam_spend_free(a.s);
}

/* ---- start values from the ledger ---- */

static void test_init_from_ledger(void **state)
{
    char dir[] = "/tmp/seam-spend-test-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/seam.db", dir);
    char err[512] = "";
    seam_ledger *l = seam_ledger_open(path, 0, err, sizeof err);
    assert_non_null(l);
    int64_t now = utc(2025, 3, 15, 12, 0, 0, 0);
    struct {
        const char *tenant, *location;
        int64_t ts;
        double cost;
    } rows[] = {
        {"research", "cloud", utc(2025, 3, 15, 0, 0, 0, 0), 0.25},     /* today */
        {"research", "cloud", utc(2025, 3, 15, 11, 0, 0, 0), 0.5},     /* today */
        {"research", "local", utc(2025, 3, 15, 11, 0, 0, 0), 7.0},     /* local: not counted */
        {"research", "cloud", utc(2025, 3, 14, 23, 59, 59, 999), 1.0}, /* this month */
        {"research", "cloud", utc(2025, 3, 1, 0, 0, 0, 0), 0.125},     /* this month */
        {"research", "cloud", utc(2025, 2, 28, 23, 59, 59, 999), 50},  /* last month */
        {"finance", "cloud", utc(2025, 3, 2, 0, 0, 0, 0), 4.0},
        {"other", "cloud", utc(2025, 3, 15, 1, 0, 0, 0), 99.0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char id[16];
        snprintf(id, sizeof id, "r%zu", i);
        seam_request_record r = {.id = id,
                                 .ts_ms = rows[i].ts,
                                 .tenant = rows[i].tenant,
                                 .location = rows[i].location,
                                 .cost_usd = rows[i].cost,
                                 .status = 200,
                                 .input_tokens = -1,
                                 .output_tokens = -1,
                                 .reasoning_tokens = -1,
                                 .cached_tokens = -1,
                                 .counterfactual_usd = -1,
                                 .ms_ttft = -1};
        seam_ledger_record(l, &r);
    }
    seam_ledger_close(l);

    /* As at startup: reopen, then read the spend back. */
    l = seam_ledger_open(path, 0, err, sizeof err);
    assert_non_null(l);
    budgets bs;
    budgets_init(&bs);
    seam_spend *s = seam_spend__new_at(&bs.cfg, l, now);
    assert_non_null(s);
    double rd, rm;
    assert_int_equal(seam_spend_check(s, "research", now, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rd - (1.0 - 0.75)) < EPS);
    assert_true(fabs(rm - (3.0 - 1.875)) < EPS);
    assert_int_equal(seam_spend_check(s, "finance", now, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rm - 6.0) < EPS);
    /* Spend continues from there. */
    seam_spend_add(s, "research", 0.25, now);
    assert_int_equal(seam_spend_check(s, "research", now, &rd, NULL), SEAM_BUDGET_EXHAUSTED);
    seam_spend_free(s);

    /* Without a ledger, all at zero; seam_spend_new uses the real clock. */
    s = seam_spend_new(&bs.cfg, NULL);
    assert_non_null(s);
    assert_int_equal(seam_spend_check(s, "research", now, &rd, &rm), SEAM_BUDGET_OK);
    assert_true(fabs(rd - 1.0) < EPS);
    seam_spend_free(s);
    /* No budgets at all. */
    seam_config empty = {0};
    s = seam_spend_new(&empty, l);
    assert_non_null(s);
    assert_int_equal(seam_spend_check(s, "research", now, &rd, &rm), SEAM_BUDGET_OK);
    seam_spend_free(s);
    seam_ledger_close(l);

    char p[192];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_starts),
        cmocka_unit_test(test_add_and_check),
        cmocka_unit_test(test_day_rollover),
        cmocka_unit_test(test_month_rollover),
        cmocka_unit_test(test_concurrent_adds_across_midnight),
        cmocka_unit_test(test_init_from_ledger),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
