/*
 * Unit tests for src/config: the shipped seam.yaml, defaults, one case per
 * kind of error (each checked for file, line and key path), printing, and
 * allocation fault injection over the whole parser. Run from the repository
 * root (the shipped config is loaded as "seam.yaml").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "config/config.h"
#include "core/alloc.h"

#include <openssl/sha.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A minimal valid configuration; error cases below are variations of it and
 * their expected line numbers count from its layout. */
#define MIN_BACKEND                                                                                \
    "backends:\n"            /* 1 */                                                               \
    "  - name: a\n"          /* 2 */                                                               \
    "    provider: openai\n" /* 3 */                                                               \
    "    url: http://h:1\n"  /* 4 */                                                               \
    "    location: local\n"  /* 5 */                                                               \
    "    models: [m]\n"      /* 6 */
#define MIN_POOLS                                                                                  \
    "pools:\n"       /* 7 */                                                                       \
    "  local: [a]\n" /* 8 */
#define MIN MIN_BACKEND MIN_POOLS

static seam_rc parse(const char *yaml, seam_config **cfg, char *err, size_t errlen)
{
    return seam_config_parse(yaml, strlen(yaml), "t.yaml", cfg, err, errlen);
}

static seam_config *parse_ok(const char *yaml)
{
    seam_config *cfg = NULL;
    char err[512];
    seam_rc rc = parse(yaml, &cfg, err, sizeof err);
    if (rc != SEAM_OK)
        fail_msg("unexpected error %d: %s", rc, err);
    assert_non_null(cfg);
    return cfg;
}

static void assert_contains(const char *hay, const char *needle)
{
    if (!strstr(hay, needle))
        fail_msg("'%s' does not contain '%s'", hay, needle);
}

/* ---- the shipped configuration ----------------------------------------- */

static void test_shipped_config(void **state)
{
    seam_config *cfg = NULL;
    char err[512];
    seam_rc rc = seam_config_load("seam.yaml", &cfg, err, sizeof err);
    if (rc != SEAM_OK)
        fail_msg("seam.yaml: %s", err);

    assert_string_equal(cfg->path, "seam.yaml");
    assert_string_equal(cfg->listen_host, "127.0.0.1");
    assert_int_equal(cfg->listen_port, 8080);
    assert_int_equal(cfg->workers, 2);
    assert_int_equal(cfg->limits.max_body_bytes, 33554432);
    assert_int_equal(cfg->limits.request_timeout_ms, 600000);
    assert_int_equal(cfg->limits.shutdown_grace_ms, 30000); /* not in the file: default */

    assert_int_equal(cfg->nbackends, 2);
    const seam_backend_conf *g = seam_config_backend(cfg, "gemma-local");
    assert_non_null(g);
    assert_int_equal(g->index, 0);
    assert_int_equal(g->provider, SEAM_PROVIDER_OPENAI);
    assert_string_equal(g->url, "http://127.0.0.1:11434");
    assert_int_equal(g->location, SEAM_LOC_LOCAL);
    assert_int_equal(g->clearance, SEAM_SENS_REGULATED);
    assert_int_equal(g->nmodels, 1);
    assert_string_equal(g->models[0], "gemma4:31b");
    assert_int_equal(g->context_window, 262144);
    assert_int_equal(g->capabilities, SEAM_CAP_VISION | SEAM_CAP_TOOLS | SEAM_CAP_THINKING);
    assert_true(g->capabilities_given);
    assert_string_equal(g->api_key_env, "");

    const seam_backend_conf *f = seam_config_backend(cfg, "frontier");
    assert_non_null(f);
    assert_int_equal(f->index, 1);
    assert_string_equal(f->url, "https://api.openai.com");
    assert_int_equal(f->location, SEAM_LOC_CLOUD);
    assert_int_equal(f->clearance, SEAM_SENS_PUBLIC); /* default for cloud */
    assert_string_equal(f->models[0], "gpt-5.1");
    assert_int_equal(f->context_window, 400000);
    assert_int_equal(f->capabilities, SEAM_CAP_VISION | SEAM_CAP_TOOLS | SEAM_CAP_THINKING);
    assert_string_equal(f->api_key_env, "OPENAI_API_KEY");

    assert_int_equal(cfg->npools, 2);
    int local = seam_config_pool_index(cfg, "local");
    int cloud = seam_config_pool_index(cfg, "cloud");
    assert_true(local >= 0 && cloud >= 0);
    assert_int_equal(cfg->pools[local].nbackends, 1);
    assert_int_equal(cfg->pools[local].backends[0], g->index);
    assert_int_equal(cfg->pools[cloud].backends[0], f->index);

    assert_int_equal(cfg->nrules, 3);
    const seam_rule_conf *r = cfg->rules;
    assert_string_equal(r[0].name, "sensitive-stays-local");
    assert_int_equal(r[0].sensitivities, (1u << SEAM_SENS_INTERNAL) | (1u << SEAM_SENS_REGULATED));
    assert_int_equal(r[0].kinds, 0);
    assert_false(r[0].has_tokens_gt);
    assert_int_equal(r[0].has_images, -1);
    assert_int_equal(r[0].has_tools, -1);
    assert_int_equal(r[0].pool, local);
    assert_string_equal(r[1].name, "high-volume-stays-local");
    assert_true(r[1].has_tokens_gt);
    assert_int_equal(r[1].tokens_gt, 64000);
    assert_false(r[1].has_tokens_lte);
    assert_int_equal(r[1].pool, local);
    assert_string_equal(r[2].name, "frontier-drafting");
    assert_int_equal(r[2].kinds, 1u << SEAM_KIND_DRAFT);
    assert_int_equal(r[2].complexities, 1u << SEAM_CPLX_HIGH);
    assert_int_equal(r[2].pool, cloud);

    assert_int_equal(cfg->default_pool, local);
    assert_int_equal(cfg->default_sensitivity, SEAM_SENS_INTERNAL);
    assert_int_equal(cfg->unknown_model, SEAM_UNKNOWN_MODEL_REJECT);
    assert_int_equal(cfg->on_pinned_violation, SEAM_PINNED_REROUTE);

    assert_null(seam_config_backend(cfg, "nope"));
    assert_int_equal(seam_config_pool_index(cfg, "nope"), -1);

    /* Accountability: no keys (anonymous clients), ledger at ./seam.db. */
    assert_int_equal(cfg->auth.nkeys, 0);
    assert_null(cfg->auth.admin_key_env);
    assert_int_equal(cfg->nbudgets, 0);
    assert_string_equal(cfg->state.sqlite, "./seam.db");
    assert_string_equal(cfg->state.redis, "");
    assert_int_equal(cfg->state.batch_ms, 200);
    seam_config_free(cfg);
}

/* ---- defaults and accepted forms ---------------------------------------- */

static void test_defaults(void **state)
{
    seam_config *cfg =
        parse_ok("backends:\n"
                 "  - {name: l, provider: openai, url: 'http://l/', location: local,"
                 " models: [m]}\n"
                 "  - {name: c, provider: openai, url: https://c///, location: cloud,"
                 " models: [m, n]}\n"
                 "pools: {local: [l, c]}\n");
    assert_string_equal(cfg->listen_host, "127.0.0.1");
    assert_int_equal(cfg->listen_port, 8080);
    assert_int_equal(cfg->workers, 0);
    assert_int_equal(cfg->limits.max_body_bytes, 33554432);
    assert_int_equal(cfg->limits.request_timeout_ms, 600000);
    assert_int_equal(cfg->limits.shutdown_grace_ms, 30000);
    assert_int_equal(cfg->backends[0].clearance, SEAM_SENS_REGULATED);
    assert_int_equal(cfg->backends[1].clearance, SEAM_SENS_PUBLIC);
    assert_string_equal(cfg->backends[0].url, "http://l"); /* trailing slashes stripped */
    assert_string_equal(cfg->backends[1].url, "https://c");
    assert_int_equal(cfg->backends[0].context_window, 0);
    assert_null(cfg->backends[0].api_key_env);
    assert_int_equal(cfg->backends[1].nmodels, 2);
    assert_int_equal(cfg->pools[0].nbackends, 2);
    assert_int_equal(cfg->nrules, 0);
    assert_null(cfg->rules);
    assert_int_equal(cfg->default_pool, 0);
    assert_int_equal(cfg->default_sensitivity, SEAM_SENS_INTERNAL);
    assert_int_equal(cfg->unknown_model, SEAM_UNKNOWN_MODEL_REJECT);
    assert_int_equal(cfg->on_pinned_violation, SEAM_PINNED_REROUTE);
    seam_config_free(cfg);
}

static void test_everything_set(void **state)
{
    seam_config *cfg = parse_ok(
        "listen: '[::1]:0'\n"
        "workers: 8\n"
        "limits: {max_body_bytes: 1024, request_timeout_ms: 5, shutdown_grace_ms: 007}\n"
        "backends:\n"
        "  - name: a.b_c-1\n"
        "    provider: openai\n"
        "    url: https://x.example/v1/\n"
        "    location: cloud\n"
        "    clearance: internal\n"
        "    models: [x, y]\n"
        "    context_window: 18446744073709551615\n"
        "    api_key_env: MY_KEY_2\n"
        "  - {name: b, provider: openai, url: http://b, location: local, clearance: public,"
        " models: [x]}\n"
        "pools:\n"
        "  p1: [a.b_c-1, b]\n"
        "  p2: [b]\n"
        "  p3: [b, a.b_c-1]\n"
        "policy:\n"
        "  rules:\n"
        "    - name: all\n"
        "      when:\n"
        "        kind: [summarize, other, summarize]\n"
        "        sensitivity: [public]\n"
        "        complexity: [low, medium, high]\n"
        "        tokens_gt: 0\n"
        "        tokens_lte: 100\n"
        "        model: [x, 'gpt-5.1']\n"
        "        has_images: false\n"
        "        has_tools: true\n"
        "      route: p2\n"
        "    - {name: empty, when: {}, route: p3}\n"
        "    - {name: nowhen, route: p1}\n"
        "  default: p3\n"
        "  default_sensitivity: regulated\n"
        "  unknown_model: route\n"
        "  on_pinned_violation: reject\n");
    assert_string_equal(cfg->listen_host, "::1");
    assert_int_equal(cfg->listen_port, 0);
    assert_int_equal(cfg->workers, 8);
    assert_int_equal(cfg->limits.max_body_bytes, 1024);
    assert_int_equal(cfg->limits.request_timeout_ms, 5);
    assert_int_equal(cfg->limits.shutdown_grace_ms, 7);
    const seam_backend_conf *a = &cfg->backends[0];
    assert_string_equal(a->name, "a.b_c-1");
    assert_string_equal(a->url, "https://x.example/v1");
    assert_int_equal(a->clearance, SEAM_SENS_INTERNAL);
    assert_true(a->context_window == UINT64_MAX);
    assert_string_equal(a->api_key_env, "MY_KEY_2");
    assert_int_equal(a->line, 5);
    assert_int_equal(cfg->backends[1].clearance, SEAM_SENS_PUBLIC);
    assert_int_equal(cfg->backends[1].line, 13);
    assert_int_equal(cfg->npools, 3);
    assert_int_equal(cfg->pools[2].backends[0], 1);
    assert_int_equal(cfg->pools[2].backends[1], 0);

    assert_int_equal(cfg->nrules, 3);
    const seam_rule_conf *r = &cfg->rules[0];
    assert_int_equal(r->line, 20);
    assert_int_equal(r->kinds, (1u << SEAM_KIND_SUMMARIZE) | (1u << SEAM_KIND_OTHER));
    assert_int_equal(r->sensitivities, 1u << SEAM_SENS_PUBLIC);
    assert_int_equal(r->complexities, 7);
    assert_true(r->has_tokens_gt);
    assert_int_equal(r->tokens_gt, 0);
    assert_true(r->has_tokens_lte);
    assert_int_equal(r->tokens_lte, 100);
    assert_int_equal(r->nmodels, 2);
    assert_string_equal(r->models[1], "gpt-5.1");
    assert_int_equal(r->has_images, 0);
    assert_int_equal(r->has_tools, 1);
    assert_int_equal(r->pool, 1);
    for (int i = 1; i < 3; i++) {
        r = &cfg->rules[i];
        assert_int_equal(r->kinds | r->sensitivities | r->complexities, 0);
        assert_false(r->has_tokens_gt || r->has_tokens_lte);
        assert_int_equal(r->nmodels, 0);
        assert_int_equal(r->has_images, -1);
        assert_int_equal(r->has_tools, -1);
    }
    assert_int_equal(cfg->rules[1].pool, 2);
    assert_int_equal(cfg->rules[2].pool, 0);
    assert_int_equal(cfg->default_pool, 2);
    assert_int_equal(cfg->default_sensitivity, SEAM_SENS_REGULATED);
    assert_int_equal(cfg->unknown_model, SEAM_UNKNOWN_MODEL_ROUTE);
    assert_int_equal(cfg->on_pinned_violation, SEAM_PINNED_REJECT);
    seam_config_free(cfg);
}

static void test_listen_forms(void **state)
{
    static const struct {
        const char *listen, *host;
        int port;
    } ok[] = {
        {"127.0.0.1:8080", "127.0.0.1", 8080},       {"0.0.0.0:0", "0.0.0.0", 0},
        {"localhost:65535", "localhost", 65535},     {"'[::1]:8080'", "::1", 8080},
        {"\"[fe80::1%eth0]:1\"", "fe80::1%eth0", 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char yaml[512];
        snprintf(yaml, sizeof yaml, "listen: %s\n" MIN, ok[i].listen);
        seam_config *cfg = parse_ok(yaml);
        assert_string_equal(cfg->listen_host, ok[i].host);
        assert_int_equal(cfg->listen_port, ok[i].port);
        seam_config_free(cfg);
    }
}

/* ---- errors --------------------------------------------------------------- */

/* Each case: the file, then what the message must start with (file, line and
 * key) and a fragment of the problem it must describe. */
static const struct error_case {
    const char *yaml, *where, *what;
} error_cases[] = {
    /* unknown keys */
    {"colour: red\n" MIN, "t.yaml:1: key 'colour': ", "unknown key"},
    {MIN_BACKEND "    colour: red\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].colour': ", "unknown key"},
    {MIN "policy:\n  rules:\n    - name: r\n      route: local\n      when: {kind: [chat], "
         "colour: x}\n",
     "t.yaml:13: key 'policy.rules[0].when.colour': ", "unknown key"},
    {MIN "limits: {max_body: 5}\n", "t.yaml:9: key 'limits.max_body': ", "unknown key"},
    {MIN "policy: {rule: []}\n", "t.yaml:9: key 'policy.rule': ", "unknown key"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, colour: 1}\n",
     "t.yaml:11: key 'policy.rules[0].colour': ", "unknown key"},
    /* duplicate keys */
    {"workers: 1\nworkers: 2\n" MIN,
     "t.yaml:2: key 'workers': ", "duplicate key (first given at line 1)"},
    {MIN_BACKEND "    url: http://other\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].url': ", "duplicate key (first given at line 4)"},
    {MIN "  local: [a]\n", "t.yaml:9: key 'pools.local': ", "duplicate pool"},
    /* integers */
    {"workers: abc\n" MIN, "t.yaml:1: key 'workers': ", "expected an integer, got 'abc'"},
    {"workers: 1.5\n" MIN, "t.yaml:1: key 'workers': ", "expected an integer, got '1.5'"},
    {"workers: 1e3\n" MIN, "t.yaml:1: key 'workers': ", "expected an integer"},
    {"workers: '2'\n" MIN, "t.yaml:1: key 'workers': ", "expected an integer, got '2'"},
    {"workers: 0x10\n" MIN, "t.yaml:1: key 'workers': ", "expected an integer"},
    {"workers: -1\n" MIN, "t.yaml:1: key 'workers': ", "must not be negative, got '-1'"},
    {"workers: 0\n" MIN, "t.yaml:1: key 'workers': ", "must be at least 1, got '0'"},
    {"workers: 2147483648\n" MIN, "t.yaml:1: key 'workers': ", "must be at most 2147483647"},
    {"workers: 18446744073709551616\n" MIN, "t.yaml:1: key 'workers': ", "out of range"},
    {"workers: [1]\n" MIN, "t.yaml:1: key 'workers': ", "expected an integer, got a list"},
    {"workers:\n" MIN, "t.yaml:1: key 'workers': ", "expected an integer, got null"},
    {MIN "limits:\n  request_timeout_ms: 0\n",
     "t.yaml:10: key 'limits.request_timeout_ms': ", "must be at least 1"},
    {MIN "limits: 5\n", "t.yaml:9: key 'limits': ", "expected a mapping, got '5'"},
    {MIN_BACKEND "    context_window: -262144\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].context_window': ", "must not be negative"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {tokens_gt: -5}}\n",
     "t.yaml:11: key 'policy.rules[0].when.tokens_gt': ", "must not be negative, got '-5'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {tokens_lte: 2.5}}\n",
     "t.yaml:11: key 'policy.rules[0].when.tokens_lte': ", "expected an integer, got '2.5'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {tokens_gt: 9, tokens_lte: "
         "9}}\n",
     "t.yaml:11: key 'policy.rules[0].when.tokens_lte': ", "never matches"},
    /* strings */
    {"backends:\n  - name: a\n    provider: openai\n    url: [http://h]\n    location: local\n"
     "    models: [m]\n" MIN_POOLS,
     "t.yaml:4: key 'backends[0].url': ", "expected a string, got a list"},
    {MIN_BACKEND "    api_key_env: {a: 1}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].api_key_env': ", "expected a string, got a mapping"},
    {"listen: {host: x}\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port, got a mapping"},
    {"backends:\n  - name: a b\n    provider: openai\n    url: http://h\n    location: local\n"
     "    models: [m]\n" MIN_POOLS,
     "t.yaml:2: key 'backends[0].name': ", "expected a name made of"},
    {MIN "policy:\n  rules:\n    - {name: 'r:1', route: local}\n",
     "t.yaml:11: key 'policy.rules[0].name': ", "expected a name made of"},
    {MIN "  'lo cal': [a]\n", "t.yaml:9: key 'pools.lo cal': ", "pool names are made of"},
    {MIN_BACKEND "    api_key_env: $OPENAI_API_KEY\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].api_key_env': ", "name of an environment variable"},
    /* booleans */
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {has_images: yes}}\n",
     "t.yaml:11: key 'policy.rules[0].when.has_images': ", "expected true or false, got 'yes'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {has_tools: 'true'}}\n",
     "t.yaml:11: key 'policy.rules[0].when.has_tools': ", "expected true or false"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {has_tools: 1}}\n",
     "t.yaml:11: key 'policy.rules[0].when.has_tools': ", "expected true or false, got '1'"},
    /* lists */
    {"backends:\n  - name: a\n    provider: openai\n    url: http://h\n    location: local\n"
     "    models: m\n" MIN_POOLS,
     "t.yaml:6: key 'backends[0].models': ", "expected a list, got 'm'"},
    {"backends:\n  - name: a\n    provider: openai\n    url: http://h\n    location: local\n"
     "    models: []\n" MIN_POOLS,
     "t.yaml:6: key 'backends[0].models': ", "expected a non-empty list"},
    {"backends:\n  - name: a\n    provider: openai\n    url: http://h\n    location: local\n"
     "    models: [m, '']\n" MIN_POOLS,
     "t.yaml:6: key 'backends[0].models[1]': ", "must not be empty"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {kind: draft}}\n",
     "t.yaml:11: key 'policy.rules[0].when.kind': ", "expected a list, got 'draft'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {model: gpt}}\n",
     "t.yaml:11: key 'policy.rules[0].when.model': ", "expected a list"},
    {MIN "policy:\n  rules: {name: r}\n",
     "t.yaml:10: key 'policy.rules': ", "expected a list, got a mapping"},
    {MIN_BACKEND "pools:\n  local: a\n",
     "t.yaml:8: key 'pools.local': ", "expected a list, got 'a'"},
    {MIN_BACKEND "pools:\n  local: []\n",
     "t.yaml:8: key 'pools.local': ", "expected a non-empty list"},
    /* enumerations */
    {"backends:\n  - name: a\n    provider: openai\n    url: http://h\n    location: clod\n"
     "    models: [m]\n" MIN_POOLS,
     "t.yaml:5: key 'backends[0].location': ", "expected one of local, cloud, got 'clod'"},
    {"backends:\n  - name: a\n    provider: bedrock\n    url: http://h\n    location: local\n"
     "    models: [m]\n" MIN_POOLS,
     "t.yaml:3: key 'backends[0].provider': ",
     "expected one of openai, anthropic, ollama, gemini, got 'bedrock'"},
    {MIN_BACKEND "    max_tokens_default: 0\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].max_tokens_default': ", "must be at least 1, got '0'"},
    {MIN_BACKEND "    max_tokens_default: lots\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].max_tokens_default': ", "expected an integer, got 'lots'"},
    {MIN_BACKEND "    max_tokens_default: 2147483648\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].max_tokens_default': ", "must be at most 2147483647"},
    {MIN_BACKEND "    clearance: secret\n" MIN_POOLS, "t.yaml:7: key 'backends[0].clearance': ",
     "expected one of public, internal, regulated, got 'secret'"},
    {MIN "policy:\n  rules:\n    - name: r\n      route: local\n      when:\n"
         "        sensitivity: [internal,\n          secret]\n",
     "t.yaml:15: key 'policy.rules[0].when.sensitivity[1]': ",
     "expected one of public, internal, regulated, got 'secret'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {kind: [chat, poem]}}\n",
     "t.yaml:11: key 'policy.rules[0].when.kind[1]': ",
     "expected one of summarize, classify, draft, code, chat, embed, other, got 'poem'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: {complexity: [huge]}}\n",
     "t.yaml:11: key 'policy.rules[0].when.complexity[0]': ",
     "expected one of low, medium, high, got 'huge'"},
    {MIN "policy: {default_sensitivity: secret}\n",
     "t.yaml:9: key 'policy.default_sensitivity': ", "expected one of public, internal, regulated"},
    {MIN "policy: {unknown_model: allow}\n",
     "t.yaml:9: key 'policy.unknown_model': ", "expected one of reject, route, got 'allow'"},
    {MIN "policy: {on_pinned_violation: ignore}\n", "t.yaml:9: key 'policy.on_pinned_violation': ",
     "expected one of reroute, reject, got 'ignore'"},
    /* references and uniqueness */
    {MIN_BACKEND "  - name: a\n    provider: openai\n    url: http://x\n    location: cloud\n"
                 "    models: [m]\n" MIN_POOLS,
     "t.yaml:7: key 'backends[1].name': ", "duplicate backend name 'a' (first at line 2)"},
    {MIN_BACKEND "pools:\n  local: [a, zzz]\n",
     "t.yaml:8: key 'pools.local[1]': ", "no backend named 'zzz'"},
    {MIN_BACKEND "pools:\n  local: [a, a]\n", "t.yaml:8: key 'pools.local[1]': ", "listed twice"},
    {MIN "policy:\n  rules:\n    - {name: r, route: nowhere}\n",
     "t.yaml:11: key 'policy.rules[0].route': ", "no pool named 'nowhere'"},
    {MIN "policy:\n  default: cloud\n",
     "t.yaml:10: key 'policy.default': ", "no pool named 'cloud'"},
    {MIN_BACKEND "pools:\n  cloud: [a]\n",
     "t.yaml:7: key 'policy.default': ", "no pool named 'local'"},
    {MIN_BACKEND "pools:\n  cloud: [a]\npolicy:\n  unknown_model: route\n",
     "t.yaml:9: key 'policy.default': ", "no pool named 'local'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local}\n    - {name: r, route: local}\n",
     "t.yaml:12: key 'policy.rules[1].name': ", "duplicate rule name 'r' (first at line 11)"},
    /* required keys */
    {"backends:\n  - name: a\n    provider: openai\n    location: local\n    models: [m]\n"
     "pools:\n  local: [a]\n",
     "t.yaml:2: key 'backends[0].url': ", "required key is missing"},
    {"backends:\n  - {name: a, provider: openai, url: http://h, location: local}\n" MIN_POOLS,
     "t.yaml:2: key 'backends[0].models': ", "required key is missing"},
    {"workers: 1\n" MIN_POOLS, "t.yaml:1: key 'backends': ", "required key is missing"},
    {"workers: 1\n" MIN_BACKEND, "t.yaml:1: key 'pools': ", "required key is missing"},
    {MIN "policy:\n  rules:\n    - name: r\n      when: {kind: [chat]}\n",
     "t.yaml:11: key 'policy.rules[0].route': ", "required key is missing"},
    {MIN "policy:\n  rules:\n    - route: local\n",
     "t.yaml:11: key 'policy.rules[0].name': ", "required key is missing"},
    /* listen */
    {"listen: localhost\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: 8080\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: ':8080'\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: 'h:'\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: h:http\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: h:65536\n" MIN, "t.yaml:1: key 'listen': ", "port must be at most 65535"},
    {"listen: h:-1\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: ::1:8080\n" MIN, "t.yaml:1: key 'listen': ", "IPv6 addresses need brackets"},
    {"listen: '[]:80'\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: 'a b:80'\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: '[fe80::1%]:80'\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    {"listen: '[1.2.3.4]:80'\n" MIN, "t.yaml:1: key 'listen': ", "expected host:port"},
    /* backends and pools as a whole */
    {"backends: []\n" MIN_POOLS, "t.yaml:1: key 'backends': ", "expected a non-empty list"},
    {"backends:\n" MIN_POOLS, "t.yaml:1: key 'backends': ", "expected a list, got null"},
    {"backends: {a: 1}\n" MIN_POOLS,
     "t.yaml:1: key 'backends': ", "expected a list, got a mapping"},
    {"backends:\n  - just-a-name\n" MIN_POOLS,
     "t.yaml:2: key 'backends[0]': ", "expected a mapping, got 'just-a-name'"},
    {MIN_BACKEND "pools: {}\n", "t.yaml:7: key 'pools': ", "at least one pool"},
    {MIN_BACKEND "pools: [a]\n", "t.yaml:7: key 'pools': ", "expected a mapping"},
    /* URLs */
    {"backends:\n  - name: a\n    provider: openai\n    url: ftp://h\n    location: local\n"
     "    models: [m]\n" MIN_POOLS,
     "t.yaml:4: key 'backends[0].url': ", "must start with http:// or https://"},
    {"backends:\n  - name: a\n    provider: openai\n    url: https:///\n    location: local\n"
     "    models: [m]\n" MIN_POOLS,
     "t.yaml:4: key 'backends[0].url': ", "has no host"},
    {"backends:\n  - name: a\n    provider: openai\n    url: 'http://h x'\n    location: local\n"
     "    models: [m]\n" MIN_POOLS,
     "t.yaml:4: key 'backends[0].url': ", "spaces"},
    /* policy shape */
    {MIN "policy:\n", "t.yaml:9: key 'policy': ", "expected a mapping, got null"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, when: [kind]}\n",
     "t.yaml:11: key 'policy.rules[0].when': ", "expected a mapping, got a list"},
    /* capabilities */
    {MIN_BACKEND "    capabilities: [vision, smell]\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].capabilities[1]': ",
     "expected one of vision, tools, thinking, embeddings, got 'smell'"},
    {MIN_BACKEND "    capabilities: vision\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].capabilities': ", "expected a list, got 'vision'"},
    {MIN_BACKEND "    capabilities:\n      - tools\n      - {vision: true}\n" MIN_POOLS,
     "t.yaml:9: key 'backends[0].capabilities[1]': ",
     "expected one of vision, tools, thinking, embeddings, got a mapping"},
    {MIN_BACKEND "    capabilities: [tools]\n    capabilities: [vision]\n" MIN_POOLS,
     "t.yaml:8: key 'backends[0].capabilities': ", "duplicate key (first given at line 7)"},
    /* a rule's set */
    {MIN "policy:\n  rules:\n    - {name: r, route: local, set: {reasoning: maybe}}\n",
     "t.yaml:11: key 'policy.rules[0].set.reasoning': ",
     "expected one of off, low, medium, high, got 'maybe'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, set: {reasoning: xhigh}}\n",
     "t.yaml:11: key 'policy.rules[0].set.reasoning': ", "expected one of off, low, medium, high"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, set: {max_tokens_cap: 0}}\n",
     "t.yaml:11: key 'policy.rules[0].set.max_tokens_cap': ", "must be at least 1, got '0'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, set: {max_tokens_cap: -5}}\n",
     "t.yaml:11: key 'policy.rules[0].set.max_tokens_cap': ", "must not be negative"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, set: {max_tokens_cap: 2147483648}}\n",
     "t.yaml:11: key 'policy.rules[0].set.max_tokens_cap': ", "must be at most 2147483647"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, set: {reasoning: off, force: yes}}\n",
     "t.yaml:11: key 'policy.rules[0].set.force': ", "expected true or false, got 'yes'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, set: {colour: red}}\n",
     "t.yaml:11: key 'policy.rules[0].set.colour': ", "unknown key"},
    {MIN "policy:\n  rules:\n    - name: r\n      route: local\n      set: {}\n",
     "t.yaml:13: key 'policy.rules[0].set': ", "sets nothing"},
    {MIN "policy:\n  rules:\n    - name: r\n      route: local\n      set:\n",
     "t.yaml:13: key 'policy.rules[0].set': ", "expected a mapping, got null"},
    {MIN "policy:\n  rules:\n    - name: r\n      route: local\n      set:\n"
         "        max_tokens_cap: 10\n        force: true\n",
     "t.yaml:15: key 'policy.rules[0].set.force': ", "force applies to reasoning"},
    /* YAML itself */
    {"workers: 1\nbackends: [\n", "t.yaml:3: ", "YAML syntax error"},
    {"workers: 1\n  bad: indent\n", "t.yaml:1: ", "YAML syntax error"},
    {"", "t.yaml:1: ", "the configuration is empty"},
    {"# nothing but a comment\n", "t.yaml:1: ", "the configuration is empty"},
    {"- a\n- b\n", "t.yaml:1: ", "expected a mapping, got a list"},
    {"just text\n", "t.yaml:1: ", "expected a mapping, got 'just text'"},
    {MIN "---\nworkers: 2\n", "t.yaml:10: ", "second YAML document"},
    {"workers: &w 2\nlisten: *w\n" MIN, "t.yaml:2: key 'listen': ", "aliases are not supported"},
    {"? [a]\n: b\n" MIN, "t.yaml:1: ", "keys must be plain names"},
};

static void test_errors(void **state)
{
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        const struct error_case *tc = &error_cases[i];
        seam_config *cfg = (seam_config *)1;
        char err[512] = "";
        seam_rc rc = parse(tc->yaml, &cfg, err, sizeof err);
        if (rc != SEAM_ERR_CONFIG)
            fail_msg("case %zu: rc %d, err '%s'\n--- yaml:\n%s", i, rc, err, tc->yaml);
        assert_null(cfg);
        if (strncmp(err, tc->where, strlen(tc->where)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, err, tc->where);
        if (!strstr(err, tc->what))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, tc->what);
    }
}

/* An API key pasted where its variable's name belongs must not be echoed
 * into the error (which ends up in logs). */
static void test_error_hides_secret(void **state)
{
    seam_config *cfg = NULL;
    char err[512];
    seam_rc rc = parse(MIN_BACKEND "    api_key_env: sk-proj-abcdef123456\n" MIN_POOLS, &cfg, err,
                       sizeof err);
    assert_int_equal(rc, SEAM_ERR_CONFIG);
    assert_contains(err, "t.yaml:7: key 'backends[0].api_key_env'");
    assert_null(strstr(err, "abcdef"));
}

static void test_nul_byte(void **state)
{
    static const char yaml[] = "workers: 1\nlisten: a\0b:1\n";
    seam_config *cfg = NULL;
    char err[256];
    assert_int_equal(seam_config_parse(yaml, sizeof yaml - 1, "t.yaml", &cfg, err, sizeof err),
                     SEAM_ERR_CONFIG);
    assert_null(cfg);
    assert_contains(err, "t.yaml:2: ");
    assert_contains(err, "NUL");
}

static void test_utf8(void **state)
{
    static const char *bad[] = {
        "%\xff\n",                     /* hangs libfyaml 0.7.12 (pantoniou/libfyaml#101) */
        "%\"\xa6",                     /* the reproducer from that issue */
        "a: 1\nb: \xc3\n",             /* truncated sequence */
        "a: 1\nb: \xc0\xaf\n",         /* overlong '/' */
        "a: 1\nb: \xed\xa0\x80\n",     /* surrogate */
        "a: 1\nb: \xf4\x90\x80\x80\n", /* above U+10FFFF */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seam_config *cfg = NULL;
        char err[256];
        assert_int_equal(parse(bad[i], &cfg, err, sizeof err), SEAM_ERR_CONFIG);
        assert_null(cfg);
        assert_contains(err, i < 2 ? "t.yaml:1: " : "t.yaml:2: ");
        assert_contains(err, "not valid UTF-8");
    }
    /* Valid multi-byte text passes through untouched. */
    seam_config *cfg = parse_ok("backends:\n  - {name: a, provider: openai, url: http://h,"
                                " location: local, models: [\"mod\xc3\xa8le-\xf0\x9f\x98\x80\"]}\n"
                                "pools: {local: [a]}\n");
    assert_string_equal(cfg->backends[0].models[0], "mod\xc3\xa8le-\xf0\x9f\x98\x80");
    seam_config_free(cfg);
}

/* A key path longer than the path buffer is cut visibly, not silently. */
static void test_long_key_path(void **state)
{
    char yaml[1024], key[301];
    memset(key, 'k', 300);
    key[300] = '\0';
    snprintf(yaml, sizeof yaml, MIN "limits: {%s: 1}\n", key);
    seam_config *cfg = NULL;
    char err[1024];
    assert_int_equal(parse(yaml, &cfg, err, sizeof err), SEAM_ERR_CONFIG);
    assert_contains(err, "t.yaml:9: key 'limits.kkkk");
    assert_contains(err, "kkk...': unknown key");
}

static void test_small_error_buffer(void **state)
{
    seam_config *cfg = NULL;
    char err[8];
    assert_int_equal(parse("workers: x\n" MIN, &cfg, err, sizeof err), SEAM_ERR_CONFIG);
    assert_int_equal(strlen(err), sizeof err - 1);
    assert_int_equal(parse("workers: x\n" MIN, &cfg, NULL, 0), SEAM_ERR_CONFIG);
}

static void test_load_errors(void **state)
{
    seam_config *cfg = (seam_config *)1;
    char err[512];
    assert_int_equal(seam_config_load("tests/unit/no-such-config.yaml", &cfg, err, sizeof err),
                     SEAM_ERR_IO);
    assert_null(cfg);
    assert_contains(err, "tests/unit/no-such-config.yaml");

    /* A directory opens but cannot be read. */
    assert_int_equal(seam_config_load("tests", &cfg, err, sizeof err), SEAM_ERR_IO);
    assert_null(cfg);
}

/* ---- printing ------------------------------------------------------------- */

static void test_print(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    setenv("SEAM_TEST_CONFIG_KEY", "sk-do-not-print-me", 1);
    seam_config *cfg =
        parse_ok("listen: '[::1]:9000'\n" MIN_BACKEND "    api_key_env: SEAM_TEST_CONFIG_KEY\n"
                 "  - {name: b, provider: openai, url: https://b, location: cloud, models: [m],"
                 " api_key_env: SEAM_TEST_UNSET_KEY}\n"
                 "pools: {local: [a], cloud: [b, a]}\n"
                 "policy:\n"
                 "  rules:\n"
                 "    - {name: r1, when: {kind: [code, chat], tokens_lte: 10, has_tools: true,"
                 " model: [m]}, route: cloud}\n"
                 "    - {name: r2, route: local}\n");
    seam_config_print(cfg, out);
    fclose(out);
    unsetenv("SEAM_TEST_CONFIG_KEY");

    assert_contains(text, "[::1]:9000");
    assert_contains(text, "one per core");
    assert_contains(text, "shutdown_grace_ms 30000");
    assert_contains(text, "http://h:1");
    assert_contains(text, "regulated");
    assert_contains(text, "SEAM_TEST_CONFIG_KEY (set)");
    assert_contains(text, "SEAM_TEST_UNSET_KEY (not set)");
    assert_null(strstr(text, "do-not-print"));
    assert_contains(text, "cloud: b, a");
    assert_contains(text, "1. r1");
    assert_contains(text, "kind in [code, chat]");
    assert_contains(text, "tokens <= 10");
    assert_contains(text, "has_tools = true");
    assert_contains(text, "model in [m]");
    assert_contains(text, "-> pool cloud");
    assert_contains(text, "2. r2 (line 14): always -> pool local");
    assert_contains(text, "default              local");
    assert_contains(text, "unknown_model        reject");
    assert_contains(text, "on_pinned_violation  reroute");
    free(text);
    seam_config_free(cfg);
}

/* Every provider kind parses; max_tokens_default defaults to 4096 and is
 * printed for Anthropic backends, the ones that use it. */
static void test_providers(void **state)
{
    seam_config *cfg = parse_ok(
        "backends:\n"
        "  - {name: o, provider: openai, url: http://o, location: local, models: [m]}\n"
        "  - {name: a, provider: anthropic, url: https://api.anthropic.com, location: cloud,"
        " models: [claude], max_tokens_default: 8192}\n"
        "  - {name: l, provider: ollama, url: http://127.0.0.1:11434, location: local,"
        " models: [gemma4:31b]}\n"
        "  - {name: g, provider: gemini, url: https://generativelanguage.googleapis.com,"
        " location: cloud, models: [gemini-2.5-flash]}\n"
        "pools: {local: [o, l], cloud: [a, g]}\n");
    assert_int_equal(cfg->nbackends, 4);
    assert_int_equal(cfg->backends[0].provider, SEAM_PROVIDER_OPENAI);
    assert_int_equal(cfg->backends[1].provider, SEAM_PROVIDER_ANTHROPIC);
    assert_int_equal(cfg->backends[2].provider, SEAM_PROVIDER_OLLAMA);
    assert_int_equal(cfg->backends[3].provider, SEAM_PROVIDER_GEMINI);
    assert_int_equal(cfg->backends[0].max_tokens_default, 4096);
    assert_int_equal(cfg->backends[1].max_tokens_default, 8192);
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    seam_config_print(cfg, out);
    fclose(out);
    assert_contains(text, "provider        anthropic");
    assert_contains(text, "provider        ollama");
    assert_contains(text, "provider        gemini");
    assert_contains(text, "max_tokens_default 8192");
    /* Only the Anthropic backend prints it. */
    assert_null(strstr(strstr(text, "max_tokens_default") + 1, "max_tokens_default"));
    free(text);
    seam_config_free(cfg);
}

/* ---- capabilities and a rule's set ---------------------------------------- */

static void test_capabilities(void **state)
{
    seam_config *cfg = parse_ok(
        "backends:\n"
        "  - {name: none, provider: openai, url: http://a, location: local, models: [m],"
        " capabilities: []}\n"
        "  - {name: some, provider: ollama, url: http://b, location: local, models: [m],"
        " capabilities: [vision, tools, vision]}\n"
        "  - {name: every, provider: openai, url: http://c, location: local, models: [m],"
        " capabilities: [embeddings, thinking, tools, vision]}\n"
        "  - {name: unsaid, provider: openai, url: http://d, location: local, models: [m]}\n"
        "pools: {local: [none, some, every, unsaid]}\n");
    assert_int_equal(cfg->backends[0].capabilities, 0);
    assert_true(cfg->backends[0].capabilities_given);
    assert_int_equal(cfg->backends[1].capabilities, SEAM_CAP_VISION | SEAM_CAP_TOOLS);
    assert_int_equal(cfg->backends[2].capabilities, SEAM_CAP_ALL);
    assert_true(cfg->backends[2].capabilities_given);
    /* Not declared: nothing is assumed missing. */
    assert_int_equal(cfg->backends[3].capabilities, SEAM_CAP_ALL);
    assert_false(cfg->backends[3].capabilities_given);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    seam_config_print(cfg, out);
    fclose(out);
    assert_contains(text, "capabilities    none (text only)\n");
    assert_contains(text, "capabilities    vision, tools\n");
    assert_contains(text, "capabilities    vision, tools, thinking, embeddings\n");
    assert_contains(text, "vision, tools, thinking, embeddings (not declared");
    free(text);
    seam_config_free(cfg);

    assert_string_equal(seam_capability_name(SEAM_CAP_VISION), "vision");
    assert_string_equal(seam_capability_name(SEAM_CAP_TOOLS), "tools");
    assert_string_equal(seam_capability_name(SEAM_CAP_THINKING), "thinking");
    assert_string_equal(seam_capability_name(SEAM_CAP_EMBEDDINGS), "embeddings");
    assert_string_equal(seam_capability_name(SEAM_CAP_ALL), "?");
    assert_string_equal(seam_capability_name(0), "?");
}

static void test_rule_set(void **state)
{
    seam_config *cfg = parse_ok(MIN "policy:\n"
                                    "  rules:\n"
                                    "    - name: quick\n"
                                    "      when: {kind: [classify]}\n"
                                    "      route: local\n"
                                    "      set: {reasoning: off, max_tokens_cap: 512}\n"
                                    "    - name: deep\n"
                                    "      route: local\n"
                                    "      set:\n"
                                    "        reasoning: high\n"
                                    "        force: true\n"
                                    "    - {name: capped, route: local, set: {max_tokens_cap: 7}}\n"
                                    "    - {name: low, route: local, set: {reasoning: low, force: "
                                    "false}}\n"
                                    "    - {name: medium, route: local, set: {reasoning: medium}}\n"
                                    "    - {name: plain, route: local}\n");
    const seam_rule_conf *r = cfg->rules;
    assert_int_equal(cfg->nrules, 6);
    assert_int_equal(r[0].set.reasoning, SEAM_REASONING_OFF);
    assert_int_equal(r[0].set.max_tokens_cap, 512);
    assert_false(r[0].set.force);
    assert_int_equal(r[1].set.reasoning, SEAM_REASONING_HIGH);
    assert_true(r[1].set.force);
    assert_int_equal(r[1].set.max_tokens_cap, 0);
    assert_int_equal(r[2].set.reasoning, SEAM_REASONING_UNSET);
    assert_int_equal(r[2].set.max_tokens_cap, 7);
    assert_int_equal(r[3].set.reasoning, SEAM_REASONING_LOW);
    assert_false(r[3].set.force);
    assert_int_equal(r[4].set.reasoning, SEAM_REASONING_MEDIUM);
    assert_int_equal(r[5].set.reasoning, SEAM_REASONING_UNSET);
    assert_int_equal(r[5].set.max_tokens_cap, 0);
    assert_false(r[5].set.force);

    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    seam_config_print(cfg, out);
    fclose(out);
    assert_contains(text, "-> pool local, set reasoning=off (unless the client chose) "
                          "max_tokens<=512\n");
    assert_contains(text, "2. deep (line 15): always -> pool local, set reasoning=high (forced)\n");
    assert_contains(text, "3. capped (line 20): always -> pool local, set max_tokens<=7\n");
    assert_contains(text, "6. plain (line 23): always -> pool local\n");
    free(text);
    seam_config_free(cfg);
}

/* ---- accountability (issue 6): auth, budgets, prices, state, report ----- */

/* sha256("test"), the "9f86d0..." */
#define TEST_SHA "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

static void test_accounting_defaults(void **state)
{
    seam_config *cfg = parse_ok(MIN);
    assert_null(cfg->auth.admin_key_env);
    assert_false(cfg->auth.metrics_need_admin);
    assert_int_equal(cfg->auth.nkeys, 0);
    assert_null(cfg->auth.keys);
    assert_int_equal(cfg->nbudgets, 0);
    assert_null(cfg->budgets);
    assert_string_equal(cfg->state.sqlite, "./seam.db");
    assert_string_equal(cfg->state.redis, "");
    assert_int_equal(cfg->state.batch_ms, 200);
    assert_true(cfg->state.rate_limit_fail_open);
    assert_false(cfg->state.budget_fail_open);
    assert_false(cfg->report.has_reference);
    assert_false(cfg->backends[0].price.set);
    assert_false(cfg->backends[0].hardware.set);
    seam_config_free(cfg);

    /* Empty sections keep the defaults too. */
    cfg = parse_ok(MIN "auth: {keys: []}\nbudgets: []\nstate: {}\nreport: {}\n");
    assert_int_equal(cfg->auth.nkeys, 0);
    assert_int_equal(cfg->nbudgets, 0);
    assert_string_equal(cfg->state.sqlite, "./seam.db");
    assert_int_equal(cfg->state.batch_ms, 200);
    assert_false(cfg->report.has_reference);
    seam_config_free(cfg);
}

/* The example configuration. */
static void test_accounting_everything_set(void **state)
{
    setenv("SEAM_TEST_BILLING_APP_KEY", "billing-secret", 1);
    seam_config *cfg = parse_ok(
        "auth:\n"
        "  admin_key_env: SEAM_ADMIN_KEY\n"
        "  protect_metrics: true\n"
        "  keys:\n"
        "    - { name: billing-app, key_env: SEAM_TEST_BILLING_APP_KEY, tenant: finance, rpm: 600,"
        " tpm: 2000000 }\n"
        "    - { name: notebook, key_sha256: \"" TEST_SHA "\", tenant: research,"
        " max_sensitivity_to_cloud: internal }\n"
        "    - { name: ci, key_sha256: \""
        "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A09"
        "\" }\n"
        "budgets:\n"
        "  - { tenant: research, usd_per_day: 20, usd_per_month: 300, on_exhausted: local }\n"
        "  - { tenant: finance, usd_per_month: 1.5e3, on_exhausted: reject }\n"
        "  - { tenant: ci, usd_per_day: 0 }\n"
        "backends:\n"
        "  - name: frontier\n"
        "    provider: openai\n"
        "    url: https://api.openai.com\n"
        "    location: cloud\n"
        "    models: [gpt-5.1]\n"
        "    price: { input_per_mtok: 1.25, output_per_mtok: 10.0, cached_input_per_mtok: 0.125 }\n"
        "  - name: gemma-local\n"
        "    provider: openai\n"
        "    url: http://127.0.0.1:11434\n"
        "    location: local\n"
        "    models: [gemma4:31b]\n"
        "    hardware: { capex_usd: 6000, amortize_months: 36, watts: 350, usd_per_kwh: 0.15 }\n"
        "  - {name: cheap, provider: openai, url: https://c, location: cloud, models: [m],"
        " price: {input_per_mtok: 0, output_per_mtok: .5}}\n"
        "pools: {local: [gemma-local], cloud: [frontier, cheap]}\n"
        "state:\n"
        "  sqlite: ./seam.db\n"
        "  redis: \"redis://127.0.0.1:6379\"\n"
        "  batch_ms: 50\n"
        "  rate_limit_fail_open: false\n"
        "  budget_fail_open: true\n"
        "audit:\n"
        "  dir: ./audit\n"
        "  max_bytes: 67108864\n"
        "report:\n"
        "  reference_backend: frontier\n");
    unsetenv("SEAM_TEST_BILLING_APP_KEY");

    assert_string_equal(cfg->auth.admin_key_env, "SEAM_ADMIN_KEY");
    assert_true(cfg->auth.metrics_need_admin);
    assert_int_equal(cfg->auth.nkeys, 3);
    const seam_key_conf *k = &cfg->auth.keys[0];
    unsigned char h[32];
    static const unsigned char test_sha[32] = {0x9f, 0x86, 0xd0, 0x81, 0x88, 0x4c, 0x7d, 0x65,
                                               0x9a, 0x2f, 0xea, 0xa0, 0xc5, 0x5a, 0xd0, 0x15,
                                               0xa3, 0xbf, 0x4f, 0x1b, 0x2b, 0x0b, 0x82, 0x2c,
                                               0xd1, 0x5d, 0x6c, 0x15, 0xb0, 0xf0, 0x0a, 0x08};
    assert_string_equal(k->name, "billing-app");
    assert_string_equal(k->key_env, "SEAM_TEST_BILLING_APP_KEY");
    assert_true(k->key_present);
    SHA256((const unsigned char *)"billing-secret", 14, h);
    assert_memory_equal(k->sha256, h, 32);
    assert_string_equal(k->tenant, "finance");
    assert_false(k->has_max_sensitivity);
    assert_int_equal(k->rpm, 600);
    assert_int_equal(k->tpm, 2000000);
    assert_int_equal(k->line, 5);
    k = &cfg->auth.keys[1];
    assert_null(k->key_env);
    assert_true(k->key_present);
    assert_memory_equal(k->sha256, test_sha, 32);
    assert_string_equal(k->tenant, "research");
    assert_true(k->has_max_sensitivity);
    assert_int_equal(k->max_sensitivity_to_cloud, SEAM_SENS_INTERNAL);
    assert_int_equal(k->rpm, 0);
    assert_int_equal(k->tpm, 0);
    k = &cfg->auth.keys[2];
    assert_string_equal(k->tenant, "ci");  /* defaults to the name */
    assert_int_equal(k->sha256[31], 0x09); /* upper-case hex */

    assert_int_equal(cfg->nbudgets, 3);
    const seam_budget_conf *b = &cfg->budgets[0];
    assert_string_equal(b->tenant, "research");
    assert_true(b->usd_per_day == 20);
    assert_true(b->usd_per_month == 300);
    assert_int_equal(b->on_exhausted, SEAM_BUDGET_LOCAL);
    assert_int_equal(b->line, 9);
    b = &cfg->budgets[1];
    assert_true(b->usd_per_day < 0);
    assert_true(b->usd_per_month == 1500);
    assert_int_equal(b->on_exhausted, SEAM_BUDGET_REJECT);
    b = &cfg->budgets[2];
    assert_true(b->usd_per_day == 0);
    assert_true(b->usd_per_month < 0);
    assert_int_equal(b->on_exhausted, SEAM_BUDGET_LOCAL); /* default */

    const seam_backend_conf *f = seam_config_backend(cfg, "frontier");
    assert_true(f->price.set);
    assert_true(f->price.input_per_mtok == 1.25);
    assert_true(f->price.output_per_mtok == 10.0);
    assert_true(f->price.has_cached);
    assert_true(f->price.cached_input_per_mtok == 0.125);
    assert_false(f->hardware.set);
    const seam_backend_conf *g = seam_config_backend(cfg, "gemma-local");
    assert_false(g->price.set);
    assert_true(g->hardware.set);
    assert_true(g->hardware.capex_usd == 6000);
    assert_true(g->hardware.amortize_months == 36);
    assert_true(g->hardware.watts == 350);
    assert_true(g->hardware.usd_per_kwh == 0.15);
    const seam_backend_conf *c = seam_config_backend(cfg, "cheap");
    assert_true(c->price.set);
    assert_false(c->price.has_cached);
    assert_true(c->price.input_per_mtok == 0);
    assert_true(c->price.output_per_mtok == 0.5);

    assert_string_equal(cfg->state.sqlite, "./seam.db");
    assert_string_equal(cfg->state.redis, "redis://127.0.0.1:6379");
    assert_int_equal(cfg->state.batch_ms, 50);
    assert_false(cfg->state.rate_limit_fail_open);
    assert_true(cfg->state.budget_fail_open);
    assert_true(cfg->report.has_reference);
    assert_int_equal(cfg->report.reference_backend, f->index);
    seam_config_free(cfg);

    /* sqlite: "" switches the ledger off; redis: "" is one process. */
    cfg = parse_ok(MIN "state: {sqlite: \"\", redis: \"\", batch_ms: 10000}\n");
    assert_string_equal(cfg->state.sqlite, "");
    assert_string_equal(cfg->state.redis, "");
    assert_int_equal(cfg->state.batch_ms, 10000);
    seam_config_free(cfg);
}

/* Two key_env variables holding the same key would make the tenant
 * ambiguous; an unset one is not an error and matches nothing. */
static void test_accounting_key_env(void **state)
{
    seam_config *cfg = NULL;
    char err[512];
    setenv("SEAM_TEST_K1", "same-secret", 1);
    setenv("SEAM_TEST_K2", "same-secret", 1);
    unsetenv("SEAM_TEST_K3");
    assert_int_equal(parse(MIN "auth:\n  keys:\n    - {name: a, key_env: SEAM_TEST_K1}\n"
                               "    - {name: b, key_env: SEAM_TEST_K2}\n",
                           &cfg, err, sizeof err),
                     SEAM_ERR_CONFIG);
    assert_contains(err, "t.yaml:12: key 'auth.keys[1]': the same key as 'a' (line 11)");
    assert_null(strstr(err, "same-secret"));
    /* An env key equal to a key_sha256 one. */
    setenv("SEAM_TEST_K1", "test", 1);
    assert_int_equal(parse(MIN "auth:\n  keys:\n    - {name: a, key_sha256: " TEST_SHA "}\n"
                               "    - {name: b, key_env: SEAM_TEST_K1}\n",
                           &cfg, err, sizeof err),
                     SEAM_ERR_CONFIG);
    assert_contains(err, "the same key as 'a'");
    /* Unset variables: not an error, even two of them. */
    cfg = parse_ok(MIN "auth:\n  keys:\n    - {name: a, key_env: SEAM_TEST_K3}\n"
                       "    - {name: b, key_env: SEAM_TEST_K3}\n");
    assert_false(cfg->auth.keys[0].key_present);
    assert_false(cfg->auth.keys[1].key_present);
    seam_config_free(cfg);
    unsetenv("SEAM_TEST_K1");
    unsetenv("SEAM_TEST_K2");
}

static const struct error_case accounting_error_cases[] = {
    /* auth */
    {MIN "auth: []\n", "t.yaml:9: key 'auth': ", "expected a mapping"},
    {MIN "auth: {colour: red}\n", "t.yaml:9: key 'auth.colour': ", "unknown key"},
    {MIN "auth: {protect_metrics: true}\n",
     "t.yaml:9: key 'auth.protect_metrics': ", "needs admin_key_env"},
    {MIN "auth: {admin_key_env: \"\", protect_metrics: true}\n",
     "t.yaml:9: key 'auth.protect_metrics': ", "needs admin_key_env"},
    {MIN "auth: {protect_metrics: yes}\n",
     "t.yaml:9: key 'auth.protect_metrics': ", "expected true or false"},
    {MIN "auth: {admin_key_env: sk-abc}\n",
     "t.yaml:9: key 'auth.admin_key_env': ", "expected the name of an environment variable"},
    {MIN "auth: {keys: {a: b}}\n", "t.yaml:9: key 'auth.keys': ", "expected a list"},
    {MIN "auth:\n  keys:\n    - {name: a}\n",
     "t.yaml:11: key 'auth.keys[0]': ", "give exactly one of key_sha256, key_env"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: K, key_sha256: " TEST_SHA "}\n",
     "t.yaml:11: key 'auth.keys[0]': ", "give exactly one of key_sha256, key_env"},
    {MIN "auth:\n  keys:\n    - {key_env: K}\n",
     "t.yaml:11: key 'auth.keys[0].name': ", "required key is missing"},
    {MIN "auth:\n  keys:\n    - {name: a b, key_env: K}\n",
     "t.yaml:11: key 'auth.keys[0].name': ", "expected a name"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: \"\"}\n",
     "t.yaml:11: key 'auth.keys[0].key_env': ", "must not be empty"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: 9K}\n",
     "t.yaml:11: key 'auth.keys[0].key_env': ", "expected the name of an environment variable"},
    {MIN "auth:\n  keys:\n    - {name: a, key_sha256: abc}\n",
     "t.yaml:11: key 'auth.keys[0].key_sha256': ", "expected 64 hexadecimal characters"},
    {MIN "auth:\n  keys:\n    - {name: a, key_sha256: "
         "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0g}\n",
     "t.yaml:11: key 'auth.keys[0].key_sha256': ", "expected 64 hexadecimal characters"},
    {MIN "auth:\n  keys:\n    - {name: a, key_sha256: " TEST_SHA "0}\n",
     "t.yaml:11: key 'auth.keys[0].key_sha256': ", "expected 64 hexadecimal characters"},
    {MIN "auth:\n  keys:\n    - {name: a, key_sha256: [x]}\n",
     "t.yaml:11: key 'auth.keys[0].key_sha256': ", "expected a SHA-256 in hex, got a list"},
    {MIN "auth:\n  keys:\n    - {name: a, key_sha256: " TEST_SHA "}\n"
         "    - {name: a, key_env: K}\n",
     "t.yaml:12: key 'auth.keys[1].name': ", "duplicate key name 'a' (first at line 11)"},
    {MIN "auth:\n  keys:\n    - {name: a, key_sha256: " TEST_SHA "}\n"
         "    - {name: b, key_sha256: \"" TEST_SHA "\"}\n",
     "t.yaml:12: key 'auth.keys[1]': ", "the same key as 'a' (line 11)"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: K, tenant: 'x y'}\n",
     "t.yaml:11: key 'auth.keys[0].tenant': ", "expected a name"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: K, rpm: 0}\n",
     "t.yaml:11: key 'auth.keys[0].rpm': ", "must be at least 1"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: K, tpm: 1000000001}\n",
     "t.yaml:11: key 'auth.keys[0].tpm': ", "must be at most 1000000000"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: K, tpm: -5}\n",
     "t.yaml:11: key 'auth.keys[0].tpm': ", "must not be negative"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: K, max_sensitivity_to_cloud: secret}\n",
     "t.yaml:11: key 'auth.keys[0].max_sensitivity_to_cloud': ", "expected one of public"},
    {MIN "auth:\n  keys:\n    - {name: a, key_env: K, budget: 1}\n",
     "t.yaml:11: key 'auth.keys[0].budget': ", "unknown key"},
    /* budgets */
    {MIN "budgets: {tenant: t}\n", "t.yaml:9: key 'budgets': ", "expected a list"},
    {MIN "budgets:\n  - {tenant: t}\n",
     "t.yaml:10: key 'budgets[0]': ", "give usd_per_day, usd_per_month or both"},
    {MIN "budgets:\n  - {tenant: t, on_exhausted: reject}\n",
     "t.yaml:10: key 'budgets[0]': ", "give usd_per_day, usd_per_month or both"},
    {MIN "budgets:\n  - {usd_per_day: 1}\n",
     "t.yaml:10: key 'budgets[0].tenant': ", "required key is missing"},
    {MIN "budgets:\n  - {tenant: t, usd_per_day: -1}\n",
     "t.yaml:10: key 'budgets[0].usd_per_day': ", "must not be negative"},
    {MIN "budgets:\n  - {tenant: t, usd_per_day: '5'}\n",
     "t.yaml:10: key 'budgets[0].usd_per_day': ", "expected a number, got '5'"},
    {MIN "budgets:\n  - {tenant: t, usd_per_day: .inf}\n",
     "t.yaml:10: key 'budgets[0].usd_per_day': ", "expected a number"},
    {MIN "budgets:\n  - {tenant: t, usd_per_day: 0x10}\n",
     "t.yaml:10: key 'budgets[0].usd_per_day': ", "expected a number"},
    {MIN "budgets:\n  - {tenant: t, usd_per_day: 1e}\n",
     "t.yaml:10: key 'budgets[0].usd_per_day': ", "expected a number"},
    {MIN "budgets:\n  - {tenant: t, usd_per_day: .}\n",
     "t.yaml:10: key 'budgets[0].usd_per_day': ", "expected a number"},
    {MIN "budgets:\n  - {tenant: t, usd_per_month: 1e999}\n",
     "t.yaml:10: key 'budgets[0].usd_per_month': ", "number out of range"},
    {MIN "budgets:\n  - {tenant: t, usd_per_month: 1, on_exhausted: drop}\n",
     "t.yaml:10: key 'budgets[0].on_exhausted': ", "expected one of local, reject, got 'drop'"},
    {MIN "budgets:\n  - {tenant: t, usd_per_day: 1}\n  - {tenant: t, usd_per_month: 2}\n",
     "t.yaml:11: key 'budgets[1].tenant': ", "duplicate budget for tenant 't' (first at line 10)"},
    /* price and hardware */
    {MIN_BACKEND "    price: {input_per_mtok: 1}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].price.output_per_mtok': ", "required key is missing"},
    {MIN_BACKEND "    price: {input_per_mtok: 1, output_per_mtok: -2}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].price.output_per_mtok': ", "must not be negative"},
    {MIN_BACKEND
     "    price: {input_per_mtok: 1, output_per_mtok: 2, cached_per_mtok: 1}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].price.cached_per_mtok': ", "unknown key"},
    {MIN_BACKEND "    price: 1.25\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].price': ", "expected a mapping, got '1.25'"},
    {MIN_BACKEND "    hardware: {capex_usd: 1, amortize_months: 36, usd_per_kwh: 0.1}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].hardware.watts': ", "required key is missing"},
    {MIN_BACKEND
     "    hardware: {capex_usd: 1, amortize_months: 0, watts: 1, usd_per_kwh: 0.1}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].hardware.amortize_months': ", "must be above 0"},
    {MIN_BACKEND "    hardware: {capex_usd: 1, amortize_months: 1, watts: 1, usd_per_kwh: 0.1}\n"
                 "    price: {input_per_mtok: 1, output_per_mtok: 2}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].hardware': ", "give either price or hardware, not both"},
    {"backends:\n  - {name: a, provider: openai, url: http://h, location: cloud, models: [m],\n"
     "     hardware: {capex_usd: 1, amortize_months: 1, watts: 1, usd_per_kwh: 0.1}}\n"
     "pools: {local: [a]}\n",
     "t.yaml:3: key 'backends[0].hardware': ", "only local backends declare hardware"},
    /* state */
    {MIN "state: {batch_ms: 0}\n", "t.yaml:9: key 'state.batch_ms': ", "must be at least 1"},
    {MIN "state: {batch_ms: 10001}\n", "t.yaml:9: key 'state.batch_ms': ", "must be at most 10000"},
    {MIN "state: {redis: 'http://r:6379'}\n",
     "t.yaml:9: key 'state.redis': ", "expected \"\" or redis://host:port"},
    {MIN "state: {redis: 'redis://'}\n",
     "t.yaml:9: key 'state.redis': ", "expected \"\" or redis://host:port"},
    {MIN "state: {redis: 'redis://h :1'}\n",
     "t.yaml:9: key 'state.redis': ", "must not contain spaces"},
    {MIN "state: {sqlite: [a]}\n", "t.yaml:9: key 'state.sqlite': ", "expected a string"},
    {MIN "state: {rate_limit_fail_open: 1}\n",
     "t.yaml:9: key 'state.rate_limit_fail_open': ", "expected true or false"},
    {MIN "state: {budget_fail_open: no}\n",
     "t.yaml:9: key 'state.budget_fail_open': ", "expected true or false"},
    {MIN "state: {postgres: x}\n", "t.yaml:9: key 'state.postgres': ", "unknown key"},
    /* report */
    {MIN "report: {reference_backend: nope}\n",
     "t.yaml:9: key 'report.reference_backend': ", "no backend named 'nope'"},
    {MIN "report: {reference_backend: a}\n",
     "t.yaml:9: key 'report.reference_backend': ", "backend 'a' has no price to compare with"},
    {MIN "report: {reference: a}\n", "t.yaml:9: key 'report.reference': ", "unknown key"},
};

static void test_accounting_errors(void **state)
{
    for (size_t i = 0; i < sizeof accounting_error_cases / sizeof accounting_error_cases[0]; i++) {
        const struct error_case *tc = &accounting_error_cases[i];
        seam_config *cfg = (seam_config *)1;
        char err[512] = "";
        seam_rc rc = parse(tc->yaml, &cfg, err, sizeof err);
        if (rc != SEAM_ERR_CONFIG)
            fail_msg("accounting case %zu: rc %d, err '%s'\n--- yaml:\n%s", i, rc, err, tc->yaml);
        assert_null(cfg);
        if (strncmp(err, tc->where, strlen(tc->where)) != 0)
            fail_msg("accounting case %zu: '%s' does not start with '%s'", i, err, tc->where);
        if (!strstr(err, tc->what))
            fail_msg("accounting case %zu: '%s' does not contain '%s'", i, err, tc->what);
    }
}

/* A key pasted where its hash belongs is not echoed. */
static void test_accounting_error_hides_key(void **state)
{
    seam_config *cfg = NULL;
    char err[512];
    assert_int_equal(parse(MIN
                           "auth:\n  keys:\n    - {name: a, key_sha256: sk-live-abcdef123456}\n",
                           &cfg, err, sizeof err),
                     SEAM_ERR_CONFIG);
    assert_contains(err, "t.yaml:11: key 'auth.keys[0].key_sha256'");
    assert_null(strstr(err, "abcdef"));
}

static void test_accounting_print(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    setenv("SEAM_TEST_PRINT_KEY", "sk-print-me-not", 1);
    setenv("SEAM_TEST_PRINT_ADMIN", "admin-print-me-not", 1);
    unsetenv("SEAM_TEST_PRINT_UNSET");
    seam_config *cfg = parse_ok(
        "backends:\n"
        "  - {name: a, provider: openai, url: http://h:1, location: local, models: [m],"
        " hardware: {capex_usd: 7300, amortize_months: 10, watts: 1000, usd_per_kwh: 0.2}}\n"
        "  - {name: c, provider: openai, url: https://c, location: cloud, models: [m],"
        " price: {input_per_mtok: 1.25, output_per_mtok: 10, cached_input_per_mtok: 0.125}}\n"
        "  - {name: d, provider: openai, url: https://d, location: cloud, models: [m]}\n"
        "pools: {local: [a]}\n"
        "auth:\n"
        "  admin_key_env: SEAM_TEST_PRINT_ADMIN\n"
        "  protect_metrics: true\n"
        "  keys:\n"
        "    - {name: env, key_env: SEAM_TEST_PRINT_KEY, tenant: fin, rpm: 60, tpm: 1000}\n"
        "    - {name: hashed, key_sha256: " TEST_SHA ", max_sensitivity_to_cloud: internal}\n"
        "    - {name: ghost, key_env: SEAM_TEST_PRINT_UNSET}\n"
        "budgets:\n"
        "  - {tenant: fin, usd_per_day: 20, usd_per_month: 300}\n"
        "  - {tenant: nobody, usd_per_month: 5, on_exhausted: reject}\n"
        "state: {sqlite: '', redis: 'redis://127.0.0.1:6379', batch_ms: 100}\n"
        "report: {reference_backend: c}\n");
    seam_config_print(cfg, out);
    fclose(out);
    unsetenv("SEAM_TEST_PRINT_KEY");
    unsetenv("SEAM_TEST_PRINT_ADMIN");

    assert_contains(text, "hardware        7300 USD over 10 months, 1000 W at 0.2 USD/kWh: "
                          "1.2000 USD per hour");
    assert_contains(text, "price           1.25 in / 10 out / 0.125 cached in USD per million");
    assert_contains(text, "price           none (costs 0)");
    assert_contains(text, "admin_key_env    SEAM_TEST_PRINT_ADMIN (set)");
    assert_contains(text, "protect_metrics  true");
    assert_contains(text, "keys (3)");
    assert_contains(text, "env (line 10): tenant fin, key from SEAM_TEST_PRINT_KEY (set),"
                          " rpm 60, tpm 1000\n");
    assert_contains(text, "hashed (line 11): tenant hashed, key_sha256 9f86d081..., no rate limit,"
                          " max_sensitivity_to_cloud internal\n");
    assert_contains(text, "key from SEAM_TEST_PRINT_UNSET (NOT SET)");
    assert_contains(text, "warning: SEAM_TEST_PRINT_UNSET is not set: key 'ghost' matches nothing");
    /* Never a key, never a whole hash. */
    assert_null(strstr(text, "print-me-not"));
    assert_null(strstr(text, "9f86d0818"));
    assert_contains(text, "budgets (2)");
    assert_contains(text, "fin (line 14): 20 USD per day, 300 USD per month, when exhausted: "
                          "route to local backends");
    assert_contains(text, "nobody (line 15): 5 USD per month, when exhausted: reject (429)");
    assert_contains(text, "warning: no key has tenant 'nobody'");
    assert_null(strstr(text, "no key has tenant 'fin'"));
    assert_contains(text, "sqlite     off (no ledger)");
    assert_contains(text, "redis      redis://127.0.0.1:6379");
    assert_contains(text, "batch_ms   100");
    assert_contains(text, "rate limits fail open, budgets fail closed");
    assert_contains(text, "reference_backend  c");
    free(text);
    seam_config_free(cfg);

    /* The defaults, printed. */
    text = NULL;
    out = open_memstream(&text, &len);
    cfg = parse_ok(MIN);
    seam_config_print(cfg, out);
    fclose(out);
    assert_contains(text, "admin_key_env    none: admin endpoints are refused");
    assert_contains(text, "keys (0): every client is anonymous");
    assert_contains(text, "budgets (0)");
    assert_contains(text, "sqlite     ./seam.db (ledger and budgets)");
    assert_contains(text, "redis      none (limits are per process)");
    assert_contains(text, "report     no reference_backend");
    free(text);
    seam_config_free(cfg);
}

/* ---- fault injection ------------------------------------------------------ */

/* Fails the 1st, 2nd, ... allocation in turn: every run must fail cleanly
 * (LSan, when enabled, catches leaks) until one gets through. */
static void run_fault_injection(const char *yaml, const char *path)
{
    long n;
    for (n = 0; n < 100000; n++) {
        seam_config *cfg = (seam_config *)1;
        char err[512] = "";
        seam_alloc_fail_after(n);
        seam_rc rc = path ? seam_config_load(path, &cfg, err, sizeof err)
                          : parse(yaml, &cfg, err, sizeof err);
        seam_alloc_fail_after(-1);
        if (rc == SEAM_OK) {
            assert_non_null(cfg);
            seam_config_free(cfg);
            break;
        }
        if (rc != SEAM_ERR_NOMEM)
            fail_msg("allocation %ld: rc %d, err '%s'", n, rc, err);
        assert_null(cfg);
        assert_contains(err, "out of memory");
    }
    assert_true(n > 10); /* the parse really allocates */
}

static void test_fault_injection(void **state)
{
    run_fault_injection("listen: '[::1]:1'\n"
                        "backends:\n"
                        "  - {name: a, provider: openai, url: http://a/, location: local,"
                        " models: [x, y, z], api_key_env: K}\n"
                        "  - {name: b, provider: openai, url: http://b, location: cloud,"
                        " models: [x]}\n"
                        "pools: {local: [a, b], cloud: [b], p: [a]}\n"
                        "policy:\n"
                        "  rules:\n"
                        "    - {name: r1, when: {model: [x, y], kind: [chat]}, route: cloud}\n"
                        "    - {name: r2, when: {model: [z]}, route: p}\n"
                        "  default: local\n",
                        NULL);
    run_fault_injection("backends:\n"
                        "  - {name: a, provider: ollama, url: http://a, location: local,"
                        " models: [x], capabilities: [vision, thinking], context_window: 8192}\n"
                        "  - {name: b, provider: openai, url: http://b, location: local,"
                        " models: [y], capabilities: []}\n"
                        "pools: {local: [a, b]}\n"
                        "policy:\n"
                        "  rules:\n"
                        "    - {name: r1, when: {kind: [classify]}, route: local,"
                        " set: {reasoning: off, max_tokens_cap: 64, force: true}}\n"
                        "    - {name: r2, route: local, set: {max_tokens_cap: 9}}\n",
                        NULL);
    setenv("SEAM_TEST_FAULT_KEY", "fault-secret", 1);
    run_fault_injection(
        "backends:\n"
        "  - {name: a, provider: openai, url: http://a, location: local, models: [x],"
        " hardware: {capex_usd: 6000, amortize_months: 36, watts: 350, usd_per_kwh: 0.15}}\n"
        "  - {name: b, provider: openai, url: http://b, location: cloud, models: [x],"
        " price: {input_per_mtok: 1.25, output_per_mtok: 10, cached_input_per_mtok: 0.125}}\n"
        "pools: {local: [a], cloud: [b]}\n"
        "auth:\n"
        "  admin_key_env: SEAM_ADMIN_KEY\n"
        "  protect_metrics: true\n"
        "  keys:\n"
        "    - {name: k1, key_env: SEAM_TEST_FAULT_KEY, tenant: t1, rpm: 5, tpm: 100}\n"
        "    - {name: k2, key_sha256: " TEST_SHA "}\n"
        "    - {name: k3, key_env: SEAM_TEST_FAULT_UNSET, max_sensitivity_to_cloud: public}\n"
        "budgets:\n"
        "  - {tenant: t1, usd_per_day: 1}\n"
        "  - {tenant: k2, usd_per_month: 2, on_exhausted: reject}\n"
        "state: {sqlite: /tmp/x.db, redis: 'redis://r:6379', batch_ms: 5}\n"
        "report: {reference_backend: b}\n",
        NULL);
    unsetenv("SEAM_TEST_FAULT_KEY");
    run_fault_injection(NULL, "seam.yaml");
}

/* ---- detect: the sensitive-data scanner's section ------------------------ */

static void test_detect_defaults(void **state)
{
    /* Absent section: detection on, threshold 0.5, images internal. */
    seam_config *cfg = parse_ok(MIN);
    assert_true(cfg->detect.enabled);
    assert_true(cfg->detect.threshold == 0.5);
    assert_int_equal(cfg->detect.image_sensitivity, SEAM_SENS_INTERNAL);
    assert_false(cfg->detect.allow_redact_header);
    assert_int_equal(cfg->detect.nlevels, 0);
    assert_int_equal(cfg->detect.ncustom, 0);
    seam_config_free(cfg);
    /* Present but empty of keys: the same defaults. */
    cfg = parse_ok(MIN "detect: {}\n");
    assert_true(cfg->detect.enabled);
    assert_true(cfg->detect.threshold == 0.5);
    assert_int_equal(cfg->detect.image_sensitivity, SEAM_SENS_INTERNAL);
    seam_config_free(cfg);
    /* Rules do not redact unless they say so. */
    cfg = parse_ok(MIN "policy:\n  rules:\n    - {name: r, route: local}\n");
    assert_false(cfg->rules[0].redact);
    seam_config_free(cfg);
}

static void test_detect_everything_set(void **state)
{
    seam_config *cfg = parse_ok(
        MIN "policy:\n"                                            /* 9 */
            "  rules:\n"                                           /* 10 */
            "    - {name: r, route: local, redact: true}\n"        /* 11 */
            "    - {name: s, route: local, redact: false}\n"       /* 12 */
            "detect:\n"                                            /* 13 */
            "  enabled: false\n"                                   /* 14 */
            "  threshold: 0.75\n"                                  /* 15 */
            "  image_sensitivity: regulated\n"                     /* 16 */
            "  allow_redact_header: true\n"                        /* 17 */
            "  levels: { EMAIL: regulated, IP_ADDRESS: public }\n" /* 18 */
            "  custom:\n"                                          /* 19 */
            "    - { name: PROJECT_CODENAME, words: [bluebird, nightjar], level: internal }\n"
            "    - { name: HOSTNAME, pattern: '[a-z0-9-]+\\.corp\\.example\\.com' }\n" /* 21 */
            "    - name: ONE\n"                                                        /* 22 */
            "      words: [x]\n"                                                       /* 23 */
            "      level: public\n");                                                  /* 24 */
    assert_true(cfg->rules[0].redact);
    assert_false(cfg->rules[1].redact);
    const seam_detect_conf *d = &cfg->detect;
    assert_false(d->enabled);
    assert_true(d->threshold == 0.75);
    assert_int_equal(d->image_sensitivity, SEAM_SENS_REGULATED);
    assert_true(d->allow_redact_header);
    assert_int_equal(d->nlevels, 2);
    assert_string_equal(d->levels[0].type, "EMAIL");
    assert_int_equal(d->levels[0].level, SEAM_SENS_REGULATED);
    assert_int_equal(d->levels[0].line, 18);
    assert_string_equal(d->levels[1].type, "IP_ADDRESS");
    assert_int_equal(d->levels[1].level, SEAM_SENS_PUBLIC);
    assert_int_equal(d->ncustom, 3);
    assert_string_equal(d->custom[0].name, "PROJECT_CODENAME");
    assert_int_equal(d->custom[0].nwords, 2);
    assert_string_equal(d->custom[0].words[1], "nightjar");
    assert_null(d->custom[0].pattern);
    assert_int_equal(d->custom[0].level, SEAM_SENS_INTERNAL);
    assert_int_equal(d->custom[0].line, 20);
    assert_string_equal(d->custom[1].pattern, "[a-z0-9-]+\\.corp\\.example\\.com");
    assert_int_equal(d->custom[1].nwords, 0);
    assert_int_equal(d->custom[1].level, SEAM_SENS_REGULATED); /* default */
    assert_int_equal(d->custom[2].level, SEAM_SENS_PUBLIC);
    assert_int_equal(d->custom[2].line, 22);

    seam_config_free(cfg);
    cfg = parse_ok(MIN "detect: {threshold: 1}\n");
    assert_true(cfg->detect.threshold == 1.0);
    seam_config_free(cfg);
}

/* words_file is read relative to the configuration file's folder. */
static void test_detect_words_file(void **state)
{
    char dir[] = "/tmp/seam-config-test-XXXXXX";
    char path[128], words[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/seam.yaml", dir);
    snprintf(words, sizeof words, "%s/customers.txt", dir);
    FILE *f = fopen(words, "w");
    assert_non_null(f);
    fputs("# one name per line\nAcme Corp\r\n\n  Globex  \nInitech", f);
    fclose(f);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(MIN "detect:\n  custom:\n    - {name: CUSTOMERS, words_file: customers.txt}\n"
              "    - {name: MISSING, words_file: nope.txt}\n",
          f);
    fclose(f);
    seam_config *cfg = NULL;
    char err[512];
    /* The second detector's file does not exist: the error names it. */
    assert_int_equal(seam_config_load(path, &cfg, err, sizeof err), SEAM_ERR_CONFIG);
    assert_contains(err, "seam.yaml:12: key 'detect.custom[1].words_file': cannot open");
    assert_contains(err, "nope.txt");
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(MIN "detect:\n  custom:\n    - {name: CUSTOMERS, words_file: customers.txt}\n", f);
    fclose(f);
    if (seam_config_load(path, &cfg, err, sizeof err) != SEAM_OK)
        fail_msg("%s", err);
    assert_int_equal(cfg->detect.custom[0].nwords, 3);
    assert_string_equal(cfg->detect.custom[0].words[0], "Acme Corp");
    assert_string_equal(cfg->detect.custom[0].words[1], "Globex");
    assert_string_equal(cfg->detect.custom[0].words[2], "Initech");
    seam_config_free(cfg);
    unlink(words);
    unlink(path);
    rmdir(dir);
}

static const struct error_case detect_error_cases[] = {
    {MIN "detect: true\n", "t.yaml:9: key 'detect': ", "expected a mapping"},
    {MIN "detect:\n  colour: red\n", "t.yaml:10: key 'detect.colour': ", "unknown key"},
    {MIN "detect:\n  enabled: yes\n",
     "t.yaml:10: key 'detect.enabled': ", "expected true or false, got 'yes'"},
    {MIN "detect:\n  allow_redact_header: 1\n",
     "t.yaml:10: key 'detect.allow_redact_header': ", "expected true or false"},
    {MIN "detect:\n  threshold: 0\n",
     "t.yaml:10: key 'detect.threshold': ", "above 0 and at most 1, got '0'"},
    {MIN "detect:\n  threshold: 1.5\n", "t.yaml:10: key 'detect.threshold': ", "at most 1"},
    {MIN "detect:\n  threshold: -0.5\n",
     "t.yaml:10: key 'detect.threshold': ", "expected a number between 0 and 1"},
    {MIN "detect:\n  threshold: high\n",
     "t.yaml:10: key 'detect.threshold': ", "expected a number between 0 and 1, got 'high'"},
    {MIN "detect:\n  threshold: '0.5'\n",
     "t.yaml:10: key 'detect.threshold': ", "expected a number"},
    {MIN "detect:\n  threshold: 0.5.1\n", "t.yaml:10: key 'detect.threshold': ", "at most 1"},
    {MIN "detect:\n  image_sensitivity: secret\n", "t.yaml:10: key 'detect.image_sensitivity': ",
     "expected one of public, internal, regulated, got 'secret'"},
    {MIN "detect:\n  levels: [EMAIL]\n",
     "t.yaml:10: key 'detect.levels': ", "expected a mapping of entity types to levels"},
    {MIN "detect:\n  levels:\n    EMAIL: secret\n",
     "t.yaml:11: key 'detect.levels.EMAIL': ", "expected one of public, internal, regulated"},
    {MIN "detect:\n  levels:\n    EMAIL: internal\n    EMAIL: regulated\n",
     "t.yaml:12: key 'detect.levels.EMAIL': ", "duplicate key (first given at line 11)"},
    {MIN "detect:\n  levels:\n    'E MAIL': internal\n",
     "t.yaml:11: key 'detect.levels.E MAIL': ", "entity types are made of"},
    {MIN "detect:\n  custom: {name: X}\n", "t.yaml:10: key 'detect.custom': ", "expected a list"},
    {MIN "detect:\n  custom:\n    - {name: X}\n",
     "t.yaml:11: key 'detect.custom[0]': ", "give exactly one of pattern, words, words_file"},
    {MIN "detect:\n  custom:\n    - {name: X, pattern: 'a', words: [b]}\n",
     "t.yaml:11: key 'detect.custom[0]': ", "give exactly one of pattern, words, words_file"},
    {MIN "detect:\n  custom:\n    - {pattern: 'a'}\n",
     "t.yaml:11: key 'detect.custom[0].name': ", "required key is missing"},
    {MIN "detect:\n  custom:\n    - {name: 'X.Y', pattern: 'a'}\n",
     "t.yaml:11: key 'detect.custom[0].name': ", "detector names are made of"},
    {MIN "detect:\n  custom:\n    - {name: X, pattern: 'a'}\n    - {name: X, words: [b]}\n",
     "t.yaml:12: key 'detect.custom[1].name': ", "duplicate detector name 'X' (first at line 11)"},
    {MIN "detect:\n  custom:\n    - {name: X, pattern: ''}\n",
     "t.yaml:11: key 'detect.custom[0].pattern': ", "must not be empty"},
    {MIN "detect:\n  custom:\n    - {name: X, words: []}\n",
     "t.yaml:11: key 'detect.custom[0].words': ", "expected a non-empty list"},
    {MIN "detect:\n  custom:\n    - {name: X, words: [a, '']}\n",
     "t.yaml:11: key 'detect.custom[0].words[1]': ", "must not be empty"},
    {MIN "detect:\n  custom:\n    - {name: X, words: [a], level: secret}\n",
     "t.yaml:11: key 'detect.custom[0].level': ", "expected one of public, internal, regulated"},
    {MIN "detect:\n  custom:\n    - {name: X, words_file: ''}\n",
     "t.yaml:11: key 'detect.custom[0].words_file': ", "must not be empty"},
    {MIN "detect:\n  custom:\n    - {name: X, words_file: /dev/null/none.txt}\n",
     "t.yaml:11: key 'detect.custom[0].words_file': ", "cannot open '/dev/null/none.txt'"},
    {MIN "detect:\n  custom:\n    - {name: X, words_file: /dev/zero}\n",
     "t.yaml:11: key 'detect.custom[0].words_file': ", "is not a regular file"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, redact: yes}\n",
     "t.yaml:11: key 'policy.rules[0].redact': ", "expected true or false, got 'yes'"},
};

static void test_detect_errors(void **state)
{
    for (size_t i = 0; i < sizeof detect_error_cases / sizeof detect_error_cases[0]; i++) {
        const struct error_case *tc = &detect_error_cases[i];
        seam_config *cfg = (seam_config *)1;
        char err[512] = "";
        seam_rc rc = parse(tc->yaml, &cfg, err, sizeof err);
        if (rc != SEAM_ERR_CONFIG)
            fail_msg("detect case %zu: rc %d, err '%s'\n--- yaml:\n%s", i, rc, err, tc->yaml);
        assert_null(cfg);
        if (strncmp(err, tc->where, strlen(tc->where)) != 0)
            fail_msg("detect case %zu: '%s' does not start with '%s'", i, err, tc->where);
        if (!strstr(err, tc->what))
            fail_msg("detect case %zu: '%s' does not contain '%s'", i, err, tc->what);
    }
}

static void test_detect_print(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    seam_config *cfg = parse_ok(MIN "policy:\n  rules:\n    - {name: r, route: local, redact: "
                                    "true}\n"
                                    "detect:\n  threshold: 0.8\n  levels: {EMAIL: regulated}\n"
                                    "  custom:\n    - {name: CODE, words: [a, b]}\n"
                                    "    - {name: HOST, pattern: 'h[0-9]+', level: internal}\n");
    seam_config_print(cfg, out);
    fclose(out);
    assert_contains(text, "-> pool local (redact)");
    assert_contains(text, "detect\n");
    assert_contains(text, "enabled              true");
    assert_contains(text, "threshold            0.8");
    assert_contains(text, "image_sensitivity    internal");
    assert_contains(text, "allow_redact_header  false");
    assert_contains(text, "EMAIL=regulated");
    assert_contains(text, "custom detectors (2)");
    assert_contains(text, "CODE (line 16): regulated, 2 words");
    assert_contains(text, "HOST (line 17): internal, pattern h[0-9]+");
    free(text);
    seam_config_free(cfg);
}

/* Every allocation of parsing a detect section fails in turn. */
static void test_detect_fault_injection(void **state)
{
    const char *yaml = MIN "policy:\n  rules:\n    - {name: r, route: local, redact: true}\n"
                           "detect:\n  levels: {EMAIL: regulated, PHONE: public}\n"
                           "  custom:\n    - {name: A, words: [x, y, z]}\n"
                           "    - {name: B, pattern: 'p+'}\n";
    int ok = 0;
    for (long k = 0; k < 2000 && !ok; k++) {
        seam_config *cfg = NULL;
        char err[256];
        seam_alloc_fail_after(k);
        seam_rc rc = parse(yaml, &cfg, err, sizeof err);
        seam_alloc_fail_after(-1);
        if (rc == SEAM_OK)
            ok = 1;
        else
            assert_int_equal(rc, SEAM_ERR_NOMEM);
        seam_config_free(cfg);
    }
    assert_true(ok);
}

/* ---- resilience: timeouts, circuit, capacity, health, pools, fallback ----- */

static void test_resilience_defaults(void **state)
{
    seam_config *cfg =
        parse_ok(MIN_BACKEND "  - {name: o, provider: ollama, url: http://o, location: local,"
                             " models: [m]}\n" MIN_POOLS
                             "policy:\n  rules:\n    - {name: r, route: local}\n");
    const seam_timeouts want = {10000, 60000, 30000, 600000};
    assert_memory_equal(&cfg->timeouts, &want, sizeof(want));
    const seam_circuit_conf wc = {5, 10000, 5000, 1};
    assert_memory_equal(&cfg->circuit, &wc, sizeof(wc));
    for (size_t i = 0; i < 2; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        assert_memory_equal(&b->timeouts, &want, sizeof(want));
        assert_memory_equal(&b->circuit, &wc, sizeof(wc));
        assert_int_equal(b->max_concurrency, 0);
        assert_int_equal(b->health.interval_ms, 10000);
    }
    /* The probe path is the provider's. */
    assert_string_equal(cfg->backends[0].health.path, "/v1/models");
    assert_string_equal(cfg->backends[1].health.path, "/api/tags");
    const seam_pool_conf *p = &cfg->pools[0];
    assert_int_equal(p->index, 0);
    assert_int_equal(p->line, 9);
    assert_int_equal(p->strategy, SEAM_STRATEGY_LEAST_OUTSTANDING);
    assert_null(p->weights);
    assert_int_equal(p->retries, 2);
    assert_int_equal(p->queue.max, 0);
    assert_int_equal(p->queue.timeout_ms, 30000);
    assert_false(p->has_spill);
    assert_false(p->stream_resume);
    assert_int_equal(cfg->rules[0].nfallbacks, 0);
    assert_null(cfg->rules[0].fallbacks);
    seam_config_free(cfg);
    /* total_ms follows limits.request_timeout_ms when not given. */
    cfg = parse_ok(MIN "limits: {request_timeout_ms: 1234}\ntimeouts: {idle_ms: 7}\n");
    assert_int_equal(cfg->backends[0].timeouts.total_ms, 1234);
    assert_int_equal(cfg->backends[0].timeouts.idle_ms, 7);
    assert_int_equal(cfg->backends[0].timeouts.connect_ms, 10000);
    seam_config_free(cfg);
    assert_string_equal(seam_strategy_name(SEAM_STRATEGY_WEIGHTED), "weighted");
    assert_string_equal(seam_strategy_name(SEAM_STRATEGY__COUNT), "?");
}

/* The configuration block, plus every other key. */
static const char resilience_yaml[] =
    "timeouts: { connect_ms: 2000, first_byte_ms: 60000, idle_ms: 30000, total_ms: 600000 }\n"
    "circuit: { failures: 5, window_ms: 10000, cooldown_ms: 5000, half_open_max: 1 }\n"
    "backends:\n"
    "  - name: gemma-a\n"
    "    provider: ollama\n"
    "    url: http://gpu-a:11434\n"
    "    location: local\n"
    "    models: [gemma4:31b]\n"
    "    timeouts: { first_byte_ms: 120000 }\n"
    "    max_concurrency: 4\n"
    "    health: { path: /api/tags, interval_ms: 5000 }\n"
    "  - name: gemma-b\n"
    "    provider: openai\n"
    "    url: http://gpu-b:8000\n"
    "    location: local\n"
    "    models: [gemma4:31b]\n"
    "    circuit: { failures: 2, half_open_max: 3 }\n"
    "    health: { interval_ms: 100 }\n"
    "  - { name: frontier, provider: openai, url: https://api.openai.com, location: cloud,"
    " models: [gpt-5.1], health: { path: '/v1/models?limit=1' } }\n"
    "pools:\n"
    "  local: { backends: [gemma-a, gemma-b], strategy: least_outstanding, retries: 2,\n"
    "           queue: { max: 64, timeout_ms: 30000 }, spill: cloud, stream_resume: false }\n"
    "  cloud: [frontier]\n"
    "  weighted: { backends: [gemma-b, gemma-a], strategy: weighted, weights: [3, 1],"
    " retries: 0, queue: { max: 5 }, stream_resume: true, spill: local }\n"
    "  rr: { backends: [gemma-a], strategy: round_robin, queue: { timeout_ms: 1 } }\n"
    "policy:\n"
    "  rules:\n"
    "    - { name: frontier-drafting, when: { kind: [draft], complexity: [high] }, route: cloud,"
    " fallback: [local] }\n"
    "    - { name: chain, route: rr, fallback: [weighted, local, cloud] }\n"
    "  default: local\n";

static void test_resilience_everything_set(void **state)
{
    seam_config *cfg = parse_ok(resilience_yaml);
    const seam_backend_conf *a = &cfg->backends[0], *b = &cfg->backends[1], *f = &cfg->backends[2];
    assert_int_equal(cfg->timeouts.connect_ms, 2000);
    assert_int_equal(a->timeouts.connect_ms, 2000);
    assert_int_equal(a->timeouts.first_byte_ms, 120000);
    assert_int_equal(a->timeouts.idle_ms, 30000);
    assert_int_equal(a->timeouts.total_ms, 600000);
    assert_int_equal(b->timeouts.first_byte_ms, 60000);
    assert_int_equal(a->max_concurrency, 4);
    assert_int_equal(b->max_concurrency, 0);
    assert_string_equal(a->health.path, "/api/tags");
    assert_int_equal(a->health.interval_ms, 5000);
    assert_string_equal(b->health.path, "/v1/models");
    assert_int_equal(b->health.interval_ms, 100);
    assert_string_equal(f->health.path, "/v1/models?limit=1");
    assert_int_equal(f->health.interval_ms, 10000);
    assert_int_equal(a->circuit.failures, 5);
    assert_int_equal(b->circuit.failures, 2);
    assert_int_equal(b->circuit.window_ms, 10000);
    assert_int_equal(b->circuit.half_open_max, 3);

    assert_int_equal(cfg->npools, 4);
    const seam_pool_conf *local = &cfg->pools[0], *cloud = &cfg->pools[1], *w = &cfg->pools[2],
                         *rr = &cfg->pools[3];
    assert_string_equal(local->name, "local");
    assert_int_equal(local->nbackends, 2);
    assert_int_equal(local->strategy, SEAM_STRATEGY_LEAST_OUTSTANDING);
    assert_int_equal(local->retries, 2);
    assert_int_equal(local->queue.max, 64);
    assert_int_equal(local->queue.timeout_ms, 30000);
    assert_true(local->has_spill);
    assert_int_equal(local->spill, 1);
    assert_false(local->stream_resume);
    assert_int_equal(cloud->nbackends, 1);
    assert_false(cloud->has_spill);
    assert_int_equal(w->strategy, SEAM_STRATEGY_WEIGHTED);
    assert_int_equal(w->backends[0], 1);
    assert_int_equal(w->weights[0], 3);
    assert_int_equal(w->weights[1], 1);
    assert_int_equal(w->retries, 0);
    assert_int_equal(w->queue.max, 5);
    assert_int_equal(w->queue.timeout_ms, 30000);
    assert_true(w->stream_resume);
    assert_int_equal(w->spill, 0);
    assert_int_equal(w->index, 2);
    assert_int_equal(rr->strategy, SEAM_STRATEGY_ROUND_ROBIN);
    assert_int_equal(rr->queue.timeout_ms, 1);

    const seam_rule_conf *r = &cfg->rules[0];
    assert_int_equal(r->pool, 1);
    assert_int_equal(r->nfallbacks, 1);
    assert_int_equal(r->fallbacks[0], 0);
    r = &cfg->rules[1];
    assert_int_equal(r->nfallbacks, 3);
    assert_int_equal(r->fallbacks[0], 2);
    assert_int_equal(r->fallbacks[1], 0);
    assert_int_equal(r->fallbacks[2], 1);
    seam_config_free(cfg);
}

static const struct error_case resilience_error_cases[] = {
    {MIN "timeouts: 5\n", "t.yaml:9: key 'timeouts': ", "expected a mapping"},
    {MIN "timeouts: {connect: 5}\n", "t.yaml:9: key 'timeouts.connect': ", "unknown key"},
    {MIN "timeouts: {connect_ms: 0}\n",
     "t.yaml:9: key 'timeouts.connect_ms': ", "must be at least 1, got '0'"},
    {MIN "timeouts: {total_ms: 2147483648}\n",
     "t.yaml:9: key 'timeouts.total_ms': ", "must be at most 2147483647"},
    {MIN "timeouts: {idle_ms: -1}\n", "t.yaml:9: key 'timeouts.idle_ms': ", "must not be negative"},
    {MIN "circuit: {failures: 0}\n", "t.yaml:9: key 'circuit.failures': ", "must be at least 1"},
    {MIN "circuit: {failures: 1001}\n", "t.yaml:9: key 'circuit.failures': ", "at most 1000"},
    {MIN "circuit: {half_open_max: 0}\n",
     "t.yaml:9: key 'circuit.half_open_max': ", "must be at least 1"},
    {MIN "circuit: {cooldown: 1}\n", "t.yaml:9: key 'circuit.cooldown': ", "unknown key"},
    {MIN_BACKEND "    timeouts: {first_byte_ms: x}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].timeouts.first_byte_ms': ", "expected an integer, got 'x'"},
    {MIN_BACKEND "    circuit: {window_ms: 0}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].circuit.window_ms': ", "must be at least 1"},
    {MIN_BACKEND "    max_concurrency: -2\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].max_concurrency': ", "must not be negative"},
    {MIN_BACKEND "    max_concurrency: 1000001\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].max_concurrency': ", "at most 1000000"},
    {MIN_BACKEND "    health: {path: api/tags}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].health.path': ", "must start with /"},
    {MIN_BACKEND "    health: {path: '/a b'}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].health.path': ", "spaces or control characters"},
    {MIN_BACKEND "    health: {interval_ms: 99}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].health.interval_ms': ", "must be at least 100"},
    {MIN_BACKEND "    health: {url: /x}\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].health.url': ", "unknown key"},
    {MIN_BACKEND "    health: /x\n" MIN_POOLS,
     "t.yaml:7: key 'backends[0].health': ", "expected a mapping"},
    /* pools, long form */
    {MIN_BACKEND "pools:\n  local: {strategy: round_robin}\n",
     "t.yaml:8: key 'pools.local.backends': ", "required key is missing"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], colour: red}\n",
     "t.yaml:8: key 'pools.local.colour': ", "unknown key"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], strategy: random}\n",
     "t.yaml:8: key 'pools.local.strategy': ",
     "expected one of least_outstanding, round_robin, weighted, got 'random'"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], strategy: weighted}\n",
     "t.yaml:8: key 'pools.local': ", "strategy weighted needs weights"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], weights: [1]}\n",
     "t.yaml:8: key 'pools.local.weights': ", "weights apply only to strategy weighted"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], strategy: weighted, weights: [1, 2]}\n",
     "t.yaml:8: key 'pools.local.weights': ", "expected one weight per backend (1), got 2"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], strategy: weighted, weights: [0]}\n",
     "t.yaml:8: key 'pools.local.weights[0]': ", "must be at least 1"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], strategy: weighted, weights: []}\n",
     "t.yaml:8: key 'pools.local.weights': ", "expected a non-empty list"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], retries: 11}\n",
     "t.yaml:8: key 'pools.local.retries': ", "must be at most 10"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], queue: {max: 1, timeout_ms: 0}}\n",
     "t.yaml:8: key 'pools.local.queue.timeout_ms': ", "must be at least 1"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], queue: {size: 1}}\n",
     "t.yaml:8: key 'pools.local.queue.size': ", "unknown key"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], spill: nowhere}\n",
     "t.yaml:8: key 'pools.local.spill': ", "no pool named 'nowhere'"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], spill: local}\n",
     "t.yaml:8: key 'pools.local.spill': ", "a pool cannot spill into itself"},
    {MIN_BACKEND "pools:\n  local: {backends: [a], stream_resume: yes}\n",
     "t.yaml:8: key 'pools.local.stream_resume': ", "expected true or false, got 'yes'"},
    {MIN_BACKEND "pools:\n  local: {backends: [b]}\n",
     "t.yaml:8: key 'pools.local.backends[0]': ", "no backend named 'b'"},
    {MIN_BACKEND "pools:\n  local: 5\n",
     "t.yaml:8: key 'pools.local': ", "a pool is a list of backends or a mapping"},
    /* rule fallback */
    {MIN "policy:\n  rules:\n    - {name: r, route: local, fallback: [cloud]}\n",
     "t.yaml:11: key 'policy.rules[0].fallback[0]': ", "no pool named 'cloud'"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, fallback: [local]}\n",
     "t.yaml:11: key 'policy.rules[0].fallback[0]': ", "pool 'local' is the rule's own route"},
    {MIN "  p: [a]\npolicy:\n  rules:\n    - {name: r, route: local, fallback: [p, p]}\n",
     "t.yaml:12: key 'policy.rules[0].fallback[1]': ", "pool 'p' is listed twice"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, fallback: []}\n",
     "t.yaml:11: key 'policy.rules[0].fallback': ", "expected a non-empty list"},
    {MIN "policy:\n  rules:\n    - {name: r, route: local, fallback: local}\n",
     "t.yaml:11: key 'policy.rules[0].fallback': ", "expected a list"},
};

static void test_resilience_errors(void **state)
{
    for (size_t i = 0; i < sizeof resilience_error_cases / sizeof resilience_error_cases[0]; i++) {
        const struct error_case *tc = &resilience_error_cases[i];
        seam_config *cfg = (seam_config *)1;
        char err[512] = "";
        seam_rc rc = parse(tc->yaml, &cfg, err, sizeof err);
        if (rc != SEAM_ERR_CONFIG)
            fail_msg("resilience case %zu: rc %d, err '%s'\n--- yaml:\n%s", i, rc, err, tc->yaml);
        assert_null(cfg);
        if (strncmp(err, tc->where, strlen(tc->where)) != 0)
            fail_msg("resilience case %zu: '%s' does not start with '%s'", i, err, tc->where);
        if (!strstr(err, tc->what))
            fail_msg("resilience case %zu: '%s' does not contain '%s'", i, err, tc->what);
    }
}

static void test_resilience_print(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    assert_non_null(out);
    seam_config *cfg = parse_ok(resilience_yaml);
    seam_config_print(cfg, out);
    fclose(out);
    assert_contains(text, "  timeouts   connect 2000 ms, first byte 60000 ms, idle 30000 ms, "
                          "total 600000 ms\n");
    assert_contains(text, "  circuit    opens after 5 failures in 10000 ms, half-open after "
                          "5000 ms with 1 trial\n");
    assert_contains(text, "    timeouts        connect 2000 ms, first byte 120000 ms");
    assert_contains(text, "    circuit         opens after 2 failures in 10000 ms, half-open "
                          "after 5000 ms with 3 trials\n");
    assert_contains(text, "    max_concurrency 4\n");
    assert_contains(text, "    max_concurrency unlimited\n");
    assert_contains(text, "    health          GET /api/tags every 5000 ms\n");
    assert_contains(text, "  local: gemma-a, gemma-b\n    strategy least_outstanding, retries 2, "
                          "queue 64 for up to 30000 ms, spill to cloud, stream_resume false\n");
    assert_contains(text, "  weighted: gemma-b (weight 3), gemma-a (weight 1)\n    strategy "
                          "weighted, retries 0, queue 5 for up to 30000 ms, spill to local, "
                          "stream_resume true\n");
    assert_contains(text, "  cloud: frontier\n    strategy least_outstanding, retries 2, no "
                          "queue, stream_resume false\n");
    assert_contains(text, "-> pool cloud, fallback local\n");
    assert_contains(text, "-> pool rr, fallback weighted -> local -> cloud\n");
    free(text);
    seam_config_free(cfg);
}

static void test_resilience_fault_injection(void **state)
{
    run_fault_injection(resilience_yaml, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped_config),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_everything_set),
        cmocka_unit_test(test_listen_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_hides_secret),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_long_key_path),
        cmocka_unit_test(test_small_error_buffer),
        cmocka_unit_test(test_load_errors),
        cmocka_unit_test(test_print),
        cmocka_unit_test(test_fault_injection),
        cmocka_unit_test(test_providers),
        cmocka_unit_test(test_capabilities),
        cmocka_unit_test(test_rule_set),
        cmocka_unit_test(test_detect_defaults),
        cmocka_unit_test(test_detect_everything_set),
        cmocka_unit_test(test_detect_words_file),
        cmocka_unit_test(test_detect_errors),
        cmocka_unit_test(test_detect_print),
        cmocka_unit_test(test_detect_fault_injection),
        cmocka_unit_test(test_accounting_defaults),
        cmocka_unit_test(test_accounting_everything_set),
        cmocka_unit_test(test_accounting_key_env),
        cmocka_unit_test(test_accounting_errors),
        cmocka_unit_test(test_accounting_error_hides_key),
        cmocka_unit_test(test_accounting_print),
        cmocka_unit_test(test_resilience_defaults),
        cmocka_unit_test(test_resilience_everything_set),
        cmocka_unit_test(test_resilience_errors),
        cmocka_unit_test(test_resilience_print),
        cmocka_unit_test(test_resilience_fault_injection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
