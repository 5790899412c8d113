/*
 * Metrics (obs/metrics.h) and the /metrics endpoint (http/admin.h). Every
 * test records through the public API, renders, and reads the text back
 * with a strict parser of the exposition format 0.0.4 written here: names,
 * label syntax and escapes, values, HELP/TYPE before samples, families
 * contiguous, no duplicate series, histogram buckets ascending and
 * cumulative with _count equal to +Inf. When promtool (Prometheus's own
 * parser and linter) is on PATH or named by $SEAM_PROMTOOL, the text is
 * also fed to `promtool check metrics`.
 */
#include "testutil.h"

#include "api/ingress.h"
#include "auth/keys.h"
#include "core/alloc.h"
#include "http/admin.h"
#include "obs/metrics.h"

#include <curl/curl.h>
#include <dirent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- a strict reader of the text format ---- */

typedef struct label {
    char *name, *value; /* value unescaped */
} label;

typedef struct sample_line {
    char *name;
    label *labels;
    size_t nlabels;
    double value;
} sample_line;

typedef struct family_info {
    char *name, *type;
    bool help;
} family_info;

typedef struct parsed {
    sample_line *s;
    size_t n;
    family_info *f;
    size_t nf;
} parsed;

#define PFAIL(lineno, ...)                                                                         \
    do {                                                                                           \
        print_error("exposition line %d: ", lineno);                                               \
        fail_msg(__VA_ARGS__);                                                                     \
    } while (0)

static bool name_ok(const char *s, size_t n, bool metric)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

/* A float as Go's ParseFloat reads it in this format: decimal with an
 * optional exponent, or +Inf, -Inf, NaN. Nothing else (no hex, no "inf"). */
static bool value_ok(const char *s, double *v)
{
    if (!strcmp(s, "+Inf") || !strcmp(s, "-Inf") || !strcmp(s, "NaN")) {
        *v = !strcmp(s, "NaN") ? NAN : s[0] == '+' ? INFINITY : -INFINITY;
        return true;
    }
    if (!*s || strspn(s, "0123456789.eE+-") != strlen(s))
        return false;
    char *end;
    *v = strtod(s, &end);
    return *end == '\0';
}

static family_info *family_of(parsed *p, const char *name)
{
    for (size_t i = 0; i < p->nf; i++)
        if (!strcmp(p->f[i].name, name))
            return &p->f[i];
    return NULL;
}

static family_info *family_add(parsed *p, const char *name)
{
    p->f = realloc(p->f, (p->nf + 1) * sizeof(*p->f));
    p->f[p->nf] = (family_info){strdup(name), NULL, false};
    return &p->f[p->nf++];
}

/* The family a sample belongs to: its own name, or for _bucket, _sum and
 * _count the histogram they are part of. */
static family_info *sample_family(parsed *p, const char *name)
{
    family_info *f = family_of(p, name);
    if (f && f->type)
        return f;
    static const char *const sfx[] = {"_bucket", "_sum", "_count"};
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(name), k = strlen(sfx[i]);
        if (n > k && !strcmp(name + n - k, sfx[i])) {
            char base[256];
            snprintf(base, sizeof base, "%.*s", (int)(n - k), name);
            f = family_of(p, base);
            if (f && f->type && !strcmp(f->type, "histogram"))
                return f;
        }
    }
    return NULL;
}

static bool labels_equal(const sample_line *a, const sample_line *b, const char *skip)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < a->nlabels && skip && !strcmp(a->labels[i].name, skip))
            i++;
        while (j < b->nlabels && skip && !strcmp(b->labels[j].name, skip))
            j++;
        if (i == a->nlabels || j == b->nlabels)
            return i == a->nlabels && j == b->nlabels;
        if (strcmp(a->labels[i].name, b->labels[j].name) ||
            strcmp(a->labels[i].value, b->labels[j].value))
            return false;
        i++, j++;
    }
}

static const char *label_get(const sample_line *s, const char *name)
{
    for (size_t i = 0; i < s->nlabels; i++)
        if (!strcmp(s->labels[i].name, name))
            return s->labels[i].value;
    return NULL;
}

/* Parses one sample line into <out>; fails the test on any deviation. */
static void parse_sample(const char *line, int lineno, sample_line *out)
{
    const char *p = line;
    size_t n = strcspn(p, "{ ");
    if (!name_ok(p, n, true))
        PFAIL(lineno, "bad metric name in '%s'", line);
    out->name = strndup(p, n);
    out->labels = NULL;
    out->nlabels = 0;
    p += n;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            size_t ln = strcspn(p, "=");
            if (!name_ok(p, ln, false) || p[ln] != '=' || p[ln + 1] != '"')
                PFAIL(lineno, "bad label in '%s'", line);
            char *lname = strndup(p, ln);
            for (size_t i = 0; i < out->nlabels; i++)
                if (!strcmp(out->labels[i].name, lname))
                    PFAIL(lineno, "label %s twice", lname);
            p += ln + 2;
            char *v = malloc(strlen(p) + 1);
            size_t vn = 0;
            for (;; p++) {
                if (*p == '\0')
                    PFAIL(lineno, "unterminated label value in '%s'", line);
                if (*p == '"')
                    break;
                if (*p == '\\') {
                    p++;
                    if (*p == '\\' || *p == '"')
                        v[vn++] = *p;
                    else if (*p == 'n')
                        v[vn++] = '\n';
                    else
                        PFAIL(lineno, "bad escape \\%c", *p);
                } else {
                    v[vn++] = *p;
                }
            }
            v[vn] = '\0';
            p++; /* closing quote */
            out->labels = realloc(out->labels, (out->nlabels + 1) * sizeof(label));
            out->labels[out->nlabels++] = (label){lname, v};
            if (*p == ',')
                p++;
            else if (*p != '}')
                PFAIL(lineno, "expected , or } in '%s'", line);
        }
        p++;
    }
    if (*p != ' ')
        PFAIL(lineno, "expected one space before the value in '%s'", line);
    p++;
    if (!value_ok(p, &out->value))
        PFAIL(lineno, "bad value '%s'", p);
}

static parsed parse_exposition(const char *text)
{
    parsed P = {0};
    size_t len = strlen(text);
    if (len == 0 || text[len - 1] != '\n')
        fail_msg("the exposition must end with a line feed");
    family_info *current = NULL;
    int lineno = 0;
    for (const char *l = text; *l;) {
        const char *nl = strchr(l, '\n');
        char *line = strndup(l, (size_t)(nl - l));
        l = nl + 1;
        lineno++;
        if (!line[0])
            PFAIL(lineno, "empty line");
        if (!strncmp(line, "# HELP ", 7) || !strncmp(line, "# TYPE ", 7)) {
            bool help = line[2] == 'H';
            const char *name = line + 7;
            size_t n = strcspn(name, " ");
            if (!name_ok(name, n, true) || name[n] != ' ')
                PFAIL(lineno, "bad %s line", help ? "HELP" : "TYPE");
            char *fname = strndup(name, n);
            const char *rest = name + n + 1;
            family_info *f = family_of(&P, fname);
            if (f && f != current)
                PFAIL(lineno, "family %s is not contiguous", fname);
            if (!f)
                f = family_add(&P, fname);
            current = f;
            if (help) {
                if (f->help)
                    PFAIL(lineno, "second HELP for %s", fname);
                f->help = true;
                for (const char *c = rest; *c; c++)
                    if (*c == '\\' && c[1] != '\\' && c[1] != 'n')
                        PFAIL(lineno, "bad escape in HELP");
                    else if (*c == '\\')
                        c++;
            } else {
                if (f->type)
                    PFAIL(lineno, "second TYPE for %s", fname);
                static const char *const types[] = {"counter", "gauge", "histogram", "summary",
                                                    "untyped"};
                bool ok = false;
                for (int i = 0; i < 5; i++)
                    ok |= !strcmp(rest, types[i]);
                if (!ok)
                    PFAIL(lineno, "bad type '%s'", rest);
                f->type = strdup(rest);
            }
            free(fname);
            free(line);
            continue;
        }
        if (line[0] == '#')
            PFAIL(lineno, "unexpected comment '%s'", line);
        sample_line s;
        parse_sample(line, lineno, &s);
        family_info *f = sample_family(&P, s.name);
        if (!f)
            PFAIL(lineno, "sample %s before its TYPE", s.name);
        if (f != current)
            PFAIL(lineno, "sample %s outside its family's block", s.name);
        if (!strcmp(f->type, "counter") && strcmp(s.name + strlen(s.name) - 6, "_total"))
            PFAIL(lineno, "counter %s does not end in _total", s.name);
        if (!strcmp(f->type, "counter") && !(s.value >= 0))
            PFAIL(lineno, "counter %s is negative", s.name);
        for (size_t i = 0; i < P.n; i++)
            if (!strcmp(P.s[i].name, s.name) && labels_equal(&P.s[i], &s, NULL))
                PFAIL(lineno, "duplicate series %s", line);
        P.s = realloc(P.s, (P.n + 1) * sizeof(*P.s));
        P.s[P.n++] = s;
        free(line);
    }
    /* Histograms: per label set, buckets ascending by le with cumulative
     * counts, the last one +Inf, equal to _count. */
    for (size_t i = 0; i < P.n; i++) {
        sample_line *s = &P.s[i];
        size_t n = strlen(s->name);
        if (n > 6 && !strcmp(s->name + n - 6, "_count")) {
            family_info *f = sample_family(&P, s->name);
            if (!f || strcmp(f->type, "histogram"))
                continue;
            char bname[256];
            snprintf(bname, sizeof bname, "%s_bucket", f->name);
            double prev_le = -INFINITY, prev_v = 0, last_le = NAN, inf_v = -1;
            size_t nb = 0;
            for (size_t j = 0; j < P.n; j++) {
                sample_line *b = &P.s[j];
                if (strcmp(b->name, bname) || !labels_equal(b, s, "le"))
                    continue;
                const char *le = label_get(b, "le");
                double lev = NAN;
                if (!le || !value_ok(le, &lev))
                    fail_msg("%s without a valid le", bname);
                if (!(lev > prev_le) || b->value < prev_v)
                    fail_msg("%s not ascending/cumulative at le=%s", bname, le);
                prev_le = last_le = lev;
                prev_v = b->value;
                nb++;
                if (isinf(lev))
                    inf_v = b->value;
            }
            if (nb == 0 || !isinf(last_le) || inf_v != s->value)
                fail_msg("%s: +Inf bucket %g, _count %g", f->name, inf_v, s->value);
        }
    }
    for (size_t i = 0; i < P.nf; i++)
        if (!P.f[i].type)
            fail_msg("family %s has no TYPE", P.f[i].name);
    return P;
}

static void parsed_free(parsed *p)
{
    for (size_t i = 0; i < p->n; i++) {
        for (size_t j = 0; j < p->s[i].nlabels; j++) {
            free(p->s[i].labels[j].name);
            free(p->s[i].labels[j].value);
        }
        free(p->s[i].labels);
        free(p->s[i].name);
    }
    for (size_t i = 0; i < p->nf; i++) {
        free(p->f[i].name);
        free(p->f[i].type);
    }
    free(p->s);
    free(p->f);
}

/* The sample <name> whose labels are exactly <spec>: "k=v,k=v" in order
 * ("" for none; values here contain no ',' or '='). NULL when absent. */
static const sample_line *find(const parsed *p, const char *name, const char *spec)
{
    for (size_t i = 0; i < p->n; i++) {
        const sample_line *s = &p->s[i];
        if (strcmp(s->name, name))
            continue;
        char buf[1024] = "";
        size_t o = 0;
        for (size_t j = 0; j < s->nlabels; j++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s=%s", j ? "," : "",
                                  s->labels[j].name, s->labels[j].value);
        if (!strcmp(buf, spec))
            return s;
    }
    return NULL;
}

#define VAL(p, name, spec) value_of((p), (name), (spec), __LINE__)

static double value_of(const parsed *p, const char *name, const char *spec, int line)
{
    const sample_line *s = find(p, name, spec);
    if (!s)
        fail_msg("line %d: no sample %s{%s}", line, name, spec);
    return s->value;
}

static size_t count_samples(const parsed *p, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += !strcmp(p->s[i].name, name);
    return n;
}

/* ---- fixtures ---- */

static const char metrics_yaml[] =
    "listen: 127.0.0.1:0\n"
    "backends:\n"
    "  - { name: gemma-local, provider: openai, url: 'http://127.0.0.1:11434', location: local, "
    "models: [gemma4:31b] }\n"
    "  - { name: frontier, provider: openai, url: 'https://api.openai.com', location: cloud, "
    "models: [gpt-5.1] }\n"
    "pools:\n"
    "  local: [gemma-local]\n"
    "  cloud: [frontier]\n"
    "policy:\n"
    "  rules:\n"
    "    - { name: sensitive-stays-local, when: { sensitivity: [internal, regulated] }, route: "
    "local }\n"
    "    - { name: frontier-drafting, when: { kind: [draft] }, route: cloud }\n"
    "  default: local\n";

static char *render(seam_metrics *m)
{
    seam_buf b;
    seam_buf_init(&b, 1 << 24);
    assert_int_equal(seam_metrics_render(m, &b), SEAM_OK);
    char *s = strdup(b.data);
    seam_buf_free(&b);
    return s;
}

static seam_request_record record(const seam_config *cfg, int backend, const char *pool,
                                  const char *rule, int status)
{
    seam_request_record r = {0};
    r.ingress = seam_ingress_openai.name;
    r.pool = pool;
    r.rule = rule;
    r.backend_index = backend;
    r.backend = backend >= 0 ? cfg->backends[backend].name : NULL;
    r.status = status;
    r.sensitivity = "public";
    r.input_tokens = r.output_tokens = r.reasoning_tokens = r.cached_tokens = -1;
    r.counterfactual_usd = -1;
    r.ms_ttft = -1;
    r.ms_total = 0;
    r.ms_gateway = 0;
    return r;
}

/* ---- tests ---- */

static void test_counters(void **state)
{
    (void)state;
    seam_config *cfg = load_yaml(metrics_yaml);
    seam_metrics *m = seam_metrics_new(cfg, NULL, "0.1.0");
    assert_non_null(m);

    /* Three served by frontier through rule frontier-drafting, pointers
     * from the configuration (the fast path). */
    for (int i = 0; i < 3; i++) {
        seam_request_record r = record(cfg, 1, cfg->pools[1].name, cfg->rules[1].name, 200);
        r.input_tokens = 1000;
        r.cached_tokens = 200;
        r.output_tokens = 500;
        r.reasoning_tokens = 100;
        r.cost_usd = 0.25;
        r.counterfactual_usd = 0.5;
        seam_metrics_observe(m, &r);
    }
    /* One served locally, names given as copies (the strcmp path), ingress
     * anthropic, regulated, with unknown token counts and no counterfactual. */
    char *pool = strdup("local"), *rule = strdup("sensitive-stays-local"),
         *ing = strdup("anthropic");
    seam_request_record r = record(cfg, -1, pool, rule, 200);
    r.backend = "gemma-local"; /* by name only */
    r.ingress = ing;
    r.sensitivity = "regulated";
    r.input_tokens = 42;
    r.cost_usd = 0.125;
    seam_metrics_observe(m, &r);
    /* Refused before any backend: no pool, no backend, default rule, 503. */
    r = record(cfg, -1, NULL, "default", 503);
    r.sensitivity = "internal";
    seam_metrics_observe(m, &r);
    seam_metrics_blocked(m, SEAM_BLOCK_NO_BACKEND);
    /* Names this configuration does not know, and an unlisted status. */
    r = record(cfg, -1, "gone-pool", "gone-rule", 418);
    r.ingress = "carrier-pigeon";
    r.backend = "gone-backend";
    r.sensitivity = NULL;
    seam_metrics_observe(m, &r);
    /* Status outside any class. */
    r = record(cfg, 0, "local", "default", 0);
    seam_metrics_observe(m, &r);

    seam_metrics_blocked(m, SEAM_BLOCK_BUDGET);
    seam_metrics_blocked(m, SEAM_BLOCK_BUDGET);
    seam_metrics_blocked(m, SEAM_BLOCK__COUNT); /* ignored */
    seam_metrics_inflight(m, 1, +1);
    seam_metrics_inflight(m, 1, +1);
    seam_metrics_inflight(m, 1, -1);
    seam_metrics_inflight(m, 0, -1);
    seam_metrics_inflight(m, 7, +1); /* ignored */
    seam_metrics_observe(NULL, &r);  /* metrics off */

    char *text = render(m);
    parsed p = parse_exposition(text);
    assert_int_equal(VAL(&p, "seam_build_info", "version=0.1.0"), 1);
    assert_true(VAL(&p, "process_start_time_seconds", "") > 1.7e9);
    assert_int_equal(VAL(&p, "seam_requests_total",
                         "ingress=openai,pool=cloud,backend=frontier,rule=frontier-drafting,"
                         "status=200"),
                     3);
    assert_int_equal(VAL(&p, "seam_requests_total",
                         "ingress=anthropic,pool=local,backend=gemma-local,rule=sensitive-stays-"
                         "local,status=200"),
                     1);
    assert_int_equal(
        VAL(&p, "seam_requests_total", "ingress=openai,pool=,backend=,rule=default,status=503"), 1);
    assert_int_equal(VAL(&p, "seam_requests_total",
                         "ingress=(other),pool=(other),backend=(other),rule=(other),status=4xx"),
                     1);
    assert_int_equal(VAL(&p, "seam_requests_total",
                         "ingress=openai,pool=local,backend=gemma-local,rule=default,status=other"),
                     1);
    /* Only series that were counted are exported. */
    assert_int_equal(count_samples(&p, "seam_requests_total"), 5);

    assert_int_equal(VAL(&p, "seam_requests_by_sensitivity_total", "sensitivity=public"), 4);
    assert_int_equal(VAL(&p, "seam_requests_by_sensitivity_total", "sensitivity=internal"), 1);
    assert_int_equal(VAL(&p, "seam_requests_by_sensitivity_total", "sensitivity=regulated"), 1);

    assert_int_equal(VAL(&p, "seam_tokens_total", "backend=frontier,direction=input"), 3000);
    assert_int_equal(VAL(&p, "seam_tokens_total", "backend=frontier,direction=output"), 1500);
    assert_int_equal(VAL(&p, "seam_tokens_total", "backend=frontier,direction=reasoning"), 300);
    assert_int_equal(VAL(&p, "seam_tokens_total", "backend=frontier,direction=cached"), 600);
    assert_int_equal(VAL(&p, "seam_tokens_total", "backend=gemma-local,direction=input"), 42);
    assert_int_equal(VAL(&p, "seam_tokens_total", "backend=gemma-local,direction=output"), 0);
    assert_true(VAL(&p, "seam_cost_usd_total", "backend=frontier") == 0.75);
    assert_true(VAL(&p, "seam_cost_usd_total", "backend=gemma-local") == 0.125);
    assert_true(VAL(&p, "seam_counterfactual_cost_usd_total", "backend=frontier") == 1.5);
    assert_true(VAL(&p, "seam_counterfactual_cost_usd_total", "backend=gemma-local") == 0);
    /* "" and "(other)" are never per-backend series. */
    assert_null(find(&p, "seam_tokens_total", "backend=,direction=input"));
    assert_null(find(&p, "seam_cost_usd_total", "backend=(other)"));

    assert_int_equal(VAL(&p, "seam_blocked_requests_total", "reason=budget"), 2);
    assert_int_equal(VAL(&p, "seam_blocked_requests_total", "reason=no_backend"), 1);
    assert_int_equal(VAL(&p, "seam_blocked_requests_total", "reason=rate_limit"), 0);
    assert_int_equal(count_samples(&p, "seam_blocked_requests_total"), SEAM_BLOCK__COUNT);
    assert_int_equal(VAL(&p, "seam_inflight_requests", "backend=frontier"), 1);
    assert_int_equal(VAL(&p, "seam_inflight_requests", "backend=gemma-local"), -1);
    /* No scanner: no entity types; sources not connected: not exported. */
    assert_int_equal(count_samples(&p, "seam_detected_entities_total"), 0);
    assert_null(find(&p, "seam_backend_up", "backend=frontier"));
    assert_null(find(&p, "seam_ledger_dropped_rows_total", ""));
    assert_int_equal(VAL(&p, "seam_metrics_lost_observations_total", ""), 0);

    assert_string_equal(seam_block_reason_name(SEAM_BLOCK_RATE_LIMIT), "rate_limit");
    assert_string_equal(seam_block_reason_name(SEAM_BLOCK__COUNT), "?");

    parsed_free(&p);
    free(text);
    free(pool);
    free(rule);
    free(ing);
    seam_metrics_free(m);
    seam_config_free(cfg);
}

static void test_histograms(void **state)
{
    (void)state;
    seam_config *cfg = load_yaml(metrics_yaml);
    seam_metrics *m = seam_metrics_new(cfg, NULL, "x");
    assert_non_null(m);
    /* Totals of 5 ms (on a bound: le is inclusive), 7 ms, 2 s and 10 min
     * (past the last bound); ttft for two of them; gateway 20 us and 3 us. */
    const double totals[] = {5, 7, 2000, 600000};
    for (int i = 0; i < 4; i++) {
        seam_request_record r = record(cfg, 0, "local", "default", 200);
        r.ms_total = totals[i];
        r.ms_ttft = i < 2 ? 250 : -1;
        r.ms_gateway = i == 0 ? 0.02 : i == 1 ? 0.003 : -1;
        seam_metrics_observe(m, &r);
    }
    /* A hair below zero from rounding is zero, not dropped. */
    seam_request_record r = record(cfg, 0, "local", "default", 200);
    r.ms_total = -1; /* unknown: not observed */
    r.ms_gateway = -1e-9;
    seam_metrics_observe(m, &r);

    char *text = render(m);
    parsed p = parse_exposition(text);
    const char *h = "seam_request_duration_seconds_bucket";
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=0.005"), 1);
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=0.01"), 2);
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=1"), 2);
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=2.5"), 3);
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=300"), 3);
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=+Inf"), 4);
    assert_int_equal(VAL(&p, "seam_request_duration_seconds_count", "backend=gemma-local"), 4);
    assert_true(
        fabs(VAL(&p, "seam_request_duration_seconds_sum", "backend=gemma-local") - 602.012) < 1e-9);
    assert_int_equal(VAL(&p, h, "backend=frontier,le=+Inf"), 0);
    assert_int_equal(VAL(&p, "seam_request_duration_seconds_sum", "backend=frontier"), 0);

    h = "seam_time_to_first_token_seconds_bucket";
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=0.1"), 0);
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=0.25"), 2);
    assert_int_equal(VAL(&p, "seam_time_to_first_token_seconds_count", "backend=gemma-local"), 2);
    assert_true(VAL(&p, "seam_time_to_first_token_seconds_sum", "backend=gemma-local") == 0.5);

    h = "seam_gateway_added_seconds_bucket";
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=1e-05"), 2); /* 0 and 3 us */
    assert_int_equal(VAL(&p, h, "backend=gemma-local,le=2.5e-05"), 3);
    assert_int_equal(VAL(&p, "seam_gateway_added_seconds_count", "backend=gemma-local"), 3);
    assert_true(fabs(VAL(&p, "seam_gateway_added_seconds_sum", "backend=gemma-local") - 23e-6) <
                1e-15);
    /* 17 buckets (16 bounds + Inf) per backend, each histogram. */
    assert_int_equal(count_samples(&p, "seam_gateway_added_seconds_bucket"), 2 * 17);

    parsed_free(&p);
    free(text);
    seam_metrics_free(m);
    seam_config_free(cfg);
}

static void test_label_escaping(void **state)
{
    (void)state;
    seam_config *cfg = load_yaml(metrics_yaml);
    /* Names with every character the format escapes. */
    seam_free(cfg->backends[1].name);
    cfg->backends[1].name = seam_strdup("we\"ird\\name\nx");
    seam_metrics *m = seam_metrics_new(cfg, NULL, "1.0 \"rc\" \\ \n end");
    assert_non_null(m);
    seam_request_record r = record(cfg, 1, "cloud", "default", 200);
    r.output_tokens = 9;
    seam_metrics_observe(m, &r);

    char *text = render(m);
    assert_non_null(strstr(text, "seam_build_info{version=\"1.0 \\\"rc\\\" \\\\ \\n end\"} 1\n"));
    assert_non_null(strstr(
        text, "seam_tokens_total{backend=\"we\\\"ird\\\\name\\nx\",direction=\"output\"} 9"));
    parsed p = parse_exposition(text);
    /* The parser unescapes: the value read back is the original name. */
    bool seen = false;
    for (size_t i = 0; i < p.n; i++)
        if (!strcmp(p.s[i].name, "seam_tokens_total") &&
            !strcmp(label_get(&p.s[i], "backend"), "we\"ird\\name\nx") &&
            !strcmp(label_get(&p.s[i], "direction"), "output")) {
            assert_int_equal(p.s[i].value, 9);
            seen = true;
        }
    assert_true(seen);
    parsed_free(&p);
    free(text);
    seam_metrics_free(m);
    seam_config_free(cfg);
}

/* ---- concurrency ---- */

#define THREADS 4
#define PER     20000

typedef struct worker_arg {
    seam_metrics *m;
    const seam_config *cfg;
    int id;
} worker_arg;

static void *hammer(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < PER; i++) {
        /* Every thread's first observation of a rule races for its row. */
        seam_request_record r = record(a->cfg, i % 2, i % 2 ? "cloud" : "local",
                                       i % 3 == 0 ? "default" : "frontier-drafting", 200);
        r.input_tokens = 3;
        r.output_tokens = 2;
        r.cost_usd = 0.25;
        r.ms_total = 1;
        r.ms_gateway = 0.01;
        seam_metrics_observe(a->m, &r);
        seam_metrics_inflight(a->m, i % 2, +1);
        seam_metrics_detected(a->m, SEAM_ENT_EMAIL, 2);
        seam_metrics_blocked(a->m, SEAM_BLOCK_RATE_LIMIT);
        seam_metrics_inflight(a->m, i % 2, -1);
    }
    return NULL;
}

static void test_concurrency(void **state)
{
    (void)state;
    seam_config *cfg = load_yaml(metrics_yaml);
    seam_scanner *sc = NULL;
    char err[256];
    assert_int_equal(seam_scanner_new(NULL, &sc, err, sizeof err), SEAM_OK);
    seam_metrics *m = seam_metrics_new(cfg, sc, "x");
    assert_non_null(m);
    pthread_t t[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){m, cfg, i};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &args[i]), 0);
    }
    /* Scrapes while the counters move must still parse. */
    for (int i = 0; i < 5; i++) {
        char *text = render(m);
        parsed p = parse_exposition(text);
        parsed_free(&p);
        free(text);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);

    char *text = render(m);
    parsed p = parse_exposition(text);
    const uint64_t total = (uint64_t)THREADS * PER;
    double sum = 0;
    for (size_t i = 0; i < p.n; i++)
        if (!strcmp(p.s[i].name, "seam_requests_total"))
            sum += p.s[i].value;
    assert_true(sum == (double)total);
    /* i % 2 == 1 and i % 3 == 0: i % 6 == 3, PER / 6 (+1 for the remainder) per thread. */
    uint64_t cloud_default = 0;
    for (int i = 0; i < PER; i++)
        cloud_default += i % 2 == 1 && i % 3 == 0;
    assert_int_equal(VAL(&p, "seam_requests_total",
                         "ingress=openai,pool=cloud,backend=frontier,rule=default,status=200"),
                     THREADS * cloud_default);
    assert_int_equal(VAL(&p, "seam_tokens_total", "backend=frontier,direction=input") +
                         VAL(&p, "seam_tokens_total", "backend=gemma-local,direction=input"),
                     3 * total);
    assert_true(VAL(&p, "seam_cost_usd_total", "backend=frontier") == 0.25 * (double)total / 2);
    assert_int_equal(VAL(&p, "seam_request_duration_seconds_count", "backend=frontier"), total / 2);
    assert_int_equal(VAL(&p, "seam_detected_entities_total", "type=EMAIL"), 2 * total);
    assert_int_equal(VAL(&p, "seam_detected_entities_total", "type=US_SSN"), 0);
    assert_int_equal(count_samples(&p, "seam_detected_entities_total"), seam_scan_type_count(sc));
    assert_int_equal(VAL(&p, "seam_blocked_requests_total", "reason=rate_limit"), total);
    assert_int_equal(VAL(&p, "seam_inflight_requests", "backend=frontier"), 0);
    assert_int_equal(VAL(&p, "seam_metrics_lost_observations_total", ""), 0);
    parsed_free(&p);
    free(text);
    seam_metrics_free(m);
    seam_scanner_free(sc);
    seam_config_free(cfg);
}

/* ---- sources read at scrape ---- */

static void fake_ledger(void *ctx, uint64_t *queued, uint64_t *written, uint64_t *dropped)
{
    const uint64_t *v = ctx;
    *queued = v[0];
    *written = v[1];
    *dropped = v[2];
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[1024];
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

static void test_sources(void **state)
{
    (void)state;
    seam_config *cfg = load_yaml(metrics_yaml);
    seam_metrics *m = seam_metrics_new(cfg, NULL, "x");
    seam_health_table *h = seam_health_new(cfg->nbackends);
    seam_health_set(h, 1, "frontier", SEAM_HEALTH_UP, NULL);
    seam_metrics_watch_health(m, h);
    uint64_t ledger[3] = {7, 1234, 0};
    seam_metrics_watch_ledger(m, fake_ledger, ledger);

    char dir[] = "/tmp/seam-metrics-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char err[256];
    seam_audit *au = seam_audit_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(au);
    seam_metrics_watch_audit(m, au);
    seam_audit_entry e;
    seam_audit_entry_init(&e);
    e.id = "r1";
    seam_audit_record(au, &e);
    seam_audit_record(au, &e);
    uint64_t written = 0;
    for (int i = 0; i < 500 && written < 2; i++) {
        seam_audit_stats(au, &written, NULL, NULL);
        if (written < 2)
            usleep(10000);
    }
    assert_int_equal(written, 2);

    char *text = render(m);
    parsed p = parse_exposition(text);
    assert_int_equal(VAL(&p, "seam_backend_up", "backend=frontier"), 1);
    assert_int_equal(VAL(&p, "seam_backend_up", "backend=gemma-local"), 0); /* not probed */
    assert_int_equal(VAL(&p, "seam_ledger_queue_depth", ""), 7);
    assert_int_equal(VAL(&p, "seam_ledger_written_rows_total", ""), 1234);
    assert_int_equal(VAL(&p, "seam_ledger_dropped_rows_total", ""), 0);
    assert_int_equal(VAL(&p, "seam_audit_written_lines_total", ""), 2);
    assert_int_equal(VAL(&p, "seam_audit_dropped_lines_total", ""), 0);
    assert_int_equal(VAL(&p, "seam_audit_queue_depth", ""), 0);
    parsed_free(&p);
    free(text);

    /* Values are read at each scrape. */
    ledger[2] = 3;
    seam_health_set(h, 1, "frontier", SEAM_HEALTH_DOWN, "connection refused");
    text = render(m);
    p = parse_exposition(text);
    assert_int_equal(VAL(&p, "seam_ledger_dropped_rows_total", ""), 3);
    assert_int_equal(VAL(&p, "seam_backend_up", "backend=frontier"), 0);
    parsed_free(&p);
    free(text);

    seam_audit_close(au);
    rm_dir(dir);
    seam_metrics_free(m);
    seam_health_free(h);
    seam_config_free(cfg);
}

/* ---- failures ---- */

static void test_alloc_failures(void **state)
{
    (void)state;
    seam_config *cfg = load_yaml(metrics_yaml);
    seam_scanner *sc = NULL;
    char err[256];
    assert_int_equal(seam_scanner_new(NULL, &sc, err, sizeof err), SEAM_OK);
    /* Creation fails cleanly at every allocation (ASan checks for leaks). */
    bool made = false;
    for (long n = 0; n < 400 && !made; n++) {
        seam_alloc_fail_after(n);
        seam_metrics *m = seam_metrics_new(cfg, sc, "x");
        seam_alloc_fail_after(-1);
        made = m != NULL;
        seam_metrics_free(m);
    }
    assert_true(made);

    /* A row that cannot be allocated loses the request and says so. */
    seam_metrics *m = seam_metrics_new(cfg, sc, "x");
    seam_request_record r = record(cfg, 0, "local", "default", 200);
    r.input_tokens = 5;
    seam_alloc_fail_after(0);
    seam_metrics_observe(m, &r);
    seam_alloc_fail_after(-1);
    char *text = render(m);
    parsed p = parse_exposition(text);
    assert_int_equal(VAL(&p, "seam_metrics_lost_observations_total", ""), 1);
    assert_int_equal(count_samples(&p, "seam_requests_total"), 0);
    /* Everything but the row was still counted. */
    assert_int_equal(VAL(&p, "seam_tokens_total", "backend=gemma-local,direction=input"), 5);
    parsed_free(&p);
    free(text);

    /* A buffer too small for the text is an error, never a cut text. */
    seam_buf b;
    seam_buf_init(&b, 100);
    assert_int_equal(seam_metrics_render(m, &b), SEAM_ERR_TOO_BIG);
    seam_buf_free(&b);

    seam_metrics_free(m);
    seam_metrics_free(NULL);
    seam_scanner_free(sc);
    seam_config_free(cfg);
}

/* ---- Prometheus's own parser ---- */

static const char *promtool_path(void)
{
    const char *env = getenv("SEAM_PROMTOOL");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    static char found[1024];
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t n = strcspn(path, ":");
        snprintf(found, sizeof found, "%.*s/promtool", (int)n, path);
        if (n && access(found, X_OK) == 0)
            return found;
        path += n + (path[n] == ':');
    }
    return NULL;
}

static void test_promtool(void **state)
{
    (void)state;
    const char *tool = promtool_path();
    if (!tool) {
        print_message("promtool not found (set SEAM_PROMTOOL): skipped; the strict reader "
                      "above checks the format\n");
        skip();
    }
    seam_config *cfg = load_yaml(metrics_yaml);
    seam_scanner *sc = NULL;
    char err[256];
    assert_int_equal(seam_scanner_new(NULL, &sc, err, sizeof err), SEAM_OK);
    seam_metrics *m = seam_metrics_new(cfg, sc, "0.1.0");
    seam_health_table *h = seam_health_new(cfg->nbackends);
    seam_metrics_watch_health(m, h);
    uint64_t ledger[3] = {0, 10, 0};
    seam_metrics_watch_ledger(m, fake_ledger, ledger);
    for (int i = 0; i < 50; i++) {
        seam_request_record r =
            record(cfg, i % 2, i % 2 ? "cloud" : "local", "default", i % 5 ? 200 : 502);
        r.input_tokens = 100;
        r.output_tokens = 20;
        r.cost_usd = 0.001 * i;
        r.counterfactual_usd = 0.002 * i;
        r.ms_total = 10.0 * i;
        r.ms_ttft = 3.0 * i;
        r.ms_gateway = 0.05;
        seam_metrics_observe(m, &r);
    }
    seam_metrics_detected(m, SEAM_ENT_IBAN, 3);
    char *text = render(m);
    char cmd[1200], out_path[] = "/tmp/seam-promtool-XXXXXX";
    int fd = mkstemp(out_path);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "'%s' check metrics > '%s' 2>&1", tool, out_path);
    FILE *pipe = popen(cmd, "w");
    assert_non_null(pipe);
    fputs(text, pipe);
    int st = pclose(pipe);
    FILE *f = fopen(out_path, "r");
    char msg[4096] = "";
    size_t n = f ? fread(msg, 1, sizeof msg - 1, f) : 0;
    msg[n] = '\0';
    if (f)
        fclose(f);
    unlink(out_path);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("promtool check metrics failed (%d):\n%s", st, msg);
    free(text);
    seam_metrics_free(m);
    seam_health_free(h);
    seam_scanner_free(sc);
    seam_config_free(cfg);
}

/* ---- GET /metrics over real HTTP ---- */

typedef struct http_fixture {
    struct event_base *base;
    struct evhttp *http;
    int port;
    pthread_t thread;
    seam_config *cfg;
    seam_auth_state auth;
    seam_metrics *m;
} http_fixture;

static void on_metrics(struct evhttp_request *req, void *arg)
{
    http_fixture *fx = arg;
    seam_admin_metrics_reply(req, fx->cfg, &fx->auth, fx->m);
}

static void *serve(void *arg)
{
    event_base_dispatch(((http_fixture *)arg)->base);
    return NULL;
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopbreak(arg);
}

typedef struct reply {
    long status;
    char body[1 << 16];
    size_t len;
    char ctype[128];
    bool www_auth;
} reply;

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    reply *r = arg;
    size_t k = size * n;
    if (r->len + k < sizeof r->body) {
        memcpy(r->body + r->len, p, k);
        r->len += k;
        r->body[r->len] = '\0';
    }
    return k;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    reply *r = arg;
    size_t k = size * n;
    if (k > 13 && !strncasecmp(p, "Content-Type:", 13))
        snprintf(r->ctype, sizeof r->ctype, "%.*s", (int)strcspn(p + 14, "\r\n"), p + 14);
    if (k > 17 && !strncasecmp(p, "WWW-Authenticate:", 17))
        r->www_auth = true;
    return k;
}

static void get_metrics(int port, const char *header, reply *r)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", port);
    struct curl_slist *hs = header ? curl_slist_append(NULL, header) : NULL;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hs);
    curl_easy_cleanup(c);
}

static void test_http_endpoint(void **state)
{
    (void)state;
    http_fixture fx = {0};
    fx.cfg = load_yaml(metrics_yaml);
    fx.m = seam_metrics_new(fx.cfg, NULL, "0.1.0");
    seam_request_record r = record(fx.cfg, 1, "cloud", "frontier-drafting", 200);
    seam_metrics_observe(fx.m, &r);
    fx.base = event_base_new();
    fx.http = evhttp_new(fx.base);
    evhttp_set_gencb(fx.http, on_metrics, &fx);
    struct evhttp_bound_socket *bs = evhttp_bind_socket_with_handle(fx.http, "127.0.0.1", 0);
    assert_non_null(bs);
    struct sockaddr_in sin;
    socklen_t sl = sizeof sin;
    getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
    fx.port = ntohs(sin.sin_port);

    /* Open metrics (the default). */
    seam_auth_state_init(&fx.auth, fx.cfg);
    assert_int_equal(pthread_create(&fx.thread, NULL, serve, &fx), 0);
    reply *rep = malloc(sizeof *rep);
    get_metrics(fx.port, NULL, rep);
    assert_int_equal(rep->status, 200);
    assert_string_equal(rep->ctype, "text/plain; version=0.0.4; charset=utf-8");
    parsed p = parse_exposition(rep->body);
    assert_int_equal(VAL(&p, "seam_requests_total",
                         "ingress=openai,pool=cloud,backend=frontier,rule=frontier-drafting,"
                         "status=200"),
                     1);
    parsed_free(&p);

    /* Protected without an admin key configured: refused for everyone. The
     * configuration is only read by the handler, between requests. */
    fx.cfg->auth.metrics_need_admin = true;
    get_metrics(fx.port, "Authorization: Bearer anything", rep);
    assert_int_equal(rep->status, 403);
    assert_non_null(strstr(rep->body, "admin_key_env"));

    /* Protected with an admin key. */
    setenv("SEAM_METRICS_TEST_ADMIN", "s3cret-admin", 1);
    fx.cfg->auth.admin_key_env = seam_strdup("SEAM_METRICS_TEST_ADMIN");
    seam_auth_state_init(&fx.auth, fx.cfg);
    get_metrics(fx.port, NULL, rep);
    assert_int_equal(rep->status, 401);
    assert_true(rep->www_auth);
    assert_string_equal(rep->ctype, "application/json");
    get_metrics(fx.port, "Authorization: Bearer wrong", rep);
    assert_int_equal(rep->status, 401);
    assert_null(strstr(rep->body, "s3cret")); /* keys are never echoed */
    get_metrics(fx.port, "Authorization: Bearer s3cret-admin", rep);
    assert_int_equal(rep->status, 200);
    assert_non_null(strstr(rep->body, "seam_build_info{version=\"0.1.0\"} 1\n"));
    get_metrics(fx.port, "x-api-key: s3cret-admin", rep);
    assert_int_equal(rep->status, 200);

    struct event *stop = event_new(fx.base, -1, 0, on_stop, fx.base);
    event_active(stop, 0, 0);
    pthread_join(fx.thread, NULL);
    event_free(stop);
    unsetenv("SEAM_METRICS_TEST_ADMIN");
    free(rep);
    evhttp_free(fx.http);
    event_base_free(fx.base);
    seam_metrics_free(fx.m);
    seam_config_free(fx.cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters),       cmocka_unit_test(test_histograms),
        cmocka_unit_test(test_label_escaping), cmocka_unit_test(test_concurrency),
        cmocka_unit_test(test_sources),        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_promtool),       cmocka_unit_test(test_http_endpoint),
    };
    evthread_use_pthreads(); /* the HTTP test stops its loop from another thread */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
