/*
 * The dashboard's JSON builders and its access rules: /admin/stats over a
 * small ledger written by the real ledger writer (totals, buckets, rules,
 * reasons, sensitivity, detected types, percentiles, per-backend tokens,
 * cost and speed, savings and the hardware break-even, recent decisions,
 * the time window), /admin/requests' explanation of one request, and who
 * may see the page (admin key, session cookies, loopback without a key),
 * plus the embedded assets.
 */
#include "testutil.h"

#include "http/admin.h"
#include "http/ui.h"
#include "ledger/ledger.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char yaml[] =
    "listen: 127.0.0.1:0\n"
    "backends:\n"
    "  - name: gemma-local\n"
    "    provider: openai\n"
    "    url: http://127.0.0.1:11434\n"
    "    location: local\n"
    "    models: [gemma4:31b]\n"
    "    hardware: { capex_usd: 6000, amortize_months: 36, watts: 350, usd_per_kwh: 0.15 }\n"
    "  - name: frontier\n"
    "    provider: openai\n"
    "    url: https://api.openai.com\n"
    "    location: cloud\n"
    "    models: [gpt-5.1]\n"
    "    price: { input_per_mtok: 1.25, output_per_mtok: 10 }\n"
    "pools:\n"
    "  local: [gemma-local]\n"
    "  cloud: [frontier]\n"
    "policy:\n"
    "  rules:\n"
    "    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: "
    "local }\n"
    "    - { name: high-volume-stays-local, when: { tokens_gt: 64000 }, route: local }\n"
    "    - { name: frontier-drafting, when: { kind: [draft], complexity: [high] }, route: cloud }\n"
    "  default: local\n"
    "auth:\n"
    "  admin_key_env: SEAM_TEST_ADMIN_KEY_D1\n"
    "report:\n"
    "  reference_backend: frontier\n";

/* Now, for the builders: 2025-03-15T00:10:15Z, half way through a 30 s bucket. */
#define NOW 1742001015000LL

typedef struct {
    char dir[64], path[128];
    seam_config *cfg;
} fixture;

static seam_request_record rec(const char *id, int64_t ts, const char *backend, int status)
{
    bool cloud = backend && strcmp(backend, "frontier") == 0;
    seam_request_record r = {
        .ts_ms = ts,
        .id = id,
        .ingress = "openai",
        .kind = cloud ? "draft" : "chat",
        .complexity = cloud ? "high" : "medium",
        .tokens_est = 120,
        .declared = cloud ? "public" : "internal",
        .sensitivity = cloud ? "public" : "internal",
        .rule = cloud ? "frontier-drafting" : "sensitive-stays-local",
        .reason = "rule",
        .pool = cloud ? "cloud" : "local",
        .backend = backend,
        .backend_index = backend ? (cloud ? 1 : 0) : -1,
        .location = backend ? (cloud ? "cloud" : "local") : NULL,
        .model = cloud ? "gpt-5.1" : "gemma4:31b",
        .status = status,
        .attempts = backend ? 1 : 0,
        .input_tokens = 100,
        .output_tokens = 20,
        .reasoning_tokens = -1,
        .cached_tokens = -1,
        .cost_usd = cloud ? 0.000325 : 0.00001,
        .counterfactual_usd = 0.000325,
        .ms_total = 100,
        .ms_ttft = 40,
        .ms_gateway = 0.5,
    };
    return r;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/seam-admin-test-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/seam.db", f->dir);
    setenv("SEAM_TEST_ADMIN_KEY_D1", "sk-admin-secret", 1);
    char err[512] = "";
    assert_int_equal(seam_config_parse(yaml, strlen(yaml), "test", &f->cfg, err, sizeof err),
                     SEAM_OK);

    seam_ledger *l = seam_ledger_open(f->path, 0, err, sizeof err);
    assert_non_null(l);
    char id[32];
    /* Ten local requests with total latencies 10, 20, ... 100 ms, in the
     * last 30 s bucket; one of them failed upstream. */
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "seam-local-%d", i);
        seam_request_record r = rec(id, NOW - 5000 + i, "gemma-local", i == 9 ? 502 : 200);
        r.ms_total = 10.0 * (i + 1);
        r.ms_ttft = r.ms_total / 2;
        if (i == 9) {
            r.error = "upstream_error";
            r.input_tokens = r.output_tokens = -1;
        }
        seam_ledger_record(l, &r);
    }
    /* Two cloud requests a bucket earlier. */
    for (int i = 0; i < 2; i++) {
        snprintf(id, sizeof id, "seam-cloud-%d", i);
        seam_request_record r = rec(id, NOW - 40000 + i, "frontier", 200);
        seam_ledger_record(l, &r);
    }
    /* An undeclared request raised to regulated by an SSN and an email. */
    seam_request_record d = rec("seam-ssn", NOW - 1000, "gemma-local", 200);
    d.declared = NULL;
    d.sensitivity = "regulated";
    d.detected = "US_SSN=1,EMAIL=2";
    d.set_applied = "reasoning=off";
    seam_ledger_record(l, &d);
    /* A malformed request: no decision, no backend. */
    seam_request_record m = {.ts_ms = NOW - 500,
                             .id = "seam-bad",
                             .ingress = "openai",
                             .status = 400,
                             .error = "invalid_json",
                             .backend_index = -1,
                             .tokens_est = -1,
                             .input_tokens = -1,
                             .output_tokens = -1,
                             .reasoning_tokens = -1,
                             .cached_tokens = -1,
                             .counterfactual_usd = -1,
                             .ms_total = 0.2,
                             .ms_ttft = -1,
                             .ms_gateway = 0.2};
    seam_ledger_record(l, &m);
    /* Outside every window but 7d: two days ago. */
    seam_request_record old = rec("seam-old", NOW - 2 * 86400000LL, "gemma-local", 200);
    seam_ledger_record(l, &old);
    seam_ledger_close(l);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    char p[192];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    seam_config_free(f->cfg);
    free(f);
    return 0;
}

static json_int_t geti(json_t *o, const char *path)
{
    /* "a.b.c" through objects. */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *v = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    if (!json_is_integer(v))
        print_error("%s is not an integer\n", path);
    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static double getr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static json_t *backend(json_t *s, const char *name)
{
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(s, "backends"), i,
                       b) if (strcmp(json_string_value(json_object_get(b, "name")), name) ==
                              0) return b;
    fail_msg("no backend %s", name);
    return NULL;
}

static void test_ranges(void **state)
{
    seam_admin_range r;
    assert_int_equal(seam_admin_range_parse("15m", &r), 0);
    assert_int_equal(r, SEAM_ADMIN_RANGE_15M);
    assert_int_equal(seam_admin_range_parse("7d", &r), 0);
    assert_int_equal(seam_admin_range_ms(r), 7 * 86400000LL);
    assert_int_equal(seam_admin_range_parse("2h", &r), -1);
    assert_int_equal(seam_admin_range_parse(NULL, &r), -1);
    for (int i = 0; i <= SEAM_ADMIN_RANGE_7D; i++)
        assert_int_equal(seam_admin_range_ms(i) % seam_admin_bucket_ms(i), 0);
}

static void test_stats(void **state)
{
    fixture *f = *state;
    seam_admin_backend_live bl[2] = {{.health = SEAM_HEALTH_UP, .inflight = 3},
                                     {.health = SEAM_HEALTH_DOWN, .error = "connect refused"}};
    seam_admin_live live = {.backends = bl, .ledger_on = true, .ledger_written = 15};
    char err[512] = "";
    json_t *s =
        seam_admin_stats_json(f->cfg, f->path, SEAM_ADMIN_RANGE_15M, NOW, &live, err, sizeof err);
    if (!s)
        print_error("%s\n", err);
    assert_non_null(s);

    /* The window: 30 buckets of 30 s ending with the one holding NOW. */
    assert_int_equal(geti(s, "window.buckets"), 30);
    assert_int_equal(geti(s, "window.bucket_ms"), 30000);
    json_int_t since = geti(s, "window.since_ms");
    assert_int_equal(since % 30000, 0);
    assert_true(since + 30 * 30000 > NOW && since + 29 * 30000 <= NOW);

    assert_int_equal(geti(s, "totals.requests"), 14);
    assert_int_equal(geti(s, "totals.local"), 11);
    assert_int_equal(geti(s, "totals.cloud"), 2);
    assert_int_equal(geti(s, "totals.none"), 1);
    assert_int_equal(geti(s, "totals.errors"), 2);
    assert_int_equal(geti(s, "totals.with_detections"), 1);
    assert_int_equal(geti(s, "totals.input_tokens"), 12 * 100);

    /* Buckets: local and the errors in the last, cloud in the one before. */
    json_t *tr = json_object_get(s, "traffic");
    assert_int_equal(json_integer_value(json_array_get(json_object_get(tr, "local"), 29)), 11);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(tr, "cloud"), 28)), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(tr, "none"), 29)), 1);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(tr, "errors"), 29)), 2);
    assert_int_equal(json_integer_value(json_array_get(json_object_get(tr, "cloud"), 29)), 0);

    assert_int_equal(geti(s, "rules.sensitive-stays-local.local"), 11);
    assert_int_equal(geti(s, "rules.frontier-drafting.cloud"), 2);
    assert_int_equal(geti(s, "rules.(none).none"), 1);
    assert_int_equal(geti(s, "reasons.rule"), 13);
    assert_int_equal(geti(s, "reasons.(none)"), 1);
    assert_int_equal(
        json_integer_value(json_array_get(
            json_object_get(json_object_get(s, "rule_series"), "frontier-drafting"), 28)),
        2);

    assert_int_equal(geti(s, "sensitivity.effective.internal"), 10);
    assert_int_equal(geti(s, "sensitivity.effective.public"), 2);
    assert_int_equal(geti(s, "sensitivity.effective.regulated"), 1);
    assert_int_equal(geti(s, "sensitivity.effective.(unknown)"), 1);
    size_t i;
    json_t *fl;
    bool raised = false;
    json_array_foreach(json_object_get(json_object_get(s, "sensitivity"), "flow"), i, fl)
    {
        if (strcmp(json_string_value(json_object_get(fl, "declared")), "(inferred)") == 0 &&
            strcmp(json_string_value(json_object_get(fl, "effective")), "regulated") == 0)
            raised = json_integer_value(json_object_get(fl, "requests")) == 1;
    }
    assert_true(raised);
    assert_int_equal(geti(s, "detected.US_SSN"), 1);
    assert_int_equal(geti(s, "detected.EMAIL"), 2);
    assert_int_equal(json_object_size(json_object_get(s, "detected")), 2);

    /* Percentiles by nearest rank over 10, 20 ... 100 and the SSN request's
     * 100 for the local backend: 11 values. */
    json_t *lat = json_array_get(json_object_get(json_object_get(s, "latency"), "backends"), 1);
    assert_string_equal(json_string_value(json_object_get(lat, "backend")), "gemma-local");
    json_t *tot = json_object_get(lat, "total");
    assert_int_equal(geti(tot, "n"), 11);
    assert_true(getr(tot, "p50") == 60.0);
    assert_true(getr(tot, "p95") == 100.0);
    assert_true(getr(tot, "p99") == 100.0);
    assert_true(getr(json_object_get(lat, "ttft"), "p50") == 30.0);
    assert_true(getr(json_object_get(lat, "gateway"), "p99") == 0.5);
    json_t *all = json_object_get(json_object_get(s, "latency"), "all");
    assert_int_equal(geti(all, "total.n"), 13);

    json_t *lb = backend(s, "gemma-local"), *cb = backend(s, "frontier");
    assert_int_equal(geti(lb, "requests"), 11);
    assert_int_equal(geti(lb, "errors"), 1);
    assert_int_equal(geti(lb, "input_tokens"), 1000);
    assert_int_equal(geti(lb, "output_tokens"), 200);
    assert_int_equal(geti(lb, "inflight"), 3);
    assert_string_equal(json_string_value(json_object_get(lb, "health")), "up");
    assert_string_equal(json_string_value(json_object_get(cb, "health")), "down");
    assert_string_equal(json_string_value(json_object_get(cb, "error")), "connect refused");
    assert_int_equal(geti(cb, "requests"), 2);
    assert_true(fabs(getr(cb, "cost_usd") - 0.00065) < 1e-12);
    /* Generation speed: 200 output tokens over the time after the first
     * token of the rows that report them: 5, 10, ... 45 ms, and the SSN
     * request's 100 - 40 ms (the failed one has no tokens). */
    double gen_ms = 0;
    for (int k = 1; k <= 9; k++)
        gen_ms += 5.0 * k;
    gen_ms += 60;
    assert_true(fabs(getr(lb, "tokens_per_s") - 200 / (gen_ms / 1000)) < 1e-6);

    /* Savings as seam report computes them, and the curve ending there. */
    json_t *sv = json_object_get(s, "savings");
    assert_string_equal(json_string_value(json_object_get(sv, "reference")), "frontier");
    assert_true(fabs(getr(sv, "counterfactual_usd") - 13 * 0.000325) < 1e-12);
    assert_true(fabs(getr(sv, "savings_usd") -
                     (getr(sv, "counterfactual_usd") - getr(sv, "cost_usd"))) < 1e-12);
    json_t *cum = json_object_get(sv, "cumulative");
    assert_int_equal(json_array_size(cum), 30);
    assert_true(fabs(json_real_value(json_array_get(cum, 29)) - getr(sv, "savings_usd")) < 1e-9);
    json_t *hw = json_array_get(json_object_get(sv, "hardware"), 0);
    assert_string_equal(json_string_value(json_object_get(hw, "backend")), "gemma-local");
    assert_true(getr(hw, "hourly_usd") > 0.28 && getr(hw, "hourly_usd") < 0.281);

    /* Recent: newest first, never more than the window. */
    json_t *recent = json_object_get(s, "recent");
    assert_int_equal(json_array_size(recent), 14);
    assert_string_equal(json_string_value(json_object_get(json_array_get(recent, 0), "id")),
                        "seam-bad");
    assert_string_equal(json_string_value(json_object_get(json_array_get(recent, 1), "id")),
                        "seam-ssn");
    assert_true(json_is_true(json_object_get(json_array_get(recent, 1), "detected")));
    assert_true(json_is_null(json_object_get(json_array_get(recent, 1), "declared")));

    assert_int_equal(geti(s, "live.ledger.written"), 15);
    json_decref(s);

    /* Seven days take in the old row as well. */
    s = seam_admin_stats_json(f->cfg, f->path, SEAM_ADMIN_RANGE_7D, NOW, &live, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(geti(s, "totals.requests"), 15);
    assert_int_equal(geti(s, "window.buckets"), 84);
    json_decref(s);
}

static void test_stats_without_ledger(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    json_t *s =
        seam_admin_stats_json(f->cfg, NULL, SEAM_ADMIN_RANGE_1H, NOW, NULL, err, sizeof err);
    assert_non_null(s);
    assert_int_equal(json_object_size(json_object_get(s, "totals")), 0);
    assert_int_equal(json_array_size(json_object_get(s, "backends")), 2);
    assert_true(json_is_false(
        json_object_get(json_object_get(json_object_get(s, "live"), "ledger"), "on")));
    json_decref(s);
    /* A file that is not there is an error, not an empty dashboard. */
    s = seam_admin_stats_json(f->cfg, "/nonexistent-d1/seam.db", SEAM_ADMIN_RANGE_1H, NOW, NULL,
                              err, sizeof err);
    assert_null(s);
    assert_non_null(strstr(err, "cannot open"));
}

static void test_request_explained(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    json_t *o = NULL;
    assert_int_equal(seam_admin_request_json(f->cfg, f->path, "seam-ssn", &o, err, sizeof err), 1);
    json_t *q = json_object_get(o, "request");
    assert_string_equal(json_string_value(json_object_get(q, "sensitivity")), "regulated");
    assert_true(json_is_null(json_object_get(q, "declared")));
    assert_int_equal(geti(q, "detected.US_SSN"), 1);
    assert_int_equal(geti(q, "detected.EMAIL"), 2);
    assert_string_equal(json_string_value(json_object_get(q, "complexity")), "medium");
    assert_int_equal(geti(q, "tokens_est"), 120);
    assert_string_equal(json_string_value(json_object_get(q, "set_applied")), "reasoning=off");
    assert_string_equal(json_string_value(json_object_get(q, "pool")), "local");

    json_t *rules = json_object_get(json_object_get(o, "policy"), "rules");
    assert_int_equal(json_array_size(rules), 3);
    json_t *r0 = json_array_get(rules, 0), *r1 = json_array_get(rules, 1),
           *r2 = json_array_get(rules, 2);
    assert_true(json_is_true(json_object_get(r0, "matched")));
    assert_true(json_is_false(json_object_get(r2, "matched")));
    json_t *c = json_array_get(json_object_get(r0, "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "want")), "internal, regulated");
    assert_string_equal(json_string_value(json_object_get(c, "got")), "regulated");
    assert_true(json_is_true(json_object_get(c, "ok")));
    c = json_array_get(json_object_get(r1, "conditions"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "want")), "> 64000");
    assert_string_equal(json_string_value(json_object_get(c, "got")), "120");
    assert_true(json_is_false(json_object_get(c, "ok")));
    c = json_array_get(json_object_get(r2, "conditions"), 1);
    assert_string_equal(json_string_value(json_object_get(c, "field")), "complexity");
    assert_true(json_is_false(json_object_get(c, "ok")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(o, "policy"), "default_pool")), "local");
    json_decref(o);

    /* The malformed request: nothing recorded, nothing checked. */
    assert_int_equal(seam_admin_request_json(f->cfg, f->path, "seam-bad", &o, err, sizeof err), 1);
    c = json_array_get(
        json_object_get(json_array_get(json_object_get(json_object_get(o, "policy"), "rules"), 0),
                        "conditions"),
        0);
    assert_true(json_is_null(json_object_get(c, "ok")));
    assert_true(json_is_null(json_object_get(json_object_get(o, "request"), "tokens_est")));
    json_decref(o);

    assert_int_equal(seam_admin_request_json(f->cfg, f->path, "seam-none", &o, err, sizeof err), 0);
    assert_null(o);
    assert_int_equal(seam_admin_request_json(f->cfg, NULL, "seam-ssn", &o, err, sizeof err), -1);
}

/* ---- access ---- */

static void test_access(void **state)
{
    fixture *f = *state;
    seam_auth_state auth;
    seam_auth_state_init(&auth, f->cfg);
    assert_true(auth.admin_set);
    int64_t now = 1000000;

    assert_int_equal(seam_ui_check(f->cfg, &auth, NULL, NULL, NULL, "127.0.0.1", now),
                     SEAM_UI_LOGIN);
    assert_int_equal(
        seam_ui_check(f->cfg, &auth, "Bearer sk-admin-secret", NULL, NULL, "10.0.0.9", now),
        SEAM_UI_ALLOW);
    assert_int_equal(seam_ui_check(f->cfg, &auth, NULL, "sk-admin-secret", NULL, "10.0.0.9", now),
                     SEAM_UI_ALLOW);
    assert_int_equal(seam_ui_check(f->cfg, &auth, "Bearer nope", NULL, NULL, "10.0.0.9", now),
                     SEAM_UI_LOGIN);

    /* A session: valid in a cookie among others, until it expires or ends,
     * and only for the key it was issued for. */
    char tok[65], cookie[160];
    assert_int_equal(seam_ui_session_new(&auth, now, tok), 0);
    assert_int_equal(strlen(tok), 64);
    snprintf(cookie, sizeof cookie, "theme=dark; " SEAM_UI_COOKIE "=%s; other=1", tok);
    assert_int_equal(seam_ui_check(f->cfg, &auth, NULL, NULL, cookie, "10.0.0.9", now),
                     SEAM_UI_ALLOW);
    assert_int_equal(
        seam_ui_check(f->cfg, &auth, NULL, NULL, cookie, "10.0.0.9", now + SEAM_UI_SESSION_MS),
        SEAM_UI_LOGIN);
    seam_auth_state other = auth;
    other.admin_sha256[0] ^= 1;
    assert_false(seam_ui_session_valid(&other, tok, now));
    char forged[65];
    memcpy(forged, tok, 65);
    forged[0] = forged[0] == 'a' ? 'b' : 'a';
    assert_false(seam_ui_session_valid(&auth, forged, now));
    assert_false(seam_ui_session_valid(&auth, "short", now));
    seam_ui_session_end(tok);
    assert_false(seam_ui_session_valid(&auth, tok, now));

    /* The table is bounded: the oldest session makes room. */
    char first[65], t[65];
    assert_int_equal(seam_ui_session_new(&auth, now, first), 0);
    for (int i = 1; i <= SEAM_UI_SESSIONS_MAX; i++)
        assert_int_equal(seam_ui_session_new(&auth, now + i, t), 0);
    assert_false(seam_ui_session_valid(&auth, first, now + 1000));
    assert_true(seam_ui_session_valid(&auth, t, now + 1000));

    /* The variable unset: nobody. */
    seam_auth_state none = {0};
    assert_int_equal(
        seam_ui_check(f->cfg, &none, "Bearer sk-admin-secret", NULL, NULL, "127.0.0.1", now),
        SEAM_UI_NO_KEY);
    assert_int_equal(seam_ui_session_new(&none, now, t), -1);

    /* No admin key configured at all: loopback only. */
    char *saved = f->cfg->auth.admin_key_env;
    f->cfg->auth.admin_key_env = NULL;
    assert_int_equal(seam_ui_check(f->cfg, &none, NULL, NULL, NULL, "127.0.0.1", now),
                     SEAM_UI_ALLOW);
    assert_int_equal(seam_ui_check(f->cfg, &none, NULL, NULL, NULL, "127.8.9.1", now),
                     SEAM_UI_ALLOW);
    assert_int_equal(seam_ui_check(f->cfg, &none, NULL, NULL, NULL, "::1", now), SEAM_UI_ALLOW);
    assert_int_equal(seam_ui_check(f->cfg, &none, NULL, NULL, NULL, "::ffff:127.0.0.1", now),
                     SEAM_UI_ALLOW);
    assert_int_equal(seam_ui_check(f->cfg, &none, NULL, NULL, NULL, "10.1.2.3", now),
                     SEAM_UI_REMOTE);
    assert_int_equal(seam_ui_check(f->cfg, &none, NULL, NULL, NULL, "::ffff:10.1.2.3", now),
                     SEAM_UI_REMOTE);
    assert_int_equal(seam_ui_check(f->cfg, &none, NULL, NULL, NULL, NULL, now), SEAM_UI_REMOTE);
    f->cfg->auth.admin_key_env = saved;
}

static void test_cookie_parse(void **state)
{
    char v[16];
    assert_true(seam_ui_cookie("a=1; seam_session=abc ; b=2", "seam_session", v, sizeof v));
    assert_string_equal(v, "abc");
    assert_false(seam_ui_cookie("xseam_session=abc", "seam_session", v, sizeof v));
    assert_false(seam_ui_cookie("seam_session=0123456789abcdefXX", "seam_session", v, sizeof v));
    assert_false(seam_ui_cookie(NULL, "seam_session", v, sizeof v));
    assert_false(seam_ui_cookie("seam_session=", "seam_session", v, sizeof v));
}

static void test_assets(void **state)
{
    const char *names[] = {"/ui/index.html", "/ui/app.js", "/ui/app.css", "/ui/uplot.iife.min.js",
                           "/ui/uplot.min.css"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const seam_ui_asset *a = seam_ui_asset_find(names[i], strlen(names[i]));
        if (!a)
            print_error("no asset %s\n", names[i]);
        assert_non_null(a);
        assert_true(a->len > 100);
        assert_int_equal(a->data[a->len], 0);
    }
    assert_null(seam_ui_asset_find("/ui/nope.js", 11));
    const seam_ui_asset *js = seam_ui_asset_find("/ui/app.js", 10);
    assert_non_null(strstr(js->type, "javascript"));
    const char *tag = seam_ui_assets_etag();
    assert_int_equal(strlen(tag), 18);
    assert_int_equal(tag[0], '"');
    /* The page never names a CDN. */
    const seam_ui_asset *page = seam_ui_asset_find("/ui/index.html", 14);
    assert_null(strstr((const char *)page->data, "http://"));
    assert_null(strstr((const char *)page->data, "https://"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges),
        cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stats_without_ledger, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_explained, setup, teardown),
        cmocka_unit_test_setup_teardown(test_access, setup, teardown),
        cmocka_unit_test(test_cookie_parse),
        cmocka_unit_test(test_assets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
