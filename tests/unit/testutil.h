/* Shared fixtures for the unit tests: the reference configuration. */
#ifndef SEAM_TESTS_TESTUTIL_H
#define SEAM_TESTS_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "config/config.h"

/* The routing table of ARCHITECTURE.md with a local and a cloud backend. */
static const char reference_yaml[] =
    "listen: 127.0.0.1:0\n"
    "workers: 2\n"
    "backends:\n"
    "  - name: gemma-local\n"
    "    provider: openai\n"
    "    url: http://127.0.0.1:11434\n"
    "    location: local\n"
    "    models: [gemma4:31b]\n"
    "  - name: frontier\n"
    "    provider: openai\n"
    "    url: https://api.openai.com\n"
    "    location: cloud\n"
    "    models: [gpt-5.1]\n"
    "    api_key_env: SEAM_UNIT_TEST_KEY\n"
    "pools:\n"
    "  local: [gemma-local]\n"
    "  cloud: [frontier]\n"
    "policy:\n"
    "  rules:\n"
    "    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: "
    "local }\n"
    "    - { name: high-volume-stays-local, when: { tokens_gt: 64000 }, route: local }\n"
    "    - { name: frontier-drafting, when: { kind: [draft], complexity: [high] }, route: cloud }\n"
    "  default: local\n";

static inline seam_config *load_yaml(const char *yaml)
{
    seam_config *cfg = NULL;
    char err[512] = "";
    seam_rc rc = seam_config_parse(yaml, strlen(yaml), "test.yaml", &cfg, err, sizeof(err));
    if (rc != SEAM_OK)
        print_error("config error: %s\n", err);
    assert_int_equal(rc, SEAM_OK);
    return cfg;
}

#endif
