/*
 * A growable byte buffer that knows its maximum size from the moment it is
 * created: the first defence against huge bodies and endless streams (as
 * curl's dynbuf with its "toobig" limit). Contents are always NUL-terminated
 * so they can be handed to parsers that want C strings.
 */
#ifndef SEAM_CORE_BUF_H
#define SEAM_CORE_BUF_H

#include "core/rc.h"

#include <stdarg.h>
#include <stddef.h>

typedef struct seam_buf {
    char *data;
    size_t len, cap, max;
} seam_buf;

/* Initialises an empty buffer that may hold at most <max> bytes. */
void seam_buf_init(seam_buf *b, size_t max);

/* Appends <n> bytes. Returns SEAM_ERR_TOO_BIG past the maximum (the buffer is
 * left unchanged) or SEAM_ERR_NOMEM. */
seam_rc seam_buf_append(seam_buf *b, const void *p, size_t n);
seam_rc seam_buf_puts(seam_buf *b, const char *s);

/* Makes room for <n> more bytes (and the NUL after them) without writing:
 * for writers that fill data + len themselves and then add to len. Same
 * errors as seam_buf_append. */
seam_rc seam_buf_reserve(seam_buf *b, size_t n);
seam_rc seam_buf_printf(seam_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Removes the first <n> bytes. */
void seam_buf_consume(seam_buf *b, size_t n);
void seam_buf_reset(seam_buf *b);
void seam_buf_free(seam_buf *b);

#endif
