/* Operator endpoints; see admin.h. */
#include "http/admin.h"
#include "core/jsonbuf.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/canon.h"
#include "http/ui.h"
#include "ledger/ledger.h"
#include "ledger/report.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

/* The exposition grows with the configuration (series per backend, pool
 * and rule), not with traffic; this is far above any real one. */
#define METRICS_MAX_BYTES (64u * 1024 * 1024)

static void reply_error(struct evhttp_request *req, int status, const char *type, const char *code,
                        const char *msg)
{
    json_t *o = json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg, "type", type,
                          "param", "code", code);
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    struct evbuffer *b = evbuffer_new();
    if (b && s)
        evbuffer_add(b, s, strlen(s));
    evhttp_send_reply(req, status, NULL, b);
    if (b)
        evbuffer_free(b);
    free(s);
}

void seam_admin_metrics_reply(struct evhttp_request *req, const seam_config *cfg,
                              const seam_auth_state *auth, seam_metrics *m)
{
    if (cfg->auth.metrics_need_admin) {
        struct evkeyvalq *in = evhttp_request_get_input_headers(req);
        if (!auth || !auth->admin_set) {
            reply_error(req, 403, "permission_error", "admin_disabled",
                        "/metrics needs the admin key, and none is set (auth.admin_key_env)");
            return;
        }
        if (!seam_auth_admin(auth, evhttp_find_header(in, "Authorization"),
                             evhttp_find_header(in, "x-api-key"))) {
            evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                              "Bearer realm=\"seam admin\"");
            reply_error(req, 401, "authentication_error", "invalid_api_key",
                        "/metrics needs the admin key");
            return;
        }
    }
    if (!m) {
        reply_error(req, 503, "server_error", "metrics_unavailable", "metrics are not available");
        return;
    }
    seam_buf text;
    seam_buf_init(&text, METRICS_MAX_BYTES);
    seam_rc rc = seam_metrics_render(m, &text);
    struct evbuffer *b = rc == SEAM_OK ? evbuffer_new() : NULL;
    if (!b || evbuffer_add(b, text.data, text.len) != 0) {
        if (b)
            evbuffer_free(b);
        seam_buf_free(&text);
        reply_error(req, 500, "server_error", "out_of_memory", "cannot render the metrics");
        return;
    }
    seam_buf_free(&text);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", SEAM_METRICS_CONTENT_TYPE);
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, NULL, b);
    evbuffer_free(b);
}

void seam_admin_metrics(seam_worker *w, struct evhttp_request *req)
{
    seam_admin_metrics_reply(req, w->cfg, &w->gen->auth, w->gen->metrics);
}

/* ---- the dashboard's JSON ---- */

/* Rows kept in the recent decisions list. */
#define RECENT_MAX 50
/* Rules and reasons drawn as their own series; the rest is "(other)". */
#define SERIES_MAX 8

static const struct {
    const char *name;
    int64_t range_ms, bucket_ms;
} ranges[] = {
    [SEAM_ADMIN_RANGE_15M] = {"15m", 15 * 60000LL, 30000LL},
    [SEAM_ADMIN_RANGE_1H] = {"1h", 3600000LL, 60000LL},
    [SEAM_ADMIN_RANGE_24H] = {"24h", 24 * 3600000LL, 15 * 60000LL},
    [SEAM_ADMIN_RANGE_7D] = {"7d", 7 * 24 * 3600000LL, 2 * 3600000LL},
};

int seam_admin_range_parse(const char *s, seam_admin_range *out)
{
    for (size_t i = 0; s && i < sizeof ranges / sizeof *ranges; i++)
        if (strcmp(s, ranges[i].name) == 0) {
            *out = (seam_admin_range)i;
            return 0;
        }
    return -1;
}

const char *seam_admin_range_name(seam_admin_range r)
{
    return ranges[r].name;
}

int64_t seam_admin_range_ms(seam_admin_range r)
{
    return ranges[r].range_ms;
}

int64_t seam_admin_bucket_ms(seam_admin_range r)
{
    return ranges[r].bucket_ms;
}

static const char *health_name(seam_health h)
{
    return h == SEAM_HEALTH_UP ? "up" : h == SEAM_HEALTH_DOWN ? "down" : "unknown";
}

void seam_admin_live_read(seam_worker *w, seam_admin_live *live, seam_admin_backend_live *backends)
{
    seam_server *srv = w->srv;
    seam_gen *gen = w->gen;
    memset(live, 0, sizeof *live);
    for (size_t i = 0; i < w->cfg->nbackends; i++) {
        backends[i].health = gen->health ? seam_health_get(gen->health, i) : SEAM_HEALTH_UNKNOWN;
        backends[i].error[0] = '\0';
        if (gen->health)
            seam_health_error(gen->health, i, backends[i].error, sizeof backends[i].error);
        backends[i].inflight = seam_metrics_inflight_value(gen->metrics, (int)i);
        backends[i].max_concurrency = w->cfg->backends[i].max_concurrency;
        backends[i].circuit =
            gen->breakers
                ? seam_breaker_state_name(seam_breaker_get(gen->breakers, i, seam_rl_now_ns()))
                : NULL;
        if (!backends[i].error[0] && gen->health)
            seam_health_traffic_error(gen->health, i, backends[i].error, sizeof backends[i].error);
    }
    live->backends = backends;
    seam_admin_pool_live *pools = seam_calloc(w->cfg->npools + 1, sizeof(*pools));
    for (size_t i = 0; pools && i < w->cfg->npools; i++) {
        pools[i].depth = seam_capacity_depth(gen->capacity, i);
        pools[i].max = seam_capacity_queue_max(gen->capacity, i);
    }
    live->pools = pools;
    live->ledger_on = srv->ledger != NULL;
    seam_ledger_stats(srv->ledger, &live->ledger_queued, &live->ledger_written,
                      &live->ledger_dropped);
}

void seam_admin_live_free(seam_admin_live *live)
{
    seam_free((void *)live->pools);
    live->pools = NULL;
}

json_t *seam_admin_live_json(const seam_config *cfg, const seam_admin_live *live, int64_t now_ms)
{
    json_t *o = json_object(), *bs = json_array();
    for (size_t i = 0; o && bs && i < cfg->nbackends; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        const seam_admin_backend_live *bl = live && live->backends ? &live->backends[i] : NULL;
        json_array_append_new(
            bs, json_pack("{s:s, s:s, s:s, s:s?, s:I, s:I, s:s?}", "name", b->name, "location",
                          b->location == SEAM_LOC_CLOUD ? "cloud" : "local", "health",
                          health_name(bl ? bl->health : SEAM_HEALTH_UNKNOWN), "error",
                          bl && bl->error[0] ? bl->error : NULL, "inflight",
                          (json_int_t)(bl ? bl->inflight : 0), "max_concurrency",
                          (json_int_t)(bl ? bl->max_concurrency : 0), "circuit",
                          bl ? bl->circuit : NULL));
    }
    json_t *qs = json_array();
    for (size_t i = 0; o && qs && live && live->pools && i < cfg->npools; i++)
        json_array_append_new(qs, json_pack("{s:s, s:I, s:I}", "pool", cfg->pools[i].name, "depth",
                                            (json_int_t)live->pools[i].depth, "max",
                                            (json_int_t)live->pools[i].max));
    if (o && qs)
        json_object_set_new(o, "queues", qs);
    json_object_set_new(o, "now_ms", json_integer(now_ms));
    json_object_set_new(o, "ledger",
                        json_pack("{s:b, s:I, s:I, s:I}", "on", live && live->ledger_on, "queued",
                                  (json_int_t)(live ? live->ledger_queued : 0), "written",
                                  (json_int_t)(live ? live->ledger_written : 0), "dropped",
                                  (json_int_t)(live ? live->ledger_dropped : 0)));
    json_object_set_new(o, "backends", bs);
    return o;
}

/* One read of the ledger: the connection and the window every query binds
 * as ?1 (since, inclusive), ?2 (until, exclusive) and ?3 (bucket width). */
typedef struct reader {
    sqlite3 *db;
    int64_t since, until, bucket;
    size_t nb; /* buckets */
    char *err;
    size_t errlen;
} reader;

static sqlite3_stmt *query(reader *r, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(r->err, r->errlen, "ledger: cannot read: %s", sqlite3_errmsg(r->db));
        return NULL;
    }
    int n = sqlite3_bind_parameter_count(st);
    if (n >= 1)
        sqlite3_bind_int64(st, 1, r->since);
    if (n >= 2)
        sqlite3_bind_int64(st, 2, r->until);
    if (n >= 3)
        sqlite3_bind_int64(st, 3, r->bucket);
    return st;
}

/* Ends a statement's walk: false (with the error) unless it ran to the end. */
static bool done(reader *r, sqlite3_stmt *st, int rc)
{
    if (rc != SQLITE_DONE)
        snprintf(r->err, r->errlen, "ledger: cannot read: %s", sqlite3_errmsg(r->db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE;
}

static const char *col_text(sqlite3_stmt *st, int i, const char *none)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s ? s : none;
}

static json_t *col_json(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER:
        return json_integer((json_int_t)sqlite3_column_int64(st, i));
    case SQLITE_FLOAT:
        return json_real(sqlite3_column_double(st, i));
    case SQLITE_TEXT:
        return json_string((const char *)sqlite3_column_text(st, i));
    default:
        return json_null();
    }
}

static json_t *zeros(size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer(0));
    return a;
}

/* Adds <v> to bucket <b> of series <name> in object <series>, creating it. */
static void series_add(json_t *series, const char *name, size_t nb, int64_t b, json_int_t v)
{
    if (b < 0 || (size_t)b >= nb)
        return;
    json_t *a = json_object_get(series, name);
    if (!a) {
        a = zeros(nb);
        json_object_set_new(series, name, a);
    }
    json_t *x = json_array_get(a, (size_t)b);
    json_integer_set(x, json_integer_value(x) + v);
}

/* The <SERIES_MAX> - 1 largest entries of <counts> ({name: n}) keep their
 * series; the others are summed into "(other)". */
static void fold_series(json_t *series, json_t *counts, size_t nb)
{
    if (json_object_size(series) <= SERIES_MAX)
        return;
    const char *k;
    json_t *v;
    json_t *keep = json_object();
    for (int round = 0; round < SERIES_MAX - 1; round++) {
        const char *best = NULL;
        json_int_t bn = -1;
        json_object_foreach(counts, k, v)
        {
            if (!json_object_get(keep, k) && json_integer_value(v) > bn) {
                best = k;
                bn = json_integer_value(v);
            }
        }
        if (best)
            json_object_set_new(keep, best, json_true());
    }
    json_t *other = zeros(nb);
    void *tmp;
    json_object_foreach_safe(series, tmp, k, v)
    {
        if (json_object_get(keep, k))
            continue;
        for (size_t i = 0; i < nb; i++) {
            json_t *x = json_array_get(other, i);
            json_integer_set(x, json_integer_value(x) + json_integer_value(json_array_get(v, i)));
        }
        json_object_del(series, k);
    }
    json_object_set_new(series, "(other)", other);
    json_decref(keep);
}

#define ERR_EXPR "(status >= 400 OR error IS NOT NULL)"
#define WINDOW   " FROM requests WHERE ts_ms >= ?1 AND ts_ms < ?2"

static bool read_totals(reader *r, json_t *out)
{
    sqlite3_stmt *st = query(r, "SELECT count(*), total(location = 'local'), total(location = "
                                "'cloud'), total(location IS NULL), total(" ERR_EXPR "),"
                                " total(input_tokens), total(output_tokens),"
                                " total(detected IS NOT NULL)" WINDOW);
    if (!st)
        return false;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        static const char *names[] = {"requests",      "local",          "cloud",
                                      "none",          "errors",         "input_tokens",
                                      "output_tokens", "with_detections"};
        for (int i = 0; i < 8; i++)
            json_object_set_new(out, names[i],
                                json_integer((json_int_t)sqlite3_column_double(st, i)));
        rc = sqlite3_step(st);
    }
    return done(r, st, rc);
}

static bool read_traffic(reader *r, json_t *out)
{
    json_object_set_new(out, "local", zeros(r->nb));
    json_object_set_new(out, "cloud", zeros(r->nb));
    json_object_set_new(out, "none", zeros(r->nb));
    json_object_set_new(out, "errors", zeros(r->nb));
    sqlite3_stmt *st = query(r, "SELECT (ts_ms - ?1) / ?3, coalesce(location, 'none'), count(*),"
                                " total(" ERR_EXPR ")" WINDOW " GROUP BY 1, 2");
    if (!st)
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t b = sqlite3_column_int64(st, 0);
        const char *loc = col_text(st, 1, "none");
        if (strcmp(loc, "local") != 0 && strcmp(loc, "cloud") != 0)
            loc = "none";
        series_add(out, loc, r->nb, b, (json_int_t)sqlite3_column_int64(st, 2));
        series_add(out, "errors", r->nb, b, (json_int_t)sqlite3_column_double(st, 3));
    }
    return done(r, st, rc);
}

/* Totals by rule (with local/cloud split) and by reason, and a series per
 * rule. */
static bool read_rules(reader *r, json_t *rules, json_t *reasons, json_t *series)
{
    sqlite3_stmt *st =
        query(r, "SELECT coalesce(rule, '(none)'), coalesce(location, 'none'), count(*)" WINDOW
                 " GROUP BY 1, 2 ORDER BY 1, 2");
    if (!st)
        return false;
    int rc;
    json_t *counts = json_object();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *rule = col_text(st, 0, "(none)"), *loc = col_text(st, 1, "none");
        json_int_t n = (json_int_t)sqlite3_column_int64(st, 2);
        json_t *o = json_object_get(rules, rule);
        if (!o) {
            o = json_pack("{s:I, s:I, s:I, s:I}", "requests", (json_int_t)0, "local", (json_int_t)0,
                          "cloud", (json_int_t)0, "none", (json_int_t)0);
            json_object_set_new(rules, rule, o);
        }
        const char *slot = strcmp(loc, "local") == 0 || strcmp(loc, "cloud") == 0 ? loc : "none";
        json_object_set_new(o, slot,
                            json_integer(json_integer_value(json_object_get(o, slot)) + n));
        json_object_set_new(o, "requests",
                            json_integer(json_integer_value(json_object_get(o, "requests")) + n));
        json_object_set_new(counts, rule,
                            json_integer(json_integer_value(json_object_get(o, "requests"))));
    }
    bool ok = done(r, st, rc);
    if (ok && (st = query(r, "SELECT coalesce(reason, '(none)'), count(*)" WINDOW
                             " GROUP BY 1 ORDER BY 2 DESC, 1"))) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            json_object_set_new(reasons, col_text(st, 0, "(none)"),
                                json_integer((json_int_t)sqlite3_column_int64(st, 1)));
        ok = done(r, st, rc);
    } else {
        ok = false;
    }
    if (ok && (st = query(r, "SELECT (ts_ms - ?1) / ?3, coalesce(rule, '(none)'), count(*)" WINDOW
                             " GROUP BY 1, 2"))) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            series_add(series, col_text(st, 1, "(none)"), r->nb, sqlite3_column_int64(st, 0),
                       (json_int_t)sqlite3_column_int64(st, 2));
        ok = done(r, st, rc);
        fold_series(series, counts, r->nb);
    } else {
        ok = false;
    }
    json_decref(counts);
    return ok;
}

static bool read_sensitivity(reader *r, json_t *mix, json_t *flow)
{
    sqlite3_stmt *st =
        query(r, "SELECT coalesce(declared, '(inferred)'), coalesce(sensitivity, '(unknown)'),"
                 " count(*)" WINDOW " GROUP BY 1, 2 ORDER BY 1, 2");
    if (!st)
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *eff = col_text(st, 1, "(unknown)");
        json_int_t n = (json_int_t)sqlite3_column_int64(st, 2);
        json_object_set_new(mix, eff,
                            json_integer(json_integer_value(json_object_get(mix, eff)) + n));
        json_array_append_new(flow, json_pack("{s:s, s:s, s:I}", "declared",
                                              col_text(st, 0, "(inferred)"), "effective", eff,
                                              "requests", n));
    }
    return done(r, st, rc);
}

static bool read_detected(reader *r, json_t *out)
{
    sqlite3_stmt *st = query(r, "SELECT j.key, total(j.value) FROM requests,"
                                " json_each(CASE WHEN json_valid(requests.detected) THEN"
                                " requests.detected ELSE '{}' END) AS j"
                                " WHERE ts_ms >= ?1 AND ts_ms < ?2 AND detected IS NOT NULL"
                                " GROUP BY j.key ORDER BY 2 DESC, 1");
    if (!st)
        return false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_object_set_new(out, col_text(st, 0, "?"),
                            json_integer((json_int_t)sqlite3_column_double(st, 1)));
    return done(r, st, rc);
}

/* Values gathered for percentiles. */
typedef struct vals {
    double *v;
    size_t n, cap;
} vals;

static bool vals_add(vals *a, double x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        double *nv = seam_realloc(a->v, cap * sizeof *nv);
        if (!nv)
            return false;
        a->v = nv;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return true;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* {"n", "p50", "p95", "p99"} by nearest rank; null percentiles when empty. */
static json_t *percentiles(vals *a)
{
    json_t *o = json_pack("{s:I}", "n", (json_int_t)a->n);
    static const struct {
        const char *name;
        double p;
    } ps[] = {{"p50", 0.50}, {"p95", 0.95}, {"p99", 0.99}};
    if (a->n)
        qsort(a->v, a->n, sizeof *a->v, cmp_double);
    for (size_t i = 0; i < 3; i++) {
        if (!a->n) {
            json_object_set_new(o, ps[i].name, json_null());
            continue;
        }
        double rank = ceil(ps[i].p * (double)a->n);
        size_t k = rank < 1 ? 0 : (size_t)rank - 1;
        json_object_set_new(o, ps[i].name, json_real(a->v[k < a->n ? k : a->n - 1]));
    }
    return o;
}

typedef struct lat {
    vals total, ttft, gateway;
} lat;

static void lat_free(lat *l)
{
    seam_free(l->total.v);
    seam_free(l->ttft.v);
    seam_free(l->gateway.v);
    memset(l, 0, sizeof *l);
}

static json_t *lat_json(const char *name, lat *l)
{
    json_t *o = json_object();
    if (name)
        json_object_set_new(o, "backend", json_string(name));
    json_object_set_new(o, "total", percentiles(&l->total));
    json_object_set_new(o, "ttft", percentiles(&l->ttft));
    json_object_set_new(o, "gateway", percentiles(&l->gateway));
    return o;
}

static bool read_latency(reader *r, json_t *per_backend, json_t *all_out)
{
    sqlite3_stmt *st = query(r, "SELECT backend, ms_total, ms_ttft, ms_gateway" WINDOW
                                " AND backend IS NOT NULL ORDER BY backend");
    if (!st)
        return false;
    lat one = {0}, all = {0};
    char cur[SEAM_LEDGER_FIELD_MAX + 1] = "";
    bool have = false, mem = true;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *b = col_text(st, 0, "");
        if (have && strcmp(b, cur) != 0) {
            json_array_append_new(per_backend, lat_json(cur, &one));
            lat_free(&one);
        }
        snprintf(cur, sizeof cur, "%s", b);
        have = true;
        for (int c = 1; c <= 3 && mem; c++) {
            if (sqlite3_column_type(st, c) == SQLITE_NULL)
                continue;
            double x = sqlite3_column_double(st, c);
            vals *v1 = c == 1 ? &one.total : c == 2 ? &one.ttft : &one.gateway;
            vals *v2 = c == 1 ? &all.total : c == 2 ? &all.ttft : &all.gateway;
            mem = vals_add(v1, x) && vals_add(v2, x);
        }
        if (!mem)
            break;
    }
    if (have && mem)
        json_array_append_new(per_backend, lat_json(cur, &one));
    json_t *a = lat_json(NULL, &all);
    json_object_update(all_out, a);
    json_decref(a);
    lat_free(&one);
    lat_free(&all);
    if (!mem) {
        sqlite3_finalize(st);
        snprintf(r->err, r->errlen, "out of memory");
        return false;
    }
    return done(r, st, rc);
}

/* The configured backends with their live state and zero counts, into
 * <out>, each also under its name in <byname> (may be NULL). */
static void backends_configured(const seam_config *cfg, const seam_admin_live *live, json_t *out,
                                json_t *byname)
{
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        const seam_admin_backend_live *bl = live && live->backends ? &live->backends[i] : NULL;
        json_t *o = json_pack(
            "{s:s, s:s, s:b, s:b, s:b, s:I, s:I, s:I, s:I, s:f, s:f, s:n, s:s, s:s?, s:I}", "name",
            b->name, "location", b->location == SEAM_LOC_CLOUD ? "cloud" : "local", "configured", 1,
            "priced", b->price.set, "hardware", b->hardware.set, "requests", (json_int_t)0,
            "errors", (json_int_t)0, "input_tokens", (json_int_t)0, "output_tokens", (json_int_t)0,
            "cost_usd", 0.0, "counterfactual_usd", 0.0, "tokens_per_s", "health",
            health_name(bl ? bl->health : SEAM_HEALTH_UNKNOWN), "error",
            bl && bl->error[0] ? bl->error : NULL, "inflight", (json_int_t)(bl ? bl->inflight : 0));
        json_array_append_new(out, o);
        if (byname)
            json_object_set(byname, b->name, o);
    }
}

/* Tokens, cost and speed per backend; the configured backends first (with
 * their live state), then names only the ledger knows. */
static bool read_backends(reader *r, const seam_config *cfg, const seam_admin_live *live,
                          json_t *out)
{
    json_t *byname = json_object();
    backends_configured(cfg, live, out, byname);
    sqlite3_stmt *st = query(
        r, "SELECT backend, max(location), count(*), total(" ERR_EXPR "), total(input_tokens),"
           " total(output_tokens), total(cost_usd), total(counterfactual_usd),"
           " total(CASE WHEN ms_ttft IS NOT NULL AND ms_total > ms_ttft THEN output_tokens END),"
           " total(CASE WHEN ms_ttft IS NOT NULL AND ms_total > ms_ttft AND output_tokens IS NOT"
           " NULL THEN ms_total - ms_ttft END)" WINDOW
           " AND backend IS NOT NULL GROUP BY backend ORDER BY backend");
    if (!st) {
        json_decref(byname);
        return false;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = col_text(st, 0, "");
        json_t *o = json_object_get(byname, name);
        if (!o) {
            o = json_pack("{s:s, s:s, s:b}", "name", name, "location", col_text(st, 1, "local"),
                          "configured", 0);
            json_array_append_new(out, o);
            json_object_set(byname, name, o);
        }
        json_object_set_new(o, "requests", json_integer((json_int_t)sqlite3_column_int64(st, 2)));
        json_object_set_new(o, "errors", json_integer((json_int_t)sqlite3_column_double(st, 3)));
        json_object_set_new(o, "input_tokens",
                            json_integer((json_int_t)sqlite3_column_double(st, 4)));
        json_object_set_new(o, "output_tokens",
                            json_integer((json_int_t)sqlite3_column_double(st, 5)));
        json_object_set_new(o, "cost_usd", json_real(sqlite3_column_double(st, 6)));
        json_object_set_new(o, "counterfactual_usd", json_real(sqlite3_column_double(st, 7)));
        double toks = sqlite3_column_double(st, 8), ms = sqlite3_column_double(st, 9);
        json_object_set_new(o, "tokens_per_s",
                            ms > 0 ? json_real(toks / (ms / 1000.0)) : json_null());
    }
    json_decref(byname);
    return done(r, st, rc);
}

/* Savings as `seam report` computes them over the window, and their
 * cumulative course: per bucket, counterfactual minus the ledger cost of
 * every backend but hardware ones, whose fixed cost accrues by the hour
 * instead, so the last point is the report's total. */
static bool read_savings(reader *r, const seam_config *cfg, const char *db_path, json_t *out)
{
    seam_report rep;
    seam_report_query q;
    seam_report_query_init(&q);
    q.since_ms = r->since;
    q.until_ms = r->until;
    q.now_ms = r->until;
    q.by = SEAM_REPORT_BY_BACKEND;
    if (seam_report_build(cfg, db_path, &q, &rep, r->err, r->errlen) != SEAM_OK)
        return false;
    const seam_report_group *t = &rep.total;
    json_object_set_new(out, "reference", rep.reference ? json_string(rep.reference) : json_null());
    json_object_set_new(out, "cost_usd", json_real(t->cost_usd));
    json_object_set_new(out, "cloud_cost_usd", json_real(t->cloud_cost_usd));
    json_object_set_new(out, "local_cost_usd", json_real(t->local_cost_usd));
    json_object_set_new(out, "counterfactual_usd", json_real(t->counterfactual_usd));
    json_object_set_new(out, "savings_usd", json_real(t->savings_usd));
    json_object_set_new(out, "local_share_requests", json_real(t->local_share_requests));
    json_object_set_new(out, "local_share_tokens", json_real(t->local_share_tokens));
    json_t *hw = json_array();
    double hourly = 0;
    for (size_t i = 0; i < rep.nhw; i++) {
        const seam_report_hardware *h = &rep.hw[i];
        hourly += h->hourly_usd;
        json_array_append_new(
            hw,
            json_pack("{s:s, s:f, s:f, s:f, s:I, s:f, s:o, s:f, s:o, s:o}", "backend", h->backend,
                      "capex_usd", h->capex_usd, "hourly_usd", h->hourly_usd, "fixed_cost_usd",
                      h->fixed_cost_usd, "tokens", (json_int_t)h->tokens, "counterfactual_usd",
                      h->counterfactual_usd, "effective_usd_per_mtok",
                      h->has_effective ? json_real(h->effective_usd_per_mtok) : json_null(),
                      "daily_savings_usd", h->daily_savings_usd, "first_ms",
                      h->has_first ? json_integer(h->first_ms) : json_null(), "break_even_ms",
                      h->breaks_even ? json_integer((json_int_t)h->break_even_ms) : json_null()));
    }
    json_object_set_new(out, "hardware", hw);

    /* The cumulative series. */
    double *inc = seam_calloc(r->nb ? r->nb : 1, sizeof *inc);
    sqlite3_stmt *st =
        inc ? query(r, "SELECT (ts_ms - ?1) / ?3, coalesce(backend, ''),"
                       " total(counterfactual_usd), total(cost_usd)" WINDOW " GROUP BY 1, 2")
            : NULL;
    if (!st) {
        if (!inc)
            snprintf(r->err, r->errlen, "out of memory");
        seam_free(inc);
        seam_report_free(&rep);
        return false;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t b = sqlite3_column_int64(st, 0);
        if (b < 0 || (size_t)b >= r->nb)
            continue;
        const char *name = col_text(st, 1, "");
        bool fixed = false;
        for (size_t i = 0; i < rep.nhw; i++)
            fixed = fixed || strcmp(rep.hw[i].backend, name) == 0;
        inc[b] += sqlite3_column_double(st, 2) - (fixed ? 0 : sqlite3_column_double(st, 3));
    }
    bool ok = done(r, st, rc);
    json_t *cum = json_array();
    double sum = 0;
    for (size_t b = 0; b < r->nb; b++) {
        sum += inc[b];
        int64_t end = r->since + (int64_t)(b + 1) * r->bucket;
        if (end > r->until)
            end = r->until;
        json_array_append_new(cum, json_real(sum - hourly * (double)(end - r->since) / 3600000.0));
    }
    json_object_set_new(out, "cumulative", cum);
    seam_free(inc);
    seam_report_free(&rep);
    return ok;
}

static bool read_recent(reader *r, json_t *out, int limit)
{
    sqlite3_stmt *st =
        query(r, "SELECT id, ts_ms, tenant, kind, declared, sensitivity, rule, reason, backend,"
                 " location, status, error, ms_total, detected IS NOT NULL" WINDOW
                 " ORDER BY ts_ms DESC, id DESC LIMIT ?4");
    if (!st)
        return false;
    sqlite3_bind_int(st, 4, limit);
    static const char *names[] = {"id",          "ts_ms", "tenant",  "kind",    "declared",
                                  "sensitivity", "rule",  "reason",  "backend", "location",
                                  "status",      "error", "ms_total"};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; i < 13; i++)
            json_object_set_new(o, names[i], col_json(st, i));
        json_object_set_new(o, "detected", json_boolean(sqlite3_column_int(st, 13)));
        json_array_append_new(out, o);
    }
    return done(r, st, rc);
}

static bool reader_open(reader *r, const char *db_path)
{
    if (sqlite3_open_v2(db_path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(r->err, r->errlen, "ledger %s: cannot open for reading: %s", db_path,
                 r->db ? sqlite3_errmsg(r->db) : "out of memory");
        sqlite3_close(r->db);
        r->db = NULL;
        return false;
    }
    sqlite3_busy_timeout(r->db, SEAM_LEDGER_BUSY_MS);
    return true;
}

json_t *seam_admin_stats_json(const seam_config *cfg, const char *db_path, seam_admin_range range,
                              int64_t now_ms, const seam_admin_live *live, char *err, size_t errlen)
{
    reader r = {.bucket = seam_admin_bucket_ms(range), .err = err, .errlen = errlen};
    /* Buckets sit on multiples of their width, so a chart does not shift
     * from one refresh to the next; the last one is the current one. */
    int64_t end = (now_ms / r.bucket + 1) * r.bucket;
    r.since = end - seam_admin_range_ms(range);
    r.until = now_ms + 1; /* this very millisecond included */
    r.nb = (size_t)(seam_admin_range_ms(range) / r.bucket);

    json_t *o = json_object(), *t = json_array();
    for (size_t b = 0; b < r.nb; b++)
        json_array_append_new(t, json_integer(r.since + (json_int_t)b * r.bucket));
    json_object_set_new(o, "window",
                        json_pack("{s:s, s:I, s:I, s:I, s:I, s:o}", "range",
                                  seam_admin_range_name(range), "since_ms", (json_int_t)r.since,
                                  "until_ms", (json_int_t)r.until, "bucket_ms",
                                  (json_int_t)r.bucket, "buckets", (json_int_t)r.nb, "t", t));
    json_t *totals = json_object(), *traffic = json_object(), *rules = json_object(),
           *reasons = json_object(), *rule_series = json_object(), *mix = json_object(),
           *flow = json_array(), *detected = json_object(), *lat_b = json_array(),
           *lat_all = json_object(), *backends = json_array(), *savings = json_object(),
           *recent = json_array();
    json_object_set_new(o, "totals", totals);
    json_object_set_new(o, "traffic", traffic);
    json_object_set_new(o, "rules", rules);
    json_object_set_new(o, "reasons", reasons);
    json_object_set_new(o, "rule_series", rule_series);
    json_object_set_new(o, "sensitivity", json_pack("{s:o, s:o}", "effective", mix, "flow", flow));
    json_object_set_new(o, "detected", detected);
    json_object_set_new(o, "latency", json_pack("{s:o, s:o}", "backends", lat_b, "all", lat_all));
    json_object_set_new(o, "backends", backends);
    json_object_set_new(o, "savings", savings);
    json_object_set_new(o, "recent", recent);
    json_object_set_new(o, "live", seam_admin_live_json(cfg, live, now_ms));

    bool ok = true;
    if (db_path && db_path[0]) {
        ok = reader_open(&r, db_path) && read_totals(&r, totals) && read_traffic(&r, traffic) &&
             read_rules(&r, rules, reasons, rule_series) && read_sensitivity(&r, mix, flow) &&
             read_detected(&r, detected) && read_latency(&r, lat_b, lat_all) &&
             read_backends(&r, cfg, live, backends) && read_recent(&r, recent, RECENT_MAX) &&
             read_savings(&r, cfg, db_path, savings);
        sqlite3_close(r.db);
    } else {
        /* No ledger: the live part only; the page says so. */
        backends_configured(cfg, live, backends, NULL);
    }
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- one request: "why did this go there?" ---- */

typedef const char *(*enum_name_fn)(int);
static const char *kind_n(int v)
{
    return seam_kind_name((seam_kind)v);
}
static const char *sens_n(int v)
{
    return seam_sensitivity_name((seam_sensitivity)v);
}
static const char *cplx_n(int v)
{
    return seam_complexity_name((seam_complexity)v);
}

/* One condition of a rule against what the ledger recorded: <got> NULL
 * means the ledger does not hold that input, so "ok" is null. */
static void condition(json_t *list, const char *field, const char *want, const char *got, int ok)
{
    json_array_append_new(list,
                          json_pack("{s:s, s:s, s:s?, s:o}", "field", field, "want", want, "got",
                                    got, "ok", ok < 0 ? json_null() : json_boolean(ok)));
}

static void mask_condition(json_t *list, const char *field, uint32_t mask, int count,
                           enum_name_fn name, const char *got)
{
    if (!mask)
        return;
    char want[160] = "";
    size_t o = 0;
    int ok = got ? 0 : -1;
    for (int v = 0; v < count; v++) {
        if (!(mask & (1u << v)))
            continue;
        o += (size_t)snprintf(want + o, o < sizeof want ? sizeof want - o : 0, "%s%s",
                              o ? ", " : "", name(v));
        if (o >= sizeof want)
            o = sizeof want - 1;
        if (got && strcmp(got, name(v)) == 0)
            ok = 1;
    }
    condition(list, field, want, got, ok);
}

/* Every configured rule in order, each condition checked against the
 * row's kind, sensitivity, complexity and token estimate. */
static json_t *explain_policy(const seam_config *cfg, const char *rule, const char *kind,
                              const char *sens, const char *cplx, bool has_est, int64_t est)
{
    json_t *o = json_object(), *rules = json_array();
    char est_s[32] = "";
    if (has_est)
        snprintf(est_s, sizeof est_s, "%lld", (long long)est);
    for (size_t i = 0; i < cfg->nrules; i++) {
        const seam_rule_conf *rc = &cfg->rules[i];
        json_t *conds = json_array();
        mask_condition(conds, "kind", rc->kinds, SEAM_KIND__COUNT, kind_n, kind);
        mask_condition(conds, "sensitivity", rc->sensitivities, SEAM_SENS__COUNT, sens_n, sens);
        mask_condition(conds, "complexity", rc->complexities, SEAM_CPLX__COUNT, cplx_n, cplx);
        char want[48];
        if (rc->has_tokens_gt) {
            snprintf(want, sizeof want, "> %llu", (unsigned long long)rc->tokens_gt);
            condition(conds, "tokens", want, has_est ? est_s : NULL,
                      has_est ? (uint64_t)est > rc->tokens_gt : -1);
        }
        if (rc->has_tokens_lte) {
            snprintf(want, sizeof want, "<= %llu", (unsigned long long)rc->tokens_lte);
            condition(conds, "tokens", want, has_est ? est_s : NULL,
                      has_est ? (uint64_t)est <= rc->tokens_lte : -1);
        }
        if (rc->nmodels) {
            char models[160] = "";
            size_t m = 0;
            for (size_t k = 0; k < rc->nmodels && m < sizeof models; k++)
                m += (size_t)snprintf(models + m, sizeof models - m, "%s%s", k ? ", " : "",
                                      rc->models[k]);
            condition(conds, "model", models, NULL, -1);
        }
        if (rc->has_images >= 0)
            condition(conds, "images", rc->has_images ? "yes" : "no", NULL, -1);
        if (rc->has_tools >= 0)
            condition(conds, "tools", rc->has_tools ? "yes" : "no", NULL, -1);
        json_array_append_new(
            rules, json_pack("{s:s, s:i, s:s, s:b, s:b, s:o}", "name", rc->name, "position",
                             (int)i + 1, "route", cfg->pools[rc->pool].name, "redact", rc->redact,
                             "matched", rule && strcmp(rule, rc->name) == 0, "conditions", conds));
    }
    json_object_set_new(o, "rules", rules);
    json_object_set_new(o, "default_pool", json_string(cfg->pools[cfg->default_pool].name));
    return o;
}

int seam_admin_request_json(const seam_config *cfg, const char *db_path, const char *id,
                            json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!db_path || !db_path[0]) {
        snprintf(err, errlen, "the ledger is off (state.sqlite is \"\")");
        return -1;
    }
    reader r = {.err = err, .errlen = errlen};
    if (!reader_open(&r, db_path))
        return -1;
    sqlite3_stmt *st = query(&r, "SELECT * FROM requests WHERE id = ?4");
    int found = -1;
    if (st) {
        sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            json_t *row = json_object();
            for (int i = 0; i < sqlite3_column_count(st); i++) {
                const char *name = sqlite3_column_name(st, i);
                json_t *v = col_json(st, i);
                if (strcmp(name, "detected") == 0 && json_is_string(v)) {
                    json_t *d = json_loads(json_string_value(v), 0, NULL);
                    if (d) {
                        json_decref(v);
                        v = d;
                    }
                }
                json_object_set_new(row, name, v);
            }
            json_t *est = json_object_get(row, "tokens_est");
            json_t *policy = explain_policy(
                cfg, json_string_value(json_object_get(row, "rule")),
                json_string_value(json_object_get(row, "kind")),
                json_string_value(json_object_get(row, "sensitivity")),
                json_string_value(json_object_get(row, "complexity")), json_is_integer(est),
                json_is_integer(est) ? (int64_t)json_integer_value(est) : 0);
            *out = json_pack("{s:o, s:o}", "request", row, "policy", policy);
            rc = sqlite3_step(st);
            found = 1;
        } else if (rc == SQLITE_DONE) {
            found = 0;
        }
        if (found >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW) {
            snprintf(err, errlen, "ledger: cannot read: %s", sqlite3_errmsg(r.db));
            json_decref(*out);
            *out = NULL;
            found = -1;
        } else if (found < 0) {
            snprintf(err, errlen, "ledger: cannot read: %s", sqlite3_errmsg(r.db));
        }
        sqlite3_finalize(st);
    }
    sqlite3_close(r.db);
    return found;
}

/* ---- handlers ---- */

static void reply_json_doc(struct evhttp_request *req, json_t *doc)
{
    char *s = seam_json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12));
    if (!s) {
        reply_error(req, 500, "server_error", "out_of_memory", "out of memory");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    struct evbuffer *b = evbuffer_new();
    if (b)
        evbuffer_add(b, s, strlen(s));
    evhttp_send_reply(req, 200, NULL, b);
    if (b)
        evbuffer_free(b);
    free(s);
}

/* The value of query parameter <name> of <req> copied into <out>; false
 * when absent or too long. */
static bool query_param(struct evhttp_request *req, const char *name, char *out, size_t n)
{
    const struct evhttp_uri *u = evhttp_request_get_evhttp_uri(req);
    const char *q = u ? evhttp_uri_get_query(u) : NULL;
    struct evkeyvalq kv;
    TAILQ_INIT(&kv);
    bool ok = false;
    if (q && evhttp_parse_query_str(q, &kv) == 0) {
        const char *v = evhttp_find_header(&kv, name);
        if (v && strlen(v) < n) {
            memcpy(out, v, strlen(v) + 1);
            ok = true;
        }
    }
    evhttp_clear_headers(&kv);
    return ok;
}

static const char *ledger_file(seam_worker *w)
{
    return w->srv->ledger ? seam_ledger_path(w->srv->ledger) : NULL;
}

static bool admitted(seam_worker *w, struct evhttp_request *req)
{
    seam_ui_access a = seam_ui_check_request(w, req);
    if (a == SEAM_UI_ALLOW)
        return true;
    seam_ui_refuse(req, a, false);
    return false;
}

void seam_admin_stats(seam_worker *w, struct evhttp_request *req)
{
    if (!admitted(w, req))
        return;
    char rs[8] = "1h";
    seam_admin_range range = SEAM_ADMIN_RANGE_1H;
    if (query_param(req, "range", rs, sizeof rs) ? seam_admin_range_parse(rs, &range) != 0
                                                 : false) {
        reply_error(req, 400, "invalid_request_error", "invalid_range",
                    "range must be 15m, 1h, 24h or 7d");
        return;
    }
    seam_admin_backend_live *bl = seam_calloc(w->cfg->nbackends + 1, sizeof *bl);
    if (!bl) {
        reply_error(req, 500, "server_error", "out_of_memory", "out of memory");
        return;
    }
    seam_admin_live live;
    seam_admin_live_read(w, &live, bl);
    char err[512] = "";
    json_t *doc = seam_admin_stats_json(w->cfg, ledger_file(w), range, seam_ui_now_ms(), &live, err,
                                        sizeof err);
    seam_admin_live_free(&live);
    seam_free(bl);
    if (!doc) {
        reply_error(req, 500, "server_error", "ledger_unreadable", err);
        return;
    }
    reply_json_doc(req, doc);
    json_decref(doc);
}

void seam_admin_requests(seam_worker *w, struct evhttp_request *req)
{
    if (!admitted(w, req))
        return;
    char id[SEAM_LEDGER_FIELD_MAX + 1];
    if (!query_param(req, "id", id, sizeof id) || !id[0]) {
        reply_error(req, 400, "invalid_request_error", "missing_id",
                    "/admin/requests needs ?id=<request id> (X-Seam-Request-Id)");
        return;
    }
    char err[512] = "";
    json_t *doc = NULL;
    int rc = seam_admin_request_json(w->cfg, ledger_file(w), id, &doc, err, sizeof err);
    if (rc == 0) {
        reply_error(req, 404, "invalid_request_error", "request_not_found",
                    "no such request in the ledger (rows are written every state.batch_ms)");
        return;
    }
    if (rc < 0) {
        reply_error(req, w->srv->ledger ? 500 : 404, "server_error", "ledger_unreadable", err);
        return;
    }
    reply_json_doc(req, doc);
    json_decref(doc);
}

/* ---- server-sent events ---- */

/* One /admin/events stream, on its worker's loop. */
typedef struct events {
    seam_worker *w;
    struct evhttp_request *req;
    struct evhttp_connection *conn;
    struct event *tick;  /* every second */
    struct event *watch; /* the client hanging up */
    seam_admin_backend_live *bl;
    uint64_t seq;
} events;

static void events_free(events *e)
{
    if (e->tick)
        event_free(e->tick);
    if (e->watch)
        event_free(e->watch);
    seam_free(e->bl);
    seam_free(e);
}

/* The connection is going away (the client left, or the worker stops):
 * libevent frees the request with it. */
static void events_closed(struct evhttp_connection *conn, void *arg)
{
    events_free(arg);
}

static void events_send(events *e)
{
    seam_admin_live live;
    seam_admin_live_read(e->w, &live, e->bl);
    json_t *o = seam_admin_live_json(e->w->cfg, &live, seam_ui_now_ms());
    seam_admin_live_free(&live);
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    struct evbuffer *b = evbuffer_new();
    if (b && s) {
        evbuffer_add_printf(b, "id: %llu\nevent: live\ndata: %s\n\n", (unsigned long long)++e->seq,
                            s);
        evhttp_send_reply_chunk(e->req, b);
    }
    if (b)
        evbuffer_free(b);
    free(s);
}

static void events_tick(evutil_socket_t fd, short what, void *arg)
{
    events_send(arg);
}

/* As the proxy's watcher: libevent does not read a connection while it
 * writes a reply, so end of file is noticed by peeking. */
static void events_readable(evutil_socket_t fd, short what, void *arg)
{
    events *e = arg;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0) {
        event_del(e->watch); /* a pipelined request: nothing more to learn */
        return;
    }
    evhttp_connection_free(e->conn); /* runs events_closed */
}

void seam_admin_events(seam_worker *w, struct evhttp_request *req)
{
    if (!admitted(w, req))
        return;
    events *e = seam_calloc(1, sizeof *e);
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (!e || fd < 0 || !(e->bl = seam_calloc(w->cfg->nbackends + 1, sizeof *e->bl)) ||
        !(e->tick = event_new(w->base, -1, EV_PERSIST, events_tick, e)) ||
        !(e->watch = event_new(w->base, fd, EV_READ | EV_PERSIST, events_readable, e))) {
        if (e)
            events_free(e);
        reply_error(req, 500, "server_error", "out_of_memory", "cannot start the event stream");
        return;
    }
    e->w = w;
    e->req = req;
    e->conn = conn;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "text/event-stream");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_add_header(h, "X-Accel-Buffering", "no");
    evhttp_send_reply_start(req, 200, "OK");
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        evhttp_send_reply_end(req);
        events_free(e);
        return;
    }
    evhttp_connection_set_closecb(conn, events_closed, e);
    struct evbuffer *b = evbuffer_new();
    if (b) {
        /* EventSource reconnects after this long when the stream breaks. */
        evbuffer_add_printf(b, "retry: 2000\n\n");
        evhttp_send_reply_chunk(req, b);
        evbuffer_free(b);
    }
    events_send(e);
    struct timeval second = {1, 0};
    event_add(e->tick, &second);
    event_add(e->watch, NULL);
}
