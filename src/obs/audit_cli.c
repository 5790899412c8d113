/*
 * `seam audit verify` and `seam audit query`: readers of the hash-chained
 * audit log that src/obs/audit.c writes.
 *
 * Verify walks every audit file in name order with the same line parser the
 * query uses, recomputing SHA-256 of each line and comparing it with the
 * "prev" of the next. Where the chain breaks says what happened:
 *   - a line that is not a valid audit line: edited into bad JSON, or cut;
 *   - a line whose prev is not the hash of the line before it: the line
 *     before was edited, or lines were removed or reordered there;
 *   - the first line of a file that does not chain to the previous file:
 *     a file is missing (the sequence numbers in the names show the gap);
 *   - a first line ever whose prev is not all zeros: the oldest lines or
 *     files are gone;
 *   - a last line without a newline: the file was truncated.
 * A hash chain cannot catch a change to its own last line, or lines cut off
 * its end, by itself: HEAD, written by the writer after each sync, names
 * the newest synced line and its hash, and verify checks that line. Someone
 * who can rewrite both the log and HEAD can forge a consistent chain, which
 * is why verify prints the head hash: recorded elsewhere, it is checked
 * later with --anchor.
 *
 * Query is a filter, not a proof: it reads lines without checking the
 * chain (run verify for that).
 */
#include "obs/audit_cli.h"
#include "config/config.h"
#include "core/alloc.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One line longer than this is not something seam wrote. */
#define VERIFY_MAX_LINE (16u << 20)

static int set_problem(seam_audit_report *rep, int status, const char *file, unsigned long line,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int set_problem(seam_audit_report *rep, int status, const char *file, unsigned long line,
                       const char *fmt, ...)
{
    va_list ap;
    rep->status = status;
    snprintf(rep->file, sizeof rep->file, "%s", file ? file : "");
    rep->line = line;
    va_start(ap, fmt);
    vsnprintf(rep->what, sizeof rep->what, fmt, ap);
    va_end(ap);
    return status;
}

void seam_audit_chain_init(seam_audit_chain *c)
{
    memset(c, 0, sizeof *c);
    memset(c->expect, '0', SEAM_AUDIT_HASH_HEX);
}

static bool all_zero(const char *h)
{
    for (int i = 0; i < SEAM_AUDIT_HASH_HEX; i++)
        if (h[i] != '0')
            return false;
    return true;
}

int seam_audit_verify_stream(FILE *f, const char *name, seam_audit_chain *c, seam_audit_report *rep)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long ln = 0;
    int status = SEAM_AUDIT_INTACT;
    char prev[SEAM_AUDIT_HASH_HEX + 1], err[160];

    errno = 0;
    while ((n = getline(&line, &cap, f)) >= 0) {
        ln++;
        size_t len = (size_t)n;
        if (len == 0 || line[len - 1] != '\n') {
            status = set_problem(rep, SEAM_AUDIT_TAMPERED, name, ln,
                                 "incomplete line (no newline at the end): the file was "
                                 "truncated or cut");
            goto out;
        }
        len--;
        if (len > VERIFY_MAX_LINE) {
            status = set_problem(rep, SEAM_AUDIT_TAMPERED, name, ln, "line longer than %u bytes",
                                 VERIFY_MAX_LINE);
            goto out;
        }
        if (seam_audit_line_parse(line, len, prev, NULL, err, sizeof err) != SEAM_OK) {
            status = set_problem(rep, SEAM_AUDIT_TAMPERED, name, ln,
                                 "not a valid audit line: %s (edited or cut)", err);
            goto out;
        }
        if (strcmp(prev, c->expect) != 0) {
            if (c->lines == 0)
                status = set_problem(
                    rep, SEAM_AUDIT_TAMPERED, name, ln,
                    all_zero(c->expect)
                        ? "the chain does not start here (prev is not 64 zeros): the oldest "
                          "lines or files were removed"
                        : "prev does not match the expected hash");
            else if (ln == 1)
                status = set_problem(rep, SEAM_AUDIT_TAMPERED, name, ln,
                                     "first line does not chain to the last line of %s: a file "
                                     "is missing between them, or that line was changed",
                                     c->last_file);
            else
                status = set_problem(rep, SEAM_AUDIT_TAMPERED, name, ln,
                                     "prev does not match the hash of line %lu: line %lu was "
                                     "edited, or lines were removed or reordered here",
                                     ln - 1, ln - 1);
            goto out;
        }
        seam_audit_hash(line, len, c->expect);
        c->lines++;
        if (c->want_file && c->want_hash && ln == c->want_line && strcmp(name, c->want_file) == 0) {
            c->want_seen = true;
            if (strcmp(c->expect, c->want_hash) != 0) {
                status = set_problem(rep, SEAM_AUDIT_TAMPERED, name, ln,
                                     "the hash of this line differs from the one recorded in "
                                     "HEAD: the line was edited");
                goto out;
            }
        }
        if (c->anchor && strcmp(c->expect, c->anchor) == 0)
            c->anchor_seen = true;
    }
    if (ferror(f)) {
        status = set_problem(rep, SEAM_AUDIT_ERROR, name, ln, "read error: %s", strerror(errno));
        goto out;
    }
    if (ln > 0) {
        snprintf(c->last_file, sizeof c->last_file, "%s", name);
        snprintf(rep->head, sizeof rep->head, "%s", c->expect);
        snprintf(rep->head_file, sizeof rep->head_file, "%s", name);
        rep->head_line = ln;
    }
out:
    free(line);
    return status;
}

/* HEAD as the writer leaves it: {"file":NAME,"line":N,"hash":HEX}. */
typedef struct head_info {
    bool present;
    char file[256];
    unsigned long line;
    char hash[SEAM_AUDIT_HASH_HEX + 1];
} head_info;

static int read_head(const char *dir, head_info *h, seam_audit_report *rep)
{
    char path[PATH_MAX];
    json_error_t je;
    memset(h, 0, sizeof *h);
    snprintf(path, sizeof path, "%s/HEAD", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return SEAM_AUDIT_INTACT;
        return set_problem(rep, SEAM_AUDIT_ERROR, "HEAD", 0, "cannot open %s: %s", path,
                           strerror(errno));
    }
    json_t *o = json_loadf(f, 0, &je);
    fclose(f);
    const char *file = o ? json_string_value(json_object_get(o, "file")) : NULL;
    const char *hash = o ? json_string_value(json_object_get(o, "hash")) : NULL;
    json_t *line = o ? json_object_get(o, "line") : NULL;
    if (!file || !hash || !json_is_integer(line) || json_integer_value(line) < 1 ||
        strlen(hash) != SEAM_AUDIT_HASH_HEX || strlen(file) >= sizeof h->file) {
        json_decref(o);
        return set_problem(rep, SEAM_AUDIT_TAMPERED, "HEAD", 0,
                           "HEAD is not {\"file\",\"line\",\"hash\"}: it was edited");
    }
    h->present = true;
    snprintf(h->file, sizeof h->file, "%s", file);
    snprintf(h->hash, sizeof h->hash, "%s", hash);
    h->line = (unsigned long)json_integer_value(line);
    json_decref(o);
    return SEAM_AUDIT_INTACT;
}

static void print_verdict(FILE *out, const char *dir, const seam_audit_report *rep)
{
    if (!out)
        return;
    if (rep->status == SEAM_AUDIT_INTACT) {
        fprintf(out, "OK: %s: %" PRIu64 " line%s in %zu file%s, hash chain intact\n", dir,
                rep->lines, rep->lines == 1 ? "" : "s", rep->files, rep->files == 1 ? "" : "s");
        if (rep->head[0]) {
            fprintf(out, "head %s (%s line %lu)\n", rep->head, rep->head_file, rep->head_line);
            if (rep->unanchored)
                fprintf(out,
                        "note: the last %" PRIu64 " line%s come after the line HEAD anchors "
                        "(seam is running, or was killed before its next sync)\n",
                        rep->unanchored, rep->unanchored == 1 ? "" : "s");
            else
                fprintf(out, "HEAD anchors the last line; record the head hash elsewhere to "
                             "check it later with --anchor\n");
        }
        if (rep->anchor_found)
            fprintf(out, "anchor found in the chain\n");
        return;
    }
    const char *tag = rep->status == SEAM_AUDIT_TAMPERED ? "TAMPERED" : "ERROR";
    if (rep->line)
        fprintf(out, "%s: %s/%s:%lu: %s\n", tag, dir, rep->file, rep->line, rep->what);
    else if (rep->file[0])
        fprintf(out, "%s: %s/%s: %s\n", tag, dir, rep->file, rep->what);
    else
        fprintf(out, "%s: %s: %s\n", tag, dir, rep->what);
    if (rep->status == SEAM_AUDIT_TAMPERED)
        fprintf(out, "%" PRIu64 " line%s verified before the problem\n", rep->lines,
                rep->lines == 1 ? "" : "s");
}

static bool is_hex_hash(const char *s)
{
    if (strlen(s) != SEAM_AUDIT_HASH_HEX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return false;
    return true;
}

int seam_audit_verify(const char *dir, const char *anchor, seam_audit_report *rep_out, FILE *out)
{
    seam_audit_report local;
    seam_audit_report *rep = rep_out ? rep_out : &local;
    seam_audit_chain c;
    head_info head;
    char **names = NULL;
    size_t n = 0;
    int status;

    memset(rep, 0, sizeof *rep);
    seam_audit_chain_init(&c);
    if (anchor && !is_hex_hash(anchor)) {
        status = set_problem(rep, SEAM_AUDIT_ERROR, NULL, 0,
                             "--anchor wants a line hash: 64 lowercase hex digits");
        goto out;
    }
    c.anchor = anchor;
    if (seam_audit__list(dir, &names, &n) != 0) {
        status = set_problem(rep, SEAM_AUDIT_ERROR, NULL, 0, "cannot read the directory: %s",
                             strerror(errno));
        goto out;
    }
    status = read_head(dir, &head, rep);
    if (status != SEAM_AUDIT_INTACT)
        goto out;
    if (head.present) {
        c.want_file = head.file;
        c.want_line = head.line;
        c.want_hash = head.hash;
    }
    unsigned long prev_seq = 0, seq = 0;
    uint64_t at_head = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        seam_audit_file_name(names[i], &seq);
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "r");
        if (!f) {
            status =
                set_problem(rep, SEAM_AUDIT_ERROR, names[i], 0, "cannot open: %s", strerror(errno));
            goto out;
        }
        uint64_t before = c.lines;
        bool seen_before = c.want_seen;
        status = seam_audit_verify_stream(f, names[i], &c, rep);
        fclose(f);
        rep->files++;
        if (!seen_before && c.want_seen)
            at_head = before + head.line;
        if (status == SEAM_AUDIT_TAMPERED && rep->line == 1 && i > 0 && seq > prev_seq + 1) {
            size_t k = strlen(rep->what);
            if (seq == prev_seq + 2)
                snprintf(rep->what + k, sizeof rep->what - k,
                         " (no file with sequence number %08lu)", prev_seq + 1);
            else
                snprintf(rep->what + k, sizeof rep->what - k,
                         " (no files with sequence numbers %08lu to %08lu)", prev_seq + 1, seq - 1);
        }
        if (status != SEAM_AUDIT_INTACT)
            goto out;
        prev_seq = seq;
    }
    if (head.present && !c.want_seen) {
        status = set_problem(rep, SEAM_AUDIT_TAMPERED, head.file, head.line,
                             "HEAD anchors this line, but the log does not have it: lines or "
                             "files were removed from the end");
        goto out;
    }
    if (!head.present && c.lines > 0) {
        status = set_problem(rep, SEAM_AUDIT_TAMPERED, "HEAD", 0,
                             "HEAD is missing, so the end of the log is not anchored (it is "
                             "written within %d ms of the first line)",
                             SEAM_AUDIT_SYNC_MS);
        goto out;
    }
    if (anchor && !c.anchor_seen) {
        status = set_problem(rep, SEAM_AUDIT_TAMPERED, NULL, 0,
                             "no line has the anchor hash %s: the chain was rewritten", anchor);
        goto out;
    }
    rep->unanchored = head.present ? c.lines - at_head : 0;
    rep->anchor_found = anchor != NULL;
    status = SEAM_AUDIT_INTACT;
out:
    rep->lines = c.lines;
    rep->status = status;
    seam_audit__free_names(names, n);
    print_verdict(out, dir, rep);
    return status;
}

/* ---- query ---- */

void seam_audit_query_init(seam_audit_query *q)
{
    memset(q, 0, sizeof *q);
    q->since_ms = INT64_MIN;
    q->until_ms = INT64_MAX;
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int seam_audit_parse_time(const char *s, int64_t now_ms, int64_t *out_ms)
{
    size_t len = strlen(s);
    /* A duration back from now: digits and one unit. */
    if (len >= 2 && strchr("smhdw", s[len - 1])) {
        int64_t v = 0;
        size_t i = 0;
        for (; i < len - 1; i++) {
            if (s[i] < '0' || s[i] > '9' || v > INT64_MAX / 10 / 1000 / 604800)
                break;
            v = v * 10 + (s[i] - '0');
        }
        if (i == len - 1) {
            static const char units[] = "smhdw";
            static const int64_t secs[] = {1, 60, 3600, 86400, 604800};
            v *= secs[strchr(units, s[len - 1]) - units] * 1000;
            *out_ms = now_ms - v;
            return 0;
        }
    }
    /* YYYY-MM-DD[(T| )hh:mm[:ss[.fff]](Z|z|+hh:mm|-hh:mm)] */
    int Y, M, D, h = 0, m = 0, sec = 0, ms = 0, off = 0;
    if (len < 10 || digits(s, 4, &Y) || s[4] != '-' || digits(s + 5, 2, &M) || s[7] != '-' ||
        digits(s + 8, 2, &D))
        return -1;
    const char *p = s + 10;
    if (*p) {
        if ((*p != 'T' && *p != 't' && *p != ' ') || strlen(p) < 6 || digits(p + 1, 2, &h) ||
            p[3] != ':' || digits(p + 4, 2, &m))
            return -1;
        p += 6;
        if (*p == ':') {
            if (digits(p + 1, 2, &sec))
                return -1;
            p += 3;
            if (*p == '.') {
                int k = 0, frac = 0;
                for (p++; *p >= '0' && *p <= '9'; p++, k++)
                    if (k < 3)
                        frac = frac * 10 + (*p - '0');
                if (k == 0)
                    return -1;
                for (; k < 3; k++)
                    frac *= 10;
                ms = frac;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int oh, om;
            if (strlen(p) != 6 || digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) ||
                oh > 23 || om > 59)
                return -1;
            off = (oh * 60 + om) * (*p == '+' ? 1 : -1);
            p += 6;
        } else {
            return -1; /* a time needs its zone: local time would be a guess */
        }
        if (*p)
            return -1;
    }
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (tm.tm_mday != D) /* 2025-02-30 normalised into March */
        return -1;
    *out_ms = ((int64_t)t - (int64_t)off * 60) * 1000 + ms;
    return 0;
}

/* Compares a field value with the text of a --where. */
static bool value_equals(json_t *v, const char *want)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        return strcmp(json_string_value(v), want) == 0;
    case JSON_INTEGER: {
        char *end;
        errno = 0;
        long long w = strtoll(want, &end, 10);
        if (!*want || *end || errno)
            return false;
        return (long long)json_integer_value(v) == w;
    }
    case JSON_REAL: {
        char *end;
        double w = strtod(want, &end);
        return *want && !*end && json_real_value(v) == w;
    }
    case JSON_TRUE:
        return strcmp(want, "true") == 0;
    case JSON_FALSE:
        return strcmp(want, "false") == 0;
    case JSON_NULL:
        return strcmp(want, "null") == 0;
    default:
        return false; /* objects and arrays are not compared */
    }
}

bool seam_audit_query_match(const seam_audit_query *q, json_t *obj)
{
    if (!json_is_object(obj))
        return false;
    if (q->since_ms != INT64_MIN || q->until_ms != INT64_MAX) {
        const char *ts = json_string_value(json_object_get(obj, "ts"));
        int64_t t;
        if (!ts || seam_audit_parse_time(ts, 0, &t) != 0 || strlen(ts) < 11)
            return false;
        if (t < q->since_ms || t >= q->until_ms)
            return false;
    }
    for (size_t i = 0; i < q->nwhere; i++) {
        json_t *v = json_object_get(obj, q->where[i].field);
        if (!v || !value_equals(v, q->where[i].value))
            return false;
    }
    return true;
}

static const char *col(json_t *obj, const char *key, char *buf, size_t n)
{
    json_t *v = json_object_get(obj, key);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return "-";
}

#define TABLE_HEAD "%-24s  %-26s  %-11s  %-8s  %-16s  %-24s  %s\n"

static void print_row(FILE *out, json_t *obj)
{
    char b[32];
    fprintf(out, TABLE_HEAD, col(obj, "ts", b, sizeof b), col(obj, "id", b, sizeof b),
            col(obj, "sensitivity", b, sizeof b), col(obj, "location", b, sizeof b),
            col(obj, "backend", b, sizeof b), col(obj, "rule", b, sizeof b),
            col(obj, "status", b, sizeof b));
}

int seam_audit_query_run(const char *dir, const seam_audit_query *q, FILE *out, FILE *err,
                         uint64_t *matched_out)
{
    char **names = NULL;
    size_t n = 0;
    uint64_t matched = 0, bad = 0;
    char *line = NULL;
    size_t cap = 0;
    int status = 0;

    if (seam_audit__list(dir, &names, &n) != 0) {
        fprintf(err, "seam audit: %s: cannot read the directory: %s\n", dir, strerror(errno));
        return SEAM_AUDIT_ERROR;
    }
    if (q->format == SEAM_AUDIT_FMT_TABLE && !q->count_only)
        fprintf(out, TABLE_HEAD, "TS", "ID", "SENSITIVITY", "LOCATION", "BACKEND", "RULE",
                "STATUS");
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(err, "seam audit: %s: %s\n", path, strerror(errno));
            status = SEAM_AUDIT_ERROR;
            goto out;
        }
        ssize_t len;
        while ((len = getline(&line, &cap, f)) >= 0) {
            char prev[SEAM_AUDIT_HASH_HEX + 1], why[160];
            json_t *obj = NULL;
            if (len == 0 || line[len - 1] != '\n' ||
                seam_audit_line_parse(line, (size_t)len - 1, prev, &obj, why, sizeof why) !=
                    SEAM_OK) {
                bad++;
                continue;
            }
            if (seam_audit_query_match(q, obj)) {
                matched++;
                if (!q->count_only && q->format == SEAM_AUDIT_FMT_JSON)
                    fwrite(line, 1, (size_t)len, out);
                else if (!q->count_only)
                    print_row(out, obj);
            }
            json_decref(obj);
        }
        fclose(f);
    }
    if (q->count_only)
        fprintf(out, "%" PRIu64 "\n", matched);
    else if (q->format == SEAM_AUDIT_FMT_TABLE)
        fprintf(out, "%" PRIu64 " matching line%s\n", matched, matched == 1 ? "" : "s");
    else
        fprintf(err, "%" PRIu64 " matching line%s\n", matched, matched == 1 ? "" : "s");
    if (bad)
        fprintf(err,
                "warning: %" PRIu64 " line%s skipped: not valid audit lines (run seam audit "
                "verify)\n",
                bad, bad == 1 ? "" : "s");
out:
    free(line);
    seam_audit__free_names(names, n);
    if (matched_out)
        *matched_out = matched;
    return status;
}

/* ---- the command line ---- */

static void cli_usage(FILE *f)
{
    fprintf(f, "usage: seam audit verify [DIR] [--anchor HASH] [-c FILE]\n"
               "       seam audit query [DIR] [--since T] [--until T] [--where FIELD=VALUE]...\n"
               "                        [--format json|table] [--count] [-c FILE]\n"
               "  DIR defaults to audit.dir of the configuration (-c FILE, default ./seam.yaml).\n"
               "  T is RFC 3339 (2025-06-01T00:00:00Z, or a date) or a duration back from now\n"
               "  (90s, 30m, 24h, 7d, 2w). verify exits 0 when intact, 1 when tampered, 2 on\n"
               "  errors.\n");
}

/* The configured audit directory, copied into <out>. */
static int dir_from_config(const char *path, bool explicit_path, char *out, size_t n, FILE *err)
{
    seam_config *cfg = NULL;
    char msg[512];
    if (!explicit_path) {
        FILE *probe = fopen(path, "r");
        if (!probe) {
            fprintf(err, "seam audit: no DIR given and no ./seam.yaml to find audit.dir in\n");
            return -1;
        }
        fclose(probe);
    }
    if (seam_config_load(path, &cfg, msg, sizeof msg) != SEAM_OK) {
        fprintf(err, "seam: %s\n", msg);
        return -1;
    }
    int rc = 0;
    if (!cfg->audit.dir || !cfg->audit.dir[0]) {
        fprintf(err, "seam audit: %s has no audit.dir; give DIR\n", path);
        rc = -1;
    } else if (snprintf(out, n, "%s", cfg->audit.dir) >= (int)n) {
        fprintf(err, "seam audit: audit.dir is too long\n");
        rc = -1;
    }
    seam_config_free(cfg);
    return rc;
}

int seam_audit_cli(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc < 1 || (strcmp(argv[0], "verify") != 0 && strcmp(argv[0], "query") != 0)) {
        if (argc >= 1 && (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help"))) {
            cli_usage(out);
            return 0;
        }
        cli_usage(err);
        return SEAM_AUDIT_ERROR;
    }
    bool verify = strcmp(argv[0], "verify") == 0;
    const char *dir = NULL, *config = "seam.yaml", *anchor = NULL;
    bool config_given = false;
    seam_audit_query q;
    int64_t now_ms = (int64_t)time(NULL) * 1000;
    seam_audit_query_init(&q);

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_val = i + 1 < argc;
        if ((!strcmp(a, "-c") || !strcmp(a, "--config")) && has_val) {
            config = argv[++i];
            config_given = true;
        } else if (verify && !strcmp(a, "--anchor") && has_val) {
            anchor = argv[++i];
        } else if (!verify && (!strcmp(a, "--since") || !strcmp(a, "--until")) && has_val) {
            int64_t *t = a[2] == 's' ? &q.since_ms : &q.until_ms;
            if (seam_audit_parse_time(argv[++i], now_ms, t) != 0) {
                fprintf(err,
                        "seam audit: %s: expected RFC 3339 (2025-06-01T00:00:00Z) or a "
                        "duration (24h, 7d), got '%s'\n",
                        a, argv[i]);
                return SEAM_AUDIT_ERROR;
            }
        } else if (!verify && !strcmp(a, "--where") && has_val) {
            const char *w = argv[++i];
            const char *eq = strchr(w, '=');
            if (!eq || eq == w || q.nwhere == SEAM_AUDIT_WHERE_MAX) {
                fprintf(err, "seam audit: --where wants FIELD=VALUE (at most %d), got '%s'\n",
                        SEAM_AUDIT_WHERE_MAX, w);
                return SEAM_AUDIT_ERROR;
            }
            /* The field name is cut out in place: argv is ours to edit. */
            argv[i][eq - w] = '\0';
            q.where[q.nwhere].field = argv[i];
            q.where[q.nwhere].value = argv[i] + (eq - w) + 1;
            q.nwhere++;
        } else if (!verify && !strcmp(a, "--format") && has_val) {
            const char *fmt = argv[++i];
            if (!strcmp(fmt, "json"))
                q.format = SEAM_AUDIT_FMT_JSON;
            else if (!strcmp(fmt, "table"))
                q.format = SEAM_AUDIT_FMT_TABLE;
            else {
                fprintf(err, "seam audit: --format is json or table, got '%s'\n", fmt);
                return SEAM_AUDIT_ERROR;
            }
        } else if (!verify && !strcmp(a, "--count")) {
            q.count_only = true;
        } else if (a[0] != '-' && !dir) {
            dir = a;
        } else {
            fprintf(err, "seam audit: unexpected argument '%s'\n", a);
            cli_usage(err);
            return SEAM_AUDIT_ERROR;
        }
    }
    char confdir[PATH_MAX];
    if (!dir) {
        if (dir_from_config(config, config_given, confdir, sizeof confdir, err) != 0)
            return SEAM_AUDIT_ERROR;
        dir = confdir;
    }
    if (verify)
        return seam_audit_verify(dir, anchor, NULL, out);
    return seam_audit_query_run(dir, &q, out, err, NULL);
}
