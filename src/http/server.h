/*
 * The HTTP front: worker threads, each with its own libevent loop, evhttp
 * server on its own SO_REUSEPORT listening socket bound to the shared port,
 * and libcurl multi handle. A request lives and dies on one worker. The main
 * thread only starts workers, waits for SIGTERM/SIGINT and drains them.
 */
#ifndef SEAM_HTTP_SERVER_H
#define SEAM_HTTP_SERVER_H

#include "config/config.h"
#include "core/rc.h"
#include "auth/keys.h"
#include "auth/ratelimit.h"
#include "ledger/ledger.h"
#include "ledger/spend.h"
#include "obs/audit.h"
#include "obs/metrics.h"
#include "scan/scan.h"
#include "state/shared.h"
#include "upstream/breaker.h"
#include "upstream/capacity.h"
#include "upstream/client.h"
#include "upstream/dispatch.h"
#include "upstream/health.h"

#include <event2/event.h>
#include <event2/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct seam_server seam_server;
typedef struct seam_exchange seam_exchange;

typedef struct seam_gen seam_gen;

typedef struct seam_worker {
    int id;
    seam_server *srv;
    const seam_config *cfg;       /* the snapshot this worker serves: gen->cfg */
    seam_gen *gen;                /* this worker's generation (a reference) */
    _Atomic(seam_gen *) next_gen; /* main thread -> worker: switch to this one */
    struct event *reload;         /* main thread -> worker: a new generation is waiting */
    void *prober;                 /* the worker's health prober (upstream/probe.h) */
    struct event_base *base;
    struct evhttp *http;
    struct evhttp_bound_socket *bound;
    seam_upstream *upstream;
    seam_shared *shared;        /* Redis-shared limits and budgets; NULL without state.redis */
    seam_scan_scratch *scratch; /* this worker's scanner scratch space */
    struct event *wake;         /* main thread -> worker: start draining */
    struct event *grace;        /* drain deadline */
    bool draining;
    size_t inflight;
    seam_exchange *exchanges; /* in flight on this worker, for shutdown */
    uint64_t rng;             /* request ids */
    pthread_t thread;
    int fd;
} seam_worker;

/* One configuration generation: the snapshot and everything built from it
 * (its backends, keys, budgets and pools are indexes into it). SIGHUP builds
 * a new one and swaps it in on every worker; a request keeps the one it
 * started with, so in-flight requests finish on their own config. Freed
 * when the last request and worker holding it let go. */
struct seam_gen {
    _Atomic int refs;
    unsigned long id; /* 1, 2, ... in load order */
    const seam_config *cfg;
    const seam_scanner *scanner; /* NULL when detection is off */
    bool owned;                  /* cfg and scanner are the gen's to free */
    seam_health_table *health;
    seam_spend *spend;       /* per-tenant cloud spend for budgets */
    seam_metrics *metrics;   /* /metrics (counters restart with a reload) */
    seam_auth_state auth;    /* the admin key's hash */
    seam_ratelimit *rl;      /* per-key rate limits (in-process) */
    seam_breakers *breakers; /* a circuit breaker per backend */
    seam_balancer *balancer; /* outstanding requests per backend, pool rotation */
    seam_capacity *capacity; /* max_concurrency slots and pool queues */
};

/* Takes and drops a reference to <g> (any thread). */
void seam_gen_ref(seam_gen *g);
void seam_gen_unref(seam_gen *g);

struct seam_server {
    seam_gen *gen;       /* the current generation (the main thread's reference) */
    seam_audit *audit;   /* NULL when audit.dir is not configured */
    seam_ledger *ledger; /* NULL when state.sqlite is "" */
    seam_worker *workers;
    int nworkers;
    char listen_addr[96]; /* host:port actually bound */
    long long started;    /* unix time, for /v1/models "created" */
};

/* Runs the server until SIGTERM or SIGINT, then drains in-flight requests up
 * to limits.shutdown_grace_ms and returns SEAM_OK. Fails early (SEAM_ERR_IO
 * with a message in <err>) when it cannot listen. */
seam_rc seam_server_run(const seam_config *cfg, const seam_scanner *scanner, char *err,
                        size_t errlen);

/* Called by a request handler when an exchange has ended, so a draining
 * worker can stop once idle. */
void seam_worker_request_done(seam_worker *w);

/* A fresh request id ("seam-" + 20 hex digits) into <out>. */
void seam_worker_request_id(seam_worker *w, char out[32]);

/* Sends a JSON reply with <status>; <body> is copied. Adds the request id
 * header when <request_id> is not NULL. */
void seam_http_reply_json(struct evhttp_request *req, int status, const char *body,
                          const char *request_id);

#endif
