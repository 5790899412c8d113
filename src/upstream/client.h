/*
 * The upstream HTTP client: one libcurl multi handle per worker, driven by
 * the worker's libevent loop through CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION (curl's multi-event.c pattern). Nothing here
 * blocks. A transfer reports its bytes as they arrive and ends with exactly
 * one on_done call, unless it is cancelled first, in which case no callback
 * fires again.
 */
#ifndef SEAM_UPSTREAM_CLIENT_H
#define SEAM_UPSTREAM_CLIENT_H

#include "config/config.h"
#include "core/rc.h"

#include <event2/event.h>
#include <stddef.h>

typedef struct seam_upstream seam_upstream;
typedef struct seam_transfer seam_transfer;

typedef struct seam_transfer_cbs {
    /* Response bytes as they arrive; <status> is the HTTP status. Return 0 to
     * continue, -1 to abort (on_done then reports SEAM_ERR_CANCELLED). */
    int (*on_data)(void *ctx, seam_transfer *t, const char *p, size_t n);
    /* The transfer ended: SEAM_OK (any HTTP status), SEAM_ERR_TIMEOUT,
     * SEAM_ERR_UPSTREAM (connect error, reset, ...) or SEAM_ERR_CANCELLED.
     * <error> is a short human description for failures. The transfer is
     * released right after this returns. */
    void (*on_done)(void *ctx, seam_transfer *t, seam_rc rc, const char *error);
} seam_transfer_cbs;

typedef struct seam_transfer_opts {
    const char *url;
    const char *method; /* "GET" or "POST" */
    char *body;         /* POST body (seam_malloc'd); the transfer takes ownership and
                           frees it, because curl may read it until the transfer is
                           reaped, even after a cancel */
    size_t body_len;
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    long timeout_ms;            /* whole transfer */
    long connect_timeout_ms;
    /* The invariant, checked again here, right before bytes leave: a transfer
     * for <backend> carrying data of <sensitivity> is refused when the
     * backend's clearance is lower. <backend> NULL means no request data
     * (health probes). */
    const seam_backend_conf *backend;
    seam_sensitivity sensitivity;
} seam_transfer_opts;

seam_upstream *seam_upstream_new(struct event_base *base);
/* Cancels every transfer still running (their callbacks do not fire). */
void seam_upstream_free(seam_upstream *u);

/* Starts a transfer. Takes ownership of <o->body> in every case. Returns NULL
 * and sets <*rc> (SEAM_ERR_FORBIDDEN when the
 * invariant refuses, SEAM_ERR_NOMEM) on failure; callbacks never fire then. */
seam_transfer *seam_upstream_start(seam_upstream *u, const seam_transfer_opts *o,
                                   const seam_transfer_cbs *cbs, void *ctx, seam_rc *rc);

/* Stops a transfer; no callback fires afterwards. Safe to call from inside
 * on_data (the release is deferred). Must not be called after on_done. */
void seam_transfer_cancel(seam_transfer *t);

/* The response status (0 until headers arrived) and a response header value
 * (lower-case name; only content-type and retry-after are kept), or NULL. */
long seam_transfer_status(const seam_transfer *t);
const char *seam_transfer_header(const seam_transfer *t, const char *name);

/* Number of transfers in flight on <u>. */
size_t seam_upstream_active(const seam_upstream *u);

#endif
