/*
 * The built-in detector table and its checkers.
 *
 * Each row pairs a Vectorscan pattern with a checker, written for seam from
 * the formats in the detectors reference (no other project's patterns are
 * copied). Speed decides the shape of the patterns: Vectorscan is fastest on
 * literals and short fixed tails, each pattern with a class repeat (digit
 * runs, IBAN, IP addresses; an e-mail address written out in full was the
 * worst, at a third of the whole scanner's time) costs a pass of its own
 * over the text, and start-of-match tracking is expensive, so
 *
 *  - patterns are anchors: a credential's prefix, the '@' of an address,
 *    the '+' of a phone number, "::" of an IPv6 address, "PRIVATE KEY-----";
 *    the checker reads the value forward and finds where it starts;
 *  - no pattern tracks the start of its match;
 *  - rows share patterns: one digit-group pattern serves grouped cards and
 *    dashed SSNs, one digit-run pattern contiguous cards;
 *  - types whose check digits are too weak to stand alone (ABA, NPI, DEA,
 *    NHS, spaced or bare SSNs, bare North American phone numbers) are
 *    searched for only after their context words, which are literals: the
 *    reference requires that context anyway, and it is the keyword
 *    prefilter of gitleaks;
 *  - credentials are found by their fixed prefixes, generic secrets by
 *    their keyword, health identifiers by their label.
 *
 * Vectorscan has no look-around, so what a pattern cannot say is said by
 * the checker: a validator (check digits, ranges, structure), the edges of
 * the value (a number must not be the middle of a longer one), the rest of
 * a token after its prefix, the value after a label.
 *
 * Scores follow the Presidio scheme. A strong validator (Luhn plus issuer
 * prefix, IBAN mod 97, JWT structure, a credential's fixed prefix and
 * randomness) confirms: 1.0. Values found after their context word score
 * 0.7-0.8. Medium-tier types score 0.8-0.9 on format alone (e-mail, phone
 * numbers written with + or (NPA), IP addresses), a dashed SSN 0.6; context
 * words nearby add to that.
 */
#include "scan/detectors.h"
#include "scan/scan.h"
#include "scan/validate.h"

#include <hs.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#define CI HS_FLAG_CASELESS

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
    [SEAM_ENT_CREDIT_CARD] = R,   [SEAM_ENT_IBAN] = R,
    [SEAM_ENT_US_SSN] = R,        [SEAM_ENT_EMAIL] = I,
    [SEAM_ENT_PHONE] = I,         [SEAM_ENT_IP_ADDRESS] = I,
    [SEAM_ENT_PRIVATE_KEY] = R,   [SEAM_ENT_AWS_ACCESS_KEY] = R,
    [SEAM_ENT_GITHUB_TOKEN] = R,  [SEAM_ENT_OPENAI_KEY] = R,
    [SEAM_ENT_ANTHROPIC_KEY] = R, [SEAM_ENT_GOOGLE_API_KEY] = R,
    [SEAM_ENT_SLACK_TOKEN] = R,   [SEAM_ENT_STRIPE_KEY] = R,
    [SEAM_ENT_JWT] = R,           [SEAM_ENT_GENERIC_SECRET] = R,
    [SEAM_ENT_ABA_ROUTING] = R,   [SEAM_ENT_US_NPI] = R,
    [SEAM_ENT_US_DEA] = R,        [SEAM_ENT_UK_NHS] = R,
    [SEAM_ENT_MRN] = R,           [SEAM_ENT_DOB] = R,
    [SEAM_ENT_GITLAB_TOKEN] = R,  [SEAM_ENT_HUGGINGFACE_TOKEN] = R,
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

static int is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_alnum(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || is_upper(c);
}

static int is_word(int c)
{
    return is_alnum(c) || c == '_';
}

static int is_b64url(int c)
{
    return is_alnum(c) || c == '-' || c == '_';
}

static int is_hex(int c)
{
    return is_digit(c) || (lower(c) >= 'a' && lower(c) <= 'f');
}

#define U(c) ((unsigned char)(c))

int seam_scan__has_word(const char *t, size_t n, size_t from, size_t to, const char *const *words)
{
    for (; *words; words++) {
        const char *w = *words;
        size_t wl = strlen(w);
        for (size_t i = from; i + wl <= to; i++) {
            size_t k = 0;
            while (k < wl && lower(U(t[i + k])) == w[k])
                k++;
            if (k < wl)
                continue;
            if (is_alnum(w[0]) && i > 0 && is_alnum(U(t[i - 1])))
                continue;
            if (is_alnum(w[wl - 1]) && i + wl < n && is_alnum(U(t[i + wl])))
                continue;
            return 1;
        }
    }
    return 0;
}

/* A number must stand alone: not be the middle of a longer dotted, dashed
 * or slashed number (a date, a version, an order reference) or of a word. */
static int is_num_sep(int c)
{
    return c == '.' || c == ',' || c == '-' || c == '/' || c == ':';
}

static int isolated(const char *t, size_t n, size_t s, size_t e)
{
    if (s >= 2 && is_num_sep(U(t[s - 1])) && is_digit(U(t[s - 2])))
        return 0;
    if (s >= 1 && is_word(U(t[s - 1])))
        return 0;
    if (e + 1 < n && is_num_sep(U(t[e])) && is_digit(U(t[e + 1])))
        return 0;
    if (e < n && is_word(U(t[e])))
        return 0;
    return 1;
}

/* Moves <e> forward over the characters <ok> accepts, at most <max> of
 * them (every value has a longest form; the bound keeps a text made of one
 * repeated prefix linear), or <s> back. */
static size_t extend(const char *t, size_t n, size_t e, size_t max, int (*ok)(int))
{
    size_t lim = n - e > max ? e + max : n;
    while (e < lim && ok(U(t[e])))
        e++;
    return e;
}

static size_t back(const char *t, size_t s, size_t max, int (*ok)(int))
{
    size_t lim = s > max ? s - max : 0;
    while (s > lim && ok(U(t[s - 1])))
        s--;
    return s;
}

static int starts_ci(const char *p, size_t n, const char *w)
{
    size_t wl = strlen(w);
    if (n < wl)
        return 0;
    for (size_t i = 0; i < wl; i++)
        if (lower(U(p[i])) != w[i])
            return 0;
    return 1;
}

/* One hit (or none) for checkers that find at most one value. */
static size_t one(seam_scan__hit *out, size_t s, size_t e, seam_scan__verdict v)
{
    out[0] = (seam_scan__hit){.start = s, .end = e, .verdict = v};
    return v != SEAM_SCAN__REJECT && e > s;
}

/* Matches <shape> at t[i]: 'd' a digit, 'U' an upper-case letter, 'V' an
 * upper-case letter or 9, 's' a separator from <seps> (the same one each
 * time), any other character itself. Returns the end of the match, or 0. */
static size_t shape_at(const char *t, size_t n, size_t i, const char *shape, const char *seps)
{
    char sep = 0;
    for (const char *p = shape; *p; p++, i++) {
        if (i >= n)
            return 0;
        int c = U(t[i]);
        switch (*p) {
        case 'd':
            if (!is_digit(c))
                return 0;
            break;
        case 'U':
            if (!is_upper(c))
                return 0;
            break;
        case 'V':
            if (!is_upper(c) && c != '9')
                return 0;
            break;
        case 's': {
            const char *q = seps;
            while (*q && *q != c)
                q++;
            if (!c || !*q || (sep && c != sep))
                return 0;
            sep = (char)c;
            break;
        }
        default:
            if (c != U(*p))
                return 0;
        }
    }
    return i;
}

/* ---- digit groups ------------------------------------------------------- */

/* A run of digit groups joined by single separators (space, dot, dash),
 * read backwards from <e>: at most 8 groups, listed left to right. */
typedef struct digit_run {
    size_t start[8], len[8];
    char sep[8]; /* sep[i] joins group i - 1 and group i; sep[0] is 0 */
    size_t ng;
    int glued; /* the first group continues a word on its left ("DE73") */
} digit_run;

static void read_run(const char *t, size_t e, digit_run *r)
{
    size_t st[8], ln[8], i = e;
    char sp[8];
    size_t k = 0;
    int too_long = 0;
    while (k < 8) {
        size_t j = i;
        /* No group of a value is longer than 19 digits. */
        while (j > 0 && i - j < 24 && is_digit(U(t[j - 1])))
            j--;
        if (j == i)
            break;
        if (j > 0 && is_digit(U(t[j - 1])))
            too_long = 1;
        st[k] = j;
        ln[k] = i - j;
        sp[k] = 0;
        k++;
        i = j;
        if (i >= 2 && (t[i - 1] == ' ' || t[i - 1] == '.' || t[i - 1] == '-') &&
            is_digit(U(t[i - 2]))) {
            sp[k - 1] = t[i - 1];
            i--;
            continue;
        }
        break;
    }
    r->ng = k;
    r->glued = too_long || (k && st[k - 1] > 0 && is_alnum(U(t[st[k - 1] - 1])));
    for (size_t g = 0; g < k; g++) {
        r->start[g] = st[k - 1 - g];
        r->len[g] = ln[k - 1 - g];
        r->sep[g] = sp[k - 1 - g];
    }
}

/* Grouped card numbers: the groups joined by the separator of the last
 * one. A run that carries on to the right is a prefix of a longer one
 * (the pattern reports every group end), unless what follows is an expiry
 * date ("4111 1111 1111 1111 12/27"); a run glued to letters on its left
 * ("DE89 3704 ...") is part of a word. The validator checks the grouping,
 * so the digits of an IBAN or an account reference do not pass. */
static size_t chk_card_groups(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    digit_run r;
    read_run(t, e, &r);
    if (r.ng < 2)
        return 0;
    size_t last = r.ng - 1, first = last;
    char sep = r.sep[last];
    if (sep != ' ' && sep != '-')
        return 0;
    while (first > 0 && r.sep[first] == sep)
        first--;
    if (first == 0 && r.glued)
        return 0;
    if (e + 1 < n && t[e] == sep && is_digit(U(t[e + 1]))) {
        size_t j = e + 1;
        while (j < n && is_digit(U(t[j])))
            j++;
        if (j >= n || t[j] != '/')
            return 0;
    }
    size_t s = r.start[first];
    if (!isolated(t, n, s, e))
        return 0;
    return one(out, s, e, seam_scan__card(t + s, e - s) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

/* Contiguous card numbers. */
static size_t chk_card_run(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = back(t, e, 19, is_digit);
    if (!isolated(t, n, s, e))
        return 0;
    return one(out, s, e, seam_scan__card(t + s, e - s) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

/* AAA-GG-SSSS: the last three groups, dashed, standing alone. */
static size_t chk_ssn_dashed(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    digit_run r;
    read_run(t, e, &r);
    size_t g = r.ng;
    if (g < 3 || r.len[g - 3] != 3 || r.len[g - 2] != 2 || r.len[g - 1] != 4 ||
        r.sep[g - 2] != '-' || r.sep[g - 1] != '-')
        return 0;
    size_t s = r.start[g - 3];
    if (!isolated(t, n, s, e))
        return 0;
    return one(out, s, e, seam_scan__ssn(t + s, e - s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT);
}

/* ---- values after their context word ------------------------------------- */

typedef bool (*validate_fn)(const char *p, size_t n);

/* Looks for values shaped like one of <shapes> (with separators <seps>)
 * starting within SEAM_SCAN__CONTEXT_BEFORE bytes after the context word
 * that ends at <e>, standing alone and passing <ok>. */
static size_t after_context(const char *t, size_t n, size_t e, const char *const *shapes,
                            const char *seps, validate_fn ok, seam_scan__verdict v,
                            seam_scan__hit *out)
{
    size_t lim = e + SEAM_SCAN__CONTEXT_BEFORE < n ? e + SEAM_SCAN__CONTEXT_BEFORE : n, k = 0;
    /* Every shape has digits within its first three characters: most
     * context words are not followed by any. */
    size_t d = e, dlim = lim + 2 < n ? lim + 2 : n;
    while (d < dlim && !is_digit(U(t[d])))
        d++;
    if (d == dlim)
        return 0;
    for (size_t i = e; i < lim && k < SEAM_SCAN__MAX_HITS; i++) {
        if ((i > 0 && is_alnum(U(t[i - 1]))) || !is_alnum(U(t[i])))
            continue;
        for (const char *const *sh = shapes; *sh; sh++) {
            size_t end = shape_at(t, n, i, *sh, seps);
            if (!end || !isolated(t, n, i, end) || !ok(t + i, end - i))
                continue;
            out[k++] = (seam_scan__hit){.start = i, .end = end, .verdict = v};
            i = end;
            break;
        }
    }
    return k;
}

static size_t chk_ctx_ssn(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    static const char *const shapes[] = {"dddsddsdddd", "ddddddddd", NULL};
    return after_context(t, n, e, shapes, " -", seam_scan__ssn, SEAM_SCAN__ACCEPT, out);
}

static size_t chk_ctx_aba(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    static const char *const shapes[] = {"ddddddddd", NULL};
    return after_context(t, n, e, shapes, "", seam_scan__aba, SEAM_SCAN__ACCEPT, out);
}

static size_t chk_ctx_npi(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    static const char *const shapes[] = {"dddddddddd", NULL};
    return after_context(t, n, e, shapes, "", seam_scan__npi, SEAM_SCAN__ACCEPT, out);
}

static size_t chk_ctx_dea(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    static const char *const shapes[] = {"UVddddddd", NULL};
    return after_context(t, n, e, shapes, "", seam_scan__dea, SEAM_SCAN__ACCEPT, out);
}

static size_t chk_ctx_nhs(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    static const char *const shapes[] = {"dddsdddsdddd", "dddddddddd", NULL};
    return after_context(t, n, e, shapes, " -", seam_scan__nhs, SEAM_SCAN__ACCEPT, out);
}

/* Bare North American numbers: 212.555.0198, 212-555-0198, 212 555 0198,
 * 2125550198 (the forms with + or parentheses stand on their own). */
static size_t chk_ctx_phone(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    static const char *const shapes[] = {"dddsdddsdddd", "dddddddddd", NULL};
    return after_context(t, n, e, shapes, " .-", seam_scan__phone, SEAM_SCAN__ACCEPT, out);
}

/* ---- validating checkers ------------------------------------------------ */

/* XX00 0000 or XX000000 ends the match: the checker reads the rest of the
 * IBAN forward, exactly as long as its country's IBANs are. */
static size_t chk_iban(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = t[e - 5] == ' ' ? e - 9 : e - 8;
    bool grouped = t[e - 5] == ' ';
    if (s > 0 && is_alnum(U(t[s - 1])))
        return 0;
    /* Longest IBAN: 34 characters, 8 spaces when grouped. */
    size_t i = s, chars = 0, best = 0;
    while (i < n && i - s < 42) {
        if (is_digit(U(t[i])) || is_upper(U(t[i]))) {
            chars++;
            i++;
            /* A candidate end: the next character ends the word. */
            if (chars >= 15 && (i >= n || !is_alnum(U(t[i]))) && seam_scan__iban(t + s, i - s))
                best = i;
            continue;
        }
        if (grouped && t[i] == ' ' && chars % 4 == 0 && i + 1 < n && is_alnum(U(t[i + 1]))) {
            i++;
            continue;
        }
        break;
    }
    return best ? one(out, s, best, SEAM_SCAN__CONFIRM) : 0;
}

static int is_local(int c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}

static int is_domain(int c)
{
    return is_alnum(c) || c == '.' || c == '-';
}

static size_t chk_email(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    /* The match is "x@y" around the '@': the domain is read forward, the
     * local part backward (at most 64 characters). */
    size_t at = e - 2, s = back(t, at, 65, is_local);
    size_t end = extend(t, n, at + 1, 254, is_domain);
    while (end > at + 1 && (t[end - 1] == '.' || t[end - 1] == '-'))
        end--;
    if (at - s > 64 || (s > 0 && is_local(U(t[s - 1]))) || end - at - 1 > 253)
        return 0;
    while (s < at && t[s] == '.')
        s++;
    /* userinfo in a URL (ftp://anonymous@host), not an address. */
    if (s > 0 && (t[s - 1] == '/' || t[s - 1] == ':'))
        return 0;
    /* An scp-style remote, git@github.com:org/repo.git, or an ssh login
     * to a forge: the "user" is the forge's service account. */
    if (end + 1 < n && t[end] == ':' && t[end + 1] != ' ' && t[end + 1] != '\n')
        return 0;
    if (at - s == 3 && !memcmp(t + s, "git", 3))
        return 0;
    return one(out, s, end,
               seam_scan__email(t + s, end - s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT);
}

static int is_phone_char(int c)
{
    return is_digit(c) || c == ' ' || c == '.' || c == '-' || c == '(' || c == ')';
}

static int phone_edges(const char *t, size_t n, size_t s, size_t e)
{
    /* "+" after a word character is arithmetic or an identifier. */
    if (s > 0 && (is_word(U(t[s - 1])) || t[s - 1] == '+'))
        return 0;
    if (e < n && (is_word(U(t[e])) || ((t[e] == '-' || t[e] == '.' || t[e] == '/') && e + 1 < n &&
                                       is_digit(U(t[e + 1])))))
        return 0;
    return 1;
}

/* +CC ...: the match starts at the '+'. */
static size_t chk_phone_plus(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    /* The match is "+d"; the number runs on over digits, single
     * separators and one parenthesised group. Each end of a digit group
     * is a candidate; the longest valid one wins. */
    size_t s = e - 2, lim = s + 32 < n ? s + 32 : n, j = e;
    if (!phone_edges(t, n, s, s))
        return 0;
    while (j < lim && is_phone_char(U(t[j])))
        j++;
    for (; j > e; j--) {
        if (!is_digit(U(t[j - 1])) || (j < n && is_digit(U(t[j]))))
            continue;
        if (phone_edges(t, n, s, j) && seam_scan__phone(t + s, j - s))
            return one(out, s, j, SEAM_SCAN__ACCEPT);
    }
    return 0;
}

/* (NPA) NXX-XXXX: 14 or 13 characters. */
static size_t chk_phone_paren(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    /* "(NPA) N" or "(NPA)N": the rest is NXX, a separator, XXXX. */
    size_t s = t[e - 2] == ' ' ? e - 7 : e - 6, end = 0;
    static const char *const shapes[] = {"(ddd) dddsdddd", "(ddd)dddsdddd", NULL};
    for (const char *const *sh = shapes; *sh && !end; sh++)
        end = shape_at(t, n, s, *sh, " .-");
    if (!end || !phone_edges(t, n, s, end))
        return 0;
    return one(out, s, end,
               seam_scan__phone(t + s, end - s) ? SEAM_SCAN__ACCEPT : SEAM_SCAN__REJECT);
}

static int is_dotted(int c)
{
    return is_digit(c) || c == '.';
}

static size_t chk_ipv4(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = back(t, e, 16, is_dotted);
    /* Part of a longer dotted number (an OID, a five-part version). */
    if (s < e && t[s] == '.')
        return 0;
    if (s > 0 && is_word(U(t[s - 1])))
        return 0;
    if (e + 1 < n && t[e] == '.' && is_digit(U(t[e + 1])))
        return 0;
    if (!seam_scan__ipv4(t + s, e - s))
        return 0;
    /* [23.2.1.1] and 1.3.0.1-beta are references and versions. */
    if ((s > 0 && (t[s - 1] == '[' || t[s - 1] == '-')) || (e < n && t[e] == ']'))
        return 0;
    if (e + 1 < n && (t[e] == '-' || t[e] == '+') && is_alnum(U(t[e + 1])))
        return 0;
    int o[4] = {0, 0, 0, 0}, k = 0;
    for (size_t i = s; i < e && k < 4; i++) {
        if (t[i] == '.')
            k++;
        else
            o[k] = o[k] * 10 + (t[i] - '0');
    }
    /* "This network", loopback, multicast and reserved addresses (and
     * 255.255.255.x masks) identify no host. */
    if (o[0] == 0 || o[0] == 127 || o[0] >= 224)
        return 0;
    /* Four small numbers are more often a section (22.2.1.5), an OID arc
     * (2.5.29.16) or a version than an address, outside the private ranges
     * where such addresses are common: they need a word such as "IP",
     * "host" or "from" nearby. */
    bool private =
        o[0] == 10 || (o[0] == 192 && o[1] == 168) || (o[0] == 172 && o[1] >= 16 && o[1] < 32);
    if (!private && o[0] < 32 && o[1] < 32 && o[2] < 32 && o[3] < 32)
        return one(out, s, e, SEAM_SCAN__ACCEPT_WEAK);
    return one(out, s, e, SEAM_SCAN__ACCEPT);
}

static int is_hex_colon(int c)
{
    return is_hex(c) || c == ':';
}

static size_t chk_ipv6(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    /* The match is "::" (compressed form) or eight groups (full form): the
     * address is the run of hex digits and colons around it. */
    size_t s = back(t, e, 46, is_hex_colon), end = extend(t, n, e, 46, is_hex_colon);
    if (end - s > 45)
        return 0;
    if (s > 0 && (is_word(U(t[s - 1])) || t[s - 1] == '.'))
        return 0;
    if (end < n &&
        (is_word(U(t[end])) || (t[end] == '.' && end + 1 < n && is_digit(U(t[end + 1])))))
        return 0;
    if (!seam_scan__ipv6(t + s, end - s))
        return 0;
    /* The unspecified address and loopback identify no host. */
    if (end - s == 2 || (end - s == 3 && t[s + 2] == '1'))
        return 0;
    return one(out, s, end, SEAM_SCAN__ACCEPT);
}

/* ---- credentials -------------------------------------------------------- */

/* The random part of a credential must look random: not a placeholder
 * ("ghp_xxxx...", "sk_live_your_key_here") and with at least <bits> bits
 * of entropy per character. */
static int random_enough(const char *p, size_t n, double bits)
{
    return !seam_scan__placeholder(p, n) && seam_scan__entropy(p, n) >= bits;
}

/* Reads exactly <len> characters that <ok> accepts from <i>, followed by
 * one it does not (or the end): returns the end, or 0. */
static size_t exactly(const char *t, size_t n, size_t i, size_t len, int (*ok)(int))
{
    size_t j = i;
    while (j < n && j - i < len && ok(U(t[j])))
        j++;
    if (j - i != len || (j < n && ok(U(t[j]))))
        return 0;
    return j;
}

static int is_aws_char(int c)
{
    return is_upper(c) || (c >= '2' && c <= '7');
}

/* AKIA/ASIA/ABIA/ACCA and 16 of [A-Z2-7]. The match ends one character
 * into the 16. */
static size_t chk_aws(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = e - 5, end = exactly(t, n, s + 4, 16, is_aws_char);
    if (!end || (end < n && is_word(U(t[end]))))
        return 0;
    /* AWS's documentation key is AKIAIOSFODNN7EXAMPLE; every sample key
     * in their docs ends in EXAMPLE. */
    if (!memcmp(t + end - 7, "EXAMPLE", 7))
        return 0;
    return one(out, s, end,
               random_enough(t + s + 4, 16, 2.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

/* A prefix of <plen> characters (the match ends <back_by> characters after
 * it starts) and a body of exactly <len> characters of <ok>, ending at a
 * word boundary: ghp_..., github_pat_..., hf_..., npm_.... */
static size_t prefixed_token(const char *t, size_t n, size_t s, size_t plen, size_t len,
                             int (*ok)(int), seam_scan__hit *out)
{
    size_t end = exactly(t, n, s + plen, len, ok);
    if (!end || (end < n && is_word(U(t[end]))))
        return 0;
    return one(out, s, end,
               random_enough(t + s + plen, len, 3.0) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

static size_t chk_github(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    return prefixed_token(t, n, e - 5, 4, 36, is_alnum, out);
}

static size_t chk_github_pat(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    return prefixed_token(t, n, e - 11, 11, 82, is_word, out);
}

static size_t chk_huggingface(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    return prefixed_token(t, n, e - 4, 3, 34, is_alnum, out);
}

static size_t chk_npm(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    return prefixed_token(t, n, e - 5, 4, 36, is_alnum, out);
}

/* GitLab tokens: glpat-, gldt-, glrt-, ... and 20 to 64 base64url
 * characters. The match ends at the dash. */
static size_t chk_gitlab(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = back(t, e - 1, 8, is_alnum), end = extend(t, n, e, 65, is_b64url);
    if (end - e < 20 || end - e > 64)
        return 0;
    return one(out, s, end,
               random_enough(t + e, end - e, 3.0) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

/* The base64 of "OpenAI", which OpenAI embeds in every key it issues. */
#define OPENAI_MARKER "T3BlbkFJ"

/* sk-proj-/sk-svcacct-/sk-admin-, at least 8 base64url characters, the
 * marker, at least 16 more. The match is the prefix. */
static size_t chk_openai(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = e >= 11 && !memcmp(t + e - 11, "sk-svcacct-", 11) ? e - 11
               : e >= 9 && !memcmp(t + e - 9, "sk-admin-", 9)    ? e - 9
                                                                 : e - 8;
    size_t end = extend(t, n, e, 1024, is_b64url);
    const char *m = end - e >= 16 ? memmem(t + e + 8, end - e - 8, OPENAI_MARKER, 8) : NULL;
    if (!m || (size_t)(t + end - (m + 8)) < 16 || end - e == 1024)
        return 0;
    return one(out, s, end,
               random_enough(t + s + 3, end - s - 3, 3.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

/* Legacy keys: sk- + 20 + T3BlbkFJ + 20, 51 characters. The match is the
 * marker. */
static size_t chk_openai_legacy(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    if (e < 31)
        return 0;
    size_t s = e - 31;
    if (memcmp(t + s, "sk-", 3) != 0 || (s > 0 && is_word(U(t[s - 1]))))
        return 0;
    for (size_t k = s + 3; k < s + 23; k++)
        if (!is_alnum(U(t[k])))
            return 0;
    size_t end = exactly(t, n, e, 20, is_alnum);
    if (!end || (end < n && is_b64url(U(t[end]))))
        return 0;
    return one(out, s, end,
               random_enough(t + s + 3, 48, 3.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

/* sk-ant-api03- or sk-ant-admin01-, 93 characters, "AA". The match is
 * "sk-ant-". */
static size_t chk_anthropic(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = e - 7, end = extend(t, n, e, 200, is_b64url), len = end - s;
    size_t pre = starts_ci(t + e, end - e, "admin") ? 15 : 13;
    /* The kind and version: api03-, admin01-. */
    if (len < pre + 80 || len > pre + 110 || memcmp(t + end - 2, "AA", 2) != 0 ||
        !(starts_ci(t + e, end - e, "api") || pre == 15) || !is_digit(U(t[s + pre - 3])) ||
        !is_digit(U(t[s + pre - 2])) || t[s + pre - 1] != '-')
        return 0;
    return one(out, s, end,
               random_enough(t + s + pre, len - pre, 3.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

/* AIza and exactly 35 base64url characters. */
static size_t chk_google(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = e - 4, end = exactly(t, n, e, 35, is_b64url);
    if (!end)
        return 0;
    return one(out, s, end, random_enough(t + e, 35, 3.0) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

static int is_slack(int c)
{
    return is_alnum(c) || c == '-';
}

/* xoxb-<team>-<bot>-<secret>, xapp-1-...: at least three groups after the
 * type and a secret part that looks random. The match is the prefix. */
static size_t chk_slack(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = back(t, e - 1, 4, is_alnum), end = extend(t, n, e, 256, is_slack);
    while (end > e && t[end - 1] == '-')
        end--;
    size_t groups = 0, last = 0;
    for (size_t i = s; i < end; i++)
        if (t[i] == '-') {
            groups++;
            last = i + 1;
        }
    if (groups < 3 || end - s < 40 || end - last < 8 || end - e == 256)
        return 0;
    return one(out, s, end,
               random_enough(t + last, end - last, 2.5) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

static int is_upper_digit(int c)
{
    return is_upper(c) || is_digit(c);
}

/* https://hooks.slack.com/services/T.../B.../...: the URL from its scheme.
 * The match is the host and "/services/". */
static size_t chk_slack_hook(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = e - 25, i = e, j;
    for (int part = 0; part < 2; part++) {
        if (i >= n || t[i] != (part ? 'B' : 'T'))
            return 0;
        j = extend(t, n, i + 1, 13, is_upper_digit);
        if (j - i - 1 < 6 || j - i - 1 > 12 || j >= n || t[j] != '/')
            return 0;
        i = j + 1;
    }
    j = extend(t, n, i, 33, is_alnum);
    if (j - i < 20 || j - i > 32)
        return 0;
    if (s >= 8 && !memcmp(t + s - 8, "https://", 8))
        s -= 8;
    else if (s >= 7 && !memcmp(t + s - 7, "http://", 7))
        s -= 7;
    return one(out, s, j, SEAM_SCAN__CONFIRM);
}

/* sk_live_/rk_live_/sk_test_/rk_test_/whsec_ and 10 or more letters and
 * digits. */
static size_t chk_stripe(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t s = back(t, e, 8, is_word), end = extend(t, n, e, 256, is_alnum);
    if (end - e < 10 || end - e == 256 || (end < n && is_word(U(t[end]))))
        return 0;
    /* Stripe's documentation keys, printed in every quick start. */
    static const char *const docs[] = {"sk_test_4eC39HqLyjWDarjtT1zdp7dc",
                                       "sk_test_BQokikJOvBiI2HlWgH4olfQ2", NULL};
    for (const char *const *d = docs; *d; d++)
        if (strlen(*d) == end - s && !memcmp(*d, t + s, end - s))
            return 0;
    return one(out, s, end,
               random_enough(t + e, end - e, 3.0) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

/* header.payload.signature: the match is ".eyJ", the start of the
 * payload; the header before it must start with eyJ too. */
static size_t chk_jwt(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t dot = e - 4, s = back(t, dot, 4096, is_b64url);
    if (dot - s < 7 || memcmp(t + s, "eyJ", 3) != 0 ||
        (s > 0 && (is_word(U(t[s - 1])) || t[s - 1] == '.')))
        return 0;
    size_t p = extend(t, n, e, 8192, is_b64url);
    if (p - e < 4 || p >= n || t[p] != '.')
        return 0;
    size_t end = extend(t, n, p + 1, 8192, is_b64url);
    if ((end < n && t[end] == '.') || end - p - 1 == 8192)
        return 0;
    return one(out, s, end,
               seam_scan__jwt(t + s, end - s) ? SEAM_SCAN__CONFIRM : SEAM_SCAN__REJECT);
}

static int is_b64_body(int c)
{
    return is_alnum(c) || c == '+' || c == '/' || c == '=';
}

/* -----BEGIN <label> PRIVATE KEY----- ... -----END <label> PRIVATE KEY-----.
 * The body is base64 lines, possibly after RFC 1421 headers (Proc-Type,
 * DEK-Info). Without its END line (a key cut off when pasted) the block
 * still counts, up to its last base64 line, at a lower score. */
static size_t chk_pem(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    /* The match is "PRIVATE KEY-----" (or "... BLOCK-----"): the header
     * starts at "-----BEGIN " on the same line, with up to three words of
     * capitals and digits between ("RSA ", "OPENSSH ", "ENCRYPTED "). */
    size_t s = e >= 27 ? e - 27 : 0;
    while (s > 0 && e - s < 80 && t[s] != '\n' && memcmp(t + s, "-----BEGIN ", 11) != 0)
        s--;
    if (e - s < 27 || memcmp(t + s, "-----BEGIN ", 11) != 0)
        return 0;
    for (size_t k = s + 11; k < e - 16; k++)
        if (!is_upper_digit(U(t[k])) && t[k] != ' ')
            return 0;
    const char *label = t + s + 11; /* after "-----BEGIN " */
    size_t llen = e - s - 11 - 5;
    size_t i = e, b64 = 0, last_body = 0;
    const size_t limit = e + 65536 < n ? e + 65536 : n;
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
                return 0;
            if (b64 < 64)
                return 0;
            return one(out, s, ls + 9 + llen + 5, SEAM_SCAN__CONFIRM);
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
        if (b64 == 0 &&
            (starts_ci(t + ls, le - ls, "proc-type:") || starts_ci(t + ls, le - ls, "dek-info:") ||
             starts_ci(t + ls, le - ls, "comment:")))
            continue;
        break;
    }
    if (b64 < 128)
        return 0;
    return one(out, s, last_body, SEAM_SCAN__ACCEPT);
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

static size_t chk_mrn(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t i = skip_label_sep(t, n, e), j = i, digits = 0;
    while (j < n && (is_alnum(U(t[j])) || t[j] == '-')) {
        digits += is_digit(U(t[j]));
        j++;
    }
    while (j > i && t[j - 1] == '-')
        j--;
    if (j - i < 6 || j - i > 15 || digits < 5 || t[i] == '-')
        return 0;
    if (j < n &&
        (t[j] == '_' || ((t[j] == '.' || t[j] == '/') && j + 1 < n && is_alnum(U(t[j + 1])))))
        return 0;
    return one(out, i, j, SEAM_SCAN__ACCEPT);
}

static size_t chk_dob(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t i = skip_label_sep(t, n, e);
    size_t len = seam_scan__date(t + i, n - i);
    return len ? one(out, i, i + len, SEAM_SCAN__ACCEPT) : 0;
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
static size_t secret_value(const char *t, size_t n, size_t i, seam_scan__hit *out)
{
    size_t vs, ve;
    bool quoted = false;
    /* A scope operator (node::credentials::x), not an assignment. */
    if (i > 0 && t[i - 1] == ':' && ((i < n && t[i] == ':') || (i > 1 && t[i - 2] == ':')))
        return 0;
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    while (i < n && (t[i] == '=' || t[i] == '>'))
        i++;
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    if (i >= n)
        return 0;
    if (t[i] == '"' || t[i] == '\'' || t[i] == '`') {
        char q = t[i];
        vs = ++i;
        while (i < n && i - vs <= 256 && t[i] != q && t[i] != '\n') {
            if (t[i] == '\\' && i + 1 < n)
                i++;
            i++;
        }
        if (i >= n || t[i] != q)
            return 0;
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
                return 0;
        if (dotted_identifiers(t + vs, ve - vs))
            return 0;
    }
    if (!quoted && wordy(t + vs, ve - vs))
        return 0;
    size_t len = ve - vs;
    if (len < 8 || len > 256)
        return 0;
    const char *v = t + vs;
    if (seam_scan__placeholder(v, len) || seam_scan__code_like(v, len))
        return 0;
    static const char *const stop[] = {"true",   "false",     "null",     "none",
                                       "nil",    "undefined", "required", "optional",
                                       "string", "boolean",   NULL};
    for (const char *const *w = stop; *w; w++)
        if (strlen(*w) == len && starts_ci(v, len, *w))
            return 0;
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
        return 0;
    /* A random string of n characters has at most log2(n) bits per
     * character, and in practice about 0.2-0.5 less: the floor follows the
     * length up to gitleaks' 3.5. */
    double h = seam_scan__entropy(v, len), floor = log2((double)len) - 0.9;
    if (floor > 3.5)
        floor = 3.5;
    if (classes < 2 || h < floor || (len < 12 && classes < 3))
        return 0;
    return one(out, vs, ve, SEAM_SCAN__ACCEPT);
}

/* keyword (any case, anywhere in a name: DB_PASSWORD, apiKey, "token"),
 * up to 24 more name characters, an optional closing quote, then = : => or
 * := and the value. */
static size_t chk_secret_kv(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t i = e, lim = e + 24 < n ? e + 24 : n;
    while (i < lim && (is_word(U(t[i])) || t[i] == '.' || t[i] == '-'))
        i++;
    if (i < n && (t[i] == '"' || t[i] == '\''))
        i++;
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    if (i >= n || (t[i] != '=' && t[i] != ':'))
        return 0;
    /* A scope operator (node::credentials::x), not an assignment. */
    if (t[i] == ':' && ((i + 1 < n && t[i + 1] == ':') || (i > 0 && t[i - 1] == ':')))
        return 0;
    /* A comparison (token == x, password != y). */
    if (t[i] == '=' && i + 1 < n && t[i + 1] == '=')
        return 0;
    return secret_value(t, n, i + 1, out);
}

/* Authorization: Bearer <token>. */
static size_t chk_bearer(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    size_t i = e, j;
    while (i < n && (t[i] == ' ' || t[i] == '\t'))
        i++;
    j = i;
    while (j < n && j - i <= 2048 && t[j] && (is_alnum(U(t[j])) || strchr("-._~+/=", t[j])))
        j++;
    if (j - i < 16 || j - i > 2048)
        return 0;
    if (seam_scan__placeholder(t + i, j - i) || seam_scan__entropy(t + i, j - i) < 3.0)
        return 0;
    int dg = 0;
    for (size_t k = i; k < j; k++)
        dg |= is_digit(U(t[k]));
    return dg ? one(out, i, j, SEAM_SCAN__ACCEPT) : 0;
}

static int is_userinfo(int c)
{
    return is_alnum(c) || (c && strchr("._~%!$&*+;=-", c));
}

/* scheme://user:PASSWORD@host: the password part. The match is "://". */
static size_t chk_url_password(const char *t, size_t n, size_t e, seam_scan__hit *out)
{
    if (e < 4 || !is_alnum(U(t[e - 4])))
        return 0;
    size_t u = extend(t, n, e, 65, is_userinfo);
    if (u == e || u - e > 64 || u >= n || t[u] != ':')
        return 0;
    size_t i = u + 1, j = i;
    while (j < n && j - i < 128 && U(t[j]) > ' ' && t[j] != '@' && t[j] != '/' && t[j] != '"' &&
           t[j] != '\'')
        j++;
    if (j >= n || t[j] != '@' || j - i < 6)
        return 0;
    if (seam_scan__placeholder(t + i, j - i) || seam_scan__code_like(t + i, j - i) ||
        memchr(t + i, '%', j - i))
        return 0;
    double floor = log2((double)(j - i)) - 1.2;
    if (seam_scan__entropy(t + i, j - i) < (floor > 3.0 ? 3.0 : floor))
        return 0;
    /* The host must follow. */
    if (j + 1 >= n || !is_alnum(U(t[j + 1])))
        return 0;
    return one(out, i, j, SEAM_SCAN__ACCEPT);
}

/* ---- context words ------------------------------------------------------ */

static const char *const ctx_ssn[] = {"ssn",        "social security", "ss#", "ss #",
                                      "social sec", "soc sec",         NULL};
static const char *const ctx_phone[] = {"call", "phone",   "telephone", "tel",      "mobile",
                                        "cell", "fax",     "sms",       "whatsapp", "landline",
                                        "dial", "contact", "reach me",  "text me",  NULL};
static const char *const ctx_ip[] = {"ip",     "ipv4",   "ipv6",        "address", "addr", "host",
                                     "server", "from",   "client",      "gateway", "dns",  "subnet",
                                     "route",  "ping",   "connect",     "proxy",   "inet", "peer",
                                     "remote", "source", "destination", NULL};
static const char *const neg_ip[] = {
    "version",  "ver",  "v",   "v8",     "release", "build",  "firmware", "section", "chapter",
    "clause",   "spec", "rfc", "iso",    "table",   "figure", "fig",      "para",    "rev",
    "revision", "oid",  "sdk", "kernel", "upgrade", "update", "bump",     "§",       NULL};

/* ---- the table ---------------------------------------------------------- */

#define D "[0-9]"

/* Shared patterns. */
#define DIGIT_RUN    "\\b" D "{13,19}\\b"
#define DIGIT_GROUPS "\\b" D "{2,4}(?:[ .-]" D "{2,6}){2,4}\\b"

/* Context words as one caseless pattern each (the lists above, spelled as
 * alternations; "ss#" ends with a non-word character, hence no final \b
 * there). */
#define CTX_SSN "\\b(?:ssn|social security|ss ?#|social sec|soc sec)"
#define CTX_ABA "\\b(?:routing|aba|ach|rtn|transit number|fedwire|wire)\\b"
#define CTX_NPI "\\b(?:npi|national provider|provider id|provider number|prescriber)\\b"
#define CTX_DEA "\\bdea\\b"
#define CTX_NHS "\\b(?:nhs|national health|health service)\\b"
#define CTX_PHONE                                                                                  \
    "\\b(?:call|phone|telephone|tel|mobile|cell|fax|sms|whatsapp|landline|dial|contact|reach me|"  \
    "text me)\\b"

const seam_scan__detector seam_scan__detectors[] = {
    /* Payment cards: contiguous, or grouped 4-4-4-4(-3) / 4-6-5 / 4-6-4
     * with one separator. */
    {SEAM_ENT_CREDIT_CARD, DIGIT_RUN, 0, 1.0f, chk_card_run, NULL, 0, NULL},
    {SEAM_ENT_CREDIT_CARD, DIGIT_GROUPS, 0, 1.0f, chk_card_groups, NULL, 0, NULL},

    /* IBAN, contiguous or in groups of four. */
    {SEAM_ENT_IBAN, "\\b[A-Z]{2}" D "{2} ?[A-Z0-9]{4}", 0, 1.0f, chk_iban, NULL, 0, NULL},

    /* US SSN: dashed stands on its own (0.6, 0.95 with its context);
     * spaced or bare digits only after SSN or social security. */
    {SEAM_ENT_US_SSN, DIGIT_GROUPS, 0, 0.6f, chk_ssn_dashed, ctx_ssn, 0.35f, NULL},
    {SEAM_ENT_US_SSN, CTX_SSN, CI, 0.7f, chk_ctx_ssn, NULL, 0, NULL},

    /* Bank, provider and patient identifiers with weak check digits: only
     * after their context words. */
    {SEAM_ENT_ABA_ROUTING, CTX_ABA, CI, 0.7f, chk_ctx_aba, NULL, 0, NULL},
    {SEAM_ENT_US_NPI, CTX_NPI, CI, 0.7f, chk_ctx_npi, NULL, 0, NULL},
    {SEAM_ENT_US_DEA, CTX_DEA, CI, 0.7f, chk_ctx_dea, NULL, 0, NULL},
    {SEAM_ENT_UK_NHS, CTX_NHS, CI, 0.7f, chk_ctx_nhs, NULL, 0, NULL},

    /* E-mail addresses; the checker wants a real top-level domain. */
    {SEAM_ENT_EMAIL, "[A-Za-z0-9_%+-]@[A-Za-z0-9]", 0, 0.9f, chk_email, NULL, 0, NULL},

    /* Phone numbers: international with +, (NPA) NXX-XXXX, and bare North
     * American numbers after a word such as "call" or "phone". */
    {SEAM_ENT_PHONE, "\\+" D, 0, 0.8f, chk_phone_plus, ctx_phone, 0.2f, NULL},
    {SEAM_ENT_PHONE, "\\(" D "{3}\\) ?" D, 0, 0.7f, chk_phone_paren, ctx_phone, 0.25f, NULL},
    {SEAM_ENT_PHONE, CTX_PHONE, CI, 0.8f, chk_ctx_phone, NULL, 0, NULL},

    /* IP addresses, not versions, sections or OIDs; IPv6 by its "::" or
     * its eight groups. */
    {SEAM_ENT_IP_ADDRESS, "\\b" D "{1,3}\\." D "{1,3}\\." D "{1,3}\\." D "{1,3}\\b", 0, 0.8f,
     chk_ipv4, ctx_ip, 0.35f, neg_ip},
    {SEAM_ENT_IP_ADDRESS, "::", 0, 0.8f, chk_ipv6, NULL, 0, neg_ip},
    {SEAM_ENT_IP_ADDRESS, "(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}", 0, 0.8f, chk_ipv6, NULL, 0,
     neg_ip},

    /* Private keys (not public keys or certificates). */
    {SEAM_ENT_PRIVATE_KEY, "PRIVATE KEY(?: BLOCK)?-----", 0, 0.9f, chk_pem, NULL, 0, NULL},

    /* Cloud and SaaS credentials, by their prefixes. */
    {SEAM_ENT_AWS_ACCESS_KEY, "\\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]", 0, 1.0f, chk_aws, NULL, 0,
     NULL},
    {SEAM_ENT_GITHUB_TOKEN, "\\bgh[pousr]_[A-Za-z0-9]", 0, 1.0f, chk_github, NULL, 0, NULL},
    {SEAM_ENT_GITHUB_TOKEN, "\\bgithub_pat_", 0, 1.0f, chk_github_pat, NULL, 0, NULL},
    {SEAM_ENT_GITLAB_TOKEN, "\\bgl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|agent)-", 0, 1.0f, chk_gitlab,
     NULL, 0, NULL},
    {SEAM_ENT_HUGGINGFACE_TOKEN, "\\bhf_[A-Za-z0-9]", 0, 1.0f, chk_huggingface, NULL, 0, NULL},
    {SEAM_ENT_NPM_TOKEN, "\\bnpm_[A-Za-z0-9]", 0, 1.0f, chk_npm, NULL, 0, NULL},
    {SEAM_ENT_OPENAI_KEY, "\\bsk-(?:proj|svcacct|admin)-", 0, 1.0f, chk_openai, NULL, 0, NULL},
    {SEAM_ENT_OPENAI_KEY, OPENAI_MARKER, 0, 1.0f, chk_openai_legacy, NULL, 0, NULL},
    {SEAM_ENT_ANTHROPIC_KEY, "\\bsk-ant-", 0, 1.0f, chk_anthropic, NULL, 0, NULL},
    {SEAM_ENT_GOOGLE_API_KEY, "\\bAIza", 0, 1.0f, chk_google, NULL, 0, NULL},
    {SEAM_ENT_SLACK_TOKEN, "\\b(?:xox[abposre]|xapp)-", 0, 1.0f, chk_slack, NULL, 0, NULL},
    {SEAM_ENT_SLACK_TOKEN, "hooks\\.slack\\.com/services/", 0, 1.0f, chk_slack_hook, NULL, 0, NULL},
    {SEAM_ENT_STRIPE_KEY, "\\b(?:[sr]k_(?:live|test)|whsec)_", 0, 1.0f, chk_stripe, NULL, 0, NULL},
    {SEAM_ENT_JWT, "\\.eyJ", 0, 1.0f, chk_jwt, NULL, 0, NULL},

    /* Generic secrets: keyword, assignment, value (the value is the span);
     * bearer tokens; passwords in URLs. */
    {SEAM_ENT_GENERIC_SECRET,
     "(?:password|passwd|passphrase|pwd|secret|api[_-]?key|apikey|access[_-]?key|"
     "auth[_-]?token|access[_-]?token|refresh[_-]?token|private[_-]?key|token|credential)",
     CI, 0.75f, chk_secret_kv, NULL, 0, NULL},
    {SEAM_ENT_GENERIC_SECRET, "\\bbearer[ \\t]+", CI, 0.75f, chk_bearer, NULL, 0, NULL},
    {SEAM_ENT_GENERIC_SECRET, "://", 0, 0.8f, chk_url_password, NULL, 0, NULL},

    /* Label-anchored health identifiers. */
    {SEAM_ENT_MRN,
     "\\b(?:mrn|medical record(?: number| no| num)?|patient(?: id| number| no)|"
     "chart(?: number| no)|hospital(?: number| no))\\b",
     CI, 0.85f, chk_mrn, NULL, 0, NULL},
    {SEAM_ENT_DOB, "\\b(?:dob|d\\.o\\.b|date of birth|birth ?date|birthday|born(?: on)?)\\b", CI,
     0.85f, chk_dob, NULL, 0, NULL},
};

const size_t seam_scan__ndetectors = sizeof seam_scan__detectors / sizeof seam_scan__detectors[0];
