/*
 * Endpoints for operators rather than clients:
 *   GET /metrics          the Prometheus exposition of src/obs/metrics.h,
 *                         open to anyone unless auth.protect_metrics
 *                         (cfg->auth.metrics_need_admin) asks for the admin key;
 *   GET /admin/stats      the dashboard's numbers for ?range=15m|1h|24h|7d;
 *   GET /admin/requests   ?id=<request id>: one request's decision ("why did
 *                         this go there?"); without id, the recent decisions;
 *   GET /admin/events     server-sent events: a compact live update (backend
 *                         health, in-flight requests, ledger counters) every
 *                         second; the page re-reads /admin/stats when the
 *                         ledger has new rows.
 * /admin/ answers only whom the dashboard lets in (src/http/ui.h).
 *
 * The numbers come from the ledger, read through a read-only SQLite
 * connection opened for each call (never the writer's), and from the live
 * registries (health table, metrics). Nothing here touches the request
 * path. Never prompt text: the ledger does not have it.
 */
#ifndef SEAM_HTTP_ADMIN_H
#define SEAM_HTTP_ADMIN_H

#include "auth/keys.h"
#include "config/config.h"
#include "http/server.h"
#include "obs/metrics.h"

#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Answers <req> with the exposition of <m> (200, text/plain version
 * 0.0.4). When cfg->auth.metrics_need_admin, the request must carry the
 * admin key of <auth> (Authorization: Bearer or x-api-key): otherwise 401
 * (with WWW-Authenticate), or 403 when no admin key is set, since then
 * nobody could ever be let in. A NULL <m> answers 503. Errors are JSON in
 * the OpenAI shape, like every other path seam does not proxy. */
void seam_admin_metrics_reply(struct evhttp_request *req, const seam_config *cfg,
                              const seam_auth_state *auth, seam_metrics *m);

/* GET /metrics on worker <w>: the server's registry. */
void seam_admin_metrics(seam_worker *w, struct evhttp_request *req);

/* ---- the dashboard's JSON (pure builders: tested without a server) ---- */

typedef enum {
    SEAM_ADMIN_RANGE_15M = 0,
    SEAM_ADMIN_RANGE_1H,
    SEAM_ADMIN_RANGE_24H,
    SEAM_ADMIN_RANGE_7D,
} seam_admin_range;

/* "15m", "1h", "24h", "7d" -> <out>; returns 0, or -1 for anything else. */
int seam_admin_range_parse(const char *s, seam_admin_range *out);
const char *seam_admin_range_name(seam_admin_range r);
/* The window length and the width of one time bucket, in ms. */
int64_t seam_admin_range_ms(seam_admin_range r);
int64_t seam_admin_bucket_ms(seam_admin_range r);

/* What the process knows right now, beside the ledger. */
typedef struct seam_admin_backend_live {
    seam_health health;       /* last probe */
    int64_t inflight;         /* seam_inflight_requests */
    uint64_t max_concurrency; /* 0: unlimited */
    const char *circuit;      /* "closed", "open", "half_open"; NULL when unknown */
    char error[160];          /* last probe error, or the last failure of real traffic */
} seam_admin_backend_live;

typedef struct seam_admin_pool_live {
    size_t depth, max; /* requests waiting in the pool's queue, and its bound */
} seam_admin_pool_live;

typedef struct seam_admin_live {
    const seam_admin_backend_live *backends; /* cfg->nbackends entries, or NULL */
    const seam_admin_pool_live *pools;       /* cfg->npools entries, or NULL */
    bool ledger_on;
    uint64_t ledger_queued, ledger_written, ledger_dropped;
} seam_admin_live;

/* Fills <live> (with <backends>, room for cfg->nbackends) from the server
 * of worker <w>. */
void seam_admin_live_read(seam_worker *w, seam_admin_live *live, seam_admin_backend_live *backends);

/* {"now_ms", "ledger": {...}, "backends": [{name, location, health, error,
 * inflight}]}: the SSE update, also part of the stats. */
/* Frees what seam_admin_live_read allocated (the pools). */
void seam_admin_live_free(seam_admin_live *live);

json_t *seam_admin_live_json(const seam_config *cfg, const seam_admin_live *live, int64_t now_ms);

/* The dashboard's numbers over <range> ending at <now_ms> from the ledger
 * file <db_path> (NULL or "": ledger off, ledger sections empty), with
 * <live> (may be NULL). Sections: window, totals, traffic (local / cloud /
 * none per bucket), rules and reasons (totals and per bucket), sensitivity
 * (effective mix, declared -> effective), detected (type -> count),
 * latency (p50/p95/p99 of total, ttft and gateway-added per backend and
 * overall), backends (requests, tokens, cost, counterfactual, tokens per
 * second), savings (cumulative series, totals and hardware break-even as
 * `seam report` computes them), recent (the last 50 decisions) and live.
 * See README.md, "Dashboard", for every field. Returns NULL with a message
 * in <err> when the ledger cannot be read. */
json_t *seam_admin_stats_json(const seam_config *cfg, const char *db_path, seam_admin_range range,
                              int64_t now_ms, const seam_admin_live *live, char *err,
                              size_t errlen);

/* Request <id> from the ledger: {"request": {every column but key_name},
 * "policy": {the rule that matched as configured now, its position, the
 * rules before it, the default pool}}. Returns 1 and sets <*out>, 0 when
 * there is no such request, -1 with a message in <err> on a read error. */
int seam_admin_request_json(const seam_config *cfg, const char *db_path, const char *id,
                            json_t **out, char *err, size_t errlen);

/* ---- handlers (route table of src/http/server.c) ---- */

void seam_admin_stats(seam_worker *w, struct evhttp_request *req);
void seam_admin_requests(seam_worker *w, struct evhttp_request *req);
void seam_admin_events(seam_worker *w, struct evhttp_request *req);

#endif
