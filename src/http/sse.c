/*
 * Incremental SSE parser (WHATWG "event stream interpretation", minus `id`
 * and `retry`, which no LLM provider uses). Bytes are accumulated into the
 * current line; each complete line updates the current event; a blank line
 * dispatches it.
 */
#include "http/sse.h"

#include <string.h>

void seam_sse_init(seam_sse_parser *p, size_t max_event)
{
    seam_buf_init(&p->line, max_event);
    seam_buf_init(&p->data, max_event);
    p->event[0] = '\0';
    p->has_data = false;
    p->skip_lf = false;
}

void seam_sse_free(seam_sse_parser *p)
{
    seam_buf_free(&p->line);
    seam_buf_free(&p->data);
}

static seam_rc dispatch(seam_sse_parser *p, seam_sse_fn fn, void *ctx)
{
    seam_rc rc = SEAM_OK;
    if (p->has_data) {
        const char *data = p->data.data ? p->data.data : "";
        if (fn(ctx, p->event, data, p->data.len) != 0)
            rc = SEAM_ERR_CANCELLED;
    }
    seam_buf_reset(&p->data);
    p->event[0] = '\0';
    p->has_data = false;
    return rc;
}

/* Handles one complete line (without its terminator). */
static seam_rc process_line(seam_sse_parser *p, const char *line, size_t len, seam_sse_fn fn,
                            void *ctx)
{
    if (len == 0)
        return dispatch(p, fn, ctx);
    if (line[0] == ':')
        return SEAM_OK; /* comment, e.g. OpenRouter's ": PROCESSING" keep-alives */
    const char *colon = memchr(line, ':', len);
    size_t nlen = colon ? (size_t)(colon - line) : len;
    const char *val = colon ? colon + 1 : line + len;
    size_t vlen = colon ? len - nlen - 1 : 0;
    if (vlen > 0 && val[0] == ' ') {
        val++;
        vlen--;
    }
    if (nlen == 4 && memcmp(line, "data", 4) == 0) {
        seam_rc rc;
        if (p->has_data && (rc = seam_buf_append(&p->data, "\n", 1)) != SEAM_OK)
            return rc;
        p->has_data = true;
        return seam_buf_append(&p->data, val, vlen);
    }
    if (nlen == 5 && memcmp(line, "event", 5) == 0) {
        if (vlen >= sizeof(p->event))
            vlen = sizeof(p->event) - 1;
        memcpy(p->event, val, vlen);
        p->event[vlen] = '\0';
    }
    /* id, retry and unknown fields are ignored, as the spec says. */
    return SEAM_OK;
}

seam_rc seam_sse_feed(seam_sse_parser *p, const char *buf, size_t n, seam_sse_fn fn, void *ctx)
{
    size_t i = 0;
    while (i < n) {
        if (p->skip_lf) {
            p->skip_lf = false;
            if (buf[i] == '\n') {
                i++;
                continue;
            }
        }
        /* Find the next line terminator in the rest of the input. */
        size_t j = i;
        while (j < n && buf[j] != '\n' && buf[j] != '\r')
            j++;
        seam_rc rc;
        if (j == n) {
            /* No terminator yet: keep the partial line for the next feed. */
            return seam_buf_append(&p->line, buf + i, n - i);
        }
        if (buf[j] == '\r')
            p->skip_lf = true;
        if (p->line.len > 0) {
            if ((rc = seam_buf_append(&p->line, buf + i, j - i)) != SEAM_OK)
                return rc;
            rc = process_line(p, p->line.data, p->line.len, fn, ctx);
            seam_buf_reset(&p->line);
        } else {
            if (j - i > p->line.max)
                return SEAM_ERR_TOO_BIG;
            rc = process_line(p, buf + i, j - i, fn, ctx);
        }
        if (rc != SEAM_OK)
            return rc;
        i = j + 1;
    }
    return SEAM_OK;
}

seam_rc seam_sse_finish(seam_sse_parser *p, seam_sse_fn fn, void *ctx)
{
    seam_rc rc = SEAM_OK;
    if (p->line.len > 0) {
        rc = process_line(p, p->line.data, p->line.len, fn, ctx);
        seam_buf_reset(&p->line);
    }
    if (rc == SEAM_OK)
        rc = dispatch(p, fn, ctx);
    return rc;
}
