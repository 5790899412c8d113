/*
 * Egress providers: how seam talks to one kind of backend. Each provider is
 * a table of functions over the canonical model (as h2o's handlers and
 * redis's ConnectionType): build the upstream request from a seam_req, turn
 * a whole response or a stream of bytes into seam_events, and read an error
 * body. Adding a provider means adding one table; nothing else changes.
 */
#ifndef SEAM_PROVIDERS_PROVIDER_H
#define SEAM_PROVIDERS_PROVIDER_H

#include "config/config.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/canon.h"
#include "core/rc.h"

#include <stdbool.h>

/* An outbound call, built in the request's arena. */
typedef struct seam_upstream_call {
    const char *url;
    const char **headers; /* NULL-terminated "Name: value" lines */
    seam_buf body;        /* freed by the caller (seam_buf_free) */
} seam_upstream_call;

typedef struct seam_provider_stream seam_provider_stream;

typedef struct seam_provider {
    const char *name;
    /* Builds the call that sends <req> to <b> asking for <model>. <api_key> is
     * NULL when the backend has none. Returns SEAM_ERR_INVALID (with <err>)
     * when the request cannot be expressed for this provider. */
    seam_rc (*build)(const seam_req *req, const seam_backend_conf *b, const char *model,
                     const char *api_key, seam_arena *a, seam_upstream_call *out, char *err,
                     size_t errlen);
    /* A whole (non-stream) success body to events: start, deltas, tool calls,
     * usage, finish. SEAM_ERR_UPSTREAM when the body is not what the provider
     * sends. */
    seam_rc (*parse_response)(const char *body, size_t len, seam_arena *a,
                              const seam_event_sink *sink, char *err, size_t errlen);
    /* Streaming: raw response bytes in, events out. */
    seam_provider_stream *(*stream_new)(seam_arena *a);
    seam_rc (*stream_feed)(seam_provider_stream *s, const char *p, size_t n,
                           const seam_event_sink *sink, char *err, size_t errlen);
    /* End of the byte stream. SEAM_ERR_UPSTREAM when it ended before the
     * provider's end marker. */
    seam_rc (*stream_end)(seam_provider_stream *s, const seam_event_sink *sink, char *err,
                          size_t errlen);
    /* The human message of an error body, copied into <out> ("" if none). */
    void (*error_message)(const char *body, size_t len, char *out, size_t n);
    /* Health probe path, e.g. "/v1/models". */
    const char *probe_path;
    /* Headers of a health probe (GET probe_path) carrying <api_key> (NULL
     * when the backend has none), as a NULL-terminated list in <a>, or NULL
     * when out of memory. NULL member: "Authorization: Bearer <key>". */
    const char **(*probe_headers)(const char *api_key, seam_arena *a);
} seam_provider;

const seam_provider *seam_provider_get(seam_provider_kind kind);

#endif
