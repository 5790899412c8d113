/*
 * Server-sent events: an incremental parser for upstream streams and the
 * framing helper for streams seam writes. The parser accepts input split at
 * any byte, LF or CRLF (or lone CR) line ends, multi-line `data:`, comment
 * lines, `event:` names; events larger than the configured maximum are an
 * error rather than a memory sink.
 */
#ifndef SEAM_HTTP_SSE_H
#define SEAM_HTTP_SSE_H

#include "core/buf.h"
#include "core/rc.h"

#include <stdbool.h>
#include <stddef.h>

/* Called once per complete event. <event> is "" when the stream gave no
 * `event:` line; <data> is the joined `data:` lines (NUL-terminated).
 * Return 0 to continue, non-zero to stop parsing (seam_sse_feed then returns
 * SEAM_ERR_CANCELLED). */
typedef int (*seam_sse_fn)(void *ctx, const char *event, const char *data, size_t len);

typedef struct seam_sse_parser {
    seam_buf line;  /* the current, incomplete line */
    seam_buf data;  /* data lines of the current event */
    char event[64]; /* event name of the current event */
    bool has_data;  /* a data: line was seen in this event */
    bool skip_lf;   /* last byte was CR: a following LF ends nothing */
} seam_sse_parser;

/* <max_event> bounds one line and one event's data. */
void seam_sse_init(seam_sse_parser *p, size_t max_event);

/* Feeds <n> bytes. Returns SEAM_OK, SEAM_ERR_TOO_BIG, SEAM_ERR_NOMEM, or
 * SEAM_ERR_CANCELLED when the callback asked to stop. */
seam_rc seam_sse_feed(seam_sse_parser *p, const char *buf, size_t n, seam_sse_fn fn, void *ctx);

/* At end of stream: dispatches a last event that was not followed by a blank
 * line (some providers end the stream by closing the connection). */
seam_rc seam_sse_finish(seam_sse_parser *p, seam_sse_fn fn, void *ctx);

void seam_sse_free(seam_sse_parser *p);

#endif
