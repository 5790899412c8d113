/*
 * `seam scan` (see cli.h). The same scanner the gateway runs, over files:
 * operators use it to check what seam would flag in their prompts and to
 * measure a detector configuration against labelled data (--jsonl writes
 * one result per input line, with byte offsets into that line's "text").
 *
 * Detected values never reach the output unless --show-values is given;
 * without it a value is shown only by its length.
 */
#include "scan/cli.h"
#include "core/buf.h"
#include "scan/scan.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Inputs larger than this are refused rather than read into memory. */
#define CLI_MAX_INPUT ((size_t)1 << 30)

static void usage(FILE *f)
{
    fprintf(f, "usage: seam scan [-c FILE] [--json] [--show-values] [FILE|-]\n"
               "       seam scan [-c FILE] --jsonl FILE|- [--show-values]\n");
}

/* Reads all of <f> into <b>. */
static seam_rc read_all(FILE *f, seam_buf *b)
{
    char chunk[65536];
    for (;;) {
        size_t n = fread(chunk, 1, sizeof chunk, f);
        seam_rc rc = seam_buf_append(b, chunk, n);
        if (rc != SEAM_OK)
            return rc;
        if (n < sizeof chunk)
            return ferror(f) ? SEAM_ERR_IO : SEAM_OK;
    }
}

/* Scores are floats; two decimals are all they mean. */
static double round2(float x)
{
    return round((double)x * 100.0) / 100.0;
}

/* The result as a JSON object: {"sensitivity", "entities": [...]}. */
static json_t *result_json(const seam_scanner *s, const seam_scan_result *r, const char *text,
                           bool show)
{
    json_t *o = json_object(), *a = json_array();
    if (!o || !a)
        goto fail;
    if (json_object_set_new(o, "sensitivity", json_string(seam_sensitivity_name(r->level))) ||
        json_object_set(o, "entities", a))
        goto fail;
    for (size_t i = 0; i < r->n; i++) {
        const seam_entity *e = &r->ents[i];
        json_t *x =
            json_pack("{s:s, s:I, s:I, s:f}", "type", seam_scan_type_name(s, e->type), "start",
                      (json_int_t)e->start, "end", (json_int_t)e->end, "score", round2(e->score));
        if (!x)
            goto fail;
        if (show) {
            /* A span of invalid UTF-8 (possible in raw input) becomes null. */
            json_t *v = json_stringn(text + e->start, e->end - e->start);
            if (json_object_set_new(x, "value", v ? v : json_null()))
                goto fail_x;
        }
        if (json_array_append_new(a, x))
            goto fail;
        continue;
    fail_x:
        json_decref(x);
        goto fail;
    }
    json_decref(a);
    return o;
fail:
    json_decref(a);
    json_decref(o);
    return NULL;
}

static int print_json(FILE *out, json_t *o)
{
    int rc = json_dumpf(o, out, JSON_COMPACT | JSON_REAL_PRECISION(4) | JSON_ENSURE_ASCII);
    fputc('\n', out);
    return rc;
}

/* Human-readable listing of one text's entities. */
static void print_text(FILE *out, const seam_scanner *s, const seam_scan_result *r,
                       const char *name, const char *text, bool show)
{
    fprintf(out, "%s: sensitivity %s, %zu %s\n", name, seam_sensitivity_name(r->level), r->n,
            r->n == 1 ? "entity" : "entities");
    for (size_t i = 0; i < r->n; i++) {
        const seam_entity *e = &r->ents[i];
        fprintf(out, "  %-18s %8zu-%-8zu score %.2f  ", seam_scan_type_name(s, e->type), e->start,
                e->end, round2(e->score));
        if (show) {
            /* One line per entity: control characters are escaped. */
            fputc('"', out);
            for (size_t k = e->start; k < e->end; k++) {
                unsigned char c = (unsigned char)text[k];
                if (c == '\n')
                    fputs("\\n", out);
                else if (c == '"' || c == '\\')
                    fprintf(out, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                    fprintf(out, "\\x%02x", c);
                else
                    fputc(c, out);
            }
            fputs("\"\n", out);
        } else {
            fprintf(out, "(masked, %zu bytes)\n", e->end - e->start);
        }
    }
}

static int scan_jsonl(const seam_scanner *s, seam_scan_scratch *sc, FILE *in, bool show, FILE *out,
                      FILE *err)
{
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;
    int bad = 0;
    seam_scan_result r;
    seam_scan_result_init(&r);
    while ((n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &je), *out_o = NULL;
        json_t *t = o ? json_object_get(o, "text") : NULL;
        const char *problem = NULL;
        if (!o)
            problem = "not JSON";
        else if (!json_is_string(t))
            problem = "no \"text\" string";
        if (!problem) {
            const char *text = json_string_value(t);
            size_t len = json_string_length(t);
            r.n = 0;
            r.level = SEAM_SENS_PUBLIC;
            if (seam_scan_text(s, sc, text, len, &r) != SEAM_OK)
                problem = "scan failed (treated as regulated)";
            else if (!(out_o = result_json(s, &r, text, show)))
                problem = "out of memory";
        }
        if (problem) {
            bad++;
            fprintf(err, "seam scan: line %zu: %s\n", lineno, problem);
            json_t *e = json_pack("{s:s, s:s, s:[]}", "error", problem, "sensitivity",
                                  seam_sensitivity_name(SEAM_SENS_REGULATED), "entities");
            if (e)
                print_json(out, e);
            json_decref(e);
        } else {
            print_json(out, out_o);
        }
        json_decref(out_o);
        json_decref(o);
    }
    seam_scan_result_free(&r);
    free(line);
    return bad ? 1 : 0;
}

int seam_scan_cli(const seam_config *cfg, int argc, char **argv, FILE *out, FILE *err)
{
    bool json = false, show = false, jsonl = false;
    const char *input = NULL;
    seam_scanner *s = NULL;
    seam_scan_scratch *sc = NULL;
    FILE *in = NULL;
    seam_buf b;
    seam_scan_result r;
    char msg[512];
    int status = 2;

    seam_buf_init(&b, CLI_MAX_INPUT);
    seam_scan_result_init(&r);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = true;
        else if (!strcmp(argv[i], "--show-values"))
            show = true;
        else if (!strcmp(argv[i], "--jsonl"))
            jsonl = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(out);
            status = 0;
            goto out;
        } else if (!input && (argv[i][0] != '-' || !strcmp(argv[i], "-")))
            input = argv[i];
        else {
            fprintf(err, "seam scan: unexpected argument '%s'\n", argv[i]);
            usage(err);
            goto out;
        }
    }
    if (jsonl && (json || !input)) {
        usage(err);
        goto out;
    }

    if (seam_scanner_new(cfg, &s, msg, sizeof msg) != SEAM_OK) {
        fprintf(err, "seam scan: %s\n", msg);
        goto out;
    }
    sc = seam_scan_scratch_new(s);
    if (!sc) {
        fprintf(err, "seam scan: out of memory\n");
        goto out;
    }
    in = stdin;
    if (input && strcmp(input, "-") && !(in = fopen(input, "rb"))) {
        fprintf(err, "seam scan: %s: %s\n", input, strerror(errno));
        goto out;
    }

    if (jsonl) {
        status = scan_jsonl(s, sc, in, show, out, err);
        goto out;
    }
    seam_rc rc = read_all(in, &b);
    if (rc != SEAM_OK) {
        fprintf(err, "seam scan: %s: %s\n", input ? input : "-",
                rc == SEAM_ERR_TOO_BIG ? "too large" : "cannot read");
        goto out;
    }
    if (seam_scan_text(s, sc, b.data ? b.data : "", b.len, &r) != SEAM_OK) {
        fprintf(err, "seam scan: the scan failed; the text counts as regulated\n");
        status = 1;
        goto out;
    }
    if (json) {
        json_t *o = result_json(s, &r, b.data, show);
        if (!o) {
            fprintf(err, "seam scan: out of memory\n");
            status = 1;
            goto out;
        }
        print_json(out, o);
        json_decref(o);
    } else {
        print_text(out, s, &r, input && strcmp(input, "-") ? input : "<stdin>", b.data, show);
    }
    status = 0;
out:
    if (in && in != stdin)
        fclose(in);
    seam_buf_free(&b);
    seam_scan_result_free(&r);
    seam_scan_scratch_free(sc);
    seam_scanner_free(s);
    return status;
}
