/*
 * OpenAI translation: ingress decoding (strict on modelled fields, lossless
 * on the rest), egress encoding, upstream streams into canonical events
 * across every chunk split, and the client-side writer and collector.
 */
#include "testutil.h"

#include "api/openai.h"
#include "providers/openai.h"

#include <stdio.h>
#include <stdlib.h>

static seam_req *decode_ok(seam_arena *a, const char *body, json_t **meta)
{
    seam_req *r = NULL;
    char err[256] = "";
    const char *param;
    seam_rc rc = seam_api_openai_decode(a, body, strlen(body), &r, meta, err, sizeof(err), &param);
    if (rc != SEAM_OK)
        print_error("decode: %s\n", err);
    assert_int_equal(rc, SEAM_OK);
    return r;
}

static void decode_fail(const char *body, size_t len, const char *want_param, const char *want_msg)
{
    seam_arena *a = seam_arena_new(4096);
    seam_req *r = NULL;
    json_t *meta;
    char err[256] = "";
    const char *param = NULL;
    assert_int_equal(seam_api_openai_decode(a, body, len, &r, &meta, err, sizeof(err), &param),
                     SEAM_ERR_INVALID);
    if (want_param) {
        assert_non_null(param);
        assert_string_equal(param, want_param);
    }
    if (!strstr(err, want_msg))
        fail_msg("error '%s' lacks '%s'", err, want_msg);
    seam_arena_free(a);
}

static void decode_errors(void **state)
{
    decode_fail("{", 1, NULL, "not valid JSON");
    decode_fail("[]", 2, NULL, "JSON object");
    const char bad_utf8[] =
        "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":\"\xff\xfe\"}]}";
    decode_fail(bad_utf8, sizeof(bad_utf8) - 1, NULL, "not valid JSON");
    const char *cases[][3] = {
        {"{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", "model", "model is required"},
        {"{\"model\":\"auto\",\"messages\":[]}", "messages", "non-empty"},
        {"{\"model\":\"auto\",\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}", "messages",
         "role"},
        {"{\"model\":\"auto\",\"messages\":[{\"role\":\"user\"}]}", "messages", "needs content"},
        {"{\"model\":\"auto\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", "messages",
         "tool_call_id"},
        {"{\"model\":\"auto\",\"max_tokens\":-1,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}"
         "]}",
         "max_tokens", "non-negative"},
        {"{\"model\":\"auto\",\"temperature\":\"hot\",\"messages\":[{\"role\":\"user\",\"content\":"
         "\"x\"}]}",
         "temperature", "number"},
        {"{\"model\":\"auto\",\"stream\":1,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
         "stream", "boolean"},
        {"{\"model\":\"auto\",\"n\":2,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "n",
         "n = 1"},
        {"{\"model\":\"auto\",\"tools\":[{\"type\":\"web\"}],\"messages\":[{\"role\":\"user\","
         "\"content\":\"x\"}]}",
         "tools", "function"},
        {"{\"model\":\"auto\",\"reasoning_effort\":\"huge\",\"messages\":[{\"role\":\"user\","
         "\"content\":\"x\"}]}",
         "reasoning_effort", "one of"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        decode_fail(cases[i][0], strlen(cases[i][0]), cases[i][1], cases[i][2]);
}

static const char full_request[] =
    "{\"model\":\"auto\",\"seam\":{\"kind\":\"draft\"},\"temperature\":0.5,\"max_tokens\":64,"
    "\"frequency_penalty\":0.25,\"user\":\"u1\",\"stream\":true,"
    "\"stream_options\":{\"include_usage\":false},\"stop\":\"END\",\"seed\":7,"
    "\"tool_choice\":\"auto\",\"reasoning_effort\":\"low\","
    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
    "\"description\":\"Weather\",\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{"
    "\"type\":\"string\"}}}}}],"
    "\"messages\":["
    "{\"role\":\"system\",\"content\":\"be brief\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/"
    "png;base64,AAAA\",\"detail\":\"low\"}},"
    "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklG\",\"format\":\"wav\"}}]},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
    "\"function\","
    "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"-3C\"},"
    "{\"role\":\"user\",\"name\":\"bob\",\"content\":\"thanks\"}]}";

static void decode_then_encode_is_lossless(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    json_t *meta = NULL;
    seam_req *r = decode_ok(a, full_request, &meta);
    assert_non_null(meta);
    assert_string_equal(json_string_value(json_object_get(meta, "kind")), "draft");
    assert_true(r->stream);
    assert_false(r->include_usage);
    assert_true(r->has_images);
    assert_int_equal(r->nmsgs, 5);
    assert_int_equal(r->ntools, 1);

    json_t *out = seam_openai_encode_request(r, "gemma4:31b");
    json_error_t jerr;
    json_t *in = json_loads(full_request, 0, &jerr);
    assert_string_equal(json_string_value(json_object_get(out, "model")), "gemma4:31b");
    assert_null(json_object_get(out, "seam")); /* never forwarded */
    /* Messages, tools and unmodelled fields arrive exactly as sent. */
    const char *same[] = {"messages",    "tools",      "tool_choice", "frequency_penalty", "user",
                          "temperature", "max_tokens", "seed",        "reasoning_effort"};
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
        if (!json_equal(json_object_get(in, same[i]), json_object_get(out, same[i]))) {
            char *x = json_dumps(json_object_get(in, same[i]), 0);
            char *y = json_dumps(json_object_get(out, same[i]), 0);
            fail_msg("%s differs:\n in: %s\nout: %s", same[i], x, y);
        }
    assert_null(json_object_get(out, "max_completion_tokens"));
    /* stop is normalised to a list; usage is always requested upstream. */
    assert_string_equal(json_string_value(json_array_get(json_object_get(out, "stop"), 0)), "END");
    assert_true(
        json_is_true(json_object_get(json_object_get(out, "stream_options"), "include_usage")));
    json_decref(in);
    json_decref(out);
    seam_arena_free(a);
}

/* ---- upstream streams ---- */

struct evlog {
    char text[16384];
};

static int log_event(void *ctx, const seam_event *ev)
{
    struct evlog *l = ctx;
    size_t at = strlen(l->text);
    char *p = l->text + at;
    size_t n = sizeof(l->text) - at;
    switch (ev->type) {
    case SEAM_EV_START:
        snprintf(p, n, "start(%s,%s)", ev->id ? ev->id : "", ev->name ? ev->name : "");
        break;
    case SEAM_EV_TEXT_DELTA:
        snprintf(p, n, "text(%.*s)", (int)ev->text_len, ev->text);
        break;
    case SEAM_EV_THINKING_DELTA:
        snprintf(p, n, "think(%.*s)", (int)ev->text_len, ev->text);
        break;
    case SEAM_EV_THINKING_SIGNATURE:
        snprintf(p, n, "sig(%.*s)", (int)ev->text_len, ev->text);
        break;
    case SEAM_EV_REFUSAL_DELTA:
        snprintf(p, n, "refusal(%.*s)", (int)ev->text_len, ev->text);
        break;
    case SEAM_EV_TOOL_CALL_BEGIN:
        snprintf(p, n, "call%d(%s,%s)", ev->index, ev->id ? ev->id : "", ev->name);
        break;
    case SEAM_EV_TOOL_CALL_ARGS_DELTA:
        snprintf(p, n, "args%d(%.*s)", ev->index, (int)ev->text_len, ev->text);
        break;
    case SEAM_EV_TOOL_CALL_END:
        snprintf(p, n, "end%d", ev->index);
        break;
    case SEAM_EV_USAGE:
        snprintf(p, n, "usage(%lld,%lld)", (long long)ev->usage.input, (long long)ev->usage.output);
        break;
    case SEAM_EV_FINISH:
        snprintf(p, n, "finish(%s)", seam_finish_name_openai(ev->finish));
        break;
    case SEAM_EV_ERROR:
        snprintf(p, n, "error(%.*s)", (int)ev->text_len, ev->text);
        break;
    }
    return 0;
}

static const char upstream_stream[] =
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}"
    "\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"reasoning_content\":\"hmm\"},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"content\":\"lo\"},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
    "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{"
    "\\\"x\\\":\"}}]},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\","
    "\"function\":{\"name\":\"g\",\"arguments\":\"{}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"1}\"}}]},"
    "\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: "
    "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":"
    "[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}\n\n"
    "data: [DONE]\n\n";

static const char upstream_events[] =
    "start(c1,m)think(hmm)text(Hel)text(lo)call0(call_a,f)args0({\"x\":)call1(call_b,g)args1({})"
    "args0(1})end0end1finish(tool_calls)usage(10,5)";

static seam_rc run_stream(const char *s, size_t len, size_t cut, struct evlog *l)
{
    seam_arena *a = seam_arena_new(4096);
    seam_provider_stream *ps = seam_provider_openai.stream_new(a);
    seam_event_sink sink = {log_event, l};
    char err[256];
    memset(l, 0, sizeof(*l));
    seam_rc rc = seam_provider_openai.stream_feed(ps, s, cut, &sink, err, sizeof(err));
    if (rc == SEAM_OK)
        rc = seam_provider_openai.stream_feed(ps, s + cut, len - cut, &sink, err, sizeof(err));
    if (rc == SEAM_OK)
        rc = seam_provider_openai.stream_end(ps, &sink, err, sizeof(err));
    seam_arena_free(a);
    return rc;
}

static void upstream_stream_at_every_split(void **state)
{
    size_t len = strlen(upstream_stream);
    for (size_t cut = 0; cut <= len; cut++) {
        struct evlog l;
        assert_int_equal(run_stream(upstream_stream, len, cut, &l), SEAM_OK);
        assert_string_equal(l.text, upstream_events);
    }
}

static void truncated_or_garbage_streams_fail(void **state)
{
    struct evlog l;
    /* Cut before the finish chunk: an incomplete answer is an error. */
    const char *fin =
        strstr(upstream_stream, "data: "
                                "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,"
                                "\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},");
    assert_int_equal(run_stream(upstream_stream, (size_t)(fin - upstream_stream), 0, &l),
                     SEAM_ERR_UPSTREAM);
    const char *garbage = "data: {\"id\":\"x\"}\n\ndata: <html>oops</html>\n\n";
    assert_int_equal(run_stream(garbage, strlen(garbage), 3, &l), SEAM_ERR_UPSTREAM);
    const char *err =
        "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n";
    assert_int_equal(run_stream(err, strlen(err), 0, &l), SEAM_OK);
    assert_string_equal(l.text, "error(overloaded)");
}

struct writer_sink {
    seam_openai_writer *w;
    seam_buf *out;
};

static int write_event(void *ctx, const seam_event *ev)
{
    struct writer_sink *ws = ctx;
    return seam_openai_writer_event(ws->w, ev, ws->out) == SEAM_OK ? 0 : -1;
}

/* Upstream stream -> canonical events -> client SSE (the writer) -> parsed
 * again as an upstream stream -> the same canonical events. */
static void writer_round_trip(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    char err[256];
    struct evlog first = {{0}}, second = {{0}};
    seam_event_sink log_first = {log_event, &first}, log_second = {log_event, &second};
    seam_provider_stream *p1 = seam_provider_openai.stream_new(a);
    assert_int_equal(seam_provider_openai.stream_feed(p1, upstream_stream, strlen(upstream_stream),
                                                      &log_first, err, sizeof(err)),
                     SEAM_OK);

    seam_openai_writer w;
    seam_openai_writer_init(&w, a, "fallback", "fm", true);
    seam_buf out;
    seam_buf_init(&out, 1 << 20);
    struct writer_sink ws = {&w, &out};
    seam_event_sink to_writer = {write_event, &ws};
    seam_provider_stream *p2 = seam_provider_openai.stream_new(a);
    assert_int_equal(seam_provider_openai.stream_feed(p2, upstream_stream, strlen(upstream_stream),
                                                      &to_writer, err, sizeof(err)),
                     SEAM_OK);
    assert_int_equal(seam_openai_writer_end(&w, &out), SEAM_OK);

    seam_provider_stream *p3 = seam_provider_openai.stream_new(a);
    assert_int_equal(
        seam_provider_openai.stream_feed(p3, out.data, out.len, &log_second, err, sizeof(err)),
        SEAM_OK);
    assert_int_equal(seam_provider_openai.stream_end(p3, &log_second, err, sizeof(err)), SEAM_OK);
    assert_string_equal(second.text, first.text);
    assert_non_null(strstr(out.data, "\"usage\":null")); /* include_usage chunks */
    assert_non_null(strstr(out.data, "data: [DONE]\n\n"));
    seam_buf_free(&out);
    seam_arena_free(a);
}

static void whole_response_to_collector(void **state)
{
    const char *body =
        "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"gemma4:"
        "31b\","
        "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,"
        "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":\"tool_calls\"}],"
        "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"total_tokens\":7,"
        "\"completion_tokens_details\":{\"reasoning_tokens\":2}}}";
    seam_arena *a = seam_arena_new(4096);
    seam_answer *c = seam_answer_new(a, "fallback", "fm");
    seam_event_sink sink = {seam_answer_event, c};
    char err[256];
    assert_int_equal(
        seam_provider_openai.parse_response(body, strlen(body), a, &sink, err, sizeof(err)),
        SEAM_OK);
    assert_true(c->finished);
    size_t len;
    char *out = seam_api_openai_answer_body(c, NULL, a, &len);
    json_error_t jerr;
    json_t *o = json_loads(out, 0, &jerr);
    json_t *msg = json_object_get(json_array_get(json_object_get(o, "choices"), 0), "message");
    assert_string_equal(json_string_value(json_object_get(o, "id")), "chatcmpl-9");
    assert_string_equal(json_string_value(json_object_get(o, "model")), "gemma4:31b");
    assert_true(json_is_null(json_object_get(msg, "content")));
    json_t *call = json_array_get(json_object_get(msg, "tool_calls"), 0);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(call, "function"), "arguments")),
        "{\"a\":1}");
    json_t *usage = json_object_get(o, "usage");
    assert_int_equal(json_integer_value(json_object_get(usage, "total_tokens")), 7);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(usage, "completion_tokens_details"), "reasoning_tokens")),
                     2);
    json_decref(o);

    assert_int_equal(seam_provider_openai.parse_response("<html>", 6, a, &sink, err, sizeof(err)),
                     SEAM_ERR_UPSTREAM);
    seam_arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decode_errors),
        cmocka_unit_test(decode_then_encode_is_lossless),
        cmocka_unit_test(upstream_stream_at_every_split),
        cmocka_unit_test(truncated_or_garbage_streams_fail),
        cmocka_unit_test(writer_round_trip),
        cmocka_unit_test(whole_response_to_collector),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
