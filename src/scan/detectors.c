/*
 * The built-in detector table and its checkers.
 *
 * Each row is a Vectorscan pattern for the shape of a value, written for
 * seam from the formats in the detectors reference (no other project's
 * patterns are copied). Vectorscan has no look-around, so what a pattern
 * cannot say is said by the row's checker: a validator (check digits,
 * ranges, structure), the edges of the value (a number must not be part of
 * a longer dotted or dashed number), token extension (a pattern finds a
 * token's prefix and the checker takes the rest of its alphabet, so one
 * match is reported per token however long it is), and for label-anchored
 * types the value that follows the label.
 *
 * Scores follow the Presidio scheme. A validator with a strong check
 * (Luhn plus issuer prefix, IBAN mod 97, JWT structure, a credential's
 * fixed prefix) confirms: score 1.0. A weak check (ABA, NPI, DEA and NHS
 * check digits pass for one random number in ten or eleven) leaves the
 * score at 0.3, under the default threshold, and context words (routing,
 * NPI, DEA, NHS...) raise it by 0.4: these types need their context, as
 * the reference says. Medium-tier types (e-mail, phone, IP) score 0.8-0.9
 * on format alone, except bare North American numbers, which need a word
 * like "call" or "phone" nearby.
 */
#include "scan/detectors.h"
#include "scan/scan.h"
#include "scan/validate.h"

#include <hs.h>
#include <math.h>
#include <string.h>

#define SOM HS_FLAG_SOM_LEFTMOST
#define CI  HS_FLAG_CASELESS

const char *const seam_scan__type_names[SEAM_ENT__BUILTIN_COUNT] = {
    [SEAM_ENT_CREDIT_CARD] = "CREDIT_CARD",
    [SEAM_ENT_IBAN] = "IBAN",
    [SEAM_ENT_US_SSN] = "US_SSN",
    [SEAM_ENT_EMAIL] = "EMAIL",
    [SEAM_ENT_PHONE] = "PHONE",
    [SEAM_ENT_IP_ADDRESS] = "IP_ADDRESS",
    [SEAM_ENT_PRIVATE_KEY] = "PRIVATE_KEY",
    [SEAM_ENT_AWS_ACCESS_KEY] = "AWS_ACCESS_KEY",
    [SEAM_ENT_GITHUB_TOKEN] = "GITHUB_TOKEN",
    [SEAM_ENT_OPENAI_KEY] = "OPENAI_KEY",
    [SEAM_ENT_ANTHROPIC_KEY] = "ANTHROPIC_KEY",
    [SEAM_ENT_GOOGLE_API_KEY] = "GOOGLE_API_KEY",
    [SEAM_ENT_SLACK_TOKEN] = "SLACK_TOKEN",
    [SEAM_ENT_STRIPE_KEY] = "STRIPE_KEY",
    [SEAM_ENT_JWT] = "JWT",
    [SEAM_ENT_GENERIC_SECRET] = "GENERIC_SECRET",
    [SEAM_ENT_ABA_ROUTING] = "ABA_ROUTING",
    [SEAM_ENT_US_NPI] = "US_NPI",
    [SEAM_ENT_US_DEA] = "US_DEA",
    [SEAM_ENT_UK_NHS] = "UK_NHS",
    [SEAM_ENT_MRN] = "MRN",
    [SEAM_ENT_DOB] = "DOB",
    [SEAM_ENT_GITLAB_TOKEN] = "GITLAB_TOKEN",
    [SEAM_ENT_HUGGINGFACE_TOKEN] = "HUGGINGFACE_TOKEN",
    [SEAM_ENT_NPM_TOKEN] = "NPM_TOKEN",
};

/* Issue 3: credentials, payment, government and health identifiers are
 * regulated; contact details and addresses are internal. */
#define R SEAM_SENS_REGULATED
#define I SEAM_SENS_INTERNAL
const seam_sensitivity seam_scan__type_levels[SEAM_ENT__BUILTIN_COUNT] = {
    [SEAM_ENT_CREDIT_CARD] = R,    [SEAM_ENT_IBAN] = R,
    [SEAM_ENT_US_SSN] = R,         [SEAM_ENT_EMAIL] = I,
    [SEAM_ENT_PHONE] = I,          [SEAM_ENT_IP_ADDRESS] = I,
    [SEAM_ENT_PRIVATE_KEY] = R,    [SEAM_ENT_AWS_ACCESS_KEY] = R,
    [SEAM_ENT_GITHUB_TOKEN] = R,   [SEAM_ENT_OPENAI_KEY] = R,
    [SEAM_ENT_ANTHROPIC_KEY] = R,  [SEAM_ENT_GOOGLE_API_KEY] = R,
    [SEAM_ENT_SLACK_TOKEN] = R,    [SEAM_ENT_STRIPE_KEY] = R,
    [SEAM_ENT_JWT] = R,            [SEAM_ENT_GENERIC_SECRET] = R,
    [SEAM_ENT_ABA_ROUTING] = R,    [SEAM_ENT_US_NPI] = R,
    [SEAM_ENT_US_DEA] = R,         [SEAM_ENT_UK_NHS] = R,
    [SEAM_ENT_MRN] = R,            [SEAM_ENT_DOB] = R,
    [SEAM_ENT_GITLAB_TOKEN] = R,   [SEAM_ENT_HUGGINGFACE_TOKEN] = R,
    [SEAM_ENT_NPM_TOKEN] = R,
};
#undef R
#undef I

/* ---- helpers ------------------------------------------------------------ */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_word(int c)
{
    return is_alnum(c) || c == '_';
}

static int is_b64url(int c)
{
    return is_alnum(c) || c == '-' || c == '_';
}

int seam_scan__has_word(const char *t, size_t n, size_t from, size_t to,
                        const char *const *words)
{
    for (; *words; words++) {
        const char *w = *words;
        size_t wl = strlen(w);
        for (size_t i = from; i + wl <= to; i++) {
            size_t k = 0;
            while (k < wl && lower((unsigned char)t[i + k]) == w[k])
                k++;
            if (k < wl)
                continue;
            if (is_alnum(w[0]) && i > 0 && is_alnum((unsigned char)t[i - 1]))
                continue;
            if (is_alnum(w[wl - 1]) && i + wl < n && is_alnum((unsigned char)t[i + wl]))
                continue;
            return 1;
        }
    }
    return 0;
}

/* A number must stand alone: not be the middle of a longer dotted, dashed
 * or slashed number (a date, a version, an order reference). */
static int isolated(const char *t, size_t n, size_t s, size_t e)
{
    static const char seps[] = ".,-/:";
    if (s >= 2 && strchr(seps, t[s - 1]) && is_digit((unsigned char)t[s - 2]))
        return 0;
    if (s >= 1 && (is_word((unsigned char)t[s - 1])))
        return 0;
    if (e + 1 < n && strchr(seps, t[e]) && t[e] && is_digit((unsigned char)t[e + 1]))
        return 0;
    if (e < n && is_word((unsigned char)t[e]))
        return 0;
    return 1;
}

/* Extends <e> over the characters <ok> accepts. */
static size_t extend(const char *t, size_t n, size_t e, int (*ok)(int))
{
    while (e < n && ok((unsigned char)t[e]))
        e++;
    return e;
}

static int starts_ci(const char *p, size_t n, const char *w)
{
    size_t wl = strlen(w);
    if (n < wl)
        return 0;
    for (size_t i = 0; i < wl; i++)
        if (lower((unsigned char)p[i]) != w[i])
            return 0;
    return 1;
}

/* ---- validating checkers ------------------------------------------------ */

static seam_scan__verdict chk_card(const char *t, size_t n, size_t *s, size_t *e)
{
    if (!isolated(t, n, *s, *e))
        return SEAM_SCAN__REJECT;
    /* Grouped digits that carry on to the left or right with the same
     * separator are part of something longer (an IBAN, an account
     * reference), unless what follows is an expiry date (12/27). */
    size_t k = *s;
    while (k < *e && is_digit((unsigned char)t[k]))
        k++;
    char sep = k < *e ? t[k] : 0;
    if (sep && *s >= 2 && t[*s - 1] == sep && is_alnum((unsigned char)t[*s - 2])) {
        size_t j = *s - 1;
        int digit = 0;
        while (j > 0 && is_alnum((unsigned char)t[j - 1]))
            digit |= is_digit((unsigned char)t[--j]);
        if (digit)
            return SEAM_SCAN__REJECT;
    }
    if (sep && *e + 1 < n && t[*e] == sep && is_digit((unsigned char)t[*e + 1])) {
        size_t j = *e + 1;
        while (j < n && is_digit((unsigned char)t[j]))
            j++;
        if (j >= n || t[j] != '/')
            return SEAM_SCAN__REJECT;
    }
    return seam_scan__card(t + *s, *e - *s) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_iban(const char *t, size_t n, size_t *s, size_t *e)
{
    if (*s > 0 && is_alnum((unsigned char)t[*s - 1]))
        return SEAM_SCAN__REJECT;
    return seam_scan__iban(t + *s, *e - *s) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_ssn(const char *t, size_t n, size_t *s, size_t *e)
{
    if (!isolated(t, n, *s, *e))
        return SEAM_SCAN__REJECT;
    return seam_scan__ssn(t + *s, *e - *s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_aba(const char *t, size_t n, size_t *s, size_t *e)
{
    if (!isolated(t, n, *s, *e))
        return SEAM_SCAN__REJECT;
    return seam_scan__aba(t + *s, *e - *s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_npi(const char *t, size_t n, size_t *s, size_t *e)
{
    if (!isolated(t, n, *s, *e))
        return SEAM_SCAN__REJECT;
    return seam_scan__npi(t + *s, *e - *s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_dea(const char *t, size_t n, size_t *s, size_t *e)
{
    if (!isolated(t, n, *s, *e))
        return SEAM_SCAN__REJECT;
    return seam_scan__dea(t + *s, *e - *s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_nhs(const char *t, size_t n, size_t *s, size_t *e)
{
    if (!isolated(t, n, *s, *e))
        return SEAM_SCAN__REJECT;
    return seam_scan__nhs(t + *s, *e - *s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT;
}

static int is_local(int c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static seam_scan__verdict chk_email(const char *t, size_t n, size_t *s, size_t *e)
{
    /* The pattern starts at the last character of the local part (a
     * leading unbounded class with start-of-match tracking would cost most
     * of the scanner's time); the local part is found here, walking back
     * from the '@' over at most 64 characters. */
    size_t a = *e;
    while (a > 0 && *e - a < 256 && (is_alnum((unsigned char)t[a - 1]) || t[a - 1] == '.' ||
                                     t[a - 1] == '-'))
        a--;
    if (a == 0 || t[a - 1] != '@')
        return SEAM_SCAN__REJECT;
    size_t st = --a;
    while (st > 0 && a - st < 65 && is_local((unsigned char)t[st - 1]))
        st--;
    if (a - st > 64 || (st > 0 && is_local((unsigned char)t[st - 1])))
        return SEAM_SCAN__REJECT;
    *s = st;
    const char *v = t + *s;
    size_t len = *e - *s;
    /* userinfo in a URL (ftp://anonymous@host), not an address. */
    if (*s > 0 && (t[*s - 1] == '/' || t[*s - 1] == ':' || t[*s - 1] == '.'))
        return SEAM_SCAN__REJECT;
    /* An scp-style remote, git@github.com:org/repo.git: the "user" is the
     * service account of a forge, not a person. */
    if (*e + 1 < n && t[*e] == ':' && t[*e + 1] != ' ' && t[*e + 1] != '\n')
        return SEAM_SCAN__REJECT;
    if (len > 4 && !memcmp(v, "git@", 4))
        return SEAM_SCAN__REJECT;
    /* A domain that goes on (user@host.com.evil) is matched whole by a
     * longer candidate; this one is its prefix. */
    if (*e < n && (t[*e] == '-' || (t[*e] == '.' && *e + 1 < n && is_alnum((unsigned char)t[*e + 1]))))
        return SEAM_SCAN__REJECT;
    return seam_scan__email(v, len) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_phone(const char *t, size_t n, size_t *s, size_t *e)
{
    /* "+" after a digit is arithmetic; a number inside a longer one is not
     * a phone number. */
    if (*s > 0 && (is_word((unsigned char)t[*s - 1]) || t[*s - 1] == '+'))
        return SEAM_SCAN__REJECT;
    if (t[*s] != '+' && t[*s] != '(' && !isolated(t, n, *s, *e))
        return SEAM_SCAN__REJECT;
    if (*e < n && (is_word((unsigned char)t[*e]) ||
                   ((t[*e] == '-' || t[*e] == '.' || t[*e] == '/') && *e + 1 < n &&
                    is_digit((unsigned char)t[*e + 1]))))
        return SEAM_SCAN__REJECT;
    return seam_scan__phone(t + *s, *e - *s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_ipv4(const char *t, size_t n, size_t *s, size_t *e)
{
    /* Part of a longer dotted number (an OID, a five-part version). */
    if (*s >= 2 && t[*s - 1] == '.' && is_digit((unsigned char)t[*s - 2]))
        return SEAM_SCAN__REJECT;
    if (*e + 1 < n && t[*e] == '.' && is_digit((unsigned char)t[*e + 1]))
        return SEAM_SCAN__REJECT;
    if (!seam_scan__ipv4(t + *s, *e - *s))
        return SEAM_SCAN__REJECT;
    /* "This network", loopback, multicast and reserved addresses (and
     * 255.255.255.x masks) identify no host. */
    /* [23.2.1.1] and 1.3.0.1-beta are references and versions. */
    if ((*s > 0 && (t[*s - 1] == '[' || t[*s - 1] == '-')) || (*e < n && t[*e] == ']'))
        return SEAM_SCAN__REJECT;
    if (*e + 1 < n && (t[*e] == '-' || t[*e] == '+') && is_alnum((unsigned char)t[*e + 1]))
        return SEAM_SCAN__REJECT;
    int o[4] = {0, 0, 0, 0}, k = 0;
    for (size_t i = *s; i < *e && k < 4; i++) {
        if (t[i] == '.')
            k++;
        else
            o[k] = o[k] * 10 + (t[i] - '0');
    }
    /* "This network", loopback, multicast and reserved addresses (and
     * 255.255.255.x masks) identify no host. */
    if (o[0] == 0 || o[0] == 127 || o[0] >= 224)
        return SEAM_SCAN__REJECT;
    /* Four small numbers are more often a section (22.2.1.5), an OID arc
     * (2.5.29.16) or a version than an address, outside the private ranges
     * where such addresses are common: they need a word such as "IP",
     * "host" or "from" nearby. */
    bool private = o[0] == 10 || (o[0] == 192 && o[1] == 168) ||
                   (o[0] == 172 && o[1] >= 16 && o[1] < 32);
    if (!private && o[0] < 32 && o[1] < 32 && o[2] < 32 && o[3] < 32)
        return SEAM_SCAN__ACCEPT_WEAK;
    return SEAM_SCAN__ACCEPT;
}

static int is_hex_or_colon(int c)
{
    return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f') || c == ':';
}

static seam_scan__verdict chk_ipv6(const char *t, size_t n, size_t *s, size_t *e)
{
    if (*s > 0 && (is_word((unsigned char)t[*s - 1]) || t[*s - 1] == ':' || t[*s - 1] == '.'))
        return SEAM_SCAN__REJECT;
    if (*e < n && (is_word((unsigned char)t[*e]) || t[*e] == ':' ||
                   (t[*e] == '.' && *e + 1 < n && is_digit((unsigned char)t[*e + 1]))))
        return SEAM_SCAN__REJECT;
    (void)is_hex_or_colon;
    if (!seam_scan__ipv6(t + *s, *e - *s))
        return SEAM_SCAN__REJECT;
    /* The unspecified address and loopback identify no host. */
    if ((*e - *s == 2) || (*e - *s == 3 && t[*s + 2] == '1'))
        return SEAM_SCAN__REJECT;
    return SEAM_SCAN__ACCEPT;
}

/* ---- credentials -------------------------------------------------------- */

/* The random part of a credential must look random: not a placeholder
 * ("ghp_xxxx...", "sk_live_your_key_here") and with at least <bits> bits
 * of entropy per character. */
static int random_enough(const char *p, size_t n, double bits)
{
    return !seam_scan__placeholder(p, n) && seam_scan__entropy(p, n) >= bits;
}

static seam_scan__verdict chk_aws(const char *t, size_t n, size_t *s, size_t *e)
{
    /* AWS's documentation key is AKIAIOSFODNN7EXAMPLE; every sample key
     * in their docs ends in EXAMPLE. */
    if (*e - *s >= 7 && !memcmp(t + *e - 7, "EXAMPLE", 7))
        return SEAM_SCAN__REJECT;
    return random_enough(t + *s + 4, *e - *s - 4, 2.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

/* Tokens whose pattern covers a fixed prefix and a fixed-length body:
 * ghp_..., github_pat_..., npm_..., hf_.... */
static seam_scan__verdict chk_fixed_token(const char *t, size_t n, size_t *s, size_t *e)
{
    const char *us = memchr(t + *s, '_', *e - *s);
    size_t off = us ? (size_t)(us - (t + *s)) + 1 : 0;
    if (*e - *s > 11 && !memcmp(t + *s, "github_pat_", 11))
        off = 11;
    return random_enough(t + *s + off, *e - *s - off, 3.0) ? SEAM_SCAN__CONFIRM
                                                            : SEAM_SCAN__REJECT;
}

/* GitLab tokens: glpat-, gldt-, glrt-, ... followed by 20 or more
 * base64url characters. */
static seam_scan__verdict chk_gitlab(const char *t, size_t n, size_t *s, size_t *e)
{
    *e = extend(t, n, *e, is_b64url);
    const char *dash = memchr(t + *s, '-', *e - *s);
    if (!dash)
        return SEAM_SCAN__REJECT;
    size_t off = (size_t)(dash - (t + *s)) + 1;
    if (*e - *s - off < 20 || *e - *s - off > 64)
        return SEAM_SCAN__REJECT;
    return random_enough(t + *s + off, *e - *s - off, 3.0) ? SEAM_SCAN__CONFIRM
                                                            : SEAM_SCAN__REJECT;
}

/* The base64 of "OpenAI", which OpenAI embeds in every key it issues. */
#define OPENAI_MARKER "T3BlbkFJ"

static seam_scan__verdict chk_openai(const char *t, size_t n, size_t *s, size_t *e)
{
    *e = extend(t, n, *e, is_b64url);
    const char *v = t + *s;
    size_t len = *e - *s;
    const char *m = NULL;
    for (size_t i = 0; i + 8 <= len; i++)
        if (!memcmp(v + i, OPENAI_MARKER, 8))
            m = v + i;
    if (!m || (size_t)(v + len - (m + 8)) < 16 || len < 40)
        return SEAM_SCAN__REJECT;
    return random_enough(v + 3, len - 3, 3.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_anthropic(const char *t, size_t n, size_t *s, size_t *e)
{
    *e = extend(t, n, *e, is_b64url);
    const char *v = t + *s;
    size_t len = *e - *s;
    /* sk-ant-api03- (13) or sk-ant-admin01- (15), 93 characters, "AA". */
    size_t pre = v[7] == 'a' && v[8] == 'd' ? 15 : 13;
    if (len < pre + 80 || len > pre + 110 || memcmp(v + len - 2, "AA", 2) != 0)
        return SEAM_SCAN__REJECT;
    return random_enough(v + pre, len - pre, 3.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_google(const char *t, size_t n, size_t *s, size_t *e)
{
    *e = extend(t, n, *e, is_b64url);
    if (*e - *s != 39)
        return SEAM_SCAN__REJECT;
    return random_enough(t + *s + 4, 35, 3.0) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

static int is_slack(int c)
{
    return is_alnum(c) || c == '-';
}

static seam_scan__verdict chk_slack(const char *t, size_t n, size_t *s, size_t *e)
{
    *e = extend(t, n, *e, is_slack);
    while (*e > *s && t[*e - 1] == '-')
        (*e)--;
    const char *v = t + *s;
    size_t len = *e - *s, groups = 0, last = 0;
    for (size_t i = 0; i < len; i++)
        if (v[i] == '-') {
            groups++;
            last = i + 1;
        }
    /* xoxb-<team>-<bot>-<secret>: at least three groups after the type and
     * a secret part that looks random. */
    if (groups < 3 || len < 40 || len - last < 8)
        return SEAM_SCAN__REJECT;
    return random_enough(v + last, len - last, 2.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_confirm(const char *t, size_t n, size_t *s, size_t *e)
{
    return SEAM_SCAN__CONFIRM;
}

static seam_scan__verdict chk_stripe(const char *t, size_t n, size_t *s, size_t *e)
{
    const char *v = t + *s;
    size_t len = *e - *s;
    /* Stripe's documentation keys, printed in every quick start. */
    static const char *const docs[] = {"sk_test_4eC39HqLyjWDarjtT1zdp7dc",
                                       "sk_test_BQokikJOvBiI2HlWgH4olfQ2", NULL};
    for (const char *const *d = docs; *d; d++)
        if (strlen(*d) == len && !memcmp(*d, v, len))
            return SEAM_SCAN__REJECT;
    const char *body = memchr(v + 3, '_', len - 3);
    if (!body)
        return SEAM_SCAN__REJECT;
    body++;
    size_t blen = (size_t)(v + len - body);
    return random_enough(body, blen, 3.0) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

static seam_scan__verdict chk_jwt(const char *t, size_t n, size_t *s, size_t *e)
{
    *e = extend(t, n, *e, is_b64url);
    return seam_scan__jwt(t + *s, *e - *s) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT;
}

static int is_b64_body(int c)
{
    return is_alnum(c) || c == '+' || c == '/' || c == '=';
}

/* -----BEGIN <label> PRIVATE KEY----- ... -----END <label> PRIVATE KEY-----.
 * The body is base64 lines, possibly after RFC 1421 headers (Proc-Type,
 * DEK-Info). Without its END line (a key cut off when pasted) the block
 * still counts, up to its last base64 line, at a lower score. */
static seam_scan__verdict chk_pem(const char *t, size_t n, size_t *s, size_t *e)
{
    const char *label = t + *s + 11; /* after "-----BEGIN " */
    size_t llen = *e - *s - 11 - 5;
    size_t i = *e, b64 = 0, last_body = 0;
    const size_t limit = *e + 65536 < n ? *e + 65536 : n;
    while (i < limit) {
        /* One line. */
        size_t ls = i;
        while (i < limit && t[i] != '\n')
            i++;
        size_t le = i;
        if (i < limit)
            i++;
        while (ls < le && (t[ls] == ' ' || t[ls] == '\t' || t[ls] == '\r'))
            ls++;
        while (le > ls && (t[le - 1] == ' ' || t[le - 1] == '\t' || t[le - 1] == '\r'))
            le--;
        if (ls == le)
            continue;
        if (le - ls >= 9 + llen + 5 && !memcmp(t + ls, "-----END ", 9)) {
            if (memcmp(t + ls + 9, label, llen) != 0 || memcmp(t + ls + 9 + llen, "-----", 5))
                return SEAM_SCAN__REJECT;
            if (b64 < 64)
                return SEAM_SCAN__REJECT;
            *e = ls + 9 + llen + 5;
            return SEAM_SCAN__CONFIRM;
        }
        size_t k = ls;
        while (k < le && is_b64_body((unsigned char)t[k]))
            k++;
        if (k == le) {
            b64 += le - ls;
            last_body = le;
            continue;
        }
        /* Encapsulated headers, only before the body starts. */
        if (b64 == 0 && (starts_ci(t + ls, le - ls, "proc-type:") ||
                         starts_ci(t + ls, le - ls, "dek-info:") ||
                         starts_ci(t + ls, le - ls, "comment:")))
            continue;
        break;
    }
    if (b64 < 128)
        return SEAM_SCAN__REJECT;
    *e = last_body;
    return SEAM_SCAN__ACCEPT;
}

/* ---- label-anchored values ---------------------------------------------- */

/* Skips what separates a label from its value: spaces, one of : # = - and
 * "is" or "was". */
static size_t skip_label_sep(const char *t, size_t n, size_t i)
{
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    if (i < n && (t[i] == ':' || t[i] == '#' || t[i] == '=' || t[i] == '.' ||
                  (t[i] == '-' && i + 1 < n && t[i + 1] == ' '))) {
        i++;
        if (i < n && (t[i] == '#' || t[i] == ':'))
            i++;
    }
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    if (i + 3 <= n && starts_ci(t + i, n - i, "is ")) {
        i += 3;
    } else if (i + 4 <= n && starts_ci(t + i, n - i, "was ")) {
        i += 4;
    }
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    return i;
}

static seam_scan__verdict chk_mrn(const char *t, size_t n, size_t *s, size_t *e)
{
    size_t i = skip_label_sep(t, n, *e), j = i, digits = 0;
    while (j < n && (is_alnum((unsigned char)t[j]) || t[j] == '-')) {
        digits += is_digit((unsigned char)t[j]);
        j++;
    }
    while (j > i && t[j - 1] == '-')
        j--;
    if (j - i < 6 || j - i > 15 || digits < 5 || t[i] == '-')
        return SEAM_SCAN__REJECT;
    if (j < n && (t[j] == '_' || ((t[j] == '.' || t[j] == '/') && j + 1 < n &&
                                  is_alnum((unsigned char)t[j + 1]))))
        return SEAM_SCAN__REJECT;
    *s = i;
    *e = j;
    return SEAM_SCAN__ACCEPT;
}

static seam_scan__verdict chk_dob(const char *t, size_t n, size_t *s, size_t *e)
{
    size_t i = skip_label_sep(t, n, *e);
    size_t len = seam_scan__date(t + i, n - i);
    if (len == 0)
        return SEAM_SCAN__REJECT;
    *s = i;
    *e = i + len;
    return SEAM_SCAN__ACCEPT;
}

/* a.b, self.x_1, os.environ: identifiers joined by dots. */
static int dotted_identifiers(const char *p, size_t n)
{
    size_t dots = 0;
    int start = 1;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)p[i];
        if (c == '.') {
            if (start)
                return 0;
            dots++;
            start = 1;
            continue;
        }
        if (start && is_digit(c))
            return 0;
        if (!is_word(c))
            return 0;
        start = 0;
    }
    return dots > 0 && !start;
}

/* An identifier made of words, camelCase or snake_case
 * (k8sServiceAccountTokenProvider, user_session_token): most of its letters
 * are in runs of four or more that a case change or an underscore ends.
 * Random strings rarely have such runs. */
static int wordy(const char *p, size_t n)
{
    size_t letters = 0, in_words = 0, run = 0;
    for (size_t i = 0; i <= n; i++) {
        int c = i < n ? (unsigned char)p[i] : 0;
        int lo = c >= 'a' && c <= 'z', up = c >= 'A' && c <= 'Z';
        if (c && !is_word(c))
            return 0;
        letters += lo || up;
        /* A run continues with lower case letters; an upper case letter
         * starts a new one unless the run is all upper case so far. */
        if (lo || (up && run > 0 && up && (p[i - 1] >= 'A' && p[i - 1] <= 'Z'))) {
            run++;
            continue;
        }
        if (run >= 4)
            in_words += run;
        run = up ? 1 : 0;
    }
    return letters >= 8 && in_words * 10 >= letters * 6;
}

/* keyword = value: the value after the assignment, without its quotes.
 * Accepted when it could be a secret: 8 to 256 characters, not a
 * placeholder or template, not code, with digits or symbols, and random
 * enough (3.5 bits per character from 12 characters on, as gitleaks'
 * generic rule; shorter values need nearly all-distinct characters). */
static seam_scan__verdict secret_value(const char *t, size_t n, size_t i, size_t *s, size_t *e)
{
    size_t vs, ve;
    bool quoted = false;
    /* A scope operator (node::credentials::x), not an assignment. */
    if (i > 0 && t[i - 1] == ':' && ((i < n && t[i] == ':') || (i > 1 && t[i - 2] == ':')))
        return SEAM_SCAN__REJECT;
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    while (i < n && (t[i] == '=' || t[i] == '>'))
        i++;
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    if (i >= n)
        return SEAM_SCAN__REJECT;
    if (t[i] == '"' || t[i] == '\'' || t[i] == '`') {
        char q = t[i];
        vs = ++i;
        while (i < n && i - vs <= 256 && t[i] != q && t[i] != '\n') {
            if (t[i] == '\\' && i + 1 < n)
                i++;
            i++;
        }
        if (i >= n || t[i] != q)
            return SEAM_SCAN__REJECT;
        ve = i;
        quoted = true;
    } else {
        /* Unquoted: a configuration value (KEY=value, key: value) or, in
         * source code, an expression. Expressions are not secrets: calls,
         * indexing and attribute paths are ruled out below and here. */
        vs = i;
        while (i < n && i - vs <= 256 && (unsigned char)t[i] > ' ' && !strchr("\"'`,;", t[i]))
            i++;
        ve = i;
        while (ve > vs && (t[ve - 1] == '.' || t[ve - 1] == ':'))
            ve--;
        for (size_t k = vs; k < ve; k++)
            if (strchr("()[]{}<>", t[k]))
                return SEAM_SCAN__REJECT;
        if (dotted_identifiers(t + vs, ve - vs))
            return SEAM_SCAN__REJECT;
    }
    if (!quoted && wordy(t + vs, ve - vs))
        return SEAM_SCAN__REJECT;
    size_t len = ve - vs;
    if (len < 8 || len > 256)
        return SEAM_SCAN__REJECT;
    const char *v = t + vs;
    if (seam_scan__placeholder(v, len) || seam_scan__code_like(v, len))
        return SEAM_SCAN__REJECT;
    static const char *const stop[] = {"true", "false", "null", "none", "nil", "undefined",
                                       "required", "optional", "string", "boolean", NULL};
    for (const char *const *w = stop; *w; w++)
        if (strlen(*w) == len && starts_ci(v, len, *w))
            return SEAM_SCAN__REJECT;
    int classes = 0, lo = 0, up = 0, dg = 0, sy = 0;
    for (size_t k = 0; k < len; k++) {
        int c = (unsigned char)v[k];
        if (c >= 'a' && c <= 'z')
            lo = 1;
        else if (c >= 'A' && c <= 'Z')
            up = 1;
        else if (is_digit(c))
            dg = 1;
        else if (c < 0x80 && c > ' ' && c != '_' && c != '-' && c != '.')
            sy = 1;
    }
    classes = lo + up + dg + sy;
    if (!dg && !sy)
        return SEAM_SCAN__REJECT;
    /* A random string of n characters has at most log2(n) bits per
     * character, and in practice about 0.2-0.5 less: the floor follows the
     * length up to gitleaks' 3.5. */
    double h = seam_scan__entropy(v, len), floor = log2((double)len) - 0.9;
    if (floor > 3.5)
        floor = 3.5;
    if (classes < 2 || h < floor || (len < 12 && classes < 3))
        return SEAM_SCAN__REJECT;
    *s = vs;
    *e = ve;
    return SEAM_SCAN__ACCEPT;
}

static seam_scan__verdict chk_secret_kv(const char *t, size_t n, size_t *s, size_t *e)
{
    return secret_value(t, n, *e, s, e);
}

/* Authorization: Bearer <token>. */
static seam_scan__verdict chk_bearer(const char *t, size_t n, size_t *s, size_t *e)
{
    size_t i = *e, j;
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    j = i;
    while (j < n && (is_alnum((unsigned char)t[j]) || strchr("-._~+/=", t[j]) != NULL) && t[j])
        j++;
    if (j - i < 16 || j - i > 2048)
        return SEAM_SCAN__REJECT;
    if (seam_scan__placeholder(t + i, j - i) || seam_scan__entropy(t + i, j - i) < 3.0)
        return SEAM_SCAN__REJECT;
    int dg = 0;
    for (size_t k = i; k < j; k++)
        dg |= is_digit((unsigned char)t[k]);
    if (!dg)
        return SEAM_SCAN__REJECT;
    *s = i;
    *e = j;
    return SEAM_SCAN__ACCEPT;
}

/* scheme://user:PASSWORD@host: the password part. */
static seam_scan__verdict chk_url_password(const char *t, size_t n, size_t *s, size_t *e)
{
    size_t i = *e, j = i;
    while (j < n && j - i < 128 && (unsigned char)t[j] > ' ' && t[j] != '@' && t[j] != '/' &&
           t[j] != '"' && t[j] != '\'')
        j++;
    if (j >= n || t[j] != '@' || j - i < 6)
        return SEAM_SCAN__REJECT;
    if (seam_scan__placeholder(t + i, j - i) || seam_scan__code_like(t + i, j - i) ||
        memchr(t + i, '%', j - i))
        return SEAM_SCAN__REJECT;
    double floor = log2((double)(j - i)) - 1.2;
    if (seam_scan__entropy(t + i, j - i) < (floor > 3.0 ? 3.0 : floor))
        return SEAM_SCAN__REJECT;
    /* The host must follow. */
    if (j + 1 >= n || !is_alnum((unsigned char)t[j + 1]))
        return SEAM_SCAN__REJECT;
    *s = i;
    *e = j;
    return SEAM_SCAN__ACCEPT;
}

/* ---- context words ------------------------------------------------------ */

static const char *const ctx_ssn[] = {"ssn", "social security", "ss#", "ss #", "social sec",
                                      "soc sec", NULL};
static const char *const ctx_aba[] = {"routing", "aba", "ach", "rtn", "transit number",
                                      "fedwire", "wire", NULL};
static const char *const ctx_npi[] = {"npi", "national provider", "provider id",
                                      "provider number", "prescriber", NULL};
static const char *const ctx_dea[] = {"dea", NULL};
static const char *const ctx_nhs[] = {"nhs", "national health", "health service", NULL};
static const char *const ctx_phone[] = {"call",   "phone", "tel",      "telephone", "mobile",
                                        "cell",   "fax",   "contact",  "reach",     "text",
                                        "sms",    "whatsapp", "dial",  "ring",      "ph",
                                        "mob",    "landline", NULL};
static const char *const ctx_ip[] = {"ip",     "ipv4",    "ipv6",  "address", "addr",    "host",
                                     "server", "from",    "client", "gateway", "dns",    "subnet",
                                     "route",  "ping",    "connect", "proxy",  "inet",   "peer",
                                     "remote", "source",  "destination", NULL};
static const char *const neg_ip[] = {"version", "ver",     "v",      "v8",      "release", "build",
                                     "firmware", "section", "chapter", "clause", "spec",   "rfc",
                                     "iso",     "table",   "figure",  "fig",    "para",   "rev",
                                     "revision", "oid",    "sdk",     "kernel", "upgrade", "update",
                                     "bump",    "§",       NULL};

/* ---- the table ---------------------------------------------------------- */

#define D "[0-9]"

const seam_scan__detector seam_scan__detectors[] = {
    /* Payment cards: contiguous, grouped 4-4-4-4(-3) / 4-6-5 / 4-6-4 with
     * one separator (the checker enforces groupings and separators). */
    {SEAM_ENT_CREDIT_CARD, "\\b" D "{13,19}\\b", SOM, 1.0f, chk_card, NULL, 0, NULL},
    {SEAM_ENT_CREDIT_CARD, "\\b" D "{4}(?:[ -]" D "{1,6}){2,4}\\b", SOM, 1.0f, chk_card, NULL,
     0, NULL},

    /* IBAN, contiguous or in groups of four. */
    {SEAM_ENT_IBAN, "\\b[A-Z]{2}" D "{2}[A-Z0-9]{11,30}\\b", SOM, 1.0f, chk_iban, NULL, 0, NULL},
    {SEAM_ENT_IBAN, "\\b[A-Z]{2}" D "{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?\\b", SOM, 1.0f,
     chk_iban, NULL, 0, NULL},

    /* US SSN: dashed stands on its own; spaced or bare digits need the
     * word SSN (or social security) nearby. */
    {SEAM_ENT_US_SSN, "\\b" D "{3}-" D "{2}-" D "{4}\\b", SOM, 0.6f, chk_ssn, ctx_ssn, 0.35f,
     NULL},
    {SEAM_ENT_US_SSN, "\\b" D "{3} " D "{2} " D "{4}\\b", SOM, 0.3f, chk_ssn, ctx_ssn, 0.4f,
     NULL},
    {SEAM_ENT_US_SSN, "\\b" D "{9}\\b", SOM, 0.2f, chk_ssn, ctx_ssn, 0.4f, NULL},

    /* Bank, provider and patient identifiers with weak check digits: their
     * context is required. */
    {SEAM_ENT_ABA_ROUTING, "\\b" D "{9}\\b", SOM, 0.3f, chk_aba, ctx_aba, 0.4f, NULL},
    {SEAM_ENT_US_NPI, "\\b[12]" D "{9}\\b", SOM, 0.3f, chk_npi, ctx_npi, 0.4f, NULL},
    {SEAM_ENT_US_DEA, "\\b[ABFGMPRX][A-Z9]" D "{7}\\b", SOM, 0.3f, chk_dea, ctx_dea, 0.4f, NULL},
    {SEAM_ENT_UK_NHS, "\\b" D "{3}[ -]?" D "{3}[ -]?" D "{4}\\b", SOM, 0.3f, chk_nhs, ctx_nhs,
     0.4f, NULL},

    /* E-mail addresses; the checker wants a real top-level domain. */
    {SEAM_ENT_EMAIL,
     "[A-Za-z0-9_%+-]@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,24}\\b", 0, 0.9f, chk_email,
     NULL, 0, NULL},

    /* Phone numbers: international with +, (NPA) NXX-XXXX, and bare North
     * American numbers, which need a word such as "call" or "phone". */
    {SEAM_ENT_PHONE, "\\+" D "{1,3}(?:[ .-]?\\(" D "{1,5}\\))?(?:[ .-]?" D "{1,8}){1,6}\\b", SOM,
     0.8f, chk_phone, ctx_phone, 0.2f, NULL},
    {SEAM_ENT_PHONE, "\\(" D "{3}\\) ?" D "{3}[ .-]" D "{4}\\b", SOM, 0.7f, chk_phone, ctx_phone,
     0.25f, NULL},
    {SEAM_ENT_PHONE, "\\b" D "{3}\\." D "{3}\\." D "{4}\\b", SOM, 0.45f, chk_phone, ctx_phone,
     0.35f, NULL},
    {SEAM_ENT_PHONE, "\\b" D "{3}-" D "{3}-" D "{4}\\b", SOM, 0.45f, chk_phone, ctx_phone, 0.35f,
     NULL},
    {SEAM_ENT_PHONE, "\\b" D "{3} " D "{3} " D "{4}\\b", SOM, 0.3f, chk_phone, ctx_phone, 0.35f,
     NULL},
    {SEAM_ENT_PHONE, "\\b[2-9]" D "{9}\\b", SOM, 0.15f, chk_phone, ctx_phone, 0.4f, NULL},

    /* IP addresses, not versions or OIDs. */
    {SEAM_ENT_IP_ADDRESS, "\\b" D "{1,3}\\." D "{1,3}\\." D "{1,3}\\." D "{1,3}\\b", SOM, 0.8f,
     chk_ipv4, ctx_ip, 0.35f, neg_ip},
    {SEAM_ENT_IP_ADDRESS, "[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:[0-9A-Fa-f:]{1,37}", SOM, 0.8f,
     chk_ipv6, NULL, 0, neg_ip},

    /* Private keys (not public keys or certificates). */
    {SEAM_ENT_PRIVATE_KEY, "-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----", SOM, 0.9f,
     chk_pem, NULL, 0, NULL},

    /* Cloud and SaaS credentials. */
    {SEAM_ENT_AWS_ACCESS_KEY, "\\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\\b", SOM, 1.0f, chk_aws, NULL,
     0, NULL},
    {SEAM_ENT_GITHUB_TOKEN, "\\bgh[pousr]_[A-Za-z0-9]{36}\\b", SOM, 1.0f, chk_fixed_token, NULL,
     0, NULL},
    {SEAM_ENT_GITHUB_TOKEN, "\\bgithub_pat_[A-Za-z0-9_]{82}\\b", SOM, 1.0f, chk_fixed_token, NULL,
     0, NULL},
    {SEAM_ENT_GITLAB_TOKEN, "\\bgl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|agent)-[A-Za-z0-9_-]{20}", SOM,
     1.0f, chk_gitlab, NULL, 0, NULL},
    {SEAM_ENT_HUGGINGFACE_TOKEN, "\\bhf_[A-Za-z0-9]{34}\\b", SOM, 1.0f, chk_fixed_token, NULL, 0,
     NULL},
    {SEAM_ENT_NPM_TOKEN, "\\bnpm_[A-Za-z0-9]{36}\\b", SOM, 1.0f, chk_fixed_token, NULL, 0, NULL},
    {SEAM_ENT_OPENAI_KEY, "\\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{8,}" OPENAI_MARKER, SOM,
     1.0f, chk_openai, NULL, 0, NULL},
    {SEAM_ENT_OPENAI_KEY, "\\bsk-[A-Za-z0-9]{20}" OPENAI_MARKER "[A-Za-z0-9]{20}\\b", SOM, 1.0f,
     chk_openai, NULL, 0, NULL},
    {SEAM_ENT_ANTHROPIC_KEY, "\\bsk-ant-(?:api|admin)" D "{2}-[A-Za-z0-9_-]{20}", SOM, 1.0f,
     chk_anthropic, NULL, 0, NULL},
    {SEAM_ENT_GOOGLE_API_KEY, "\\bAIza[A-Za-z0-9_-]{35}", SOM, 1.0f, chk_google, NULL, 0, NULL},
    {SEAM_ENT_SLACK_TOKEN, "\\bxox[abposre]-" D "{6,}-[A-Za-z0-9]", SOM, 1.0f, chk_slack, NULL, 0,
     NULL},
    {SEAM_ENT_SLACK_TOKEN, "\\bxapp-" D "-[A-Z0-9]{6,}-", SOM, 1.0f, chk_slack, NULL, 0, NULL},
    {SEAM_ENT_SLACK_TOKEN,
     "(?:https?://)?hooks\\.slack\\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32}"
     "\\b",
     SOM, 1.0f, chk_confirm, NULL, 0, NULL},
    {SEAM_ENT_STRIPE_KEY, "\\b(?:[sr]k_(?:live|test)|whsec)_[A-Za-z0-9]{10,}\\b", SOM, 1.0f,
     chk_stripe, NULL, 0, NULL},
    {SEAM_ENT_JWT, "\\beyJ[A-Za-z0-9_-]{4,}\\.eyJ[A-Za-z0-9_-]{4,}\\.", SOM, 1.0f, chk_jwt, NULL,
     0, NULL},

    /* Generic secrets: keyword, assignment, value (the value is the span). */
    {SEAM_ENT_GENERIC_SECRET,
     "(?:password|passwd|passphrase|pwd|secret|api[_-]?key|apikey|access[_-]?key|"
     "auth[_-]?token|access[_-]?token|refresh[_-]?token|private[_-]?key|token|credentials?)"
     "[A-Za-z0-9_.-]{0,24}[\"']?[ \\t]*(?:=|:|=>)",
     CI, 0.75f, chk_secret_kv, NULL, 0, NULL},
    {SEAM_ENT_GENERIC_SECRET, "\\bbearer[ \\t]+", CI, 0.75f, chk_bearer, NULL, 0, NULL},
    {SEAM_ENT_GENERIC_SECRET, "\\b[a-z][a-z0-9+.-]{1,20}://[A-Za-z0-9._~%!$&*+;=-]{1,64}:", 0,
     0.8f, chk_url_password, NULL, 0, NULL},

    /* Label-anchored health identifiers. */
    {SEAM_ENT_MRN,
     "\\b(?:mrn|medical record(?: number| no| num)?|patient(?: id| number| no)|"
     "chart(?: number| no)|hospital(?: number| no))\\b",
     CI, 0.85f, chk_mrn, NULL, 0, NULL},
    {SEAM_ENT_DOB,
     "\\b(?:dob|d\\.o\\.b|date of birth|birth ?date|birthday|born(?: on)?)\\b", CI, 0.85f,
     chk_dob, NULL, 0, NULL},
};

const size_t seam_scan__ndetectors = sizeof seam_scan__detectors / sizeof seam_scan__detectors[0];
