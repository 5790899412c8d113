/*
 * jansson values -> seam_buf; see jsonbuf.h.
 *
 * Compact output is written here rather than by json_dump_callback: on the
 * request path seam serialises every upstream request, every answer, every
 * audit line and every access-log line, and jansson's dumper costs about
 * 80 instructions a byte there (a "%p" snprintf and a hashtable insert per
 * object and array for its cycle check, a UTF-8 decode per character). The
 * values seam serialises are trees (built by seam or parsed by jansson), so
 * a depth bound replaces the cycle check, and strings inside jansson values
 * are valid UTF-8 already (json_string checks it), so they only need
 * escaping. The output is byte for byte what jansson writes for the same
 * flags (tests/unit/test_jsonbuf.c compares the two); flags this writer
 * does not implement fall back to jansson.
 */
#include "core/jsonbuf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Deeper than anything jansson's parser accepts (2048), so only a cycle
 * built by hand reaches it. */
#define JSONBUF_MAX_DEPTH 4096

/* Flags the fast writer implements: the rest go to jansson. */
#define FAST_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY | JSON_REAL_PRECISION(31))

struct sink {
    seam_buf *b;
    seam_rc rc;
};

static int append(const char *p, size_t n, void *data)
{
    struct sink *s = data;
    s->rc = seam_buf_append(s->b, p, n);
    return s->rc == SEAM_OK ? 0 : -1;
}

/* Bytes an escape adds: 0 for bytes copied as is, 1 for \" \\ \b \f \n \r
 * \t, 5 for the other control characters (\u00XX). */
static const unsigned char escape_extra[256] = {
    [0x00] = 5, [0x01] = 5, [0x02] = 5, [0x03] = 5, [0x04] = 5, [0x05] = 5, [0x06] = 5,
    [0x07] = 5, ['\b'] = 1, ['\t'] = 1, ['\n'] = 1, [0x0b] = 5, ['\f'] = 1, ['\r'] = 1,
    [0x0e] = 5, [0x0f] = 5, [0x10] = 5, [0x11] = 5, [0x12] = 5, [0x13] = 5, [0x14] = 5,
    [0x15] = 5, [0x16] = 5, [0x17] = 5, [0x18] = 5, [0x19] = 5, [0x1a] = 5, [0x1b] = 5,
    [0x1c] = 5, [0x1d] = 5, [0x1e] = 5, [0x1f] = 5, ['"'] = 1,  ['\\'] = 1,
};

/* Whether any byte of <w> is below 0x20, '"' or '\\' (the classic
 * "has zero byte" test applied to w, w ^ '"' and w ^ '\\'). */
static inline int word_has_special(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t below = (w - ones * 0x20) & ~w;
    uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');
    uint64_t quote = (q - ones) & ~q, backslash = (bs - ones) & ~bs;
    return ((below | quote | backslash) & highs) != 0;
}

/* One byte, without seam_buf_append's call for the common case. */
static inline seam_rc put_char(seam_buf *b, char c)
{
    if (b->len + 1 < b->cap && b->len < b->max) {
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
        return SEAM_OK;
    }
    return seam_buf_append(b, &c, 1);
}

/* <s> is valid UTF-8: only quotes, backslashes and control characters
 * change, as jansson writes them (\b \f \n \r \t, else \u00XX uppercase).
 * One pass counts what the escapes add, so that the buffer grows once and
 * a string with nothing to escape is a single copy. */
static seam_rc put_escaped(seam_buf *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t extra = 0, at = 0;
    /* Eight bytes at a time while none needs escaping (the common case:
     * prose), then byte by byte from the first word that has one. */
    for (; at + 8 <= len; at += 8) {
        uint64_t w;
        memcpy(&w, p + at, 8);
        if (word_has_special(w))
            break;
    }
    for (; at < len; at++)
        extra += escape_extra[p[at]];
    if (len > (size_t)-1 / 2 || extra > (size_t)-1 / 2)
        return SEAM_ERR_TOO_BIG;
    seam_rc rc = seam_buf_reserve(b, len + extra + 2);
    if (rc != SEAM_OK)
        return rc;
    char *o = b->data + b->len;
    *o++ = '"';
    if (extra == 0) {
        memcpy(o, s, len);
        o += len;
    } else {
        static const char hex[] = "0123456789ABCDEF";
        for (size_t i = 0; i < len; i++) {
            unsigned char c = p[i];
            switch (escape_extra[c]) {
            case 0:
                *o++ = (char)c;
                break;
            case 1:
                *o++ = '\\';
                *o++ = c == '\b'   ? 'b'
                       : c == '\f' ? 'f'
                       : c == '\n' ? 'n'
                       : c == '\r' ? 'r'
                       : c == '\t' ? 't'
                                   : (char)c;
                break;
            default:
                memcpy(o, "\\u00", 4);
                o[4] = hex[c >> 4];
                o[5] = hex[c & 15];
                o += 6;
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    b->len = (size_t)(o - b->data);
    return SEAM_OK;
}

/* RFC 3629 well-formedness: no overlongs, no surrogates, nothing past
 * U+10FFFF; what json_stringn accepts. */
static int utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        unsigned c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        size_t n;
        unsigned cp, min;
        if (c >= 0xc2 && c <= 0xdf) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c <= 0xef) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if ((size_t)(end - p) <= n)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        p += n + 1;
    }
    return 1;
}

/* jansson's integer format, without printf. */
static seam_rc put_integer(seam_buf *b, json_int_t v)
{
    char tmp[24], *p = tmp + sizeof tmp;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    return seam_buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

/* jansson's jsonp_dtostr: "%.<precision>g", ".0" added to what would read
 * as an integer, exponents without '+' or leading zeros. */
static seam_rc put_real(seam_buf *b, double v, int precision)
{
    char tmp[64];
    int n = snprintf(tmp, sizeof tmp, "%.*g", precision ? precision : 17, v);
    if (n < 0 || (size_t)n >= sizeof tmp - 3)
        return SEAM_ERR_INVALID;
    size_t len = (size_t)n;
    char *comma = memchr(tmp, ',', len); /* a locale's decimal comma */
    if (comma)
        *comma = '.';
    if (strspn(tmp, "0123456789-") == len) {
        memcpy(tmp + len, ".0", 3);
        len += 2;
    }
    char *e = memchr(tmp, 'e', len);
    if (e) {
        char *start = e + 1, *end = e + 2;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - tmp) + 1);
            len -= (size_t)(end - start);
        }
    }
    return seam_buf_append(b, tmp, len);
}

static seam_rc put_value(seam_buf *b, const json_t *v, int precision, int depth)
{
    if (depth > JSONBUF_MAX_DEPTH)
        return SEAM_ERR_INVALID;
    seam_rc rc = SEAM_OK;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        rc = put_char(b, '{');
        const char *key;
        const json_t *item;
        int first = 1;
        /* json_object_foreach wants a non-const object; iteration does not
         * change it. */
        json_t *o = (json_t *)v;
        json_object_foreach(o, key, item)
        {
            if (rc != SEAM_OK)
                break;
            if (!first)
                rc = put_char(b, ',');
            first = 0;
            size_t klen = json_object_iter_key_len(json_object_key_to_iter(key));
            if (rc == SEAM_OK)
                rc = put_escaped(b, key, klen);
            if (rc == SEAM_OK)
                rc = put_char(b, ':');
            if (rc == SEAM_OK)
                rc = put_value(b, item, precision, depth + 1);
        }
        return rc != SEAM_OK ? rc : put_char(b, '}');
    }
    case JSON_ARRAY: {
        rc = put_char(b, '[');
        size_t n = json_array_size(v);
        for (size_t i = 0; rc == SEAM_OK && i < n; i++) {
            if (i)
                rc = put_char(b, ',');
            if (rc == SEAM_OK)
                rc = put_value(b, json_array_get(v, i), precision, depth + 1);
        }
        return rc != SEAM_OK ? rc : put_char(b, ']');
    }
    case JSON_STRING:
        return put_escaped(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return put_integer(b, json_integer_value(v));
    case JSON_REAL:
        return put_real(b, json_real_value(v), precision);
    case JSON_TRUE:
        return seam_buf_append(b, "true", 4);
    case JSON_FALSE:
        return seam_buf_append(b, "false", 5);
    case JSON_NULL:
        return seam_buf_append(b, "null", 4);
    }
    return SEAM_ERR_INVALID;
}

seam_rc seam_buf_add_json(seam_buf *b, const json_t *v, size_t flags)
{
    size_t before = b->len;
    seam_rc rc;
    if (!v) {
        rc = SEAM_ERR_INVALID;
    } else if ((flags & ~(size_t)FAST_FLAGS) == 0 && (flags & JSON_COMPACT)) {
        if (!(flags & JSON_ENCODE_ANY) && !json_is_object(v) && !json_is_array(v))
            rc = SEAM_ERR_INVALID;
        else
            rc = put_value(b, v, (int)((flags >> 11) & 0x1F), 0);
    } else {
        struct sink s = {b, SEAM_OK};
        rc = json_dump_callback(v, append, &s, flags) == 0 ? SEAM_OK
             : s.rc != SEAM_OK                             ? s.rc
                                                           : SEAM_ERR_INVALID;
    }
    if (rc != SEAM_OK) {
        b->len = before; /* never leave half a value behind */
        if (b->data)
            b->data[before] = '\0';
    }
    return rc;
}

seam_rc seam_buf_add_json_string(seam_buf *b, const char *s, size_t len)
{
    if (!s || !utf8_valid(s, len))
        return SEAM_ERR_INVALID;
    size_t before = b->len;
    seam_rc rc = put_escaped(b, s, len);
    if (rc != SEAM_OK) {
        b->len = before;
        if (b->data)
            b->data[before] = '\0';
    }
    return rc;
}

seam_rc seam_json_member_key(seam_buf *b, const char *key)
{
    seam_rc rc = SEAM_OK;
    if (b->len > 0 && b->data[b->len - 1] != '{' && b->data[b->len - 1] != '[')
        rc = put_char(b, ',');
    if (rc == SEAM_OK)
        rc = put_escaped(b, key, strlen(key));
    return rc == SEAM_OK ? put_char(b, ':') : rc;
}

seam_rc seam_json_member_str(seam_buf *b, const char *key, const char *v)
{
    seam_rc rc = seam_json_member_key(b, key);
    if (rc != SEAM_OK)
        return rc;
    size_t len = v ? strlen(v) : 0;
    if (!v || !utf8_valid(v, len))
        return seam_buf_append(b, "null", 4);
    return put_escaped(b, v, len);
}

seam_rc seam_json_member_strn(seam_buf *b, const char *key, const char *v, size_t len)
{
    seam_rc rc = seam_json_member_key(b, key);
    if (rc != SEAM_OK)
        return rc;
    if (!v || !utf8_valid(v, len))
        return seam_buf_append(b, "null", 4);
    return put_escaped(b, v, len);
}

seam_rc seam_json_member_null(seam_buf *b, const char *key)
{
    seam_rc rc = seam_json_member_key(b, key);
    return rc == SEAM_OK ? seam_buf_append(b, "null", 4) : rc;
}

seam_rc seam_json_member_int(seam_buf *b, const char *key, long long v)
{
    seam_rc rc = seam_json_member_key(b, key);
    return rc == SEAM_OK ? put_integer(b, (json_int_t)v) : rc;
}

seam_rc seam_json_member_real(seam_buf *b, const char *key, double v, int precision)
{
    if (!isfinite(v))
        return SEAM_OK;
    seam_rc rc = seam_json_member_key(b, key);
    return rc == SEAM_OK ? put_real(b, v, precision) : rc;
}

seam_rc seam_json_member_bool(seam_buf *b, const char *key, bool v)
{
    seam_rc rc = seam_json_member_key(b, key);
    return rc == SEAM_OK ? seam_buf_append(b, v ? "true" : "false", v ? 4 : 5) : rc;
}

char *seam_json_dumps(const json_t *v, size_t flags)
{
    seam_buf b;
    seam_buf_init(&b, (size_t)-1);
    if (seam_buf_add_json(&b, v, flags) != SEAM_OK) {
        seam_buf_free(&b);
        return NULL;
    }
    if (!b.data) /* cannot happen: every value writes at least one byte */
        return NULL;
    return b.data;
}
