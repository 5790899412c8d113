/*
 * Metrics in the Prometheus text exposition format 0.0.4, served at
 * /metrics (src/http/admin.h).
 *
 * The registry is built once from the configuration: backends, pools, rules,
 * ingress formats, sensitivity levels, entity types and block reasons are all
 * known up front, so every series lives in a preallocated array indexed by
 * label positions. Updates are relaxed atomic adds: no lock and no hashing in
 * the request path. The one exception is seam_requests_total, whose five
 * labels would make a dense array too large: its (ingress, pool, rule) rows
 * are allocated on first use with one compare-and-swap, each row a dense
 * (backend x status) array.
 *
 * Label values are bounded: names from the configuration, "" when the
 * request had none (no backend was chosen, no decision was made) and
 * "(other)" for a name the configuration does not know. Status codes are
 * the exact code for the ones seam answers (SEAM_METRICS_STATUS_CODES in
 * metrics.c), otherwise the class ("4xx").
 *
 * Every metric, its labels and meaning are listed in README.md, "Metrics".
 */
#ifndef SEAM_OBS_METRICS_H
#define SEAM_OBS_METRICS_H

#include "config/config.h"
#include "core/buf.h"
#include "core/rc.h"
#include "obs/audit.h"
#include "obs/record.h"
#include "scan/classify.h"
#include "scan/scan.h"
#include "upstream/breaker.h"
#include "upstream/health.h"

#include <stdint.h>

typedef struct seam_metrics seam_metrics;

/* Why a request was refused before (or instead of) reaching a backend:
 * the label of seam_blocked_requests_total. */
typedef enum {
    SEAM_BLOCK_CLEARANCE = 0, /* no backend cleared for its sensitivity */
    SEAM_BLOCK_BUDGET,        /* tenant budget exhausted (on_exhausted: reject) */
    SEAM_BLOCK_RATE_LIMIT,    /* key over rpm/tpm */
    SEAM_BLOCK_AUTH,          /* missing or unknown client key */
    SEAM_BLOCK_CAPACITY,      /* no backend can hold it (context window, capabilities) */
    SEAM_BLOCK_NO_BACKEND,    /* every allowed backend down or failing */
    SEAM_BLOCK_INVALID,       /* malformed or oversized request */
    SEAM_BLOCK__COUNT
} seam_block_reason;

/* The label value of <r> ("clearance", "rate_limit", ...), "?" otherwise. */
const char *seam_block_reason_name(seam_block_reason r);

/* Builds the registry for <cfg> (backends, pools and rule names are copied)
 * and the entity types of <scanner> (NULL: detection is off, no types).
 * <version> is the label of seam_build_info. Returns NULL when out of
 * memory. */
seam_metrics *seam_metrics_new(const seam_config *cfg, const seam_scanner *scanner,
                               const char *version);

/* Frees <m>; no other call on <m> may run during or after. NULL does
 * nothing. */
void seam_metrics_free(seam_metrics *m);

/* ---- sources read at scrape time; connect before the first request ---- */

/* seam_backend_up{backend} is read from <health> (not owned). */
void seam_metrics_watch_health(seam_metrics *m, const seam_health_table *health);

/* Exports seam_circuit_state{backend,state} from <breakers> at each scrape. */
void seam_metrics_watch_breakers(seam_metrics *m, seam_breakers *breakers);

/* The counters of a writer queue: rows or lines waiting, written and
 * dropped, as seam_ledger_stats() reports them. */
typedef void (*seam_metrics_queue_fn)(void *ctx, uint64_t *queued, uint64_t *written,
                                      uint64_t *dropped);

/* seam_ledger_queue_depth, seam_ledger_written_rows_total and
 * seam_ledger_dropped_rows_total are read by calling <fn>(<ctx>, ...) at
 * each scrape; until this is called they are not exported. */
void seam_metrics_watch_ledger(seam_metrics *m, seam_metrics_queue_fn fn, void *ctx);

/* seam_audit_* from seam_audit_stats(<au>) (not owned); NULL: not exported. */
void seam_metrics_watch_audit(seam_metrics *m, seam_audit *au);

/* ---- the request path: any thread, lock-free ---- */

/* Records one finished request: seam_requests_total, the effective
 * sensitivity, and for a request that reached a configured backend its
 * tokens (unknown counts, -1, are skipped), cost, counterfactual cost
 * (when >= 0) and the three latency histograms (ttft when >= 0). Detected
 * entities are not counted here (see seam_metrics_detected). NULL <m> does
 * nothing. */
void seam_metrics_observe(seam_metrics *m, const seam_request_record *r);

/* Counts one refused request under <reason>. Call it in addition to
 * seam_metrics_observe(), which counts the request by status. */
void seam_metrics_blocked(seam_metrics *m, seam_block_reason reason);

/* Adds <delta> (+1 at dispatch, -1 when the upstream exchange ends) to
 * seam_inflight_requests of backend <backend_index> (index into
 * cfg->backends; out of range is ignored). */
void seam_metrics_inflight(seam_metrics *m, int backend_index, int delta);

/* The current value of seam_inflight_requests of backend <backend_index>
 * (the dashboard's health panel); 0 for a NULL <m> or an index out of
 * range. */
int64_t seam_metrics_inflight_value(seam_metrics *m, int backend_index);

/* Adds <count> entities of scanner type <type> (seam_entity.type, the
 * index of seam_detection.counts). Unknown types are ignored. */
void seam_metrics_detected(seam_metrics *m, uint32_t type, uint64_t count);

/* Every type counted in <d> at once: seam_metrics_detected() for each
 * non-zero d->counts[i]. */
void seam_metrics_detection(seam_metrics *m, const seam_detection *d);

/* ---- the scrape ---- */

/* Appends the exposition (format 0.0.4) of every metric to <out>. Returns
 * SEAM_OK, or SEAM_ERR_NOMEM / SEAM_ERR_TOO_BIG from the buffer, in which
 * case <out> holds a partial text that must not be served. Safe to run
 * while requests are recorded; each value is read once, so a histogram's
 * _count always equals its +Inf bucket. */
seam_rc seam_metrics_render(seam_metrics *m, seam_buf *out);

/* The Content-Type of the exposition. */
#define SEAM_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
