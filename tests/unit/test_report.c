/*
 * `seam report` (ledger/report.h) on a small ledger built here with the
 * ledger's schema: every number of every group, for each --by, checked
 * against sums worked out by hand in this file; the fixed-cost view of
 * hardware and its sharing by tokens; effective price and break-even; the
 * window; the JSON, CSV and table writers; the command line.
 */
#include "testutil.h"

#include "ledger/report.h"
#include "obs/cost.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define EPS 1e-9

#define assert_near(a, b) assert_near_at((a), (b), #a, __FILE__, __LINE__)

static void assert_near_at(double got, double want, const char *what, const char *file, int line)
{
    if (fabs(got - want) > EPS * (1 + fabs(want))) {
        print_error("%s:%d: %s = %.15g, want %.15g\n", file, line, what, got, want);
        fail();
    }
}

/* ---- the ledger ---- */

/* The schema exactly as the ledger writer creates it (issue 6). */
static const char DDL[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "INSERT INTO meta VALUES('schema_version', '1');"
    "CREATE TABLE requests("
    " id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, tenant TEXT, key_name TEXT,"
    " ingress TEXT, kind TEXT, declared TEXT, sensitivity TEXT, detected TEXT,"
    " rule TEXT, reason TEXT, pool TEXT, backend TEXT, location TEXT, model TEXT,"
    " attempts INTEGER, fallback_from TEXT, status INTEGER, error TEXT, stream INTEGER,"
    " input_tokens INTEGER, output_tokens INTEGER, reasoning_tokens INTEGER,"
    " cached_tokens INTEGER, cost_usd REAL, counterfactual_usd REAL,"
    " ms_total REAL, ms_ttft REAL, ms_gateway REAL);"
    "CREATE INDEX requests_ts ON requests(ts_ms);"
    "CREATE INDEX requests_tenant_ts ON requests(tenant, ts_ms);";

#define UNK  (-1) /* unknown count: NULL in the ledger */
#define NONE NAN  /* no counterfactual: NULL */

typedef struct row {
    const char *id;
    int64_t ts_ms;
    const char *tenant, *rule, *backend, *location;
    int status;
    const char *error;
    int64_t in, out, cached;
    double cost, cf;
} row;

/* 2025-06-01T00:00:00Z */
#define T0 1748736000000LL
#define H  3600000LL

/* Prices (USD per million tokens) of "frontier", the reference:
 * input 1.25, output 10, cached input 0.125. */
static double at_frontier(double in, double out, double cached)
{
    return ((in - cached) * 1.25 + cached * 0.125 + out * 10.0) / 1e6;
}

/* The window [T0, T0 + 48 h) holds r1..r6 and r9; r7, r8, r10 are outside. */
static const row ROWS[] = {
    /* cloud, 200 of 1000 input cached: 800 x 1.25 + 200 x 0.125 + 500 x 10 = 6025 */
    {"r1", T0 + 1 * H, "finance", "r-cloud", "frontier", "cloud", 200, NULL, 1000, 500, 200,
     0.006025, 0.006025},
    /* hardware: the ledger's 0.5 is the per-request upper bound, ignored */
    {"r2", T0 + 2 * H, "finance", "r-local", "gemma", "local", 200, NULL, 2000, 1000, UNK, 0.5,
     0.0125},
    /* no counterfactual in the ledger: priced at the reference, 3000 x 1.25 + 1000 x 10 */
    {"r3", T0 + 25 * H, "research", "r-local", "gemma", "local", 200, NULL, 3000, 1000, UNK, 0.7,
     NONE},
    /* rejected before routing: no backend, no tokens */
    {"r4", T0 + 26 * H, NULL, NULL, NULL, NULL, 400, "invalid_request", UNK, UNK, UNK, 0, NONE},
    /* an upstream failure with input counted, output unknown: 100 x 1.25 */
    {"r5", T0 + 27 * H, "research", "r-cloud", "frontier", "cloud", 502, "upstream", 100, UNK, UNK,
     0.000125, 0.000125},
    /* a local backend with neither price nor hardware: free; 400 x 1.25 + 100 x 10 */
    {"r6", T0 + 30 * H, "research", "r-local", "mini", "local", 200, NULL, 400, 100, 0, 0, 0.0015},
    /* before the window: its backend's first row (break-even counts from it) */
    {"r7", T0 - 24 * H, "finance", "r-local", "gemma", "local", 200, NULL, 10, 10, UNK, 0.1,
     0.0001125},
    /* at the window's end: excluded (until is exclusive) */
    {"r8", T0 + 48 * H, "finance", "r-cloud", "frontier", "cloud", 200, NULL, 5, 5, 0, 0.00005625,
     0.00005625},
    /* box2: 100000 x 1.25 + 100000 x 10 = 1125000 -> 1.125 */
    {"r9", T0 + 3 * H, "finance", "r-local", "box2", "local", 200, NULL, 100000, 100000, 0, 0.02,
     1.125},
    /* box2's first row, two days before the window */
    {"r10", T0 - 48 * H, "finance", "r-local", "box2", "local", 200, NULL, 0, 0, 0, 0, 0},
};
#define NROWS (sizeof ROWS / sizeof ROWS[0])

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_count(sqlite3_stmt *st, int i, int64_t n)
{
    if (n >= 0)
        sqlite3_bind_int64(st, i, n);
    else
        sqlite3_bind_null(st, i);
}

static char *make_ledger(const row *rows, size_t n)
{
    char *path = strdup("/tmp/h9-report-test-XXXXXX.db");
    int fd = mkstemps(path, 3);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, DDL, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "INSERT INTO requests(id, ts_ms, tenant, rule, backend, location,"
                           " status, error, input_tokens, output_tokens, cached_tokens, cost_usd,"
                           " counterfactual_usd, ms_total, ingress, kind, stream)"
                           " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,1234.5,'openai',"
                           "'chat',0)",
                           -1, &st, NULL),
        SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        sqlite3_reset(st);
        bind_text(st, 1, r->id);
        sqlite3_bind_int64(st, 2, r->ts_ms);
        bind_text(st, 3, r->tenant);
        bind_text(st, 4, r->rule);
        bind_text(st, 5, r->backend);
        bind_text(st, 6, r->location);
        sqlite3_bind_int(st, 7, r->status);
        bind_text(st, 8, r->error);
        bind_count(st, 9, r->in);
        bind_count(st, 10, r->out);
        bind_count(st, 11, r->cached);
        sqlite3_bind_double(st, 12, r->cost);
        if (isnan(r->cf))
            sqlite3_bind_null(st, 13);
        else
            sqlite3_bind_double(st, 13, r->cf);
        assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return path;
}

static void drop_ledger(char *path)
{
    char p[512];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
    free(path);
}

/* ---- the configuration ---- */

enum { B_FRONTIER, B_GEMMA, B_MINI, B_BOX2, B_IDLE, NB };

static seam_backend_conf backends[NB];
static seam_config cfg;

static void make_config(void)
{
    memset(backends, 0, sizeof backends);
    memset(&cfg, 0, sizeof cfg);
    static char *names[NB] = {"frontier", "gemma", "mini", "box2", "idle"};
    for (size_t i = 0; i < NB; i++) {
        backends[i].index = i;
        backends[i].name = names[i];
        backends[i].location = i == B_FRONTIER ? SEAM_LOC_CLOUD : SEAM_LOC_LOCAL;
    }
    backends[B_FRONTIER].price = (seam_price){.set = true,
                                              .input_per_mtok = 1.25,
                                              .output_per_mtok = 10.0,
                                              .has_cached = true,
                                              .cached_input_per_mtok = 0.125};
    backends[B_GEMMA].hardware = (seam_hardware){
        .set = true, .capex_usd = 6000, .amortize_months = 36, .watts = 350, .usd_per_kwh = 0.15};
    backends[B_BOX2].hardware = (seam_hardware){
        .set = true, .capex_usd = 100, .amortize_months = 12, .watts = 0, .usd_per_kwh = 0};
    backends[B_IDLE].hardware = (seam_hardware){
        .set = true, .capex_usd = 1000, .amortize_months = 10, .watts = 100, .usd_per_kwh = 0.1};
    cfg.backends = backends;
    cfg.nbackends = NB;
    cfg.report.has_reference = true;
    cfg.report.reference_backend = B_FRONTIER;
}

/* Hourly costs by hand: capex / (months x 730) + kW x $/kWh. */
#define HOURLY_GEMMA (6000.0 / (36 * 730) + 0.35 * 0.15)
#define HOURLY_BOX2  (100.0 / (12 * 730))
#define HOURLY_IDLE  (1000.0 / (10 * 730) + 0.1 * 0.1)
#define HOURS        48.0
#define FIXED_GEMMA  (HOURLY_GEMMA * HOURS)
#define FIXED_BOX2   (HOURLY_BOX2 * HOURS)
#define FIXED_IDLE   (HOURLY_IDLE * HOURS)
/* gemma served 3000 tokens for finance (r2) and 4000 for research (r3). */
#define GEMMA_TOKENS 7000.0

/* The counterfactual of each row in the window (r3 from the reference). */
#define CF1 0.006025
#define CF2 0.0125
#define CF3 0.01375 /* 3000 x 1.25 + 1000 x 10, priced by the report */
#define CF5 0.000125
#define CF6 0.0015
#define CF9 1.125

typedef struct expect {
    const char *name;
    uint64_t requests, errors, in, out, local_requests, local_tokens;
    double cloud, local, cf;
} expect;

static void check_group(const seam_report_group *g, const expect *e)
{
    assert_string_equal(g->name, e->name);
    assert_int_equal(g->requests, e->requests);
    assert_int_equal(g->errors, e->errors);
    assert_int_equal(g->input_tokens, e->in);
    assert_int_equal(g->output_tokens, e->out);
    assert_int_equal(g->local_requests, e->local_requests);
    assert_int_equal(g->local_tokens, e->local_tokens);
    assert_near(g->cloud_cost_usd, e->cloud);
    assert_near(g->local_cost_usd, e->local);
    assert_near(g->counterfactual_usd, e->cf);
    assert_near(g->cost_usd, e->cloud + e->local);
    assert_near(g->savings_usd, e->cf - e->cloud - e->local);
    assert_near(g->local_share_requests,
                e->requests ? (double)e->local_requests / (double)e->requests : 0);
    assert_near(g->local_share_tokens,
                e->in + e->out ? (double)e->local_tokens / (double)(e->in + e->out) : 0);
}

/* The total is the same whatever the grouping, except where the idle
 * backend's fixed cost sits (its own row by backend, unallocated else). */
static const expect TOTAL = {"TOTAL",
                             7,
                             2,
                             1000 + 2000 + 3000 + 100 + 400 + 100000,
                             500 + 1000 + 1000 + 100 + 100000,
                             4,
                             3000 + 4000 + 500 + 200000,
                             0.006025 + 0.000125,
                             FIXED_GEMMA + FIXED_BOX2 + FIXED_IDLE,
                             CF1 + CF2 + CF3 + CF5 + CF6 + CF9};

static seam_report build_report(seam_report_by by)
{
    return (seam_report){.by = by};
}

static void run(const char *db, seam_report_by by, seam_report *r)
{
    seam_report_query q;
    seam_report_query_init(&q);
    q.since_ms = T0;
    q.until_ms = T0 + 48 * H;
    q.by = by;
    char err[256] = "";
    *r = build_report(by);
    seam_rc rc = seam_report_build(&cfg, db, &q, r, err, sizeof err);
    if (rc != SEAM_OK)
        print_error("report: %s\n", err);
    assert_int_equal(rc, SEAM_OK);
    assert_int_equal(r->since_ms, T0);
    assert_int_equal(r->until_ms, T0 + 48 * H);
    assert_near(r->hours, HOURS);
    assert_string_equal(r->reference, "frontier");
}

static void check_hardware(const seam_report *r)
{
    assert_int_equal(r->nhw, 3); /* gemma, box2, idle in config order; not mini */
    const seam_report_hardware *g = &r->hw[0], *b = &r->hw[1], *i = &r->hw[2];
    assert_string_equal(g->backend, "gemma");
    assert_string_equal(b->backend, "box2");
    assert_string_equal(i->backend, "idle");

    assert_near(g->hourly_usd, HOURLY_GEMMA);
    assert_near(g->energy_hourly_usd, 0.0525);
    assert_near(g->fixed_cost_usd, FIXED_GEMMA);
    assert_near(g->energy_cost_usd, 0.0525 * 48);
    assert_int_equal(g->requests, 2);
    assert_int_equal(g->tokens, 7000);
    assert_true(g->has_effective);
    assert_near(g->effective_usd_per_mtok, FIXED_GEMMA / 7000 * 1e6);
    assert_near(g->counterfactual_usd, CF2 + CF3);
    /* (0.02625 - 2.52) / 2 days < 0: never at this volume */
    assert_near(g->daily_savings_usd, (CF2 + CF3 - 0.0525 * 48) / 2);
    assert_true(g->has_first);
    assert_int_equal(g->first_ms, T0 - 24 * H);
    assert_false(g->breaks_even);

    /* box2: no energy; saves 1.125 over 2 days = 0.5625 a day, so its $100
     * capex is paid back 177.78 days after its first row (T0 - 48 h). */
    assert_near(b->hourly_usd, HOURLY_BOX2);
    assert_near(b->fixed_cost_usd, FIXED_BOX2);
    assert_near(b->energy_cost_usd, 0);
    assert_int_equal(b->tokens, 200000);
    assert_near(b->effective_usd_per_mtok, FIXED_BOX2 / 200000 * 1e6);
    assert_near(b->daily_savings_usd, 0.5625);
    assert_true(b->breaks_even);
    assert_int_equal(b->first_ms, T0 - 48 * H);
    assert_near(b->break_even_ms, (double)(T0 - 48 * H) + 100.0 / 0.5625 * 86400000.0);

    /* idle: no rows at all */
    assert_near(i->fixed_cost_usd, FIXED_IDLE);
    assert_int_equal(i->requests, 0);
    assert_int_equal(i->tokens, 0);
    assert_false(i->has_effective);
    assert_false(i->has_first);
    assert_false(i->breaks_even);
}

static char *db_path;

static int setup(void **state)
{
    (void)state;
    make_config();
    db_path = make_ledger(ROWS, NROWS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    drop_ledger(db_path);
    return 0;
}

static void test_by_tenant(void **state)
{
    (void)state;
    seam_report r;
    run(db_path, SEAM_REPORT_BY_TENANT, &r);
    assert_int_equal(r.ngroups, 3);
    const expect e[] = {
        {"(anonymous)", 1, 1, 0, 0, 0, 0, 0, 0, 0},
        /* finance: r1, r2, r9 */
        {"finance", 3, 0, 1000 + 2000 + 100000, 500 + 1000 + 100000, 2, 3000 + 200000, 0.006025,
         FIXED_GEMMA * 3000 / GEMMA_TOKENS + FIXED_BOX2, CF1 + CF2 + CF9},
        /* research: r3, r5 (an error), r6 (free local) */
        {"research", 3, 1, 3000 + 100 + 400, 1000 + 0 + 100, 2, 4000 + 500, 0.000125,
         FIXED_GEMMA * 4000 / GEMMA_TOKENS, CF3 + CF5 + CF6},
    };
    for (size_t i = 0; i < 3; i++)
        check_group(&r.groups[i], &e[i]);
    assert_near(r.unallocated_usd, FIXED_IDLE);
    check_group(&r.total, &TOTAL);
    check_hardware(&r);
    seam_report_free(&r);
}

static void test_by_backend(void **state)
{
    (void)state;
    seam_report r;
    run(db_path, SEAM_REPORT_BY_BACKEND, &r);
    assert_int_equal(r.ngroups, 6);
    const expect e[] = {
        {"(none)", 1, 1, 0, 0, 0, 0, 0, 0, 0},
        {"box2", 1, 0, 100000, 100000, 1, 200000, 0, FIXED_BOX2, CF9},
        {"frontier", 2, 1, 1100, 500, 0, 0, 0.006025 + 0.000125, 0, CF1 + CF5},
        {"gemma", 2, 0, 5000, 2000, 2, 7000, 0, FIXED_GEMMA, CF2 + CF3},
        /* idle hardware is its own row, with its whole fixed cost */
        {"idle", 0, 0, 0, 0, 0, 0, 0, FIXED_IDLE, 0},
        {"mini", 1, 0, 400, 100, 1, 500, 0, 0, CF6},
    };
    for (size_t i = 0; i < 6; i++)
        check_group(&r.groups[i], &e[i]);
    assert_near(r.unallocated_usd, 0);
    check_group(&r.total, &TOTAL);
    check_hardware(&r);
    seam_report_free(&r);
}

static void test_by_rule(void **state)
{
    (void)state;
    seam_report r;
    run(db_path, SEAM_REPORT_BY_RULE, &r);
    assert_int_equal(r.ngroups, 3);
    const expect e[] = {
        {"(none)", 1, 1, 0, 0, 0, 0, 0, 0, 0},
        {"r-cloud", 2, 1, 1100, 500, 0, 0, 0.006025 + 0.000125, 0, CF1 + CF5},
        /* r2, r3, r6, r9 */
        {"r-local", 4, 0, 2000 + 3000 + 400 + 100000, 1000 + 1000 + 100 + 100000, 4,
         3000 + 4000 + 500 + 200000, 0, FIXED_GEMMA + FIXED_BOX2, CF2 + CF3 + CF6 + CF9},
    };
    for (size_t i = 0; i < 3; i++)
        check_group(&r.groups[i], &e[i]);
    assert_near(r.unallocated_usd, FIXED_IDLE);
    check_group(&r.total, &TOTAL);
    seam_report_free(&r);
}

static void test_by_day(void **state)
{
    (void)state;
    seam_report r;
    run(db_path, SEAM_REPORT_BY_DAY, &r);
    assert_int_equal(r.ngroups, 2);
    const expect e[] = {
        /* r1, r2, r9 */
        {"2025-06-01", 3, 0, 103000, 101500, 2, 203000, 0.006025,
         FIXED_GEMMA * 3000 / GEMMA_TOKENS + FIXED_BOX2, CF1 + CF2 + CF9},
        /* r3, r4, r5, r6 */
        {"2025-06-02", 4, 2, 3500, 1100, 2, 4500, 0.000125, FIXED_GEMMA * 4000 / GEMMA_TOKENS,
         CF3 + CF5 + CF6},
    };
    for (size_t i = 0; i < 2; i++)
        check_group(&r.groups[i], &e[i]);
    check_group(&r.total, &TOTAL);
    seam_report_free(&r);
}

/* ---- writers ---- */

static char *render(const seam_report *r, seam_report_format f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    assert_int_equal(seam_report_write(r, f, out), 0);
    fclose(out);
    return buf;
}

static void check_json_group(json_t *o, const seam_report_group *g)
{
    assert_string_equal(json_string_value(json_object_get(o, "name")), g->name);
    assert_int_equal(json_integer_value(json_object_get(o, "requests")), g->requests);
    assert_int_equal(json_integer_value(json_object_get(o, "errors")), g->errors);
    assert_int_equal(json_integer_value(json_object_get(o, "input_tokens")), g->input_tokens);
    assert_int_equal(json_integer_value(json_object_get(o, "output_tokens")), g->output_tokens);
    assert_int_equal(json_integer_value(json_object_get(o, "local_requests")), g->local_requests);
    assert_int_equal(json_integer_value(json_object_get(o, "local_tokens")), g->local_tokens);
    assert_near(json_number_value(json_object_get(o, "local_share_requests")),
                g->local_share_requests);
    assert_near(json_number_value(json_object_get(o, "local_share_tokens")), g->local_share_tokens);
    assert_near(json_number_value(json_object_get(o, "cloud_cost_usd")), g->cloud_cost_usd);
    assert_near(json_number_value(json_object_get(o, "local_cost_usd")), g->local_cost_usd);
    assert_near(json_number_value(json_object_get(o, "cost_usd")), g->cost_usd);
    assert_near(json_number_value(json_object_get(o, "counterfactual_usd")), g->counterfactual_usd);
    assert_near(json_number_value(json_object_get(o, "savings_usd")), g->savings_usd);
}

static void test_json(void **state)
{
    (void)state;
    for (int by = SEAM_REPORT_BY_BACKEND; by <= SEAM_REPORT_BY_DAY; by++) {
        seam_report r;
        run(db_path, (seam_report_by)by, &r);
        char *s = render(&r, SEAM_REPORT_JSON);
        json_error_t je;
        json_t *doc = json_loads(s, 0, &je);
        if (!doc)
            print_error("bad JSON: %s\n%s\n", je.text, s);
        assert_non_null(doc);
        assert_string_equal(json_string_value(json_object_get(doc, "by")),
                            seam_report_by_name((seam_report_by)by));
        json_t *w = json_object_get(doc, "window");
        assert_string_equal(json_string_value(json_object_get(w, "since")),
                            "2025-06-01T00:00:00.000Z");
        assert_string_equal(json_string_value(json_object_get(w, "until")),
                            "2025-06-03T00:00:00.000Z");
        assert_int_equal(json_integer_value(json_object_get(w, "since_ms")), T0);
        assert_near(json_number_value(json_object_get(w, "hours")), 48);
        assert_string_equal(json_string_value(json_object_get(doc, "reference_backend")),
                            "frontier");
        json_t *groups = json_object_get(doc, "groups");
        assert_int_equal(json_array_size(groups), r.ngroups);
        for (size_t i = 0; i < r.ngroups; i++)
            check_json_group(json_array_get(groups, i), &r.groups[i]);
        json_t *total = json_object_get(doc, "total");
        check_json_group(total, &r.total);
        assert_near(json_number_value(json_object_get(total, "unallocated_usd")),
                    r.unallocated_usd);
        json_t *hw = json_object_get(doc, "hardware");
        assert_int_equal(json_array_size(hw), 3);
        json_t *g = json_array_get(hw, 0), *b = json_array_get(hw, 1),
               *idle = json_array_get(hw, 2);
        assert_string_equal(json_string_value(json_object_get(g, "backend")), "gemma");
        assert_near(json_number_value(json_object_get(g, "hourly_usd")), HOURLY_GEMMA);
        assert_near(json_number_value(json_object_get(g, "fixed_cost_usd")), FIXED_GEMMA);
        assert_near(json_number_value(json_object_get(g, "effective_usd_per_mtok")),
                    FIXED_GEMMA / 7000 * 1e6);
        assert_int_equal(json_integer_value(json_object_get(g, "tokens")), 7000);
        assert_true(json_is_null(json_object_get(g, "break_even")));
        assert_string_equal(json_string_value(json_object_get(g, "break_even_note")),
                            "never at this volume");
        assert_string_equal(json_string_value(json_object_get(g, "first_row")),
                            "2025-05-31T00:00:00.000Z");
        /* box2: 2025-05-30 + 177.78 days = 2025-11-23 (18:40 UTC) */
        assert_string_equal(json_string_value(json_object_get(b, "break_even")), "2025-11-23");
        assert_string_equal(json_string_value(json_object_get(b, "break_even_at")),
                            "2025-11-23T18:40:00.000Z");
        assert_near(json_number_value(json_object_get(b, "daily_savings_usd")), 0.5625);
        assert_true(json_is_null(json_object_get(b, "break_even_note")));
        assert_true(json_is_null(json_object_get(idle, "effective_usd_per_mtok")));
        assert_true(json_is_null(json_object_get(idle, "first_row")));
        json_decref(doc);
        free(s);
        seam_report_free(&r);
    }
}

/* Splits one CSV line (no quoted commas in this data) into <f>. */
static size_t csv_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *c = strchr(p, ',');
        if (!c)
            break;
        *c = '\0';
        p = c + 1;
    }
    return n;
}

static void test_csv(void **state)
{
    (void)state;
    for (int by = SEAM_REPORT_BY_BACKEND; by <= SEAM_REPORT_BY_DAY; by++) {
        seam_report r;
        run(db_path, (seam_report_by)by, &r);
        char *s = render(&r, SEAM_REPORT_CSV);
        char *save = NULL, *line = strtok_r(s, "\n", &save);
        assert_string_equal(line,
                            "kind,name,requests,errors,input_tokens,output_tokens,local_requests,"
                            "local_tokens,local_share_requests,local_share_tokens,cloud_cost_usd,"
                            "local_cost_usd,cost_usd,counterfactual_usd,savings_usd,hourly_usd,"
                            "fixed_cost_usd,energy_cost_usd,tokens,effective_usd_per_mtok,"
                            "daily_savings_usd,break_even");
        size_t groups = 0, totals = 0, hws = 0;
        while ((line = strtok_r(NULL, "\n", &save))) {
            char *f[32];
            assert_int_equal(csv_split(line, f, 32), 22);
            const seam_report_group *g = NULL;
            if (!strcmp(f[0], "group"))
                g = &r.groups[groups++];
            else if (!strcmp(f[0], "total"))
                g = &r.total, totals++;
            if (g) {
                assert_string_equal(f[1], g->name);
                assert_int_equal(strtoull(f[2], NULL, 10), g->requests);
                assert_int_equal(strtoull(f[3], NULL, 10), g->errors);
                assert_int_equal(strtoull(f[4], NULL, 10), g->input_tokens);
                assert_int_equal(strtoull(f[5], NULL, 10), g->output_tokens);
                assert_int_equal(strtoull(f[6], NULL, 10), g->local_requests);
                assert_int_equal(strtoull(f[7], NULL, 10), g->local_tokens);
                assert_near(strtod(f[8], NULL), g->local_share_requests);
                assert_near(strtod(f[9], NULL), g->local_share_tokens);
                assert_near(strtod(f[10], NULL), g->cloud_cost_usd);
                assert_near(strtod(f[11], NULL), g->local_cost_usd);
                assert_near(strtod(f[12], NULL), g->cost_usd);
                assert_near(strtod(f[13], NULL), g->counterfactual_usd);
                assert_near(strtod(f[14], NULL), g->savings_usd);
                assert_string_equal(f[15], "");
            } else {
                assert_string_equal(f[0], "hardware");
                const seam_report_hardware *h = &r.hw[hws++];
                assert_string_equal(f[1], h->backend);
                assert_int_equal(strtoull(f[2], NULL, 10), h->requests);
                assert_near(strtod(f[13], NULL), h->counterfactual_usd);
                assert_near(strtod(f[15], NULL), h->hourly_usd);
                assert_near(strtod(f[16], NULL), h->fixed_cost_usd);
                assert_near(strtod(f[17], NULL), h->energy_cost_usd);
                assert_int_equal(strtoull(f[18], NULL, 10), h->tokens);
                if (h->has_effective)
                    assert_near(strtod(f[19], NULL), h->effective_usd_per_mtok);
                else
                    assert_string_equal(f[19], "");
                assert_near(strtod(f[20], NULL), h->daily_savings_usd);
                assert_string_equal(f[21], h == &r.hw[1] ? "2025-11-23" : "never at this volume");
            }
        }
        assert_int_equal(groups, r.ngroups);
        assert_int_equal(totals, 1);
        assert_int_equal(hws, 3);
        free(s);
        seam_report_free(&r);
    }
}

static void test_table(void **state)
{
    (void)state;
    seam_report r;
    run(db_path, SEAM_REPORT_BY_TENANT, &r);
    char *s = render(&r, SEAM_REPORT_TABLE);
    if (getenv("H9_SHOW"))
        fputs(s, stderr);
    assert_non_null(strstr(s, "2025-06-01T00:00:00.000Z .. 2025-06-03T00:00:00.000Z  (48.00 h), "
                              "by tenant"));
    assert_non_null(strstr(s, "every request at frontier's prices"));
    /* Every line of the group table is equally wide: columns align. */
    char *copy = strdup(s), *save = NULL;
    /* Only the group table: the hardware table below has its own widths. */
    char *hw = strstr(copy, "\nlocal hardware");
    assert_non_null(hw);
    *hw = '\0';
    size_t width = 0, lines = 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (strncmp(l, "TENANT", 6) && strncmp(l, "finance", 7) && strncmp(l, "research", 8) &&
            strncmp(l, "(anonymous)", 11) && strncmp(l, "TOTAL ", 6) && strncmp(l, "---", 3))
            continue;
        if (!width)
            width = strlen(l);
        assert_int_equal(strlen(l), width);
        lines++;
    }
    assert_int_equal(lines, 1 + 1 + 3 + 1 + 1); /* header, rule, 3 groups, rule, total */
    free(copy);
    /* The total row: 7 requests, 2 errors, 106500 in, 102600 out, 4 of 7 local. */
    assert_non_null(strstr(s, "TOTAL "));
    char *t = strstr(s, "TOTAL ");
    char name[16], share_r[16], share_t[16];
    unsigned long req, errs, in, out;
    assert_int_equal(
        sscanf(t, "%15s %lu %lu %lu %lu %15s %15s", name, &req, &errs, &in, &out, share_r, share_t),
        7);
    assert_int_equal(req, 7);
    assert_int_equal(errs, 2);
    assert_int_equal(in, 106500);
    assert_int_equal(out, 102600);
    assert_string_equal(share_r, "57.1%");
    /* 207500 / 209100 */
    assert_string_equal(share_t, "99.2%");
    /* The fixed-cost view is named, the idle cost explained, break-even shown. */
    assert_non_null(strstr(s, "fixed-cost view"));
    assert_non_null(strstr(s, "idle hours"));
    assert_non_null(strstr(s, "served no tokens"));
    assert_non_null(strstr(s, "never at this volume"));
    assert_non_null(strstr(s, "2025-11-23"));
    free(s);
    seam_report_free(&r);
}

/* ---- window and errors ---- */

static void test_window_defaults(void **state)
{
    (void)state;
    seam_report_query q;
    seam_report_query_init(&q);
    q.now_ms = T0 + 72 * H;
    seam_report r;
    char err[256];
    assert_int_equal(seam_report_build(&cfg, db_path, &q, &r, err, sizeof err), SEAM_OK);
    /* From the first row (r10, T0 - 48 h) to now: 120 hours, every row. */
    assert_int_equal(r.since_ms, T0 - 48 * H);
    assert_int_equal(r.until_ms, T0 + 72 * H);
    assert_near(r.hours, 120);
    assert_int_equal(r.total.requests, NROWS);
    assert_near(r.hw[0].fixed_cost_usd, HOURLY_GEMMA * 120);
    seam_report_free(&r);

    /* Only --until, before the first row: an empty, zero-hour window. */
    seam_report_query_init(&q);
    q.until_ms = T0 - 72 * H;
    assert_int_equal(seam_report_build(&cfg, db_path, &q, &r, err, sizeof err), SEAM_OK);
    assert_int_equal(r.total.requests, 0);
    assert_near(r.hours, 0);
    assert_near(r.total.local_cost_usd, 0);
    assert_false(r.hw[1].breaks_even);
    seam_report_free(&r);

    /* Without a configuration: no hardware, no fallback counterfactual, the
     * ledger's costs as they are (including the per-request upper bound). */
    seam_report_query_init(&q);
    q.since_ms = T0;
    q.until_ms = T0 + 48 * H;
    q.by = SEAM_REPORT_BY_TENANT;
    assert_int_equal(seam_report_build(NULL, db_path, &q, &r, err, sizeof err), SEAM_OK);
    assert_int_equal(r.nhw, 0);
    assert_null(r.reference);
    assert_near(r.total.counterfactual_usd, CF1 + CF2 + CF5 + CF6 + CF9);
    assert_near(r.total.local_cost_usd, 0.5 + 0.7 + 0 + 0.02);
    assert_near(r.total.cloud_cost_usd, 0.006025 + 0.000125);
    seam_report_free(&r);
}

static void test_errors(void **state)
{
    (void)state;
    seam_report_query q;
    seam_report_query_init(&q);
    seam_report r;
    char err[256] = "";
    assert_int_equal(seam_report_build(&cfg, "/tmp/h9-no-such-dir/x.db", &q, &r, err, sizeof err),
                     SEAM_ERR_IO);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(r.ngroups, 0);

    /* A SQLite file that is not a ledger. */
    char path[] = "/tmp/h9-report-empty-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE other(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(seam_report_build(&cfg, path, &q, &r, err, sizeof err), SEAM_ERR_IO);
    assert_non_null(strstr(err, "not a seam ledger"));
    q.since_ms = T0;
    assert_int_equal(seam_report_build(&cfg, path, &q, &r, err, sizeof err), SEAM_ERR_IO);
    unlink(path);

    /* An empty window. */
    seam_report_query_init(&q);
    q.since_ms = T0 + 10 * H;
    q.until_ms = T0;
    assert_int_equal(seam_report_build(&cfg, db_path, &q, &r, err, sizeof err), SEAM_ERR_INVALID);
}

/* ---- the command line ---- */

static int cli(char *out, size_t n, char *errbuf, size_t en, int argc, char **argv)
{
    FILE *o = fmemopen(out, n, "w"), *e = fmemopen(errbuf, en, "w");
    memset(out, 0, n);
    memset(errbuf, 0, en);
    int rc = seam_report_cli(argc, argv, o, e);
    fclose(o);
    fclose(e);
    return rc;
}

static void test_cli(void **state)
{
    (void)state;
    static char out[65536], errbuf[4096];
    char yaml_path[] = "/tmp/h9-report-cfg-XXXXXX.yaml";
    int fd = mkstemps(yaml_path, 5);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f,
            "listen: 127.0.0.1:0\n"
            "backends:\n"
            "  - { name: frontier, provider: openai, url: 'https://api.example.com', location: "
            "cloud, models: [m],\n"
            "      price: { input_per_mtok: 1.25, output_per_mtok: 10.0, cached_input_per_mtok: "
            "0.125 } }\n"
            "  - { name: gemma, provider: openai, url: 'http://127.0.0.1:1', location: local, "
            "models: [g],\n"
            "      hardware: { capex_usd: 6000, amortize_months: 36, watts: 350, usd_per_kwh: "
            "0.15 } }\n"
            "pools: { local: [gemma], cloud: [frontier] }\n"
            "policy: { default: local }\n"
            "state: { sqlite: '%s' }\n"
            "report: { reference_backend: frontier }\n",
            db_path);
    fclose(f);

    /* The ledger from state.sqlite, JSON, by tenant. */
    char *a1[] = {"-c",       yaml_path,    "--since", "2025-06-01T00:00:00Z",
                  "--until",  "2025-06-03", "--by",    "tenant",
                  "--format", "json"};
    int rc = cli(out, sizeof out, errbuf, sizeof errbuf, 10, a1);
    if (rc != 0)
        print_error("stderr: %s\n", errbuf);
    assert_int_equal(rc, 0);
    json_t *doc = json_loads(out, 0, NULL);
    assert_non_null(doc);
    json_t *total = json_object_get(doc, "total");
    assert_int_equal(json_integer_value(json_object_get(total, "requests")), 7);
    /* Only gemma has hardware in this file: box2's and idle's rows are
     * plain local rows costed by the ledger (0.02 for r9). */
    assert_near(json_number_value(json_object_get(total, "local_cost_usd")), FIXED_GEMMA + 0.02);
    assert_near(json_number_value(json_object_get(total, "counterfactual_usd")), TOTAL.cf);
    assert_int_equal(json_array_size(json_object_get(doc, "hardware")), 1);
    json_decref(doc);

    /* --db overrides state.sqlite; CSV; a relative --since. */
    char *a2[] = {"--db", db_path, "--format", "csv", "-c", yaml_path, "--since", "7d"};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 8, a2), 0);
    assert_int_equal(strncmp(out, "kind,name,", 10), 0);

    /* The table, by day. */
    char *a3[] = {"-c", yaml_path, "--by", "day", "--since", "2025-06-01", "--until", "2025-06-03"};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 8, a3), 0);
    assert_non_null(strstr(out, "2025-06-02"));
    assert_non_null(strstr(out, "never at this volume"));

    /* Usage and I/O errors exit 2. */
    char *b1[] = {"--by", "week", "--db", db_path};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 4, b1), 2);
    assert_non_null(strstr(errbuf, "--by"));
    char *b2[] = {"--format", "xml", "--db", db_path};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 4, b2), 2);
    char *b3[] = {"--since", "yesterday", "--db", db_path};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 4, b3), 2);
    char *b4[] = {"--db", "/tmp/h9-no-such-dir/x.db", "-c", yaml_path};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 4, b4), 2);
    assert_non_null(strstr(errbuf, "cannot open"));
    char *b5[] = {"-c", "/tmp/h9-no-such-config.yaml"};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 2, b5), 2);
    char *b6[] = {"--since", "2025-06-03", "--until", "2025-06-01", "--db", db_path};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 6, b6), 2);
    char *b7[] = {"--bogus"};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 1, b7), 2);
    char *h[] = {"--help"};
    assert_int_equal(cli(out, sizeof out, errbuf, sizeof errbuf, 1, h), 0);
    assert_non_null(strstr(out, "usage: seam report"));
    unlink(yaml_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_by_tenant), cmocka_unit_test(test_by_backend),
        cmocka_unit_test(test_by_rule),   cmocka_unit_test(test_by_day),
        cmocka_unit_test(test_json),      cmocka_unit_test(test_csv),
        cmocka_unit_test(test_table),     cmocka_unit_test(test_window_defaults),
        cmocka_unit_test(test_errors),    cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
