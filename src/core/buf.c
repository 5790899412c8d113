/* Bounded growable buffer; see buf.h. */
#include "core/buf.h"
#include "core/alloc.h"

#include <stdio.h>
#include <string.h>

void seam_buf_init(seam_buf *b, size_t max)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->max = max;
}

seam_rc seam_buf_reserve(seam_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra)
        return SEAM_ERR_TOO_BIG;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return SEAM_OK;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *d = seam_realloc(b->data, cap);
    if (!d)
        return SEAM_ERR_NOMEM;
    b->data = d;
    b->cap = cap;
    return SEAM_OK;
}

seam_rc seam_buf_append(seam_buf *b, const void *p, size_t n)
{
    seam_rc rc = seam_buf_reserve(b, n);
    if (rc != SEAM_OK)
        return rc;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return SEAM_OK;
}

seam_rc seam_buf_puts(seam_buf *b, const char *s)
{
    return seam_buf_append(b, s, strlen(s));
}

seam_rc seam_buf_printf(seam_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SEAM_ERR_INVALID;
    seam_rc rc = seam_buf_reserve(b, (size_t)n);
    if (rc != SEAM_OK)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SEAM_OK;
}

void seam_buf_consume(seam_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data)
        b->data[b->len] = '\0';
}

void seam_buf_reset(seam_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void seam_buf_free(seam_buf *b)
{
    seam_free(b->data);
    seam_buf_init(b, b->max);
}
