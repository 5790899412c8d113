/*
 * The upstream HTTP client: one libcurl multi handle per worker, driven by
 * the worker's libevent loop through CURLMOPT_SOCKETFUNCTION and
 * CURLMOPT_TIMERFUNCTION (curl's multi-event.c pattern). Nothing here
 * blocks. A transfer reports its bytes as they arrive and ends with exactly
 * one on_done call, unless it is cancelled first, in which case no callback
 * fires again.
 *
 * Each transfer has four optional deadlines (connect, first byte, idle gap,
 * total) and can be paused and resumed, so that a caller whose own client
 * reads slowly stops reading the upstream instead of buffering without
 * bound. A failed transfer says how it failed (seam_transfer_failure), so
 * the caller can tell a retryable connect error from a stream that broke
 * after bytes were delivered.
 */
#ifndef SEAM_UPSTREAM_CLIENT_H
#define SEAM_UPSTREAM_CLIENT_H

#include "config/config.h"
#include "core/rc.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct seam_upstream seam_upstream;
typedef struct seam_transfer seam_transfer;

/* How a transfer failed: a closed set, so the caller can decide whether to
 * retry and what to tell its client. Only meaningful inside on_done (the
 * transfer is freed right after). */
typedef enum {
    SEAM_FAIL_NONE = 0, /* completed (whatever the HTTP status) */
    /* No connection: DNS, refused, unreachable, TLS handshake. Nothing was
     * sent; retryable. */
    SEAM_FAIL_CONNECT = 1,
    /* Connected and the request went out, then the connection broke before
     * any body byte reached on_data (headers may have arrived). Nothing was
     * delivered; retryable when the request is. */
    SEAM_FAIL_RESET_BEFORE_BODY = 2,
    /* The connection broke, or its framing did (a bad chunk), after body
     * bytes reached on_data. Not transparently retryable. */
    SEAM_FAIL_RESET_MID_BODY = 3,
    SEAM_FAIL_TIMEOUT_CONNECT = 4,    /* connect_timeout_ms passed */
    SEAM_FAIL_TIMEOUT_FIRST_BYTE = 5, /* first_byte_timeout_ms passed */
    SEAM_FAIL_TIMEOUT_IDLE = 6,       /* idle_timeout_ms passed between two pieces */
    SEAM_FAIL_TIMEOUT_TOTAL = 7,      /* timeout_ms passed */
    SEAM_FAIL_TOO_LARGE = 8,          /* the body passed max_response_bytes */
    SEAM_FAIL_ABORTED = 9,            /* on_data returned -1 */
    SEAM_FAIL_OTHER = 10,             /* anything else libcurl reports */
    /* seam could not open the connection for want of its own resources
     * (file descriptors, socket buffers, memory): not the backend's fault,
     * so no breaker should count it, and an immediate retry would fail the
     * same way. */
    SEAM_FAIL_LOCAL = 11,
} seam_transfer_failure;

typedef struct seam_transfer_cbs {
    /* Response body bytes as they arrive (seam_transfer_status() is known by
     * then). Return 0 to continue, -1 to abort (on_done then reports
     * SEAM_ERR_CANCELLED). May run inside seam_transfer_resume(), which
     * delivers what libcurl held back while the transfer was paused. */
    int (*on_data)(void *ctx, seam_transfer *t, const char *p, size_t n);
    /* The transfer ended: SEAM_OK (any HTTP status), SEAM_ERR_TIMEOUT (one
     * of the four deadlines), SEAM_ERR_TOO_BIG (max_response_bytes),
     * SEAM_ERR_UPSTREAM (connect error, reset, ...) or SEAM_ERR_CANCELLED
     * (on_data aborted). <error> is a short human description for failures,
     * naming the timeout that fired; seam_transfer_failure_kind() says the
     * same as a constant. The transfer is released right after this
     * returns. */
    void (*on_done)(void *ctx, seam_transfer *t, seam_rc rc, const char *error);
} seam_transfer_cbs;

/* Every limit is in milliseconds (bytes for max_response_bytes) and 0 means
 * no limit. */
typedef struct seam_transfer_opts {
    const char *url;
    const char *method; /* "GET" or "POST" */
    char *body;         /* POST body (seam_malloc'd); the transfer takes ownership and
                           frees it, because curl may read it until the transfer is
                           reaped, even after a cancel */
    size_t body_len;
    const char *const *headers; /* NULL-terminated "Name: value" lines */
    /* The whole transfer, from seam_upstream_start to the last byte,
     * connect and paused time included. */
    long timeout_ms;
    /* DNS, TCP and TLS, up to the moment the request can be sent. */
    long connect_timeout_ms;
    /* From the request going out on a ready connection to the first
     * response byte; the status line counts. */
    long first_byte_timeout_ms;
    /* The longest silence once the response started: between the headers
     * and the first body chunk, and between two chunks. It does not run
     * while the transfer is paused (that stall is the caller's). */
    long idle_timeout_ms;
    /* The largest response body accepted. */
    size_t max_response_bytes;
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

/* Backpressure. seam_transfer_pause() stops on_data calls until
 * seam_transfer_resume(); libcurl holds at most one read's worth of bytes
 * and stops reading the socket, so the upstream's TCP window closes. Both
 * are callable from anywhere, on_data included, and are idempotent. While
 * paused the first-byte and idle deadlines do not run (they restart in full
 * on resume); the total deadline does. A paused transfer can still end
 * (on_done) by a deadline, an error, or when the response was already
 * complete in what libcurl read.
 *
 * seam_transfer_resume() may call on_data synchronously, before it returns,
 * with the bytes libcurl held back, and on_data may pause again or cancel.
 * Called from inside a libcurl callback (another transfer's on_data), the
 * resume is applied from the event loop instead. */
void seam_transfer_pause(seam_transfer *t);
void seam_transfer_resume(seam_transfer *t);
bool seam_transfer_paused(const seam_transfer *t);

/* The response status (0 until headers arrived) and a response header value
 * (lower-case name; only content-type and retry-after are kept), or NULL. */
long seam_transfer_status(const seam_transfer *t);
const char *seam_transfer_header(const seam_transfer *t, const char *name);

/* Body bytes delivered to on_data so far. */
size_t seam_transfer_bytes_received(const seam_transfer *t);

/* Inside on_done: how the transfer failed (SEAM_FAIL_NONE on success and
 * before the end). */
seam_transfer_failure seam_transfer_failure_kind(const seam_transfer *t);

/* A stable short name: "none", "connect", "reset_before_body",
 * "reset_mid_body", "timeout_connect", "timeout_first_byte", "timeout_idle",
 * "timeout_total", "too_large", "aborted", "other". */
const char *seam_transfer_failure_str(seam_transfer_failure f);

/* Which deadline a SEAM_FAIL_TIMEOUT_* is: "connect", "first_byte", "idle"
 * or "total"; NULL for any other kind. */
const char *seam_transfer_timeout_str(seam_transfer_failure f);

/* True for the failures after which nothing of the response reached
 * on_data, so sending the request again elsewhere cannot duplicate what the
 * caller saw: connect errors and timeouts, resets before the body, and the
 * first-byte timeout (a 504, which the resilience rules retry). Whether the
 * request itself may be repeated is the caller's call. */
bool seam_transfer_failure_retryable(seam_transfer_failure f);

/* Number of transfers in flight on <u>. */
size_t seam_upstream_active(const seam_upstream *u);

#endif
