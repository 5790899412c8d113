/*
 * One completion request, from the client's bytes to the upstream and back.
 *
 * The exchange lives in its own arena. It ends in exactly one place,
 * exchange_finish(), which logs it, unhooks it from the client connection,
 * cancels any upstream transfer and frees the arena. Errors before the first
 * byte of a stream are ordinary HTTP errors in the client's dialect; after
 * it, they are the dialect's stream error (an SSE error event then [DONE] for
 * OpenAI, an `error` event for Anthropic, an error line for Ollama), never a
 * silently cut stream. The proxy knows dialects only through their ingress
 * table (api/ingress.h) and backends through their provider table.
 *
 * A client that hangs up is noticed through the connection's close callback.
 * libevent detaches the unfinished request from the dying connection, so the
 * request becomes ours to free; the exchange is finished from a zero-delay
 * timer rather than inside libevent's callback.
 */
#include "http/proxy.h"
#include "core/jsonbuf.h"
#include "api/ingress.h"
#include "core/alloc.h"
#include "core/log.h"
#include "obs/audit.h"
#include "obs/cost.h"
#include "obs/record.h"
#include "policy/decide.h"
#include "policy/dial.h"
#include "policy/task.h"
#include "providers/embed.h"
#include "providers/provider.h"
#include "scan/classify.h"
#include "upstream/backoff.h"
#include "upstream/breaker.h"
#include "upstream/capacity.h"
#include "upstream/dispatch.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define UPSTREAM_MAX_BODY  (256u << 20) /* a whole (non-stream) answer */
#define UPSTREAM_MAX_ERROR (1u << 20)   /* an error body we read for its message */
/* A slow client may have this much of a stream waiting in its socket
 * buffer; past it, seam stops reading from the upstream (libcurl pause)
 * until the client has caught up, so an answer is never buffered whole. */
#define CLIENT_BUFFER_CAP (1u << 20)

enum up_mode { MODE_NONE = 0, MODE_SSE, MODE_WHOLE, MODE_ERROR };

/* A pending Redis answer. It outlives the exchange if the client leaves
 * first (exchange_finish clears <ex>), and is freed by its callback. */
struct admission {
    seam_exchange *ex;
};

struct seam_exchange {
    seam_exchange *prev, *next; /* seam_worker.exchanges */
    seam_worker *w;
    seam_gen *gen; /* the configuration generation this request started on */
    const seam_ingress *ing;
    const seam_config *cfg;
    struct evhttp_request *req; /* NULL once libevent has freed it */
    struct evhttp_connection *conn;
    seam_arena *arena;
    char id[32];
    const char *path;
    seam_req *creq;
    seam_task task;
    const seam_key_conf *key; /* the client's key, NULL when anonymous */
    size_t key_index;
    uint64_t tokens_reserved; /* taken from the key's token bucket, settled at the end */
    struct admission *adm;    /* an admission check waiting on Redis */
    bool inflight_counted;    /* seam_metrics_inflight(+1) awaits its -1 */
    int blocked;              /* seam_block_reason + 1 when seam refused the request */
    const char *reason_tag;   /* "budget", "clearance": why the route changed */
    unsigned retry_after;     /* seconds, for a 429 seam answers itself */
    char set_applied[96];     /* what the matched rule's set changed, for X-Seam-Set */
    seam_detection det;
    bool classified;
    const char *detected;    /* "TYPE=N,..." for headers and logs */
    seam_redactor *redactor; /* set when values were replaced by placeholders */
    struct restore_filter *restore;
    seam_decision d;
    bool decided;
    /* Attempts: the plan walks the pool, its retries and the rule's
     * fallbacks; each attempt holds a breaker ticket, a concurrency slot
     * and a balancer count, all given back when it ends. */
    seam_plan plan;
    seam_pick pick;
    bool ticket_open, slot_held, balanced, admitted;
    size_t slot_backend;
    unsigned attempts;
    const char *fallback_from;        /* the decision's pool, when a fallback served */
    const seam_pool_conf *route_pool; /* the pool that served (fallback, spill) */
    seam_capacity_wait *capwait;      /* waiting for a slot in a saturated pool */
    const seam_pool_conf *capwait_pool;
    /* stream_resume: the answer text the client has, to continue from. */
    seam_buf sent_text;
    bool had_tools, resuming;
    unsigned resumes;
    seam_usage usage_before; /* what the broken attempts had used */
    size_t cap_refused[8];   /* backends whose freed slot could not serve */
    unsigned ncap_refused;
    struct event *retry_timer; /* backoff before the next attempt */
    struct event *finish_ev;   /* exchange_finish once the reply is on the wire */
    int last_status;           /* the last attempt's failure, answered when none is left */
    const char *last_type, *last_code;
    char last_text[300];
    const seam_backend_conf *backend;
    const seam_provider *prov;
    const char *model_sent;
    const char *answer_id; /* used when the upstream gives no id */
    seam_transfer *t;
    enum up_mode mode;
    long up_status;
    seam_buf upbody;
    seam_provider_stream *pstream;
    void *writer; /* the ingress's stream writer */
    seam_buf out;
    struct evbuffer *chunk;
    struct event *watch; /* notices the client hanging up while we wait */
    bool reply_started, client_gone, finished, stream_failed;
    bool visible;      /* a token of the answer was produced: from here on it goes out */
    bool reply_sent;   /* the last byte is queued: on_reply_written ends the count */
    char failure[256]; /* set when seam aborted the transfer: why */
    int status;
    const char *err_code;
    seam_usage usage;
    bool have_usage;
    struct timespec t0;
    int64_t arrived_ms; /* wall clock at arrival, for records */
    double ttfb_ms;
    double up_start_ms, up_end_ms; /* upstream transfer, ms after t0; 0 when none */
};

static bool retry_later(seam_exchange *ex, bool retryable, uint64_t retry_after_ms, int status,
                        const char *type, const char *code, const char *text);

static double ms_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) * 1e3 + (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ---- recording ---- */

/* The access line: written member by member into one buffer (building a
 * jansson object per request cost more than the rest of the line). */
static void exchange_log(seam_exchange *ex)
{
    if (!seam_log_enabled(SEAM_LOG_INFO))
        return;
    seam_buf b;
    seam_buf_init(&b, (size_t)-1);
    seam_json_member_str(&b, "msg", "request");
    seam_json_member_str(&b, "id", ex->id);
    seam_json_member_str(&b, "path", ex->path);
    seam_json_member_int(&b, "status", ex->status);
    seam_json_member_real(&b, "ms", ms_since(&ex->t0), 6);
    if (ex->creq) {
        seam_json_member_bool(&b, "stream", ex->creq->stream);
        seam_json_member_str(&b, "kind", seam_kind_name(ex->task.kind));
        seam_json_member_str(&b, "sensitivity", seam_sensitivity_name(ex->task.sensitivity));
        seam_json_member_str(&b, "complexity", seam_complexity_name(ex->task.complexity));
        seam_json_member_int(&b, "tokens_est", (long long)ex->task.tokens);
    }
    if (ex->detected)
        seam_json_member_str(&b, "detected", ex->detected);
    if (ex->det.failed)
        seam_json_member_bool(&b, "scan_failed", true);
    if (ex->redactor)
        seam_json_member_int(&b, "redacted", (long long)seam_redactor_count(ex->redactor));
    if (ex->decided) {
        seam_json_member_str(&b, "rule", ex->d.rule);
        if (ex->d.pool)
            seam_json_member_str(&b, "route", ex->d.pool->name);
        if (ex->d.rerouted)
            seam_json_member_str(&b, "rerouted", "clearance");
        if (ex->set_applied[0])
            seam_json_member_str(&b, "set", ex->set_applied);
    }
    if (ex->backend)
        seam_json_member_str(&b, "backend", ex->backend->name);
    if (ex->up_status)
        seam_json_member_int(&b, "upstream_status", ex->up_status);
    if (ex->ttfb_ms > 0)
        seam_json_member_real(&b, "ttfb_ms", ex->ttfb_ms, 6);
    if (ex->have_usage) {
        seam_json_member_int(&b, "input_tokens", ex->usage.input);
        seam_json_member_int(&b, "output_tokens", ex->usage.output);
    }
    if (ex->err_code)
        seam_json_member_str(&b, "error", ex->err_code);
    if (ex->client_gone)
        seam_json_member_bool(&b, "client_gone", true);
    if (b.data)
        seam_log_members(SEAM_LOG_INFO, b.data, b.len);
    seam_buf_free(&b);
}

/* One audit line per request that was decoded (and so had a routing
 * decision to make): names, levels, types and counts, never text. */
static void exchange_audit(seam_exchange *ex)
{
    seam_audit *au = ex->w->srv->audit;
    if (!au || !ex->creq)
        return;
    seam_audit_entry e;
    seam_audit_entry_init(&e);
    e.id = ex->id;
    e.ingress = ex->ing ? ex->ing->name : NULL;
    e.path = ex->path;
    e.tenant = ex->task.tenant;
    e.key = ex->task.key_name;
    e.kind = seam_kind_name(ex->task.kind);
    if (ex->task.declared & SEAM_TASK_DECLARED_SENSITIVITY)
        e.declared = seam_sensitivity_name(ex->task.declared_sensitivity);
    e.sensitivity = seam_sensitivity_name(ex->task.sensitivity);
    e.detected = ex->detected;
    if (ex->redactor)
        e.redacted = (long long)seam_redactor_count(ex->redactor);
    if (ex->decided) {
        e.rule = ex->d.rule;
        e.reason = ex->d.reason;
        e.pool = ex->d.pool ? ex->d.pool->name : NULL;
        e.rerouted = ex->d.rerouted ? "clearance" : NULL;
    }
    if (ex->backend) {
        e.backend = ex->backend->name;
        e.location = ex->backend->location == SEAM_LOC_CLOUD ? "cloud" : "local";
        e.model = ex->model_sent;
        e.attempts = 1;
    }
    e.status = ex->status;
    e.error = ex->err_code;
    if (ex->have_usage) {
        e.input_tokens = (long long)ex->usage.input;
        e.output_tokens = (long long)ex->usage.output;
    }
    e.ms = ms_since(&ex->t0);
    seam_audit_record(au, &e);
}

/* What the ledger, budgets, metrics and rate limits learn from a finished
 * request: one record, built once. */
static void exchange_record(seam_exchange *ex)
{
    seam_server *srv = ex->w->srv;
    seam_gen *gen = ex->gen;
    seam_request_record r;
    memset(&r, 0, sizeof(r));
    r.ts_ms = ex->arrived_ms;
    r.id = ex->id;
    r.tenant = ex->key ? ex->key->tenant : NULL;
    r.key_name = ex->key ? ex->key->name : NULL;
    r.ingress = ex->ing->name;
    if (ex->creq) {
        r.kind = seam_kind_name(ex->task.kind);
        r.complexity = seam_complexity_name(ex->task.complexity);
        r.tokens_est = (int64_t)ex->task.tokens;
        if (ex->task.declared & SEAM_TASK_DECLARED_SENSITIVITY)
            r.declared = seam_sensitivity_name(ex->task.declared_sensitivity);
        r.sensitivity = seam_sensitivity_name(ex->task.sensitivity);
        r.stream = ex->creq->stream;
    } else {
        r.tokens_est = -1;
    }
    r.set_applied = ex->set_applied[0] ? ex->set_applied : NULL;
    r.detected = ex->detected;
    if (ex->decided) {
        r.rule = ex->d.rule;
        r.reason = ex->reason_tag                      ? ex->reason_tag
                   : ex->d.rerouted                    ? "clearance"
                   : ex->d.matched                     ? "rule"
                   : strcmp(ex->d.rule, "pinned") == 0 ? "pinned"
                                                       : "default";
        r.pool = ex->d.pool ? ex->d.pool->name : NULL;
    }
    r.backend_index = -1;
    if (ex->backend) {
        r.backend = ex->backend->name;
        r.backend_index = (int)ex->backend->index;
        r.location = ex->backend->location == SEAM_LOC_CLOUD ? "cloud" : "local";
        r.model = ex->model_sent;
        r.attempts = (int)ex->attempts;
        r.fallback_from = ex->fallback_from;
    }
    r.status = ex->status;
    r.error = ex->err_code;
    r.input_tokens = r.output_tokens = r.reasoning_tokens = r.cached_tokens = -1;
    if (ex->have_usage) {
        r.input_tokens = ex->usage.input + ex->usage_before.input;
        r.output_tokens = ex->usage.output + ex->usage_before.output;
        r.reasoning_tokens = ex->usage.reasoning;
        r.cached_tokens = ex->usage.cached;
    }
    r.ms_total = ms_since(&ex->t0);
    r.ms_ttft = ex->ttfb_ms > 0 ? ex->ttfb_ms : -1;
    double upstream = ex->up_end_ms > ex->up_start_ms ? ex->up_end_ms - ex->up_start_ms : 0;
    r.ms_gateway = r.ms_total > upstream ? r.ms_total - upstream : 0;
    r.cost_usd = seam_cost_request(ex->backend, r.input_tokens, r.output_tokens, r.cached_tokens,
                                   r.ms_total);
    r.counterfactual_usd =
        ex->have_usage
            ? seam_cost_counterfactual(ex->cfg, r.input_tokens, r.output_tokens, r.cached_tokens)
            : -1;
    seam_ledger_record(srv->ledger, &r);
    seam_metrics_observe(gen->metrics, &r);
    if (ex->blocked)
        seam_metrics_blocked(gen->metrics, (seam_block_reason)(ex->blocked - 1));
    /* Budgets count what the cloud charged. */
    if (r.tenant && r.location && strcmp(r.location, "cloud") == 0 && r.cost_usd > 0) {
        if (ex->w->shared)
            seam_shared_budget_add(ex->w->shared, r.tenant, r.cost_usd);
        else
            seam_spend_add(gen->spend, r.tenant, r.cost_usd, r.ts_ms);
    }
    /* The token bucket was charged with the estimate; correct it by what
     * the backend reported. */
    if (ex->tokens_reserved && ex->have_usage) {
        uint64_t actual = (uint64_t)(ex->usage.input > 0 ? ex->usage.input : 0) +
                          (uint64_t)(ex->usage.output > 0 ? ex->usage.output : 0);
        if (ex->w->shared)
            seam_shared_settle_tokens(ex->w->shared, ex->key->name, ex->key->tpm,
                                      (int64_t)actual - (int64_t)ex->tokens_reserved);
        else
            seam_rl_settle_tokens(gen->rl, ex->key_index, ex->tokens_reserved, actual,
                                  seam_rl_now_ns());
    }
}

/* Gives back what the current attempt holds: its breaker ticket (with a
 * verdict when <verdict> is 1 success / 0 failure, none when -1), its
 * concurrency slot and its balancer count. */
static void release_attempt(seam_exchange *ex, int verdict)
{
    seam_gen *srv = ex->gen;
    uint64_t now = seam_rl_now_ns();
    if (ex->ticket_open) {
        if (verdict < 0)
            seam_breaker_release(srv->breakers, ex->pick.backend->index, &ex->pick.ticket);
        else
            seam_breaker_report(srv->breakers, ex->pick.backend->index, &ex->pick.ticket,
                                verdict == 1, now);
        ex->ticket_open = false;
    }
    if (ex->slot_held) {
        seam_capacity_release(srv->capacity, ex->slot_backend);
        ex->slot_held = false;
    }
    if (ex->balanced) {
        seam_balancer_end(srv->balancer, ex->backend->index);
        ex->balanced = false;
    }
}

/* Stops everything that could still call back into the exchange (the
 * upstream transfer, watchers, timers, queues, a pending Redis answer) and
 * gives back what it holds. Idempotent. */
static void exchange_stop(seam_exchange *ex)
{
    if (ex->t) {
        seam_transfer_cancel(ex->t);
        ex->t = NULL;
    }
    if (ex->watch)
        event_free(ex->watch);
    ex->watch = NULL;
    if (!ex->client_gone && ex->conn)
        evhttp_connection_set_closecb(ex->conn, NULL, NULL);
    if (ex->adm)
        ex->adm->ex = NULL; /* the Redis answer, when it comes, finds nobody */
    ex->adm = NULL;
    if (ex->capwait)
        seam_capacity_cancel(ex->capwait);
    ex->capwait = NULL;
    if (ex->retry_timer)
        event_free(ex->retry_timer);
    ex->retry_timer = NULL;
    release_attempt(ex, -1);
    if (ex->inflight_counted)
        seam_metrics_inflight(ex->gen->metrics, (int)ex->backend->index, -1);
    ex->inflight_counted = false;
}

/* The only function that ends an exchange and frees its memory. */
static void exchange_finish(seam_exchange *ex)
{
    if (ex->finished)
        return;
    ex->finished = true;
    seam_worker *w = ex->w;
    if (ex->finish_ev)
        event_free(ex->finish_ev);
    ex->finish_ev = NULL;
    exchange_stop(ex);
    if (ex->client_gone && ex->req)
        evhttp_request_free(ex->req); /* detached by libevent: ours to free */
    exchange_log(ex);
    exchange_audit(ex);
    exchange_record(ex);
    if (ex->prev)
        ex->prev->next = ex->next;
    else
        w->exchanges = ex->next;
    if (ex->next)
        ex->next->prev = ex->prev;
    if (ex->chunk)
        evbuffer_free(ex->chunk);
    if (ex->classified)
        seam_detection_free(&ex->det);
    seam_buf_free(&ex->upbody);
    seam_buf_free(&ex->out);
    seam_buf_free(&ex->sent_text);
    bool sent = ex->reply_sent;
    seam_gen *gen = ex->gen;
    seam_arena_free(ex->arena);
    seam_gen_unref(gen);
    /* A reply still being written keeps the request in flight until it is
     * on the wire, so that a draining worker does not cut it off. */
    if (!sent)
        seam_worker_request_done(w);
}

static void on_finish_next_turn(evutil_socket_t fd, short what, void *arg)
{
    exchange_finish(arg);
}

/* Stops the exchange now and ends it on the loop's next turn. After a reply
 * is queued: libevent writes it when that turn finds the socket writable,
 * and runs those I/O callbacks before timers that expire in the same turn,
 * so the records (access log, audit line, ledger row, metrics: a quarter of
 * a request's instructions) no longer delay the reply's last byte. After a
 * hang-up: libevent is still inside the connection's close. The timer is
 * the exchange's own, so an exchange_finish that comes first (a worker
 * shutting down) cancels it. */
static void finish_next_turn(seam_exchange *ex)
{
    exchange_stop(ex);
    if (!ex->finish_ev)
        ex->finish_ev = evtimer_new(ex->w->base, on_finish_next_turn, ex);
    struct timeval now = {0, 0};
    if (!ex->finish_ev || evtimer_add(ex->finish_ev, &now) != 0)
        exchange_finish(ex);
}

static void on_reply_written(struct evhttp_request *req, void *arg)
{
    seam_worker_request_done(arg);
}

/* ---- replies ---- */

static void add_route_headers(seam_exchange *ex, struct evkeyvalq *h)
{
    if (!ex->decided)
        return;
    const seam_pool_conf *route = ex->route_pool ? ex->route_pool : ex->d.pool;
    if (route)
        evhttp_add_header(h, "X-Seam-Route", route->name);
    if (ex->backend)
        evhttp_add_header(h, "X-Seam-Backend", ex->backend->name);
    evhttp_add_header(h, "X-Seam-Rule", ex->d.rule);
    evhttp_add_header(h, "X-Seam-Reason", ex->d.reason);
    if (ex->d.rerouted)
        evhttp_add_header(h, "X-Seam-Rerouted", "clearance");
    if (ex->set_applied[0])
        evhttp_add_header(h, "X-Seam-Set", ex->set_applied);
    if (ex->attempts > 0) {
        char n[16];
        snprintf(n, sizeof(n), "%u", ex->attempts);
        evhttp_add_header(h, "X-Seam-Attempts", n);
    }
    if (ex->fallback_from)
        evhttp_add_header(h, "X-Seam-Fallback-From", ex->fallback_from);
    if (ex->detected)
        evhttp_add_header(h, "X-Seam-Detected", ex->detected);
    if (ex->redactor) {
        char n[24];
        snprintf(n, sizeof(n), "%zu", seam_redactor_count(ex->redactor));
        evhttp_add_header(h, "X-Seam-Redacted", n);
    }
}

static void unhook_client(seam_exchange *ex)
{
    if (ex->watch)
        event_free(ex->watch);
    ex->watch = NULL;
    if (ex->conn)
        evhttp_connection_set_closecb(ex->conn, NULL, NULL);
    ex->conn = NULL;
}

/* Sends a complete JSON answer and ends the exchange. */
static void reply_json(seam_exchange *ex, int status, const char *body, size_t len)
{
    ex->status = status;
    if (!ex->client_gone && ex->req) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(ex->req);
        evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_add_header(h, "X-Seam-Request-Id", ex->id);
        add_route_headers(ex, h);
        if (ex->retry_after) {
            char ra[16];
            snprintf(ra, sizeof(ra), "%u", ex->retry_after);
            evhttp_add_header(h, "Retry-After", ra);
        }
        if (ex->w->draining)
            evhttp_add_header(h, "Connection", "close");
        struct evbuffer *b = evbuffer_new();
        if (b)
            evbuffer_add(b, body, len);
        unhook_client(ex);
        ex->reply_sent = true;
        evhttp_send_reply(ex->req, status, NULL, b);
        if (b)
            evbuffer_free(b);
        finish_next_turn(ex);
        return;
    }
    exchange_finish(ex);
}

/* The client's socket took everything written so far: the upstream may go
 * on. Resuming can deliver data, and with it end (and free) the exchange, so
 * nothing touches <ex> after it. */
static void on_client_drained(struct evhttp_connection *conn, void *arg)
{
    seam_exchange *ex = arg;
    if (ex->t && seam_transfer_paused(ex->t))
        seam_transfer_resume(ex->t);
}

/* Pushes pending stream bytes to the client, starting the reply first. */
static void flush_stream(seam_exchange *ex)
{
    if (ex->out.len == 0 || ex->client_gone || !ex->req)
        return;
    if (!ex->reply_started) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(ex->req);
        evhttp_add_header(h, "Content-Type", ex->ing->stream_content_type);
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_add_header(h, "X-Seam-Request-Id", ex->id);
        add_route_headers(ex, h);
        if (ex->w->draining)
            evhttp_add_header(h, "Connection", "close");
        ex->status = 200;
        ex->reply_started = true;
        evhttp_send_reply_start(ex->req, 200, "OK");
    }
    evbuffer_add(ex->chunk, ex->out.data, ex->out.len);
    evhttp_send_reply_chunk_with_cb(ex->req, ex->chunk, on_client_drained, ex);
    seam_buf_reset(&ex->out);
    struct evhttp_connection *conn = evhttp_request_get_connection(ex->req);
    struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
    if (ex->t && bev && !seam_transfer_paused(ex->t) &&
        evbuffer_get_length(bufferevent_get_output(bev)) > CLIENT_BUFFER_CAP)
        seam_transfer_pause(ex->t);
}

static void end_stream(seam_exchange *ex)
{
    ex->ing->writer_end(ex->writer, &ex->out);
    flush_stream(ex);
    if (!ex->client_gone && ex->req) {
        unhook_client(ex);
        ex->reply_sent = true;
        evhttp_send_reply_end(ex->req);
        finish_next_turn(ex);
        return;
    }
    exchange_finish(ex);
}

/* Reports an error in the client's dialect: an HTTP error before the
 * stream started, the dialect's stream error after. Ends the exchange. */
static void reply_error(seam_exchange *ex, int status, const char *type, const char *code,
                        const char *param, const char *msg)
{
    if (!ex->err_code)
        ex->err_code = code;
    if (ex->reply_started) {
        ex->stream_failed = true;
        ex->ing->writer_error(ex->writer, status, msg, type, code, &ex->out);
        end_stream(ex);
        return;
    }
    const char *body = ex->ing->error_body(ex->arena, status, msg, type, code, param);
    if (!body) {
        body = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}";
        status = 500;
    }
    reply_json(ex, status, body, strlen(body));
}

/* ---- restoring redacted values in the answer ---- */

#define RESTORE_MAX_CALLS 128

/* Sits between the provider's events and the client's writer (or
 * collector) when the request was redacted: text, thinking and tool-call
 * argument deltas go through restore streams, which hold back only what
 * could still be the start of a placeholder. */
struct restore_filter {
    seam_event_sink down;
    seam_restore_stream text, thinking;
    seam_restore_stream args[RESTORE_MAX_CALLS];
    bool args_open[RESTORE_MAX_CALLS];
    seam_buf tmp;
};

static void restore_release(void *p)
{
    struct restore_filter *f = p;
    seam_restore_stream_free(&f->text);
    seam_restore_stream_free(&f->thinking);
    for (int i = 0; i < RESTORE_MAX_CALLS; i++)
        if (f->args_open[i])
            seam_restore_stream_free(&f->args[i]);
    seam_buf_free(&f->tmp);
}

/* Emits <ev> with its text replaced by what <tmp> holds, if anything. */
static int emit_restored(struct restore_filter *f, const seam_event *ev)
{
    if (f->tmp.len == 0)
        return 0;
    seam_event out = *ev;
    out.text = f->tmp.data;
    out.text_len = f->tmp.len;
    int r = seam_emit(&f->down, &out);
    seam_buf_reset(&f->tmp);
    return r;
}

static int flush_stream_into(struct restore_filter *f, seam_restore_stream *st,
                             seam_event_type type, int index)
{
    seam_event ev = {.type = type, .index = index};
    if (seam_restore_stream_flush(st, &f->tmp) != SEAM_OK)
        return -1;
    return emit_restored(f, &ev);
}

static int restore_event(void *ctx, const seam_event *ev)
{
    struct restore_filter *f = ctx;
    seam_restore_stream *st = NULL;
    switch (ev->type) {
    case SEAM_EV_TEXT_DELTA:
        /* Held-back thinking goes out before the answer text starts, so
         * that a writer with blocks (Anthropic) closes thinking first. */
        if (flush_stream_into(f, &f->thinking, SEAM_EV_THINKING_DELTA, 0))
            return -1;
        st = &f->text;
        break;
    case SEAM_EV_THINKING_DELTA:
        st = &f->thinking;
        break;
    case SEAM_EV_THINKING_SIGNATURE:
        if (flush_stream_into(f, &f->thinking, SEAM_EV_THINKING_DELTA, 0))
            return -1;
        return seam_emit(&f->down, ev);
    case SEAM_EV_TOOL_CALL_BEGIN:
        if (flush_stream_into(f, &f->thinking, SEAM_EV_THINKING_DELTA, 0) ||
            flush_stream_into(f, &f->text, SEAM_EV_TEXT_DELTA, 0))
            return -1;
        if (ev->index >= 0 && ev->index < RESTORE_MAX_CALLS && !f->args_open[ev->index]) {
            seam_restore_json_stream_init(&f->args[ev->index], f->text.r);
            f->args_open[ev->index] = true;
        }
        return seam_emit(&f->down, ev);
    case SEAM_EV_TOOL_CALL_ARGS_DELTA:
        if (ev->index < 0 || ev->index >= RESTORE_MAX_CALLS || !f->args_open[ev->index])
            return -1;
        st = &f->args[ev->index];
        break;
    case SEAM_EV_TOOL_CALL_END:
        if (ev->index >= 0 && ev->index < RESTORE_MAX_CALLS && f->args_open[ev->index] &&
            flush_stream_into(f, &f->args[ev->index], SEAM_EV_TOOL_CALL_ARGS_DELTA, ev->index))
            return -1;
        return seam_emit(&f->down, ev);
    case SEAM_EV_FINISH:
    case SEAM_EV_ERROR:
        if (flush_stream_into(f, &f->thinking, SEAM_EV_THINKING_DELTA, 0) ||
            flush_stream_into(f, &f->text, SEAM_EV_TEXT_DELTA, 0))
            return -1;
        return seam_emit(&f->down, ev);
    default:
        return seam_emit(&f->down, ev);
    }
    if (seam_restore_stream_feed(st, ev->text, ev->text_len, &f->tmp) != SEAM_OK)
        return -1;
    return emit_restored(f, ev);
}

/* The sink provider events go to: straight to <down>, or through the
 * restore filter when the request was redacted. */
static seam_event_sink answer_sink(seam_exchange *ex, seam_event_sink down)
{
    if (!ex->redactor)
        return down;
    if (!ex->restore) {
        struct restore_filter *f = seam_arena_calloc(ex->arena, sizeof(*f));
        if (!f || seam_arena_on_free(ex->arena, restore_release, f) != 0)
            return down; /* cannot happen without memory; answers stay redacted */
        seam_restore_stream_init(&f->text, ex->redactor);
        seam_restore_stream_init(&f->thinking, ex->redactor);
        seam_buf_init(&f->tmp, (size_t)-1);
        ex->restore = f;
    }
    ex->restore->down = down;
    return (seam_event_sink){restore_event, ex->restore};
}

/* ---- upstream events ---- */

/* stream_resume: a stream that broke after tokens reached the client may
 * be continued elsewhere when its pool allows it, the answer so far is
 * plain text (no tool calls: a half-sent call cannot be continued), and
 * nothing was redacted (the text the client has holds the real values,
 * which the next backend may not be cleared for). */
static bool can_resume(const seam_exchange *ex)
{
    return ex->reply_started && ex->pick.pool && ex->pick.pool->stream_resume && !ex->redactor &&
           !ex->had_tools && ex->creq && ex->creq->stream && !ex->creq->embed && ex->resumes < 2 &&
           !ex->client_gone && !ex->w->draining;
}

/* The continuation request: the original messages plus the partial answer
 * as the assistant's turn, which the next backend continues (Anthropic's
 * prefill; OpenAI-compatible servers and Ollama continue a final assistant
 * message). Returns false when out of memory. */
static bool add_partial_answer(seam_exchange *ex)
{
    seam_req *r = ex->creq;
    char *text = seam_arena_strndup(ex->arena, ex->sent_text.data ? ex->sent_text.data : "",
                                    ex->sent_text.len);
    seam_part *part = seam_arena_calloc(ex->arena, sizeof(*part));
    if (!text || !part)
        return false;
    part->type = SEAM_PART_TEXT;
    part->text = text;
    part->text_len = ex->sent_text.len;
    if (ex->resumes > 0) { /* replace the partial answer of the last resume */
        r->msgs[r->nmsgs - 1].parts = part;
        return true;
    }
    seam_msg *msgs = seam_arena_calloc(ex->arena, (r->nmsgs + 1) * sizeof(*msgs));
    if (!msgs)
        return false;
    memcpy(msgs, r->msgs, r->nmsgs * sizeof(*msgs));
    msgs[r->nmsgs] = (seam_msg){
        .role = SEAM_ROLE_ASSISTANT, .parts = part, .nparts = 1, .content_is_string = true};
    r->msgs = msgs;
    r->nmsgs++;
    return true;
}

static int on_stream_event(void *ctx, const seam_event *ev)
{
    seam_exchange *ex = ctx;
    if (ev->type == SEAM_EV_USAGE) {
        ex->usage = ev->usage;
        ex->have_usage = true;
    }
    if (ex->resuming && ev->type == SEAM_EV_START)
        return 0; /* a continuation: the client's stream has started already */
    if (ev->type == SEAM_EV_TEXT_DELTA && seam_buf_append(&ex->sent_text, ev->text, ev->text_len))
        ex->had_tools = true; /* past the bound: no resuming from a text seam does not have */
    if (ev->type == SEAM_EV_TOOL_CALL_BEGIN)
        ex->had_tools = true;
    if (ev->type == SEAM_EV_ERROR && ex->reply_started && can_resume(ex)) {
        snprintf(ex->failure, sizeof(ex->failure), "backend %s reported an error: %.*s",
                 ex->backend->name, (int)(ev->text_len > 180 ? 180 : ev->text_len), ev->text);
        return -1;
    }
    if (ev->type == SEAM_EV_ERROR && !ex->reply_started) {
        /* The upstream failed before anything reached the client: answer
         * with a proper HTTP error instead of a stream. */
        snprintf(ex->failure, sizeof(ex->failure), "backend %s reported an error: %.*s",
                 ex->backend->name, (int)(ev->text_len > 180 ? 180 : ev->text_len), ev->text);
        return -1;
    }
    if (ev->type == SEAM_EV_ERROR)
        ex->stream_failed = true;
    if (ev->type == SEAM_EV_TEXT_DELTA || ev->type == SEAM_EV_THINKING_DELTA ||
        ev->type == SEAM_EV_REFUSAL_DELTA || ev->type == SEAM_EV_TOOL_CALL_BEGIN)
        ex->visible = true;
    return ex->ing->writer_event(ex->writer, ev, &ex->out) == SEAM_OK ? 0 : -1;
}

static int on_upstream_data(void *ctx, seam_transfer *t, const char *p, size_t n)
{
    seam_exchange *ex = ctx;
    char err[200];
    if (ex->mode == MODE_NONE) {
        ex->up_status = seam_transfer_status(t);
        ex->ttfb_ms = ms_since(&ex->t0);
        const char *ct = seam_transfer_header(t, "content-type");
        if (ex->up_status < 200 || ex->up_status >= 300) {
            ex->mode = MODE_ERROR;
            seam_buf_init(&ex->upbody, UPSTREAM_MAX_ERROR);
        } else if (ex->creq->stream && !(ct && strncmp(ct, "application/json", 16) == 0)) {
            /* The provider's stream framing (SSE, or NDJSON for Ollama);
             * a JSON body means the server ignored "stream". */
            ex->mode = MODE_SSE;
            ex->pstream = ex->prov->stream_new(ex->arena);
            if (!ex->pstream)
                return -1;
        } else {
            /* A whole answer, asked for or not (some servers ignore
             * "stream"); it is re-streamed to a streaming client. */
            ex->mode = MODE_WHOLE;
            seam_buf_init(&ex->upbody, UPSTREAM_MAX_BODY);
        }
    }
    if (ex->mode == MODE_ERROR) {
        seam_buf_append(&ex->upbody, p, n); /* past the bound: keep what we have */
        return 0;
    }
    if (ex->mode == MODE_WHOLE) {
        if (seam_buf_append(&ex->upbody, p, n) != SEAM_OK) {
            snprintf(ex->failure, sizeof(ex->failure), "backend %s answer exceeds %u bytes",
                     ex->backend->name, UPSTREAM_MAX_BODY);
            return -1;
        }
        return 0;
    }
    seam_event_sink sink = answer_sink(ex, (seam_event_sink){on_stream_event, ex});
    seam_rc rc = ex->prov->stream_feed(ex->pstream, p, n, &sink, err, sizeof(err));
    /* Nothing reaches the client before the first visible token, so that an
     * upstream dying before it can be retried without the client knowing. */
    if (ex->visible)
        flush_stream(ex);
    if (rc != SEAM_OK) {
        if (!ex->failure[0])
            snprintf(ex->failure, sizeof(ex->failure), "backend %s: %s", ex->backend->name,
                     rc == SEAM_ERR_CANCELLED ? "stream aborted" : err);
        return -1;
    }
    return 0;
}

/* Maps an upstream HTTP error to what the client sees. Client-caused
 * statuses pass through; credentials and routing problems of the gateway's
 * own configuration become 502, since the client cannot fix them. */
static void upstream_status_error(seam_exchange *ex, int *status, const char **type,
                                  const char **code, char *text, size_t n)
{
    char msg[200];
    long s = ex->up_status;
    ex->prov->error_message(ex->upbody.data ? ex->upbody.data : "", ex->upbody.len, msg,
                            sizeof(msg));
    *status = 502;
    *type = "upstream_error";
    *code = "upstream_error";
    if (s == 400 || s == 409 || s == 413 || s == 422) {
        *status = (int)s;
        *type = "invalid_request_error";
        *code = "upstream_rejected";
    } else if (s == 429) {
        *status = 429;
        *type = "rate_limit_error";
        *code = "rate_limit_exceeded";
    } else if (s == 408 || s == 504) {
        *status = 504;
        *code = "upstream_timeout";
    }
    snprintf(text, n, "backend %s answered HTTP %ld%s%s", ex->backend->name, s, msg[0] ? ": " : "",
             msg);
}

static void reply_upstream_status(seam_exchange *ex, seam_transfer *t)
{
    char text[320];
    int status;
    const char *type, *code;
    upstream_status_error(ex, &status, &type, &code, text, sizeof(text));
    if (status == 429) {
        const char *ra = seam_transfer_header(t, "retry-after");
        if (ra && ex->req && !ex->client_gone)
            evhttp_add_header(evhttp_request_get_output_headers(ex->req), "Retry-After", ra);
    }
    reply_error(ex, status, type, code, NULL, text);
}

/* An embeddings answer: the provider's vectors in the client's shape. */
static void finish_embeddings(seam_exchange *ex)
{
    char err[200], text[300];
    seam_embeddings e = {0};
    seam_rc rc =
        seam_provider_embed_parse(ex->backend->provider, ex->upbody.data ? ex->upbody.data : "",
                                  ex->upbody.len, ex->arena, &e, err, sizeof(err));
    if (rc == SEAM_OK) /* one vector per input, or every later one is misplaced */
        rc = seam_provider_embed_check(ex->creq, &e, err, sizeof(err));
    if (rc != SEAM_OK) {
        snprintf(text, sizeof(text), "backend %s: %s", ex->backend->name, err);
        reply_error(ex, rc == SEAM_ERR_NOMEM ? 500 : 502, "upstream_error", "upstream_error", NULL,
                    text);
        return;
    }
    if (e.input_tokens >= 0) {
        ex->usage =
            (seam_usage){.input = e.input_tokens, .output = 0, .reasoning = -1, .cached = -1};
        ex->have_usage = true;
    }
    if (!e.model)
        e.model = ex->model_sent;
    size_t len = 0;
    char *out = ex->ing->embeddings_body(&e, ex->creq, ex->arena, &len);
    if (!out) {
        reply_error(ex, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return;
    }
    reply_json(ex, 200, out, len);
}

static void finish_whole(seam_exchange *ex)
{
    char err[200];
    const char *body = ex->upbody.data ? ex->upbody.data : "";
    if (ex->creq->embed) {
        finish_embeddings(ex);
        return;
    }
    if (ex->creq->stream) {
        seam_event_sink sink = answer_sink(ex, (seam_event_sink){on_stream_event, ex});
        seam_rc rc =
            ex->prov->parse_response(body, ex->upbody.len, ex->arena, &sink, err, sizeof(err));
        if (rc != SEAM_OK || ex->failure[0]) {
            reply_error(ex, 502, "upstream_error", "upstream_error", NULL,
                        ex->failure[0] ? ex->failure : err);
            return;
        }
        end_stream(ex);
        return;
    }
    seam_answer *c = seam_answer_new(ex->arena, ex->answer_id, ex->model_sent);
    if (!c) {
        reply_error(ex, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return;
    }
    /* Durations a dialect reports (Ollama's) count from the request's
     * arrival, and the first token from the upstream's first byte. */
    c->started = ex->t0;
    if (ex->ttfb_ms > 0) {
        long long ns = ex->t0.tv_nsec + (long long)(ex->ttfb_ms * 1e6);
        c->first = (struct timespec){ex->t0.tv_sec + (time_t)(ns / 1000000000LL),
                                     (long)(ns % 1000000000LL)};
        c->have_first = true;
    }
    seam_event_sink sink = answer_sink(ex, (seam_event_sink){seam_answer_event, c});
    seam_rc rc = ex->prov->parse_response(body, ex->upbody.len, ex->arena, &sink, err, sizeof(err));
    if (rc == SEAM_OK && c->have_error) {
        snprintf(err, sizeof(err), "backend %s reported an error: %s", ex->backend->name,
                 c->error.text);
        rc = SEAM_ERR_UPSTREAM;
    } else if (rc == SEAM_OK && !c->finished) {
        snprintf(err, sizeof(err), "backend %s answer has no finish reason", ex->backend->name);
        rc = SEAM_ERR_UPSTREAM;
    }
    if (rc != SEAM_OK) {
        char text[260];
        snprintf(text, sizeof(text), "%s", err);
        reply_error(ex, 502, "upstream_error", "upstream_error", NULL, text);
        return;
    }
    if (c->have_usage) {
        ex->usage = c->usage;
        ex->have_usage = true;
    }
    size_t len = 0;
    char *out = ex->ing->answer_body(c, ex->creq, ex->arena, &len);
    if (!out) {
        reply_error(ex, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return;
    }
    reply_json(ex, 200, out, len);
}

static void on_upstream_done(void *ctx, seam_transfer *t, seam_rc rc, const char *error)
{
    seam_exchange *ex = ctx;
    char text[300], err[200];
    ex->t = NULL; /* freed by the client after this returns */
    ex->up_end_ms = ms_since(&ex->t0);
    if (ex->inflight_counted) {
        seam_metrics_inflight(ex->gen->metrics, (int)ex->backend->index, -1);
        ex->inflight_counted = false;
    }
    if (ex->client_gone) {
        release_attempt(ex, -1);
        exchange_finish(ex);
        return;
    }
    seam_transfer_failure kind = seam_transfer_failure_kind(t);
    if (ex->mode == MODE_NONE && rc == SEAM_OK)
        ex->up_status = seam_transfer_status(t);
    /* Failures of the backend count against its breaker and may be retried
     * (elsewhere, per the plan) while nothing has reached the client. */
    if (ex->failure[0]) {
        release_attempt(ex, 0);
        if (!retry_later(ex, true, 0, 502, "upstream_error", "upstream_error", ex->failure))
            reply_error(ex, 502, "upstream_error", "upstream_error", NULL, ex->failure);
        return;
    }
    if (rc == SEAM_ERR_TIMEOUT) {
        snprintf(text, sizeof(text), "backend %s: %s", ex->backend->name,
                 error ? error : "timed out");
        release_attempt(ex, 0);
        if (!retry_later(ex, true, 0, 504, "upstream_error", "upstream_timeout", text))
            reply_error(ex, 504, "upstream_error", "upstream_timeout", NULL, text);
        return;
    }
    if (kind == SEAM_FAIL_LOCAL) {
        /* seam ran out of its own file descriptors or memory: the backend
         * is not to blame (its breaker does not hear of it, so the streams
         * it is serving are not failed with it) and a retry now would fail
         * the same way. */
        snprintf(text, sizeof(text),
                 "seam cannot open a connection to backend %s: %s (seam's own limit: raise "
                 "its open-file limit, ulimit -n)",
                 ex->backend->name, error ? error : "out of resources");
        release_attempt(ex, -1);
        ex->retry_after = 1;
        reply_error(ex, 503, "server_error", "gateway_out_of_resources", NULL, text);
        return;
    }
    if (rc != SEAM_OK) {
        snprintf(text, sizeof(text), "backend %s failed: %s", ex->backend->name,
                 error ? error : seam_rc_str(rc));
        release_attempt(ex, 0);
        /* Nothing of an answer arrived (a reused connection that turned
         * out dead or poisoned, say): another attempt is as safe as the
         * first. Later breaks only while the client has seen nothing. */
        bool nothing = seam_transfer_status(t) == 0 && seam_transfer_bytes_received(t) == 0;
        if (!retry_later(ex,
                         seam_transfer_failure_retryable(kind) || nothing ||
                             kind == SEAM_FAIL_RESET_MID_BODY,
                         0, 502, "upstream_error", "upstream_unavailable", text))
            reply_error(ex, 502, "upstream_error", "upstream_unavailable", NULL, text);
        return;
    }
    if (ex->up_status < 200 || ex->up_status >= 300) {
        long st = ex->up_status;
        /* A 5xx is the backend's failure; a 429 is its load, not its
         * health; any other 4xx is the request's. */
        release_attempt(ex, seam_breaker_counts_status(st) ? 0 : st == 429 ? -1 : 1);
        uint64_t ra = 0;
        if (seam_retryable_status(st)) {
            seam_retry_after_ms(seam_transfer_header(t, "retry-after"), (int64_t)time(NULL), &ra);
            if (st == 429)
                ex->retry_after = (unsigned)((ra + 999) / 1000);
            int status;
            const char *type, *code;
            upstream_status_error(ex, &status, &type, &code, text, sizeof(text));
            if (retry_later(ex, true, ra, status, type, code, text))
                return;
        }
        reply_upstream_status(ex, t);
        return;
    }
    if (ex->mode == MODE_WHOLE) {
        release_attempt(ex, 1);
        finish_whole(ex);
        return;
    }
    if (ex->mode == MODE_NONE) {
        snprintf(text, sizeof(text), "backend %s sent an empty answer", ex->backend->name);
        release_attempt(ex, 0);
        if (!retry_later(ex, true, 0, 502, "upstream_error", "upstream_error", text))
            reply_error(ex, 502, "upstream_error", "upstream_error", NULL, text);
        return;
    }
    seam_event_sink sink = answer_sink(ex, (seam_event_sink){on_stream_event, ex});
    seam_rc erc = ex->prov->stream_end(ex->pstream, &sink, err, sizeof(err));
    if (erc != SEAM_OK && !ex->stream_failed) {
        snprintf(text, sizeof(text), "backend %s: %s", ex->backend->name,
                 ex->failure[0] ? ex->failure : err);
        release_attempt(ex, 0);
        if (!retry_later(ex, true, 0, 502, "upstream_error", "upstream_error", text))
            reply_error(ex, 502, "upstream_error", "upstream_error", NULL, text);
        return;
    }
    release_attempt(ex, ex->stream_failed ? 0 : 1);
    end_stream(ex);
}

/* ---- client hang-up ---- */

static void on_client_close(struct evhttp_connection *conn, void *arg)
{
    seam_exchange *ex = arg;
    if (ex->watch)
        event_free(ex->watch);
    ex->watch = NULL;
    ex->client_gone = true;
    ex->conn = NULL;
    /* An unfinished request is detached from the dying connection and left
     * to us; one still attached is freed by libevent with the connection. */
    if (ex->req && evhttp_request_get_connection(ex->req) != NULL)
        ex->req = NULL;
    /* The upstream sees its connection close, and the request's place in a
     * queue and its slot go to the next request at once. */
    finish_next_turn(ex);
}

/* libevent stops reading a connection once its request is complete, so a
 * client that hangs up while seam waits for the upstream would go unnoticed
 * until the answer is written. This watcher peeks at the socket: end of
 * file or an error means the client is gone, and closing the connection
 * runs on_client_close, which cancels the upstream transfer. Bytes of a
 * pipelined request only stop the watch. */
static void on_client_readable(evutil_socket_t fd, short what, void *arg)
{
    seam_exchange *ex = arg;
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    event_free(ex->watch);
    ex->watch = NULL;
    if (n > 0 || !ex->conn)
        return;
    evhttp_connection_free(ex->conn); /* runs on_client_close */
}

static void watch_client(seam_exchange *ex)
{
    struct bufferevent *bev = evhttp_connection_get_bufferevent(ex->conn);
    evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
    if (fd < 0)
        return;
    ex->watch = event_new(ex->w->base, fd, EV_READ | EV_PERSIST, on_client_readable, ex);
    if (ex->watch)
        event_add(ex->watch, NULL);
}

/* ---- the request ---- */

static int status_for_decision(seam_rc rc, const char **type, const char **code)
{
    if (rc == SEAM_ERR_NOT_FOUND) {
        *type = "invalid_request_error";
        *code = "model_not_found";
        return 404;
    }
    *type = "permission_error";
    *code = "clearance_violation";
    return 403;
}

static seam_rc declare_from_headers(seam_exchange *ex, struct evkeyvalq *h, char *err, size_t n,
                                    const char **param)
{
    static const struct {
        const char *header, *key;
    } fields[] = {{"X-Seam-Kind", "kind"},
                  {"X-Seam-Sensitivity", "sensitivity"},
                  {"X-Seam-Complexity", "complexity"}};
    for (size_t i = 0; i < 3; i++) {
        const char *v = evhttp_find_header(h, fields[i].header);
        if (!v)
            continue;
        if (seam_task_declare(&ex->task, fields[i].key, v, fields[i].header, err, n) != SEAM_OK) {
            *param = fields[i].header;
            return SEAM_ERR_INVALID;
        }
    }
    return SEAM_OK;
}

static bool header_true(struct evhttp_request *req, const char *name)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    return v && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

/* Scans the request, raises its sensitivity by what was found, decides, and
 * redacts when a matching rule or the client (if allowed) asks for it.
 * Returns 0 to go on, -1 when an error reply was sent. */
static int classify_and_decide(seam_exchange *ex)
{
    const seam_config *cfg = ex->cfg;
    seam_classify_request(ex->gen->scanner, ex->w->scratch, cfg, ex->creq, ex->arena, &ex->det);
    ex->classified = true;
    if (ex->det.failed)
        seam_log_json(SEAM_LOG_WARN, json_pack("{s:s, s:s}", "msg",
                                               "scan failed: request "
                                               "treated as regulated",
                                               "id", ex->id));
    ex->detected = seam_detection_summary(ex->gen->scanner, &ex->det, ex->arena);
    seam_metrics_detection(ex->gen->metrics, &ex->det);
    seam_task_raise(&ex->task, ex->det.level);
    ex->creq->task = ex->task;

    seam_route_facts facts = {ex->creq->model, ex->creq->has_images, ex->creq->ntools > 0};
    seam_policy_decide(cfg, &ex->task, &facts, &ex->d);
    bool by_rule = ex->d.rc == SEAM_OK && ex->d.matched && ex->d.matched->redact;
    bool by_header = cfg->detect.allow_redact_header && header_true(ex->req, "X-Seam-Redact");
    if ((by_rule || by_header) && ex->det.total > 0 && !ex->det.failed) {
        ex->redactor = seam_classify_redact(ex->gen->scanner, ex->creq, &ex->det, ex->arena);
        if (!ex->redactor) {
            reply_error(ex, 500, "server_error", "out_of_memory", NULL, "out of memory");
            return -1;
        }
        /* With the values replaced, what remains is what the client
         * declared (a declared regulated request never leaves, redacted or
         * not) and what seam could not read. */
        ex->task.sensitivity = ex->task.declared_sensitivity;
        seam_task_raise(&ex->task, ex->det.unredactable);
        ex->creq->task = ex->task;
        /* A client's request decides again at the new level; a rule that
         * asked for redaction keeps its own route. */
        if (!by_rule)
            seam_policy_decide(cfg, &ex->task, &facts, &ex->d);
    }
    ex->decided = ex->d.rc == SEAM_OK;
    if (ex->d.rc != SEAM_OK) {
        const char *type, *code;
        int status = status_for_decision(ex->d.rc, &type, &code);
        ex->blocked = (status == 403 ? SEAM_BLOCK_CLEARANCE : SEAM_BLOCK_INVALID) + 1;
        reply_error(ex, status, type, code, "model", ex->d.reason);
        return -1;
    }
    return 0;
}

/* ---- admission: rate limits, the key's cloud ceiling, budgets ---- */

static void send_upstream(seam_exchange *ex);
static void next_attempt(seam_exchange *ex);
static void guard_cloud(seam_exchange *ex);
static void on_client_close(struct evhttp_connection *conn, void *arg);
static void watch_client(seam_exchange *ex);

static void refuse_rate(seam_exchange *ex, unsigned retry_after, const char *what)
{
    char text[200];
    snprintf(text, sizeof(text), "rate limit of key %s reached (%s); retry in %u s", ex->key->name,
             what, retry_after);
    ex->blocked = SEAM_BLOCK_RATE_LIMIT + 1;
    ex->retry_after = retry_after ? retry_after : 1;
    reply_error(ex, 429, "rate_limit_error", "rate_limit_exceeded", NULL, text);
}

/* The pool a request goes to when it may not use the cloud: "local" if
 * there is one, else the first pool whose backends are all local. */
static const seam_pool_conf *local_pool(const seam_config *cfg)
{
    int i = seam_config_pool_index(cfg, "local");
    if (i >= 0)
        return &cfg->pools[i];
    for (size_t p = 0; p < cfg->npools; p++) {
        bool all = cfg->pools[p].nbackends > 0;
        for (size_t k = 0; k < cfg->pools[p].nbackends; k++)
            all &= cfg->backends[cfg->pools[p].backends[k]].location == SEAM_LOC_LOCAL;
        if (all)
            return &cfg->pools[p];
    }
    return NULL;
}

/* Moves a cloud-bound request to the local pool (reason <tag>, explained by
 * <why>). Returns 0 to go on, -1 when an error reply was sent. */
static int route_local(seam_exchange *ex, const char *tag, const char *why)
{
    char text[600], err[400];
    seam_decision d = ex->d;
    d.pool = local_pool(ex->cfg);
    d.pinned_model = NULL;
    snprintf(d.reason, sizeof(d.reason), "%s", why);
    const seam_backend_conf *b = NULL;
    seam_rc rc = d.pool ? seam_dispatch_pick_task(ex->cfg, &d, &ex->task, ex->gen->health, 0, &b,
                                                  err, sizeof(err))
                        : SEAM_ERR_NO_BACKEND;
    if (rc != SEAM_OK) {
        snprintf(text, sizeof(text), "%s, and no local backend can serve it: %s", why,
                 d.pool ? err : "no local pool is configured");
        ex->blocked = (strcmp(tag, "budget") == 0 ? SEAM_BLOCK_BUDGET : SEAM_BLOCK_CLEARANCE) + 1;
        reply_error(ex, 503, "no_backend", "no_allowed_backend", NULL, text);
        return -1;
    }
    /* The cloud attempt gives its ticket and slot back; the local backend
     * needs a slot of its own. */
    release_attempt(ex, -1);
    if (!seam_capacity_try_acquire(ex->gen->capacity, b->index)) {
        snprintf(text, sizeof(text), "%s, and backend %s is at capacity", why, b->name);
        ex->blocked = SEAM_BLOCK_CAPACITY + 1;
        ex->retry_after = 1;
        reply_error(ex, 429, "rate_limit_error", "capacity_exceeded", NULL, text);
        return -1;
    }
    ex->slot_held = true;
    ex->slot_backend = b->index;
    ex->d = d;
    ex->route_pool = d.pool;
    ex->backend = b;
    ex->reason_tag = tag;
    return 0;
}

/* Seconds until the next UTC midnight: when a daily budget refills. */
static unsigned until_midnight(void)
{
    time_t now = time(NULL);
    return (unsigned)(86400 - now % 86400);
}

static void budget_verdict(seam_exchange *ex, bool exhausted)
{
    char why[256];
    if (exhausted) {
        const char *tenant = ex->key->tenant;
        if (seam_spend_action(ex->gen->spend, tenant) == SEAM_BUDGET_REJECT) {
            snprintf(why, sizeof(why), "the budget of tenant %s is spent", tenant);
            ex->blocked = SEAM_BLOCK_BUDGET + 1;
            ex->retry_after = until_midnight();
            reply_error(ex, 429, "rate_limit_error", "budget_exhausted", NULL, why);
            return;
        }
        snprintf(why, sizeof(why), "budget of tenant %s spent: served locally", tenant);
        if (route_local(ex, "budget", why) != 0)
            return;
    }
    send_upstream(ex);
}

static void on_shared_budget(void *arg, bool exhausted, bool degraded)
{
    struct admission *adm = arg;
    seam_exchange *ex = adm->ex;
    free(adm);
    if (!ex)
        return;
    ex->adm = NULL;
    budget_verdict(ex, exhausted);
}

/* Cloud-bound requests answer to the key's ceiling and the tenant's
 * budget, checked against the backend that will actually serve. */
static void guard_cloud(seam_exchange *ex)
{
    char why[256];
    if (ex->backend->location != SEAM_LOC_CLOUD || !ex->key) {
        send_upstream(ex);
        return;
    }
    if (ex->key->has_max_sensitivity && ex->task.sensitivity > ex->key->max_sensitivity_to_cloud) {
        snprintf(why, sizeof(why), "key %s may not send %s data to the cloud: served locally",
                 ex->key->name, seam_sensitivity_name(ex->task.sensitivity));
        if (route_local(ex, "clearance", why) == 0)
            send_upstream(ex);
        return;
    }
    const seam_budget_conf *bc = NULL;
    for (size_t i = 0; i < ex->cfg->nbudgets && !bc; i++)
        if (strcmp(ex->cfg->budgets[i].tenant, ex->key->tenant) == 0)
            bc = &ex->cfg->budgets[i];
    if (!bc) {
        send_upstream(ex);
        return;
    }
    if (ex->w->shared) {
        struct admission *adm = malloc(sizeof(*adm));
        if (!adm) {
            reply_error(ex, 500, "server_error", "out_of_memory", NULL, "out of memory");
            return;
        }
        adm->ex = ex;
        ex->adm = adm;
        seam_shared_budget_check(ex->w->shared, bc->tenant, bc->usd_per_day, bc->usd_per_month,
                                 on_shared_budget, adm);
        return;
    }
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t now_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    budget_verdict(ex, seam_spend_check(ex->gen->spend, bc->tenant, now_ms, NULL, NULL) ==
                           SEAM_BUDGET_EXHAUSTED);
}

static void on_shared_rate(void *arg, bool allowed, unsigned retry_after_s, bool degraded)
{
    struct admission *adm = arg;
    seam_exchange *ex = adm->ex;
    free(adm);
    if (!ex)
        return;
    ex->adm = NULL;
    if (!allowed && retry_after_s == 0) { /* more than a whole minute's tokens */
        char text[240];
        snprintf(text, sizeof(text),
                 "this request needs about %llu tokens, more than key %s may use in a minute "
                 "(%llu); lower max_tokens or shorten the prompt",
                 (unsigned long long)ex->task.tokens, ex->key->name,
                 (unsigned long long)ex->key->tpm);
        ex->blocked = SEAM_BLOCK_RATE_LIMIT + 1;
        reply_error(ex, 400, "invalid_request_error", "tokens_per_minute_exceeded", NULL, text);
        return;
    }
    if (!allowed) {
        refuse_rate(ex, retry_after_s, "requests or tokens per minute");
        return;
    }
    ex->tokens_reserved = ex->task.tokens;
    guard_cloud(ex);
}

/* A keyed client's requests and tokens per minute: in this process, or
 * through Redis when replicas share limits. The request is charged with its
 * estimated tokens now and settled with the measured ones at the end. */
static void admit(seam_exchange *ex)
{
    const seam_key_conf *k = ex->key;
    if (!k || (k->rpm == 0 && k->tpm == 0)) {
        guard_cloud(ex);
        return;
    }
    if (ex->w->shared) {
        struct admission *adm = malloc(sizeof(*adm));
        if (!adm) {
            reply_error(ex, 500, "server_error", "out_of_memory", NULL, "out of memory");
            return;
        }
        adm->ex = ex;
        ex->adm = adm;
        seam_shared_rate(ex->w->shared, k->name, k->rpm, k->tpm, ex->task.tokens, on_shared_rate,
                         adm);
        return;
    }
    seam_ratelimit *rl = ex->gen->rl;
    uint32_t retry = 0;
    uint64_t now = seam_rl_now_ns();
    if (seam_rl_take_request(rl, ex->key_index, now, &retry) != SEAM_RL_OK) {
        refuse_rate(ex, retry, "requests per minute");
        return;
    }
    seam_rl_verdict v = seam_rl_take_tokens(rl, ex->key_index, ex->task.tokens, now, &retry);
    if (v == SEAM_RL_TOO_LARGE) {
        char text[240];
        snprintf(text, sizeof(text),
                 "this request needs about %llu tokens, more than key %s may use in a minute "
                 "(%llu); lower max_tokens or shorten the prompt",
                 (unsigned long long)ex->task.tokens, k->name, (unsigned long long)k->tpm);
        ex->blocked = SEAM_BLOCK_RATE_LIMIT + 1;
        reply_error(ex, 400, "invalid_request_error", "tokens_per_minute_exceeded", NULL, text);
        return;
    }
    if (v != SEAM_RL_OK) {
        refuse_rate(ex, retry, "tokens per minute");
        return;
    }
    ex->tokens_reserved = ex->task.tokens;
    guard_cloud(ex);
}

/* ---- attempts: retries, fallbacks, capacity ---- */

static bool room_for(const void *cap, size_t backend)
{
    return seam_capacity_has_room(cap, backend);
}

static seam_dispatch_env dispatch_env(seam_exchange *ex)
{
    seam_gen *srv = ex->gen;
    return (seam_dispatch_env){.health = srv->health,
                               .breakers = srv->breakers,
                               .balancer = srv->balancer,
                               .has_room = room_for,
                               .room_ctx = srv->capacity,
                               .now_ns = seam_rl_now_ns(),
                               .rng = &ex->w->rng};
}

/* Starts the attempt <pick> names. <have_slot>: a capacity wait already
 * took its slot. */
static void begin_pick(seam_exchange *ex, const seam_pick *pick, bool have_slot)
{
    ex->pick = *pick;
    ex->ticket_open = true;
    ex->backend = pick->backend;
    ex->attempts = pick->attempt;
    if (pick->fallback && !ex->fallback_from && ex->d.pool)
        ex->fallback_from = ex->d.pool->name;
    if (pick->spilled) {
        ex->reason_tag = "spill:capacity";
        snprintf(ex->d.reason, sizeof(ex->d.reason),
                 "spill:capacity: pool %s is at capacity, spilled to pool %s",
                 ex->d.pool ? ex->d.pool->name : "(pinned)", pick->pool ? pick->pool->name : "?");
    }
    ex->route_pool = pick->pool;
    if (!have_slot && !seam_capacity_try_acquire(ex->gen->capacity, pick->backend->index)) {
        /* Another worker took the last slot since the plan looked. */
        release_attempt(ex, -1);
        next_attempt(ex);
        return;
    }
    ex->slot_held = true;
    ex->slot_backend = pick->backend->index;
    if (!ex->admitted) {
        ex->admitted = true;
        admit(ex); /* rate limits once per request, then guard_cloud */
        return;
    }
    guard_cloud(ex); /* a key's ceiling and the budget, on every attempt */
}

static void refuse_capacity(seam_exchange *ex, const seam_pool_conf *pool, const char *code,
                            const char *what)
{
    char text[300];
    uint64_t t = pool->queue.timeout_ms ? pool->queue.timeout_ms : 1000;
    ex->retry_after = (unsigned)((t + 999) / 1000);
    if (ex->retry_after > 60)
        ex->retry_after = 60;
    snprintf(text, sizeof(text), "pool %s is at capacity: %s", pool->name, what);
    ex->blocked = SEAM_BLOCK_CAPACITY + 1;
    reply_error(ex, 429, "rate_limit_error", code, NULL, text);
}

static void queue_for(seam_exchange *ex, const seam_pool_conf *pool);

static void on_capacity(void *arg, seam_capacity_outcome outcome, size_t backend)
{
    char why[400];
    seam_exchange *ex = arg;
    const seam_pool_conf *pool = ex->capwait_pool;
    ex->capwait = NULL;
    if (outcome != SEAM_CAPACITY_GRANTED) {
        refuse_capacity(ex, pool, "queue_timeout", "waited too long for a free backend");
        return;
    }
    ex->slot_held = true;
    ex->slot_backend = backend;
    seam_dispatch_env env = dispatch_env(ex);
    seam_pick pick;
    if (seam_plan_take(&ex->plan, &env, pool, backend, &pick, why, sizeof(why)) != SEAM_OK) {
        /* The backend whose slot came free may no longer serve (its breaker
         * opened meanwhile): give the slot on and wait for another. */
        seam_capacity_release(ex->gen->capacity, backend);
        ex->slot_held = false;
        if (ex->ncap_refused < sizeof(ex->cap_refused) / sizeof(ex->cap_refused[0])) {
            ex->cap_refused[ex->ncap_refused++] = backend;
            queue_for(ex, pool);
            return;
        }
        ex->blocked = SEAM_BLOCK_NO_BACKEND + 1;
        reply_error(ex, 503, "no_backend", "no_allowed_backend", NULL, why);
        return;
    }
    begin_pick(ex, &pick, true);
}

/* Waits for a slot in the saturated <pool>, among the backends that may
 * serve this request. */
static void queue_for(seam_exchange *ex, const seam_pool_conf *pool)
{
    if (pool->queue.max == 0) {
        refuse_capacity(ex, pool, "capacity_exceeded", "every backend is busy and it has no queue");
        return;
    }
    size_t *elig = seam_arena_calloc(ex->arena, (pool->nbackends + 1) * sizeof(size_t));
    size_t n = 0;
    uint64_t now = seam_rl_now_ns();
    for (size_t i = 0; elig && i < pool->nbackends; i++) {
        const seam_backend_conf *b = &ex->cfg->backends[pool->backends[i]];
        bool refused = false;
        for (unsigned k = 0; k < ex->ncap_refused; k++)
            refused |= ex->cap_refused[k] == b->index;
        /* Only slots this request could use: a freed slot on a backend with
         * an open circuit (or one that already turned it down) would be
         * handed back to it forever. */
        if (!refused && seam_clearance_allows(b, ex->task.sensitivity) &&
            seam_backend_fits(b, &ex->task) &&
            seam_health_get(ex->gen->health, b->index) != SEAM_HEALTH_DOWN &&
            seam_breaker_get(ex->gen->breakers, b->index, now) != SEAM_BREAKER_OPEN)
            elig[n++] = b->index;
    }
    if (elig && n == 0) {
        ex->blocked = SEAM_BLOCK_NO_BACKEND + 1;
        reply_error(ex, 503, "no_backend", "no_allowed_backend", NULL,
                    "every backend of the pool that may serve this request is busy or failing");
        return;
    }
    seam_rc rc =
        elig ? seam_capacity_enqueue(ex->gen->capacity, pool->index, ex->w->base,
                                     pool->queue.timeout_ms, elig, n, on_capacity, ex, &ex->capwait)
             : SEAM_ERR_NOMEM;
    if (rc == SEAM_ERR_TOO_BIG) {
        refuse_capacity(ex, pool, "capacity_exceeded",
                        "every backend is busy and the queue is full");
        return;
    }
    if (rc != SEAM_OK) {
        ex->blocked = SEAM_BLOCK_NO_BACKEND + 1;
        reply_error(ex, 503, "no_backend", "no_allowed_backend", NULL,
                    "no backend of the pool may serve this request");
        return;
    }
    ex->capwait_pool = pool;
    /* A client that leaves while waiting gives its place up. */
    if (!ex->conn && (ex->conn = evhttp_request_get_connection(ex->req))) {
        evhttp_connection_set_closecb(ex->conn, on_client_close, ex);
        watch_client(ex);
    }
}

/* The next attempt of the plan, or the answer when there is none. */
static void next_attempt(seam_exchange *ex)
{
    char why[400], text[600];
    seam_dispatch_env env = dispatch_env(ex);
    seam_pick pick;
    seam_rc rc = seam_plan_next(&ex->plan, &env, &pick, why, sizeof(why));
    if (rc == SEAM_OK) {
        begin_pick(ex, &pick, false);
        return;
    }
    if (ex->attempts > 0) {
        /* Tried and failed, and nothing is left to try: the last failure. */
        reply_error(ex, ex->last_status, ex->last_type, ex->last_code, NULL, ex->last_text);
        return;
    }
    if (rc == SEAM_ERR_TOO_LARGE) {
        snprintf(text, sizeof(text), "this request is too long for every backend it may use: %s",
                 why);
        ex->blocked = SEAM_BLOCK_CAPACITY + 1;
        reply_error(ex, 400, "invalid_request_error", "context_length_exceeded", "messages", text);
        return;
    }
    if (pick.saturated && pick.pool) {
        queue_for(ex, pick.pool);
        return;
    }
    snprintf(text, sizeof(text), "no backend may serve this %s request in pool %s: %s",
             seam_sensitivity_name(ex->task.sensitivity), ex->d.pool ? ex->d.pool->name : "(none)",
             why);
    ex->blocked = SEAM_BLOCK_NO_BACKEND + 1;
    reply_error(ex, 503, "no_backend", "no_allowed_backend", NULL, text);
}

/* Forgets what the failed attempt received, so the next starts clean. */
static void reset_attempt(seam_exchange *ex)
{
    ex->mode = MODE_NONE;
    ex->up_status = 0;
    ex->pstream = NULL;
    seam_buf_free(&ex->upbody);
    seam_buf_init(&ex->upbody, UPSTREAM_MAX_BODY);
    seam_buf_reset(&ex->out);
    ex->failure[0] = '\0';
    ex->stream_failed = false;
    ex->have_usage = false;
    if (ex->resuming)
        return; /* the client's stream goes on: same writer, same answer */
    ex->visible = false;
    ex->ttfb_ms = 0;
    ex->restore = NULL; /* a fresh restore filter for the new answer */
    ex->writer = NULL;
    seam_buf_reset(&ex->sent_text);
}

static void on_retry_timer(evutil_socket_t fd, short what, void *arg)
{
    seam_exchange *ex = arg;
    event_free(ex->retry_timer);
    ex->retry_timer = NULL;
    reset_attempt(ex);
    next_attempt(ex);
}

/* Longest wait seam accepts from a Retry-After before it gives up retrying:
 * past it the client is better served by the error and its own schedule. */
#define RETRY_AFTER_MAX_MS 10000

/* Records the failed attempt's answer and, when nothing reached the client
 * yet and the failure is worth another try, schedules the next attempt
 * after a backoff (or the upstream's Retry-After). Returns true when a retry
 * is scheduled; false: the caller answers with the failure. */
static bool retry_later(seam_exchange *ex, bool retryable, uint64_t retry_after_ms, int status,
                        const char *type, const char *code, const char *text)
{
    ex->last_status = status;
    ex->last_type = type;
    ex->last_code = code;
    snprintf(ex->last_text, sizeof(ex->last_text), "%s", text);
    if (ex->backend)
        seam_health_note_failure(ex->gen->health, ex->backend->index, text);
    bool resume = ex->reply_started && can_resume(ex);
    if (resume) {
        if (!add_partial_answer(ex))
            return false;
        if (ex->have_usage) {
            ex->usage_before.input += ex->usage.input > 0 ? ex->usage.input : 0;
            ex->usage_before.output += ex->usage.output > 0 ? ex->usage.output : 0;
        }
        ex->resumes++;
        ex->resuming = true;
        retryable = true;
        retry_after_ms = 0;
    }
    if (!retryable || (ex->reply_started && !resume) || ex->client_gone || ex->w->draining ||
        retry_after_ms > RETRY_AFTER_MAX_MS || ex->attempts >= SEAM_PLAN_MAX_ATTEMPTS)
        return false;
    uint64_t delay = seam_backoff_ms(ex->attempts - 1, 50, 2000, &ex->w->rng);
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    /* limits.request_timeout_ms bounds the whole request, all attempts
     * together: no retry that could not finish in time. */
    if (ms_since(&ex->t0) + (double)delay >= (double)ex->cfg->limits.request_timeout_ms)
        return false;
    ex->retry_timer = evtimer_new(ex->w->base, on_retry_timer, ex);
    if (!ex->retry_timer)
        return false;
    struct timeval tv = {(time_t)(delay / 1000), (suseconds_t)((delay % 1000) * 1000)};
    evtimer_add(ex->retry_timer, &tv);
    return true;
}

static void start(seam_exchange *ex)
{
    char err[300], text[600];
    const char *param = NULL;
    struct evbuffer *in = evhttp_request_get_input_buffer(ex->req);
    size_t len = evbuffer_get_length(in);
    if (len > ex->cfg->limits.max_body_bytes) {
        snprintf(text, sizeof(text), "request body of %zu bytes exceeds the limit of %llu bytes",
                 len, (unsigned long long)ex->cfg->limits.max_body_bytes);
        ex->blocked = SEAM_BLOCK_INVALID + 1;
        reply_error(ex, 413, "invalid_request_error", "body_too_large", NULL, text);
        return;
    }
    /* Who is asking comes first: an unknown client learns nothing more. */
    struct evkeyvalq *hin = evhttp_request_get_input_headers(ex->req);
    seam_auth_result who;
    const seam_key_conf *key = seam_auth_identify(ex->cfg, evhttp_find_header(hin, "Authorization"),
                                                  evhttp_find_header(hin, "x-api-key"), &who);
    if (who.status == SEAM_AUTH_MISSING || who.status == SEAM_AUTH_INVALID) {
        ex->blocked = SEAM_BLOCK_AUTH + 1;
        reply_error(ex, 401, "invalid_request_error", who.code, NULL, who.message);
        return;
    }
    ex->key = key;
    ex->key_index = who.key_index;
    const char *body = len ? (const char *)evbuffer_pullup(in, -1) : "";
    json_t *meta = NULL;
    seam_rc rc = ex->ing->decode(ex->arena, body ? body : "", len, &ex->creq, &meta, err,
                                 sizeof(err), &param);
    if (rc != SEAM_OK) {
        if (rc != SEAM_ERR_NOMEM)
            ex->blocked = SEAM_BLOCK_INVALID + 1;
        reply_error(ex, rc == SEAM_ERR_NOMEM ? 500 : 400, "invalid_request_error",
                    rc == SEAM_ERR_NOMEM ? "out_of_memory" : "invalid_request", param, err);
        return;
    }
    seam_task_init(&ex->task, ex->cfg);
    if (ex->key) {
        ex->task.key_name = ex->key->name;
        ex->task.tenant = ex->key->tenant;
    }
    if (declare_from_headers(ex, evhttp_request_get_input_headers(ex->req), err, sizeof(err),
                             &param) != SEAM_OK ||
        (meta && seam_task_declare_json(&ex->task, meta, err, sizeof(err)) != SEAM_OK)) {
        ex->blocked = SEAM_BLOCK_INVALID + 1;
        reply_error(ex, 400, "invalid_request_error", "invalid_metadata", param ? param : "seam",
                    err);
        return;
    }
    seam_task_estimate(&ex->task, ex->creq);
    if (ex->creq->embed && !(ex->task.declared & SEAM_TASK_DECLARED_KIND))
        ex->task.kind = SEAM_KIND_EMBED;
    if (classify_and_decide(ex) != 0)
        return;
    seam_policy_apply_set(ex->d.matched, ex->creq, &ex->task, ex->set_applied,
                          sizeof(ex->set_applied));
    ex->creq->task = ex->task;
    seam_plan_init(&ex->plan, ex->cfg, &ex->d, &ex->task);
    next_attempt(ex);
}

/* An attempt's total deadline: the backend's total_ms, but never past what
 * is left of limits.request_timeout_ms for the whole request. */
static long attempt_budget_ms(seam_exchange *ex)
{
    double left = (double)ex->cfg->limits.request_timeout_ms - ms_since(&ex->t0);
    long t = (long)ex->backend->timeouts.total_ms;
    if (left < 1)
        left = 1;
    return t == 0 || (double)t > left ? (long)left : t;
}

/* Sends the request to the chosen backend. */
static void send_upstream(seam_exchange *ex)
{
    char err[300];
    seam_rc rc;
    ex->prov = seam_provider_get(ex->backend->provider);
    ex->model_sent = ex->d.pinned_model ? ex->d.pinned_model : ex->backend->models[0];
    ex->answer_id = seam_arena_printf(
        ex->arena, "%s%s", ex->ing->api == SEAM_API_ANTHROPIC ? "msg_" : "chatcmpl-", ex->id);
    if (ex->creq->stream && ex->ing->writer_new && !ex->writer &&
        !(ex->writer = ex->ing->writer_new(ex->arena, ex->creq, ex->answer_id, ex->model_sent))) {
        reply_error(ex, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return;
    }

    const char *key = ex->backend->api_key_env && ex->backend->api_key_env[0]
                          ? getenv(ex->backend->api_key_env)
                          : NULL;
    seam_upstream_call call = {0};
    if (ex->creq->embed)
        rc = seam_provider_embed_build(ex->creq, ex->backend, ex->model_sent, key, ex->arena, &call,
                                       err, sizeof(err));
    else
        rc = ex->prov->build(ex->creq, ex->backend, ex->model_sent, key, ex->arena, &call, err,
                             sizeof(err));
    if (rc != SEAM_OK) {
        seam_buf_free(&call.body);
        reply_error(ex, rc == SEAM_ERR_NOMEM ? 500 : 400, "invalid_request_error", "untranslatable",
                    NULL, err);
        return;
    }
    seam_transfer_opts o = {
        .url = call.url,
        .method = "POST",
        .body = call.body.data, /* ownership moves to the transfer */
        .body_len = call.body.len,
        .headers = call.headers,
        .timeout_ms = attempt_budget_ms(ex),
        .connect_timeout_ms = (long)ex->backend->timeouts.connect_ms,
        .first_byte_timeout_ms = (long)ex->backend->timeouts.first_byte_ms,
        .idle_timeout_ms = (long)ex->backend->timeouts.idle_ms,
        .max_response_bytes = UPSTREAM_MAX_BODY,
        .backend = ex->backend,
        .sensitivity = ex->task.sensitivity,
    };
    static const seam_transfer_cbs cbs = {on_upstream_data, on_upstream_done};
    ex->up_start_ms = ms_since(&ex->t0);
    ex->t = seam_upstream_start(ex->w->upstream, &o, &cbs, ex, &rc);
    if (ex->t) {
        seam_metrics_inflight(ex->gen->metrics, (int)ex->backend->index, +1);
        ex->inflight_counted = true;
        seam_balancer_begin(ex->gen->balancer, ex->backend->index);
        ex->balanced = true;
    }
    if (!ex->t) {
        if (rc == SEAM_ERR_FORBIDDEN)
            reply_error(ex, 503, "no_backend", "no_allowed_backend", NULL,
                        "refused: the backend's clearance is below the request's sensitivity");
        else
            reply_error(ex, 500, "server_error", "out_of_memory", NULL, "out of memory");
        return;
    }
    if (!ex->conn && (ex->conn = evhttp_request_get_connection(ex->req))) {
        evhttp_connection_set_closecb(ex->conn, on_client_close, ex);
        watch_client(ex);
    }
}

void seam_proxy_handle(seam_worker *w, struct evhttp_request *req, const seam_ingress *ing)
{
    seam_arena *a = seam_arena_new(16384);
    seam_exchange *ex = a ? seam_arena_calloc(a, sizeof(*ex)) : NULL;
    struct evbuffer *chunk = ex ? evbuffer_new() : NULL;
    if (!chunk) {
        seam_arena_free(a);
        seam_http_reply_json(
            req, 500, "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\"}}",
            NULL);
        return;
    }
    clock_gettime(CLOCK_MONOTONIC, &ex->t0);
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    ex->arrived_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
    ex->arena = a;
    ex->chunk = chunk;
    ex->w = w;
    ex->gen = w->gen;
    seam_gen_ref(ex->gen); /* a reload does not pull it away mid-request */
    ex->cfg = ex->gen->cfg;
    ex->req = req;
    ex->ing = ing;
    ex->path = ing->path;
    evhttp_request_set_on_complete_cb(req, on_reply_written, w);
    seam_buf_init(&ex->out, (size_t)-1);
    seam_buf_init(&ex->sent_text, 4u << 20);
    seam_buf_init(&ex->upbody, UPSTREAM_MAX_BODY);
    seam_worker_request_id(w, ex->id);
    ex->next = w->exchanges;
    if (ex->next)
        ex->next->prev = ex;
    w->exchanges = ex;
    w->inflight++;
    start(ex);
}

void seam_proxy_abort_all(seam_worker *w)
{
    while (w->exchanges) {
        seam_exchange *ex = w->exchanges;
        if (!ex->client_gone && ex->conn)
            evhttp_connection_set_closecb(ex->conn, NULL, NULL);
        ex->err_code = ex->err_code ? ex->err_code : "shutdown";
        /* The request itself belongs to its connection, freed with the
         * server; only detached ones are ours. */
        if (!ex->client_gone)
            ex->req = NULL;
        ex->client_gone = true;
        exchange_finish(ex);
    }
}
