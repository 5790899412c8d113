/*
 * Serialising jansson values straight into a seam_buf, in one pass and
 * without an intermediate string (json_dumps allocates one per call).
 */
#ifndef SEAM_CORE_JSONBUF_H
#define SEAM_CORE_JSONBUF_H

#include "core/jsonbuf.h"
#include "core/buf.h"

#include <jansson.h>
#include <stdbool.h>

/* Appends <v> encoded with jansson <flags> to <b>, exactly as jansson would
 * write it (compact output is written here, faster; other flags go to
 * jansson). Returns SEAM_ERR_TOO_BIG
 * past the buffer's maximum, SEAM_ERR_NOMEM, or SEAM_ERR_INVALID when
 * jansson refuses the value. */
seam_rc seam_buf_add_json(seam_buf *b, const json_t *v, size_t flags);

/* Appends <len> bytes of UTF-8 <s> as a JSON string literal, quotes
 * included; SEAM_ERR_INVALID if <s> is not UTF-8. */
seam_rc seam_buf_add_json_string(seam_buf *b, const char *s, size_t len);

/* Object members written straight into <b>, for hot lines (the access
 * log) that would otherwise build a jansson object only to serialise it:
 * each writes `"key":value`, after a comma unless <b> is empty or ends in
 * '{' or '['. A string that is not UTF-8 is written as null; a real that is not
 * finite is left out, as json_real refuses it. */
seam_rc seam_json_member_str(seam_buf *b, const char *key, const char *v);
seam_rc seam_json_member_strn(seam_buf *b, const char *key, const char *v, size_t len);
seam_rc seam_json_member_null(seam_buf *b, const char *key);
/* `"key":` alone, for a nested object or array the caller writes. */
seam_rc seam_json_member_key(seam_buf *b, const char *key);
seam_rc seam_json_member_int(seam_buf *b, const char *key, long long v);
seam_rc seam_json_member_real(seam_buf *b, const char *key, double v, int precision);
seam_rc seam_json_member_bool(seam_buf *b, const char *key, bool v);

/* json_dumps through seam_buf_add_json: a NUL-terminated string to free(),
 * or NULL. */
char *seam_json_dumps(const json_t *v, size_t flags);

#endif
