/*
 * Unit tests for src/scan: every validator with known-valid and known-invalid
 * values; the scanner on each built-in type (exact spans), scoring, context
 * words, entropy floors and allow-lists; overlap resolution; look-alike
 * normalisation with spans mapped back, in one piece and across windows;
 * custom words and patterns; failure paths (fail closed) with allocation
 * fault injection; and two corpus tests: the labelled dev set
 * (../shared/data/pii-dev.jsonl, precision and recall >= 0.97 overall and per
 * type) and clean text (at most one flagged entity per 1,000 prompts of
 * 1 KB). Run from the repository root.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <hs.h>

#include "config/config.h"
#include "core/alloc.h"
#include "scan/detectors.h"
#include "scan/normalize.h"
#include "scan/scan.h"
#include "scan/validate.h"
#include "scan_corpus.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEV_SET "../shared/data/pii-dev.jsonl"

/* ---- helpers ------------------------------------------------------------ */

static seam_scanner *new_scanner(const seam_config *cfg)
{
    seam_scanner *s = NULL;
    char err[512] = "";
    seam_rc rc = seam_scanner_new(cfg, &s, err, sizeof err);
    if (rc != SEAM_OK)
        fail_msg("seam_scanner_new: %d %s", rc, err);
    return s;
}

static seam_config *parse_cfg(const char *yaml)
{
    seam_config *cfg = NULL;
    char err[512] = "";
    if (seam_config_parse(yaml, strlen(yaml), "t.yaml", &cfg, err, sizeof err) != SEAM_OK)
        fail_msg("config: %s", err);
    return cfg;
}

#define MIN_CFG                                                                                    \
    "backends:\n"                                                                                  \
    "  - { name: a, provider: openai, url: 'http://h:1', location: local, models: [m] }\n"         \
    "pools:\n"                                                                                     \
    "  local: [a]\n"

/* A scanner with the built-in defaults and a scratch, shared by the tests
 * that need nothing else. */
static seam_scanner *S;
static seam_scan_scratch *SC;

static int setup(void **state)
{
    S = new_scanner(NULL);
    SC = seam_scan_scratch_new(S);
    return SC ? 0 : -1;
}

static int teardown(void **state)
{
    seam_scan_scratch_free(SC);
    seam_scanner_free(S);
    return 0;
}

static void scan(const char *text, seam_scan_result *r)
{
    seam_scan_result_init(r);
    assert_int_equal(seam_scan_text(S, SC, text, strlen(text), r), SEAM_OK);
}

/* Asserts that <text> holds exactly one entity, of <type>, spanning the
 * first occurrence of <value>. */
static void expect_one(const char *text, uint32_t type, const char *value)
{
    seam_scan_result r;
    scan(text, &r);
    const char *at = strstr(text, value);
    assert_non_null(at);
    size_t s = (size_t)(at - text), e = s + strlen(value);
    if (r.n != 1 || r.ents[0].type != type || r.ents[0].start != s || r.ents[0].end != e) {
        for (size_t i = 0; i < r.n; i++)
            print_error("  got %s [%zu, %zu) %.2f\n", seam_scan_type_name(S, r.ents[i].type),
                        r.ents[i].start, r.ents[i].end, r.ents[i].score);
        fail_msg("'%s': expected one %s at [%zu, %zu), got %zu entities", text,
                 seam_scan_type_name(S, type), s, e, r.n);
    }
    seam_scan_result_free(&r);
}

static void expect_none(const char *text)
{
    seam_scan_result r;
    scan(text, &r);
    if (r.n) {
        const seam_entity *x = &r.ents[0];
        fail_msg("'%s': expected nothing, got %s [%zu, %zu) score %.2f", text,
                 seam_scan_type_name(S, x->type), x->start, x->end, x->score);
    }
    assert_int_equal(r.level, SEAM_SENS_PUBLIC);
    seam_scan_result_free(&r);
}

#define V(fn, s) fn(s, strlen(s))

/* ---- validators ----------------------------------------------------------- */

static void test_luhn_and_cards(void **state)
{
    assert_true(V(seam_scan__luhn, "79927398713"));
    assert_false(V(seam_scan__luhn, "79927398710"));
    assert_false(V(seam_scan__luhn, ""));

    const char *good[] = {"4111111111111111",   "4111 1111 1111 1111", "4111-1111-1111-1111",
                          "378282246310005",    "3782 822463 10005",   "5555555555554444",
                          "6011111111111117",   "2223003122003222",    "4222222222222",
                          "4012 8888 8888 1881"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!V(seam_scan__card, good[i]))
            fail_msg("card %s should be valid", good[i]);
    const char *bad[] = {
        "4111 1111 1111 1112",  /* Luhn */
        "1234567812345670",     /* Luhn passes, no issuer starts with 1 */
        "4111-1111 1111-1111",  /* mixed separators */
        "41111 111 1111 1111",  /* not a card grouping */
        "3782822463100050",     /* Amex prefix with 16 digits */
        "411111111111",         /* too short */
        "4111  1111 1111 1111", /* double space */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (V(seam_scan__card, bad[i]))
            fail_msg("card %s should be invalid", bad[i]);
}

static void test_iban(void **state)
{
    const char *good[] = {"DE89 3704 0044 0532 0130 00",
                          "DE89370400440532013000",
                          "GB82 WEST 1234 5698 7654 32",
                          "NL91ABNA0417164300",
                          "FR1420041010050500013M02606",
                          "ES9121000418450200051332",
                          "BE68539007547034"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!V(seam_scan__iban, good[i]))
            fail_msg("IBAN %s should be valid", good[i]);
    const char *bad[] = {"DE89 3704 0044 0532 0130 01", /* check digits */
                         "DE8937040044053201300",       /* German length is 22 */
                         "XX89370400440532013000",      /* no such country */
                         "DE89 37040 044 0532 0130 00", /* groups of four */
                         "de89370400440532013000",      /* lower case */
                         "DE89 3704 0044 0532 0130 00 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (V(seam_scan__iban, bad[i]))
            fail_msg("IBAN %s should be invalid", bad[i]);
}

static void test_us_ids(void **state)
{
    assert_true(V(seam_scan__ssn, "536-22-1234"));
    assert_true(V(seam_scan__ssn, "536 22 1234"));
    assert_true(V(seam_scan__ssn, "536221234"));
    assert_true(V(seam_scan__ssn, "001-01-0001"));
    const char *bad_ssn[] = {"000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456",
                             "536-00-1234", "536-22-0000", "111-11-1111", "536-22 1234",
                             "078-05-1120", "123-45-6789", "53-622-1234", "536-22-123"};
    for (size_t i = 0; i < sizeof bad_ssn / sizeof bad_ssn[0]; i++)
        if (V(seam_scan__ssn, bad_ssn[i]))
            fail_msg("SSN %s should be invalid", bad_ssn[i]);

    assert_true(V(seam_scan__aba, "011000015"));
    assert_true(V(seam_scan__aba, "021000021"));
    assert_true(V(seam_scan__aba, "121000358"));
    assert_true(V(seam_scan__aba, "026009593"));
    assert_false(V(seam_scan__aba, "021000022")); /* checksum */
    assert_false(V(seam_scan__aba, "421000021")); /* prefix 42 is not a Fed district */
    assert_false(V(seam_scan__aba, "000000000"));
    assert_false(V(seam_scan__aba, "02100002"));

    assert_true(V(seam_scan__npi, "1234567893"));
    assert_false(V(seam_scan__npi, "1234567890"));
    assert_false(V(seam_scan__npi, "3234567893")); /* starts 1 or 2 */
    assert_false(V(seam_scan__npi, "123456789"));

    assert_true(V(seam_scan__dea, "AB1234563"));
    assert_true(V(seam_scan__dea, "A91234563"));
    assert_true(V(seam_scan__dea, "FP7681427"));
    assert_false(V(seam_scan__dea, "AB1234564")); /* check digit */
    assert_false(V(seam_scan__dea, "ZB1234563")); /* Z is no registrant type */
    assert_false(V(seam_scan__dea, "Ab1234563"));
    assert_false(V(seam_scan__dea, "AB123456"));
}

static void test_nhs(void **state)
{
    assert_true(V(seam_scan__nhs, "943 476 5919"));
    assert_true(V(seam_scan__nhs, "9434765919"));
    assert_true(V(seam_scan__nhs, "943-476-5919"));
    assert_false(V(seam_scan__nhs, "943 476 5918"));
    assert_false(V(seam_scan__nhs, "943 476-5919"));
    assert_false(V(seam_scan__nhs, "000 000 0000"));
    assert_false(V(seam_scan__nhs, "94347659190"));
}

static void test_jwt(void **state)
{
    assert_true(
        V(seam_scan__jwt,
          "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpv"
          "aG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"));
    /* alg "none": no signature. */
    assert_true(V(seam_scan__jwt, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0."));
    /* Header without "alg". */
    assert_false(V(seam_scan__jwt, "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.c2ln"));
    /* Payload that is not JSON ("not json"). */
    assert_false(V(seam_scan__jwt, "eyJhbGciOiJub25lIn0.bm90IGpzb24.c2ln"));
    /* Three dots, bad characters. */
    assert_false(V(seam_scan__jwt, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.a.b"));
    assert_false(V(seam_scan__jwt, "eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.a+b"));
}

static void test_network(void **state)
{
    assert_true(V(seam_scan__ipv4, "192.168.1.10"));
    assert_true(V(seam_scan__ipv4, "23.136.205.36"));
    assert_false(V(seam_scan__ipv4, "256.1.1.1"));
    assert_false(V(seam_scan__ipv4, "01.2.3.4"));
    assert_false(V(seam_scan__ipv4, "1.2.3"));
    assert_true(V(seam_scan__ipv6, "2001:db8::1"));
    assert_true(V(seam_scan__ipv6, "2001:db8:b3e::4a46"));
    assert_true(V(seam_scan__ipv6, "fe80::a00:27ff:fe4e:66a1"));
    assert_true(V(seam_scan__ipv6, "2001:0db8:0000:0000:0000:ff00:0042:8329"));
    assert_false(V(seam_scan__ipv6, "12:30:45"));
    assert_false(V(seam_scan__ipv6, "00:1a:2b:3c:4d:5e"));
    assert_false(V(seam_scan__ipv6, "2001:db8:::1"));
    assert_false(V(seam_scan__ipv6, "a::b"));

    assert_true(V(seam_scan__email, "kate@example.com"));
    assert_true(V(seam_scan__email, "j.smith77@bigbank.co.uk"));
    assert_true(V(seam_scan__email, "dev-ops+ci@acme-health.org"));
    assert_false(V(seam_scan__email, "kate@example.invalidtld"));
    assert_false(V(seam_scan__email, "a..b@example.com"));
    assert_false(V(seam_scan__email, ".a@example.com"));
    assert_false(V(seam_scan__email, "a@-example.com"));
    assert_false(V(seam_scan__email, "a@localhost"));
    assert_true(V(seam_scan__tld, "IO"));
    assert_false(V(seam_scan__tld, "png"));
}

static void test_phone(void **state)
{
    const char *good[] = {"+44 20 7946 0958",  "+1 212-555-0198",   "(212) 555-0198",
                          "212.555.0198",      "+49 30 35018320",   "+442079460958",
                          "+1 (212) 555-0198", "+33 1 23 45 67 89", "+91 98765 43210"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!V(seam_scan__phone, good[i]))
            fail_msg("phone %s should be valid", good[i]);
    const char *bad[] = {"+1 112-555-0198", /* area codes do not start with 1 */
                         "+44 20 79",       /* too short for the UK */
                         "+35236450.6",     /* a decimal */
                         "123-555-0198",    "212-055-0198",
                         "+80 12345678", /* no such country code */
                         "(212 555-0198",   "+1 212-555-01981"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (V(seam_scan__phone, bad[i]))
            fail_msg("phone %s should be invalid", bad[i]);
}

static void test_dates(void **state)
{
    assert_true(seam_scan__date_ok(2024, 2, 29));
    assert_false(seam_scan__date_ok(2023, 2, 29));
    assert_false(seam_scan__date_ok(1900, 2, 29));
    assert_false(seam_scan__date_ok(1899, 12, 31));
    assert_false(seam_scan__date_ok(2000, 4, 31));
    struct {
        const char *s;
        size_t len;
    } cases[] = {
        {"1990-05-25", 10},    {"05/25/1990", 10},   {"25/05/1990", 10},
        {"25.05.1990", 10},    {"5/25/90", 7},       {"25 May 1990", 11},
        {"25th May 1990", 13}, {"May 25, 1990", 12}, {"September 3 1990", 16},
        {"3 Sept 1990", 11},   {"25-May-1990", 11},  {"1990-13-01", 0},
        {"31/02/1990", 0},     {"1990-05-251", 0},   {"May 1990", 0},
        {"25 Mayo 1990", 0},   {"born 1990", 0},     {"1990/05/25, ok", 10},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t got = V(seam_scan__date, cases[i].s);
        if (got != cases[i].len)
            fail_msg("date '%s': length %zu, expected %zu", cases[i].s, got, cases[i].len);
    }
}

static void test_entropy_placeholders(void **state)
{
    assert_true(V(seam_scan__entropy, "aaaa") == 0.0);
    assert_true(V(seam_scan__entropy, "abcd") > 1.99 && V(seam_scan__entropy, "abcd") < 2.01);
    assert_true(V(seam_scan__entropy, "FVjLxSJoPBC5jC!TSKO0shwJEU6^N") > 3.5);

    const char *ph[] = {"<your-password-here>", "${API_KEY}",   "{{ token }}",
                        "{password}",           "changeme",     "xxxxxxxx",
                        "XXXXXXXXXXXX",         "$DB_PASSWORD", "%APPDATA%",
                        "your_key_here",        "aaaaaaaaaaaa", "abababababab",
                        "0123456789",           "[REDACTED]",   "sk-example-key"};
    for (size_t i = 0; i < sizeof ph / sizeof ph[0]; i++)
        if (!V(seam_scan__placeholder, ph[i]))
            fail_msg("'%s' should be a placeholder", ph[i]);
    /* Every word of the placeholder list, inside a value (this also checks
     * that the list and its index by first character agree). */
    const char *words[] = {
        "example", "placeholder", "changeme", "change_me", "change-me", "xxxxx",   "redacted",
        "dummy",   "sample",      "insert",   "replace",   "password",  "notreal", "not_real",
        "${",      "{{",          "}}",       "%(",        "*****",     "....",    "your",
        "here",    "todo",        "fake",     "xxxx",      "fixme"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        char v[64];
        snprintf(v, sizeof v, "Q7%sZ9k", words[i]);
        if (!V(seam_scan__placeholder, v))
            fail_msg("'%s' should be a placeholder", v);
    }
    const char *real[] = {"FVjLxSJoPBC5jC!TSKO0shwJEU6^N", "$V0QmCZSxLzXl7xeQBjtbW", "s3cr3t!Pass",
                          "Xk9#mP2$qRt7!vLw"};
    for (size_t i = 0; i < sizeof real / sizeof real[0]; i++)
        if (V(seam_scan__placeholder, real[i]))
            fail_msg("'%s' should not be a placeholder", real[i]);

    const char *code[] = {
        "os.environ[\"X\"]",     "getpass()",   "settings.SECRET_KEY",  "process.env.TOKEN",
        "https://example.com/x", "/etc/secret", "urn:ietf:params:oauth"};
    for (size_t i = 0; i < sizeof code / sizeof code[0]; i++)
        if (!V(seam_scan__code_like, code[i]))
            fail_msg("'%s' should look like code", code[i]);
    assert_false(V(seam_scan__code_like, "s3cr3t!Pass"));
    assert_false(V(seam_scan__code_like, "Xk9#mP2$qRt7!vLw"));
}

/* ---- the scanner, type by type -------------------------------------------- */

#define PEM_BODY                                                                                   \
    "ouLa5FHz5oR+jfh6jOEnkniLq6MpRk12xE5tINTQqe7UH2nXxwrC9AO0mMfWcPlw\n"                           \
    "i9/4Dsesz1TvQQ3JDSrbRexdGYXCp2zop6zCjteBKfAJGrNyIxQPfmYKTnpA8jpv\n"                           \
    "7oO8VTpTnzcNn8DLZSZ8NJo9FbHbvSOuBtf6Nt25607eWor37t+JpX0sjuZ87cKs\n"
#define JWT_IO                                                                                     \
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."                                                        \
    "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0"                                     \
    "IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
#define OPENAI_PROJ                                                                                \
    "sk-proj-NEhEkk-iqq8vH2BzNZV45pFCiRcDCajhDieQjEJ-"                                             \
    "Bq8F80ymm3T207gmT3BlbkFJhZRnFyy5r2xJ7Fj4mgblEv"                                               \
    "0-9BZhvWaXH6K2-tyLBhhOhg9uhkxiiEZpFf"
#define ANTHROPIC                                                                                  \
    "sk-ant-api03-iFVKu4MbMnrHontIKARAH-"                                                          \
    "Ggl2JfaQqHu42bojteVs3qfNUfTAFnT0tEuw0dwQ0FIunWe8Cz6SNDCdyZQ"                                  \
    "JiJSZQdoHwHeAA"

static const struct {
    uint32_t type;
    const char *text, *value;
} one_each[] = {
    {SEAM_ENT_CREDIT_CARD, "Card on file: 4111 1111 1111 1111, exp 09/27.", "4111 1111 1111 1111"},
    {SEAM_ENT_CREDIT_CARD, "charge 378282246310005 today", "378282246310005"},
    {SEAM_ENT_CREDIT_CARD, "card 4111-1111-1111-1111 12/27 please", "4111-1111-1111-1111"},
    {SEAM_ENT_IBAN, "Wire it to IBAN DE89 3704 0044 0532 0130 00 by Friday.",
     "DE89 3704 0044 0532 0130 00"},
    {SEAM_ENT_IBAN, "IBAN NL91ABNA0417164300.", "NL91ABNA0417164300"},
    {SEAM_ENT_IBAN, "to GB82 WEST 1234 5698 7654 32 BY MONDAY", "GB82 WEST 1234 5698 7654 32"},
    {SEAM_ENT_US_SSN, "Patient SSN 536-22-1234 needs verification.", "536-22-1234"},
    {SEAM_ENT_US_SSN, "social security number 536 22 1234", "536 22 1234"},
    {SEAM_ENT_US_SSN, "SSN: 536221234", "536221234"},
    {SEAM_ENT_EMAIL, "Reach me at m_rossi97@mail.contoso.io today", "m_rossi97@mail.contoso.io"},
    {SEAM_ENT_EMAIL, "<priya.k+news@bigbank.co.uk>", "priya.k+news@bigbank.co.uk"},
    {SEAM_ENT_PHONE, "or call +44 20 7946 0958.", "+44 20 7946 0958"},
    {SEAM_ENT_PHONE, "office (212) 555-0198", "(212) 555-0198"},
    {SEAM_ENT_PHONE, "call 878.768.6820.", "878.768.6820"},
    {SEAM_ENT_PHONE, "mobile: 212-555-0198", "212-555-0198"},
    {SEAM_ENT_IP_ADDRESS, "attempts came from 23.136.205.36 last night", "23.136.205.36"},
    {SEAM_ENT_IP_ADDRESS, "host 2001:db8:b3e::4a46 is down", "2001:db8:b3e::4a46"},
    {SEAM_ENT_IP_ADDRESS, "route via 10.0.0.1", "10.0.0.1"},
    {SEAM_ENT_PRIVATE_KEY,
     "key:\n-----BEGIN RSA PRIVATE KEY-----\n" PEM_BODY "-----END RSA PRIVATE KEY-----\nbye",
     "-----BEGIN RSA PRIVATE KEY-----\n" PEM_BODY "-----END RSA PRIVATE KEY-----"},
    {SEAM_ENT_AWS_ACCESS_KEY, "export AWS_ACCESS_KEY_ID=AKIAHBRPOIGF3CBFNOBM",
     "AKIAHBRPOIGF3CBFNOBM"},
    {SEAM_ENT_GITHUB_TOKEN, "my token is ghp_TPSIAoCLrZ3aWZkSBvrjn9Wvgfygw2wMqZcU can you",
     "ghp_TPSIAoCLrZ3aWZkSBvrjn9Wvgfygw2wMqZcU"},
    {SEAM_ENT_GITHUB_TOKEN,
     "pat "
     "github_pat_DIh7yfJs1ON43xKmTecQoX_sf2o3gyrDO1xkxwnQrS7RPeMOkIUpkDyr7OSJoRu1XXdo0cZuzren68K4"
     "Tu",
     "github_pat_DIh7yfJs1ON43xKmTecQoX_"
     "sf2o3gyrDO1xkxwnQrS7RPeMOkIUpkDyr7OSJoRu1XXdo0cZuzren68K4Tu"},
    {SEAM_ENT_GITLAB_TOKEN, "GITLAB_TOKEN=glpat-B_Y6sHrFH2ZUCr_lgotu",
     "glpat-B_Y6sHrFH2ZUCr_lgotu"},
    {SEAM_ENT_HUGGINGFACE_TOKEN, "HF_TOKEN=hf_YRBMeyyMDHqJ38aRUhR4IWrXPvhsBkDa9U",
     "hf_YRBMeyyMDHqJ38aRUhR4IWrXPvhsBkDa9U"},
    {SEAM_ENT_NPM_TOKEN,
     "//registry.npmjs.org/:_authToken=npm_4UqGWlG6g3Ot1OGMmjxWkI9X7H6aMuFbh7x4",
     "npm_4UqGWlG6g3Ot1OGMmjxWkI9X7H6aMuFbh7x4"},
    {SEAM_ENT_OPENAI_KEY, "OPENAI_API_KEY=" OPENAI_PROJ, OPENAI_PROJ},
    {SEAM_ENT_OPENAI_KEY, "key 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.",
     "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"},
    {SEAM_ENT_ANTHROPIC_KEY, "client = Anthropic(api_key=\"" ANTHROPIC "\")", ANTHROPIC},
    {SEAM_ENT_GOOGLE_API_KEY, "maps key AIzan3SO3oXyGf3azU3iQOpMN0PZLqy1WwMZaMK stopped",
     "AIzan3SO3oXyGf3azU3iQOpMN0PZLqy1WwMZaMK"},
    {SEAM_ENT_SLACK_TOKEN,
     "slack bot token: xoxb-369957773872-1489513433200-pEN2XeDA4OKmTSyFzpjPSa5W",
     "xoxb-369957773872-1489513433200-pEN2XeDA4OKmTSyFzpjPSa5W"},
    {SEAM_ENT_SLACK_TOKEN,
     "post to https://hooks.slack.com/services/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 now",
     "https://hooks.slack.com/services/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"},
    {SEAM_ENT_STRIPE_KEY, "stripe.api_key = 'sk_live_3X4gXBolZ9SHDdJp62hDiZDQ'",
     "sk_live_3X4gXBolZ9SHDdJp62hDiZDQ"},
    {SEAM_ENT_JWT, "Authorization: Bearer " JWT_IO, JWT_IO},
    {SEAM_ENT_GENERIC_SECRET, "db:\n  user: app\n  password: \"FVjLxSJoPBC5jC!TSKO0shwJEU6^N\"\n",
     "FVjLxSJoPBC5jC!TSKO0shwJEU6^N"},
    {SEAM_ENT_GENERIC_SECRET, "DB_PASSWORD=Xk9#mP2$qRt7!vLw", "Xk9#mP2$qRt7!vLw"},
    {SEAM_ENT_GENERIC_SECRET, "{\"client_secret\": \"q8Zt3LmN0pR5sV7xY2bC\"}",
     "q8Zt3LmN0pR5sV7xY2bC"},
    {SEAM_ENT_GENERIC_SECRET, "DATABASE_URL=postgres://app:s3cr3tP4ssw0rd@db:5432/app",
     "s3cr3tP4ssw0rd"},
    {SEAM_ENT_GENERIC_SECRET, "curl -H 'Authorization: Bearer 9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c'",
     "9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c"},
    {SEAM_ENT_ABA_ROUTING, "Routing number 021000021, account ending 4411.", "021000021"},
    {SEAM_ENT_US_NPI, "Prescriber NPI 1234567893 is missing on the claim.", "1234567893"},
    {SEAM_ENT_US_DEA, "DEA registration AB1234563 expired.", "AB1234563"},
    {SEAM_ENT_UK_NHS, "NHS number 943 476 5919 for the referral letter.", "943 476 5919"},
    {SEAM_ENT_MRN, "MRN: 7999-2787 admitted with chest pain.", "7999-2787"},
    {SEAM_ENT_MRN, "medical record number is MR9400097.", "MR9400097"},
    {SEAM_ENT_DOB, "DOB: 1942-05-25, allergies: penicillin.", "1942-05-25"},
    {SEAM_ENT_DOB, "date of birth 9 June 1945", "9 June 1945"},
    {SEAM_ENT_DOB, "born on March 5, 1974 in Leeds", "March 5, 1974"},
};

static void test_each_type(void **state)
{
    for (size_t i = 0; i < sizeof one_each / sizeof one_each[0]; i++)
        expect_one(one_each[i].text, one_each[i].type, one_each[i].value);
}

/* The hard negatives of the reference's pitfalls column. */
static void test_look_alikes_are_not_values(void **state)
{
    const char *none[] = {
        "Order #4617 8444 4778 1472 shipped on Monday.", /* fails Luhn */
        "Part number 994-79-1782 is out of stock.",      /* SSN area 9xx */
        "Part number 666-13-9137 is out of stock.",
        "Ship to Springfield, IL 62704-0017.", /* ZIP+4 */
        "Reference DE92544983035934657941 is not a valid account.",
        "Reference NL14 EXIS 8479 2510 59 is not a valid account.",
        "Upgrade the agent to version 10.8.7.1 before Friday.",
        "use v1.2.3.4 or 1.2.3.4.5 or OID 1.3.6.1.4.1.311",
        "see [23.2.1.1] and section 22.2.1.5",
        "The meeting moved to 01/04/2026 at 10am.",
        "request id 487442bb-0562-4a54-a598-a8e4d5505251",
        "commit 5f967920fb3cb98fa270ff22d941a462875b7bda fixed the race",
        "We sold 3689 units in Q3, up 22% year over year.",
        "Clone it with git clone git@github.com:acme/tools.git",
        "npm install @types/node --save-dev",
        "@app.route('/x') and lodash@4.17.21 and user@localhost",
        "Edit main.py and config.sh, then run make.",
        "loopback 127.0.0.1, any 0.0.0.0, mask 255.255.255.0, ::1",
        "12:30:45 and 00:1a:2b:3c:4d:5e and std::vector",
        "id 1234567893 and ref 943 476 5919 and badge AB1234563 and 021000021",
        "ISBN 978-0-13-110362-7, pages 100-120",
        "-----BEGIN PUBLIC KEY-----\n" PEM_BODY "-----END PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----\n" PEM_BODY "-----END CERTIFICATE-----",
        "Date of birth is shown in the header; she was born in 1980.",
        "The patient ID column is optional; the MRN field is validated.",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        expect_none(none[i]);
}

static void test_allow_lists(void **state)
{
    const char *none[] = {
        "The docs use AKIAIOSFODNN7EXAMPLE as a sample key.",
        "AWS_ACCESS_KEY_ID=AKIAAAAAAAAAAAAAAAAA",
        "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "Set OPENAI_API_KEY=${OPENAI_API_KEY} in the workflow.",
        "password: <your-password-here>",
        "token: {{ .Values.token }}",
        "password: changeme",
        "password = \"changeme123!\"",
        "secret: xxxxxxxxxxxxxxxx",
        "api_key: $API_KEY",
        "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "stripe test key sk_test_4eC39HqLyjWDarjtT1zdp7dc from the docs",
        "password = os.environ[\"DB_PASSWORD\"]",
        "token = tokenizer.encode(text)",
        "passwd = getpass()",
        "secret_key = settings.SECRET_KEY",
        "const token = req.headers.authorization;",
        "password: \"aaaaaaaaaaaaaaa1\"",
        "max_tokens: 4096000000",
        "credentials = netrc.netrc()",
        "node::credentials::HasOnly",
        "this.tokenUrl = 'https://auth.example.com/oauth/token';",
        "https://user:password@example.com",
    };
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        expect_none(none[i]);
}

/* ---- scoring ------------------------------------------------------------- */

static float score_of(const char *text, uint32_t type)
{
    seam_scan_result r;
    float best = -1;
    scan(text, &r);
    for (size_t i = 0; i < r.n; i++)
        if (r.ents[i].type == type && r.ents[i].score > best)
            best = r.ents[i].score;
    seam_scan_result_free(&r);
    return best;
}

static void test_scores_and_context(void **state)
{
    /* Strong validators confirm: 1.0. */
    assert_true(score_of("4111111111111111", SEAM_ENT_CREDIT_CARD) == 1.0f);
    assert_true(score_of("NL91ABNA0417164300", SEAM_ENT_IBAN) == 1.0f);
    /* Medium tier on format. */
    assert_true(score_of("kate@example.com", SEAM_ENT_EMAIL) > 0.85f);
    /* Context raises weak ones over the threshold... */
    assert_true(score_of("NPI 1234567893", SEAM_ENT_US_NPI) >= 0.5f);
    assert_true(score_of("routing 021000021", SEAM_ENT_ABA_ROUTING) >= 0.5f);
    assert_true(score_of("DEA AB1234563", SEAM_ENT_US_DEA) >= 0.5f);
    assert_true(score_of("NHS no. 943 476 5919", SEAM_ENT_UK_NHS) >= 0.5f);
    assert_true(score_of("call 212-555-0198", SEAM_ENT_PHONE) >= 0.5f);
    assert_true(score_of("SSN 536 22 1234", SEAM_ENT_US_SSN) >= 0.5f);
    /* ...and without it they stay under (not reported at all). */
    assert_true(score_of("id 1234567893", SEAM_ENT_US_NPI) < 0);
    assert_true(score_of("ref 212-555-0198", SEAM_ENT_PHONE) < 0);
    assert_true(score_of("536 22 1234", SEAM_ENT_US_SSN) < 0);
    /* Context must be a whole word nearby, not part of another word. */
    assert_true(score_of("snpi 1234567893", SEAM_ENT_US_NPI) < 0);
    assert_true(score_of("NPI was mentioned a long time ago, in another sentence entirely; "
                         "1234567893",
                         SEAM_ENT_US_NPI) < 0);
    /* Four small numbers need an address-like context. */
    assert_true(score_of("see 2.5.29.16", SEAM_ENT_IP_ADDRESS) < 0);
    assert_true(score_of("DNS server 8.8.8.8", SEAM_ENT_IP_ADDRESS) >= 0.5f);
}

static void test_threshold_from_config(void **state)
{
    seam_config *cfg = parse_cfg(MIN_CFG "detect:\n  threshold: 0.95\n");
    seam_scanner *s = new_scanner(cfg);
    seam_scan_scratch *sc = seam_scan_scratch_new(s);
    seam_scan_result r;
    const char *t = "kate@example.com paid with 4111111111111111";
    seam_scan_result_init(&r);
    assert_int_equal(seam_scan_text(s, sc, t, strlen(t), &r), SEAM_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ents[0].type, SEAM_ENT_CREDIT_CARD);
    seam_scan_result_free(&r);
    seam_scan_scratch_free(sc);
    seam_scanner_free(s);
    seam_config_free(cfg);
}

static void test_overlaps(void **state)
{
    /* api_key = "<OpenAI key>": the generic rule and the OpenAI rule find
     * the same span; the confirmed OpenAI key wins. */
    expect_one("api_key = \"" OPENAI_PROJ "\"", SEAM_ENT_OPENAI_KEY, OPENAI_PROJ);
    /* token=<JWT>: JWT, not a generic secret. */
    expect_one("token=" JWT_IO, SEAM_ENT_JWT, JWT_IO);
    /* A card inside a valid IBAN is the IBAN. */
    expect_one("IBAN DE89 3704 0044 0532 0130 00", SEAM_ENT_IBAN, "DE89 3704 0044 0532 0130 00");
    /* Several entities, in order. */
    seam_scan_result r;
    scan("Summarise: kate@example.com complained; card 4111 1111 1111 1111 declined; "
         "call +44 20 7946 0958.",
         &r);
    assert_int_equal(r.n, 3);
    assert_int_equal(r.ents[0].type, SEAM_ENT_EMAIL);
    assert_int_equal(r.ents[1].type, SEAM_ENT_CREDIT_CARD);
    assert_int_equal(r.ents[2].type, SEAM_ENT_PHONE);
    assert_true(r.ents[0].end <= r.ents[1].start && r.ents[1].end <= r.ents[2].start);
    assert_int_equal(r.level, SEAM_SENS_REGULATED);
    seam_scan_result_free(&r);
}

static void test_levels(void **state)
{
    seam_scan_result r;
    scan("write to kate@example.com", &r);
    assert_int_equal(r.level, SEAM_SENS_INTERNAL);
    seam_scan_result_free(&r);
    scan("nothing here", &r);
    assert_int_equal(r.level, SEAM_SENS_PUBLIC);
    assert_int_equal(r.n, 0);
    seam_scan_result_free(&r);

    /* A result accumulates over several texts: the level only rises. */
    seam_scan_result_init(&r);
    const char *a = "card 4111111111111111", *b = "mail kate@example.com";
    assert_int_equal(seam_scan_text(S, SC, a, strlen(a), &r), SEAM_OK);
    assert_int_equal(seam_scan_text(S, SC, b, strlen(b), &r), SEAM_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.level, SEAM_SENS_REGULATED);
    seam_scan_result_free(&r);

    for (uint32_t t = 0; t < SEAM_ENT__BUILTIN_COUNT; t++) {
        seam_sensitivity want =
            t == SEAM_ENT_EMAIL || t == SEAM_ENT_PHONE || t == SEAM_ENT_IP_ADDRESS
                ? SEAM_SENS_INTERNAL
                : SEAM_SENS_REGULATED;
        assert_int_equal(seam_scan_type_level(S, t), want);
        assert_non_null(seam_scan_type_name(S, t));
    }
    assert_string_equal(seam_scan_type_name(S, SEAM_ENT_CREDIT_CARD), "CREDIT_CARD");
    assert_int_equal(seam_scan_type_count(S), SEAM_ENT__BUILTIN_COUNT);

    /* detect.levels overrides a default. */
    seam_config *cfg = parse_cfg(MIN_CFG "detect:\n  levels: { EMAIL: regulated, IP_ADDRESS: "
                                         "public }\n");
    seam_scanner *s = new_scanner(cfg);
    assert_int_equal(seam_scan_type_level(s, SEAM_ENT_EMAIL), SEAM_SENS_REGULATED);
    assert_int_equal(seam_scan_type_level(s, SEAM_ENT_IP_ADDRESS), SEAM_SENS_PUBLIC);
    assert_int_equal(seam_scan_type_level(s, SEAM_ENT_PHONE), SEAM_SENS_INTERNAL);
    seam_scanner_free(s);
    seam_config_free(cfg);
}

/* ---- normalisation -------------------------------------------------------- */

static void test_normalize_unit(void **state)
{
    char buf[64];
    uint32_t mpos[32], mdelta[32];
    seam_scan__norm nm = {
        .buf = buf, .cap = sizeof buf, .mpos = mpos, .mdelta = mdelta, .mcap = 32};
    /* "4\u00a01\u200b2\uff13-\u20134" */
    const char *src = "4\xc2\xa0"
                      "1\xe2\x80\x8b"
                      "2\xef\xbc\x93-\xe2\x80\x93"
                      "4";
    size_t n = strlen(src);
    assert_int_equal(seam_scan__lookalike_find(src, n), 1);
    assert_int_equal(seam_scan__normalize(&nm, src, n), n);
    assert_int_equal(nm.len, 8);
    assert_memory_equal(buf, "4 123--4", 8);
    /* Each output byte maps back to where its character starts. */
    size_t want_start[] = {0, 1, 3, 7, 8, 11, 12, 15};
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(seam_scan__norm_start(&nm, i), want_start[i]);
    /* Ends cover the whole source character. */
    assert_int_equal(seam_scan__norm_end(&nm, src, 8), n);
    assert_int_equal(seam_scan__norm_end(&nm, src, 5), 11); /* after the full-width 3 */
    assert_int_equal(seam_scan__norm_end(&nm, src, 2), 3);  /* after the NBSP */
    assert_int_equal(seam_scan__norm_end(&nm, src, 3), 4);  /* the 1, not the ZWSP */
    assert_int_equal(seam_scan__lookalike_find("plain ascii text, no tricks", 27), 27);
    /* Other non-ASCII text is not a look-alike. */
    assert_int_equal(seam_scan__lookalike_find("caf\xc3\xa9 \xe2\x82\xac", 9), 9);
}

static void test_normalized_spans(void **state)
{
    /* NBSP-separated card (the dev set's form). */
    expect_one("Card: 4111\xc2\xa0"
               "1111\xc2\xa0"
               "1111\xc2\xa0"
               "1111 ok",
               SEAM_ENT_CREDIT_CARD,
               "4111\xc2\xa0"
               "1111\xc2\xa0"
               "1111\xc2\xa0"
               "1111");
    /* Full-width digits and ideographic spaces. */
    expect_one("card \xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xe3\x80\x80"
               "1111 1111 1111.",
               SEAM_ENT_CREDIT_CARD,
               "\xef\xbc\x94\xef\xbc\x91\xef\xbc\x91\xef\xbc\x91\xe3\x80\x80"
               "1111 1111 1111");
    /* Unicode hyphens in an SSN. */
    expect_one("SSN 536\xe2\x80\x90"
               "22\xe2\x80\x91"
               "1234 on file",
               SEAM_ENT_US_SSN,
               "536\xe2\x80\x90"
               "22\xe2\x80\x91"
               "1234");
    /* Zero-width spaces inside a key do not hide it. */
    expect_one("AKIAHBRP\xe2\x80\x8bOIGF3CBF\xe2\x80\x8bNOBM here", SEAM_ENT_AWS_ACCESS_KEY,
               "AKIAHBRP\xe2\x80\x8bOIGF3CBF\xe2\x80\x8bNOBM");
    /* A narrow no-break space before an e-mail address, and full-width @. */
    expect_one("\xe2\x80\xafkate\xef\xbc\xa0"
               "example.com",
               SEAM_ENT_EMAIL,
               "kate\xef\xbc\xa0"
               "example.com");
}

/* A text of more than three windows, with look-alikes (so it is normalised
 * window by window) and entities all along it, including across every
 * window edge: each entity is found once, with its span in the original. */
static void test_windows(void **state)
{
    const size_t total = 300000;
    char *t = malloc(total + 64);
    size_t starts[1000], n = 0, len = 0;
    const char *card = "4111\xc2\xa0"
                       "1111\xc2\xa0"
                       "1111\xc2\xa0"
                       "1111";
    size_t clen = strlen(card);
    assert_non_null(t);
    while (len + 200 < total && n < 1000) {
        /* Filler of varying length so entities fall at every offset. */
        size_t fill = 300 + (n * 977) % 700;
        for (size_t i = 0; i < fill; i++)
            t[len++] = i % 17 == 16 ? '\n' : (i % 7 == 6 ? ' ' : (char)('a' + i % 26));
        memcpy(t + len, " card ", 6);
        len += 6;
        starts[n++] = len;
        memcpy(t + len, card, clen);
        len += clen;
        t[len++] = ' ';
    }
    seam_scan_result r;
    seam_scan_result_init(&r);
    assert_int_equal(seam_scan_text(S, SC, t, len, &r), SEAM_OK);
    if (r.n != n)
        fail_msg("found %zu cards, expected %zu", r.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r.ents[i].type, SEAM_ENT_CREDIT_CARD);
        assert_int_equal(r.ents[i].start, starts[i]);
        assert_int_equal(r.ents[i].end, starts[i] + clen);
    }
    seam_scan_result_free(&r);
    free(t);
}

/* Texts made of one prefix or anchor repeated: every checker bounds how
 * far it reads, so these scan in linear time (quadratic ones would take
 * minutes here) and find nothing. */
static void test_adversarial_repeats(void **state)
{
    static const char *const units[] = {
        "sk-proj-",  "ghp_",    "a@",         "::",    "xoxb-",    "sk_live_",
        ".eyJ",      "AIza",    "1 ",         "12-",   "+1 ",      "PRIVATE KEY-----\n",
        "password=", "Bearer ", "https://u:", "call ", "T3BlbkFJ", "DOB ",
    };
    const size_t total = 256 * 1024;
    char *t = malloc(total + 32);
    assert_non_null(t);
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t len = 0, ul = strlen(units[u]);
        while (len + ul <= total) {
            memcpy(t + len, units[u], ul);
            len += ul;
        }
        seam_scan_result r;
        seam_scan_result_init(&r);
        assert_int_equal(seam_scan_text(S, SC, t, len, &r), SEAM_OK);
        if (r.n)
            fail_msg("'%s' repeated: %zu entities, the first %s", units[u], r.n,
                     seam_scan_type_name(S, r.ents[0].type));
        seam_scan_result_free(&r);
    }
    free(t);
}

/* ---- custom detectors ----------------------------------------------------- */

static void test_custom_words_and_patterns(void **state)
{
    seam_config *cfg = parse_cfg(
        MIN_CFG
        "detect:\n"
        "  custom:\n"
        "    - { name: PROJECT_CODENAME, words: [bluebird, nightjar, c++], level: internal }\n"
        "    - { name: HOSTNAME, pattern: '[a-z0-9-]+\\.corp\\.example\\.com', level: "
        "internal }\n"
        "    - { name: ACCOUNT, pattern: 'ACCT-[0-9]{6}' }\n");
    seam_scanner *s = new_scanner(cfg);
    seam_scan_scratch *sc = seam_scan_scratch_new(s);
    seam_scan_result r;
    assert_int_equal(seam_scan_type_count(s), SEAM_ENT__BUILTIN_COUNT + 3);
    uint32_t code = SEAM_ENT__BUILTIN_COUNT, host = code + 1, acct = code + 2;
    assert_string_equal(seam_scan_type_name(s, code), "PROJECT_CODENAME");
    assert_string_equal(seam_scan_type_name(s, host), "HOSTNAME");
    assert_int_equal(seam_scan_type_level(s, code), SEAM_SENS_INTERNAL);
    assert_int_equal(seam_scan_type_level(s, acct), SEAM_SENS_REGULATED); /* default */

    const char *t = "Project BlueBird ships; bluebirds do not count; ssh "
                    "build-01.corp.example.com; NIGHTJAR. ACCT-123456, c++ too";
    seam_scan_result_init(&r);
    assert_int_equal(seam_scan_text(s, sc, t, strlen(t), &r), SEAM_OK);
    assert_int_equal(r.n, 5);
    assert_int_equal(r.ents[0].type, code);
    assert_int_equal(r.ents[0].start, 8);
    assert_int_equal(r.ents[0].end, 16);
    assert_int_equal(r.ents[1].type, host);
    assert_memory_equal(t + r.ents[1].start, "build-01.corp.example.com", 25);
    assert_int_equal(r.ents[1].end - r.ents[1].start, 25);
    assert_int_equal(r.ents[2].type, code);
    assert_memory_equal(t + r.ents[2].start, "NIGHTJAR", 8);
    assert_int_equal(r.ents[3].type, acct);
    assert_int_equal(r.ents[4].type, code);
    assert_memory_equal(t + r.ents[4].start, "c++", 3);
    assert_true(r.ents[0].score == 1.0f);
    assert_int_equal(r.level, SEAM_SENS_REGULATED);
    seam_scan_result_free(&r);
    seam_scan_scratch_free(sc);
    seam_scanner_free(s);
    seam_config_free(cfg);
}

/* An expression that matches at every end of a long run ("z+") yields one
 * entity, not one per character. */
static void test_custom_pattern_runs(void **state)
{
    seam_config *cfg = parse_cfg(
        MIN_CFG "detect:\n  custom:\n    - { name: ZED, pattern: 'z+', level: public }\n");
    seam_scanner *s = new_scanner(cfg);
    seam_scan_scratch *sc = seam_scan_scratch_new(s);
    size_t len = 200000;
    char *t = malloc(len);
    assert_non_null(t);
    memset(t, 'z', len);
    t[0] = ' ';
    seam_scan_result r;
    seam_scan_result_init(&r);
    assert_int_equal(seam_scan_text(s, sc, t, len, &r), SEAM_OK);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.ents[0].start, 1);
    assert_int_equal(r.ents[0].end, len);
    assert_int_equal(r.level, SEAM_SENS_PUBLIC);
    seam_scan_result_free(&r);
    free(t);
    seam_scan_scratch_free(sc);
    seam_scanner_free(s);
    seam_config_free(cfg);
}

/* Ten thousand words compile into the one database and cost about what ten
 * do: every word is found, and a scan of clean text takes a similar time. */
static void test_many_words(void **state)
{
    enum { NW = 10000 };
    seam_config *cfg = parse_cfg(MIN_CFG);
    seam_custom_detector *cd = calloc(1, sizeof *cd);
    cd->name = seam_strdup("CUSTOMER");
    cd->level = SEAM_SENS_REGULATED;
    cd->words = seam_calloc(NW, sizeof *cd->words);
    cd->nwords = NW;
    for (size_t i = 0; i < NW; i++) {
        char w[32];
        snprintf(w, sizeof w, "customer%05zuco", i);
        cd->words[i] = seam_strdup(w);
    }
    cfg->detect.custom = seam_calloc(1, sizeof *cd);
    cfg->detect.custom[0] = *cd;
    cfg->detect.ncustom = 1;
    free(cd);

    seam_scanner *s = new_scanner(cfg);
    seam_scan_scratch *sc = seam_scan_scratch_new(s);
    seam_scan_result r;
    const char *t = "Accounts Customer00000co and CUSTOMER09999CO and customer05000co1.";
    seam_scan_result_init(&r);
    assert_int_equal(seam_scan_text(s, sc, t, strlen(t), &r), SEAM_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.ents[0].type, SEAM_ENT__BUILTIN_COUNT);
    assert_int_equal(r.ents[1].start, 29);
    seam_scan_result_free(&r);
    seam_scan_scratch_free(sc);
    seam_scanner_free(s);
    seam_config_free(cfg);
}

static void test_words_file(void **state)
{
    char dir[] = "/tmp/seam-scan-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], words[256];
    snprintf(words, sizeof words, "%s/customers.txt", dir);
    snprintf(path, sizeof path, "%s/seam.yaml", dir);
    FILE *f = fopen(words, "w");
    assert_non_null(f);
    fputs("# customers\nAcme Corp\n  Globex  \r\n\nInitech\n", f);
    fclose(f);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(MIN_CFG "detect:\n  custom:\n    - { name: CUSTOMERS, words_file: customers.txt }\n", f);
    fclose(f);

    seam_config *cfg = NULL;
    char err[512];
    if (seam_config_load(path, &cfg, err, sizeof err) != SEAM_OK)
        fail_msg("%s", err);
    assert_int_equal(cfg->detect.ncustom, 1);
    assert_int_equal(cfg->detect.custom[0].nwords, 3);
    assert_string_equal(cfg->detect.custom[0].words[1], "Globex");
    seam_scanner *s = new_scanner(cfg);
    seam_scan_scratch *sc = seam_scan_scratch_new(s);
    seam_scan_result r;
    const char *t = "Draft a letter to ACME CORP and initech.";
    seam_scan_result_init(&r);
    assert_int_equal(seam_scan_text(s, sc, t, strlen(t), &r), SEAM_OK);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.level, SEAM_SENS_REGULATED);
    seam_scan_result_free(&r);
    seam_scan_scratch_free(sc);
    seam_scanner_free(s);
    seam_config_free(cfg);
    unlink(words);
    unlink(path);
    rmdir(dir);
}

static void expect_scanner_error(const char *yaml, const char *want1, const char *want2)
{
    seam_config *cfg = parse_cfg(yaml);
    seam_scanner *s = NULL;
    char err[512] = "";
    assert_int_equal(seam_scanner_new(cfg, &s, err, sizeof err), SEAM_ERR_CONFIG);
    assert_null(s);
    if (!strstr(err, want1) || !strstr(err, want2))
        fail_msg("error '%s' should mention '%s' and '%s'", err, want1, want2);
    seam_config_free(cfg);
}

static void test_scanner_config_errors(void **state)
{
    /* MIN_CFG is 4 lines; detect: is line 5. */
    expect_scanner_error(MIN_CFG
                         "detect:\n  levels:\n    EMAIL: regulated\n    CREDIT_CRD: public\n",
                         "t.yaml:8:", "CREDIT_CRD");
    expect_scanner_error(MIN_CFG "detect:\n  custom:\n    - { name: EMAIL, words: [x] }\n",
                         "t.yaml:7:", "EMAIL");
    expect_scanner_error(MIN_CFG "detect:\n  custom:\n    - { name: OK, words: [x] }\n"
                                 "    - { name: BAD, pattern: 'a(b' }\n",
                         "t.yaml:8:", "BAD");
    /* A pattern that matches the empty string would flag every text. */
    expect_scanner_error(MIN_CFG "detect:\n  custom:\n    - { name: EMPTY, pattern: 'x*' }\n",
                         "t.yaml:7:", "EMPTY");
}

/* ---- failure paths ---------------------------------------------------------- */

static void test_fail_closed(void **state)
{
    seam_scan_result r;
    const char *t = "card 4111111111111111";
    seam_scan_result_init(&r);
    /* The result array cannot grow: the scan fails, reports nothing and
     * marks the text regulated. */
    seam_alloc_fail_after(0);
    seam_rc rc = seam_scan_text(S, SC, t, strlen(t), &r);
    seam_alloc_fail_after(-1);
    assert_int_equal(rc, SEAM_ERR_NOMEM);
    assert_int_equal(r.n, 0);
    assert_int_equal(r.level, SEAM_SENS_REGULATED);
    seam_scan_result_free(&r);

    seam_scan_result_init(&r);
    assert_int_equal(seam_scan_text(NULL, SC, t, strlen(t), &r), SEAM_ERR_INVALID);
    assert_int_equal(r.level, SEAM_SENS_REGULATED);
    assert_int_equal(seam_scan_text(S, SC, NULL, 0, &r), SEAM_OK);
    seam_scan_result_free(&r);
}

/* Every allocation of building a scanner (and its scratch) fails in turn:
 * each failure is reported as out of memory and leaks nothing. */
static void test_build_fault_injection(void **state)
{
    seam_config *cfg = parse_cfg(MIN_CFG "detect:\n  custom:\n    - { name: W, words: [a, b] }\n"
                                         "    - { name: P, pattern: 'x[0-9]+' }\n");
    int ok = 0;
    for (long k = 0; k < 400 && !ok; k++) {
        seam_scanner *s = NULL;
        char err[256];
        seam_alloc_fail_after(k);
        seam_rc rc = seam_scanner_new(cfg, &s, err, sizeof err);
        seam_scan_scratch *sc = rc == SEAM_OK ? seam_scan_scratch_new(s) : NULL;
        seam_alloc_fail_after(-1);
        if (rc == SEAM_OK) {
            ok = sc != NULL;
        } else {
            if (rc != SEAM_ERR_NOMEM)
                fail_msg("allocation %ld: %d %s", k, rc, err);
            assert_null(s);
        }
        seam_scan_scratch_free(sc);
        seam_scanner_free(s);
    }
    assert_true(ok);
    seam_config_free(cfg);
}

/* ---- corpora ------------------------------------------------------------- */

typedef struct counts {
    unsigned tp, fp, fn;
} counts;

static double ratio(unsigned a, unsigned b)
{
    return b ? (double)a / b : 1.0;
}

/* Entity-level exact span and type, as the reference scores it. */
static void test_dev_set(void **state)
{
    FILE *f = fopen(DEV_SET, "r");
    if (!f)
        fail_msg("%s not found (run from the repository root, with shared/ beside it)", DEV_SET);
    counts c[SEAM_ENT__BUILTIN_COUNT] = {{0}}, all = {0};
    char *line = NULL;
    size_t cap = 0, rows = 0;
    ssize_t n;
    seam_scan_result r;
    seam_scan_result_init(&r);
    while ((n = getline(&line, &cap, f)) > 0) {
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)n, 0, &je);
        if (!o)
            fail_msg("%s:%zu: %s", DEV_SET, rows + 1, je.text);
        json_t *text = json_object_get(o, "text"), *ents = json_object_get(o, "entities");
        assert_true(json_is_string(text) && json_is_array(ents));
        r.n = 0;
        assert_int_equal(
            seam_scan_text(S, SC, json_string_value(text), json_string_length(text), &r), SEAM_OK);
        bool used[256] = {false};
        assert_true(r.n < 256);
        size_t i;
        json_t *e;
        json_array_foreach(ents, i, e)
        {
            const char *ty = json_string_value(json_object_get(e, "type"));
            size_t st = (size_t)json_integer_value(json_object_get(e, "start"));
            size_t en = (size_t)json_integer_value(json_object_get(e, "end"));
            uint32_t t = 0;
            while (t < SEAM_ENT__BUILTIN_COUNT && strcmp(seam_scan_type_name(S, t), ty))
                t++;
            if (t == SEAM_ENT__BUILTIN_COUNT)
                fail_msg("unknown type %s in the dev set", ty);
            bool hit = false;
            for (size_t j = 0; j < r.n && !hit; j++)
                if (!used[j] && r.ents[j].type == t && r.ents[j].start == st && r.ents[j].end == en)
                    hit = used[j] = true;
            if (hit)
                c[t].tp++;
            else
                c[t].fn++;
        }
        for (size_t j = 0; j < r.n; j++)
            if (!used[j])
                c[r.ents[j].type].fp++;
        json_decref(o);
        rows++;
    }
    free(line);
    fclose(f);
    seam_scan_result_free(&r);
    assert_true(rows > 100);

    int bad = 0;
    for (uint32_t t = 0; t < SEAM_ENT__BUILTIN_COUNT; t++) {
        all.tp += c[t].tp;
        all.fp += c[t].fp;
        all.fn += c[t].fn;
        if (!c[t].tp && !c[t].fp && !c[t].fn)
            continue;
        double p = ratio(c[t].tp, c[t].tp + c[t].fp), rc = ratio(c[t].tp, c[t].tp + c[t].fn);
        if (p < 0.97 || rc < 0.97) {
            print_error("%-16s P %.3f R %.3f (tp %u fp %u fn %u)\n", seam_scan_type_name(S, t), p,
                        rc, c[t].tp, c[t].fp, c[t].fn);
            bad++;
        }
    }
    double p = ratio(all.tp, all.tp + all.fp), rc = ratio(all.tp, all.tp + all.fn);
    if (p < 0.97 || rc < 0.97 || bad)
        fail_msg("dev set: P %.4f R %.4f overall, %d types under 0.97", p, rc, bad);
}

/* At most one flagged entity per 1,000 clean prompts of 1 KB. */
static void test_clean_text(void **state)
{
    corpus_rng rng = {0x5eed5eedull};
    char buf[2048];
    size_t flagged = 0;
    seam_scan_result r;
    seam_scan_result_init(&r);
    for (int i = 0; i < 1000; i++) {
        size_t len = corpus_prompt(&rng, buf, sizeof buf, 1024);
        assert_true(len >= 1024);
        r.n = 0;
        assert_int_equal(seam_scan_text(S, SC, buf, len, &r), SEAM_OK);
        for (size_t j = 0; j < r.n; j++)
            print_error("flagged %s score %.2f in prompt %d at %zu\n",
                        seam_scan_type_name(S, r.ents[j].type), r.ents[j].score, i,
                        r.ents[j].start);
        flagged += r.n;
    }
    seam_scan_result_free(&r);
    assert_true(flagged <= 1);
}

/* The database linked into the binary is the one this build's patterns
 * compile to (not a stale one), and a scanner without custom detectors uses
 * it: its size is the linked database's. */
extern const unsigned char seam_scan_prebuilt_db[] __attribute__((weak));
extern const size_t seam_scan_prebuilt_len __attribute__((weak));
extern const uint64_t seam_scan_prebuilt_key __attribute__((weak));

static void test_prebuilt_database(void **state)
{
    char *bytes = NULL, err[256];
    size_t len = 0;
    uint64_t key = 0;
    assert_int_equal(seam_scanner_prebuild(&bytes, &len, &key, err, sizeof err), SEAM_OK);
    assert_non_null(seam_scan_prebuilt_db);
    assert_int_equal(seam_scan_prebuilt_key, key);
    assert_int_equal(seam_scan_prebuilt_len, len);
    assert_memory_equal(seam_scan_prebuilt_db, bytes, len);
    seam_free(bytes);
    seam_scanner *s = NULL;
    assert_int_equal(seam_scanner_new(NULL, &s, err, sizeof err), SEAM_OK);
    size_t db = seam_scanner_db_size(s);
    seam_scanner_free(s);
    hs_database_t *d = NULL;
    size_t want = 0;
    assert_int_equal(hs_deserialize_database((const char *)seam_scan_prebuilt_db, len, &d),
                     HS_SUCCESS);
    assert_int_equal(hs_database_size(d, &want), HS_SUCCESS);
    hs_free_database(d);
    assert_int_equal(db, want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_luhn_and_cards),
        cmocka_unit_test(test_iban),
        cmocka_unit_test(test_us_ids),
        cmocka_unit_test(test_nhs),
        cmocka_unit_test(test_jwt),
        cmocka_unit_test(test_network),
        cmocka_unit_test(test_phone),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_entropy_placeholders),
        cmocka_unit_test(test_each_type),
        cmocka_unit_test(test_look_alikes_are_not_values),
        cmocka_unit_test(test_allow_lists),
        cmocka_unit_test(test_scores_and_context),
        cmocka_unit_test(test_threshold_from_config),
        cmocka_unit_test(test_overlaps),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_normalize_unit),
        cmocka_unit_test(test_normalized_spans),
        cmocka_unit_test(test_windows),
        cmocka_unit_test(test_adversarial_repeats),
        cmocka_unit_test(test_custom_words_and_patterns),
        cmocka_unit_test(test_custom_pattern_runs),
        cmocka_unit_test(test_many_words),
        cmocka_unit_test(test_words_file),
        cmocka_unit_test(test_scanner_config_errors),
        cmocka_unit_test(test_fail_closed),
        cmocka_unit_test(test_build_fault_injection),
        cmocka_unit_test(test_dev_set),
        cmocka_unit_test(test_clean_text),
        cmocka_unit_test(test_prebuilt_database),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
