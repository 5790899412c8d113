/*
 * Shared fixtures for the provider tests: decoding an OpenAI body into a
 * canonical request, comparing JSON, logging canonical events as text, and
 * feeding a recorded upstream stream split at a given byte.
 */
#ifndef SEAM_TESTS_PROVTEST_H
#define SEAM_TESTS_PROVTEST_H

#include "testutil.h"

#include "api/openai.h"
#include "core/alloc.h"
#include "providers/provider.h"

#include <stdio.h>
#include <stdlib.h>

static seam_req *decode_ok(seam_arena *a, const char *body)
{
    seam_req *r = NULL;
    json_t *meta = NULL;
    char err[256] = "";
    const char *param;
    seam_rc rc = seam_api_openai_decode(a, body, strlen(body), &r, &meta, err, sizeof(err), &param);
    if (rc != SEAM_OK)
        print_error("decode: %s\n", err);
    assert_int_equal(rc, SEAM_OK);
    return r;
}

/* Fails with both documents printed unless <got> equals the JSON <want>. */
static void assert_json_eq(const json_t *got, const char *want)
{
    json_error_t jerr;
    json_t *w = json_loads(want, 0, &jerr);
    if (!w)
        fail_msg("bad expected JSON at %d: %s\n%s", jerr.position, jerr.text, want);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *x = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
        fprintf(stderr, " got: %s\nwant: %s\n", g ? g : "(null)", x);
        free(g);
        free(x);
        json_decref(w);
        fail();
    }
    json_decref(w);
}

struct evlog {
    char text[32768];
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
        snprintf(p, n, "usage(%lld,%lld,r%lld,c%lld)", (long long)ev->usage.input,
                 (long long)ev->usage.output, (long long)ev->usage.reasoning,
                 (long long)ev->usage.cached);
        break;
    case SEAM_EV_FINISH:
        snprintf(p, n, "finish(%s)",
                 ev->finish == SEAM_FINISH_ERROR ? "error" : seam_finish_name_openai(ev->finish));
        break;
    case SEAM_EV_ERROR:
        snprintf(p, n, "error(%.*s|%s)", (int)ev->text_len, ev->text,
                 ev->err_type ? ev->err_type : "");
        break;
    }
    return 0;
}

/* Feeds <len> bytes of a recorded stream to <prov> in two pieces split at
 * <cut>, then ends it; events go to <l>. Returns the first failure. */
static seam_rc run_stream(const seam_provider *prov, const char *s, size_t len, size_t cut,
                          struct evlog *l, char *err, size_t errlen)
{
    seam_arena *a = seam_arena_new(4096);
    seam_provider_stream *ps = prov->stream_new(a);
    seam_event_sink sink = {log_event, l};
    memset(l, 0, sizeof(*l));
    err[0] = '\0';
    seam_rc rc = prov->stream_feed(ps, s, cut, &sink, err, errlen);
    if (rc == SEAM_OK)
        rc = prov->stream_feed(ps, s + cut, len - cut, &sink, err, errlen);
    if (rc == SEAM_OK)
        rc = prov->stream_end(ps, &sink, err, errlen);
    seam_arena_free(a);
    return rc;
}

/* Every split of <s> gives SEAM_OK and exactly <want>; also fed one byte at
 * a time. */
static void assert_stream_every_split(const seam_provider *prov, const char *s, const char *want)
{
    size_t len = strlen(s);
    char err[256];
    struct evlog l;
    for (size_t cut = 0; cut <= len; cut++) {
        seam_rc rc = run_stream(prov, s, len, cut, &l, err, sizeof(err));
        if (rc != SEAM_OK)
            fail_msg("split at %zu: %s (%s)", cut, seam_rc_str(rc), err);
        if (strcmp(l.text, want) != 0)
            fail_msg("split at %zu:\n got: %s\nwant: %s", cut, l.text, want);
    }
    seam_arena *a = seam_arena_new(4096);
    seam_provider_stream *ps = prov->stream_new(a);
    seam_event_sink sink = {log_event, &l};
    memset(&l, 0, sizeof(l));
    for (size_t i = 0; i < len; i++)
        assert_int_equal(prov->stream_feed(ps, s + i, 1, &sink, err, sizeof(err)), SEAM_OK);
    assert_int_equal(prov->stream_end(ps, &sink, err, sizeof(err)), SEAM_OK);
    assert_string_equal(l.text, want);
    seam_arena_free(a);
}

/* A whole response body through parse_response into <l>. */
static seam_rc run_whole(const seam_provider *prov, const char *body, struct evlog *l, char *err,
                         size_t errlen)
{
    seam_arena *a = seam_arena_new(4096);
    seam_event_sink sink = {log_event, l};
    memset(l, 0, sizeof(*l));
    err[0] = '\0';
    seam_rc rc = prov->parse_response(body, strlen(body), a, &sink, err, errlen);
    seam_arena_free(a);
    return rc;
}

/* The header line starting with <prefix>, or NULL. */
static const char *find_header(const seam_upstream_call *c, const char *prefix)
{
    for (const char **h = c->headers; h && *h; h++)
        if (strncmp(*h, prefix, strlen(prefix)) == 0)
            return *h;
    return NULL;
}

static int ignore_event(void *ctx, const seam_event *ev)
{
    return 0;
}

/* Fault injection (as curl's torture mode): fails the Nth allocation, for
 * every N, in seam and in jansson, across build, parse_response and a
 * stream. Each must fail cleanly (ASan and LSan check the rest) and succeed
 * once the allocations run out of failures. */
static void exercise_alloc_failures(const seam_provider *prov, const seam_backend_conf *b,
                                    const char *request, const char *whole, const char *stream)
{
    char err[256];
    bool succeeded = false;
    json_set_alloc_funcs(seam_malloc, seam_free);
    for (long n = 0; n < 5000 && !succeeded; n++) {
        seam_arena *a = seam_arena_new(4096);
        if (!a)
            continue;
        seam_req *r = NULL;
        json_t *meta;
        const char *param;
        seam_alloc_fail_after(n);
        seam_rc rc = seam_api_openai_decode(a, request, strlen(request), &r, &meta, err,
                                            sizeof(err), &param);
        seam_upstream_call c = {0};
        seam_rc brc = SEAM_ERR_NOMEM, prc = SEAM_ERR_NOMEM, src = SEAM_ERR_NOMEM;
        if (rc == SEAM_OK) {
            brc = prov->build(r, b, "m", "key", a, &c, err, sizeof(err));
            seam_buf_free(&c.body);
        }
        seam_event_sink sink = {ignore_event, NULL};
        prc = prov->parse_response(whole, strlen(whole), a, &sink, err, sizeof(err));
        seam_provider_stream *ps = prov->stream_new(a);
        if (ps) {
            src = prov->stream_feed(ps, stream, strlen(stream), &sink, err, sizeof(err));
            if (src == SEAM_OK)
                src = prov->stream_end(ps, &sink, err, sizeof(err));
        }
        seam_alloc_fail_after(-1);
        seam_arena_free(a);
        if (rc != SEAM_OK && rc != SEAM_ERR_NOMEM && rc != SEAM_ERR_INVALID)
            fail_msg("decode at %ld: %s", n, seam_rc_str(rc));
        succeeded = rc == SEAM_OK && brc == SEAM_OK && prc == SEAM_OK && src == SEAM_OK;
    }
    json_set_alloc_funcs(malloc, free);
    assert_true(succeeded);
}

#endif
