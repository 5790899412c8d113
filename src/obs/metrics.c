/*
 * The metrics registry and its Prometheus text exposition; see metrics.h.
 *
 * Every label dimension is a small table of values fixed at creation. Its
 * first two slots are "" (the request had none) and "(other)" (a name the
 * configuration does not know); the configured names follow, without
 * duplicates. A record's strings usually point into the configuration
 * snapshot the registry was built from, so a lookup first compares
 * pointers and only then strings: a handful of comparisons, no hashing.
 *
 * Counters are _Atomic uint64_t updated with relaxed adds: a scrape needs
 * each value to be exact eventually, not a consistent snapshot across
 * values. Sums in dollars and seconds are doubles stored in the same cells
 * and added with a compare-and-swap loop (as the Go client does).
 * Histogram buckets are kept per bucket, not cumulative, so an observation
 * touches one bucket cell and the sum; the scrape accumulates them and
 * derives _count from the buckets, so _count always equals the +Inf bucket.
 */
#include "obs/metrics.h"
#include "api/ingress.h"
#include "core/alloc.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef _Atomic uint64_t counter;

/* ---- label dimensions ---- */

#define SLOT_NONE  0 /* "" */
#define SLOT_OTHER 1 /* "(other)" */

typedef struct dim_key {
    const void *ptr; /* a pointer records carry for names[slot] */
    size_t slot;
} dim_key;

typedef struct dim {
    char **names; /* unique label values, owned */
    size_t n, cap;
    dim_key *keys;
    size_t nkeys, capkeys;
} dim;

/* <p> with room for <need> elements of <elem> bytes (<*cap> now), or NULL
 * with <p> untouched when out of memory. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap * 2 : 8;
    while (c < need)
        c *= 2;
    void *q = seam_realloc(p, c * elem);
    if (q)
        *cap = c;
    return q;
}

/* Adds the label value <name>, remembering <key> (a pointer records will
 * carry for it, or NULL) as a shortcut. A name already present maps <key>
 * to the existing slot. Returns false when out of memory. */
static bool dim_add(dim *d, const char *name, const void *key)
{
    size_t slot = d->n;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->names[i], name) == 0) {
            slot = i;
            break;
        }
    if (slot == d->n) {
        char **names = grow(d->names, &d->cap, d->n + 1, sizeof(char *));
        if (!names)
            return false;
        d->names = names;
        if (!(d->names[d->n] = seam_strdup(name)))
            return false;
        d->n++;
    }
    if (key) {
        dim_key *keys = grow(d->keys, &d->capkeys, d->nkeys + 1, sizeof(dim_key));
        if (!keys)
            return false;
        d->keys = keys;
        d->keys[d->nkeys++] = (dim_key){key, slot};
    }
    return true;
}

static bool dim_init(dim *d)
{
    memset(d, 0, sizeof(*d));
    return dim_add(d, "", NULL) && dim_add(d, "(other)", NULL);
}

static void dim_free(dim *d)
{
    for (size_t i = 0; i < d->n; i++)
        seam_free(d->names[i]);
    seam_free(d->names);
    seam_free(d->keys);
}

/* The slot of <s>: SLOT_NONE for NULL, SLOT_OTHER when unknown. */
static size_t dim_find(const dim *d, const char *s)
{
    if (!s)
        return SLOT_NONE;
    for (size_t i = 0; i < d->nkeys; i++)
        if (d->keys[i].ptr == s)
            return d->keys[i].slot;
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->names[i], s) == 0)
            return i;
    return SLOT_OTHER;
}

/* ---- status codes ---- */

/* The codes seam answers itself or passes through often enough to deserve
 * their own series; any other code is counted under its class. */
static const int status_codes[] = {200, 400, 401, 403, 404, 408, 413,
                                   422, 429, 499, 500, 502, 503, 504};
#define NCODES       (sizeof(status_codes) / sizeof(status_codes[0]))
#define STATUS_SLOTS (NCODES + 6) /* codes, 1xx..5xx, other */
#define STATUS_TABLE 600
static const char *const status_classes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};

static void status_label(size_t slot, char out[8])
{
    if (slot < NCODES)
        snprintf(out, 8, "%d", status_codes[slot]);
    else
        snprintf(out, 8, "%s", status_classes[slot - NCODES]);
}

/* ---- histograms ---- */

/* Whole requests and first tokens: milliseconds to minutes. */
static const double bounds_total[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                      2.5,   5,    10,    20,   30,  60,   120, 300};
/* seam's own share: microseconds to seconds. */
static const double bounds_added[] = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                      0.001,   0.0025,   0.005,   0.01,   0.025,   0.05,
                                      0.1,     0.25,     0.5,     1};

enum { H_TOTAL = 0, H_TTFT, H_ADDED, H__COUNT };

static const struct hist_spec {
    const char *name, *help;
    const double *bounds;
    size_t nb;
} hists[H__COUNT] = {
    {"seam_request_duration_seconds",
     "Time from a request's arrival to its last byte, by serving backend.", bounds_total,
     sizeof(bounds_total) / sizeof(bounds_total[0])},
    {"seam_time_to_first_token_seconds",
     "Time from a request's arrival to the backend's first byte, by serving backend.", bounds_total,
     sizeof(bounds_total) / sizeof(bounds_total[0])},
    {"seam_gateway_added_seconds",
     "Latency seam itself added to a request (total minus upstream time), by serving backend.",
     bounds_added, sizeof(bounds_added) / sizeof(bounds_added[0])},
};

/* Cells per backend of histogram <h>: nb buckets, +Inf, sum. */
#define HIST_CELLS(h) (hists[h].nb + 2)

/* ---- the registry ---- */

static const char *const token_dirs[] = {"input", "output", "reasoning", "cached"};
#define NDIRS 4

static const char *const block_names[SEAM_BLOCK__COUNT] = {
    "clearance", "budget", "rate_limit", "auth", "capacity", "no_backend", "invalid",
};

struct seam_metrics {
    char *version;
    double start_time; /* unix seconds */
    dim ingress, pool, backend, rule;
    size_t *backend_slot; /* cfg backend index -> backend slot */
    size_t nbackends;     /* in the configuration */
    uint8_t status_slot[STATUS_TABLE];

    /* seam_requests_total: rows of (backend x status) cells, one row per
     * (ingress, pool, rule), allocated on first use. */
    counter *_Atomic *rows;
    size_t nrows, row_cells;

    /* Per backend slot (slots below 2 are never used). */
    counter *tokens;         /* [slot * NDIRS + direction] */
    counter *cost, *cfcost;  /* doubles */
    counter *hist[H__COUNT]; /* [slot * HIST_CELLS(h) + cell] */
    _Atomic int64_t *inflight;

    counter sensitivity[SEAM_SENS__COUNT];
    counter blocked[SEAM_BLOCK__COUNT];
    char **type_names; /* entity types, owned */
    counter *detected;
    size_t ntypes;
    counter lost; /* observations dropped: a row could not be allocated */

    const seam_health_table *health;
    seam_breakers *breakers; /* circuit state per backend, read at scrape */
    seam_metrics_queue_fn ledger_fn;
    void *ledger_ctx;
    seam_audit *audit;
};

const char *seam_block_reason_name(seam_block_reason r)
{
    return (unsigned)r < SEAM_BLOCK__COUNT ? block_names[r] : "?";
}

static void inc(counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

static void add_double(counter *c, double v)
{
    uint64_t old = atomic_load_explicit(c, memory_order_relaxed), next;
    do {
        double d;
        memcpy(&d, &old, sizeof d);
        d += v;
        memcpy(&next, &d, sizeof next);
    } while (!atomic_compare_exchange_weak_explicit(c, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
}

static double get_double(counter *c)
{
    uint64_t u = get(c);
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static void *alloc_cells(size_t n, size_t elem)
{
    /* calloc's zero bytes are a valid zero for lock-free atomic integers
     * on every platform seam targets; 0.0 is all zero bits too. */
    return seam_calloc(n ? n : 1, elem);
}

seam_metrics *seam_metrics_new(const seam_config *cfg, const seam_scanner *scanner,
                               const char *version)
{
    seam_metrics *m = seam_calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    m->start_time = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    bool ok = (m->version = seam_strdup(version ? version : "")) && dim_init(&m->ingress) &&
              dim_init(&m->pool) && dim_init(&m->backend) && dim_init(&m->rule);

    /* Every ingress table seam serves; a new one belongs here too. */
    const seam_ingress *ings[] = {
        &seam_ingress_openai,          &seam_ingress_anthropic,         &seam_ingress_ollama_chat,
        &seam_ingress_ollama_generate, &seam_ingress_openai_embeddings, &seam_ingress_ollama_embed};
    for (size_t i = 0; ok && i < sizeof(ings) / sizeof(ings[0]); i++)
        ok = dim_add(&m->ingress, ings[i]->name, ings[i]->name);
    for (size_t i = 0; ok && i < cfg->npools; i++)
        ok = dim_add(&m->pool, cfg->pools[i].name, cfg->pools[i].name);
    /* The decision's rule is a configured rule's name, "default" or
     * "pinned" (policy/decide.h). */
    ok = ok && dim_add(&m->rule, "default", NULL) && dim_add(&m->rule, "pinned", NULL);
    for (size_t i = 0; ok && i < cfg->nrules; i++)
        ok = dim_add(&m->rule, cfg->rules[i].name, cfg->rules[i].name);
    m->nbackends = cfg->nbackends;
    ok = ok && (m->backend_slot = alloc_cells(cfg->nbackends, sizeof(size_t)));
    for (size_t i = 0; ok && i < cfg->nbackends; i++) {
        ok = dim_add(&m->backend, cfg->backends[i].name, cfg->backends[i].name);
        if (ok)
            m->backend_slot[i] = dim_find(&m->backend, cfg->backends[i].name);
    }
    if (!ok)
        goto fail;

    for (int code = 0; code < STATUS_TABLE; code++) {
        size_t slot = NCODES + 5; /* other */
        if (code >= 100)
            slot = NCODES + (size_t)(code / 100 - 1);
        for (size_t i = 0; i < NCODES; i++)
            if (status_codes[i] == code)
                slot = i;
        m->status_slot[code] = (uint8_t)slot;
    }

    size_t nb = m->backend.n;
    m->nrows = m->ingress.n * m->pool.n * m->rule.n;
    m->row_cells = nb * STATUS_SLOTS;
    ok = (m->rows = alloc_cells(m->nrows, sizeof(*m->rows))) &&
         (m->tokens = alloc_cells(nb * NDIRS, sizeof(counter))) &&
         (m->cost = alloc_cells(nb, sizeof(counter))) &&
         (m->cfcost = alloc_cells(nb, sizeof(counter))) &&
         (m->inflight = alloc_cells(nb, sizeof(*m->inflight)));
    for (int h = 0; ok && h < H__COUNT; h++)
        ok = (m->hist[h] = alloc_cells(nb * HIST_CELLS(h), sizeof(counter))) != NULL;
    if (!ok)
        goto fail;

    m->ntypes = scanner ? seam_scan_type_count(scanner) : 0;
    ok = (m->type_names = alloc_cells(m->ntypes, sizeof(char *))) &&
         (m->detected = alloc_cells(m->ntypes, sizeof(counter)));
    for (size_t i = 0; ok && i < m->ntypes; i++)
        ok = (m->type_names[i] = seam_strdup(seam_scan_type_name(scanner, (uint32_t)i))) != NULL;
    if (!ok)
        goto fail;
    return m;
fail:
    seam_metrics_free(m);
    return NULL;
}

void seam_metrics_free(seam_metrics *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->rows && i < m->nrows; i++)
        seam_free(atomic_load_explicit(&m->rows[i], memory_order_relaxed));
    seam_free((void *)m->rows);
    seam_free((void *)m->tokens);
    seam_free((void *)m->cost);
    seam_free((void *)m->cfcost);
    seam_free((void *)m->inflight);
    for (int h = 0; h < H__COUNT; h++)
        seam_free((void *)m->hist[h]);
    for (size_t i = 0; m->type_names && i < m->ntypes; i++)
        seam_free(m->type_names[i]);
    seam_free(m->type_names);
    seam_free((void *)m->detected);
    seam_free(m->backend_slot);
    dim_free(&m->ingress);
    dim_free(&m->pool);
    dim_free(&m->backend);
    dim_free(&m->rule);
    seam_free(m->version);
    seam_free(m);
}

void seam_metrics_watch_health(seam_metrics *m, const seam_health_table *health)
{
    m->health = health;
}

void seam_metrics_watch_breakers(seam_metrics *m, seam_breakers *breakers)
{
    m->breakers = breakers;
}

void seam_metrics_watch_ledger(seam_metrics *m, seam_metrics_queue_fn fn, void *ctx)
{
    m->ledger_fn = fn;
    m->ledger_ctx = ctx;
}

void seam_metrics_watch_audit(seam_metrics *m, seam_audit *au)
{
    m->audit = au;
}

/* ---- recording ---- */

/* The row of (ingress, pool, rule) <i>, allocated by whichever thread
 * needs it first: the loser of the compare-and-swap frees its copy. */
static counter *row_get(seam_metrics *m, size_t i)
{
    counter *row = atomic_load_explicit(&m->rows[i], memory_order_acquire);
    if (row)
        return row;
    counter *fresh = alloc_cells(m->row_cells, sizeof(counter));
    if (!fresh)
        return NULL;
    if (atomic_compare_exchange_strong_explicit(&m->rows[i], &row, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    seam_free((void *)fresh);
    return row;
}

static size_t backend_of(const seam_metrics *m, const seam_request_record *r)
{
    if (r->backend_index >= 0 && (size_t)r->backend_index < m->nbackends)
        return m->backend_slot[r->backend_index];
    return dim_find(&m->backend, r->backend);
}

static void hist_observe(seam_metrics *m, int h, size_t slot, double seconds)
{
    if (!(seconds >= 0) || !isfinite(seconds)) /* NaN, unknown (-1) */
        return;
    const struct hist_spec *hs = &hists[h];
    counter *cells = m->hist[h] + slot * HIST_CELLS(h);
    size_t b = 0;
    while (b < hs->nb && seconds > hs->bounds[b])
        b++;
    inc(&cells[b], 1); /* b == nb: the +Inf bucket */
    add_double(&cells[hs->nb + 1], seconds);
}

void seam_metrics_observe(seam_metrics *m, const seam_request_record *r)
{
    if (!m || !r)
        return;
    size_t in = dim_find(&m->ingress, r->ingress);
    size_t po = dim_find(&m->pool, r->pool);
    size_t ru = dim_find(&m->rule, r->rule);
    size_t be = backend_of(m, r);
    size_t st =
        r->status >= 0 && r->status < STATUS_TABLE ? m->status_slot[r->status] : STATUS_SLOTS - 1;
    counter *row = row_get(m, (in * m->pool.n + po) * m->rule.n + ru);
    if (row)
        inc(&row[be * STATUS_SLOTS + st], 1);
    else
        inc(&m->lost, 1);

    if (r->sensitivity)
        for (int s = 0; s < SEAM_SENS__COUNT; s++)
            if (strcmp(r->sensitivity, seam_sensitivity_name((seam_sensitivity)s)) == 0) {
                inc(&m->sensitivity[s], 1);
                break;
            }

    if (be < 2)
        return; /* no configured backend served it */
    const int64_t toks[NDIRS] = {r->input_tokens, r->output_tokens, r->reasoning_tokens,
                                 r->cached_tokens};
    for (int d = 0; d < NDIRS; d++)
        if (toks[d] > 0)
            inc(&m->tokens[be * NDIRS + (size_t)d], (uint64_t)toks[d]);
    if (r->cost_usd > 0 && isfinite(r->cost_usd))
        add_double(&m->cost[be], r->cost_usd);
    if (r->counterfactual_usd > 0 && isfinite(r->counterfactual_usd))
        add_double(&m->cfcost[be], r->counterfactual_usd);
    hist_observe(m, H_TOTAL, be, r->ms_total / 1e3);
    hist_observe(m, H_TTFT, be, r->ms_ttft / 1e3);
    /* Gateway time is total minus upstream time, both from one monotonic
     * clock; a rounding error can make it a hair below zero. */
    double added = r->ms_gateway < 0 && r->ms_gateway > -0.001 ? 0 : r->ms_gateway;
    hist_observe(m, H_ADDED, be, added / 1e3);
}

void seam_metrics_blocked(seam_metrics *m, seam_block_reason reason)
{
    if (m && (unsigned)reason < SEAM_BLOCK__COUNT)
        inc(&m->blocked[reason], 1);
}

void seam_metrics_inflight(seam_metrics *m, int backend_index, int delta)
{
    if (!m || backend_index < 0 || (size_t)backend_index >= m->nbackends)
        return;
    atomic_fetch_add_explicit(&m->inflight[m->backend_slot[backend_index]], delta,
                              memory_order_relaxed);
}

int64_t seam_metrics_inflight_value(seam_metrics *m, int backend_index)
{
    if (!m || backend_index < 0 || (size_t)backend_index >= m->nbackends)
        return 0;
    return atomic_load_explicit(&m->inflight[m->backend_slot[backend_index]], memory_order_relaxed);
}

void seam_metrics_detected(seam_metrics *m, uint32_t type, uint64_t count)
{
    if (m && type < m->ntypes && count)
        inc(&m->detected[type], count);
}

void seam_metrics_detection(seam_metrics *m, const seam_detection *d)
{
    if (!m || !d || !d->counts)
        return;
    for (size_t i = 0; i < d->ntypes; i++)
        if (d->counts[i])
            seam_metrics_detected(m, (uint32_t)i, d->counts[i]);
}

/* ---- exposition ---- */

/* A renderer that stops at the first buffer error and remembers it, so the
 * code below reads as a list of lines. */
typedef struct expo {
    seam_buf *b;
    seam_rc rc;
} expo;

static void put(expo *o, const char *s, size_t n)
{
    if (o->rc == SEAM_OK)
        o->rc = seam_buf_append(o->b, s, n);
}

static void put_str(expo *o, const char *s)
{
    put(o, s, strlen(s));
}

/* A label value: backslash, double quote and line feed escaped, as the
 * format requires; everything else (UTF-8 included) verbatim. */
static void put_label_value(expo *o, const char *s)
{
    const char *run = s;
    for (; *s; s++) {
        const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        if (!esc)
            continue;
        put(o, run, (size_t)(s - run));
        put_str(o, esc);
        run = s + 1;
    }
    put(o, run, (size_t)(s - run));
}

/* The shortest of %.15g..%.17g that reads back as <v>, so values print
 * as written ("0.25", not "0.25000000000000000"). */
static void fmt_double(double v, char out[40])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (int p = 15; p <= 17; p++) {
        snprintf(out, 40, "%.*g", p, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static void family(expo *o, const char *name, const char *type, const char *help)
{
    /* Help texts here are constants without backslashes or line feeds,
     * which are the only characters HELP escapes. */
    put_str(o, "# HELP ");
    put_str(o, name);
    put_str(o, " ");
    put_str(o, help);
    put_str(o, "\n# TYPE ");
    put_str(o, name);
    put_str(o, " ");
    put_str(o, type);
    put_str(o, "\n");
}

/* One sample: name, labels as alternating (name, value) pairs, value. */
static void sample(expo *o, const char *name, const char *const *labels, size_t nlabels,
                   const char *value)
{
    put_str(o, name);
    if (nlabels) {
        put_str(o, "{");
        for (size_t i = 0; i < nlabels; i++) {
            if (i)
                put_str(o, ",");
            put_str(o, labels[2 * i]);
            put_str(o, "=\"");
            put_label_value(o, labels[2 * i + 1]);
            put_str(o, "\"");
        }
        put_str(o, "}");
    }
    put_str(o, " ");
    put_str(o, value);
    put_str(o, "\n");
}

static void sample_u64(expo *o, const char *name, const char *const *labels, size_t nlabels,
                       uint64_t v)
{
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    sample(o, name, labels, nlabels, s);
}

static void sample_double(expo *o, const char *name, const char *const *labels, size_t nlabels,
                          double v)
{
    char s[40];
    fmt_double(v, s);
    sample(o, name, labels, nlabels, s);
}

/* Whether backend slot <s> is a configured backend's (not "" or "(other)"). */
static bool backend_rendered(size_t s)
{
    return s >= 2;
}

static void render_requests(seam_metrics *m, expo *o)
{
    family(o, "seam_requests_total", "counter",
           "Requests answered, by ingress format, routed pool, serving backend, matched rule and "
           "HTTP status (\"\" when none applied).");
    for (size_t i = 0; i < m->nrows; i++) {
        counter *row = atomic_load_explicit(&m->rows[i], memory_order_acquire);
        if (!row)
            continue;
        size_t ru = i % m->rule.n, po = (i / m->rule.n) % m->pool.n, in = i / m->rule.n / m->pool.n;
        for (size_t c = 0; c < m->row_cells; c++) {
            uint64_t v = get(&row[c]);
            if (!v)
                continue;
            char st[8];
            status_label(c % STATUS_SLOTS, st);
            const char *l[] = {"ingress", m->ingress.names[in],
                               "pool",    m->pool.names[po],
                               "backend", m->backend.names[c / STATUS_SLOTS],
                               "rule",    m->rule.names[ru],
                               "status",  st};
            sample_u64(o, "seam_requests_total", l, 5, v);
        }
    }
}

static void render_histogram(seam_metrics *m, expo *o, int h)
{
    const struct hist_spec *hs = &hists[h];
    char bucket[80], sum[80], count[80];
    snprintf(bucket, sizeof bucket, "%s_bucket", hs->name);
    snprintf(sum, sizeof sum, "%s_sum", hs->name);
    snprintf(count, sizeof count, "%s_count", hs->name);
    family(o, hs->name, "histogram", hs->help);
    for (size_t s = 0; s < m->backend.n; s++) {
        if (!backend_rendered(s))
            continue;
        counter *cells = m->hist[h] + s * HIST_CELLS(h);
        uint64_t cum = 0;
        for (size_t b = 0; b <= hs->nb; b++) {
            cum += get(&cells[b]);
            char le[40];
            if (b < hs->nb)
                fmt_double(hs->bounds[b], le);
            else
                strcpy(le, "+Inf");
            const char *l[] = {"backend", m->backend.names[s], "le", le};
            sample_u64(o, bucket, l, 2, cum);
        }
        const char *l[] = {"backend", m->backend.names[s]};
        sample_double(o, sum, l, 1, get_double(&cells[hs->nb + 1]));
        sample_u64(o, count, l, 1, cum);
    }
}

seam_rc seam_metrics_render(seam_metrics *m, seam_buf *b)
{
    expo o = {b, SEAM_OK};

    family(&o, "seam_build_info", "gauge", "Always 1; the label carries seam's version.");
    const char *lv[] = {"version", m->version};
    sample(&o, "seam_build_info", lv, 1, "1");
    /* The conventional unprefixed name: dashboards and alerts that compute
     * uptime or detect restarts look for exactly this one. */
    family(&o, "process_start_time_seconds", "gauge",
           "When the server started, in seconds since the Unix epoch.");
    sample_double(&o, "process_start_time_seconds", NULL, 0, m->start_time);

    render_requests(m, &o);

    family(&o, "seam_requests_by_sensitivity_total", "counter",
           "Requests by effective sensitivity (declared or detected, whichever is higher).");
    for (int s = 0; s < SEAM_SENS__COUNT; s++) {
        const char *l[] = {"sensitivity", seam_sensitivity_name((seam_sensitivity)s)};
        sample_u64(&o, "seam_requests_by_sensitivity_total", l, 1, get(&m->sensitivity[s]));
    }

    family(&o, "seam_blocked_requests_total", "counter",
           "Requests refused before reaching a backend, by reason.");
    for (int r = 0; r < SEAM_BLOCK__COUNT; r++) {
        const char *l[] = {"reason", block_names[r]};
        sample_u64(&o, "seam_blocked_requests_total", l, 1, get(&m->blocked[r]));
    }

    family(&o, "seam_detected_entities_total", "counter",
           "Sensitive entities the scanner found in requests, by type (counts, never values).");
    for (size_t t = 0; t < m->ntypes; t++) {
        const char *l[] = {"type", m->type_names[t]};
        sample_u64(&o, "seam_detected_entities_total", l, 1, get(&m->detected[t]));
    }

    family(&o, "seam_tokens_total", "counter",
           "Tokens by serving backend and direction, as the backend reported them; input "
           "includes cached and output includes reasoning.");
    for (size_t s = 0; s < m->backend.n; s++)
        for (int d = 0; backend_rendered(s) && d < NDIRS; d++) {
            const char *l[] = {"backend", m->backend.names[s], "direction", token_dirs[d]};
            sample_u64(&o, "seam_tokens_total", l, 2, get(&m->tokens[s * NDIRS + (size_t)d]));
        }

    family(&o, "seam_cost_usd_total", "counter",
           "What the requests served by each backend cost, in US dollars (price, or hardware "
           "amortisation and energy for local backends).");
    for (size_t s = 0; s < m->backend.n; s++)
        if (backend_rendered(s)) {
            const char *l[] = {"backend", m->backend.names[s]};
            sample_double(&o, "seam_cost_usd_total", l, 1, get_double(&m->cost[s]));
        }
    family(&o, "seam_counterfactual_cost_usd_total", "counter",
           "What report.reference_backend would have charged for the same tokens, in US "
           "dollars, by the backend that actually served them.");
    for (size_t s = 0; s < m->backend.n; s++)
        if (backend_rendered(s)) {
            const char *l[] = {"backend", m->backend.names[s]};
            sample_double(&o, "seam_counterfactual_cost_usd_total", l, 1,
                          get_double(&m->cfcost[s]));
        }

    for (int h = 0; h < H__COUNT; h++)
        render_histogram(m, &o, h);

    family(&o, "seam_inflight_requests", "gauge",
           "Requests currently dispatched to each backend and not yet finished.");
    for (size_t s = 0; s < m->backend.n; s++)
        if (backend_rendered(s)) {
            char v[24];
            snprintf(v, sizeof v, "%lld",
                     (long long)atomic_load_explicit(&m->inflight[s], memory_order_relaxed));
            const char *l[] = {"backend", m->backend.names[s]};
            sample(&o, "seam_inflight_requests", l, 1, v);
        }

    if (m->health) {
        family(&o, "seam_backend_up", "gauge",
               "1 when the backend answered its last health probe, 0 when it failed or has not "
               "been probed yet.");
        for (size_t i = 0; i < m->nbackends; i++) {
            size_t s = m->backend_slot[i];
            bool first = true; /* a name configured twice is one series */
            for (size_t j = 0; j < i; j++)
                first &= m->backend_slot[j] != s;
            if (!first)
                continue;
            const char *l[] = {"backend", m->backend.names[s]};
            sample(&o, "seam_backend_up", l, 1,
                   seam_health_get(m->health, i) == SEAM_HEALTH_UP ? "1" : "0");
        }
    }

    if (m->breakers) {
        static const seam_breaker_state states[] = {SEAM_BREAKER_CLOSED, SEAM_BREAKER_OPEN,
                                                    SEAM_BREAKER_HALF_OPEN};
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        family(&o, "seam_circuit_state", "gauge",
               "1 for the state the backend's circuit breaker is in (closed, open, half_open), "
               "0 for the others.");
        for (size_t i = 0; i < m->nbackends; i++) {
            size_t s = m->backend_slot[i];
            bool first = true;
            for (size_t j = 0; j < i; j++)
                first &= m->backend_slot[j] != s;
            if (!first)
                continue;
            seam_breaker_state st = seam_breaker_get(m->breakers, i, now);
            for (size_t k = 0; k < 3; k++) {
                const char *l[] = {"backend", m->backend.names[s], "state",
                                   seam_breaker_state_name(states[k])};
                sample(&o, "seam_circuit_state", l, 2, st == states[k] ? "1" : "0");
            }
        }
    }

    if (m->ledger_fn) {
        uint64_t q = 0, w = 0, d = 0;
        m->ledger_fn(m->ledger_ctx, &q, &w, &d);
        family(&o, "seam_ledger_queue_depth", "gauge",
               "Ledger rows waiting for the writer thread.");
        sample_u64(&o, "seam_ledger_queue_depth", NULL, 0, q);
        family(&o, "seam_ledger_written_rows_total", "counter",
               "Ledger rows committed to the database.");
        sample_u64(&o, "seam_ledger_written_rows_total", NULL, 0, w);
        family(&o, "seam_ledger_dropped_rows_total", "counter",
               "Ledger rows lost (queue full, out of memory, failed insert); must stay 0.");
        sample_u64(&o, "seam_ledger_dropped_rows_total", NULL, 0, d);
    }
    if (m->audit) {
        uint64_t w = 0, d = 0, q = 0;
        seam_audit_stats(m->audit, &w, &d, &q);
        family(&o, "seam_audit_queue_depth", "gauge", "Audit lines waiting for the writer thread.");
        sample_u64(&o, "seam_audit_queue_depth", NULL, 0, q);
        family(&o, "seam_audit_written_lines_total", "counter", "Audit lines appended to the log.");
        sample_u64(&o, "seam_audit_written_lines_total", NULL, 0, w);
        family(&o, "seam_audit_dropped_lines_total", "counter",
               "Audit lines lost (queue full, out of memory, failed write); must stay 0.");
        sample_u64(&o, "seam_audit_dropped_lines_total", NULL, 0, d);
    }

    family(&o, "seam_metrics_lost_observations_total", "counter",
           "Requests seam_requests_total could not count for lack of memory.");
    sample_u64(&o, "seam_metrics_lost_observations_total", NULL, 0, get(&m->lost));
    return o.rc;
}
