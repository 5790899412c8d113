/*
 * Redaction and restore: placeholder numbering, overlap resolution, literal
 * restore, streams split at every 2-way and 3-way point compared with the
 * whole-text restore, JSON-mode escaping, fault injection. Entities are
 * built by hand and the redactor runs without a scanner, so these tests do
 * not depend on the detectors.
 */
#include "testutil.h"

#include "core/alloc.h"
#include "scan/redact.h"

#include <stdio.h>
#include <stdlib.h>

#define S(lit) lit, sizeof(lit) - 1

static seam_entity ent(uint32_t type, size_t start, size_t end)
{
    return (seam_entity){.type = type, .start = start, .end = end, .score = 1.0f};
}

/* The entity covering the first occurrence of <value> in <text>. */
static seam_entity ent_of(uint32_t type, const char *text, const char *value)
{
    const char *p = strstr(text, value);
    assert_non_null(p);
    return ent(type, (size_t)(p - text), (size_t)(p - text) + strlen(value));
}

/* Redacts <value> on its own and checks it gets placeholder <ph>. */
static void issue(seam_redactor *r, uint32_t type, const char *value, size_t vlen, const char *ph)
{
    seam_entity e = ent(type, 0, vlen);
    size_t n = 0;
    char *out = seam_redact_text(r, value, vlen, &e, 1, &n);
    assert_non_null(out);
    assert_string_equal(out, ph);
    assert_int_equal(n, strlen(ph));
}

static char *restore(const seam_redactor *r, bool json, const char *text, size_t len,
                     size_t *outlen)
{
    seam_buf b;
    seam_buf_init(&b, 1 << 20);
    seam_rc rc = json ? seam_restore_json(r, text, len, &b) : seam_restore_text(r, text, len, &b);
    assert_int_equal(rc, SEAM_OK);
    char *s = malloc(b.len + 1);
    assert_non_null(s);
    if (b.len)
        memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    *outlen = b.len;
    seam_buf_free(&b);
    return s;
}

static void check_restore(const seam_redactor *r, const char *text, const char *expect)
{
    size_t n;
    char *got = restore(r, false, text, strlen(text), &n);
    assert_string_equal(got, expect);
    assert_int_equal(n, strlen(expect));
    free(got);
}

/* ---- redaction ---- */

static void redact_basic(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_redactor *r = seam_redactor_new(a, NULL);
    const char *t = "mail bob@example.com, card 4111 1111 1111 1111, again bob@example.com.";
    seam_entity e[] = {
        ent_of(SEAM_ENT_EMAIL, t, "bob@example.com"),
        ent_of(SEAM_ENT_CREDIT_CARD, t, "4111 1111 1111 1111"),
        ent(SEAM_ENT_EMAIL, 54, 54 + 15),
    };
    assert_memory_equal(t + 54, "bob@example.com", 15);
    size_t n = 0;
    char *out = seam_redact_text(r, t, strlen(t), e, 3, &n);
    assert_non_null(out);
    assert_string_equal(out, "mail [EMAIL_1], card [CREDIT_CARD_1], again [EMAIL_1].");
    assert_int_equal(n, strlen(out));
    assert_int_equal(seam_redactor_count(r), 2);
    check_restore(r, out, t);

    /* No entities: a plain copy. */
    out = seam_redact_text(r, S("nothing here"), NULL, 0, &n);
    assert_string_equal(out, "nothing here");
    out = seam_redact_text(r, "", 0, NULL, 0, &n);
    assert_string_equal(out, "");
    assert_int_equal(n, 0);
    seam_arena_free(a);
}

/* One redactor per request: numbering per type in order of first appearance
 * across texts, the same bytes always the same placeholder. */
static void numbering_across_texts(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_redactor *r = seam_redactor_new(a, NULL);
    const char *sys = "Support mailbox: help@acme.io";
    const char *m1 = "I am ann@x.org, my SSN is 123-45-6789, cc help@acme.io";
    const char *m2 = "And zed@y.net. Ann is ann@x.org; Ann@x.org differs by case";
    seam_entity e1[] = {ent_of(SEAM_ENT_EMAIL, sys, "help@acme.io")};
    /* Unsorted on purpose. */
    seam_entity e2[] = {ent_of(SEAM_ENT_EMAIL, m1, "help@acme.io"),
                        ent_of(SEAM_ENT_US_SSN, m1, "123-45-6789"),
                        ent_of(SEAM_ENT_EMAIL, m1, "ann@x.org")};
    seam_entity e3[] = {ent_of(SEAM_ENT_EMAIL, m2, "Ann@x.org"),
                        ent_of(SEAM_ENT_EMAIL, m2, "zed@y.net"),
                        ent_of(SEAM_ENT_EMAIL, m2, "ann@x.org")};
    size_t n;
    assert_string_equal(seam_redact_text(r, sys, strlen(sys), e1, 1, &n),
                        "Support mailbox: [EMAIL_1]");
    assert_string_equal(seam_redact_text(r, m1, strlen(m1), e2, 3, &n),
                        "I am [EMAIL_2], my SSN is [US_SSN_1], cc [EMAIL_1]");
    assert_string_equal(seam_redact_text(r, m2, strlen(m2), e3, 3, &n),
                        "And [EMAIL_3]. Ann is [EMAIL_2]; [EMAIL_4] differs by case");
    assert_int_equal(seam_redactor_count(r), 5);

    /* A value keeps its first placeholder even when detected as another type. */
    const char *m3 = "phone 123-45-6789";
    seam_entity e4[] = {ent_of(SEAM_ENT_PHONE, m3, "123-45-6789")};
    assert_string_equal(seam_redact_text(r, m3, strlen(m3), e4, 1, &n), "phone [US_SSN_1]");
    assert_int_equal(seam_redactor_count(r), 5);
    seam_arena_free(a);
}

static void overlaps_longer_wins(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_redactor *r = seam_redactor_new(a, NULL);
    /*           0         1         2         3
     *           0123456789012345678901234567890123456 */
    const char *t = "key=AKIA1234567890ABCDEF end";
    /* GENERIC_SECRET 0..24 contains AWS 4..24: the longer span wins. */
    seam_entity e[] = {ent(SEAM_ENT_AWS_ACCESS_KEY, 4, 24), ent(SEAM_ENT_GENERIC_SECRET, 0, 24)};
    size_t n;
    assert_string_equal(seam_redact_text(r, t, strlen(t), e, 2, &n), "[GENERIC_SECRET_1] end");

    /* A chain: B (longest) overlaps A and C, which do not overlap each
     * other: B wins, A and C lose; D is separate. */
    const char *u = "aaaa bbbbbbbb cccc dd";
    seam_entity f[] = {ent(SEAM_ENT_DOB, 19, 21), ent(SEAM_ENT_MRN, 12, 18),
                       ent(SEAM_ENT_EMAIL, 0, 7), ent(SEAM_ENT_PHONE, 3, 14)};
    assert_string_equal(seam_redact_text(r, u, strlen(u), f, 4, &n), "aaa[PHONE_1]cccc [DOB_1]");

    /* Two short spans beat nothing: the longest first, then whatever still
     * fits. Equal lengths: the higher score, then the earlier start. */
    const char *v = "0123456789";
    seam_entity g[] = {ent(SEAM_ENT_JWT, 2, 6), ent(SEAM_ENT_IBAN, 4, 8), ent(SEAM_ENT_DOB, 7, 9)};
    g[1].score = 0.9f;
    g[0].score = 0.6f;
    assert_string_equal(seam_redact_text(r, v, strlen(v), g, 3, &n), "0123[IBAN_1]89");
    g[1].score = 0.6f;
    assert_string_equal(seam_redact_text(r, v, strlen(v), g, 3, &n), "01[JWT_1]6[DOB_2]9");

    /* Identical spans of two types: one replacement. Adjacent spans: both. */
    seam_entity h[] = {ent(SEAM_ENT_PHONE, 0, 3), ent(SEAM_ENT_US_NPI, 0, 3),
                       ent(SEAM_ENT_US_NPI, 3, 5)};
    assert_string_equal(seam_redact_text(r, S("abcdef"), h, 3, &n), "[PHONE_2][US_NPI_1]f");
    /* Same start: the longer one. */
    seam_entity k[] = {ent(SEAM_ENT_EMAIL, 0, 3), ent(SEAM_ENT_IBAN, 0, 5)};
    assert_string_equal(seam_redact_text(r, S("abcdef"), k, 2, &n), "[IBAN_2]f");
    seam_arena_free(a);
}

static void invalid_spans(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_redactor *r = seam_redactor_new(a, NULL);
    size_t n = 99;
    seam_entity past[] = {ent(SEAM_ENT_EMAIL, 2, 9)};
    assert_null(seam_redact_text(r, S("abcdef"), past, 1, &n));
    seam_entity reversed[] = {ent(SEAM_ENT_EMAIL, 4, 2)};
    assert_null(seam_redact_text(r, S("abcdef"), reversed, 1, &n));
    /* Empty spans are ignored. */
    seam_entity empty[] = {ent(SEAM_ENT_EMAIL, 3, 3), ent(SEAM_ENT_EMAIL, 6, 6)};
    assert_string_equal(seam_redact_text(r, S("abcdef"), empty, 2, &n), "abcdef");
    assert_int_equal(seam_redactor_count(r), 0);
    seam_arena_free(a);
}

static void names_without_scanner(void **state)
{
    static const char *const names[] = {
        "CREDIT_CARD",  "IBAN",       "US_SSN",        "EMAIL",
        "PHONE",        "IP_ADDRESS", "PRIVATE_KEY",   "AWS_ACCESS_KEY",
        "GITHUB_TOKEN", "OPENAI_KEY", "ANTHROPIC_KEY", "GOOGLE_API_KEY",
        "SLACK_TOKEN",  "STRIPE_KEY", "JWT",           "GENERIC_SECRET",
        "ABA_ROUTING",  "US_NPI",     "US_DEA",        "UK_NHS",
        "MRN",          "DOB",        "GITLAB_TOKEN",  "HUGGINGFACE_TOKEN",
        "NPM_TOKEN"};
    const uint32_t nnames = (uint32_t)(sizeof(names) / sizeof(names[0]));
    seam_arena *a = seam_arena_new(4096);
    seam_redactor *r = seam_redactor_new(a, NULL);
    for (uint32_t t = 0; t < SEAM_ENT__BUILTIN_COUNT && t < nnames; t++) {
        char v[16], ph[64];
        snprintf(v, sizeof(v), "value%u", (unsigned)t);
        snprintf(ph, sizeof(ph), "[%s_1]", names[t]);
        issue(r, t, v, strlen(v), ph);
    }
    /* Custom types have no name without a scanner: they share ENTITY. */
    issue(r, SEAM_ENT__BUILTIN_COUNT, S("Project Falcon"), "[ENTITY_1]");
    issue(r, SEAM_ENT__BUILTIN_COUNT + 7, S("Acme Corp"), "[ENTITY_2]");
    check_restore(r, "[ENTITY_2] runs [ENTITY_1]; [DOB_1]",
                  "Acme Corp runs Project Falcon; value21");
    seam_arena_free(a);
}

/* Many values: the hash table and the per-label arrays grow, numbers reach
 * four digits, and a round trip gives the original back. */
static void many_values_round_trip(void **state)
{
    seam_arena *a = seam_arena_new(4096);
    seam_redactor *r = seam_redactor_new(a, NULL);
    seam_buf t;
    seam_buf_init(&t, 1 << 20);
    enum { N = 1500 };
    seam_entity *e = calloc(2 * N, sizeof(*e));
    assert_non_null(e);
    for (int i = 0; i < N; i++) {
        size_t at = t.len;
        assert_int_equal(seam_buf_printf(&t, "user%d@example.com", i), SEAM_OK);
        e[2 * i] = ent(SEAM_ENT_EMAIL, at, t.len);
        assert_int_equal(seam_buf_puts(&t, " [x] "), SEAM_OK);
        at = t.len;
        assert_int_equal(seam_buf_printf(&t, "user%d@example.com", i / 2), SEAM_OK);
        e[2 * i + 1] = ent(SEAM_ENT_EMAIL, at, t.len);
        assert_int_equal(seam_buf_puts(&t, "\n"), SEAM_OK);
    }
    size_t n;
    char *red = seam_redact_text(r, t.data, t.len, e, 2 * N, &n);
    assert_non_null(red);
    assert_int_equal(seam_redactor_count(r), N);
    assert_non_null(strstr(red, "[EMAIL_1500] [x] [EMAIL_750]\n"));
    assert_null(strstr(red, "@"));
    size_t m;
    char *back = restore(r, false, red, n, &m);
    assert_int_equal(m, t.len);
    assert_memory_equal(back, t.data, t.len);
    free(back);
    free(e);
    seam_buf_free(&t);
    seam_arena_free(a);
}

/* ---- restore ---- */

struct fixture {
    seam_arena *a;
    seam_redactor *r1;  /* EMAIL_1, CREDIT_CARD_1 and two tricky values */
    seam_redactor *r10; /* also EMAIL_2 .. EMAIL_10 */
};

static const char tricky1[] = "x[EMAIL_1]y";            /* restored as is, never scanned again */
static const char tricky2[] = "a\"b\\c\n\x01 \xc3\xa9"; /* needs JSON escaping */

static void fill(seam_redactor *r, int emails)
{
    issue(r, SEAM_ENT_EMAIL, S("ann@x.org"), "[EMAIL_1]");
    issue(r, SEAM_ENT_CREDIT_CARD, S("4111111111111111"), "[CREDIT_CARD_1]");
    issue(r, SEAM_ENT_GENERIC_SECRET, S(tricky1), "[GENERIC_SECRET_1]");
    issue(r, SEAM_ENT_GENERIC_SECRET, S(tricky2), "[GENERIC_SECRET_2]");
    for (int i = 2; i <= emails; i++) {
        char v[32], ph[32];
        snprintf(v, sizeof(v), "e%d@x.org", i);
        snprintf(ph, sizeof(ph), "[EMAIL_%d]", i);
        issue(r, SEAM_ENT_EMAIL, v, strlen(v), ph);
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->a = seam_arena_new(4096);
    f->r1 = seam_redactor_new(f->a, NULL);
    f->r10 = seam_redactor_new(f->a, NULL);
    fill(f->r1, 1);
    fill(f->r10, 10);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    seam_arena_free(f->a);
    free(f);
    return 0;
}

static void restore_whole(void **state)
{
    struct fixture *f = *state;
    seam_redactor *r1 = f->r1, *r10 = f->r10;
    check_restore(r1, "[EMAIL_1]", "ann@x.org");
    check_restore(r1, "to [EMAIL_1] and [EMAIL_9].", "to ann@x.org and [EMAIL_9].");
    check_restore(r1, "[EMAIL_1", "[EMAIL_1");
    check_restore(r1, "[EMAIL_1 ]", "[EMAIL_1 ]");
    check_restore(r1, "[[EMAIL_1]]", "[ann@x.org]");
    check_restore(r1, "[EMAIL_1][CREDIT_CARD_1]", "ann@x.org4111111111111111");
    check_restore(r1, "[EMAIL_10]", "[EMAIL_10]");
    check_restore(r1, "[EMAIL_01] [EMAIL_0] [EMAIL_] [EMAIL1] [email_1] [_1] []",
                  "[EMAIL_01] [EMAIL_0] [EMAIL_] [EMAIL1] [email_1] [_1] []");
    check_restore(r1, "[EMAIL_1]]", "ann@x.org]");
    check_restore(r1, "[EMAIL_99999999999]", "[EMAIL_99999999999]");
    check_restore(r1, "[EMAIL_4294967297]", "[EMAIL_4294967297]");
    check_restore(r10, "[EMAIL_10] [EMAIL_1]0]", "e10@x.org ann@x.org0]");
    check_restore(r10, "[EMAIL_11]", "[EMAIL_11]");
    /* Restored values are copied, never restored again. */
    check_restore(r1, "<[GENERIC_SECRET_1]>", "<x[EMAIL_1]y>");
    check_restore(r1, "\xc3\xa9[EMAIL_1]\xe6\x97\xa5",
                  "\xc3\xa9"
                  "ann@x.org\xe6\x97\xa5");
    check_restore(r1, "no brackets at all", "no brackets at all");
    check_restore(r1, "", "");

    /* A redactor that issued nothing, or none at all, passes text through. */
    seam_redactor *empty = seam_redactor_new(f->a, NULL);
    check_restore(empty, "[EMAIL_1]", "[EMAIL_1]");
    check_restore(NULL, "[EMAIL_1]", "[EMAIL_1]");
}

static void restore_too_big(void **state)
{
    struct fixture *f = *state;
    seam_buf b;
    seam_buf_init(&b, 8);
    assert_int_equal(seam_restore_text(f->r1, S("[EMAIL_1]"), &b), SEAM_ERR_TOO_BIG);
    seam_buf_free(&b);
    seam_restore_stream st;
    seam_restore_stream_init(&st, f->r1);
    seam_buf_init(&b, 8);
    assert_int_equal(seam_restore_stream_feed(&st, S("[EMAI"), &b), SEAM_OK);
    assert_int_equal(seam_restore_stream_feed(&st, S("L_1]"), &b), SEAM_ERR_TOO_BIG);
    seam_restore_stream_free(&st);
    seam_buf_free(&b);
}

/* What a stream releases at once and what it holds. */
static void stream_holds_only_prefixes(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *in, *out, *held;
    } cases[] = {
        {"plain text, no bracket", "plain text, no bracket", ""},
        {"abc [EM", "abc ", "[EM"},
        {"abc [", "abc ", "["},
        {"abc [EMAIL_", "abc ", "[EMAIL_"},
        {"abc [EMAIL_1", "abc ", "[EMAIL_1"},
        {"abc [EMAIL_2", "abc [EMAIL_2", ""}, /* only EMAIL_1 issued */
        {"abc [EMAIL_0", "abc [EMAIL_0", ""},
        {"abc [X", "abc [X", ""},
        {"abc [GENERIC_SECRET_", "abc ", "[GENERIC_SECRET_"},
        {"abc [CREDIT_CARD_1]", "abc 4111111111111111", ""},
        {"[EMAIL_1] [", "ann@x.org ", "["},
        {"[e", "[e", ""},
        {"a[b[c[", "a[b[c", "["},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seam_restore_stream st;
        seam_restore_stream_init(&st, f->r1);
        seam_buf b;
        seam_buf_init(&b, 1024);
        assert_int_equal(seam_restore_stream_feed(&st, cases[i].in, strlen(cases[i].in), &b),
                         SEAM_OK);
        assert_string_equal(b.len ? b.data : "", cases[i].out);
        assert_string_equal(st.held.len ? st.held.data : "", cases[i].held);
        seam_restore_stream_free(&st);
        seam_buf_free(&b);
    }
    /* Held bytes that stop being a prefix are released by the next chunk. */
    seam_restore_stream st;
    seam_restore_stream_init(&st, f->r10);
    seam_buf b;
    seam_buf_init(&b, 1024);
    assert_int_equal(seam_restore_stream_feed(&st, S("[EMAIL_1"), &b), SEAM_OK);
    assert_int_equal(b.len, 0);
    assert_int_equal(seam_restore_stream_feed(&st, S("0"), &b), SEAM_OK);
    assert_int_equal(b.len, 0);
    assert_string_equal(st.held.data, "[EMAIL_10");
    assert_int_equal(seam_restore_stream_feed(&st, S("0"), &b), SEAM_OK); /* 100 > 10 */
    assert_string_equal(b.data, "[EMAIL_100");
    assert_int_equal(st.held.len, 0);
    assert_int_equal(seam_restore_stream_feed(&st, S("] [EMAIL_1"), &b), SEAM_OK);
    assert_int_equal(seam_restore_stream_flush(&st, &b), SEAM_OK);
    assert_string_equal(b.data, "[EMAIL_100] [EMAIL_1");
    seam_restore_stream_free(&st);
    seam_buf_free(&b);
}

/* Feeds <text> in the chunks ending at <cuts> and checks, after each chunk,
 * that the output so far is the whole-text restore of what was released and
 * that only a proper prefix of an issued placeholder is held; returns the
 * complete output (malloc'd). */
static char *stream_run(const seam_redactor *r, bool json, const char *text, size_t len,
                        const size_t *cuts, size_t ncuts, size_t *outlen)
{
    seam_restore_stream st;
    if (json)
        seam_restore_json_stream_init(&st, r);
    else
        seam_restore_stream_init(&st, r);
    seam_buf b;
    seam_buf_init(&b, 1 << 20);
    size_t at = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        assert_int_equal(seam_restore_stream_feed(&st, text + at, end - at, &b), SEAM_OK);
        at = end;
        size_t hl = st.held.len;
        assert_true(hl <= at);
        if (hl) {
            assert_int_equal(st.held.data[0], '[');
            assert_memory_equal(st.held.data, text + at - hl, hl);
        }
        size_t wl;
        char *w = restore(r, json, text, at - hl, &wl);
        if (wl != b.len || (wl && memcmp(w, b.data, wl) != 0))
            fail_msg("released %.*s, expected %s (text %s, cut %zu)", (int)b.len, b.data, w, text,
                     at);
        free(w);
    }
    assert_int_equal(seam_restore_stream_flush(&st, &b), SEAM_OK);
    assert_int_equal(st.held.len, 0);
    char *s = malloc(b.len + 1);
    if (b.len)
        memcpy(s, b.data, b.len);
    s[b.len] = '\0';
    *outlen = b.len;
    seam_restore_stream_free(&st);
    seam_buf_free(&b);
    return s;
}

static void expect_same(const char *what, const char *text, const char *want, size_t wl,
                        const char *got, size_t gl, size_t i, size_t j)
{
    if (gl != wl || (wl && memcmp(got, want, wl) != 0))
        fail_msg("%s split %zu/%zu of \"%s\": got \"%.*s\", want \"%s\"", what, i, j, text, (int)gl,
                 got, want);
}

/* Every 2-way and every 3-way split gives the whole-text output. */
static void check_all_splits(const seam_redactor *r, bool json, const char *text)
{
    size_t len = strlen(text), wl, gl;
    char *want = restore(r, json, text, len, &wl);
    for (size_t i = 0; i <= len; i++) {
        size_t cuts[2] = {i, 0};
        char *got = stream_run(r, json, text, len, cuts, 1, &gl);
        expect_same("2-way", text, want, wl, got, gl, i, i);
        free(got);
        for (size_t j = i; j <= len; j++) {
            cuts[1] = j;
            got = stream_run(r, json, text, len, cuts, 2, &gl);
            expect_same("3-way", text, want, wl, got, gl, i, j);
            free(got);
        }
    }
    /* And one byte at a time. */
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    char *got = stream_run(r, json, text, len, cuts, len, &gl);
    expect_same("bytewise", text, want, wl, got, gl, 0, 0);
    free(got);
    free(cuts);
    free(want);
}

static const char *const split_texts[] = {
    "[EMAIL_1] at the start",
    "in the [EMAIL_1] middle",
    "at the end [EMAIL_1]",
    "[EMAIL_1][CREDIT_CARD_1][EMAIL_1]",
    "[[EMAIL_1]]",
    "[EMAIL_10] vs [EMAIL_1]0] vs [EMAIL_1",
    "[EMAIL_9] [EMAIL_01] [EMAIL_] [email_1] [[[[EMAIL_1]",
    "h\xc3\xa9llo [EMAIL_1]\xe6\x97\xa5\xe6\x9c\xac[CREDIT_CARD_1]\xc3\xbc",
    "\xf0\x9f\x98\x80[EMAIL_1]\xf0\x9f\x98\x80",
    "value [GENERIC_SECRET_1] holds a placeholder",
    "[GENERIC_SECRET_2][GENERIC_SECRET_",
    "a[b]c[]d[EMAIL_1]]e[EMAIL_1 [EMAIL_2] [EMAIL_10]",
    "",
    "[",
    "no bracket here",
};

static void stream_every_split(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof(split_texts) / sizeof(split_texts[0]); i++) {
        check_all_splits(f->r1, false, split_texts[i]);
        check_all_splits(f->r10, false, split_texts[i]);
    }
    size_t n;
    char *s = restore(f->r10, false, S("[EMAIL_10] vs [EMAIL_1]0] vs [EMAIL_1"), &n);
    assert_string_equal(s, "e10@x.org vs ann@x.org0] vs [EMAIL_1");
    free(s);
    s = restore(f->r1, false, S("[EMAIL_10] vs [EMAIL_1]0] vs [EMAIL_1"), &n);
    assert_string_equal(s, "[EMAIL_10] vs ann@x.org0] vs [EMAIL_1");
    free(s);
}

/* ---- JSON mode (tool-call arguments) ---- */

static void check_json(const seam_redactor *r, const char *text, const char *expect)
{
    size_t n;
    char *got = restore(r, true, text, strlen(text), &n);
    assert_string_equal(got, expect);
    free(got);
}

static void json_restore(void **state)
{
    struct fixture *f = *state;
    seam_redactor *r = f->r1;
    /* Inside a string the value is escaped; plain mode would break the JSON. */
    check_json(r, "{\"note\":\"[GENERIC_SECRET_2]\"}",
               "{\"note\":\"a\\\"b\\\\c\\n\\u0001 \xc3\xa9\"}");
    check_json(r, "{\"to\":\"[EMAIL_1]\",\"x\":\"[GENERIC_SECRET_1]\"}",
               "{\"to\":\"ann@x.org\",\"x\":\"x[EMAIL_1]y\"}");
    /* Outside any string it becomes a string of its own. */
    check_json(r, "{\"card\": [CREDIT_CARD_1], \"n\": [1, 2]}",
               "{\"card\": \"4111111111111111\", \"n\": [1, 2]}");
    /* Escaped quotes and backslashes do not end the string. */
    check_json(r, "{\"a\":\"say \\\"[EMAIL_1]\\\"\",\"b\":\"\\\\[EMAIL_1]\"}",
               "{\"a\":\"say \\\"ann@x.org\\\"\",\"b\":\"\\\\ann@x.org\"}");
    /* A placeholder right after a backslash is left alone. */
    check_json(r, "{\"a\":\"\\[EMAIL_1]\"}", "{\"a\":\"\\[EMAIL_1]\"}");
    check_json(r, "[\"[EMAIL_9]\", \"[EMAIL_1\"]", "[\"[EMAIL_9]\", \"[EMAIL_1\"]");
    issue(r, SEAM_ENT_GENERIC_SECRET, S("\r\t\b\f\x1f/\x7f"), "[GENERIC_SECRET_3]");
    check_json(r, "\"[GENERIC_SECRET_3]\"", "\"\\r\\t\\b\\f\\u001f/\x7f\"");

    /* The result parses and gives the original value back. */
    size_t n;
    char *got =
        restore(r, true, S("{\"v\":\"<[GENERIC_SECRET_2]>\",\"w\":[GENERIC_SECRET_2]}"), &n);
    json_error_t err;
    json_t *j = json_loadb(got, n, 0, &err);
    if (!j)
        fail_msg("%s: %s", got, err.text);
    assert_string_equal(json_string_value(json_object_get(j, "v")), "<a\"b\\c\n\x01 \xc3\xa9>");
    assert_string_equal(json_string_value(json_object_get(j, "w")), tricky2);
    json_decref(j);
    free(got);
}

static const char *const json_texts[] = {
    "{\"to\":\"[EMAIL_1]\",\"card\":[CREDIT_CARD_1],\"s\":\"[GENERIC_SECRET_2]\"}",
    "{\"a\":\"x\\\"[EMAIL_1]\\\\\",\"b\":\"\\[EMAIL_1]\"} [GENERIC_SECRET_2]",
    "[\"[[EMAIL_1]]\",[EMAIL_10],\"[EMAIL_10]\"]",
};

static void json_stream_every_split(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof(json_texts) / sizeof(json_texts[0]); i++) {
        check_all_splits(f->r1, true, json_texts[i]);
        check_all_splits(f->r10, true, json_texts[i]);
    }
}

/* ---- fault injection ---- */

/* Fails each allocation in turn: every call either succeeds with the right
 * answer or reports the failure, and nothing leaks (under ASan). */
static void alloc_failures(void **state)
{
    const char *t = "ann@x.org and bob@y.org and ann@x.org, card 4111111111111111";
    seam_entity e[] = {ent(SEAM_ENT_EMAIL, 0, 9), ent(SEAM_ENT_EMAIL, 14, 23),
                       ent(SEAM_ENT_EMAIL, 28, 37), ent(SEAM_ENT_CREDIT_CARD, 44, 60)};
    const char *want = "[EMAIL_1] and [EMAIL_2] and [EMAIL_1], card [CREDIT_CARD_1]";
    bool done = false;
    for (long k = 0; !done && k < 1000; k++) {
        seam_alloc_fail_after(k);
        seam_arena *a = seam_arena_new(256);
        seam_redactor *r = a ? seam_redactor_new(a, NULL) : NULL;
        size_t n;
        char *red = r ? seam_redact_text(r, t, strlen(t), e, 4, &n) : NULL;
        if (red) {
            assert_string_equal(red, want);
            seam_buf b;
            seam_buf_init(&b, 4096);
            seam_restore_stream st;
            seam_restore_stream_init(&st, r);
            seam_rc rc = seam_restore_stream_feed(&st, red, 20, &b);
            if (rc == SEAM_OK)
                rc = seam_restore_stream_feed(&st, red + 20, n - 20, &b);
            if (rc == SEAM_OK)
                rc = seam_restore_stream_flush(&st, &b);
            if (rc == SEAM_OK) {
                assert_string_equal(b.data, t);
                done = true;
            } else {
                assert_int_equal(rc, SEAM_ERR_NOMEM);
            }
            seam_restore_stream_free(&st);
            seam_buf_free(&b);
        }
        seam_alloc_fail_after(-1);
        seam_arena_free(a);
    }
    assert_true(done);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(redact_basic),
        cmocka_unit_test(numbering_across_texts),
        cmocka_unit_test(overlaps_longer_wins),
        cmocka_unit_test(invalid_spans),
        cmocka_unit_test(names_without_scanner),
        cmocka_unit_test(many_values_round_trip),
        cmocka_unit_test_setup_teardown(restore_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(restore_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_holds_only_prefixes, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_every_split, setup, teardown),
        cmocka_unit_test_setup_teardown(json_restore, setup, teardown),
        cmocka_unit_test_setup_teardown(json_stream_every_split, setup, teardown),
        cmocka_unit_test(alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
