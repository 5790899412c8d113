/*
 * Unit tests for src/auth/keys: identifying a client by the key it sends
 * (Authorization: Bearer or x-api-key), the 401 cases, keys read from the
 * environment at load, and the admin key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/keys.h"
#include "config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BACKENDS                                                                                   \
    "backends:\n"                                                                                  \
    "  - {name: a, provider: openai, url: http://h:1, location: local, models: [m]}\n"             \
    "pools: {local: [a]}\n"

/* The hex SHA-256 of "notebook-secret", filled by keyed_config. */
static char notebook_hex[65];

static void hex_of(const char *key, char out[65])
{
    unsigned char h[32];
    seam_auth_sha256(key, strlen(key), h);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static seam_config *load(const char *yaml)
{
    seam_config *cfg = NULL;
    char err[512] = "";
    seam_rc rc = seam_config_parse(yaml, strlen(yaml), "t.yaml", &cfg, err, sizeof err);
    if (rc != SEAM_OK)
        fail_msg("config: %s", err);
    return cfg;
}

/* Two keys: one from the environment, one by hash; a third whose
 * variable is unset. */
static seam_config *keyed_config(void)
{
    char yaml[2048];
    setenv("SEAM_TEST_BILLING_KEY", "billing-secret", 1);
    unsetenv("SEAM_TEST_UNSET_KEY");
    hex_of("notebook-secret", notebook_hex);
    snprintf(yaml, sizeof yaml,
             BACKENDS "auth:\n"
                      "  keys:\n"
                      "    - {name: billing-app, key_env: SEAM_TEST_BILLING_KEY, tenant: finance,"
                      " rpm: 600}\n"
                      "    - {name: notebook, key_sha256: \"%s\", tenant: research}\n"
                      "    - {name: ghost, key_env: SEAM_TEST_UNSET_KEY}\n",
             notebook_hex);
    return load(yaml);
}

static void test_sha256_known(void **state)
{
    char hex[65];
    hex_of("test", hex); /* the example "9f86d0..." */
    assert_string_equal(hex, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
}

static void test_no_keys_anonymous(void **state)
{
    seam_config *cfg = load(BACKENDS);
    seam_auth_result res;
    assert_null(seam_auth_identify(cfg, NULL, NULL, &res));
    assert_int_equal(res.status, SEAM_AUTH_ANONYMOUS);
    assert_int_equal(res.http_status, 200);
    assert_null(res.message);
    /* Whatever a client sends is ignored. */
    assert_null(seam_auth_identify(cfg, "Bearer anything", "x", &res));
    assert_int_equal(res.status, SEAM_AUTH_ANONYMOUS);
    seam_config_free(cfg);
}

static void test_bearer(void **state)
{
    seam_config *cfg = keyed_config();
    seam_auth_result res;
    const seam_key_conf *k = seam_auth_identify(cfg, "Bearer billing-secret", NULL, &res);
    assert_non_null(k);
    assert_int_equal(res.status, SEAM_AUTH_OK);
    assert_int_equal(res.http_status, 200);
    assert_ptr_equal(res.key, k);
    assert_int_equal(res.key_index, 0);
    assert_string_equal(k->name, "billing-app");
    assert_string_equal(k->tenant, "finance");
    assert_int_equal(k->rpm, 600);

    /* Scheme case-insensitive, spaces around ignored. */
    k = seam_auth_identify(cfg, "  bEaReR \t notebook-secret  ", NULL, &res);
    assert_non_null(k);
    assert_int_equal(res.key_index, 1);
    assert_string_equal(k->tenant, "research");
    seam_config_free(cfg);
}

static void test_x_api_key(void **state)
{
    seam_config *cfg = keyed_config();
    seam_auth_result res;
    const seam_key_conf *k = seam_auth_identify(cfg, NULL, "notebook-secret", &res);
    assert_non_null(k);
    assert_int_equal(res.key_index, 1);
    /* Both headers: either may hold the key (a placeholder in the other). */
    k = seam_auth_identify(cfg, "Bearer placeholder", "billing-secret", &res);
    assert_non_null(k);
    assert_int_equal(res.key_index, 0);
    k = seam_auth_identify(cfg, "Bearer notebook-secret", "placeholder", &res);
    assert_non_null(k);
    assert_int_equal(res.key_index, 1);
    /* Both valid: x-api-key wins. */
    k = seam_auth_identify(cfg, "Bearer notebook-secret", "billing-secret", &res);
    assert_int_equal(res.key_index, 0);
    seam_config_free(cfg);
}

static void test_missing(void **state)
{
    seam_config *cfg = keyed_config();
    seam_auth_result res;
    const char *empties[][2] = {
        {NULL, NULL}, {"", ""}, {"   ", NULL}, {"Bearer", NULL}, {"Bearer   ", " \t"},
    };
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        assert_null(seam_auth_identify(cfg, empties[i][0], empties[i][1], &res));
        assert_int_equal(res.status, SEAM_AUTH_MISSING);
        assert_int_equal(res.http_status, 401);
        assert_string_equal(res.message, "missing API key");
        assert_string_equal(res.code, "invalid_api_key");
        assert_null(res.key);
    }
    seam_config_free(cfg);
}

static void test_invalid(void **state)
{
    seam_config *cfg = keyed_config();
    seam_auth_result res;
    const char *bad[][2] = {
        {"Bearer wrong", NULL},           {NULL, "wrong"},
        {"billing-secret", NULL},       /* no scheme: refused */
        {"Basic billing-secret", NULL}, /* another scheme */
        {"Bearerbilling-secret", NULL},   {"Bearer billing-secre", NULL},
        {"Bearer billing-secret2", NULL}, {"Bearer wrong", "wrong"},
        {"Bearer billing secret", NULL},  {"Bearer ", "wrong"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (seam_auth_identify(cfg, bad[i][0], bad[i][1], &res))
            fail_msg("case %zu let in", i);
        assert_int_equal(res.status, SEAM_AUTH_INVALID);
        assert_int_equal(res.http_status, 401);
        assert_string_equal(res.message, "invalid API key");
    }
    /* The hash itself, as a key, does not match key_sha256. */
    assert_null(seam_auth_identify(cfg, NULL, notebook_hex, &res));
    assert_int_equal(res.status, SEAM_AUTH_INVALID);
    seam_config_free(cfg);
}

/* key_env is read once, at load: a variable set later, or changed, does
 * not count; an unset one matches nothing, not even an empty key. */
static void test_key_env_resolved_at_load(void **state)
{
    seam_config *cfg = keyed_config();
    seam_auth_result res;
    assert_true(cfg->auth.keys[0].key_present);
    assert_string_equal(cfg->auth.keys[0].key_env, "SEAM_TEST_BILLING_KEY");
    assert_true(cfg->auth.keys[1].key_present);
    assert_null(cfg->auth.keys[1].key_env);
    assert_false(cfg->auth.keys[2].key_present);
    assert_string_equal(cfg->auth.keys[2].tenant, "ghost"); /* default: the name */

    setenv("SEAM_TEST_BILLING_KEY", "rotated", 1);
    setenv("SEAM_TEST_UNSET_KEY", "late", 1);
    assert_non_null(seam_auth_identify(cfg, "Bearer billing-secret", NULL, &res));
    assert_null(seam_auth_identify(cfg, "Bearer rotated", NULL, &res));
    assert_null(seam_auth_identify(cfg, "Bearer late", NULL, &res));
    /* The unset key's all-zero hash is not the hash of anything sent. */
    static const unsigned char zero[32];
    assert_memory_equal(cfg->auth.keys[2].sha256, zero, 32);
    seam_config_free(cfg);
    unsetenv("SEAM_TEST_UNSET_KEY");

    /* An empty variable counts as unset. */
    setenv("SEAM_TEST_EMPTY_KEY", "", 1);
    cfg = load(BACKENDS "auth: {keys: [{name: e, key_env: SEAM_TEST_EMPTY_KEY}]}\n");
    assert_false(cfg->auth.keys[0].key_present);
    assert_null(seam_auth_identify(cfg, "Bearer ", "", &res));
    assert_int_equal(res.status, SEAM_AUTH_MISSING);
    seam_config_free(cfg);
    unsetenv("SEAM_TEST_EMPTY_KEY");
}

/* Only the hash of a key is kept: the configuration holds no copy. */
static void test_key_not_kept(void **state)
{
    seam_config *cfg = keyed_config();
    const seam_key_conf *k = &cfg->auth.keys[0];
    assert_null(memmem(k, sizeof *k, "billing-secret", 14));
    assert_null(strstr(k->name, "secret"));
    assert_null(strstr(k->tenant, "secret"));
    seam_config_free(cfg);
}

static void test_admin(void **state)
{
    seam_config *cfg;
    seam_auth_state st;

    setenv("SEAM_TEST_ADMIN", "root-secret", 1);
    cfg = load(BACKENDS "auth: {admin_key_env: SEAM_TEST_ADMIN, protect_metrics: true}\n");
    assert_true(cfg->auth.metrics_need_admin);
    seam_auth_state_init(&st, cfg);
    assert_true(st.admin_set);
    /* Read once: changing the variable afterwards changes nothing. */
    setenv("SEAM_TEST_ADMIN", "other", 1);
    assert_true(seam_auth_admin(&st, "Bearer root-secret", NULL));
    assert_true(seam_auth_admin(&st, NULL, "root-secret"));
    assert_true(seam_auth_admin(&st, "bearer  root-secret ", "junk"));
    assert_false(seam_auth_admin(&st, "Bearer other", NULL));
    assert_false(seam_auth_admin(&st, "root-secret", NULL));
    assert_false(seam_auth_admin(&st, NULL, NULL));
    assert_false(seam_auth_admin(&st, "Bearer ", ""));
    /* With no client keys, clients are anonymous but admin still needs
     * the admin key. */
    seam_auth_result res;
    assert_null(seam_auth_identify(cfg, NULL, NULL, &res));
    assert_int_equal(res.status, SEAM_AUTH_ANONYMOUS);
    seam_config_free(cfg);

    /* Variable unset: admin refused, whatever is sent. */
    unsetenv("SEAM_TEST_ADMIN");
    cfg = load(BACKENDS "auth: {admin_key_env: SEAM_TEST_ADMIN}\n");
    seam_auth_state_init(&st, cfg);
    assert_false(st.admin_set);
    assert_false(seam_auth_admin(&st, "Bearer ", NULL));
    assert_false(seam_auth_admin(&st, NULL, NULL));
    seam_config_free(cfg);

    /* No admin_key_env at all (or ""): refused. */
    cfg = load(BACKENDS "auth: {admin_key_env: \"\"}\n");
    assert_null(cfg->auth.admin_key_env);
    seam_auth_state_init(&st, cfg);
    assert_false(st.admin_set);
    seam_config_free(cfg);
    cfg = load(BACKENDS);
    seam_auth_state_init(&st, cfg);
    assert_false(seam_auth_admin(&st, "Bearer x", "x"));
    seam_config_free(cfg);
}

/* A client key is not an admin key, and the admin key is not a client key
 * unless configured as one. */
static void test_admin_separate(void **state)
{
    seam_auth_state st;
    seam_auth_result res;
    setenv("SEAM_TEST_ADMIN", "root-secret", 1);
    setenv("SEAM_TEST_BILLING_KEY", "billing-secret", 1);
    seam_config *cfg = load(BACKENDS "auth:\n  admin_key_env: SEAM_TEST_ADMIN\n"
                                     "  keys: [{name: b, key_env: SEAM_TEST_BILLING_KEY}]\n");
    seam_auth_state_init(&st, cfg);
    assert_false(seam_auth_admin(&st, "Bearer billing-secret", NULL));
    assert_null(seam_auth_identify(cfg, "Bearer root-secret", NULL, &res));
    assert_int_equal(res.status, SEAM_AUTH_INVALID);
    seam_config_free(cfg);
    unsetenv("SEAM_TEST_ADMIN");
}

/* Many keys: each one finds itself (the constant-time loop's index
 * selection), and the last one as well as the first. */
static void test_many_keys(void **state)
{
    char yaml[16384];
    size_t o = (size_t)snprintf(yaml, sizeof yaml, BACKENDS "auth:\n  keys:\n");
    for (int i = 0; i < 40; i++) {
        char key[32], hex[65];
        snprintf(key, sizeof key, "key-%d", i);
        hex_of(key, hex);
        o += (size_t)snprintf(yaml + o, sizeof yaml - o,
                              "    - {name: k%d, key_sha256: %s, tenant: t%d}\n", i, hex, i % 3);
    }
    seam_config *cfg = load(yaml);
    for (int i = 0; i < 40; i++) {
        char hdr[64];
        seam_auth_result res;
        snprintf(hdr, sizeof hdr, "Bearer key-%d", i);
        const seam_key_conf *k = seam_auth_identify(cfg, hdr, NULL, &res);
        assert_non_null(k);
        assert_int_equal(res.key_index, i);
        assert_ptr_equal(k, &cfg->auth.keys[i]);
    }
    seam_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known),
        cmocka_unit_test(test_no_keys_anonymous),
        cmocka_unit_test(test_bearer),
        cmocka_unit_test(test_x_api_key),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_key_env_resolved_at_load),
        cmocka_unit_test(test_key_not_kept),
        cmocka_unit_test(test_admin),
        cmocka_unit_test(test_admin_separate),
        cmocka_unit_test(test_many_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
