/*
 * `seam report`: the ledger summed per group, priced, and set against the
 * all-cloud counterfactual (the contract and the cost views are described
 * in ledger/report.h).
 *
 * SQLite does the heavy part: one aggregate query groups the window's rows
 * by (group, backend, location), so the C side only walks a few result rows
 * whatever the size of the ledger. Splitting by backend is what lets the
 * fixed cost of each hardware backend be shared among groups by the tokens
 * it served for them, and lets the ledger's own per-request hardware costs
 * (an upper bound) be left out.
 */
#include "ledger/report.h"
#include "core/jsonbuf.h"
#include "core/alloc.h"
#include "obs/audit_cli.h"
#include "obs/cost.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a read waits for the writer's transaction before giving up. */
#define REPORT_BUSY_TIMEOUT_MS 5000
#define MS_PER_HOUR            3600000.0
#define MS_PER_DAY             86400000.0
/* 9999-12-31T23:59:59.999Z: a break-even later than this is printed as such. */
#define REPORT_MAX_MS 253402300799999.0

static const char NEVER[] = "never at this volume";

const char *seam_report_by_name(seam_report_by by)
{
    switch (by) {
    case SEAM_REPORT_BY_TENANT:
        return "tenant";
    case SEAM_REPORT_BY_RULE:
        return "rule";
    case SEAM_REPORT_BY_DAY:
        return "day";
    case SEAM_REPORT_BY_BACKEND:
        break;
    }
    return "backend";
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void seam_report_query_init(seam_report_query *q)
{
    q->since_ms = INT64_MIN;
    q->until_ms = INT64_MAX;
    q->now_ms = now_ms();
    q->by = SEAM_REPORT_BY_BACKEND;
}

void seam_report_time(int64_t ms, char *buf, size_t n)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* YYYY-MM-DD of unix ms <ms> (UTC). */
static void report_date(double ms, char *buf, size_t n)
{
    char t[40];
    seam_report_time((int64_t)ms, t, sizeof t);
    snprintf(buf, n, "%.10s", t);
}

static void set_err(char *err, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
}

/* ---- building ---- */

/* Whether backend <b> is priced by its hardware: seam_cost_request charges
 * it by wall time, which the report replaces with the fixed-cost view. */
static bool is_hardware(const seam_backend_conf *b)
{
    return b->hardware.set && !b->price.set && b->location == SEAM_LOC_LOCAL;
}

typedef struct build {
    const seam_config *cfg;
    seam_report *r;
    size_t cap;
    const seam_backend_conf **hwconf; /* r->nhw of them */
    uint64_t **hwtok;                 /* per group: tokens each hardware backend served */
    const seam_price *ref;            /* reference price, NULL when none */
} build;

/* The group named <name> (created when absent), or NULL when out of memory. */
static seam_report_group *group_get(build *b, const char *name, size_t *index)
{
    seam_report *r = b->r;
    for (size_t i = 0; i < r->ngroups; i++)
        if (strcmp(r->groups[i].name, name) == 0) {
            *index = i;
            return &r->groups[i];
        }
    if (r->ngroups == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        seam_report_group *g = seam_realloc(r->groups, cap * sizeof *g);
        if (!g)
            return NULL;
        r->groups = g;
        uint64_t **t = seam_realloc(b->hwtok, cap * sizeof *t);
        if (!t)
            return NULL;
        b->hwtok = t;
        b->cap = cap;
    }
    seam_report_group *g = &r->groups[r->ngroups];
    memset(g, 0, sizeof *g);
    b->hwtok[r->ngroups] = seam_calloc(r->nhw ? r->nhw : 1, sizeof(uint64_t));
    g->name = seam_strdup(name);
    if (!b->hwtok[r->ngroups] || !g->name) {
        seam_free(b->hwtok[r->ngroups]);
        seam_free(g->name);
        return NULL;
    }
    *index = r->ngroups++;
    return g;
}

static int hw_index(const build *b, const char *backend)
{
    if (!backend)
        return -1;
    for (size_t k = 0; k < b->r->nhw; k++)
        if (strcmp(b->hwconf[k]->name, backend) == 0)
            return (int)k;
    return -1;
}

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
    sqlite3_int64 v = sqlite3_column_int64(st, i);
    return v > 0 ? (uint64_t)v : 0;
}

/* Unknown counts are NULL (or -1) in the ledger: they count as 0, and a
 * row's cached tokens never exceed its input tokens (obs/cost.h). */
#define POS(c) "(CASE WHEN " c " > 0 THEN " c " ELSE 0 END)"
#define NO_CF  "(counterfactual_usd IS NULL OR counterfactual_usd < 0)"

static const char AGGREGATE_SQL[] =
    "SELECT %s AS g, backend, location, count(*),"
    " sum(CASE WHEN status >= 400 OR error IS NOT NULL THEN 1 ELSE 0 END),"
    " sum(" POS("input_tokens") "), sum(" POS(
        "output_tokens") "),"
                         " total(cost_usd),"
                         " total(CASE WHEN " NO_CF " THEN 0 ELSE counterfactual_usd END),"
                         " sum(CASE WHEN " NO_CF " THEN " POS(
                             "input_tokens") " ELSE 0 END),"
                                             " sum(CASE WHEN " NO_CF " THEN " POS(
                                                 "output_tokens") " ELSE 0 END),"
                                                                  " sum(CASE WHEN " NO_CF
                                                                  " THEN min(" POS(
                                                                      "cached_"
                                                                      "tokens") ", " POS("input"
                                                                                         "_"
                                                                                         "token"
                                                                                         "s") ") "
                                                                                              "ELSE"
                                                                                              " "
                                                                                              "0 "
                                                                                              "END)"
                                                                                              " FRO"
                                                                                              "M "
                                                                                              "requ"
                                                                                              "est"
                                                                                              "s "
                                                                                              "WHER"
                                                                                              "E "
                                                                                              "ts_"
                                                                                              "ms "
                                                                                              ">= "
                                                                                              "?1 "
                                                                                              "AND "
                                                                                              "ts_"
                                                                                              "ms "
                                                                                              "< ?2"
                                                                                              " GRO"
                                                                                              "UP "
                                                                                              "BY "
                                                                                              "g, "
                                                                                              "back"
                                                                                              "end"
                                                                                              ", "
                                                                                              "loca"
                                                                                              "tio"
                                                                                              "n "
                                                                                              "ORDE"
                                                                                              "R "
                                                                                              "BY "
                                                                                              "g";

static const char *group_expr(seam_report_by by)
{
    switch (by) {
    case SEAM_REPORT_BY_TENANT:
        return "coalesce(tenant, '(anonymous)')";
    case SEAM_REPORT_BY_RULE:
        return "coalesce(rule, '(none)')";
    case SEAM_REPORT_BY_DAY:
        return "strftime('%Y-%m-%d', ts_ms / 1000, 'unixepoch')";
    case SEAM_REPORT_BY_BACKEND:
        break;
    }
    return "coalesce(backend, '(none)')";
}

/* Runs <sql> (one integer column, one optional text parameter) and sets
 * <*out>; returns 1 when it gave a non-NULL value, 0 when NULL, -1 on error. */
static int query_int(sqlite3 *db, const char *sql, const char *param, int64_t *out)
{
    sqlite3_stmt *st = NULL;
    int found = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (param)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        found = sqlite3_column_type(st, 0) != SQLITE_NULL;
        *out = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return found;
}

static int cmp_group(const void *a, const void *b)
{
    return strcmp(((const seam_report_group *)a)->name, ((const seam_report_group *)b)->name);
}

static void derive(seam_report_group *g)
{
    uint64_t tokens = g->input_tokens + g->output_tokens;
    g->local_share_requests = g->requests ? (double)g->local_requests / (double)g->requests : 0.0;
    g->local_share_tokens = tokens ? (double)g->local_tokens / (double)tokens : 0.0;
    g->cost_usd = g->cloud_cost_usd + g->local_cost_usd;
    g->savings_usd = g->counterfactual_usd - g->cost_usd;
}

/* Adds the aggregate row <st> to its group and hardware backend. */
static seam_rc add_row(build *b, sqlite3_stmt *st)
{
    const char *name = (const char *)sqlite3_column_text(st, 0);
    const char *backend = (const char *)sqlite3_column_text(st, 1);
    const char *location = (const char *)sqlite3_column_text(st, 2);
    size_t gi;
    seam_report_group *g = group_get(b, name ? name : "(none)", &gi);
    if (!g)
        return SEAM_ERR_NOMEM;
    uint64_t requests = col_u64(st, 3), in = col_u64(st, 5), out = col_u64(st, 6);
    double cost = sqlite3_column_double(st, 7);
    double cf = sqlite3_column_double(st, 8);
    /* Rows written without a counterfactual: the current reference's price
     * on their summed tokens, which equals the sum of per-row prices since
     * the price is linear and the clamping was done per row in SQL. */
    if (b->ref)
        cf += seam_cost_tokens(b->ref, (int64_t)col_u64(st, 9), (int64_t)col_u64(st, 10),
                               (int64_t)col_u64(st, 11));
    bool local = location && strcmp(location, "local") == 0;
    g->requests += requests;
    g->errors += col_u64(st, 4);
    g->input_tokens += in;
    g->output_tokens += out;
    g->counterfactual_usd += cf;
    if (local) {
        g->local_requests += requests;
        g->local_tokens += in + out;
    }
    int k = hw_index(b, backend);
    if (k >= 0) {
        /* The ledger's per-request hardware cost is replaced by a share of
         * the fixed cost, once all rows are in. */
        b->hwtok[gi][k] += in + out;
        seam_report_hardware *h = &b->r->hw[k];
        h->requests += requests;
        h->tokens += in + out;
        h->counterfactual_usd += cf;
    } else if (location && strcmp(location, "cloud") == 0) {
        g->cloud_cost_usd += cost;
    } else {
        g->local_cost_usd += cost;
    }
    return SEAM_OK;
}

/* Fixed costs, their shares, effective prices and break-even dates. */
static seam_rc finish_hardware(build *b, sqlite3 *db)
{
    seam_report *r = b->r;
    double days = r->hours / 24.0;
    for (size_t k = 0; k < r->nhw; k++) {
        seam_report_hardware *h = &r->hw[k];
        const seam_backend_conf *bc = b->hwconf[k];
        h->capex_usd = bc->hardware.capex_usd;
        h->hourly_usd = seam_cost_hourly(&bc->hardware);
        h->energy_hourly_usd = seam_cost_energy_hourly(&bc->hardware);
        h->fixed_cost_usd = h->hourly_usd * r->hours;
        h->energy_cost_usd = h->energy_hourly_usd * r->hours;
        if (h->tokens) {
            h->has_effective = true;
            h->effective_usd_per_mtok = h->fixed_cost_usd / (double)h->tokens * 1e6;
        }
        h->daily_savings_usd = days > 0 ? (h->counterfactual_usd - h->energy_cost_usd) / days : 0;
        int64_t first = 0;
        int got =
            query_int(db, "SELECT min(ts_ms) FROM requests WHERE backend = ?1", bc->name, &first);
        if (got < 0)
            return SEAM_ERR_IO;
        h->has_first = got == 1;
        h->first_ms = first;
        if (h->has_first && h->daily_savings_usd > 0) {
            h->breaks_even = true;
            double capex = h->capex_usd > 0 ? h->capex_usd : 0;
            h->break_even_ms = round((double)first + capex / h->daily_savings_usd * MS_PER_DAY);
        }
        /* Share the fixed cost by tokens served; with nothing served it
         * belongs to no group, except to the backend's own row. */
        if (h->tokens) {
            for (size_t i = 0; i < r->ngroups; i++)
                if (b->hwtok[i][k])
                    r->groups[i].local_cost_usd +=
                        h->fixed_cost_usd * (double)b->hwtok[i][k] / (double)h->tokens;
        } else if (r->by == SEAM_REPORT_BY_BACKEND) {
            size_t gi;
            seam_report_group *g = group_get(b, bc->name, &gi);
            if (!g)
                return SEAM_ERR_NOMEM;
            g->local_cost_usd += h->fixed_cost_usd;
        } else {
            r->unallocated_usd += h->fixed_cost_usd;
        }
    }
    return SEAM_OK;
}

static seam_rc prepare(build *b, seam_report *r)
{
    const seam_config *cfg = b->cfg;
    if (!cfg)
        return SEAM_OK;
    if (cfg->report.has_reference && cfg->report.reference_backend < cfg->nbackends) {
        const seam_backend_conf *ref = &cfg->backends[cfg->report.reference_backend];
        if (!(r->reference = seam_strdup(ref->name)))
            return SEAM_ERR_NOMEM;
        if (ref->price.set)
            b->ref = &ref->price;
    }
    size_t n = 0;
    for (size_t i = 0; i < cfg->nbackends; i++)
        n += is_hardware(&cfg->backends[i]);
    if (!n)
        return SEAM_OK;
    r->hw = seam_calloc(n, sizeof *r->hw);
    b->hwconf = seam_calloc(n, sizeof *b->hwconf);
    if (!r->hw || !b->hwconf)
        return SEAM_ERR_NOMEM;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        if (!is_hardware(&cfg->backends[i]))
            continue;
        b->hwconf[r->nhw] = &cfg->backends[i];
        if (!(r->hw[r->nhw].backend = seam_strdup(cfg->backends[i].name)))
            return SEAM_ERR_NOMEM;
        r->nhw++;
    }
    return SEAM_OK;
}

seam_rc seam_report_build(const seam_config *cfg, const char *db_path, const seam_report_query *q,
                          seam_report *out, char *err, size_t errlen)
{
    seam_rc rc = SEAM_OK;
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char *sql = NULL;
    build b = {.cfg = cfg, .r = out};
    memset(out, 0, sizeof *out);
    out->by = q->by;

    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: cannot open the ledger: %s", db_path,
                db ? sqlite3_errmsg(db) : "out of memory");
        rc = SEAM_ERR_IO;
        goto out;
    }
    sqlite3_busy_timeout(db, REPORT_BUSY_TIMEOUT_MS);
    if ((rc = prepare(&b, out)) != SEAM_OK)
        goto nomem;

    /* The window: an open start is the ledger's first row, an open end is now. */
    out->until_ms = q->until_ms != INT64_MAX ? q->until_ms : q->now_ms;
    if (q->since_ms != INT64_MIN) {
        out->since_ms = q->since_ms;
    } else {
        int64_t first = out->until_ms;
        if (query_int(db, "SELECT min(ts_ms) FROM requests", NULL, &first) < 0) {
            set_err(err, errlen, "%s: not a seam ledger: %s", db_path, sqlite3_errmsg(db));
            rc = SEAM_ERR_IO;
            goto out;
        }
        out->since_ms = first < out->until_ms ? first : out->until_ms;
    }
    if (out->since_ms > out->until_ms) {
        set_err(err, errlen, "the window is empty: --since is after --until");
        rc = SEAM_ERR_INVALID;
        goto out;
    }
    out->hours = (double)(out->until_ms - out->since_ms) / MS_PER_HOUR;

    size_t len = sizeof AGGREGATE_SQL + 64;
    if (!(sql = seam_malloc(len)))
        goto nomem;
    snprintf(sql, len, AGGREGATE_SQL, group_expr(q->by));
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        set_err(err, errlen, "%s: not a seam ledger: %s", db_path, sqlite3_errmsg(db));
        rc = SEAM_ERR_IO;
        goto out;
    }
    sqlite3_bind_int64(st, 1, out->since_ms);
    sqlite3_bind_int64(st, 2, out->until_ms);
    int step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW)
        if ((rc = add_row(&b, st)) != SEAM_OK)
            goto nomem;
    if (step != SQLITE_DONE) {
        set_err(err, errlen, "%s: reading the ledger: %s", db_path, sqlite3_errmsg(db));
        rc = SEAM_ERR_IO;
        goto out;
    }
    if ((rc = finish_hardware(&b, db)) != SEAM_OK) {
        if (rc == SEAM_ERR_NOMEM)
            goto nomem;
        set_err(err, errlen, "%s: reading the ledger: %s", db_path, sqlite3_errmsg(db));
        goto out;
    }
    if (out->ngroups)
        qsort(out->groups, out->ngroups, sizeof *out->groups, cmp_group);
    seam_report_group *t = &out->total;
    if (!(t->name = seam_strdup("TOTAL")))
        goto nomem;
    for (size_t i = 0; i < out->ngroups; i++) {
        seam_report_group *g = &out->groups[i];
        derive(g);
        t->requests += g->requests;
        t->errors += g->errors;
        t->input_tokens += g->input_tokens;
        t->output_tokens += g->output_tokens;
        t->local_requests += g->local_requests;
        t->local_tokens += g->local_tokens;
        t->cloud_cost_usd += g->cloud_cost_usd;
        t->local_cost_usd += g->local_cost_usd;
        t->counterfactual_usd += g->counterfactual_usd;
    }
    t->local_cost_usd += out->unallocated_usd;
    derive(t);
    goto out;

nomem:
    rc = SEAM_ERR_NOMEM;
    set_err(err, errlen, "out of memory");
out:
    /* The per-group token table is only needed while building. */
    for (size_t i = 0; b.hwtok && i < out->ngroups; i++)
        seam_free(b.hwtok[i]);
    seam_free(b.hwtok);
    seam_free(b.hwconf);
    seam_free(sql);
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (rc != SEAM_OK)
        seam_report_free(out);
    return rc;
}

void seam_report_free(seam_report *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ngroups; i++)
        seam_free(r->groups[i].name);
    seam_free(r->groups);
    for (size_t i = 0; i < r->nhw; i++)
        seam_free(r->hw[i].backend);
    seam_free(r->hw);
    seam_free(r->total.name);
    seam_free(r->reference);
    memset(r, 0, sizeof *r);
}

/* ---- writing ---- */

static void break_even_text(const seam_report_hardware *h, char *buf, size_t n)
{
    if (!h->breaks_even)
        snprintf(buf, n, "%s", NEVER);
    else if (h->break_even_ms > REPORT_MAX_MS)
        snprintf(buf, n, "after 9999-12-31");
    else
        report_date(h->break_even_ms, buf, n);
}

static const char COST_VIEW[] =
    "cloud: ledger cost per request; local hardware: fixed cost (hourly cost x hours in the "
    "window, idle hours included) shared among groups by tokens served; the ledger's "
    "per-request hardware cost (an upper bound) is not used";

static json_t *group_json(const seam_report_group *g)
{
    return json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}",
                     "name", g->name, "requests", (json_int_t)g->requests, "errors",
                     (json_int_t)g->errors, "input_tokens", (json_int_t)g->input_tokens,
                     "output_tokens", (json_int_t)g->output_tokens, "local_requests",
                     (json_int_t)g->local_requests, "local_tokens", (json_int_t)g->local_tokens,
                     "local_share_requests", g->local_share_requests, "local_share_tokens",
                     g->local_share_tokens, "cloud_cost_usd", g->cloud_cost_usd, "local_cost_usd",
                     g->local_cost_usd, "cost_usd", g->cost_usd, "counterfactual_usd",
                     g->counterfactual_usd, "savings_usd", g->savings_usd);
}

static json_t *hardware_json(const seam_report_hardware *h)
{
    char first[40] = "", be[40] = "", date[40];
    if (h->has_first)
        seam_report_time(h->first_ms, first, sizeof first);
    if (h->breaks_even && h->break_even_ms <= REPORT_MAX_MS)
        seam_report_time((int64_t)h->break_even_ms, be, sizeof be);
    break_even_text(h, date, sizeof date);
    json_t *o = json_pack(
        "{s:s, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:o, s:f, s:f, s:o, s:o, s:o, s:o}", "backend",
        h->backend, "capex_usd", h->capex_usd, "hourly_usd", h->hourly_usd, "energy_hourly_usd",
        h->energy_hourly_usd, "fixed_cost_usd", h->fixed_cost_usd, "energy_cost_usd",
        h->energy_cost_usd, "requests", (json_int_t)h->requests, "tokens", (json_int_t)h->tokens,
        "effective_usd_per_mtok",
        h->has_effective ? json_real(h->effective_usd_per_mtok) : json_null(), "counterfactual_usd",
        h->counterfactual_usd, "daily_savings_usd", h->daily_savings_usd, "first_row",
        h->has_first ? json_string(first) : json_null(), "break_even",
        h->breaks_even ? json_string(date) : json_null(), "break_even_at",
        be[0] ? json_string(be) : json_null(), "break_even_note",
        h->breaks_even ? json_null() : json_string(NEVER));
    return o;
}

static int write_json(const seam_report *r, FILE *out)
{
    char since[40], until[40];
    seam_report_time(r->since_ms, since, sizeof since);
    seam_report_time(r->until_ms, until, sizeof until);
    json_t *groups = json_array(), *hw = json_array();
    for (size_t i = 0; groups && i < r->ngroups; i++)
        json_array_append_new(groups, group_json(&r->groups[i]));
    for (size_t i = 0; hw && i < r->nhw; i++)
        json_array_append_new(hw, hardware_json(&r->hw[i]));
    json_t *total = group_json(&r->total);
    if (total)
        json_object_set_new(total, "unallocated_usd", json_real(r->unallocated_usd));
    json_t *doc =
        json_pack("{s:{s:s, s:s, s:I, s:I, s:f}, s:s, s:o, s:s, s:o, s:o, s:o}", "window", "since",
                  since, "until", until, "since_ms", (json_int_t)r->since_ms, "until_ms",
                  (json_int_t)r->until_ms, "hours", r->hours, "by", seam_report_by_name(r->by),
                  "reference_backend", r->reference ? json_string(r->reference) : json_null(),
                  "cost_view", COST_VIEW, "groups", groups ? groups : json_null(), "total",
                  total ? total : json_null(), "hardware", hw ? hw : json_null());
    char *s =
        doc ? seam_json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
            : NULL;
    json_decref(doc);
    if (!s)
        return -1;
    int rc = fprintf(out, "%s\n", s) < 0 ? -1 : 0;
    free(s);
    return rc;
}

/* One CSV field: quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *out, const char *s, bool last)
{
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', out);
            fputc(*s, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputc(last ? '\n' : ',', out);
}

static const char *const CSV_COLUMNS[] = {"kind",
                                          "name",
                                          "requests",
                                          "errors",
                                          "input_tokens",
                                          "output_tokens",
                                          "local_requests",
                                          "local_tokens",
                                          "local_share_requests",
                                          "local_share_tokens",
                                          "cloud_cost_usd",
                                          "local_cost_usd",
                                          "cost_usd",
                                          "counterfactual_usd",
                                          "savings_usd",
                                          "hourly_usd",
                                          "fixed_cost_usd",
                                          "energy_cost_usd",
                                          "tokens",
                                          "effective_usd_per_mtok",
                                          "daily_savings_usd",
                                          "break_even"};
#define CSV_NCOLS (sizeof CSV_COLUMNS / sizeof *CSV_COLUMNS)

static void csv_group(FILE *out, const char *kind, const seam_report_group *g)
{
    char c[CSV_NCOLS][48];
    memset(c, 0, sizeof c);
    snprintf(c[0], 48, "%s", kind);
    snprintf(c[2], 48, "%" PRIu64, g->requests);
    snprintf(c[3], 48, "%" PRIu64, g->errors);
    snprintf(c[4], 48, "%" PRIu64, g->input_tokens);
    snprintf(c[5], 48, "%" PRIu64, g->output_tokens);
    snprintf(c[6], 48, "%" PRIu64, g->local_requests);
    snprintf(c[7], 48, "%" PRIu64, g->local_tokens);
    snprintf(c[8], 48, "%.12g", g->local_share_requests);
    snprintf(c[9], 48, "%.12g", g->local_share_tokens);
    snprintf(c[10], 48, "%.12g", g->cloud_cost_usd);
    snprintf(c[11], 48, "%.12g", g->local_cost_usd);
    snprintf(c[12], 48, "%.12g", g->cost_usd);
    snprintf(c[13], 48, "%.12g", g->counterfactual_usd);
    snprintf(c[14], 48, "%.12g", g->savings_usd);
    /* The name may be long (a tenant): written apart from the fixed cells. */
    for (size_t i = 0; i < CSV_NCOLS; i++)
        csv_field(out, i == 1 ? g->name : c[i], i + 1 == CSV_NCOLS);
}

static int write_csv(const seam_report *r, FILE *out)
{
    for (size_t i = 0; i < CSV_NCOLS; i++)
        csv_field(out, CSV_COLUMNS[i], i + 1 == CSV_NCOLS);
    for (size_t i = 0; i < r->ngroups; i++)
        csv_group(out, "group", &r->groups[i]);
    csv_group(out, "total", &r->total);
    for (size_t k = 0; k < r->nhw; k++) {
        const seam_report_hardware *h = &r->hw[k];
        char c[CSV_NCOLS][48];
        memset(c, 0, sizeof c);
        snprintf(c[0], 48, "hardware");
        snprintf(c[1], 48, "%.47s", h->backend);
        snprintf(c[2], 48, "%" PRIu64, h->requests);
        snprintf(c[13], 48, "%.12g", h->counterfactual_usd);
        snprintf(c[15], 48, "%.12g", h->hourly_usd);
        snprintf(c[16], 48, "%.12g", h->fixed_cost_usd);
        snprintf(c[17], 48, "%.12g", h->energy_cost_usd);
        snprintf(c[18], 48, "%" PRIu64, h->tokens);
        if (h->has_effective)
            snprintf(c[19], 48, "%.12g", h->effective_usd_per_mtok);
        snprintf(c[20], 48, "%.12g", h->daily_savings_usd);
        break_even_text(h, c[21], 48);
        for (size_t i = 0; i < CSV_NCOLS; i++)
            csv_field(out, i == 1 ? h->backend : c[i], i + 1 == CSV_NCOLS);
    }
    return ferror(out) ? -1 : 0;
}

/* ---- the terminal table ---- */

#define TABLE_MAXCOLS 12
#define TABLE_CELL    64

typedef struct table {
    size_t ncols, nrows, cap;
    char (*cells)[TABLE_MAXCOLS][TABLE_CELL];
    bool *rule_before; /* a line of dashes above this row */
} table;

static char *cell(table *t, size_t row, size_t col)
{
    return t->cells[row][col];
}

/* Appends an empty row; returns its index, or (size_t)-1 when out of memory. */
static size_t table_row(table *t, bool rule_before)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        void *c = seam_realloc(t->cells, cap * sizeof *t->cells);
        if (!c)
            return (size_t)-1;
        t->cells = c;
        bool *rb = seam_realloc(t->rule_before, cap * sizeof *rb);
        if (!rb)
            return (size_t)-1;
        t->rule_before = rb;
        t->cap = cap;
    }
    memset(t->cells[t->nrows], 0, sizeof *t->cells);
    t->rule_before[t->nrows] = rule_before;
    return t->nrows++;
}

/* The first column left-aligned (names), the others right-aligned (numbers). */
static void table_print(const table *t, FILE *out)
{
    size_t w[TABLE_MAXCOLS] = {0}, total = 0;
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t n = strlen(t->cells[r][c]);
            if (n > w[c])
                w[c] = n;
        }
    for (size_t c = 0; c < t->ncols; c++)
        total += w[c] + (c ? 2 : 0);
    for (size_t r = 0; r < t->nrows; r++) {
        if (t->rule_before[r]) {
            for (size_t i = 0; i < total; i++)
                fputc('-', out);
            fputc('\n', out);
        }
        for (size_t c = 0; c < t->ncols; c++) {
            if (c == 0)
                fprintf(out, "%-*s", (int)w[c], t->cells[r][c]);
            else
                fprintf(out, "  %*s", (int)w[c], t->cells[r][c]);
        }
        fputc('\n', out);
    }
}

static void table_free(table *t)
{
    seam_free(t->cells);
    seam_free(t->rule_before);
}

static void money(char *buf, double usd)
{
    snprintf(buf, TABLE_CELL, "%s$%.4f", usd < 0 ? "-" : "", fabs(usd));
}

static void group_cells(table *t, size_t row, const seam_report_group *g)
{
    snprintf(cell(t, row, 0), TABLE_CELL, "%.63s", g->name);
    snprintf(cell(t, row, 1), TABLE_CELL, "%" PRIu64, g->requests);
    snprintf(cell(t, row, 2), TABLE_CELL, "%" PRIu64, g->errors);
    snprintf(cell(t, row, 3), TABLE_CELL, "%" PRIu64, g->input_tokens);
    snprintf(cell(t, row, 4), TABLE_CELL, "%" PRIu64, g->output_tokens);
    snprintf(cell(t, row, 5), TABLE_CELL, "%.1f%%", g->local_share_requests * 100);
    snprintf(cell(t, row, 6), TABLE_CELL, "%.1f%%", g->local_share_tokens * 100);
    money(cell(t, row, 7), g->cloud_cost_usd);
    money(cell(t, row, 8), g->local_cost_usd);
    money(cell(t, row, 9), g->cost_usd);
    money(cell(t, row, 10), g->counterfactual_usd);
    money(cell(t, row, 11), g->savings_usd);
}

static int write_table(const seam_report *r, FILE *out)
{
    char since[40], until[40];
    int rc = -1;
    seam_report_time(r->since_ms, since, sizeof since);
    seam_report_time(r->until_ms, until, sizeof until);
    fprintf(out, "seam report  %s .. %s  (%.2f h), by %s\n", since, until, r->hours,
            seam_report_by_name(r->by));
    if (r->reference)
        fprintf(out, "all-cloud counterfactual: every request at %s's prices\n", r->reference);
    else
        fprintf(out, "all-cloud counterfactual: none (no report.reference_backend with a price)\n");
    fputc('\n', out);

    static const char *const head[] = {"",           "REQUESTS",   "ERRORS",     "INPUT TOK",
                                       "OUTPUT TOK", "LOCAL %REQ", "LOCAL %TOK", "CLOUD COST",
                                       "LOCAL COST", "COST",       "ALL-CLOUD",  "SAVINGS"};
    table t = {.ncols = TABLE_MAXCOLS};
    size_t row = table_row(&t, false);
    if (row == (size_t)-1)
        goto out;
    for (size_t c = 0; c < t.ncols; c++)
        snprintf(cell(&t, row, c), TABLE_CELL, "%s", c ? head[c] : seam_report_by_name(r->by));
    for (char *p = cell(&t, row, 0); *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    for (size_t i = 0; i < r->ngroups; i++) {
        if ((row = table_row(&t, i == 0)) == (size_t)-1)
            goto out;
        group_cells(&t, row, &r->groups[i]);
    }
    if ((row = table_row(&t, true)) == (size_t)-1)
        goto out;
    group_cells(&t, row, &r->total);
    table_print(&t, out);
    if (r->unallocated_usd > 0) {
        char m[TABLE_CELL];
        money(m, r->unallocated_usd);
        fprintf(out,
                "note: the TOTAL local cost includes %s fixed cost of hardware that served no "
                "tokens in the window (in no group)\n",
                m);
    }

    if (r->nhw) {
        static const char *const hhead[] = {"HARDWARE", "PER HOUR",    "FIXED COST",
                                            "TOKENS",   "EFF. $/MTOK", "ALL-CLOUD",
                                            "ENERGY",   "SAVES/DAY",   "BREAK-EVEN"};
        table_free(&t);
        t = (table){.ncols = 9};
        fprintf(out,
                "\nlocal hardware, fixed-cost view: hourly cost x %.2f h in the window, idle hours "
                "included\n(ledger rows carry a per-request upper bound that the report does not "
                "use); break-even\ncounts from the backend's first ledger row at the window's "
                "savings per day\n(all-cloud price of its traffic minus energy) until capex is "
                "paid back\n\n",
                r->hours);
        if ((row = table_row(&t, false)) == (size_t)-1)
            goto out;
        for (size_t c = 0; c < t.ncols; c++)
            snprintf(cell(&t, row, c), TABLE_CELL, "%s", hhead[c]);
        for (size_t k = 0; k < r->nhw; k++) {
            const seam_report_hardware *h = &r->hw[k];
            if ((row = table_row(&t, k == 0)) == (size_t)-1)
                goto out;
            snprintf(cell(&t, row, 0), TABLE_CELL, "%.63s", h->backend);
            money(cell(&t, row, 1), h->hourly_usd);
            money(cell(&t, row, 2), h->fixed_cost_usd);
            snprintf(cell(&t, row, 3), TABLE_CELL, "%" PRIu64, h->tokens);
            if (h->has_effective)
                money(cell(&t, row, 4), h->effective_usd_per_mtok);
            else
                snprintf(cell(&t, row, 4), TABLE_CELL, "-");
            money(cell(&t, row, 5), h->counterfactual_usd);
            money(cell(&t, row, 6), h->energy_cost_usd);
            money(cell(&t, row, 7), h->daily_savings_usd);
            break_even_text(h, cell(&t, row, 8), TABLE_CELL);
        }
        table_print(&t, out);
    }
    rc = ferror(out) ? -1 : 0;
out:
    table_free(&t);
    return rc;
}

int seam_report_write(const seam_report *r, seam_report_format format, FILE *out)
{
    switch (format) {
    case SEAM_REPORT_JSON:
        return write_json(r, out);
    case SEAM_REPORT_CSV:
        return write_csv(r, out);
    case SEAM_REPORT_TABLE:
        break;
    }
    return write_table(r, out);
}

/* ---- the command ---- */

static void cli_usage(FILE *f)
{
    fprintf(f, "usage: seam report [-c FILE] [--db FILE] [--since T] [--until T]\n"
               "                   [--by tenant|backend|rule|day] [--format table|json|csv]\n"
               "  --db      the ledger (default: state.sqlite of the configuration)\n"
               "  T         RFC 3339 (2025-06-01, 2025-06-01T12:00:00Z) or back from now (24h, 7d, "
               "30d)\n"
               "  --since   default: the ledger's first row; --until default: now\n"
               "  --by      default: backend\n");
}

int seam_report_cli(int argc, char **argv, FILE *out, FILE *err)
{
    const char *config = "seam.yaml", *db = NULL;
    bool config_given = false;
    seam_report_format format = SEAM_REPORT_TABLE;
    seam_report_query q;
    seam_report_query_init(&q);

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
            cli_usage(out);
            return 0;
        } else if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has_val) {
            config = argv[++i];
            config_given = true;
        } else if (!strcmp(a, "--db") && has_val) {
            db = argv[++i];
        } else if ((!strcmp(a, "--since") || !strcmp(a, "--until")) && has_val) {
            int64_t *t = a[2] == 's' ? &q.since_ms : &q.until_ms;
            if (seam_audit_parse_time(argv[++i], q.now_ms, t) != 0) {
                fprintf(err,
                        "seam report: %s: expected RFC 3339 (2025-06-01T00:00:00Z) or a "
                        "duration (24h, 7d), got '%s'\n",
                        a, argv[i]);
                return 2;
            }
        } else if (!strcmp(a, "--by") && has_val) {
            const char *v = argv[++i];
            if (!strcmp(v, "backend"))
                q.by = SEAM_REPORT_BY_BACKEND;
            else if (!strcmp(v, "tenant"))
                q.by = SEAM_REPORT_BY_TENANT;
            else if (!strcmp(v, "rule"))
                q.by = SEAM_REPORT_BY_RULE;
            else if (!strcmp(v, "day"))
                q.by = SEAM_REPORT_BY_DAY;
            else {
                fprintf(err, "seam report: --by is tenant, backend, rule or day, got '%s'\n", v);
                return 2;
            }
        } else if (!strcmp(a, "--format") && has_val) {
            const char *v = argv[++i];
            if (!strcmp(v, "table"))
                format = SEAM_REPORT_TABLE;
            else if (!strcmp(v, "json"))
                format = SEAM_REPORT_JSON;
            else if (!strcmp(v, "csv"))
                format = SEAM_REPORT_CSV;
            else {
                fprintf(err, "seam report: --format is table, json or csv, got '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(err, "seam report: unexpected argument '%s'\n", a);
            cli_usage(err);
            return 2;
        }
    }
    if (q.since_ms != INT64_MIN && q.until_ms != INT64_MAX && q.since_ms >= q.until_ms) {
        fprintf(err, "seam report: --since must be before --until\n");
        return 2;
    }

    /* The configuration gives prices, hardware and the ledger's path. Without
     * -c and without ./seam.yaml, --db alone reports without them. */
    seam_config *cfg = NULL;
    char msg[512];
    FILE *probe = config_given ? NULL : fopen(config, "r");
    if (probe)
        fclose(probe);
    if (config_given || probe) {
        if (seam_config_load(config, &cfg, msg, sizeof msg) != SEAM_OK) {
            fprintf(err, "seam: %s\n", msg);
            return 2;
        }
    } else if (!db) {
        fprintf(err, "seam report: no --db given and no ./seam.yaml to find state.sqlite in\n");
        return 2;
    }
    if (!db) {
        db = cfg->state.sqlite;
        if (!db || !db[0]) {
            fprintf(err, "seam report: %s has no ledger (state.sqlite is empty); give --db\n",
                    config);
            seam_config_free(cfg);
            return 2;
        }
    }
    seam_report r;
    int status = 0;
    if (seam_report_build(cfg, db, &q, &r, msg, sizeof msg) != SEAM_OK) {
        fprintf(err, "seam report: %s\n", msg);
        status = 2;
    } else {
        if (seam_report_write(&r, format, out) != 0 || fflush(out) != 0) {
            fprintf(err, "seam report: cannot write the report\n");
            status = 2;
        }
        seam_report_free(&r);
    }
    seam_config_free(cfg);
    return status;
}
