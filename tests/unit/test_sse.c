/* SSE parsing across arbitrary chunk splits, line endings and edge cases. */
#include "testutil.h"

#include "http/sse.h"

#include <stdio.h>
#include <stdlib.h>

struct collected {
    char text[8192];
    int n;
};

/* Records each event as "name|data;" so whole streams compare as strings. */
static int collect(void *ctx, const char *event, const char *data, size_t len)
{
    struct collected *c = ctx;
    size_t at = strlen(c->text);
    snprintf(c->text + at, sizeof(c->text) - at, "%s|%.*s;", event, (int)len, data);
    c->n++;
    return 0;
}

static void parse_split(const char *in, size_t len, const size_t *cuts, size_t ncuts,
                        struct collected *c)
{
    seam_sse_parser p;
    seam_sse_init(&p, 4096);
    memset(c, 0, sizeof(*c));
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        assert_int_equal(seam_sse_feed(&p, in + at, end - at, collect, c), SEAM_OK);
        at = end;
    }
    assert_int_equal(seam_sse_finish(&p, collect, c), SEAM_OK);
    seam_sse_free(&p);
}

static const char stream[] = ": keep-alive comment\r\n"
                             "data: {\"a\":1}\r\n\r\n"
                             "event: message_start\n"
                             "data: {\"b\":2}\n\n"
                             "data: line one\n"
                             "data: line two\n\n"
                             "data:no-space\r\r"
                             "id: 7\nretry: 10\ndata: [DONE]\n\n";

static const char expected[] = "|{\"a\":1};message_start|{\"b\":2};|line one\nline two;"
                               "|no-space;|[DONE];";

static void whole(void **state)
{
    struct collected c;
    parse_split(stream, strlen(stream), NULL, 0, &c);
    assert_string_equal(c.text, expected);
    assert_int_equal(c.n, 5);
}

static void every_two_way_split(void **state)
{
    size_t len = strlen(stream);
    for (size_t cut = 0; cut <= len; cut++) {
        struct collected c;
        parse_split(stream, len, &cut, 1, &c);
        assert_string_equal(c.text, expected);
    }
}

static void byte_by_byte_and_random_splits(void **state)
{
    size_t len = strlen(stream);
    size_t cuts[512];
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    struct collected c;
    parse_split(stream, len, cuts, len - 1, &c);
    assert_string_equal(c.text, expected);

    srand(12345);
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rand() % 12), prev = 0;
        for (size_t i = 0; i < n; i++) {
            prev += (size_t)(rand() % 16);
            cuts[i] = prev > len ? len : prev;
        }
        parse_split(stream, len, cuts, n, &c);
        assert_string_equal(c.text, expected);
    }
}

static void last_event_without_blank_line(void **state)
{
    /* Gemini ends its stream by closing the connection. */
    struct collected c;
    const char *s = "data: {\"x\":1}\r\n\r\ndata: {\"y\":2}\r\n";
    parse_split(s, strlen(s), NULL, 0, &c);
    assert_string_equal(c.text, "|{\"x\":1};|{\"y\":2};");
    const char *t = "data: tail-without-newline";
    parse_split(t, strlen(t), NULL, 0, &c);
    assert_string_equal(c.text, "|tail-without-newline;");
}

static void oversized_event_is_an_error(void **state)
{
    seam_sse_parser p;
    seam_sse_init(&p, 64);
    struct collected c = {0};
    char big[200];
    memset(big, 'x', sizeof(big));
    assert_int_equal(seam_sse_feed(&p, "data: ", 6, collect, &c), SEAM_OK);
    assert_int_equal(seam_sse_feed(&p, big, sizeof(big), collect, &c), SEAM_ERR_TOO_BIG);
    seam_sse_free(&p);

    /* Many short data lines adding up past the bound. */
    seam_sse_init(&p, 64);
    seam_rc rc = SEAM_OK;
    for (int i = 0; i < 40 && rc == SEAM_OK; i++)
        rc = seam_sse_feed(&p, "data: 0123456789\n", 17, collect, &c);
    assert_int_equal(rc, SEAM_ERR_TOO_BIG);
    seam_sse_free(&p);
}

static int stop_after_first(void *ctx, const char *event, const char *data, size_t len)
{
    (*(int *)ctx)++;
    return 1;
}

static void callback_can_stop(void **state)
{
    seam_sse_parser p;
    seam_sse_init(&p, 4096);
    int n = 0;
    assert_int_equal(seam_sse_feed(&p, "data: a\n\ndata: b\n\n", 18, stop_after_first, &n),
                     SEAM_ERR_CANCELLED);
    assert_int_equal(n, 1);
    seam_sse_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole),
        cmocka_unit_test(every_two_way_split),
        cmocka_unit_test(byte_by_byte_and_random_splits),
        cmocka_unit_test(last_event_without_blank_line),
        cmocka_unit_test(oversized_event_is_an_error),
        cmocka_unit_test(callback_can_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
