/*
 * Serialising jansson values straight into a seam_buf, in one pass and
 * without an intermediate string (json_dumps allocates one per call).
 */
#ifndef SEAM_CORE_JSONBUF_H
#define SEAM_CORE_JSONBUF_H

#include "core/buf.h"

#include <jansson.h>

/* Appends <v> encoded with jansson <flags> to <b>. Returns SEAM_ERR_TOO_BIG
 * past the buffer's maximum, SEAM_ERR_NOMEM, or SEAM_ERR_INVALID when
 * jansson refuses the value. */
seam_rc seam_buf_add_json(seam_buf *b, const json_t *v, size_t flags);

/* Appends <len> bytes of UTF-8 <s> as a JSON string literal, quotes
 * included. */
seam_rc seam_buf_add_json_string(seam_buf *b, const char *s, size_t len);

#endif
