/* The compact JSON writer against jansson's own output, byte for byte. */
#include "testutil.h"

#include "core/jsonbuf.h"

#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* seam_json_dumps(v, flags) equals json_dumps(v, flags), NULL for NULL. */
static void same_as_jansson(json_t *v, size_t flags)
{
    char *want = json_dumps(v, flags);
    char *got = seam_json_dumps(v, flags);
    if (!want) {
        assert_null(got);
    } else {
        assert_non_null(got);
        if (strcmp(want, got) != 0)
            fail_msg("jansson: %s\nseam:    %s", want, got);
    }
    free(want);
    free(got);
}

static const size_t flag_sets[] = {
    JSON_COMPACT,
    JSON_COMPACT | JSON_PRESERVE_ORDER,
    JSON_COMPACT | JSON_ENCODE_ANY,
    JSON_COMPACT | JSON_REAL_PRECISION(6),
    JSON_COMPACT | JSON_REAL_PRECISION(12) | JSON_ENCODE_ANY,
    JSON_COMPACT | JSON_REAL_PRECISION(1) | JSON_ENCODE_ANY,
    /* fallbacks to jansson */
    0,
    JSON_INDENT(2),
    JSON_COMPACT | JSON_SORT_KEYS,
    JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY,
    JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_ENCODE_ANY,
};

static void all_flags(json_t *v)
{
    for (size_t i = 0; i < sizeof flag_sets / sizeof *flag_sets; i++)
        same_as_jansson(v, flag_sets[i]);
    json_decref(v);
}

static void strings_and_escapes(void **state)
{
    char all[256];
    for (int i = 0; i < 128; i++)
        all[i] = (char)i;
    /* every ASCII byte, NUL and control characters included */
    all_flags(json_pack("{s:s%}", "ascii", all, (size_t)128));
    all_flags(json_pack("[s]", "quote \" backslash \\ slash / tab \t newline \n"));
    all_flags(
        json_pack("{s:s}", "utf8", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8"));
    all_flags(json_pack("{s:s}", "", ""));
    /* keys are escaped too, binary ones included */
    json_t *o = json_object();
    json_object_setn_new(o, "a\0b", 3, json_true());
    json_object_set_new(o, "k\"\n\x01", json_false());
    all_flags(o);
    /* a long string with and without escapes */
    char *big = malloc(100001);
    for (int i = 0; i < 100000; i++)
        big[i] = (char)('a' + i % 26);
    big[100000] = 0;
    all_flags(json_pack("{s:s}", "big", big));
    big[50000] = '\n';
    all_flags(json_pack("{s:s}", "big", big));
    free(big);
}

static void numbers(void **state)
{
    json_int_t ints[] = {0, 1, -1, 42, -42, 1000000, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        all_flags(json_pack("[I]", ints[i]));
    double reals[] = {0.0,
                      -0.0,
                      1.0,
                      -1.5,
                      0.7,
                      0.1,
                      1e300,
                      -1e-300,
                      1.5e-7,
                      123456789.0,
                      12345678901234567890.0,
                      DBL_MAX,
                      DBL_MIN,
                      2.5e15,
                      1e21,
                      3.14159265358979};
    for (size_t i = 0; i < sizeof reals / sizeof *reals; i++)
        all_flags(json_pack("{s:f}", "r", reals[i]));
}

static void structures(void **state)
{
    all_flags(json_object());
    all_flags(json_array());
    all_flags(json_pack("{s:[], s:{}, s:[{}, []], s:n, s:b, s:b}", "a", "o", "nested", "null", "t",
                        1, "f", 0));
    /* insertion order, including after a delete and re-insert */
    json_t *o = json_object();
    const char *keys[] = {"zeta", "alpha", "mid", "b", "a"};
    for (int i = 0; i < 5; i++)
        json_object_set_new(o, keys[i], json_integer(i));
    json_object_del(o, "mid");
    json_object_set_new(o, "mid", json_integer(9));
    all_flags(o);
    /* a parsed chat request, as the proxy sees them */
    const char req[] =
        "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
        "\"text\",\"text\":\"hi\\u0000there\"}]}],\"temperature\":0.7,\"n\":1,"
        "\"stop\":null,\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
        "\"f\",\"parameters\":{\"type\":\"object\",\"properties\":{}}}}]}";
    all_flags(json_loads(req, JSON_ALLOW_NUL, NULL));
    /* deep nesting within jansson's own parser limit */
    json_t *deep = json_array();
    json_t *at = deep;
    for (int i = 0; i < 1000; i++) {
        json_t *next = json_array();
        json_array_append_new(at, next);
        at = next;
    }
    all_flags(deep);
}

/* Scalars need JSON_ENCODE_ANY, as in jansson. */
static void scalars_need_encode_any(void **state)
{
    all_flags(json_string("x"));
    all_flags(json_integer(7));
    all_flags(json_null());
    json_t *s = json_string("x");
    seam_buf b;
    seam_buf_init(&b, 1024);
    assert_int_equal(seam_buf_add_json(&b, s, JSON_COMPACT), SEAM_ERR_INVALID);
    assert_int_equal(b.len, 0);
    assert_int_equal(seam_buf_add_json(&b, NULL, JSON_COMPACT), SEAM_ERR_INVALID);
    json_decref(s);
    seam_buf_free(&b);
}

/* Past the buffer's maximum nothing is left behind. */
static void bounded(void **state)
{
    json_t *o = json_pack("{s:s, s:[i, i, i]}", "text", "0123456789abcdef\n", "n", 1, 2, 3);
    char *want = json_dumps(o, JSON_COMPACT);
    size_t n = strlen(want);
    for (size_t max = 0; max <= n + 1; max++) {
        seam_buf b;
        seam_buf_init(&b, max);
        assert_int_equal(seam_buf_append(&b, "", 0), SEAM_OK);
        seam_rc rc = seam_buf_add_json(&b, o, JSON_COMPACT);
        if (max < n) {
            assert_int_equal(rc, SEAM_ERR_TOO_BIG);
            assert_int_equal(b.len, 0);
            assert_true(!b.data || b.data[0] == '\0');
        } else {
            assert_int_equal(rc, SEAM_OK);
            assert_string_equal(b.data, want);
        }
        seam_buf_free(&b);
    }
    free(want);
    json_decref(o);
}

/* A string from outside jansson must be UTF-8, as json_stringn demands. */
static void raw_strings(void **state)
{
    struct {
        const char *s;
        size_t len;
        bool ok;
    } cases[] = {
        {"plain", 5, true},
        {"tab\there \"q\"", 13, true},
        {"nul\0inside", 10, true},
        {"\xc3\xa9", 2, true},
        {"\xf4\x8f\xbf\xbf", 4, true},  /* U+10FFFF */
        {"\xc3", 1, false},             /* truncated */
        {"\xc0\xaf", 2, false},         /* overlong */
        {"\xed\xa0\x80", 3, false},     /* surrogate */
        {"\xf4\x90\x80\x80", 4, false}, /* past U+10FFFF */
        {"\xff", 1, false},
        {"ok\x80", 3, false}, /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        seam_buf b;
        seam_buf_init(&b, 1024);
        seam_rc rc = seam_buf_add_json_string(&b, cases[i].s, cases[i].len);
        json_t *j = json_stringn(cases[i].s, cases[i].len);
        assert_int_equal(rc == SEAM_OK, cases[i].ok);
        assert_int_equal(j != NULL, cases[i].ok);
        if (j) {
            char *want = json_dumps(j, JSON_ENCODE_ANY);
            assert_string_equal(b.data, want);
            free(want);
        } else {
            assert_int_equal(b.len, 0);
        }
        json_decref(j);
        seam_buf_free(&b);
    }
}

/* Members written one by one read back as the object jansson would write. */
static void members(void **state)
{
    seam_buf b;
    seam_buf_init(&b, 4096);
    assert_int_equal(seam_buf_append(&b, "{", 1), SEAM_OK);
    seam_json_member_str(&b, "msg", "request \"quoted\"\n");
    seam_json_member_int(&b, "status", -429);
    seam_json_member_real(&b, "ms", 0.1234567, 6);
    seam_json_member_real(&b, "nan", 0.0 / 0.0, 6); /* left out */
    seam_json_member_bool(&b, "stream", true);
    seam_json_member_str(&b, "bad", "\xff"); /* not UTF-8: null */
    seam_json_member_str(&b, "none", NULL);
    assert_int_equal(seam_buf_append(&b, "}", 1), SEAM_OK);
    json_t *want = json_pack("{s:s, s:i, s:f, s:b, s:n, s:n}", "msg", "request \"quoted\"\n",
                             "status", -429, "ms", 0.1234567, "stream", 1, "bad", "none");
    char *w = json_dumps(want, JSON_COMPACT | JSON_REAL_PRECISION(6));
    assert_string_equal(b.data, w);
    free(w);
    json_decref(want);
    seam_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strings_and_escapes),
        cmocka_unit_test(numbers),
        cmocka_unit_test(structures),
        cmocka_unit_test(scalars_need_encode_any),
        cmocka_unit_test(bounded),
        cmocka_unit_test(raw_strings),
        cmocka_unit_test(members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
