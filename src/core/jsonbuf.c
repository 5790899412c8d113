/* jansson -> seam_buf; see jsonbuf.h. */
#include "core/jsonbuf.h"

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

seam_rc seam_buf_add_json(seam_buf *b, const json_t *v, size_t flags)
{
    struct sink s = {b, SEAM_OK};
    size_t before = b->len;
    if (json_dump_callback(v, append, &s, flags) != 0) {
        b->len = before; /* never leave half a value behind */
        if (b->data)
            b->data[before] = '\0';
        return s.rc != SEAM_OK ? s.rc : SEAM_ERR_INVALID;
    }
    return SEAM_OK;
}

seam_rc seam_buf_add_json_string(seam_buf *b, const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    if (!v)
        return SEAM_ERR_INVALID; /* not UTF-8 (or out of memory) */
    seam_rc rc = seam_buf_add_json(b, v, JSON_ENCODE_ANY);
    json_decref(v);
    return rc;
}
