/*
 * Validators: the second half of every detector. Vectorscan finds text that
 * has the shape of a value; the functions here decide whether it is one,
 * with the check-digit algorithms and number ranges the issuing bodies
 * publish (ISO/IEC 7812 Luhn, ISO 13616 IBAN, SSA SSN ranges, the ABA
 * checksum, CMS NPI, DEA, NHS Data Dictionary) and structural checks where
 * there is no check digit. Everything works on (pointer, length) views of
 * ASCII text and never allocates, so the scanner can call these on every
 * candidate in its hot path.
 */
#include "scan/validate.h"

#include <arpa/inet.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(int c)
{
    return is_digit(c) || is_alpha(c);
}

size_t seam_scan__digits(const char *p, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            continue;
        if (k == cap)
            return cap + 1;
        out[k++] = p[i];
    }
    return k;
}

bool seam_scan__luhn(const char *d, size_t n)
{
    unsigned sum = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned v = (unsigned)(d[n - 1 - i] - '0');
        if (v > 9)
            return false;
        if (i & 1) {
            v *= 2;
            if (v > 9)
                v -= 9;
        }
        sum += v;
    }
    return sum % 10 == 0;
}

/* ---- payment cards ------------------------------------------------------ */

static unsigned prefix_num(const char *d, size_t k)
{
    unsigned v = 0;
    for (size_t i = 0; i < k; i++)
        v = v * 10 + (unsigned)(d[i] - '0');
    return v;
}

/* Issuer identification: whether a number starting with <d> may have <n>
 * digits. Visa, Mastercard, American Express, Discover, Diners Club, JCB
 * and UnionPay; other schemes (Maestro's 50/56-69 range) are too broad to
 * tell from order numbers. */
static bool card_iin_ok(const char *d, size_t n)
{
    unsigned p1 = prefix_num(d, 1), p2 = prefix_num(d, 2), p3 = prefix_num(d, 3),
             p4 = prefix_num(d, 4), p6 = prefix_num(d, 6);
    if (p1 == 4)
        return n == 13 || n == 16 || n == 19;
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
        return n == 16;
    if (p2 == 34 || p2 == 37)
        return n == 15;
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
        return n >= 16 && n <= 19;
    if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39)
        return n >= 14 && n <= 19;
    if (p4 >= 3528 && p4 <= 3589)
        return n >= 16 && n <= 19;
    if (p2 == 62)
        return n >= 16 && n <= 19;
    return false;
}

/* The groupings printed on cards and in forms. */
static bool card_grouping_ok(const size_t *g, size_t ng)
{
    static const unsigned char ok[][6] = {
        {4, 4, 4, 4, 0}, {4, 4, 4, 4, 3, 0}, {4, 6, 5, 0},    {4, 6, 4, 0},
        {4, 4, 4, 1, 0}, {4, 4, 5, 0},       {4, 4, 4, 3, 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        size_t k = 0;
        while (k < ng && ok[i][k] && ok[i][k] == g[k])
            k++;
        if (k == ng && ok[i][k] == 0)
            return true;
    }
    return false;
}

bool seam_scan__card(const char *p, size_t n)
{
    char d[20];
    size_t g[8], ng = 0, run = 0, nd = 0;
    char sep = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_digit(p[i])) {
            if (nd == 19)
                return false;
            d[nd++] = p[i];
            run++;
            continue;
        }
        if (p[i] != ' ' && p[i] != '-')
            return false;
        if (sep && p[i] != sep)
            return false;
        sep = p[i];
        if (run == 0 || ng == 7)
            return false;
        g[ng++] = run;
        run = 0;
    }
    if (run == 0)
        return false;
    g[ng++] = run;
    if (nd < 13 || (ng > 1 && !card_grouping_ok(g, ng)))
        return false;
    return card_iin_ok(d, nd) && seam_scan__luhn(d, nd);
}

/* ---- IBAN --------------------------------------------------------------- */

/* Lengths from the SWIFT IBAN registry. */
static const struct {
    char cc[3];
    unsigned char len;
} iban_len[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
    {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

bool seam_scan__iban(const char *p, size_t n)
{
    char s[40];
    size_t k = 0, run = 0;
    bool grouped = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ' ') {
            /* Groups of exactly four, the last one shorter. */
            if (run != 4)
                return false;
            grouped = true;
            run = 0;
            continue;
        }
        if (!is_digit(p[i]) && !(p[i] >= 'A' && p[i] <= 'Z'))
            return false;
        if (k == sizeof s)
            return false;
        s[k++] = p[i];
        run++;
    }
    if (run == 0 || (grouped && run > 4) || k < 15)
        return false;
    if (!is_alpha(s[0]) || !is_alpha(s[1]) || !is_digit(s[2]) || !is_digit(s[3]))
        return false;
    size_t want = 0;
    for (size_t i = 0; i < sizeof iban_len / sizeof iban_len[0]; i++)
        if (iban_len[i].cc[0] == s[0] && iban_len[i].cc[1] == s[1])
            want = iban_len[i].len;
    if (want != k)
        return false;
    /* ISO 7064 mod 97-10: the first four characters move to the end,
     * letters count as 10..35, and the number must leave 1. */
    unsigned rem = 0;
    for (size_t i = 0; i < k; i++) {
        char c = s[(i + 4) % k];
        if (is_digit(c))
            rem = (rem * 10 + (unsigned)(c - '0')) % 97;
        else
            rem = (rem * 100 + (unsigned)(c - 'A' + 10)) % 97;
    }
    return rem == 1;
}

/* ---- US identifiers ----------------------------------------------------- */

bool seam_scan__ssn(const char *p, size_t n)
{
    char d[9];
    if (n == 11) {
        if (p[3] != p[6] || (p[3] != '-' && p[3] != ' '))
            return false;
    } else if (n != 9) {
        return false;
    }
    if (seam_scan__digits(p, n, d, 9) != 9)
        return false;
    unsigned area = prefix_num(d, 3), group = prefix_num(d + 3, 2), serial = prefix_num(d + 5, 4);
    if (area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0)
        return false;
    bool same = true;
    for (int i = 1; i < 9; i++)
        same = same && d[i] == d[0];
    if (same)
        return false;
    /* Numbers published in advertising and documentation: 078-05-1120
     * (the Woolworth wallet card), 219-09-9999 and 123-45-6789. */
    if (!memcmp(d, "078051120", 9) || !memcmp(d, "219099999", 9) || !memcmp(d, "123456789", 9))
        return false;
    return true;
}

bool seam_scan__aba(const char *p, size_t n)
{
    static const unsigned w[9] = {3, 7, 1, 3, 7, 1, 3, 7, 1};
    char d[9];
    if (n != 9 || seam_scan__digits(p, n, d, 9) != 9)
        return false;
    unsigned pre = prefix_num(d, 2);
    if (!((pre <= 12) || (pre >= 21 && pre <= 32) || (pre >= 61 && pre <= 72) || pre == 80))
        return false;
    if (!memcmp(d, "000000000", 9))
        return false;
    unsigned sum = 0;
    for (int i = 0; i < 9; i++)
        sum += w[i] * (unsigned)(d[i] - '0');
    return sum % 10 == 0;
}

bool seam_scan__npi(const char *p, size_t n)
{
    char d[15] = "80840";
    if (n != 10 || seam_scan__digits(p, n, d + 5, 10) != 10)
        return false;
    if (d[5] != '1' && d[5] != '2')
        return false;
    return seam_scan__luhn(d, 15);
}

bool seam_scan__dea(const char *p, size_t n)
{
    /* Registrant types: A/B/F/G practitioners and hospitals, M mid-level
     * practitioners, P/R distributors, X narcotic treatment programmes. */
    static const char types[] = "ABFGMPRX";
    if (n != 9 || !strchr(types, p[0]) || p[0] == '\0')
        return false;
    if (!(p[1] >= 'A' && p[1] <= 'Z') && p[1] != '9')
        return false;
    unsigned d[7];
    for (int i = 0; i < 7; i++) {
        if (!is_digit(p[2 + i]))
            return false;
        d[i] = (unsigned)(p[2 + i] - '0');
    }
    unsigned sum = d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5]);
    return sum % 10 == d[6];
}

bool seam_scan__nhs(const char *p, size_t n)
{
    char d[10];
    if (n == 12) {
        if (p[3] != p[7] || (p[3] != ' ' && p[3] != '-'))
            return false;
    } else if (n != 10) {
        return false;
    }
    if (seam_scan__digits(p, n, d, 10) != 10)
        return false;
    unsigned sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (unsigned)(10 - i) * (unsigned)(d[i] - '0');
    unsigned check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    if (check == 10)
        return false;
    bool same = true;
    for (int i = 1; i < 10; i++)
        same = same && d[i] == d[0];
    return !same && check == (unsigned)(d[9] - '0');
}

/* ---- JWT ---------------------------------------------------------------- */

static int b64url_val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-' || c == '_')
        return c == '-' ? 62 : 63;
    return -1;
}

/* Decodes base64url <p> into <out> (at most <cap> bytes kept, the rest
 * decoded and dropped) and returns the decoded length, or -1 on a bad
 * character or an impossible length. The decoded tail is what the JSON
 * check needs, so the last bytes are kept in <tail>. */
static long b64url_decode(const char *p, size_t n, unsigned char *out, size_t cap,
                          unsigned char *tail)
{
    uint32_t acc = 0;
    int bits = 0;
    long o = 0;
    if (n % 4 == 1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_val((unsigned char)p[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            unsigned char b = (unsigned char)(acc >> bits);
            if ((size_t)o < cap)
                out[o] = b;
            tail[0] = tail[1];
            tail[1] = b;
            o++;
        }
    }
    return o;
}

/* A JSON object, judged by its ends and its characters: starts with '{'
 * and '"', ends with '}', all printable. A full parse is not needed to
 * tell a token from base64 noise, and would allocate. */
static bool json_object_b64(const char *p, size_t n, bool need_alg)
{
    unsigned char head[64], tail[2] = {0, 0};
    long len = b64url_decode(p, n, head, sizeof head, tail);
    if (len < 2)
        return false;
    size_t h = (size_t)len < sizeof head ? (size_t)len : sizeof head;
    size_t i = 0;
    while (i < h && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t'))
        i++;
    if (i + 1 >= h || head[i] != '{')
        return false;
    i++;
    while (i < h && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t'))
        i++;
    if (i >= h || (head[i] != '"' && head[i] != '}'))
        return false;
    size_t t = tail[1] == '}' ? 1 : 0;
    if (!t && !((tail[1] == ' ' || tail[1] == '\n' || tail[1] == '\r') && tail[0] == '}'))
        return false;
    for (size_t j = 0; j < h; j++)
        if (head[j] < 0x20 && head[j] != '\n' && head[j] != '\r' && head[j] != '\t')
            return false;
    if (need_alg) {
        bool alg = false;
        for (size_t j = 0; j + 5 <= h && !alg; j++)
            alg = !memcmp(head + j, "\"alg\"", 5);
        if (!alg)
            return false;
    }
    return true;
}

bool seam_scan__jwt(const char *p, size_t n)
{
    const char *d1 = memchr(p, '.', n);
    if (!d1)
        return false;
    const char *d2 = memchr(d1 + 1, '.', n - (size_t)(d1 + 1 - p));
    if (!d2 || memchr(d2 + 1, '.', n - (size_t)(d2 + 1 - p)))
        return false;
    for (const char *q = d2 + 1; q < p + n; q++)
        if (b64url_val((unsigned char)*q) < 0)
            return false;
    return json_object_b64(p, (size_t)(d1 - p), true) &&
           json_object_b64(d1 + 1, (size_t)(d2 - d1 - 1), false);
}

/* ---- network ------------------------------------------------------------ */

bool seam_scan__ipv4(const char *p, size_t n)
{
    char s[16];
    struct in_addr a;
    if (n < 7 || n > 15)
        return false;
    memcpy(s, p, n);
    s[n] = '\0';
    /* glibc's inet_pton accepts exactly four decimal octets, rejecting
     * leading zeros and values above 255. */
    return inet_pton(AF_INET, s, &a) == 1;
}

bool seam_scan__ipv6(const char *p, size_t n)
{
    char s[46];
    struct in6_addr a;
    size_t colons = 0, hex = 0;
    bool dbl = false;
    if (n < 3 || n > 45)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == ':') {
            colons++;
            dbl = dbl || (i + 1 < n && p[i + 1] == ':');
        } else {
            hex++;
        }
    }
    /* Either the full eight groups or a compressed form with at least two
     * written groups: "a::b" could be C++ or Rust as easily. */
    if (!(colons == 7 || (dbl && colons >= 3) || (dbl && colons == 2 && hex >= 6)))
        return false;
    memcpy(s, p, n);
    s[n] = '\0';
    return inet_pton(AF_INET6, s, &a) == 1;
}

/* Top-level domains: every ISO 3166 country code plus the generic ones
 * that appear in addresses. Sorted for bsearch. */
static const char *const tlds[] = {
    "ac",          "academy",     "accountants",
    "ad",          "ae",          "aero",
    "af",          "ag",          "agency",
    "ai",          "al",          "am",
    "amazon",      "amsterdam",   "ao",
    "app",         "apple",       "aq",
    "ar",          "arpa",        "art",
    "as",          "asia",        "at",
    "au",          "aw",          "aws",
    "ax",          "az",          "azure",
    "ba",          "bank",        "bb",
    "bd",          "be",          "berlin",
    "bf",          "bg",          "bh",
    "bi",          "biz",         "bj",
    "blog",        "bm",          "bn",
    "bo",          "br",          "bs",
    "bt",          "business",    "bw",
    "by",          "bz",          "ca",
    "capital",     "care",        "cat",
    "cc",          "cd",          "center",
    "cf",          "cg",          "ch",
    "charity",     "chat",        "church",
    "ci",          "city",        "ck",
    "cl",          "clinic",      "cloud",
    "club",        "cm",          "cn",
    "co",          "codes",       "college",
    "com",         "company",     "computer",
    "consulting",  "coop",        "cr",
    "credit",      "cu",          "cv",
    "cw",          "cx",          "cy",
    "cz",          "de",          "design",
    "dev",         "digital",     "dj",
    "dk",          "dm",          "do",
    "dz",          "earth",       "ec",
    "eco",         "edu",         "ee",
    "eg",          "email",       "energy",
    "engineering", "enterprises", "er",
    "es",          "estate",      "et",
    "eu",          "events",      "exchange",
    "expert",      "family",      "fi",
    "finance",     "financial",   "fj",
    "fk",          "fm",          "fo",
    "foundation",  "fr",          "fund",
    "fyi",         "ga",          "gallery",
    "gb",          "gd",          "ge",
    "gf",          "gg",          "gh",
    "gi",          "gives",       "gl",
    "global",      "gm",          "gmbh",
    "gn",          "google",      "gov",
    "gp",          "gq",          "gr",
    "green",       "group",       "gs",
    "gt",          "gu",          "guru",
    "gw",          "gy",          "health",
    "help",        "hk",          "hm",
    "hn",          "holdings",    "homes",
    "hospital",    "host",        "house",
    "hr",          "ht",          "hu",
    "id",          "ie",          "il",
    "im",          "in",          "inc",
    "industries",  "info",        "institute",
    "insurance",   "int",         "international",
    "investments", "io",          "iq",
    "ir",          "is",          "it",
    "je",          "jm",          "jo",
    "jobs",        "jp",          "ke",
    "kg",          "kh",          "ki",
    "km",          "kn",          "kp",
    "kr",          "kw",          "ky",
    "kz",          "la",          "land",
    "law",         "lb",          "lc",
    "legal",       "li",          "life",
    "link",        "live",        "lk",
    "llc",         "loans",       "london",
    "lr",          "ls",          "lt",
    "ltd",         "lu",          "lv",
    "ly",          "ma",          "mail",
    "market",      "markets",     "mc",
    "md",          "me",          "media",
    "mg",          "mh",          "microsoft",
    "mil",         "mk",          "ml",
    "mm",          "mn",          "mo",
    "mobi",        "money",       "mp",
    "mq",          "mr",          "ms",
    "mt",          "mu",          "museum",
    "music",       "mv",          "mw",
    "mx",          "my",          "mz",
    "na",          "name",        "nc",
    "ne",          "net",         "network",
    "news",        "nf",          "ng",
    "ngo",         "ni",          "ninja",
    "nl",          "no",          "np",
    "nr",          "nu",          "nyc",
    "nz",          "om",          "one",
    "online",      "org",         "ovh",
    "pa",          "page",        "paris",
    "partners",    "pe",          "pf",
    "pg",          "ph",          "photo",
    "photos",      "pk",          "pl",
    "plus",        "pm",          "pn",
    "post",        "pr",          "pro",
    "properties",  "ps",          "pt",
    "pw",          "py",          "qa",
    "re",          "realty",      "rentals",
    "ro",          "rocks",       "rs",
    "ru",          "rw",          "sa",
    "sb",          "sc",          "school",
    "science",     "sd",          "se",
    "security",    "services",    "sg",
    "sh",          "shop",        "si",
    "site",        "sk",          "sl",
    "sm",          "sn",          "so",
    "social",      "software",    "solar",
    "solutions",   "space",       "sr",
    "ss",          "st",          "store",
    "studio",      "su",          "support",
    "sv",          "sx",          "sy",
    "systems",     "sz",          "tax",
    "tc",          "td",          "team",
    "tech",        "technology",  "tel",
    "tf",          "tg",          "th",
    "tj",          "tk",          "tl",
    "tm",          "tn",          "to",
    "today",       "tokyo",       "tools",
    "top",         "tr",          "trade",
    "trading",     "travel",      "tt",
    "tv",          "tw",          "tz",
    "ua",          "ug",          "uk",
    "university",  "us",          "uy",
    "uz",          "va",          "vc",
    "ve",          "ventures",    "vg",
    "vi",          "video",       "vn",
    "vu",          "web",         "website",
    "wf",          "wiki",        "win",
    "works",       "world",       "ws",
    "xyz",         "ye",          "yt",
    "za",          "zm",          "zone",
    "zw",
};

bool seam_scan__tld(const char *p, size_t n)
{
    char s[16];
    if (n < 2 || n >= sizeof s)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_alpha(p[i]))
            return false;
        s[i] = (char)lower(p[i]);
    }
    s[n] = '\0';
    size_t lo = 0, hi = sizeof tlds / sizeof tlds[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(s, tlds[mid]);
        if (c == 0)
            return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

bool seam_scan__email(const char *p, size_t n)
{
    const char *at = memchr(p, '@', n);
    if (!at || memchr(at + 1, '@', n - (size_t)(at + 1 - p)))
        return false;
    size_t ll = (size_t)(at - p), dl = n - ll - 1;
    const char *d = at + 1;
    if (ll == 0 || ll > 64 || dl < 4 || dl > 253)
        return false;
    if (p[0] == '.' || p[ll - 1] == '.')
        return false;
    for (size_t i = 0; i < ll; i++) {
        char c = p[i];
        if (!is_alnum(c) && !strchr("._%+-", c))
            return false;
        if (c == '.' && p[i + 1] == '.')
            return false;
    }
    /* Domain: labels of letters, digits and inner dashes. */
    size_t start = 0, labels = 0;
    for (size_t i = 0; i <= dl; i++) {
        if (i < dl && d[i] != '.') {
            if (!is_alnum(d[i]) && d[i] != '-')
                return false;
            continue;
        }
        size_t len = i - start;
        if (len == 0 || len > 63 || d[start] == '-' || d[i - 1] == '-')
            return false;
        labels++;
        if (i == dl)
            return labels >= 2 && seam_scan__tld(d + start, len);
        start = i + 1;
    }
    return false;
}

/* ---- phone numbers ------------------------------------------------------ */

/* Country calling codes with the national number lengths each uses; other
 * valid codes fall back to 6-12 digits. */
static const struct {
    unsigned short cc;
    unsigned char lo, hi;
} cc_len[] = {
    {1, 10, 10},  {7, 10, 10}, {20, 8, 10},  {27, 9, 9},   {30, 10, 10}, {31, 9, 9},   {32, 8, 9},
    {33, 9, 9},   {34, 9, 9},  {36, 8, 9},   {39, 6, 11},  {40, 9, 9},   {41, 9, 9},   {43, 7, 13},
    {44, 9, 10},  {45, 8, 8},  {46, 7, 9},   {47, 8, 8},   {48, 9, 9},   {49, 6, 13},  {51, 8, 9},
    {52, 10, 10}, {53, 8, 8},  {54, 10, 11}, {55, 10, 11}, {56, 9, 9},   {57, 10, 10}, {58, 10, 10},
    {60, 8, 10},  {61, 9, 9},  {62, 8, 12},  {63, 8, 10},  {64, 8, 10},  {65, 8, 8},   {66, 8, 9},
    {81, 9, 10},  {82, 8, 10}, {84, 9, 10},  {86, 10, 11}, {90, 10, 10}, {91, 10, 10}, {92, 9, 10},
    {93, 9, 9},   {94, 9, 9},  {95, 7, 10},  {98, 10, 10},
};

/* Three-digit codes are assigned in the 21x-29x, 35x-38x, 42x, 50x, 59x,
 * 67x-69x, 85x, 88x, 96x-97x and 99x blocks. */
static bool cc3_ok(unsigned cc)
{
    unsigned b = cc / 10;
    return (b >= 21 && b <= 29) || (b >= 35 && b <= 38) || b == 42 || b == 50 || b == 59 ||
           (b >= 67 && b <= 69) || b == 85 || b == 88 || b == 96 || b == 97 || b == 99;
}

static bool nanp_ok(const char *d)
{
    /* Area code and exchange: NXX, N in 2-9. (N11 area codes are service
     * codes, but people write 911- and 411-style numbers all the same.) */
    return d[0] >= '2' && d[3] >= '2';
}

bool seam_scan__phone(const char *p, size_t n)
{
    char d[20];
    size_t nd = seam_scan__digits(p, n, d, 19);
    if (nd > 19)
        return false;
    int open = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (is_digit(c) || c == ' ' || c == '.' || c == '-')
            continue;
        if (c == '+' && i == 0)
            continue;
        if (c == '(' && open == 0) {
            open = 1;
            continue;
        }
        if (c == ')' && open == 1) {
            open = 2;
            continue;
        }
        return false;
    }
    if (open == 1)
        return false;
    /* One dot is a decimal point (+35236450.6), and a number ends with a
     * group of at least two digits. */
    const char *dot = memchr(p, '.', n);
    if (dot && !memchr(dot + 1, '.', n - (size_t)(dot + 1 - p)))
        return false;
    if (n < 2 || !is_digit(p[n - 2]))
        return false;
    if (p[0] != '+')
        return nd == 10 && nanp_ok(d);
    if (nd < 8 || nd > 15)
        return false;
    /* The longest code that is assigned wins: +1 and +7 are one digit,
     * then the two-digit table, then the three-digit blocks. */
    for (size_t i = 0; i < sizeof cc_len / sizeof cc_len[0]; i++) {
        unsigned cc = cc_len[i].cc;
        size_t k = cc < 10 ? 1 : 2;
        if (prefix_num(d, k) != cc)
            continue;
        size_t nat = nd - k;
        if (nat < cc_len[i].lo || nat > cc_len[i].hi)
            return false;
        return cc != 1 || nanp_ok(d + 1);
    }
    if (d[0] == '1' || d[0] == '7')
        return false;
    if (!cc3_ok(prefix_num(d, 3)))
        return false;
    return nd - 3 >= 6 && nd - 3 <= 12;
}

/* ---- dates -------------------------------------------------------------- */

bool seam_scan__date_ok(int y, int m, int d)
{
    static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1900 || y > 2099 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return false;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return false;
    return true;
}

/* Reads 1 to <max> digits; returns how many, the value in <*v>. */
static size_t read_num(const char *p, size_t n, size_t max, int *v)
{
    size_t i = 0;
    *v = 0;
    while (i < n && i < max && is_digit(p[i]))
        *v = *v * 10 + (p[i++] - '0');
    return i;
}

static const char *const months[12] = {"january",   "february", "march",    "april",
                                       "may",       "june",     "july",     "august",
                                       "september", "october",  "november", "december"};

/* A month name, full or abbreviated to three letters (with an optional
 * dot; "Sept" too). Returns its length and sets <*m>, or 0. */
static size_t read_month(const char *p, size_t n, int *m)
{
    size_t w = 0;
    while (w < n && is_alpha(p[w]))
        w++;
    if (w < 3)
        return 0;
    for (int i = 0; i < 12; i++) {
        size_t full = strlen(months[i]);
        bool ok = w == full || w == 3 || (i == 8 && w == 4);
        if (!ok || w > full)
            continue;
        size_t k = 0;
        while (k < w && lower(p[k]) == months[i][k])
            k++;
        if (k == w) {
            *m = i + 1;
            return w < n && p[w] == '.' && w < full ? w + 1 : w;
        }
    }
    return 0;
}

static size_t read_ordinal(const char *p, size_t n)
{
    if (n >= 2) {
        char a = (char)lower(p[0]), b = (char)lower(p[1]);
        if ((a == 's' && b == 't') || (a == 'n' && b == 'd') || (a == 'r' && b == 'd') ||
            (a == 't' && b == 'h'))
            return 2;
    }
    return 0;
}

/* The date must end at a word boundary: "1990-05-251" is not a date. */
static size_t date_end(const char *p, size_t n, size_t i)
{
    return i < n && is_alnum(p[i]) ? 0 : i;
}

size_t seam_scan__date(const char *p, size_t n)
{
    int a, b, c, m;
    size_t i, k;

    if (n == 0)
        return 0;
    if (is_digit(p[0])) {
        i = read_num(p, n, 4, &a);
        if (i == 4 && i < n && (p[i] == '-' || p[i] == '/' || p[i] == '.')) {
            /* Year first: 1990-05-25, 1990/05/25. */
            char sep = p[i++];
            k = read_num(p + i, n - i, 2, &b);
            if (k == 0)
                return 0;
            i += k;
            if (i >= n || p[i] != sep)
                return 0;
            i++;
            k = read_num(p + i, n - i, 2, &c);
            if (k == 0)
                return 0;
            i += k;
            return seam_scan__date_ok(a, b, c) ? date_end(p, n, i) : 0;
        }
        if (i > 2)
            return 0;
        if (i < n && (p[i] == '/' || p[i] == '-' || p[i] == '.') && i + 1 < n &&
            is_digit(p[i + 1])) {
            /* Day and month in either order: 05/25/1990, 25.05.1990, 5/25/90. */
            char sep = p[i++];
            k = read_num(p + i, n - i, 2, &b);
            if (k == 0)
                return 0;
            i += k;
            if (i >= n || p[i] != sep)
                return 0;
            i++;
            k = read_num(p + i, n - i, 4, &c);
            if (k != 2 && k != 4)
                return 0;
            i += k;
            if (k == 2)
                c += c <= 30 ? 2000 : 1900;
            if (!seam_scan__date_ok(c, a, b) && !seam_scan__date_ok(c, b, a))
                return 0;
            return date_end(p, n, i);
        }
        /* 25 May 1990, 25th May 1990, 25-May-1990. */
        i += read_ordinal(p + i, n - i);
        char sep = i < n ? p[i] : 0;
        if (sep != ' ' && sep != '-')
            return 0;
        i++;
        k = read_month(p + i, n - i, &m);
        if (k == 0)
            return 0;
        i += k;
        if (i < n && p[i] == ',')
            i++;
        if (i >= n || p[i] != sep)
            return 0;
        i++;
        k = read_num(p + i, n - i, 4, &c);
        if (k != 4)
            return 0;
        i += k;
        return seam_scan__date_ok(c, m, a) ? date_end(p, n, i) : 0;
    }
    /* May 25, 1990; May 25th 1990. */
    i = read_month(p, n, &m);
    if (i == 0 || i >= n || p[i] != ' ')
        return 0;
    i++;
    k = read_num(p + i, n - i, 2, &a);
    if (k == 0)
        return 0;
    i += k;
    i += read_ordinal(p + i, n - i);
    if (i < n && p[i] == ',')
        i++;
    if (i >= n || p[i] != ' ')
        return 0;
    i++;
    k = read_num(p + i, n - i, 4, &c);
    if (k != 4)
        return 0;
    i += k;
    return seam_scan__date_ok(c, m, a) ? date_end(p, n, i) : 0;
}

/* ---- secrets ------------------------------------------------------------ */

/* c * log2(c) for the counts of short strings, filled once: a token's
 * entropy is then a table lookup per distinct character. */
#define XLOGX_MAX 512
static double xlogx[XLOGX_MAX + 1];
static pthread_once_t xlogx_once = PTHREAD_ONCE_INIT;

static void xlogx_init(void)
{
    for (int c = 1; c <= XLOGX_MAX; c++)
        xlogx[c] = c * log2((double)c);
}

double seam_scan__entropy(const char *p, size_t n)
{
    uint32_t count[256];
    unsigned char seen[256];
    size_t distinct = 0;
    double sum = 0;
    if (n == 0)
        return 0;
    pthread_once(&xlogx_once, xlogx_init);
    memset(count, 0, sizeof count);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (count[c]++ == 0)
            seen[distinct++] = c;
    }
    /* H = log2(n) - (1/n) * sum(c * log2(c)) over the character counts. */
    for (size_t i = 0; i < distinct; i++) {
        uint32_t c = count[seen[i]];
        sum += c <= XLOGX_MAX ? xlogx[c] : c * log2((double)c);
    }
    return log2((double)n) - sum / (double)n;
}

static bool is_ident(const char *p, size_t n)
{
    if (n == 0 || is_digit(p[0]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(p[i]) && p[i] != '_')
            return false;
    return true;
}

/* An environment or shell variable name: one case throughout
 * (API_KEY, db_password), as opposed to a random token that happens to
 * start with '$'. */
static bool is_env_name(const char *p, size_t n)
{
    bool up = false, lo = false;
    if (!is_ident(p, n))
        return false;
    for (size_t i = 0; i < n; i++) {
        up = up || (p[i] >= 'A' && p[i] <= 'Z');
        lo = lo || (p[i] >= 'a' && p[i] <= 'z');
    }
    return !(up && lo);
}

/* Words that only appear in documentation and templates. Each long one
 * is long enough that a random token contains it by chance less than once
 * in a hundred thousand; the short ones would turn up by chance in long
 * random tokens, so they count only in values of up to 40 characters. */
static const struct {
    const char *w;
    unsigned char len, short_only;
} ph_words[] = {
    {"example", 7, 0},   {"placeholder", 11, 0}, {"changeme", 8, 0}, {"change_me", 9, 0},
    {"change-me", 9, 0}, {"xxxxx", 5, 0},        {"redacted", 8, 0}, {"dummy", 5, 0},
    {"sample", 6, 0},    {"insert", 6, 0},       {"replace", 7, 0},  {"password", 8, 0},
    {"notreal", 7, 0},   {"not_real", 8, 0},     {"${", 2, 0},       {"{{", 2, 0},
    {"}}", 2, 0},        {"%(", 2, 0},           {"*****", 5, 0},    {"....", 4, 0},
    {"your", 4, 1},      {"here", 4, 1},         {"todo", 4, 1},     {"fake", 4, 1},
    {"xxxx", 4, 1},      {"fixme", 5, 1},
};

/* For each character, the words of ph_words (1-based, 0-terminated) that
 * start with it, so the search below compares only where a word can
 * begin, and only with those words. */
static const unsigned char ph_index[256][4] = {
    ['e'] = {1},  ['p'] = {2, 12}, ['c'] = {3, 4, 5}, ['x'] = {6, 25},  ['r'] = {7, 11},
    ['d'] = {8},  ['s'] = {9},     ['i'] = {10},      ['n'] = {13, 14}, ['$'] = {15},
    ['{'] = {16}, ['}'] = {17},    ['%'] = {18},      ['*'] = {19},     ['.'] = {20},
    ['y'] = {21}, ['h'] = {22},    ['t'] = {23},      ['f'] = {24, 26},
};

static bool is_lower(int c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

/* Whether p[s, e) reads as a word of its own, as placeholders are written
 * ("your_key_here", "YourKeyHere", "EXAMPLE", "changeme"), rather than as
 * letters that a random token happens to contain ("zyOUrIQ", "bfakelld"):
 * one case (lower, upper or capitalised), and a boundary on at least one
 * side (the value's edge, a non-alphanumeric character or a change to a
 * capital). */
static bool word_like(const char *p, size_t n, size_t s, size_t e)
{
    bool lo = true, up = true, cap = is_upper((unsigned char)p[s]);
    for (size_t i = s; i < e; i++) {
        int c = (unsigned char)p[i];
        if (!is_alpha(c))
            continue;
        lo = lo && is_lower(c);
        up = up && is_upper(c);
        cap = cap && (i == s || is_lower(c));
    }
    if (!lo && !up && !cap)
        return false;
    bool left = s == 0 || !is_alnum(p[s - 1]) ||
                (is_upper((unsigned char)p[s]) && is_lower((unsigned char)p[s - 1]));
    bool right = e == n || !is_alnum(p[e]) ||
                 (is_lower((unsigned char)p[e - 1]) && is_upper((unsigned char)p[e]));
    return left || right;
}

static bool has_ph_word(const char *p, size_t n)
{
    /* Placeholders are short: the first 256 bytes are enough. */
    size_t m = n < 256 ? n : 256;
    for (size_t i = 0; i < m; i++) {
        const unsigned char *cand = ph_index[lower((unsigned char)p[i])];
        for (size_t c = 0; c < 4 && cand[c]; c++) {
            size_t k = cand[c] - 1u, wl = ph_words[k].len, j = 1;
            const char *w = ph_words[k].w;
            if (i + wl > m || (ph_words[k].short_only && n > 40))
                continue;
            while (j < wl && lower((unsigned char)p[i + j]) == w[j])
                j++;
            if (j == wl && (!is_alpha(w[0]) || word_like(p, n, i, i + wl)))
                return true;
        }
    }
    return false;
}

bool seam_scan__placeholder(const char *p, size_t n)
{
    if (n == 0)
        return true;
    /* <your-token>, {name}, [REDACTED], $VAR and %VAR%. */
    if ((p[0] == '<' && p[n - 1] == '>') || (p[0] == '{' && p[n - 1] == '}') ||
        (p[0] == '[' && p[n - 1] == ']'))
        return true;
    if (p[0] == '$' && is_env_name(p + 1, n - 1))
        return true;
    if (n > 2 && p[0] == '%' && p[n - 1] == '%' && is_ident(p + 1, n - 2))
        return true;
    if (has_ph_word(p, n))
        return true;
    /* One character, or a short pattern, repeated: "aaaaaaaa",
     * "abababab", "12341234". */
    for (size_t per = 1; per <= 4 && per < n; per++) {
        size_t i = per;
        while (i < n && p[i] == p[i - per])
            i++;
        if (i == n)
            return true;
    }
    /* Runs of the alphabet or the digits: "abcdefgh", "0123456789". */
    size_t run = 1, best = 1;
    for (size_t i = 1; i < n; i++) {
        run = p[i] == p[i - 1] + 1 ? run + 1 : 1;
        best = run > best ? run : best;
    }
    return best >= 6 && best * 2 >= n;
}

bool seam_scan__code_like(const char *p, size_t n)
{
    bool lower_seen = false, upper_seen = false, digit = false, other = false;
    size_t dots = 0, i = 0;
    if (n == 0)
        return true;
    /* A call or an index on an identifier path, running to the end of the
     * value: getpass(), os.environ["X"], env('DB_PASSWORD'). */
    while (i < n && (is_alnum(p[i]) || p[i] == '_' || p[i] == '.'))
        i++;
    if (i > 0 && i < n && (p[i] == '(' || p[i] == '[') &&
        (p[n - 1] == ')' || p[n - 1] == ']' || p[n - 1] == ';'))
        return true;
    for (i = 0; i < n; i++) {
        char c = p[i];
        if (c >= 'a' && c <= 'z')
            lower_seen = true;
        else if (c >= 'A' && c <= 'Z')
            upper_seen = true;
        else if (is_digit(c))
            digit = true;
        else if (c == '.')
            dots++;
        else if (c != '_' && c != '-')
            other = true;
    }
    /* An identifier or a dotted path of identifiers (settings.SECRET_KEY,
     * process.env.TOKEN, some-flag-name): letters, underscores, dashes and
     * dots only. */
    if (!digit && !other)
        return true;
    /* Lower-case dotted names with digits (module paths, host names such as
     * "db1.internal") are still names. */
    if (!other && dots && !upper_seen && lower_seen)
        return true;
    /* Paths, URLs and URNs are not the secret itself. */
    if (p[0] == '/' || p[0] == '.' || p[0] == '~')
        return true;
    for (size_t k = 0; k + 3 <= n; k++)
        if (!memcmp(p + k, "://", 3))
            return true;
    if (n > 4 && !memcmp(p, "urn:", 4))
        return true;
    return false;
}
