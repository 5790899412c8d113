/*
 * Configuration: turns seam.yaml into an immutable seam_config snapshot.
 *
 * libfyaml parses the YAML into a document tree; this module walks that tree
 * against a fixed schema and copies what it keeps into memory obtained from
 * seam_malloc, so the snapshot outlives the document and fault injection can
 * reach every allocation. The schema is written as tables, one per YAML
 * mapping (as nginx's ngx_command_t and redis's static_configs[]): each key
 * has a name, a type, the offset of the field it fills, a default and, for
 * integers, a range. A single generic walker rejects unknown and duplicate
 * keys, converts values by type and reports missing required keys; the few
 * values that need more than a type (listen address, backend references,
 * pool references) have their own handlers.
 *
 * The parser is strict on purpose: a typo in a policy file must not silently
 * route regulated data somewhere else. Every error names the file, the line
 * and the key path, e.g. "seam.yaml:12: key 'backends[1].location': expected
 * one of local, cloud, got 'clod'". Parsing stops at the first error; the
 * partly built snapshot is then released by seam_config_free, which is why
 * every array is allocated zeroed and its count set before it is filled.
 */
#include "config/config.h"
#include "state/shared.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "providers/provider.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libfyaml.h>
#include <limits.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Enumerations are stored through an int (see store_int), so they must have
 * the size of one. */
_Static_assert(sizeof(seam_sensitivity) == sizeof(int), "enum size");
_Static_assert(sizeof(seam_location) == sizeof(int), "enum size");
_Static_assert(sizeof(seam_provider_kind) == sizeof(int), "enum size");
_Static_assert(sizeof(seam_unknown_model) == sizeof(int), "enum size");
_Static_assert(sizeof(seam_pinned_violation) == sizeof(int), "enum size");
_Static_assert(sizeof(seam_pool_strategy) == sizeof(int), "enum size");

/* A configuration file bigger than this is a mistake, not a configuration. */
#define CONFIG_MAX_BYTES (4u << 20)

/* Key paths in messages ("policy.rules[2].when.kind") are cut at this size. */
#define PATH_MAX_LEN 256

#define DEFAULT_LISTEN_HOST "127.0.0.1"
#define DEFAULT_LISTEN_PORT 8080
#define DEFAULT_POOL        "local"
#define DEFAULT_SQLITE      "./seam.db"
#define MAX_FIELDS          20

/* Rate limits above a billion per minute are no limit at all; the bound
 * keeps the rate limiter's nanosecond arithmetic exact enough. */
#define MAX_PER_MINUTE 1000000000

/* ---- enumerations ---------------------------------------------------- */

/* An enumeration the file may name: how many values, the name of each, and
 * how to parse one. The canonical ones use the helpers of core/canon.h. */
typedef struct enum_desc {
    int count;
    const char *(*name)(int v);
    int (*parse)(const char *s, int *out);
} enum_desc;

static int parse_by_name(const char *s, int *out, int count, const char *(*name)(int))
{
    for (int i = 0; i < count; i++) {
        if (strcmp(s, name(i)) == 0) {
            *out = i;
            return 0;
        }
    }
    return -1;
}

static const char *provider_name(int v)
{
    static const char *const names[SEAM_PROVIDER__COUNT] = {
        [SEAM_PROVIDER_OPENAI] = "openai",
        [SEAM_PROVIDER_ANTHROPIC] = "anthropic",
        [SEAM_PROVIDER_OLLAMA] = "ollama",
        [SEAM_PROVIDER_GEMINI] = "gemini",
    };
    return v >= 0 && v < SEAM_PROVIDER__COUNT ? names[v] : "?";
}

static const char *location_name(int v)
{
    return v == SEAM_LOC_LOCAL ? "local" : v == SEAM_LOC_CLOUD ? "cloud" : "?";
}

static const char *unknown_model_name(int v)
{
    return v == SEAM_UNKNOWN_MODEL_REJECT  ? "reject"
           : v == SEAM_UNKNOWN_MODEL_ROUTE ? "route"
                                           : "?";
}

static const char *pinned_name(int v)
{
    return v == SEAM_PINNED_REROUTE ? "reroute" : v == SEAM_PINNED_REJECT ? "reject" : "?";
}

static const char *strategy_name(int v)
{
    static const char *const names[SEAM_STRATEGY__COUNT] = {
        [SEAM_STRATEGY_LEAST_OUTSTANDING] = "least_outstanding",
        [SEAM_STRATEGY_ROUND_ROBIN] = "round_robin",
        [SEAM_STRATEGY_WEIGHTED] = "weighted",
    };
    return v >= 0 && v < SEAM_STRATEGY__COUNT ? names[v] : "?";
}

const char *seam_strategy_name(seam_pool_strategy s)
{
    return strategy_name((int)s);
}

static const char *sens_name(int v)
{
    return seam_sensitivity_name((seam_sensitivity)v);
}

static const char *kind_name(int v)
{
    return seam_kind_name((seam_kind)v);
}

static const char *cplx_name(int v)
{
    return seam_complexity_name((seam_complexity)v);
}

static int provider_parse(const char *s, int *out)
{
    return parse_by_name(s, out, SEAM_PROVIDER__COUNT, provider_name);
}

static int location_parse(const char *s, int *out)
{
    return parse_by_name(s, out, 2, location_name);
}

static int unknown_model_parse(const char *s, int *out)
{
    return parse_by_name(s, out, 2, unknown_model_name);
}

static int pinned_parse(const char *s, int *out)
{
    return parse_by_name(s, out, 2, pinned_name);
}

static int strategy_parse(const char *s, int *out)
{
    return parse_by_name(s, out, SEAM_STRATEGY__COUNT, strategy_name);
}

static int sens_parse(const char *s, int *out)
{
    seam_sensitivity v;
    if (seam_sensitivity_parse(s, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int kind_parse(const char *s, int *out)
{
    seam_kind v;
    if (seam_kind_parse(s, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

static int cplx_parse(const char *s, int *out)
{
    seam_complexity v;
    if (seam_complexity_parse(s, &v) != 0)
        return -1;
    *out = (int)v;
    return 0;
}

/* Capabilities and a rule's reasoning level are parsed by position in these
 * tables; the position maps to the stored value (a SEAM_CAP_* bit, a
 * seam_reasoning). */
static const char *const cap_names[SEAM_CAP__COUNT] = {"vision", "tools", "thinking", "embeddings"};
static const unsigned cap_bits[SEAM_CAP__COUNT] = {SEAM_CAP_VISION, SEAM_CAP_TOOLS,
                                                   SEAM_CAP_THINKING, SEAM_CAP_EMBEDDINGS};
static const char *const set_reasoning_names[] = {"off", "low", "medium", "high"};
static const seam_reasoning set_reasoning_values[] = {SEAM_REASONING_OFF, SEAM_REASONING_LOW,
                                                      SEAM_REASONING_MEDIUM, SEAM_REASONING_HIGH};
#define NSET_REASONING ((int)(sizeof set_reasoning_values / sizeof set_reasoning_values[0]))

const char *seam_capability_name(unsigned cap)
{
    for (int i = 0; i < SEAM_CAP__COUNT; i++)
        if (cap == cap_bits[i])
            return cap_names[i];
    return "?";
}

static const char *cap_name_at(int v)
{
    return v >= 0 && v < SEAM_CAP__COUNT ? cap_names[v] : "?";
}

static const char *set_reasoning_name_at(int v)
{
    return v >= 0 && v < NSET_REASONING ? set_reasoning_names[v] : "?";
}

/* The name of a level a rule may set, for printing. */
static const char *set_reasoning_name(seam_reasoning r)
{
    for (int i = 0; i < NSET_REASONING; i++)
        if (set_reasoning_values[i] == r)
            return set_reasoning_names[i];
    return "?";
}

static int cap_parse(const char *s, int *out)
{
    return parse_by_name(s, out, SEAM_CAP__COUNT, cap_name_at);
}

static int set_reasoning_parse(const char *s, int *out)
{
    return parse_by_name(s, out, NSET_REASONING, set_reasoning_name_at);
}

static const enum_desc en_provider = {SEAM_PROVIDER__COUNT, provider_name, provider_parse};
static const enum_desc en_location = {2, location_name, location_parse};
static const enum_desc en_unknown_model = {2, unknown_model_name, unknown_model_parse};
static const enum_desc en_pinned = {2, pinned_name, pinned_parse};
static const enum_desc en_strategy = {SEAM_STRATEGY__COUNT, strategy_name, strategy_parse};
static const enum_desc en_sens = {SEAM_SENS__COUNT, sens_name, sens_parse};
static const enum_desc en_kind = {SEAM_KIND__COUNT, kind_name, kind_parse};
static const enum_desc en_cplx = {SEAM_CPLX__COUNT, cplx_name, cplx_parse};
static const enum_desc en_cap = {SEAM_CAP__COUNT, cap_name_at, cap_parse};
static const enum_desc en_set_reasoning = {NSET_REASONING, set_reasoning_name_at,
                                           set_reasoning_parse};

/* Bit masks handed to the policy are 32 bits wide. */
_Static_assert(SEAM_KIND__COUNT <= 32 && SEAM_SENS__COUNT <= 32 && SEAM_CPLX__COUNT <= 32,
               "mask width");

/* ---- parse context and errors ----------------------------------------- */

typedef struct ctx {
    const char *name; /* file name, for messages */
    char *err;
    size_t errlen;
    seam_config *cfg;
} ctx;

/* Writes "NAME:LINE: key 'PATH': MESSAGE" (or without the key part when
 * <path> is NULL) into the caller's error buffer and returns
 * SEAM_ERR_CONFIG, so that callers can write `return fail(...)`. */
static seam_rc fail(ctx *c, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static seam_rc fail(ctx *c, int line, const char *path, const char *fmt, ...)
{
    if (c->err && c->errlen) {
        int n;
        if (path)
            n = snprintf(c->err, c->errlen, "%s:%d: key '%s': ", c->name, line, path);
        else
            n = snprintf(c->err, c->errlen, "%s:%d: ", c->name, line);
        if (n >= 0 && (size_t)n < c->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return SEAM_ERR_CONFIG;
}

static seam_rc oom(ctx *c)
{
    if (c->err && c->errlen)
        snprintf(c->err, c->errlen, "%s: out of memory", c->name);
    return SEAM_ERR_NOMEM;
}

/* Marks a key path that did not fit in PATH_MAX_LEN, so that a cut path
 * is not mistaken for a real key. */
static void path_truncated(char *out, int n)
{
    if (n >= PATH_MAX_LEN)
        memcpy(out + PATH_MAX_LEN - 4, "...", 4);
}

static void path_key(char *out, const char *path, const char *key, size_t keylen)
{
    int klen = keylen > PATH_MAX_LEN ? PATH_MAX_LEN : (int)keylen;
    if (path && path[0])
        path_truncated(out, snprintf(out, PATH_MAX_LEN, "%s.%.*s", path, klen, key));
    else
        path_truncated(out, snprintf(out, PATH_MAX_LEN, "%.*s", klen, key));
}

static void path_index(char *out, const char *path, size_t i)
{
    path_truncated(out, snprintf(out, PATH_MAX_LEN, "%s[%zu]", path, i));
}

/* ---- node helpers ------------------------------------------------------- */

/* Returns the 1-based line where <n> starts, or <fallback> when the tree does
 * not say. libfyaml 0.7 only exposes positions for scalar tokens, so a
 * collection is located by its first scalar; an empty one (or a null value,
 * which has no token) takes the line of the key that holds it. */
static int node_line(struct fy_node *n, int fallback)
{
    while (n) {
        void *it = NULL;
        if (fy_node_is_scalar(n)) {
            struct fy_token *t = fy_node_get_scalar_token(n);
            const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
            return m ? m->line + 1 : fallback;
        }
        if (fy_node_is_mapping(n)) {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
        } else {
            n = fy_node_sequence_iterate(n, &it);
        }
    }
    return fallback;
}

/* YAML 1.2 core schema nulls: an empty plain value, ~ and null. */
static bool is_null(struct fy_node *n)
{
    if (!n)
        return true;
    if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    size_t len;
    const char *s = fy_node_get_scalar(n, &len);
    if (!s || len == 0)
        return true;
    return (len == 1 && s[0] == '~') ||
           (len == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

/* Describes <n> for "got ..." in messages: the value quoted (shortened, with
 * control characters replaced so the message stays on one line), or what
 * kind of node it is. Uses <buf> of <size> bytes. */
static const char *describe(struct fy_node *n, char *buf, size_t size)
{
    if (is_null(n))
        return "null";
    if (fy_node_is_mapping(n))
        return "a mapping";
    if (fy_node_is_sequence(n))
        return "a list";
    size_t len = 0, i = 0, o = 0;
    const char *s = fy_node_get_scalar(n, &len);
    size_t keep = size - 6; /* two quotes, "..." and the NUL */
    buf[o++] = '\'';
    for (; s && i < len && i < keep && i < 40; i++)
        buf[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (s && i < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

static bool all_digits(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return len > 0;
}

/* Fetches the text of a scalar, rejecting collections, nulls, aliases and
 * embedded NUL bytes. <what> names the expected type for the message. On
 * success <*s> points into the document (not NUL-terminated: use <*len>). */
static seam_rc get_scalar(ctx *c, struct fy_node *n, int line, const char *path, const char *what,
                          const char **s, size_t *len)
{
    char got[64];
    if (is_null(n) || !fy_node_is_scalar(n))
        return fail(c, line, path, "expected %s, got %s", what, describe(n, got, sizeof got));
    /* Aliases are refused rather than resolved: resolution can expand a
     * small file into a huge tree ("billion laughs"), and a config has no
     * need for them. */
    if (fy_node_get_style(n) == FYNS_ALIAS)
        return fail(c, line, path, "YAML aliases are not supported");
    *s = fy_node_get_scalar(n, len);
    if (!*s)
        return oom(c);
    if (memchr(*s, '\0', *len))
        return fail(c, line, path, "the value contains a NUL character");
    return SEAM_OK;
}

static bool is_name_char(char ch)
{
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '-';
}

/* Names of backends, pools and rules end up in response headers
 * (X-Seam-Backend, X-Seam-Route, X-Seam-Rule) and metric labels, so they are
 * limited to a header- and label-safe alphabet. */
static bool valid_name(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

static bool valid_env_name(const char *s, size_t len)
{
    if (len == 0 || isdigit((unsigned char)s[0]))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* Parses an unsigned decimal integer in [<min>, <max>] from a plain scalar.
 * Quoted numbers, signs, floats and anything past <max> are errors: the file
 * should say what it means. */
static seam_rc get_uint(ctx *c, struct fy_node *n, int line, const char *path, uint64_t min,
                        uint64_t max, uint64_t *out)
{
    const char *s;
    size_t len;
    char got[64];
    seam_rc rc = get_scalar(c, n, line, path, "an integer", &s, &len);
    if (rc != SEAM_OK)
        return rc;
    bool plain = fy_node_get_style(n) == FYNS_PLAIN;
    if (!plain || !all_digits(s, len)) {
        if (plain && len > 1 && s[0] == '-' && all_digits(s + 1, len - 1))
            return fail(c, line, path, "must not be negative, got %s",
                        describe(n, got, sizeof got));
        return fail(c, line, path, "expected an integer, got %s", describe(n, got, sizeof got));
    }
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return fail(c, line, path, "integer out of range, got %s",
                        describe(n, got, sizeof got));
        v = v * 10 + d;
    }
    if (v < min)
        return fail(c, line, path, "must be at least %" PRIu64 ", got %s", min,
                    describe(n, got, sizeof got));
    if (v > max)
        return fail(c, line, path, "must be at most %" PRIu64 ", got %s", max,
                    describe(n, got, sizeof got));
    *out = v;
    return SEAM_OK;
}

/* Copies a scalar into a fresh NUL-terminated string (seam_malloc). */
static seam_rc get_string(ctx *c, struct fy_node *n, int line, const char *path, char **out)
{
    const char *s;
    size_t len;
    seam_rc rc = get_scalar(c, n, line, path, "a string", &s, &len);
    if (rc != SEAM_OK)
        return rc;
    *out = seam_strndup(s, len);
    return *out ? SEAM_OK : oom(c);
}

/* Parses a name from an enumeration; the message lists the choices. */
static seam_rc get_enum(ctx *c, struct fy_node *n, int line, const char *path, const enum_desc *en,
                        int *out)
{
    const char *s;
    size_t len;
    char text[64], got[64], choices[128];
    size_t o = 0;
    seam_rc rc = get_scalar(c, n, line, path, "a name", &s, &len);
    if (rc == SEAM_OK && len < sizeof text) {
        memcpy(text, s, len);
        text[len] = '\0';
        if (en->parse(text, out) == 0)
            return SEAM_OK;
    }
    for (int i = 0; i < en->count && o < sizeof choices; i++)
        o += (size_t)snprintf(choices + o, sizeof choices - o, "%s%s", i ? ", " : "", en->name(i));
    return fail(c, line, path, "expected one of %s, got %s", choices, describe(n, got, sizeof got));
}

/* Checks that <n> is a list and returns its length; <nonempty> makes an
 * empty list an error. */
static seam_rc get_list(ctx *c, struct fy_node *n, int line, const char *path, bool nonempty,
                        size_t *count)
{
    char got[64];
    if (is_null(n) || !fy_node_is_sequence(n))
        return fail(c, line, path, "expected a list, got %s", describe(n, got, sizeof got));
    int k = fy_node_sequence_item_count(n);
    if (k <= 0 && nonempty)
        return fail(c, line, path, "expected a non-empty list");
    *count = k > 0 ? (size_t)k : 0;
    return SEAM_OK;
}

/* Parses a plain decimal number, as 1, 0.125 or 1.5e-3, into <*out>: not
 * negative and finite, and above zero when <positive>. Money and rates are
 * written this way; quoted numbers, hex, inf and nan are refused. */
static seam_rc get_number(ctx *c, struct fy_node *n, int line, const char *path, bool positive,
                          double *out)
{
    const char *s;
    size_t len, i = 0, digits = 0;
    char text[64], got[64], *end;
    seam_rc rc = get_scalar(c, n, line, path, "a number", &s, &len);
    if (rc != SEAM_OK)
        return rc;
    bool ok = fy_node_get_style(n) == FYNS_PLAIN && len > 0 && len < sizeof text;
    if (ok && s[0] == '-')
        return fail(c, line, path, "must not be negative, got %s", describe(n, got, sizeof got));
    /* digits [. digits] [e [+-] digits]: what strtod accepts minus hex,
     * inf, nan and leading signs or spaces. */
    for (; ok && i < len && isdigit((unsigned char)s[i]); i++)
        digits++;
    if (ok && i < len && s[i] == '.')
        for (i++; i < len && isdigit((unsigned char)s[i]); i++)
            digits++;
    if (ok && digits && i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t e = ++i;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            e = ++i;
        while (i < len && isdigit((unsigned char)s[i]))
            i++;
        ok = i > e;
    }
    if (!ok || !digits || i != len)
        return fail(c, line, path, "expected a number, got %s", describe(n, got, sizeof got));
    memcpy(text, s, len);
    text[len] = '\0';
    errno = 0;
    double d = strtod(text, &end);
    if (errno == ERANGE && d != 0)
        return fail(c, line, path, "number out of range, got %s", describe(n, got, sizeof got));
    if (positive && !(d > 0))
        return fail(c, line, path, "must be above 0, got %s", describe(n, got, sizeof got));
    *out = d;
    return SEAM_OK;
}

/* ---- the schema walker -------------------------------------------------- */

typedef enum {
    T_STR,     /* char *, any string */
    T_NAME,    /* char *, [A-Za-z0-9_.-]+ */
    T_ENVNAME, /* char *, "" or an environment variable name */
    T_U64,     /* uint64_t in [min, max] */
    T_INT,     /* int in [min, max] */
    T_BOOL3,   /* int: -1 absent, 0 false, 1 true */
    T_ENUM,    /* an int-sized enum */
    T_MASK,    /* uint32_t: bit (1u << value) for each name in a list */
    T_STRLIST, /* char ** at off, size_t count at off2; non-empty */
    T_NUM,     /* double, a non-negative decimal number */
    T_FN,      /* handled by fn */
} field_type;

#define F_REQUIRED 1u
#define F_HAS      2u /* off2 is a bool set to true when the key is present */
#define F_POSITIVE 4u /* T_NUM: must be above zero */

struct field;
typedef seam_rc (*field_fn)(ctx *c, struct fy_node *v, int line, const char *path, void *base);

typedef struct field {
    const char *key;
    field_type type;
    unsigned flags;
    size_t off, off2;
    int64_t def; /* default for T_U64, T_INT, T_BOOL3, T_ENUM */
    uint64_t min, max;
    const enum_desc *en;
    field_fn fn;
} field;

static void store_int(void *base, size_t off, int v)
{
    memcpy((char *)base + off, &v, sizeof v);
}

/* Sets every field that has a default. Called before a mapping is parsed
 * and also when the mapping is absent, so defaults hold either way. */
static void apply_defaults(const field *fields, size_t nfields, void *base)
{
    for (size_t i = 0; i < nfields; i++) {
        const field *f = &fields[i];
        switch (f->type) {
        case T_U64: {
            uint64_t v = (uint64_t)f->def;
            memcpy((char *)base + f->off, &v, sizeof v);
            break;
        }
        case T_INT:
        case T_BOOL3:
        case T_ENUM:
            store_int(base, f->off, (int)f->def);
            break;
        default:
            break;
        }
    }
}

static seam_rc convert_strlist(ctx *c, const field *f, struct fy_node *v, int line,
                               const char *path, void *base)
{
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, true, &n);
    if (rc != SEAM_OK)
        return rc;
    char **items = seam_calloc(n, sizeof *items);
    if (!items)
        return oom(c);
    /* Hand the array to the snapshot before filling it, so that an error
     * halfway leaves nothing that seam_config_free cannot find. */
    memcpy((char *)base + f->off, &items, sizeof items);
    memcpy((char *)base + f->off2, &n, sizeof n);
    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(v, &it)) && i < n; i++) {
        char sub[PATH_MAX_LEN];
        int iline = node_line(item, line);
        path_index(sub, path, i);
        rc = get_string(c, item, iline, sub, &items[i]);
        if (rc != SEAM_OK)
            return rc;
        if (items[i][0] == '\0')
            return fail(c, iline, sub, "must not be empty");
    }
    return SEAM_OK;
}

static seam_rc convert_mask(ctx *c, const field *f, struct fy_node *v, int line, const char *path,
                            void *base)
{
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, true, &n);
    if (rc != SEAM_OK)
        return rc;
    uint32_t mask = 0;
    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(v, &it)); i++) {
        char sub[PATH_MAX_LEN];
        int val;
        path_index(sub, path, i);
        rc = get_enum(c, item, node_line(item, line), sub, f->en, &val);
        if (rc != SEAM_OK)
            return rc;
        mask |= 1u << val;
    }
    memcpy((char *)base + f->off, &mask, sizeof mask);
    return SEAM_OK;
}

/* Converts value <v> of key <f> found at <line> and stores it into <base>. */
static seam_rc convert(ctx *c, const field *f, struct fy_node *v, int line, const char *path,
                       void *base)
{
    seam_rc rc = SEAM_OK;
    char *s = NULL;
    char got[64];
    switch (f->type) {
    case T_STR:
    case T_NAME:
    case T_ENVNAME:
        rc = get_string(c, v, line, path, &s);
        if (rc != SEAM_OK)
            break;
        /* The pointer goes to the snapshot first so that it is freed on the
         * error paths below. */
        memcpy((char *)base + f->off, &s, sizeof s);
        if (f->type == T_NAME && !valid_name(s, strlen(s)))
            rc = fail(c, line, path, "expected a name made of A-Z a-z 0-9 _ . -, got %s",
                      describe(v, got, sizeof got));
        /* The value is not echoed: a misplaced API key would end up in logs. */
        if (f->type == T_ENVNAME && s[0] && !valid_env_name(s, strlen(s)))
            rc = fail(c, line, path,
                      "expected the name of an environment variable (letters, digits, _), "
                      "not shown in case it is a secret");
        break;
    case T_U64: {
        uint64_t u;
        rc = get_uint(c, v, line, path, f->min, f->max, &u);
        if (rc == SEAM_OK)
            memcpy((char *)base + f->off, &u, sizeof u);
        break;
    }
    case T_INT: {
        uint64_t u;
        rc = get_uint(c, v, line, path, f->min, f->max > INT_MAX ? INT_MAX : f->max, &u);
        if (rc == SEAM_OK)
            store_int(base, f->off, (int)u);
        break;
    }
    case T_BOOL3: {
        const char *t;
        size_t len;
        rc = get_scalar(c, v, line, path, "true or false", &t, &len);
        if (rc != SEAM_OK)
            break;
        bool plain = fy_node_get_style(v) == FYNS_PLAIN;
        if (plain && len == 4 && !memcmp(t, "true", 4))
            store_int(base, f->off, 1);
        else if (plain && len == 5 && !memcmp(t, "false", 5))
            store_int(base, f->off, 0);
        else
            rc =
                fail(c, line, path, "expected true or false, got %s", describe(v, got, sizeof got));
        break;
    }
    case T_ENUM: {
        int e;
        rc = get_enum(c, v, line, path, f->en, &e);
        if (rc == SEAM_OK)
            store_int(base, f->off, e);
        break;
    }
    case T_MASK:
        rc = convert_mask(c, f, v, line, path, base);
        break;
    case T_STRLIST:
        rc = convert_strlist(c, f, v, line, path, base);
        break;
    case T_NUM: {
        double d = 0;
        rc = get_number(c, v, line, path, (f->flags & F_POSITIVE) != 0, &d);
        if (rc == SEAM_OK)
            memcpy((char *)base + f->off, &d, sizeof d);
        break;
    }
    case T_FN:
        rc = f->fn(c, v, line, path, base);
        break;
    }
    if (rc == SEAM_OK && (f->flags & F_HAS)) {
        bool t = true;
        memcpy((char *)base + f->off2, &t, sizeof t);
    }
    return rc;
}

/* Walks mapping <map> (at <line>, named <path>) against <fields>: rejects
 * anything but a mapping, keys that are not in the table and keys given
 * twice; then converts the keys present, in table order (so a table can put
 * what others depend on first), and reports the first required key that is
 * missing. Fills <at>[i] with the line of field i, or 0 when absent. */
static seam_rc walk(ctx *c, struct fy_node *map, int line, const char *path, const field *fields,
                    size_t nfields, void *base, int *at)
{
    struct fy_node *vals[MAX_FIELDS] = {0};
    char sub[PATH_MAX_LEN], got[64];
    void *it = NULL;
    struct fy_node_pair *p;
    seam_rc rc;

    for (size_t i = 0; i < nfields; i++)
        at[i] = 0;
    if (is_null(map) || !fy_node_is_mapping(map))
        return fail(c, line, path[0] ? path : NULL, "expected a mapping, got %s",
                    describe(map, got, sizeof got));
    line = node_line(map, line);

    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        int kline = node_line(k, line);
        const char *ks;
        size_t klen;
        size_t i;
        if (is_null(k) || !fy_node_is_scalar(k) || fy_node_get_style(k) == FYNS_ALIAS)
            return fail(c, kline, path[0] ? path : NULL, "keys must be plain names, got %s",
                        describe(k, got, sizeof got));
        ks = fy_node_get_scalar(k, &klen);
        if (!ks)
            return oom(c);
        path_key(sub, path, ks, klen);
        for (i = 0; i < nfields; i++)
            if (strlen(fields[i].key) == klen && !memcmp(fields[i].key, ks, klen))
                break;
        if (i == nfields)
            return fail(c, kline, sub, "unknown key");
        if (at[i])
            return fail(c, kline, sub, "duplicate key (first given at line %d)", at[i]);
        at[i] = kline;
        vals[i] = fy_node_pair_value(p);
    }

    for (size_t i = 0; i < nfields; i++) {
        path_key(sub, path, fields[i].key, strlen(fields[i].key));
        if (!at[i]) {
            if (fields[i].flags & F_REQUIRED)
                return fail(c, line, sub, "required key is missing");
            continue;
        }
        rc = convert(c, &fields[i], vals[i], at[i], sub, base);
        if (rc != SEAM_OK)
            return rc;
    }
    return SEAM_OK;
}

/* ---- handlers for values with structure -------------------------------- */

/* Finds a pool by (pointer, length) name. */
static int pool_find(const seam_config *cfg, const char *s, size_t len)
{
    for (size_t i = 0; i < cfg->npools; i++)
        if (cfg->pools[i].name && strlen(cfg->pools[i].name) == len &&
            !memcmp(cfg->pools[i].name, s, len))
            return (int)i;
    return -1;
}

/* A pool reference (policy.default, a rule's route): stored as an index into
 * cfg->pools, which are parsed before the policy. */
static seam_rc fn_pool_ref(ctx *c, struct fy_node *v, int line, const char *path, size_t *out)
{
    const char *s;
    size_t len;
    char got[64];
    seam_rc rc = get_scalar(c, v, line, path, "a pool name", &s, &len);
    if (rc != SEAM_OK)
        return rc;
    int i = pool_find(c->cfg, s, len);
    if (i < 0)
        return fail(c, line, path, "no pool named %s", describe(v, got, sizeof got));
    *out = (size_t)i;
    return SEAM_OK;
}

/* listen: "host:port" or "[v6]:port". The host is kept without brackets
 * (as getaddrinfo wants it); port 0 asks for an ephemeral port. */
static seam_rc fn_listen(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_config *cfg = base;
    const char *s, *host, *port;
    size_t len, hlen, plen;
    char got[64];
    seam_rc rc = get_scalar(c, v, line, path, "host:port", &s, &len);
    if (rc != SEAM_OK)
        return rc;
    const char *colon = len ? memrchr(s, ':', len) : NULL;
    if (!colon)
        goto bad;
    host = s;
    hlen = (size_t)(colon - s);
    port = colon + 1;
    plen = len - hlen - 1;
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
        /* Hex digits, colons, dots (a mapped IPv4 tail), then an optional
         * zone after '%' (fe80::1%eth0). */
        const char *zone = memchr(host, '%', hlen);
        size_t alen = zone ? (size_t)(zone - host) : hlen;
        for (size_t i = 0; i < alen; i++)
            if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
                goto bad;
        if (zone && !valid_name(zone + 1, hlen - alen - 1))
            goto bad;
        if (!memchr(host, ':', alen))
            goto bad;
    } else {
        if (memchr(host, ':', hlen))
            return fail(c, line, path, "IPv6 addresses need brackets, as [::1]:8080; got %s",
                        describe(v, got, sizeof got));
        for (size_t i = 0; i < hlen; i++)
            if (!isalnum((unsigned char)host[i]) && host[i] != '.' && host[i] != '-' &&
                host[i] != '_')
                goto bad;
    }
    if (hlen == 0 || plen > 5 || !all_digits(port, plen))
        goto bad;
    long pn = 0;
    for (size_t i = 0; i < plen; i++)
        pn = pn * 10 + (port[i] - '0');
    if (pn > 65535)
        return fail(c, line, path, "port must be at most 65535, got %s",
                    describe(v, got, sizeof got));
    seam_free(cfg->listen_host);
    cfg->listen_host = seam_strndup(host, hlen);
    if (!cfg->listen_host)
        return oom(c);
    cfg->listen_port = (int)pn;
    return SEAM_OK;
bad:
    return fail(c, line, path, "expected host:port (as 127.0.0.1:8080 or [::1]:8080), got %s",
                describe(v, got, sizeof got));
}

/* Positive integers: a zero limit or timeout would refuse every request. */
static const field limit_fields[] = {
    {.key = "max_body_bytes",
     .type = T_U64,
     .off = offsetof(seam_config, limits.max_body_bytes),
     .def = 33554432,
     .min = 1,
     .max = UINT64_MAX},
    {.key = "request_timeout_ms",
     .type = T_U64,
     .off = offsetof(seam_config, limits.request_timeout_ms),
     .def = 600000,
     .min = 1,
     .max = UINT64_MAX},
    {.key = "shutdown_grace_ms",
     .type = T_U64,
     .off = offsetof(seam_config, limits.shutdown_grace_ms),
     .def = 30000,
     .min = 1,
     .max = UINT64_MAX},
};
#define NLIMIT (sizeof limit_fields / sizeof limit_fields[0])

static seam_rc fn_limits(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NLIMIT];
    return walk(c, v, line, path, limit_fields, NLIMIT, base, at);
}

/* ---- resilience: timeouts, circuit breakers, health --------------------- */

/* Durations are at most INT32_MAX ms (about 24 days): libcurl takes them as
 * a long, and the breaker works in nanoseconds, where that still fits. */
#define MAX_MS INT32_MAX

/* timeouts: {connect_ms, first_byte_ms, idle_ms, total_ms}, top level and
 * per backend. No defaults here: a key left out stays 0, which build()
 * resolves (backend, then top level, then the built-in default), so a
 * backend overriding one key keeps the others from the top level. */
static const field timeout_fields[] = {
    {.key = "connect_ms",
     .type = T_U64,
     .off = offsetof(seam_timeouts, connect_ms),
     .min = 1,
     .max = MAX_MS},
    {.key = "first_byte_ms",
     .type = T_U64,
     .off = offsetof(seam_timeouts, first_byte_ms),
     .min = 1,
     .max = MAX_MS},
    {.key = "idle_ms",
     .type = T_U64,
     .off = offsetof(seam_timeouts, idle_ms),
     .min = 1,
     .max = MAX_MS},
    {.key = "total_ms",
     .type = T_U64,
     .off = offsetof(seam_timeouts, total_ms),
     .min = 1,
     .max = MAX_MS},
};
#define NTIMEOUT (sizeof timeout_fields / sizeof timeout_fields[0])

#define DEFAULT_CONNECT_MS    10000
#define DEFAULT_FIRST_BYTE_MS 60000
#define DEFAULT_IDLE_MS       30000

/* circuit: {failures, window_ms, cooldown_ms, half_open_max}, resolved the
 * same way. The breaker keeps the times of the last <failures> failures,
 * hence the bound on it. */
static const field circuit_fields[] = {
    {.key = "failures",
     .type = T_U64,
     .off = offsetof(seam_circuit_conf, failures),
     .min = 1,
     .max = 1000},
    {.key = "window_ms",
     .type = T_U64,
     .off = offsetof(seam_circuit_conf, window_ms),
     .min = 1,
     .max = MAX_MS},
    {.key = "cooldown_ms",
     .type = T_U64,
     .off = offsetof(seam_circuit_conf, cooldown_ms),
     .min = 1,
     .max = MAX_MS},
    {.key = "half_open_max",
     .type = T_U64,
     .off = offsetof(seam_circuit_conf, half_open_max),
     .min = 1,
     .max = 1000},
};
#define NCIRCUIT (sizeof circuit_fields / sizeof circuit_fields[0])

static const seam_circuit_conf default_circuit = {5, 10000, 5000, 1};

static seam_rc fn_timeouts(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NTIMEOUT];
    return walk(c, v, line, path, timeout_fields, NTIMEOUT, &((seam_config *)base)->timeouts, at);
}

static seam_rc fn_circuit(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NCIRCUIT];
    return walk(c, v, line, path, circuit_fields, NCIRCUIT, &((seam_config *)base)->circuit, at);
}

static seam_rc fn_backend_timeouts(ctx *c, struct fy_node *v, int line, const char *path,
                                   void *base)
{
    int at[NTIMEOUT];
    return walk(c, v, line, path, timeout_fields, NTIMEOUT, &((seam_backend_conf *)base)->timeouts,
                at);
}

static seam_rc fn_backend_circuit(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NCIRCUIT];
    return walk(c, v, line, path, circuit_fields, NCIRCUIT, &((seam_backend_conf *)base)->circuit,
                at);
}

/* health.path: appended to the backend's URL, so it starts with a slash
 * and holds no spaces or control characters. */
static seam_rc fn_health_path(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_backend_conf *b = base;
    seam_rc rc = get_string(c, v, line, path, &b->health.path);
    if (rc != SEAM_OK)
        return rc;
    if (b->health.path[0] != '/')
        return fail(c, line, path, "must start with /, as /v1/models");
    for (const char *q = b->health.path; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return fail(c, line, path, "must not contain spaces or control characters");
    return SEAM_OK;
}

static const field health_fields[] = {
    /* Absent: the provider's probe path (set in fn_backends). */
    {.key = "path", .type = T_FN, .fn = fn_health_path},
    {.key = "interval_ms",
     .type = T_U64,
     .off = offsetof(seam_backend_conf, health.interval_ms),
     .def = 10000,
     .min = 100,
     .max = MAX_MS},
};
#define NHEALTH (sizeof health_fields / sizeof health_fields[0])

static seam_rc fn_backend_health(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NHEALTH];
    return walk(c, v, line, path, health_fields, NHEALTH, base, at);
}

enum {
    B_NAME,
    B_PROVIDER,
    B_URL,
    B_LOCATION,
    B_CLEARANCE,
    B_MODELS,
    B_CTX,
    B_KEYENV,
    B_MAXTOK,
    B_CAPS,
    B_PRICE,
    B_HARDWARE,
    B_TIMEOUTS,
    B_CIRCUIT,
    B_MAXCONC,
    B_HEALTH,
    B__COUNT
};

static seam_rc fn_backend_caps(ctx *c, struct fy_node *v, int line, const char *path, void *base);
static seam_rc fn_backend_price(ctx *c, struct fy_node *v, int line, const char *path, void *base);
static seam_rc fn_backend_hardware(ctx *c, struct fy_node *v, int line, const char *path,
                                   void *base);

static const field backend_fields[B__COUNT] = {
    [B_NAME] = {.key = "name",
                .type = T_NAME,
                .flags = F_REQUIRED,
                .off = offsetof(seam_backend_conf, name)},
    [B_PROVIDER] = {.key = "provider",
                    .type = T_ENUM,
                    .flags = F_REQUIRED,
                    .off = offsetof(seam_backend_conf, provider),
                    .def = SEAM_PROVIDER_OPENAI,
                    .en = &en_provider},
    [B_URL] = {.key = "url",
               .type = T_STR,
               .flags = F_REQUIRED,
               .off = offsetof(seam_backend_conf, url)},
    [B_LOCATION] = {.key = "location",
                    .type = T_ENUM,
                    .flags = F_REQUIRED,
                    .off = offsetof(seam_backend_conf, location),
                    .def = SEAM_LOC_LOCAL,
                    .en = &en_location},
    /* The default depends on the location: see fn_backends. */
    [B_CLEARANCE] = {.key = "clearance",
                     .type = T_ENUM,
                     .off = offsetof(seam_backend_conf, clearance),
                     .def = SEAM_SENS_PUBLIC,
                     .en = &en_sens},
    [B_MODELS] = {.key = "models",
                  .type = T_STRLIST,
                  .flags = F_REQUIRED,
                  .off = offsetof(seam_backend_conf, models),
                  .off2 = offsetof(seam_backend_conf, nmodels)},
    [B_CTX] = {.key = "context_window",
               .type = T_U64,
               .off = offsetof(seam_backend_conf, context_window),
               .def = 0,
               .min = 1,
               .max = UINT64_MAX},
    [B_KEYENV] = {.key = "api_key_env",
                  .type = T_ENVNAME,
                  .off = offsetof(seam_backend_conf, api_key_env)},
    /* Anthropic requires max_tokens on every request: this is what seam
     * sends when the client gave none. */
    [B_MAXTOK] = {.key = "max_tokens_default",
                  .type = T_U64,
                  .off = offsetof(seam_backend_conf, max_tokens_default),
                  .def = 4096,
                  .min = 1,
                  .max = INT32_MAX},
    /* Absent: every capability (see fn_backends); [] is a text-only model. */
    [B_CAPS] = {.key = "capabilities", .type = T_FN, .fn = fn_backend_caps},
    /* What the backend costs (issue 6): a price per million tokens, or for
     * a local machine its hardware, from which an hourly cost is derived. */
    [B_PRICE] = {.key = "price", .type = T_FN, .fn = fn_backend_price},
    [B_HARDWARE] = {.key = "hardware", .type = T_FN, .fn = fn_backend_hardware},
    /* Resilience (issue 5): overrides of the top-level timeouts and
     * circuit, a concurrency cap and the health probe. */
    [B_TIMEOUTS] = {.key = "timeouts", .type = T_FN, .fn = fn_backend_timeouts},
    [B_CIRCUIT] = {.key = "circuit", .type = T_FN, .fn = fn_backend_circuit},
    [B_MAXCONC] = {.key = "max_concurrency",
                   .type = T_U64,
                   .off = offsetof(seam_backend_conf, max_concurrency),
                   .def = 0,
                   .min = 0,
                   .max = 1000000},
    [B_HEALTH] = {.key = "health", .type = T_FN, .fn = fn_backend_health},
};

/* price: USD per million tokens. Zero is a valid price (a free tier). */
static const field price_fields[] = {
    {.key = "input_per_mtok",
     .type = T_NUM,
     .flags = F_REQUIRED,
     .off = offsetof(seam_price, input_per_mtok)},
    {.key = "output_per_mtok",
     .type = T_NUM,
     .flags = F_REQUIRED,
     .off = offsetof(seam_price, output_per_mtok)},
    /* Absent: cached input tokens cost as much as the others. */
    {.key = "cached_input_per_mtok",
     .type = T_NUM,
     .flags = F_HAS,
     .off = offsetof(seam_price, cached_input_per_mtok),
     .off2 = offsetof(seam_price, has_cached)},
};
#define NPRICE (sizeof price_fields / sizeof price_fields[0])

/* hardware: all four are needed to derive an hourly cost; amortising over
 * zero months would divide by zero. */
static const field hardware_fields[] = {
    {.key = "capex_usd",
     .type = T_NUM,
     .flags = F_REQUIRED,
     .off = offsetof(seam_hardware, capex_usd)},
    {.key = "amortize_months",
     .type = T_NUM,
     .flags = F_REQUIRED | F_POSITIVE,
     .off = offsetof(seam_hardware, amortize_months)},
    {.key = "watts", .type = T_NUM, .flags = F_REQUIRED, .off = offsetof(seam_hardware, watts)},
    {.key = "usd_per_kwh",
     .type = T_NUM,
     .flags = F_REQUIRED,
     .off = offsetof(seam_hardware, usd_per_kwh)},
};
#define NHARDWARE (sizeof hardware_fields / sizeof hardware_fields[0])

static seam_rc fn_backend_price(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_backend_conf *b = base;
    int at[NPRICE];
    seam_rc rc = walk(c, v, line, path, price_fields, NPRICE, &b->price, at);
    b->price.set = rc == SEAM_OK;
    return rc;
}

static seam_rc fn_backend_hardware(ctx *c, struct fy_node *v, int line, const char *path,
                                   void *base)
{
    seam_backend_conf *b = base;
    int at[NHARDWARE];
    seam_rc rc = walk(c, v, line, path, hardware_fields, NHARDWARE, &b->hardware, at);
    b->hardware.set = rc == SEAM_OK;
    return rc;
}

/* capabilities: a list of names, possibly empty, into SEAM_CAP_* bits. */
static seam_rc fn_backend_caps(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_backend_conf *b = base;
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, false, &n);
    if (rc != SEAM_OK)
        return rc;
    unsigned caps = 0;
    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(v, &it)); i++) {
        char sub[PATH_MAX_LEN];
        int val;
        path_index(sub, path, i);
        rc = get_enum(c, item, node_line(item, line), sub, &en_cap, &val);
        if (rc != SEAM_OK)
            return rc;
        caps |= cap_bits[val];
    }
    b->capabilities = caps;
    return SEAM_OK;
}

/* Checks and normalises a backend URL: http or https, a host, no trailing
 * slash (providers append their own paths, "/v1/chat/completions"). */
static seam_rc check_url(ctx *c, seam_backend_conf *b, int line, const char *path)
{
    char *u = b->url;
    size_t skip = !strncmp(u, "http://", 7) ? 7 : !strncmp(u, "https://", 8) ? 8 : 0;
    if (!skip)
        return fail(c, line, path, "must start with http:// or https://");
    for (const char *q = u; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return fail(c, line, path, "must not contain spaces or control characters");
    size_t len = strlen(u);
    while (len > skip && u[len - 1] == '/')
        u[--len] = '\0';
    if (len == skip)
        return fail(c, line, path, "has no host");
    return SEAM_OK;
}

static seam_rc fn_backends(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_config *cfg = base;
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, true, &n);
    if (rc != SEAM_OK)
        return rc;
    cfg->backends = seam_calloc(n, sizeof *cfg->backends);
    if (!cfg->backends)
        return oom(c);
    cfg->nbackends = n;

    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(v, &it)) && i < n; i++) {
        seam_backend_conf *b = &cfg->backends[i];
        int at[B__COUNT];
        char sub[PATH_MAX_LEN], key[PATH_MAX_LEN];
        path_index(sub, path, i);
        b->index = i;
        b->line = node_line(item, line);
        apply_defaults(backend_fields, B__COUNT, b);
        apply_defaults(health_fields, NHEALTH, b);
        rc = walk(c, item, b->line, sub, backend_fields, B__COUNT, b, at);
        if (rc != SEAM_OK)
            return rc;
        /* The probe keeps its provider's path unless the file names one. */
        if (!b->health.path) {
            b->health.path = seam_strdup(seam_provider_get(b->provider)->probe_path);
            if (!b->health.path)
                return oom(c);
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->backends[j].name, b->name)) {
                path_key(key, sub, "name", 4);
                return fail(c, at[B_NAME], key, "duplicate backend name '%s' (first at line %d)",
                            b->name, cfg->backends[j].line);
            }
        path_key(key, sub, "url", 3);
        rc = check_url(c, b, at[B_URL], key);
        if (rc != SEAM_OK)
            return rc;
        /* ARCHITECTURE.md: a cloud backend receives public data only unless
         * configured otherwise; a local one may receive anything. */
        if (!at[B_CLEARANCE])
            b->clearance = b->location == SEAM_LOC_CLOUD ? SEAM_SENS_PUBLIC : SEAM_SENS_REGULATED;
        /* Nothing declared, nothing assumed missing: routing only skips a
         * backend for a capability the file says it lacks. */
        b->capabilities_given = at[B_CAPS] != 0;
        if (!at[B_CAPS])
            b->capabilities = SEAM_CAP_ALL;
        /* Hardware is what a machine seam's operator owns costs; a cloud
         * backend is billed per token. One cost model per backend, so that
         * the ledger's cost is never ambiguous. */
        if (at[B_HARDWARE] && b->location == SEAM_LOC_CLOUD) {
            path_key(key, sub, "hardware", 8);
            return fail(c, at[B_HARDWARE], key,
                        "only local backends declare hardware; give a cloud backend a price");
        }
        if (at[B_HARDWARE] && at[B_PRICE]) {
            path_key(key, sub, "hardware", 8);
            return fail(c, at[B_HARDWARE], key,
                        "give either price or hardware, not both (price at line %d)", at[B_PRICE]);
        }
    }
    return SEAM_OK;
}

/* A pool's backend list: names of declared backends, each once. */
static seam_rc pool_backends(ctx *c, struct fy_node *v, int line, const char *path,
                             seam_pool_conf *pool)
{
    seam_config *cfg = c->cfg;
    char el[PATH_MAX_LEN], got[64];
    size_t nb = 0;
    seam_rc rc = get_list(c, v, line, path, true, &nb);
    if (rc != SEAM_OK)
        return rc;
    pool->backends = seam_calloc(nb, sizeof *pool->backends);
    if (!pool->backends)
        return oom(c);

    void *it = NULL;
    struct fy_node *item;
    for (size_t j = 0; (item = fy_node_sequence_iterate(v, &it)) && j < nb; j++) {
        int iline = node_line(item, line);
        const char *bs;
        size_t blen, bi;
        path_index(el, path, j);
        rc = get_scalar(c, item, iline, el, "a backend name", &bs, &blen);
        if (rc != SEAM_OK)
            return rc;
        for (bi = 0; bi < cfg->nbackends; bi++)
            if (strlen(cfg->backends[bi].name) == blen && !memcmp(cfg->backends[bi].name, bs, blen))
                break;
        if (bi == cfg->nbackends)
            return fail(c, iline, el, "no backend named %s", describe(item, got, sizeof got));
        for (size_t q = 0; q < pool->nbackends; q++)
            if (pool->backends[q] == bi)
                return fail(c, iline, el, "backend %s is listed twice",
                            describe(item, got, sizeof got));
        pool->backends[pool->nbackends++] = bi;
    }
    return SEAM_OK;
}

static seam_rc fn_pool_backends(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    return pool_backends(c, v, line, path, base);
}

/* weights: one positive integer per backend, in the order of `backends`
 * (parsed before this key: see pool_fields). A weight lives on the pool,
 * not the backend, because one backend may weigh differently in two pools. */
static seam_rc fn_pool_weights(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_pool_conf *pool = base;
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, true, &n);
    if (rc != SEAM_OK)
        return rc;
    if (n != pool->nbackends)
        return fail(c, line, path, "expected one weight per backend (%zu), got %zu",
                    pool->nbackends, n);
    pool->weights = seam_calloc(n, sizeof *pool->weights);
    if (!pool->weights)
        return oom(c);
    void *it = NULL;
    struct fy_node *item;
    for (size_t j = 0; (item = fy_node_sequence_iterate(v, &it)) && j < n; j++) {
        char el[PATH_MAX_LEN];
        path_index(el, path, j);
        rc = get_uint(c, item, node_line(item, line), el, 1, 1000000, &pool->weights[j]);
        if (rc != SEAM_OK)
            return rc;
    }
    return SEAM_OK;
}

static seam_rc fn_pool_spill(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_pool_conf *pool = base;
    seam_rc rc = fn_pool_ref(c, v, line, path, &pool->spill);
    if (rc != SEAM_OK)
        return rc;
    if (pool->spill == pool->index)
        return fail(c, line, path, "a pool cannot spill into itself");
    pool->has_spill = true;
    return SEAM_OK;
}

static seam_rc fn_pool_stream_resume(ctx *c, struct fy_node *v, int line, const char *path,
                                     void *base);

static const field queue_fields[] = {
    {.key = "max",
     .type = T_U64,
     .off = offsetof(seam_pool_conf, queue.max),
     .def = 0,
     .min = 0,
     .max = 1000000},
    {.key = "timeout_ms",
     .type = T_U64,
     .off = offsetof(seam_pool_conf, queue.timeout_ms),
     .def = 30000,
     .min = 1,
     .max = MAX_MS},
};
#define NQUEUE (sizeof queue_fields / sizeof queue_fields[0])

static seam_rc fn_pool_queue(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NQUEUE];
    return walk(c, v, line, path, queue_fields, NQUEUE, base, at);
}

enum { PL_BACKENDS, PL_STRATEGY, PL_WEIGHTS, PL_RETRIES, PL_QUEUE, PL_SPILL, PL_RESUME, PL__COUNT };

/* The long form of a pool. Table order matters: weights are checked
 * against the backends parsed before them. */
static const field pool_fields[PL__COUNT] = {
    [PL_BACKENDS] = {.key = "backends", .type = T_FN, .flags = F_REQUIRED, .fn = fn_pool_backends},
    [PL_STRATEGY] = {.key = "strategy",
                     .type = T_ENUM,
                     .off = offsetof(seam_pool_conf, strategy),
                     .def = SEAM_STRATEGY_LEAST_OUTSTANDING,
                     .en = &en_strategy},
    [PL_WEIGHTS] = {.key = "weights", .type = T_FN, .fn = fn_pool_weights},
    /* Attempts after the first within this pool: 2 means at most 3 tries
     * before the next fallback pool. */
    [PL_RETRIES] = {.key = "retries",
                    .type = T_U64,
                    .off = offsetof(seam_pool_conf, retries),
                    .def = 2,
                    .min = 0,
                    .max = 10},
    [PL_QUEUE] = {.key = "queue", .type = T_FN, .fn = fn_pool_queue},
    [PL_SPILL] = {.key = "spill", .type = T_FN, .fn = fn_pool_spill},
    [PL_RESUME] = {.key = "stream_resume", .type = T_FN, .fn = fn_pool_stream_resume},
};

/* pools: a mapping of names to either a list of backends (the short form)
 * or a mapping (the long form, pool_fields). Names are read in a first pass
 * so that `spill` may name a pool defined further down. */
static seam_rc fn_pools(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_config *cfg = base;
    char got[64];
    if (is_null(v) || !fy_node_is_mapping(v))
        return fail(c, line, path, "expected a mapping of pool names to backend lists, got %s",
                    describe(v, got, sizeof got));
    int k = fy_node_mapping_item_count(v);
    if (k <= 0)
        return fail(c, line, path, "must define at least one pool");
    cfg->pools = seam_calloc((size_t)k, sizeof *cfg->pools);
    if (!cfg->pools)
        return oom(c);
    cfg->npools = (size_t)k;

    void *it = NULL;
    struct fy_node_pair *p;
    for (size_t i = 0; (p = fy_node_mapping_iterate(v, &it)) && i < cfg->npools; i++) {
        seam_pool_conf *pool = &cfg->pools[i];
        struct fy_node *key = fy_node_pair_key(p);
        int kline = node_line(key, line);
        char sub[PATH_MAX_LEN];
        const char *s;
        size_t len;
        seam_rc rc = get_scalar(c, key, kline, path, "a pool name", &s, &len);
        if (rc != SEAM_OK)
            return rc;
        path_key(sub, path, s, len);
        if (!valid_name(s, len))
            return fail(c, kline, sub, "pool names are made of A-Z a-z 0-9 _ . -");
        /* Compared before this pool's name is set, so it only sees earlier
         * pools. Duplicate keys are allowed through libfyaml (see
         * seam_config_parse) so that this message can name the key. */
        if (pool_find(cfg, s, len) >= 0)
            return fail(c, kline, sub, "duplicate pool");
        pool->name = seam_strndup(s, len);
        if (!pool->name)
            return oom(c);
        pool->index = i;
        pool->line = kline;
        apply_defaults(pool_fields, PL__COUNT, pool);
        apply_defaults(queue_fields, NQUEUE, pool);
    }

    it = NULL;
    for (size_t i = 0; (p = fy_node_mapping_iterate(v, &it)) && i < cfg->npools; i++) {
        seam_pool_conf *pool = &cfg->pools[i];
        struct fy_node *val = fy_node_pair_value(p);
        char sub[PATH_MAX_LEN];
        int at[PL__COUNT];
        seam_rc rc;
        path_key(sub, path, pool->name, strlen(pool->name));
        if (!is_null(val) && fy_node_is_mapping(val)) {
            rc = walk(c, val, pool->line, sub, pool_fields, PL__COUNT, pool, at);
            if (rc != SEAM_OK)
                return rc;
            /* Weights without the strategy that reads them, or the strategy
             * without weights, is a half-written intent. */
            if (pool->strategy == SEAM_STRATEGY_WEIGHTED && !at[PL_WEIGHTS])
                return fail(c, at[PL_STRATEGY], sub,
                            "strategy weighted needs weights: one per backend");
            if (pool->strategy != SEAM_STRATEGY_WEIGHTED && at[PL_WEIGHTS]) {
                char el[PATH_MAX_LEN];
                path_key(el, sub, "weights", 7);
                return fail(c, at[PL_WEIGHTS], el, "weights apply only to strategy weighted");
            }
        } else {
            rc = pool_backends(c, val, pool->line, sub, pool);
            if (rc != SEAM_OK) {
                /* Say that both forms exist when the value is neither. */
                if (rc == SEAM_ERR_CONFIG && (is_null(val) || !fy_node_is_sequence(val)))
                    return fail(c, pool->line, sub,
                                "expected a list, got %s (a pool is a list of backends or a "
                                "mapping with backends: [...])",
                                describe(val, got, sizeof got));
                return rc;
            }
        }
    }
    return SEAM_OK;
}

static seam_rc fn_route(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    return fn_pool_ref(c, v, line, path, &((seam_rule_conf *)base)->pool);
}

static seam_rc fn_default_pool(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    return fn_pool_ref(c, v, line, path, &((seam_config *)base)->default_pool);
}

enum { W_KIND, W_SENS, W_CPLX, W_TGT, W_TLTE, W_MODEL, W_IMAGES, W_TOOLS, W__COUNT };

static const field when_fields[W__COUNT] = {
    [W_KIND] = {.key = "kind",
                .type = T_MASK,
                .off = offsetof(seam_rule_conf, kinds),
                .en = &en_kind},
    [W_SENS] = {.key = "sensitivity",
                .type = T_MASK,
                .off = offsetof(seam_rule_conf, sensitivities),
                .en = &en_sens},
    [W_CPLX] = {.key = "complexity",
                .type = T_MASK,
                .off = offsetof(seam_rule_conf, complexities),
                .en = &en_cplx},
    [W_TGT] = {.key = "tokens_gt",
               .type = T_U64,
               .flags = F_HAS,
               .off = offsetof(seam_rule_conf, tokens_gt),
               .off2 = offsetof(seam_rule_conf, has_tokens_gt),
               .min = 0,
               .max = UINT64_MAX},
    [W_TLTE] = {.key = "tokens_lte",
                .type = T_U64,
                .flags = F_HAS,
                .off = offsetof(seam_rule_conf, tokens_lte),
                .off2 = offsetof(seam_rule_conf, has_tokens_lte),
                .min = 0,
                .max = UINT64_MAX},
    [W_MODEL] = {.key = "model",
                 .type = T_STRLIST,
                 .off = offsetof(seam_rule_conf, models),
                 .off2 = offsetof(seam_rule_conf, nmodels)},
    [W_IMAGES] = {.key = "has_images",
                  .type = T_BOOL3,
                  .off = offsetof(seam_rule_conf, has_images),
                  .def = -1},
    [W_TOOLS] = {.key = "has_tools",
                 .type = T_BOOL3,
                 .off = offsetof(seam_rule_conf, has_tools),
                 .def = -1},
};

static seam_rc fn_when(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_rule_conf *r = base;
    int at[W__COUNT];
    seam_rc rc = walk(c, v, line, path, when_fields, W__COUNT, base, at);
    if (rc != SEAM_OK)
        return rc;
    /* A rule that can never match is almost certainly a typo. */
    if (r->has_tokens_gt && r->has_tokens_lte && r->tokens_gt >= r->tokens_lte) {
        char sub[PATH_MAX_LEN];
        path_key(sub, path, "tokens_lte", 10);
        return fail(c, at[W_TLTE], sub,
                    "tokens_lte (%" PRIu64 ") must be above tokens_gt (%" PRIu64
                    ") or the rule never matches",
                    r->tokens_lte, r->tokens_gt);
    }
    return SEAM_OK;
}

enum { R_NAME, R_WHEN, R_ROUTE, R_FALLBACK, R_REDACT, R_SET, R__COUNT };

static seam_rc fn_rule_redact(ctx *c, struct fy_node *v, int line, const char *path, void *base);
static seam_rc fn_rule_set(ctx *c, struct fy_node *v, int line, const char *path, void *base);
static seam_rc fn_rule_fallback(ctx *c, struct fy_node *v, int line, const char *path, void *base);

static const field rule_fields[R__COUNT] = {
    [R_NAME] = {.key = "name",
                .type = T_NAME,
                .flags = F_REQUIRED,
                .off = offsetof(seam_rule_conf, name)},
    /* Absent or empty: the rule always matches. */
    [R_WHEN] = {.key = "when", .type = T_FN, .fn = fn_when},
    [R_ROUTE] = {.key = "route", .type = T_FN, .flags = F_REQUIRED, .fn = fn_route},
    /* After route, which it is checked against. Absent: no fallback. */
    [R_FALLBACK] = {.key = "fallback", .type = T_FN, .fn = fn_rule_fallback},
    /* Absent: false (rules are allocated zeroed). */
    [R_REDACT] = {.key = "redact", .type = T_FN, .fn = fn_rule_redact},
    /* Absent: nothing is dialled (reasoning unset, no cap). */
    [R_SET] = {.key = "set", .type = T_FN, .fn = fn_rule_set},
};

static seam_rc fn_rules(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_config *cfg = base;
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, false, &n);
    if (rc != SEAM_OK || n == 0)
        return rc;
    cfg->rules = seam_calloc(n, sizeof *cfg->rules);
    if (!cfg->rules)
        return oom(c);
    cfg->nrules = n;

    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(v, &it)) && i < n; i++) {
        seam_rule_conf *r = &cfg->rules[i];
        int at[R__COUNT];
        char sub[PATH_MAX_LEN], key[PATH_MAX_LEN];
        path_index(sub, path, i);
        r->line = node_line(item, line);
        apply_defaults(when_fields, W__COUNT, r);
        r->set.reasoning = SEAM_REASONING_UNSET;
        rc = walk(c, item, r->line, sub, rule_fields, R__COUNT, r, at);
        if (rc != SEAM_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->rules[j].name, r->name)) {
                path_key(key, sub, "name", 4);
                return fail(c, at[R_NAME], key, "duplicate rule name '%s' (first at line %d)",
                            r->name, cfg->rules[j].line);
            }
    }
    return SEAM_OK;
}

enum { P_RULES, P_DEFAULT, P_SENS, P_UNKNOWN, P_PINNED, P__COUNT };

static const field policy_fields[P__COUNT] = {
    [P_RULES] = {.key = "rules", .type = T_FN, .fn = fn_rules},
    /* Absent: the pool named "local" (resolved in build()). */
    [P_DEFAULT] = {.key = "default", .type = T_FN, .fn = fn_default_pool},
    [P_SENS] = {.key = "default_sensitivity",
                .type = T_ENUM,
                .off = offsetof(seam_config, default_sensitivity),
                .def = SEAM_SENS_INTERNAL,
                .en = &en_sens},
    [P_UNKNOWN] = {.key = "unknown_model",
                   .type = T_ENUM,
                   .off = offsetof(seam_config, unknown_model),
                   .def = SEAM_UNKNOWN_MODEL_REJECT,
                   .en = &en_unknown_model},
    [P_PINNED] = {.key = "on_pinned_violation",
                  .type = T_ENUM,
                  .off = offsetof(seam_config, on_pinned_violation),
                  .def = SEAM_PINNED_REROUTE,
                  .en = &en_pinned},
};

static seam_rc fn_policy(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[P__COUNT];
    return walk(c, v, line, path, policy_fields, P__COUNT, base, at);
}

/* ---- detect: the sensitive-data scanner ---------------------------------- */

/* A plain true or false into a bool (T_BOOL3 stores an int with a third
 * "absent" state, which these keys do not need). */
static seam_rc get_bool(ctx *c, struct fy_node *v, int line, const char *path, bool *out)
{
    const char *t;
    size_t len;
    char got[64];
    seam_rc rc = get_scalar(c, v, line, path, "true or false", &t, &len);
    if (rc != SEAM_OK)
        return rc;
    bool plain = fy_node_get_style(v) == FYNS_PLAIN;
    if (plain && len == 4 && !memcmp(t, "true", 4))
        *out = true;
    else if (plain && len == 5 && !memcmp(t, "false", 5))
        *out = false;
    else
        return fail(c, line, path, "expected true or false, got %s", describe(v, got, sizeof got));
    return SEAM_OK;
}

static seam_rc fn_rule_redact(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    return get_bool(c, v, line, path, &((seam_rule_conf *)base)->redact);
}

static seam_rc fn_pool_stream_resume(ctx *c, struct fy_node *v, int line, const char *path,
                                     void *base)
{
    return get_bool(c, v, line, path, &((seam_pool_conf *)base)->stream_resume);
}

/* fallback: pools tried after the rule's route, in order. The route itself
 * (already parsed: see rule_fields) and repeats are refused: each would
 * only retry what already failed. */
static seam_rc fn_rule_fallback(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_rule_conf *r = base;
    char got[64];
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, true, &n);
    if (rc != SEAM_OK)
        return rc;
    r->fallbacks = seam_calloc(n, sizeof *r->fallbacks);
    if (!r->fallbacks)
        return oom(c);
    void *it = NULL;
    struct fy_node *item;
    for (size_t j = 0; (item = fy_node_sequence_iterate(v, &it)) && j < n; j++) {
        char el[PATH_MAX_LEN];
        int iline = node_line(item, line);
        size_t pi = 0;
        path_index(el, path, j);
        rc = fn_pool_ref(c, item, iline, el, &pi);
        if (rc != SEAM_OK)
            return rc;
        if (pi == r->pool)
            return fail(c, iline, el, "pool %s is the rule's own route",
                        describe(item, got, sizeof got));
        for (size_t q = 0; q < r->nfallbacks; q++)
            if (r->fallbacks[q] == pi)
                return fail(c, iline, el, "pool %s is listed twice",
                            describe(item, got, sizeof got));
        r->fallbacks[r->nfallbacks++] = pi;
    }
    return SEAM_OK;
}

static seam_rc fn_set_reasoning(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int i;
    seam_rc rc = get_enum(c, v, line, path, &en_set_reasoning, &i);
    if (rc == SEAM_OK)
        ((seam_rule_conf *)base)->set.reasoning = set_reasoning_values[i];
    return rc;
}

static seam_rc fn_set_force(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    return get_bool(c, v, line, path, &((seam_rule_conf *)base)->set.force);
}

enum { S_REASONING, S_MAXTOK, S_FORCE, S__COUNT };

static const field set_fields[S__COUNT] = {
    [S_REASONING] = {.key = "reasoning", .type = T_FN, .fn = fn_set_reasoning},
    /* A cap of 0 would make every answer empty. */
    [S_MAXTOK] = {.key = "max_tokens_cap",
                  .type = T_U64,
                  .off = offsetof(seam_rule_conf, set.max_tokens_cap),
                  .def = 0,
                  .min = 1,
                  .max = INT32_MAX},
    [S_FORCE] = {.key = "force", .type = T_FN, .fn = fn_set_force},
};

/* set: {reasoning, max_tokens_cap, force}. A set that sets nothing, or a
 * force with no reasoning to force, is a mistake in the file. */
static seam_rc fn_rule_set(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[S__COUNT];
    seam_rc rc = walk(c, v, line, path, set_fields, S__COUNT, base, at);
    if (rc != SEAM_OK)
        return rc;
    if (!at[S_REASONING] && !at[S_MAXTOK])
        return fail(c, node_line(v, line), path, "sets nothing: give reasoning or max_tokens_cap");
    if (at[S_FORCE] && !at[S_REASONING]) {
        char sub[PATH_MAX_LEN];
        path_key(sub, path, "force", 5);
        return fail(c, at[S_FORCE], sub,
                    "force applies to reasoning (the client's explicit choice), which this set "
                    "does not give");
    }
    return SEAM_OK;
}

static seam_rc fn_detect_enabled(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    return get_bool(c, v, line, path, &((seam_config *)base)->detect.enabled);
}

static seam_rc fn_detect_allow_redact(ctx *c, struct fy_node *v, int line, const char *path,
                                      void *base)
{
    return get_bool(c, v, line, path, &((seam_config *)base)->detect.allow_redact_header);
}

/* detect.threshold: a plain decimal number in (0, 1]. */
static seam_rc fn_detect_threshold(ctx *c, struct fy_node *v, int line, const char *path,
                                   void *base)
{
    const char *s;
    size_t len;
    char text[32], got[64], *end;
    seam_rc rc = get_scalar(c, v, line, path, "a number", &s, &len);
    if (rc != SEAM_OK)
        return rc;
    bool ok = fy_node_get_style(v) == FYNS_PLAIN && len > 0 && len < sizeof text;
    for (size_t i = 0; ok && i < len; i++)
        ok = (s[i] >= '0' && s[i] <= '9') || s[i] == '.';
    if (!ok)
        return fail(c, line, path, "expected a number between 0 and 1, got %s",
                    describe(v, got, sizeof got));
    memcpy(text, s, len);
    text[len] = '\0';
    errno = 0;
    double d = strtod(text, &end);
    if (errno || *end || !(d > 0 && d <= 1))
        return fail(c, line, path, "expected a number above 0 and at most 1, got %s",
                    describe(v, got, sizeof got));
    ((seam_config *)base)->detect.threshold = d;
    return SEAM_OK;
}

/* Entity type names end up in response headers (X-Seam-Detected) and
 * metric labels: letters, digits and underscores. */
static bool valid_type_name(const char *s, size_t len)
{
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_')
            return false;
    return true;
}

/* detect.levels: { TYPE: level, ... }. Whether TYPE is a built-in type is
 * checked when the scanner is built (seam_scanner_new), which knows them. */
static seam_rc fn_detect_levels(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_detect_conf *d = &((seam_config *)base)->detect;
    char got[64];
    if (is_null(v) || !fy_node_is_mapping(v))
        return fail(c, line, path, "expected a mapping of entity types to levels, got %s",
                    describe(v, got, sizeof got));
    int k = fy_node_mapping_item_count(v);
    if (k <= 0)
        return SEAM_OK;
    d->levels = seam_calloc((size_t)k, sizeof *d->levels);
    if (!d->levels)
        return oom(c);
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(v, &it)) && d->nlevels < (size_t)k) {
        struct fy_node *key = fy_node_pair_key(p);
        int kline = node_line(key, line);
        char sub[PATH_MAX_LEN];
        const char *s;
        size_t len;
        int lv;
        seam_rc rc = get_scalar(c, key, kline, path, "an entity type", &s, &len);
        if (rc != SEAM_OK)
            return rc;
        path_key(sub, path, s, len);
        if (!valid_type_name(s, len))
            return fail(c, kline, sub, "entity types are made of A-Z a-z 0-9 _");
        for (size_t i = 0; i < d->nlevels; i++)
            if (strlen(d->levels[i].type) == len && !memcmp(d->levels[i].type, s, len))
                return fail(c, kline, sub, "duplicate key (first given at line %d)",
                            d->levels[i].line);
        seam_detect_level *l = &d->levels[d->nlevels];
        l->type = seam_strndup(s, len);
        if (!l->type)
            return oom(c);
        l->line = kline;
        d->nlevels++;
        rc = get_enum(c, fy_node_pair_value(p), kline, sub, &en_sens, &lv);
        if (rc != SEAM_OK)
            return rc;
        l->level = (seam_sensitivity)lv;
    }
    return SEAM_OK;
}

/* A words_file holds more than a config should, but not without bound. */
#define WORDS_FILE_MAX_BYTES (64u << 20)

/* Adds the line <s>[0, <len>) to <cd>'s words, growing the array by
 * doubling (<cap> is its capacity). Blank lines and # comments are skipped;
 * surrounding spaces and a CR are trimmed. */
static seam_rc add_word_line(ctx *c, seam_custom_detector *cd, size_t *cap, const char *s,
                             size_t len)
{
    while (len && (s[0] == ' ' || s[0] == '\t')) {
        s++;
        len--;
    }
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
        len--;
    if (len == 0 || s[0] == '#')
        return SEAM_OK;
    if (cd->nwords == *cap) {
        size_t ncap = *cap ? *cap * 2 : 64;
        char **w = seam_realloc(cd->words, ncap * sizeof *w);
        if (!w)
            return oom(c);
        cd->words = w;
        *cap = ncap;
    }
    cd->words[cd->nwords] = seam_strndup(s, len);
    if (!cd->words[cd->nwords])
        return oom(c);
    cd->nwords++;
    return SEAM_OK;
}

/* detect.custom[i].words_file: one word per line, the path relative to the
 * configuration file's folder. */
static seam_rc fn_words_file(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_custom_detector *cd = base;
    char *rel = NULL, *full = NULL;
    FILE *f = NULL;
    seam_buf b;
    char chunk[8192];
    size_t cap = cd->nwords;
    seam_rc rc = get_string(c, v, line, path, &rel);
    seam_buf_init(&b, WORDS_FILE_MAX_BYTES);
    if (rc != SEAM_OK)
        goto out;
    if (!rel[0]) {
        rc = fail(c, line, path, "must not be empty");
        goto out;
    }
    const char *slash = strrchr(c->name, '/');
    size_t dlen = rel[0] == '/' || !slash ? 0 : (size_t)(slash - c->name) + 1;
    full = seam_malloc(dlen + strlen(rel) + 1);
    if (!full) {
        rc = oom(c);
        goto out;
    }
    memcpy(full, c->name, dlen);
    strcpy(full + dlen, rel);
    f = fopen(full, "rb");
    if (!f) {
        rc = fail(c, line, path, "cannot open '%s': %s", full, strerror(errno));
        goto out;
    }
    /* A device or a pipe could block or never end. */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fail(c, line, path, "'%s' is not a regular file", full);
        goto out;
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        rc = seam_buf_append(&b, chunk, n);
        if (rc == SEAM_ERR_TOO_BIG) {
            rc = fail(c, line, path, "'%s' is larger than %u bytes", full, WORDS_FILE_MAX_BYTES);
            goto out;
        }
        if (rc != SEAM_OK) {
            rc = oom(c);
            goto out;
        }
        if (n < sizeof chunk)
            break;
    }
    if (ferror(f)) {
        rc = fail(c, line, path, "cannot read '%s': %s", full, strerror(errno));
        goto out;
    }
    if (memchr(b.data, '\0', b.len)) {
        rc = fail(c, line, path, "'%s' contains a NUL byte", full);
        goto out;
    }
    for (size_t i = 0; i < b.len;) {
        const char *nl = memchr(b.data + i, '\n', b.len - i);
        size_t e = nl ? (size_t)(nl - b.data) : b.len;
        rc = add_word_line(c, cd, &cap, b.data + i, e - i);
        if (rc != SEAM_OK)
            goto out;
        i = e + 1;
    }
    if (cd->nwords == 0)
        rc = fail(c, line, path, "'%s' has no words", full);
out:
    if (f)
        fclose(f);
    seam_buf_free(&b);
    seam_free(full);
    seam_free(rel);
    return rc;
}

enum { C_NAME, C_PATTERN, C_WORDS, C_WORDS_FILE, C_LEVEL, C__COUNT };

static const field custom_fields[C__COUNT] = {
    [C_NAME] = {.key = "name",
                .type = T_NAME,
                .flags = F_REQUIRED,
                .off = offsetof(seam_custom_detector, name)},
    [C_PATTERN] = {.key = "pattern", .type = T_STR, .off = offsetof(seam_custom_detector, pattern)},
    [C_WORDS] = {.key = "words",
                 .type = T_STRLIST,
                 .off = offsetof(seam_custom_detector, words),
                 .off2 = offsetof(seam_custom_detector, nwords)},
    [C_WORDS_FILE] = {.key = "words_file", .type = T_FN, .fn = fn_words_file},
    /* Absent: regulated, the safe side. */
    [C_LEVEL] = {.key = "level",
                 .type = T_ENUM,
                 .off = offsetof(seam_custom_detector, level),
                 .def = SEAM_SENS_REGULATED,
                 .en = &en_sens},
};

static seam_rc fn_detect_custom(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_detect_conf *d = &((seam_config *)base)->detect;
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, false, &n);
    if (rc != SEAM_OK || n == 0)
        return rc;
    d->custom = seam_calloc(n, sizeof *d->custom);
    if (!d->custom)
        return oom(c);
    d->ncustom = n;

    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(v, &it)) && i < n; i++) {
        seam_custom_detector *cd = &d->custom[i];
        int at[C__COUNT];
        char sub[PATH_MAX_LEN], key[PATH_MAX_LEN];
        path_index(sub, path, i);
        cd->line = node_line(item, line);
        apply_defaults(custom_fields, C__COUNT, cd);
        rc = walk(c, item, cd->line, sub, custom_fields, C__COUNT, cd, at);
        if (rc != SEAM_OK)
            return rc;
        if (!valid_type_name(cd->name, strlen(cd->name))) {
            path_key(key, sub, "name", 4);
            return fail(c, at[C_NAME], key, "detector names are made of A-Z a-z 0-9 _, got '%s'",
                        cd->name);
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d->custom[j].name, cd->name)) {
                path_key(key, sub, "name", 4);
                return fail(c, at[C_NAME], key, "duplicate detector name '%s' (first at line %d)",
                            cd->name, d->custom[j].line);
            }
        int sources = (at[C_PATTERN] != 0) + (at[C_WORDS] != 0) + (at[C_WORDS_FILE] != 0);
        if (sources != 1)
            return fail(c, cd->line, sub, "give exactly one of pattern, words, words_file");
        if (cd->pattern && !cd->pattern[0]) {
            path_key(key, sub, "pattern", 7);
            return fail(c, at[C_PATTERN], key, "must not be empty");
        }
    }
    return SEAM_OK;
}

enum { D_ENABLED, D_THRESHOLD, D_IMAGE, D_ALLOW_HDR, D_LEVELS, D_CUSTOM, D__COUNT };

/* Defaults that are not plain integers (enabled, threshold) are set in
 * build(), so that they hold when the section is absent. */
static const field detect_fields[D__COUNT] = {
    [D_ENABLED] = {.key = "enabled", .type = T_FN, .fn = fn_detect_enabled},
    [D_THRESHOLD] = {.key = "threshold", .type = T_FN, .fn = fn_detect_threshold},
    [D_IMAGE] = {.key = "image_sensitivity",
                 .type = T_ENUM,
                 .off = offsetof(seam_config, detect.image_sensitivity),
                 .def = SEAM_SENS_INTERNAL,
                 .en = &en_sens},
    [D_ALLOW_HDR] = {.key = "allow_redact_header", .type = T_FN, .fn = fn_detect_allow_redact},
    [D_LEVELS] = {.key = "levels", .type = T_FN, .fn = fn_detect_levels},
    [D_CUSTOM] = {.key = "custom", .type = T_FN, .fn = fn_detect_custom},
};

static seam_rc fn_detect(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[D__COUNT];
    return walk(c, v, line, path, detect_fields, D__COUNT, base, at);
}

/* audit: where the hash-chained audit log goes (src/obs/audit.h). No
 * directory, no log. A file smaller than a few lines would rotate on
 * every write, hence the floor on max_bytes. */
static const field audit_fields[] = {
    {.key = "dir", .type = T_STR, .off = offsetof(seam_config, audit.dir)},
    {.key = "max_bytes",
     .type = T_U64,
     .off = offsetof(seam_config, audit.max_bytes),
     .def = 67108864,
     .min = 4096,
     .max = UINT64_MAX},
};
#define NAUDIT (sizeof audit_fields / sizeof audit_fields[0])

static seam_rc fn_audit(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NAUDIT];
    return walk(c, v, line, path, audit_fields, NAUDIT, base, at);
}

/* ---- auth: client keys and the admin key -------------------------------- */

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

/* key_sha256: the hex SHA-256 of the key, as `printf %s KEY | sha256sum`
 * prints it. The value is not echoed in errors: a key pasted here by
 * mistake must not end up in logs. */
static seam_rc fn_key_sha256(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_key_conf *k = base;
    const char *s;
    size_t len;
    seam_rc rc = get_scalar(c, v, line, path, "a SHA-256 in hex", &s, &len);
    if (rc != SEAM_OK)
        return rc;
    bool ok = len == 2 * sizeof k->sha256;
    for (size_t i = 0; ok && i < len; i++)
        ok = hexval(s[i]) >= 0;
    if (!ok)
        return fail(c, line, path,
                    "expected 64 hexadecimal characters (the SHA-256 of the key, as printed by "
                    "`printf %%s KEY | sha256sum`), not shown in case it is a key");
    for (size_t i = 0; i < sizeof k->sha256; i++)
        k->sha256[i] = (unsigned char)(hexval(s[2 * i]) << 4 | hexval(s[2 * i + 1]));
    k->key_present = true;
    return SEAM_OK;
}

enum { A_NAME, A_SHA, A_ENV, A_TENANT, A_MAXSENS, A_RPM, A_TPM, A__COUNT };

static const field key_fields[A__COUNT] = {
    [A_NAME] = {.key = "name",
                .type = T_NAME,
                .flags = F_REQUIRED,
                .off = offsetof(seam_key_conf, name)},
    [A_SHA] = {.key = "key_sha256", .type = T_FN, .fn = fn_key_sha256},
    [A_ENV] = {.key = "key_env", .type = T_ENVNAME, .off = offsetof(seam_key_conf, key_env)},
    /* Absent: the key's name (set in fn_auth_keys). Tenants are ledger
     * columns and metric labels, hence the name alphabet. */
    [A_TENANT] = {.key = "tenant", .type = T_NAME, .off = offsetof(seam_key_conf, tenant)},
    [A_MAXSENS] = {.key = "max_sensitivity_to_cloud",
                   .type = T_ENUM,
                   .flags = F_HAS,
                   .off = offsetof(seam_key_conf, max_sensitivity_to_cloud),
                   .off2 = offsetof(seam_key_conf, has_max_sensitivity),
                   .def = SEAM_SENS_PUBLIC,
                   .en = &en_sens},
    /* Absent: unlimited (0). A limit of 0 would refuse every request. */
    [A_RPM] = {.key = "rpm",
               .type = T_U64,
               .off = offsetof(seam_key_conf, rpm),
               .def = 0,
               .min = 1,
               .max = MAX_PER_MINUTE},
    [A_TPM] = {.key = "tpm",
               .type = T_U64,
               .off = offsetof(seam_key_conf, tpm),
               .def = 0,
               .min = 1,
               .max = MAX_PER_MINUTE},
};

/* auth.keys. A key_env is read here, once: only its SHA-256 is kept. An
 * unset (or empty) variable is not an error, so that one missing secret
 * does not stop the gateway; that key then matches nothing, and `seam
 * check` says so. */
static seam_rc fn_auth_keys(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_config *cfg = base;
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, false, &n);
    if (rc != SEAM_OK || n == 0)
        return rc;
    cfg->auth.keys = seam_calloc(n, sizeof *cfg->auth.keys);
    if (!cfg->auth.keys)
        return oom(c);
    cfg->auth.nkeys = n;

    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(v, &it)) && i < n; i++) {
        seam_key_conf *k = &cfg->auth.keys[i];
        int at[A__COUNT];
        char sub[PATH_MAX_LEN], key[PATH_MAX_LEN];
        path_index(sub, path, i);
        k->line = node_line(item, line);
        apply_defaults(key_fields, A__COUNT, k);
        rc = walk(c, item, k->line, sub, key_fields, A__COUNT, k, at);
        if (rc != SEAM_OK)
            return rc;
        if ((at[A_SHA] != 0) == (at[A_ENV] != 0))
            return fail(c, k->line, sub, "give exactly one of key_sha256, key_env");
        if (at[A_ENV] && !k->key_env[0]) {
            path_key(key, sub, "key_env", 7);
            return fail(c, at[A_ENV], key, "must not be empty");
        }
        if (!k->tenant) {
            k->tenant = seam_strdup(k->name);
            if (!k->tenant)
                return oom(c);
        }
        if (k->key_env) {
            const char *secret = getenv(k->key_env);
            k->key_present = secret && secret[0];
            if (k->key_present)
                SHA256((const unsigned char *)secret, strlen(secret), k->sha256);
        }
        for (size_t j = 0; j < i; j++) {
            const seam_key_conf *o = &cfg->auth.keys[j];
            if (!strcmp(o->name, k->name)) {
                path_key(key, sub, "name", 4);
                return fail(c, at[A_NAME], key, "duplicate key name '%s' (first at line %d)",
                            k->name, o->line);
            }
            /* Two entries for one key would make its tenant ambiguous. */
            if (k->key_present && o->key_present && !memcmp(o->sha256, k->sha256, 32))
                return fail(c, k->line, sub, "the same key as '%s' (line %d)", o->name, o->line);
        }
    }
    return SEAM_OK;
}

static seam_rc fn_protect_metrics(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    return get_bool(c, v, line, path, &((seam_config *)base)->auth.metrics_need_admin);
}

enum { AU_ADMIN, AU_METRICS, AU_KEYS, AU__COUNT };

static const field auth_fields[AU__COUNT] = {
    [AU_ADMIN] = {.key = "admin_key_env",
                  .type = T_ENVNAME,
                  .off = offsetof(seam_config, auth.admin_key_env)},
    [AU_METRICS] = {.key = "protect_metrics", .type = T_FN, .fn = fn_protect_metrics},
    [AU_KEYS] = {.key = "keys", .type = T_FN, .fn = fn_auth_keys},
};

static seam_rc fn_auth(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_config *cfg = base;
    int at[AU__COUNT];
    seam_rc rc = walk(c, v, line, path, auth_fields, AU__COUNT, base, at);
    if (rc != SEAM_OK)
        return rc;
    /* "" is the same as absent: no admin key, admin endpoints refused. */
    if (cfg->auth.admin_key_env && !cfg->auth.admin_key_env[0]) {
        seam_free(cfg->auth.admin_key_env);
        cfg->auth.admin_key_env = NULL;
    }
    if (cfg->auth.metrics_need_admin && !cfg->auth.admin_key_env) {
        char sub[PATH_MAX_LEN];
        path_key(sub, path, "protect_metrics", 15);
        return fail(c, at[AU_METRICS], sub,
                    "needs admin_key_env: without an admin key nobody could read /metrics");
    }
    return SEAM_OK;
}

/* ---- budgets: spending limits per tenant ---------------------------------- */

static const char *budget_action_name(int v)
{
    return v == SEAM_BUDGET_LOCAL ? "local" : v == SEAM_BUDGET_REJECT ? "reject" : "?";
}

static int budget_action_parse(const char *s, int *out)
{
    return parse_by_name(s, out, 2, budget_action_name);
}

static const enum_desc en_budget_action = {2, budget_action_name, budget_action_parse};
_Static_assert(sizeof(seam_budget_action) == sizeof(int), "enum size");

enum { BU_TENANT, BU_DAY, BU_MONTH, BU_ACTION, BU__COUNT };

static const field budget_fields[BU__COUNT] = {
    [BU_TENANT] = {.key = "tenant",
                   .type = T_NAME,
                   .flags = F_REQUIRED,
                   .off = offsetof(seam_budget_conf, tenant)},
    /* Absent: -1, no limit on that period (set in fn_budgets). */
    [BU_DAY] = {.key = "usd_per_day",
                .type = T_NUM,
                .off = offsetof(seam_budget_conf, usd_per_day)},
    [BU_MONTH] = {.key = "usd_per_month",
                  .type = T_NUM,
                  .off = offsetof(seam_budget_conf, usd_per_month)},
    [BU_ACTION] = {.key = "on_exhausted",
                   .type = T_ENUM,
                   .off = offsetof(seam_budget_conf, on_exhausted),
                   .def = SEAM_BUDGET_LOCAL,
                   .en = &en_budget_action},
};

static seam_rc fn_budgets(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_config *cfg = base;
    size_t n = 0;
    seam_rc rc = get_list(c, v, line, path, false, &n);
    if (rc != SEAM_OK || n == 0)
        return rc;
    cfg->budgets = seam_calloc(n, sizeof *cfg->budgets);
    if (!cfg->budgets)
        return oom(c);
    cfg->nbudgets = n;

    void *it = NULL;
    struct fy_node *item;
    for (size_t i = 0; (item = fy_node_sequence_iterate(v, &it)) && i < n; i++) {
        seam_budget_conf *b = &cfg->budgets[i];
        int at[BU__COUNT];
        char sub[PATH_MAX_LEN], key[PATH_MAX_LEN];
        path_index(sub, path, i);
        b->line = node_line(item, line);
        apply_defaults(budget_fields, BU__COUNT, b);
        b->usd_per_day = b->usd_per_month = -1;
        rc = walk(c, item, b->line, sub, budget_fields, BU__COUNT, b, at);
        if (rc != SEAM_OK)
            return rc;
        if (!at[BU_DAY] && !at[BU_MONTH])
            return fail(c, b->line, sub, "give usd_per_day, usd_per_month or both");
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cfg->budgets[j].tenant, b->tenant)) {
                path_key(key, sub, "tenant", 6);
                return fail(c, at[BU_TENANT], key,
                            "duplicate budget for tenant '%s' (first at line %d)", b->tenant,
                            cfg->budgets[j].line);
            }
    }
    return SEAM_OK;
}

/* ---- state: the ledger and shared counters -------------------------------- */

/* state.redis: "" (one process) or a redis:// URL, checked by the same
 * parser the Redis client uses (state/shared.h), so that a URL the file
 * accepts is one seam can connect with. */
static seam_rc fn_state_redis(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    seam_config *cfg = base;
    seam_rc rc = get_string(c, v, line, path, &cfg->state.redis);
    if (rc != SEAM_OK || !cfg->state.redis[0])
        return rc;
    const char *u = cfg->state.redis;
    if (strncmp(u, "redis://", 8) != 0 || !u[8] || u[8] == '/' || u[8] == ':')
        return fail(c, line, path, "expected \"\" or redis://host:port");
    for (const char *q = u; *q; q++)
        if ((unsigned char)*q <= 0x20 || *q == 0x7f)
            return fail(c, line, path, "must not contain spaces or control characters");
    char why[200];
    if (!seam_shared_url_valid(u, why, sizeof(why)))
        return fail(c, line, path, "%s", why);
    return SEAM_OK;
}

static seam_rc fn_state_rl_open(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    return get_bool(c, v, line, path, &((seam_config *)base)->state.rate_limit_fail_open);
}

static seam_rc fn_state_budget_open(ctx *c, struct fy_node *v, int line, const char *path,
                                    void *base)
{
    return get_bool(c, v, line, path, &((seam_config *)base)->state.budget_fail_open);
}

/* Defaults that are not integers (sqlite, redis and the two fail-open
 * switches) are set in build(), so that they hold when the section is
 * absent. */
static const field state_fields[] = {
    {.key = "sqlite", .type = T_STR, .off = offsetof(seam_config, state.sqlite)},
    {.key = "redis", .type = T_FN, .fn = fn_state_redis},
    /* After a SIGKILL, at most this window of ledger rows is lost. */
    {.key = "batch_ms",
     .type = T_U64,
     .off = offsetof(seam_config, state.batch_ms),
     .def = 200,
     .min = 1,
     .max = 10000},
    {.key = "rate_limit_fail_open", .type = T_FN, .fn = fn_state_rl_open},
    {.key = "budget_fail_open", .type = T_FN, .fn = fn_state_budget_open},
};
#define NSTATE (sizeof state_fields / sizeof state_fields[0])

static seam_rc fn_state(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NSTATE];
    return walk(c, v, line, path, state_fields, NSTATE, base, at);
}

/* ---- report: the savings report ------------------------------------------- */

/* report.reference_backend: the backend whose price every request is also
 * costed at (the counterfactual), so it needs one. Backends are parsed
 * first (see root_fields). */
static seam_rc fn_report_reference(ctx *c, struct fy_node *v, int line, const char *path,
                                   void *base)
{
    seam_config *cfg = base;
    const char *s;
    size_t len;
    char got[64];
    seam_rc rc = get_scalar(c, v, line, path, "a backend name", &s, &len);
    if (rc != SEAM_OK)
        return rc;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        if (strlen(b->name) != len || memcmp(b->name, s, len))
            continue;
        if (!b->price.set)
            return fail(c, line, path, "backend '%s' has no price to compare with", b->name);
        cfg->report.has_reference = true;
        cfg->report.reference_backend = i;
        return SEAM_OK;
    }
    return fail(c, line, path, "no backend named %s", describe(v, got, sizeof got));
}

static const field report_fields[] = {
    {.key = "reference_backend", .type = T_FN, .fn = fn_report_reference},
};
#define NREPORT (sizeof report_fields / sizeof report_fields[0])

static seam_rc fn_report(ctx *c, struct fy_node *v, int line, const char *path, void *base)
{
    int at[NREPORT];
    return walk(c, v, line, path, report_fields, NREPORT, base, at);
}

/* Top level. Order matters: pools refer to backends and the policy refers
 * to pools, and walk() converts in table order. */
enum {
    K_LISTEN,
    K_WORKERS,
    K_LIMITS,
    K_TIMEOUTS,
    K_CIRCUIT,
    K_BACKENDS,
    K_POOLS,
    K_POLICY,
    K_DETECT,
    K_AUDIT,
    K_AUTH,
    K_BUDGETS,
    K_STATE,
    K_REPORT,
    K__COUNT
};

static const field root_fields[K__COUNT] = {
    /* Absent: 127.0.0.1:8080 (set in build()). */
    [K_LISTEN] = {.key = "listen", .type = T_FN, .fn = fn_listen},
    /* Absent: 0, which tells main to run one worker per core. */
    [K_WORKERS] = {.key = "workers",
                   .type = T_INT,
                   .off = offsetof(seam_config, workers),
                   .def = 0,
                   .min = 1,
                   .max = INT_MAX},
    [K_LIMITS] = {.key = "limits", .type = T_FN, .fn = fn_limits},
    /* Absent: the defaults, resolved per backend in build(). */
    [K_TIMEOUTS] = {.key = "timeouts", .type = T_FN, .fn = fn_timeouts},
    [K_CIRCUIT] = {.key = "circuit", .type = T_FN, .fn = fn_circuit},
    [K_BACKENDS] = {.key = "backends", .type = T_FN, .flags = F_REQUIRED, .fn = fn_backends},
    [K_POOLS] = {.key = "pools", .type = T_FN, .flags = F_REQUIRED, .fn = fn_pools},
    [K_POLICY] = {.key = "policy", .type = T_FN, .fn = fn_policy},
    [K_DETECT] = {.key = "detect", .type = T_FN, .fn = fn_detect},
    [K_AUDIT] = {.key = "audit", .type = T_FN, .fn = fn_audit},
    /* Absent: no client keys (every client anonymous), no admin key. */
    [K_AUTH] = {.key = "auth", .type = T_FN, .fn = fn_auth},
    [K_BUDGETS] = {.key = "budgets", .type = T_FN, .fn = fn_budgets},
    [K_STATE] = {.key = "state", .type = T_FN, .fn = fn_state},
    /* After backends: it names one. */
    [K_REPORT] = {.key = "report", .type = T_FN, .fn = fn_report},
};

/* _Static_assert cannot see through the designated initialisers above, so
 * the walker's fixed-size value array is checked against each table here. */
_Static_assert(B__COUNT <= MAX_FIELDS && W__COUNT <= MAX_FIELDS && R__COUNT <= MAX_FIELDS &&
                   P__COUNT <= MAX_FIELDS && K__COUNT <= MAX_FIELDS && NLIMIT <= MAX_FIELDS &&
                   D__COUNT <= MAX_FIELDS && C__COUNT <= MAX_FIELDS && A__COUNT <= MAX_FIELDS &&
                   AU__COUNT <= MAX_FIELDS && BU__COUNT <= MAX_FIELDS && NSTATE <= MAX_FIELDS &&
                   NPRICE <= MAX_FIELDS && NHARDWARE <= MAX_FIELDS && NTIMEOUT <= MAX_FIELDS &&
                   NCIRCUIT <= MAX_FIELDS && NHEALTH <= MAX_FIELDS && NQUEUE <= MAX_FIELDS &&
                   PL__COUNT <= MAX_FIELDS,
               "MAX_FIELDS too small");

/* Fills every timeout and circuit key a backend left out from the top
 * level, and those the top level left out from the built-in defaults, so
 * that code reading a backend's settings never looks further. */
static void resolve_resilience(seam_config *cfg)
{
    seam_timeouts *t = &cfg->timeouts;
    seam_circuit_conf *k = &cfg->circuit;
    if (!t->connect_ms)
        t->connect_ms = DEFAULT_CONNECT_MS;
    if (!t->first_byte_ms)
        t->first_byte_ms = DEFAULT_FIRST_BYTE_MS;
    if (!t->idle_ms)
        t->idle_ms = DEFAULT_IDLE_MS;
    /* limits.request_timeout_ms was the only timeout before issue 5; a
     * file that sets it keeps its meaning. */
    if (!t->total_ms)
        t->total_ms =
            cfg->limits.request_timeout_ms < MAX_MS ? cfg->limits.request_timeout_ms : MAX_MS;
    if (!k->failures)
        k->failures = default_circuit.failures;
    if (!k->window_ms)
        k->window_ms = default_circuit.window_ms;
    if (!k->cooldown_ms)
        k->cooldown_ms = default_circuit.cooldown_ms;
    if (!k->half_open_max)
        k->half_open_max = default_circuit.half_open_max;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        seam_backend_conf *b = &cfg->backends[i];
        if (!b->timeouts.connect_ms)
            b->timeouts.connect_ms = t->connect_ms;
        if (!b->timeouts.first_byte_ms)
            b->timeouts.first_byte_ms = t->first_byte_ms;
        if (!b->timeouts.idle_ms)
            b->timeouts.idle_ms = t->idle_ms;
        if (!b->timeouts.total_ms)
            b->timeouts.total_ms = t->total_ms;
        if (!b->circuit.failures)
            b->circuit.failures = k->failures;
        if (!b->circuit.window_ms)
            b->circuit.window_ms = k->window_ms;
        if (!b->circuit.cooldown_ms)
            b->circuit.cooldown_ms = k->cooldown_ms;
        if (!b->circuit.half_open_max)
            b->circuit.half_open_max = k->half_open_max;
    }
}

static seam_rc build(ctx *c, struct fy_node *root)
{
    seam_config *cfg = c->cfg;
    int at[K__COUNT];
    seam_rc rc;

    apply_defaults(root_fields, K__COUNT, cfg);
    apply_defaults(limit_fields, NLIMIT, cfg);
    apply_defaults(policy_fields, P__COUNT, cfg);
    apply_defaults(detect_fields, D__COUNT, cfg);
    apply_defaults(audit_fields, NAUDIT, cfg);
    apply_defaults(state_fields, NSTATE, cfg);
    cfg->state.rate_limit_fail_open = true;
    cfg->state.budget_fail_open = false;
    cfg->detect.enabled = true;
    cfg->detect.threshold = 0.5;
    cfg->listen_port = DEFAULT_LISTEN_PORT;
    cfg->default_pool = SIZE_MAX;

    rc = walk(c, root, 1, "", root_fields, K__COUNT, cfg, at);
    if (rc != SEAM_OK)
        return rc;
    if (!cfg->listen_host) {
        cfg->listen_host = seam_strdup(DEFAULT_LISTEN_HOST);
        if (!cfg->listen_host)
            return oom(c);
    }
    if (!cfg->state.sqlite) {
        cfg->state.sqlite = seam_strdup(DEFAULT_SQLITE);
        if (!cfg->state.sqlite)
            return oom(c);
    }
    if (!cfg->state.redis) {
        cfg->state.redis = seam_strdup("");
        if (!cfg->state.redis)
            return oom(c);
    }
    resolve_resilience(cfg);
    if (cfg->default_pool == SIZE_MAX) {
        int i = pool_find(cfg, DEFAULT_POOL, strlen(DEFAULT_POOL));
        if (i < 0)
            return fail(c, at[K_POLICY] ? at[K_POLICY] : at[K_POOLS], "policy.default",
                        "not given, and there is no pool named '" DEFAULT_POOL "' to default to");
        cfg->default_pool = (size_t)i;
    }
    return SEAM_OK;
}

/* ---- entry points ------------------------------------------------------- */

/* Returns the length of the longest valid UTF-8 prefix of <s> (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). No library in
 * seam's stack exports such a check, and it is needed before libfyaml sees
 * the text: 0.7.12 loops forever on invalid UTF-8 inside a directive line
 * (pantoniou/libfyaml#101, fixed upstream after that release). */
static size_t utf8_valid_prefix(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n;
        unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the 2nd byte */
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            n = 2;
            lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong */
            hi = c == 0xed ? 0x9f : 0xbf; /* surrogates */
        } else if (c >= 0xf0 && c <= 0xf4) {
            n = 3;
            lo = c == 0xf0 ? 0x90 : 0x80; /* overlong */
            hi = c == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
        } else {
            return i;
        }
        if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi)
            return i;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
        i += n + 1;
    }
    return len;
}

static int line_at(const char *text, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++)
        line += text[i] == '\n';
    return line;
}

static void diag_quiet(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
}

/* Copies the first error libfyaml collected into the caller's buffer. Its
 * positions are 1-based, unlike token marks. */
static seam_rc yaml_error(ctx *c, struct fy_diag *diag)
{
    void *it = NULL;
    struct fy_diag_error *e;
    while ((e = fy_diag_errors_iterate(diag, &it)))
        if (e->type >= FYET_ERROR)
            return fail(c, e->line > 0 ? e->line : 1, NULL, "YAML syntax error: %s (column %d)",
                        e->msg ? e->msg : "?", e->column);
    return fail(c, 1, NULL, "YAML syntax error");
}

seam_rc seam_config_parse(const char *text, size_t len, const char *name, seam_config **out,
                          char *err, size_t errlen)
{
    ctx c = {name ? name : "<config>", err, errlen, NULL};
    struct fy_diag *diag = NULL;
    struct fy_parser *fyp = NULL;
    struct fy_document *fyd = NULL, *next = NULL;
    seam_rc rc;

    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!text) {
        text = "";
        len = 0;
    }
    /* libfyaml stops at a NUL as if the stream ended, which would quietly
     * drop the rest of the file. */
    const char *z = memchr(text, '\0', len);
    if (z)
        return fail(&c, line_at(text, (size_t)(z - text)), NULL, "the file contains a NUL byte");
    size_t good = utf8_valid_prefix((const unsigned char *)text, len);
    if (good < len)
        return fail(&c, line_at(text, good), NULL, "the file is not valid UTF-8");

    c.cfg = seam_calloc(1, sizeof *c.cfg);
    if (!c.cfg)
        return oom(&c);
    c.cfg->path = seam_strdup(c.name);
    if (!c.cfg->path) {
        rc = oom(&c);
        goto out;
    }

    /* Errors are collected rather than printed: the caller decides where
     * the message goes. */
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_quiet;
    dcfg.colorize = false;
    diag = fy_diag_create(&dcfg);
    if (!diag) {
        rc = oom(&c);
        goto out;
    }
    fy_diag_set_collect_errors(diag, true);

    /* Duplicate keys are let through so that walk() reports them with the
     * key path; libfyaml's own message would name only the line. The
     * parser API (rather than fy_document_build_from_string) is used so that
     * a second document, which that call silently ignores, is an error. */
    struct fy_parse_cfg pcfg = {
        .flags =
            FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS | FYPCF_DEFAULT_VERSION_1_2 | FYPCF_JSON_NONE,
        .diag = diag,
    };
    fyp = fy_parser_create(&pcfg);
    if (!fyp || fy_parser_set_string(fyp, text, len) != 0) {
        rc = oom(&c);
        goto out;
    }
    fyd = fy_parse_load_document(fyp);
    if (fy_diag_got_error(diag)) {
        rc = yaml_error(&c, diag);
        goto out;
    }
    if (!fyd || !fy_document_root(fyd)) {
        rc = fail(&c, 1, NULL, "the configuration is empty");
        goto out;
    }
    next = fy_parse_load_document(fyp);
    if (fy_diag_got_error(diag)) {
        rc = yaml_error(&c, diag);
        goto out;
    }
    if (next) {
        rc = fail(&c, node_line(fy_document_root(next), 1), NULL,
                  "a second YAML document; the configuration is one document");
        goto out;
    }

    rc = build(&c, fy_document_root(fyd));
    if (rc == SEAM_OK) {
        *out = c.cfg;
        c.cfg = NULL;
    }
out:
    if (next)
        fy_parse_document_destroy(fyp, next);
    if (fyd)
        fy_parse_document_destroy(fyp, fyd);
    if (fyp)
        fy_parser_destroy(fyp);
    if (diag)
        fy_diag_destroy(diag);
    seam_config_free(c.cfg);
    return rc;
}

seam_rc seam_config_load(const char *path, seam_config **out, char *err, size_t errlen)
{
    seam_buf b;
    char chunk[8192];
    char dummy[1];
    seam_rc rc = SEAM_OK;
    FILE *f;

    *out = NULL;
    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof dummy;
    }
    seam_buf_init(&b, CONFIG_MAX_BYTES);
    f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return SEAM_ERR_IO;
    }
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        rc = seam_buf_append(&b, chunk, n);
        if (rc == SEAM_ERR_TOO_BIG) {
            snprintf(err, errlen, "%s: larger than %u bytes", path, CONFIG_MAX_BYTES);
            rc = SEAM_ERR_CONFIG;
            goto out;
        }
        if (rc != SEAM_OK) {
            snprintf(err, errlen, "%s: out of memory", path);
            goto out;
        }
        if (n < sizeof chunk)
            break;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        rc = SEAM_ERR_IO;
        goto out;
    }
    rc = seam_config_parse(b.data, b.len, path, out, err, errlen);
out:
    fclose(f);
    seam_buf_free(&b);
    return rc;
}

/* Releases everything reachable from <cfg>, including snapshots that a
 * failed parse left half built (all arrays are zeroed when allocated). */
void seam_config_free(seam_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nbackends; i++) {
        seam_backend_conf *b = &cfg->backends[i];
        seam_free(b->name);
        seam_free(b->url);
        seam_free(b->api_key_env);
        seam_free(b->health.path);
        for (size_t j = 0; j < b->nmodels; j++)
            seam_free(b->models[j]);
        seam_free(b->models);
    }
    seam_free(cfg->backends);
    for (size_t i = 0; i < cfg->npools; i++) {
        seam_free(cfg->pools[i].name);
        seam_free(cfg->pools[i].backends);
        seam_free(cfg->pools[i].weights);
    }
    seam_free(cfg->pools);
    for (size_t i = 0; i < cfg->nrules; i++) {
        seam_rule_conf *r = &cfg->rules[i];
        seam_free(r->name);
        for (size_t j = 0; j < r->nmodels; j++)
            seam_free(r->models[j]);
        seam_free(r->models);
        seam_free(r->fallbacks);
    }
    seam_free(cfg->rules);
    for (size_t i = 0; i < cfg->detect.nlevels; i++)
        seam_free(cfg->detect.levels[i].type);
    seam_free(cfg->detect.levels);
    for (size_t i = 0; i < cfg->detect.ncustom; i++) {
        seam_custom_detector *d = &cfg->detect.custom[i];
        seam_free(d->name);
        seam_free(d->pattern);
        for (size_t j = 0; j < d->nwords; j++)
            seam_free(d->words[j]);
        seam_free(d->words);
    }
    seam_free(cfg->detect.custom);
    seam_free(cfg->audit.dir);
    for (size_t i = 0; i < cfg->auth.nkeys; i++) {
        seam_key_conf *k = &cfg->auth.keys[i];
        seam_free(k->name);
        seam_free(k->key_env);
        seam_free(k->tenant);
    }
    seam_free(cfg->auth.keys);
    seam_free(cfg->auth.admin_key_env);
    for (size_t i = 0; i < cfg->nbudgets; i++)
        seam_free(cfg->budgets[i].tenant);
    seam_free(cfg->budgets);
    seam_free(cfg->state.sqlite);
    seam_free(cfg->state.redis);
    seam_free(cfg->listen_host);
    seam_free(cfg->path);
    seam_free(cfg);
}

const seam_backend_conf *seam_config_backend(const seam_config *cfg, const char *name)
{
    for (size_t i = 0; cfg && name && i < cfg->nbackends; i++)
        if (!strcmp(cfg->backends[i].name, name))
            return &cfg->backends[i];
    return NULL;
}

int seam_config_pool_index(const seam_config *cfg, const char *name)
{
    return cfg && name ? pool_find(cfg, name, strlen(name)) : -1;
}

/* ---- printing ----------------------------------------------------------- */

static void print_mask(FILE *out, const char *label, uint32_t mask, const enum_desc *en,
                       bool *first)
{
    if (!mask)
        return;
    fprintf(out, "%s%s in [", *first ? "" : " and ", label);
    for (int i = 0, n = 0; i < en->count; i++)
        if (mask & (1u << i))
            fprintf(out, "%s%s", n++ ? ", " : "", en->name(i));
    fputc(']', out);
    *first = false;
}

static void print_rule(FILE *out, const seam_config *cfg, size_t idx)
{
    const seam_rule_conf *r = &cfg->rules[idx];
    bool first = true;
    bool any = r->kinds || r->sensitivities || r->complexities || r->has_tokens_gt ||
               r->has_tokens_lte || r->nmodels || r->has_images >= 0 || r->has_tools >= 0;
    fprintf(out, "    %zu. %s (line %d): %s", idx + 1, r->name, r->line, any ? "when " : "always");
    print_mask(out, "kind", r->kinds, &en_kind, &first);
    print_mask(out, "sensitivity", r->sensitivities, &en_sens, &first);
    print_mask(out, "complexity", r->complexities, &en_cplx, &first);
    if (r->has_tokens_gt) {
        fprintf(out, "%stokens > %" PRIu64, first ? "" : " and ", r->tokens_gt);
        first = false;
    }
    if (r->has_tokens_lte) {
        fprintf(out, "%stokens <= %" PRIu64, first ? "" : " and ", r->tokens_lte);
        first = false;
    }
    if (r->nmodels) {
        fprintf(out, "%smodel in [", first ? "" : " and ");
        for (size_t j = 0; j < r->nmodels; j++)
            fprintf(out, "%s%s", j ? ", " : "", r->models[j]);
        fputc(']', out);
        first = false;
    }
    if (r->has_images >= 0) {
        fprintf(out, "%shas_images = %s", first ? "" : " and ", r->has_images ? "true" : "false");
        first = false;
    }
    if (r->has_tools >= 0) {
        fprintf(out, "%shas_tools = %s", first ? "" : " and ", r->has_tools ? "true" : "false");
        first = false;
    }
    fprintf(out, " -> pool %s%s", cfg->pools[r->pool].name, r->redact ? " (redact)" : "");
    if (r->nfallbacks) {
        fprintf(out, ", fallback ");
        for (size_t j = 0; j < r->nfallbacks; j++)
            fprintf(out, "%s%s", j ? " -> " : "", cfg->pools[r->fallbacks[j]].name);
    }
    if (r->set.reasoning != SEAM_REASONING_UNSET || r->set.max_tokens_cap) {
        fprintf(out, ", set");
        if (r->set.reasoning != SEAM_REASONING_UNSET)
            fprintf(out, " reasoning=%s%s", set_reasoning_name(r->set.reasoning),
                    r->set.force ? " (forced)" : " (unless the client chose)");
        if (r->set.max_tokens_cap)
            fprintf(out, " max_tokens<=%" PRIu64, r->set.max_tokens_cap);
    }
    fputc('\n', out);
}

/* The detect section. Custom patterns and words are the operator's own
 * and are printed; they are configuration, not detected values. */
static void print_detect(FILE *out, const seam_detect_conf *d)
{
    fprintf(out, "detect\n");
    fprintf(out, "  enabled              %s\n", d->enabled ? "true" : "false");
    fprintf(out, "  threshold            %g\n", d->threshold);
    fprintf(out, "  image_sensitivity    %s\n", seam_sensitivity_name(d->image_sensitivity));
    fprintf(out, "  allow_redact_header  %s\n", d->allow_redact_header ? "true" : "false");
    if (d->nlevels) {
        fprintf(out, "  levels              ");
        for (size_t i = 0; i < d->nlevels; i++)
            fprintf(out, " %s=%s", d->levels[i].type, seam_sensitivity_name(d->levels[i].level));
        fputc('\n', out);
    }
    fprintf(out, "  custom detectors (%zu)\n", d->ncustom);
    for (size_t i = 0; i < d->ncustom; i++) {
        const seam_custom_detector *c = &d->custom[i];
        fprintf(out, "    %s (line %d): %s, ", c->name, c->line, seam_sensitivity_name(c->level));
        if (c->pattern)
            fprintf(out, "pattern %s\n", c->pattern);
        else
            fprintf(out, "%zu word%s\n", c->nwords, c->nwords == 1 ? "" : "s");
    }
}

/* What a backend costs: its price, or its hardware and the hourly cost
 * derived from it (amortised capex over 730 hours a month, plus energy). */
static void print_cost(FILE *out, const seam_backend_conf *b)
{
    if (b->price.set) {
        fprintf(out, "    price           %g in / %g out", b->price.input_per_mtok,
                b->price.output_per_mtok);
        if (b->price.has_cached)
            fprintf(out, " / %g cached in", b->price.cached_input_per_mtok);
        fprintf(out, " USD per million tokens\n");
    } else if (b->hardware.set) {
        const seam_hardware *h = &b->hardware;
        double hourly =
            h->capex_usd / (h->amortize_months * 730) + h->watts / 1000 * h->usd_per_kwh;
        fprintf(
            out,
            "    hardware        %g USD over %g months, %g W at %g USD/kWh: %.4f USD per hour\n",
            h->capex_usd, h->amortize_months, h->watts, h->usd_per_kwh, hourly);
    } else {
        fprintf(out, "    price           none (costs 0)\n");
    }
}

/* Client keys: never a key, and of a key_sha256 only its first 8 hex
 * digits, enough to tell entries apart. An unset key_env is a warning:
 * that key matches nothing. */
static void print_auth(FILE *out, const seam_config *cfg)
{
    fprintf(out, "auth\n");
    if (cfg->auth.admin_key_env) {
        const char *v = getenv(cfg->auth.admin_key_env);
        fprintf(out, "  admin_key_env    %s (%s)\n", cfg->auth.admin_key_env,
                v && v[0] ? "set" : "not set: admin endpoints are refused");
    } else {
        fprintf(out, "  admin_key_env    none: admin endpoints are refused\n");
    }
    fprintf(out, "  protect_metrics  %s\n", cfg->auth.metrics_need_admin ? "true" : "false");
    if (!cfg->auth.nkeys) {
        fprintf(out, "  keys (0): every client is anonymous\n");
        return;
    }
    fprintf(out, "  keys (%zu)\n", cfg->auth.nkeys);
    for (size_t i = 0; i < cfg->auth.nkeys; i++) {
        const seam_key_conf *k = &cfg->auth.keys[i];
        fprintf(out, "    %s (line %d): tenant %s, ", k->name, k->line, k->tenant);
        if (k->key_env)
            fprintf(out, "key from %s (%s)", k->key_env, k->key_present ? "set" : "NOT SET");
        else
            fprintf(out, "key_sha256 %02x%02x%02x%02x...", k->sha256[0], k->sha256[1], k->sha256[2],
                    k->sha256[3]);
        if (k->rpm)
            fprintf(out, ", rpm %" PRIu64, k->rpm);
        if (k->tpm)
            fprintf(out, ", tpm %" PRIu64, k->tpm);
        if (!k->rpm && !k->tpm)
            fprintf(out, ", no rate limit");
        if (k->has_max_sensitivity)
            fprintf(out, ", max_sensitivity_to_cloud %s",
                    seam_sensitivity_name(k->max_sensitivity_to_cloud));
        fputc('\n', out);
        if (!k->key_present)
            fprintf(out, "    warning: %s is not set: key '%s' matches nothing\n", k->key_env,
                    k->name);
    }
}

static void print_budgets(FILE *out, const seam_config *cfg)
{
    fprintf(out, "budgets (%zu)\n", cfg->nbudgets);
    for (size_t i = 0; i < cfg->nbudgets; i++) {
        const seam_budget_conf *b = &cfg->budgets[i];
        bool known = false;
        fprintf(out, "  %s (line %d):", b->tenant, b->line);
        if (b->usd_per_day >= 0)
            fprintf(out, " %g USD per day", b->usd_per_day);
        if (b->usd_per_month >= 0)
            fprintf(out, "%s %g USD per month", b->usd_per_day >= 0 ? "," : "", b->usd_per_month);
        fprintf(out, ", when exhausted: %s\n",
                b->on_exhausted == SEAM_BUDGET_LOCAL ? "route to local backends" : "reject (429)");
        for (size_t j = 0; j < cfg->auth.nkeys && !known; j++)
            known = !strcmp(cfg->auth.keys[j].tenant, b->tenant);
        if (!known)
            fprintf(out, "  warning: no key has tenant '%s'\n", b->tenant);
    }
}

static void print_state(FILE *out, const seam_config *cfg)
{
    fprintf(out, "state\n");
    if (cfg->state.sqlite[0])
        fprintf(out, "  sqlite     %s (ledger and budgets)\n", cfg->state.sqlite);
    else
        fprintf(out, "  sqlite     off (no ledger)\n");
    fprintf(out, "  redis      %s\n",
            cfg->state.redis[0] ? cfg->state.redis : "none (limits are per process)");
    fprintf(out, "  batch_ms   %" PRIu64 "\n", cfg->state.batch_ms);
    fprintf(out, "  when Redis is unreachable: rate limits %s, budgets %s\n",
            cfg->state.rate_limit_fail_open ? "fail open" : "fail closed",
            cfg->state.budget_fail_open ? "fail open" : "fail closed");
}

static void print_timeouts(FILE *out, const seam_timeouts *t)
{
    fprintf(out,
            "connect %" PRIu64 " ms, first byte %" PRIu64 " ms, idle %" PRIu64 " ms, total %" PRIu64
            " ms\n",
            t->connect_ms, t->first_byte_ms, t->idle_ms, t->total_ms);
}

static void print_circuit(FILE *out, const seam_circuit_conf *k)
{
    fprintf(out,
            "opens after %" PRIu64 " failures in %" PRIu64 " ms, half-open after %" PRIu64
            " ms with %" PRIu64 " trial%s\n",
            k->failures, k->window_ms, k->cooldown_ms, k->half_open_max,
            k->half_open_max == 1 ? "" : "s");
}

void seam_config_print(const seam_config *cfg, FILE *out)
{
    bool v6 = strchr(cfg->listen_host, ':') != NULL;
    fprintf(out, "configuration %s\n", cfg->path ? cfg->path : "");
    fprintf(out, "  listen     %s%s%s:%d%s\n", v6 ? "[" : "", cfg->listen_host, v6 ? "]" : "",
            cfg->listen_port, cfg->listen_port == 0 ? " (ephemeral port)" : "");
    if (cfg->workers)
        fprintf(out, "  workers    %d\n", cfg->workers);
    else
        fprintf(out, "  workers    one per core\n");
    fprintf(out,
            "  limits     max_body_bytes %" PRIu64 ", request_timeout_ms %" PRIu64
            ", shutdown_grace_ms %" PRIu64 "\n",
            cfg->limits.max_body_bytes, cfg->limits.request_timeout_ms,
            cfg->limits.shutdown_grace_ms);
    fprintf(out, "  timeouts   ");
    print_timeouts(out, &cfg->timeouts);
    fprintf(out, "  circuit    ");
    print_circuit(out, &cfg->circuit);

    fprintf(out, "backends (%zu)\n", cfg->nbackends);
    for (size_t i = 0; i < cfg->nbackends; i++) {
        const seam_backend_conf *b = &cfg->backends[i];
        fprintf(out, "  %s (line %d)\n", b->name, b->line);
        fprintf(out, "    provider        %s\n", provider_name(b->provider));
        fprintf(out, "    url             %s\n", b->url);
        fprintf(out, "    location        %s\n", location_name(b->location));
        fprintf(out, "    clearance       %s\n", seam_sensitivity_name(b->clearance));
        fprintf(out, "    models          ");
        for (size_t j = 0; j < b->nmodels; j++)
            fprintf(out, "%s%s", j ? ", " : "", b->models[j]);
        fputc('\n', out);
        if (b->context_window)
            fprintf(out, "    context_window  %" PRIu64 "\n", b->context_window);
        else
            fprintf(out, "    context_window  not given\n");
        fprintf(out, "    capabilities    %s", b->capabilities ? "" : "none (text only)");
        for (int j = 0, k = 0; j < SEAM_CAP__COUNT; j++)
            if (b->capabilities & cap_bits[j])
                fprintf(out, "%s%s", k++ ? ", " : "", cap_names[j]);
        fprintf(out, "%s\n", b->capabilities_given ? "" : " (not declared: none assumed missing)");
        if (b->provider == SEAM_PROVIDER_ANTHROPIC)
            fprintf(out, "    max_tokens_default %" PRIu64 "\n", b->max_tokens_default);
        /* Only the variable's name and whether it is set: never its value. */
        if (b->api_key_env && b->api_key_env[0]) {
            const char *v = getenv(b->api_key_env);
            fprintf(out, "    api_key_env     %s (%s)\n", b->api_key_env,
                    !v     ? "not set"
                    : v[0] ? "set"
                           : "set but empty");
        } else {
            fprintf(out, "    api_key_env     none\n");
        }
        print_cost(out, b);
        fprintf(out, "    timeouts        ");
        print_timeouts(out, &b->timeouts);
        fprintf(out, "    circuit         ");
        print_circuit(out, &b->circuit);
        if (b->max_concurrency)
            fprintf(out, "    max_concurrency %" PRIu64 "\n", b->max_concurrency);
        else
            fprintf(out, "    max_concurrency unlimited\n");
        fprintf(out, "    health          GET %s every %" PRIu64 " ms\n", b->health.path,
                b->health.interval_ms);
    }

    fprintf(out, "pools (%zu)\n", cfg->npools);
    for (size_t i = 0; i < cfg->npools; i++) {
        const seam_pool_conf *p = &cfg->pools[i];
        fprintf(out, "  %s: ", p->name);
        for (size_t j = 0; j < p->nbackends; j++) {
            fprintf(out, "%s%s", j ? ", " : "", cfg->backends[p->backends[j]].name);
            if (p->weights)
                fprintf(out, " (weight %" PRIu64 ")", p->weights[j]);
        }
        fputc('\n', out);
        fprintf(out, "    strategy %s, retries %" PRIu64 ", ", seam_strategy_name(p->strategy),
                p->retries);
        if (p->queue.max)
            fprintf(out, "queue %" PRIu64 " for up to %" PRIu64 " ms", p->queue.max,
                    p->queue.timeout_ms);
        else
            fprintf(out, "no queue");
        if (p->has_spill)
            fprintf(out, ", spill to %s", cfg->pools[p->spill].name);
        fprintf(out, ", stream_resume %s\n", p->stream_resume ? "true" : "false");
    }

    fprintf(out, "policy\n");
    fprintf(out, "  rules (%zu, first match wins)\n", cfg->nrules);
    for (size_t i = 0; i < cfg->nrules; i++)
        print_rule(out, cfg, i);
    fprintf(out, "  default              %s\n", cfg->pools[cfg->default_pool].name);
    fprintf(out, "  default_sensitivity  %s\n", seam_sensitivity_name(cfg->default_sensitivity));
    fprintf(out, "  unknown_model        %s\n", unknown_model_name(cfg->unknown_model));
    fprintf(out, "  on_pinned_violation  %s\n", pinned_name(cfg->on_pinned_violation));
    print_detect(out, &cfg->detect);
    if (cfg->audit.dir && cfg->audit.dir[0])
        fprintf(out, "audit\n  dir        %s\n  max_bytes  %" PRIu64 "\n", cfg->audit.dir,
                cfg->audit.max_bytes);
    else
        fprintf(out, "audit      off (no audit.dir)\n");
    print_auth(out, cfg);
    print_budgets(out, cfg);
    print_state(out, cfg);
    if (cfg->report.has_reference)
        fprintf(out, "report\n  reference_backend  %s\n",
                cfg->backends[cfg->report.reference_backend].name);
    else
        fprintf(out, "report     no reference_backend (no counterfactual cost)\n");
}
