/*
 * Workers and the listening socket. Each worker binds its own socket to the
 * same address with SO_REUSEPORT, so the kernel spreads connections across
 * workers without a shared accept lock; the first bind settles the port
 * (which may be ephemeral) and the others reuse it.
 *
 * Shutdown: the main thread waits for SIGTERM/SIGINT with sigwait() (all
 * threads block those signals), then wakes every worker. A worker closes its
 * listener at once (new connections are refused), lets in-flight requests
 * finish, and leaves its loop when none remain or the grace period ends.
 */
#include "http/server.h"
#include "core/jsonbuf.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/version.h"
#include "http/admin.h"
#include "http/native.h"
#include "http/proxy.h"
#include "http/status.h"
#include "http/ui.h"
#include "upstream/probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_INTERVAL_MS 10000L
#define MAX_HEADERS_BYTES (64 * 1024)
#define IDLE_TIMEOUT_S    120

void seam_http_reply_json(struct evhttp_request *req, int status, const char *body,
                          const char *request_id)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", "application/json");
    if (request_id)
        evhttp_add_header(h, "X-Seam-Request-Id", request_id);
    struct evbuffer *b = evbuffer_new();
    if (b)
        evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, status, NULL, b);
    if (b)
        evbuffer_free(b);
}

void seam_worker_request_id(seam_worker *w, char out[32])
{
    /* xorshift64*: ids need to be unique, not secret. */
    uint64_t x = w->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    w->rng = x;
    uint64_t v = x * 0x2545F4914F6CDD1DULL;
    snprintf(out, 32, "seam-%04x%016llx", (unsigned)(w->id & 0xffff), (unsigned long long)v);
}

static void maybe_stop(seam_worker *w)
{
    if (w->draining && w->inflight == 0)
        event_base_loopexit(w->base, NULL);
}

void seam_worker_request_done(seam_worker *w)
{
    if (w->inflight > 0)
        w->inflight--;
    maybe_stop(w);
}

/* Errors for paths seam does not serve, in the dialect the path suggests:
 * Ollama's {"error": "..."} under /api/, OpenAI's shape elsewhere. */
static void reply_error(struct evhttp_request *req, int status, const char *code, const char *msg)
{
    char body[512];
    const char *uri = evhttp_request_get_uri(req);
    json_t *o = strncmp(uri, "/api/", 5) == 0
                    ? json_pack("{s:s}", "error", msg)
                    : json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg, "type",
                                "invalid_request_error", "param", "code", code);
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    snprintf(body, sizeof(body), "%s", s ? s : "{}");
    free(s);
    json_decref(o);
    seam_http_reply_json(req, status, body, NULL);
}

/* A path is served either by a handler or, for the proxied endpoints, by
 * the proxy in the dialect of its ingress table. */
struct route {
    const char *path;
    enum evhttp_cmd_type method;
    void (*handler)(seam_worker *w, struct evhttp_request *req);
    const seam_ingress *ing;
};

static const struct route routes[] = {
    {"/v1/chat/completions", EVHTTP_REQ_POST, NULL, &seam_ingress_openai},
    {"/v1/messages", EVHTTP_REQ_POST, NULL, &seam_ingress_anthropic},
    {"/v1/messages/count_tokens", EVHTTP_REQ_POST, seam_native_count_tokens, NULL},
    {"/v1/embeddings", EVHTTP_REQ_POST, NULL, &seam_ingress_openai_embeddings},
    {"/api/chat", EVHTTP_REQ_POST, NULL, &seam_ingress_ollama_chat},
    {"/api/generate", EVHTTP_REQ_POST, NULL, &seam_ingress_ollama_generate},
    {"/api/embed", EVHTTP_REQ_POST, NULL, &seam_ingress_ollama_embed},
    {"/api/tags", EVHTTP_REQ_GET, seam_native_ollama_tags, NULL},
    {"/api/show", EVHTTP_REQ_POST, seam_native_ollama_show, NULL},
    {"/api/version", EVHTTP_REQ_GET, seam_native_ollama_version, NULL},
    {"/v1/models", EVHTTP_REQ_GET, seam_status_models, NULL},
    {"/metrics", EVHTTP_REQ_GET, seam_admin_metrics, NULL},
    {"/admin/stats", EVHTTP_REQ_GET, seam_admin_stats, NULL},
    {"/admin/requests", EVHTTP_REQ_GET, seam_admin_requests, NULL},
    {"/admin/events", EVHTTP_REQ_GET, seam_admin_events, NULL},
    {"/ui", EVHTTP_REQ_GET, seam_ui_page, NULL},
    {"/ui/login", EVHTTP_REQ_POST, seam_ui_login, NULL},
    {"/ui/logout", EVHTTP_REQ_POST, seam_ui_logout, NULL},
    {"/ui/app.js", EVHTTP_REQ_GET, seam_ui_static, NULL},
    {"/ui/app.css", EVHTTP_REQ_GET, seam_ui_static, NULL},
    {"/ui/uplot.iife.min.js", EVHTTP_REQ_GET, seam_ui_static, NULL},
    {"/ui/uplot.min.css", EVHTTP_REQ_GET, seam_ui_static, NULL},
    {"/healthz", EVHTTP_REQ_GET, seam_status_healthz, NULL},
    {"/readyz", EVHTTP_REQ_GET, seam_status_readyz, NULL},
};

static void on_request(struct evhttp_request *req, void *arg)
{
    seam_worker *w = arg;
    const char *uri = evhttp_request_get_uri(req);
    size_t plen = strcspn(uri, "?#");
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    bool path_known = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strlen(routes[i].path) != plen || strncmp(routes[i].path, uri, plen) != 0)
            continue;
        path_known = true;
        if (routes[i].method == method ||
            (method == EVHTTP_REQ_HEAD && routes[i].method == EVHTTP_REQ_GET)) {
            if (routes[i].ing)
                seam_proxy_handle(w, req, routes[i].ing);
            else
                routes[i].handler(w, req);
            return;
        }
    }
    if (path_known) {
        reply_error(req, 405, "method_not_allowed", "method not allowed on this path");
        return;
    }
    char msg[160];
    snprintf(msg, sizeof(msg), "unknown path %.*s", (int)(plen > 100 ? 100 : plen), uri);
    reply_error(req, 404, "unknown_path", msg);
}

/* ---- listening ---- */

static int parse_host(const char *host, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_PASSIVE, .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    char h[128];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']')
        snprintf(h, sizeof(h), "%.*s", (int)(n - 2), host + 1);
    else
        snprintf(h, sizeof(h), "%s", host);
    if (getaddrinfo(h, NULL, &hints, &ai) != 0 || !ai) {
        /* Names such as "localhost" are resolved once at start. */
        hints.ai_flags = AI_PASSIVE;
        if (getaddrinfo(h, NULL, &hints, &ai) != 0 || !ai)
            return -1;
    }
    memcpy(ss, ai->ai_addr, ai->ai_addrlen);
    *len = ai->ai_addrlen;
    freeaddrinfo(ai);
    return 0;
}

static int open_listener(struct sockaddr_storage *ss, socklen_t len, int *port, char *err,
                         size_t errlen)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)*port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)*port);
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        /* Accepted sockets inherit it: without it, Nagle's algorithm and
         * the client's delayed ACKs hold small stream events back ~40 ms. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)ss, len) != 0 || listen(fd, 4096) != 0) {
        snprintf(err, errlen, "cannot listen on port %d: %s", *port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (*port == 0) {
        struct sockaddr_storage got;
        socklen_t glen = sizeof(got);
        getsockname(fd, (struct sockaddr *)&got, &glen);
        *port = ntohs(got.ss_family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
                                               : ((struct sockaddr_in6 *)&got)->sin6_port);
    }
    return fd;
}

/* ---- configuration generations ---- */

static void gen_free(seam_gen *g)
{
    seam_metrics_free(g->metrics);
    seam_capacity_free(g->capacity);
    seam_balancer_free(g->balancer);
    seam_breakers_free(g->breakers);
    seam_rl_free(g->rl);
    seam_spend_free(g->spend);
    seam_health_free(g->health);
    if (g->owned) {
        seam_scanner_free((seam_scanner *)g->scanner);
        seam_config_free((seam_config *)g->cfg);
    }
    seam_free(g);
}

void seam_gen_ref(seam_gen *g)
{
    atomic_fetch_add_explicit(&g->refs, 1, memory_order_relaxed);
}

void seam_gen_unref(seam_gen *g)
{
    if (g && atomic_fetch_sub_explicit(&g->refs, 1, memory_order_acq_rel) == 1)
        gen_free(g);
}

static void ledger_stats(void *l, uint64_t *queued, uint64_t *written, uint64_t *dropped)
{
    seam_ledger_stats(l, queued, written, dropped);
}

/* Builds a generation for <cfg> and <scanner> (taken over when <owned>).
 * Budgets start from what the ledger already holds for today and this
 * month. NULL with a message in <err>. */
static seam_gen *gen_new(seam_server *srv, const seam_config *cfg, const seam_scanner *scanner,
                         bool owned, unsigned long id, char *err, size_t errlen)
{
    seam_gen *g = seam_calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    atomic_init(&g->refs, 1);
    g->id = id;
    g->cfg = cfg;
    g->scanner = scanner;
    g->owned = owned;
    g->health = seam_health_new(cfg->nbackends);
    g->spend = seam_spend_new(cfg, srv->ledger);
    seam_auth_state_init(&g->auth, cfg);
    g->rl = seam_rl_new(cfg);
    g->metrics = seam_metrics_new(cfg, scanner, SEAM_VERSION);
    g->breakers = seam_breakers_new(cfg);
    g->balancer = seam_balancer_new(cfg);
    g->capacity = seam_capacity_from_config(cfg);
    if (!g->spend) {
        snprintf(err, errlen, "cannot read this period's spend from the ledger %s",
                 cfg->state.sqlite);
        g->owned = false;
        gen_free(g);
        return NULL;
    }
    if (!g->health || !g->rl || !g->metrics || !g->breakers || !g->balancer || !g->capacity) {
        snprintf(err, errlen, "out of memory");
        g->owned = false;
        gen_free(g);
        return NULL;
    }
    seam_metrics_watch_health(g->metrics, g->health);
    seam_metrics_watch_breakers(g->metrics, g->breakers);
    seam_metrics_watch_audit(g->metrics, srv->audit);
    if (srv->ledger)
        seam_metrics_watch_ledger(g->metrics, ledger_stats, srv->ledger);
    return g;
}

/* SIGHUP: reads the file again. A file that does not load, or would need
 * what cannot change in a running process (the listen address, the number
 * of workers, the ledger, the audit log, Redis), is refused with the error
 * logged, and the old generation keeps serving. */
static void reload(seam_server *srv)
{
    const seam_config *old = srv->gen->cfg;
    char err[512];
    seam_config *cfg = NULL;
    seam_scanner *scanner = NULL;
    const char *why = NULL;
    if (seam_config_load(old->path, &cfg, err, sizeof(err)) != SEAM_OK)
        why = err;
    else if (strcmp(cfg->listen_host, old->listen_host) != 0 ||
             cfg->listen_port != old->listen_port || cfg->workers != old->workers)
        why = "listen and workers cannot change without a restart";
    else if (strcmp(cfg->state.sqlite ? cfg->state.sqlite : "",
                    old->state.sqlite ? old->state.sqlite : "") != 0 ||
             strcmp(cfg->state.redis ? cfg->state.redis : "",
                    old->state.redis ? old->state.redis : "") != 0 ||
             strcmp(cfg->audit.dir ? cfg->audit.dir : "", old->audit.dir ? old->audit.dir : "") !=
                 0)
        why = "state (sqlite, redis) and audit.dir cannot change without a restart";
    else if (cfg->detect.enabled && seam_scanner_new(cfg, &scanner, err, sizeof(err)) != SEAM_OK)
        why = err;
    seam_gen *g = NULL;
    if (!why && !(g = gen_new(srv, cfg, scanner, true, srv->gen->id + 1, err, sizeof(err)))) {
        why = err;
        scanner = NULL; /* gen_new did not take them over */
    }
    if (why) {
        seam_log_json(SEAM_LOG_ERROR, json_pack("{s:s, s:s, s:s}", "msg",
                                                "reload refused: the old configuration keeps "
                                                "serving",
                                                "file", old->path, "error", why));
        if (!g) {
            seam_scanner_free(scanner);
            seam_config_free(cfg);
        }
        return;
    }
    seam_gen *prev = srv->gen;
    srv->gen = g;
    for (int i = 0; i < srv->nworkers; i++) {
        seam_gen_ref(g);
        seam_gen *stale = atomic_exchange(&srv->workers[i].next_gen, g);
        seam_gen_unref(stale); /* a reload the worker had not taken yet */
        event_active(srv->workers[i].reload, 0, 0);
    }
    seam_gen_unref(prev);
    seam_log_json(SEAM_LOG_INFO, json_pack("{s:s, s:s, s:I}", "msg", "configuration reloaded",
                                           "file", g->cfg->path, "generation", (json_int_t)g->id));
}

/* ---- workers ---- */

/* A worker switches generations on its own loop: new requests start on the
 * new one, its probes and scanner scratch follow, and the requests in flight
 * keep theirs. */
static void on_reload(evutil_socket_t fd, short what, void *arg)
{
    seam_worker *w = arg;
    seam_gen *g = atomic_exchange(&w->next_gen, NULL);
    if (!g)
        return;
    seam_scan_scratch *scratch = g->scanner ? seam_scan_scratch_new(g->scanner) : NULL;
    if (g->scanner && !scratch) {
        seam_log_error("worker %d: no memory for the new scanner: keeping the old configuration",
                       w->id);
        seam_gen_unref(g);
        return;
    }
    seam_scan_scratch_free(w->scratch);
    w->scratch = scratch;
    seam_gen *old = w->gen;
    w->gen = g;
    w->cfg = g->cfg;
    if (w->prober) {
        seam_prober_stop(w->prober);
        w->prober = seam_prober_start(w->base, w->upstream, w->cfg, g->health, PROBE_INTERVAL_MS);
    }
    seam_gen_unref(old);
}

static void on_grace_expired(evutil_socket_t fd, short what, void *arg)
{
    seam_worker *w = arg;
    seam_log_warn("worker %d: grace period over with %zu requests in flight", w->id, w->inflight);
    event_base_loopexit(w->base, NULL);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    seam_worker *w = arg;
    if (w->draining)
        return;
    w->draining = true;
    if (w->bound) {
        evhttp_del_accept_socket(w->http, w->bound); /* closes the listening socket */
        w->bound = NULL;
    }
    uint64_t ms = w->cfg->limits.shutdown_grace_ms;
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
    evtimer_add(w->grace, &tv);
    maybe_stop(w);
}

static void *worker_main(void *arg)
{
    seam_worker *w = arg;
    if (w->id == 0)
        w->prober =
            seam_prober_start(w->base, w->upstream, w->cfg, w->gen->health, PROBE_INTERVAL_MS);
    event_base_dispatch(w->base);
    seam_prober_stop(w->prober);
    w->prober = NULL;
    seam_proxy_abort_all(w);
    return NULL;
}

static void worker_free(seam_worker *w)
{
    if (w->http)
        evhttp_free(w->http);
    seam_upstream_free(w->upstream);
    seam_shared_free(w->shared); /* pending callbacks run now, as degraded */
    w->shared = NULL;
    seam_scan_scratch_free(w->scratch);
    w->scratch = NULL;
    if (w->wake)
        event_free(w->wake);
    if (w->reload)
        event_free(w->reload);
    w->reload = NULL;
    seam_gen_unref(atomic_exchange(&w->next_gen, NULL));
    seam_gen_unref(w->gen);
    w->gen = NULL;
    if (w->grace)
        event_free(w->grace);
    if (w->base)
        event_base_free(w->base);
    w->http = NULL;
    w->upstream = NULL;
    w->base = NULL;
}

static int worker_init(seam_server *srv, seam_worker *w, int id, int fd)
{
    w->id = id;
    w->srv = srv;
    w->gen = srv->gen;
    seam_gen_ref(w->gen);
    w->cfg = w->gen->cfg;
    w->fd = fd;
    if (getrandom(&w->rng, sizeof(w->rng), 0) != sizeof(w->rng) || w->rng == 0)
        w->rng = (uint64_t)time(NULL) * 2654435761u + (uint64_t)id + 1;
    w->base = event_base_new();
    if (!w->base)
        return -1;
    w->http = evhttp_new(w->base);
    w->upstream = seam_upstream_new(w->base);
    w->wake = event_new(w->base, -1, 0, on_wake, w);
    w->reload = event_new(w->base, -1, 0, on_reload, w);
    w->grace = evtimer_new(w->base, on_grace_expired, w);
    if (w->gen->scanner && !(w->scratch = seam_scan_scratch_new(w->gen->scanner)))
        return -1;
    if (!w->http || !w->upstream || !w->wake || !w->reload || !w->grace)
        return -1;
    /* Replicas share rate limits and budgets through Redis: one connection
     * per worker, on the worker's own loop. It connects (and reconnects) in
     * the background; a Redis that is down degrades per state.*_fail_open. */
    if (w->cfg->state.redis && w->cfg->state.redis[0]) {
        char err[256];
        w->shared = seam_shared_new(w->base, w->cfg->state.redis, "seam:", err, sizeof(err));
        if (!w->shared) {
            seam_log_error("worker %d: %s", id, err);
            return -1;
        }
        seam_shared_set_fail_open(w->shared, w->cfg->state.rate_limit_fail_open,
                                  w->cfg->state.budget_fail_open);
    }
    /* Bodies are checked against limits.max_body_bytes by the handler so
     * the client gets a JSON 413. libevent's own cap is a backstop for
     * bodies far beyond the limit (twice it, or the limit + 16 MiB): those
     * it refuses before reading them, with its own (HTML) 413, since
     * libevent 2.1 offers no hook to shape that reply. */
    uint64_t lim = w->cfg->limits.max_body_bytes;
    uint64_t cap = lim + (lim > (16u << 20) ? lim : (16u << 20));
    evhttp_set_max_body_size(w->http, (ev_ssize_t)cap);
    evhttp_set_max_headers_size(w->http, MAX_HEADERS_BYTES);
    evhttp_set_timeout(w->http, IDLE_TIMEOUT_S);
    evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_default_content_type(w->http, "application/json");
    evhttp_set_gencb(w->http, on_request, w);
    w->bound = evhttp_accept_socket_with_handle(w->http, fd);
    return w->bound ? 0 : -1;
}

seam_rc seam_server_run(const seam_config *cfg, const seam_scanner *scanner, char *err,
                        size_t errlen)
{
    seam_server srv = {.started = (long long)time(NULL)};
    seam_rc rc = SEAM_ERR_IO;
    int n = cfg->workers > 0 ? cfg->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* inherited by every worker */
    signal(SIGPIPE, SIG_IGN);

    struct sockaddr_storage ss;
    socklen_t sslen;
    if (parse_host(cfg->listen_host, &ss, &sslen) != 0) {
        snprintf(err, errlen, "cannot resolve listen address '%s'", cfg->listen_host);
        return SEAM_ERR_IO;
    }
    srv.workers = seam_calloc((size_t)n, sizeof(seam_worker));
    if (!srv.workers) {
        snprintf(err, errlen, "out of memory");
        rc = SEAM_ERR_NOMEM;
        goto out;
    }
    /* The audit log opens before any request can arrive and closes after
     * every worker has stopped, so SIGTERM loses no line. */
    if (cfg->audit.dir && cfg->audit.dir[0] &&
        !(srv.audit = seam_audit_open(cfg->audit.dir, cfg->audit.max_bytes, err, errlen))) {
        rc = SEAM_ERR_IO;
        goto out;
    }
    /* The ledger likewise; budgets start from what it already holds for
     * today and this month. */
    if (cfg->state.sqlite && cfg->state.sqlite[0] &&
        !(srv.ledger = seam_ledger_open(cfg->state.sqlite, cfg->state.batch_ms, err, errlen))) {
        rc = SEAM_ERR_IO;
        goto out;
    }
    if (!(srv.gen = gen_new(&srv, cfg, scanner, false, 1, err, errlen))) {
        rc = SEAM_ERR_IO;
        goto out;
    }
    int port = cfg->listen_port;
    for (int i = 0; i < n; i++) {
        int fd = open_listener(&ss, sslen, &port, err, errlen);
        if (fd < 0)
            goto out;
        srv.nworkers = i + 1;
        if (worker_init(&srv, &srv.workers[i], i, fd) != 0) {
            close(fd);
            snprintf(err, errlen, "cannot set up worker %d", i);
            goto out;
        }
    }
    {
        char host[80];
        void *addr = ss.ss_family == AF_INET ? (void *)&((struct sockaddr_in *)&ss)->sin_addr
                                             : (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
        inet_ntop(ss.ss_family, addr, host, sizeof(host));
        snprintf(srv.listen_addr, sizeof(srv.listen_addr), "%s%s%s:%d",
                 ss.ss_family == AF_INET6 ? "[" : "", host, ss.ss_family == AF_INET6 ? "]" : "",
                 port);
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&srv.workers[i].thread, NULL, worker_main, &srv.workers[i]) != 0) {
            snprintf(err, errlen, "cannot start worker thread %d", i);
            for (int j = 0; j < i; j++)
                event_base_loopexit(srv.workers[j].base, NULL);
            for (int j = 0; j < i; j++)
                pthread_join(srv.workers[j].thread, NULL);
            goto out;
        }
    }
    seam_log_json(SEAM_LOG_INFO, json_pack("{s:s, s:s, s:i}", "msg", "listening", "listen",
                                           srv.listen_addr, "workers", n));
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
        reload(&srv);
    seam_log_json(SEAM_LOG_INFO, json_pack("{s:s, s:s, s:I}", "msg", "shutting down", "signal",
                                           sig == SIGTERM ? "SIGTERM" : "SIGINT", "grace_ms",
                                           (json_int_t)cfg->limits.shutdown_grace_ms));
    for (int i = 0; i < n; i++)
        event_active(srv.workers[i].wake, 0, 0);
    for (int i = 0; i < n; i++)
        pthread_join(srv.workers[i].thread, NULL);
    seam_log_info("stopped");
    rc = SEAM_OK;
out:
    for (int i = 0; srv.workers && i < srv.nworkers; i++)
        worker_free(&srv.workers[i]);
    seam_free(srv.workers);
    seam_gen_unref(srv.gen);
    seam_audit_close(srv.audit);
    seam_ledger_close(srv.ledger);
    return rc;
}
