/*
 * Differential libFuzzer harness for the compact JSON writer: whatever
 * jansson parses, seam_json_dumps must write byte for byte as json_dumps
 * does, and seam_buf_add_json_string must accept exactly the strings
 * json_stringn accepts and escape them the same way.
 */
#include "core/jsonbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void compare(const json_t *v, size_t flags)
{
    char *want = json_dumps(v, flags);
    char *got = seam_json_dumps(v, flags);
    if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
        abort();
    free(want);
    free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t e;
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (v) {
        compare(v, JSON_COMPACT);
        compare(v, JSON_COMPACT | JSON_ENCODE_ANY);
        compare(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(size % 32));
        json_decref(v);
    }
    seam_buf b;
    seam_buf_init(&b, 1u << 20);
    seam_rc rc = seam_buf_add_json_string(&b, (const char *)data, size);
    json_t *s = json_stringn((const char *)data, size);
    if ((rc == SEAM_OK) != (s != NULL))
        abort();
    if (s) {
        char *want = json_dumps(s, JSON_ENCODE_ANY);
        if (!want || strcmp(want, b.data) != 0)
            abort();
        free(want);
        json_decref(s);
    }
    seam_buf_free(&b);
    return 0;
}
