/*
 * The audit log: the writer's line format and hash chain, rotation and
 * resumption, every kind of tampering that verify must catch (on copies of
 * a real log, with the place it names), the query filters, concurrent
 * writers, the directory lock and the configuration section.
 */
#include "testutil.h"

#include "obs/audit.h"
#include "core/alloc.h"
#include "obs/audit_cli.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ---- */

static char *tmpdir_new(void)
{
    char *d = strdup("/tmp/seam-audit-test-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rm_rf(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[1024];
    if (!d)
        return;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Copies every file of <src> into a fresh directory. */
static char *copy_dir(const char *src)
{
    char *dst = tmpdir_new();
    DIR *d = opendir(src);
    struct dirent *de;
    assert_non_null(d);
    while ((de = readdir(d))) {
        char a[1024], b[1024];
        size_t len;
        if (de->d_name[0] == '.' || !strcmp(de->d_name, "LOCK"))
            continue;
        snprintf(a, sizeof a, "%s/%s", src, de->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, de->d_name);
        char *data = slurp(a, &len);
        spit(b, data, len);
        free(data);
    }
    closedir(d);
    return dst;
}

/* The sorted audit file names of <dir>. */
static size_t names_of(const char *dir, char ***names)
{
    size_t n = 0;
    assert_int_equal(seam_audit__list(dir, names, &n), 0);
    return n;
}

static void file_path(char *out, size_t n, const char *dir, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

/* Splits <data> into line start offsets (each line ends with '\n'). */
static size_t split_lines(const char *data, size_t len, size_t *starts, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k < max; k++) {
        starts[k] = i;
        const char *nl = memchr(data + i, '\n', len - i);
        i = nl ? (size_t)(nl - data) + 1 : len;
    }
    return k;
}

/* ---- writing ---- */

static void fill_entry(seam_audit_entry *e, int i, char *idbuf, size_t idlen)
{
    static const char *sens[] = {"public", "internal", "regulated"};
    seam_audit_entry_init(e);
    snprintf(idbuf, idlen, "seam-%020d", i);
    e->id = idbuf;
    e->ingress = "openai";
    e->path = "/v1/chat/completions";
    e->kind = "chat";
    e->declared = sens[i % 3];
    e->sensitivity = sens[i % 3];
    e->rule = i % 3 ? "sensitive-stays-local" : "default";
    e->reason = "test";
    e->pool = i % 3 == 0 && i % 2 == 0 ? "cloud" : "local";
    e->backend = i % 3 == 0 && i % 2 == 0 ? "frontier" : "local";
    e->location = i % 3 == 0 && i % 2 == 0 ? "cloud" : "local";
    e->model = "m";
    e->attempts = 1;
    e->status = 200;
    e->input_tokens = 10 + i;
    e->output_tokens = 5;
    e->ms = 1.5;
    if (i % 3 == 2) {
        e->detected = "EMAIL=2,US_SSN=1";
        e->redacted = 0;
    }
}

/* Writes entries [<from>, <to>) into <dir> through one open/close. */
static void write_log(const char *dir, uint64_t max_bytes, int from, int to)
{
    char err[256] = "";
    seam_audit *au = seam_audit_open(dir, max_bytes, err, sizeof err);
    if (!au)
        fail_msg("open: %s", err);
    for (int i = from; i < to; i++) {
        seam_audit_entry e;
        char id[64];
        fill_entry(&e, i, id, sizeof id);
        seam_audit_record(au, &e);
    }
    seam_audit_close(au);
}

static int verify(const char *dir, seam_audit_report *rep)
{
    return seam_audit_verify(dir, NULL, rep, NULL);
}

static void expect_tampered(const char *dir, const char *file, unsigned long line, const char *what)
{
    seam_audit_report rep;
    int st = verify(dir, &rep);
    if (st != SEAM_AUDIT_TAMPERED)
        fail_msg("expected TAMPERED, got %d (%s:%lu %s)", st, rep.file, rep.line, rep.what);
    assert_string_equal(rep.file, file);
    assert_int_equal(rep.line, line);
    if (what && !strstr(rep.what, what))
        fail_msg("'%s' lacks '%s'", rep.what, what);
}

static void test_line_format(void **state)
{
    char *dir = tmpdir_new();
    char err[256];
    seam_audit *au = seam_audit_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(au);
    seam_audit_entry e;
    seam_audit_entry_init(&e);
    e.ts = "2025-06-01T12:00:00.123Z";
    e.id = "seam-1";
    e.sensitivity = "regulated";
    e.detected = "EMAIL=2,US_SSN=1,bad,=3,X=";
    e.location = "local";
    e.status = 200;
    e.ms = 12.3456;
    seam_audit_record(au, &e);
    seam_audit_entry_init(&e);
    e.ts = "2025-06-01T12:00:01.000Z";
    e.path = "/v1/\xff\xfe"; /* not UTF-8: replaced, the line stays JSON */
    seam_audit_record(au, &e);
    seam_audit_close(au);

    char **names;
    size_t n = names_of(dir, &names);
    assert_int_equal(n, 1);
    char path[1024];
    size_t len;
    file_path(path, sizeof path, dir, names[0]);
    char *data = slurp(path, &len);
    const char *want1 = "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000"
                        "000000\",\"ts\":\"2025-06-01T12:00:00.123Z\",\"id\":\"seam-1\","
                        "\"sensitivity\":\"regulated\",\"detected\":{\"EMAIL\":2,\"US_SSN\":1},"
                        "\"location\":\"local\",\"status\":200,\"ms\":12.346}\n";
    assert_true(len > strlen(want1));
    assert_memory_equal(data, want1, strlen(want1));
    /* The second line carries the hash of the first. */
    char h[SEAM_AUDIT_HASH_HEX + 1];
    seam_audit_hash(data, strlen(want1) - 1, h);
    const char *l2 = data + strlen(want1);
    char prev[SEAM_AUDIT_HASH_HEX + 1];
    json_t *o = NULL;
    assert_int_equal(seam_audit_line_parse(l2, len - strlen(want1) - 1, prev, &o, err, sizeof err),
                     SEAM_OK);
    assert_string_equal(prev, h);
    assert_string_equal(json_string_value(json_object_get(o, "path")), "/v1/??");
    json_decref(o);
    free(data);
    seam_audit__free_names(names, n);

    seam_audit_report rep;
    assert_int_equal(verify(dir, &rep), SEAM_AUDIT_INTACT);
    assert_int_equal(rep.lines, 2);
    assert_int_equal(rep.unanchored, 0);
    rm_rf(dir);
    free(dir);
}

static void test_hash_known_answer(void **state)
{
    char h[SEAM_AUDIT_HASH_HEX + 1];
    seam_audit_hash("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_line_parse(void **state)
{
    char prev[SEAM_AUDIT_HASH_HEX + 1], err[160];
    const char *z = "0000000000000000000000000000000000000000000000000000000000000000";
    char ok[256], s[256];
    snprintf(ok, sizeof ok, "{\"prev\":\"%s\",\"ts\":\"x\"}", z);
    assert_int_equal(seam_audit_line_parse(ok, strlen(ok), prev, NULL, err, sizeof err), SEAM_OK);
    assert_string_equal(prev, z);
    const char *bad[] = {
        "{\"ts\":\"x\"}",
        "{\"prev\":\"00\"}",
        "{\"prev\":\"000000000000000000000000000000000000000000000000000000000000000A\"}",
        "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\",}",
        /* duplicate keys */
        ("{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\","
         "\"a\":1,\"a\":2}"),
        "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"} x",
        "{\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (seam_audit_line_parse(bad[i], strlen(bad[i]), prev, NULL, err, sizeof err) !=
            SEAM_ERR_INVALID)
            fail_msg("accepted: %s", bad[i]);
    /* An embedded NUL is not JSON. */
    memcpy(s, ok, strlen(ok) + 1);
    s[strlen(ok) - 3] = '\0';
    assert_int_equal(seam_audit_line_parse(s, strlen(ok), prev, NULL, err, sizeof err),
                     SEAM_ERR_INVALID);
    unsigned long seq;
    assert_true(seam_audit_file_name("audit-00000012-20250601T120000Z.jsonl", &seq));
    assert_int_equal(seq, 12);
    assert_false(seam_audit_file_name("audit-0000012-20250601T120000Z.jsonl", &seq));
    assert_false(seam_audit_file_name("audit-00000012-20250601T120000Z.json", &seq));
    assert_false(seam_audit_file_name("HEAD", &seq));
}

/* ---- a rotated log and every kind of tampering ---- */

#define NLINES 120

typedef struct fixture {
    char *dir;
    char **names;
    size_t nfiles;
} fixture;

static int setup_log(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->dir = tmpdir_new();
    write_log(fx->dir, 4096, 0, NLINES);
    fx->nfiles = names_of(fx->dir, &fx->names);
    *state = fx;
    return 0;
}

static int teardown_log(void **state)
{
    fixture *fx = *state;
    rm_rf(fx->dir);
    free(fx->dir);
    seam_audit__free_names(fx->names, fx->nfiles);
    free(fx);
    return 0;
}

static void test_rotation_verifies(void **state)
{
    fixture *fx = *state;
    assert_true(fx->nfiles >= 4);
    for (size_t i = 0; i < fx->nfiles; i++) {
        char p[1024];
        struct stat st;
        file_path(p, sizeof p, fx->dir, fx->names[i]);
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size <= 4096);
        unsigned long seq;
        assert_true(seam_audit_file_name(fx->names[i], &seq));
        assert_int_equal(seq, i + 1);
    }
    seam_audit_report rep;
    assert_int_equal(verify(fx->dir, &rep), SEAM_AUDIT_INTACT);
    assert_int_equal(rep.lines, NLINES);
    assert_int_equal(rep.files, fx->nfiles);
    assert_string_equal(rep.head_file, fx->names[fx->nfiles - 1]);
    assert_int_equal(rep.unanchored, 0);
    /* The head hash, recorded elsewhere, anchors a later verify. */
    seam_audit_report rep2;
    assert_int_equal(seam_audit_verify(fx->dir, rep.head, &rep2, NULL), SEAM_AUDIT_INTACT);
    assert_true(rep2.anchor_found);
    assert_int_equal(
        seam_audit_verify(fx->dir,
                          "1111111111111111111111111111111111111111111111111111111111111111", &rep2,
                          NULL),
        SEAM_AUDIT_TAMPERED);
    assert_int_equal(seam_audit_verify(fx->dir, "nothex", &rep2, NULL), SEAM_AUDIT_ERROR);

    /* The verdict printed for operators. */
    char *buf = NULL;
    size_t blen = 0;
    FILE *out = open_memstream(&buf, &blen);
    assert_int_equal(seam_audit_verify(fx->dir, NULL, NULL, out), SEAM_AUDIT_INTACT);
    fclose(out);
    assert_non_null(strstr(buf, "OK: "));
    assert_non_null(strstr(buf, "120 lines"));
    assert_non_null(strstr(buf, rep.head));
    free(buf);
}

/* Applies <edit> to file <fi> of a copy; returns the copy's directory. */
typedef void (*edit_fn)(char *data, size_t *len, size_t *starts, size_t nl);

static char *tamper(fixture *fx, size_t fi, edit_fn edit)
{
    char *cp = copy_dir(fx->dir);
    char p[1024];
    size_t len, starts[4096];
    file_path(p, sizeof p, cp, fx->names[fi]);
    char *data = slurp(p, &len);
    data = realloc(data, len + 4096);
    size_t nl = split_lines(data, len, starts, 4096);
    edit(data, &len, starts, nl);
    spit(p, data, len);
    free(data);
    return cp;
}

static void done(char *cp)
{
    rm_rf(cp);
    free(cp);
}

/* Line 5 (index 4): "status":200 -> 201, still valid JSON. */
static void edit_value(char *data, size_t *len, size_t *starts, size_t nl)
{
    char *s = strstr(data + starts[4], "\"status\":200");
    assert_true(s && (size_t)(s - data) < starts[5]);
    s[strlen("\"status\":20")] = '1';
}

static void edit_json(char *data, size_t *len, size_t *starts, size_t nl)
{
    char *s = strstr(data + starts[4], "\"status\":200");
    s[0] = '\'';
}

static void delete_line5(char *data, size_t *len, size_t *starts, size_t nl)
{
    memmove(data + starts[4], data + starts[5], *len - starts[5]);
    *len -= starts[5] - starts[4];
}

static void swap_3_4(char *data, size_t *len, size_t *starts, size_t nl)
{
    size_t a = starts[3] - starts[2], b = starts[4] - starts[3];
    char *tmp = malloc(a + b);
    memcpy(tmp, data + starts[3], b);
    memcpy(tmp + b, data + starts[2], a);
    memcpy(data + starts[2], tmp, a + b);
    free(tmp);
}

static void cut_tail(char *data, size_t *len, size_t *starts, size_t nl)
{
    *len -= 7;
}

static void drop_newline(char *data, size_t *len, size_t *starts, size_t nl)
{
    *len -= 1;
}

static void edit_last(char *data, size_t *len, size_t *starts, size_t nl)
{
    char *s = strstr(data + starts[nl - 1], "\"status\":200");
    assert_non_null(s);
    s[strlen("\"status\":20")] = '1';
}

static void delete_last(char *data, size_t *len, size_t *starts, size_t nl)
{
    *len = starts[nl - 1];
}

static void append_line(char *data, size_t *len, size_t *starts, size_t nl)
{
    /* A forged line that chains correctly: only HEAD or an anchor can tell. */
    char h[SEAM_AUDIT_HASH_HEX + 1];
    seam_audit_hash(data + starts[nl - 1], *len - starts[nl - 1] - 1, h);
    *len += (size_t)sprintf(data + *len, "{\"prev\":\"%s\",\"ts\":\"x\"}\n", h);
}

static void test_tamper_edit_value(void **state)
{
    fixture *fx = *state;
    char *cp = tamper(fx, 0, edit_value);
    expect_tampered(cp, fx->names[0], 6, "line 5 was edited");
    done(cp);
}

static void test_tamper_edit_json(void **state)
{
    fixture *fx = *state;
    char *cp = tamper(fx, 1, edit_json);
    expect_tampered(cp, fx->names[1], 5, "not a valid audit line");
    done(cp);
}

static void test_tamper_delete_line(void **state)
{
    fixture *fx = *state;
    char *cp = tamper(fx, 1, delete_line5);
    expect_tampered(cp, fx->names[1], 5, "removed");
    done(cp);
}

static void test_tamper_swap(void **state)
{
    fixture *fx = *state;
    char *cp = tamper(fx, 0, swap_3_4);
    expect_tampered(cp, fx->names[0], 3, "reordered");
    done(cp);
}

static void test_tamper_truncate(void **state)
{
    fixture *fx = *state;
    size_t last = fx->nfiles - 1, len, starts[4096];
    char p[1024];
    file_path(p, sizeof p, fx->dir, fx->names[last]);
    char *data = slurp(p, &len);
    size_t nl = split_lines(data, len, starts, 4096);
    free(data);
    char *cp = tamper(fx, last, cut_tail);
    expect_tampered(cp, fx->names[last], nl, "incomplete line");
    done(cp);
    cp = tamper(fx, last, drop_newline);
    expect_tampered(cp, fx->names[last], nl, "incomplete line");
    done(cp);
    /* A middle file cut short does not chain to the next one. */
    cp = tamper(fx, 1, delete_last);
    expect_tampered(cp, fx->names[2], 1, "does not chain");
    done(cp);
}

static void test_tamper_missing_file(void **state)
{
    fixture *fx = *state;
    char *cp = copy_dir(fx->dir);
    char p[1024];
    file_path(p, sizeof p, cp, fx->names[1]);
    assert_int_equal(unlink(p), 0);
    expect_tampered(cp, fx->names[2], 1, "no file with sequence number 00000002");
    /* The oldest file gone: the chain does not start with zeros. */
    file_path(p, sizeof p, cp, fx->names[0]);
    assert_int_equal(unlink(p), 0);
    expect_tampered(cp, fx->names[2], 1, "does not start here");
    done(cp);
    /* The newest file gone: HEAD names a line the log lacks. */
    cp = copy_dir(fx->dir);
    file_path(p, sizeof p, cp, fx->names[fx->nfiles - 1]);
    assert_int_equal(unlink(p), 0);
    seam_audit_report rep;
    assert_int_equal(verify(cp, &rep), SEAM_AUDIT_TAMPERED);
    assert_string_equal(rep.file, fx->names[fx->nfiles - 1]);
    assert_non_null(strstr(rep.what, "removed from the end"));
    done(cp);
}

static void test_tamper_last_line(void **state)
{
    fixture *fx = *state;
    size_t last = fx->nfiles - 1, len, starts[4096];
    char p[1024];
    file_path(p, sizeof p, fx->dir, fx->names[last]);
    char *data = slurp(p, &len);
    size_t nl = split_lines(data, len, starts, 4096);
    free(data);
    char *cp = tamper(fx, last, edit_last);
    expect_tampered(cp, fx->names[last], nl, "differs from the one recorded in HEAD");
    done(cp);
    cp = tamper(fx, last, delete_last);
    expect_tampered(cp, fx->names[last], nl, "removed from the end");
    done(cp);
    /* HEAD deleted: the end is not anchored. */
    cp = copy_dir(fx->dir);
    file_path(p, sizeof p, cp, "HEAD");
    assert_int_equal(unlink(p), 0);
    expect_tampered(cp, "HEAD", 0, "HEAD is missing");
    done(cp);
    /* HEAD garbled. */
    cp = copy_dir(fx->dir);
    file_path(p, sizeof p, cp, "HEAD");
    spit(p, "{\"file\":1}", 10);
    expect_tampered(cp, "HEAD", 0, "edited");
    done(cp);
    /* A forged line appended after HEAD's: intact chain, reported as
     * unanchored, and caught by an anchor taken before. */
    seam_audit_report rep;
    assert_int_equal(verify(fx->dir, &rep), SEAM_AUDIT_INTACT);
    cp = tamper(fx, last, append_line);
    seam_audit_report rep2;
    assert_int_equal(verify(cp, &rep2), SEAM_AUDIT_INTACT);
    assert_int_equal(rep2.unanchored, 1);
    assert_int_equal(seam_audit_verify(cp, rep.head, &rep2, NULL), SEAM_AUDIT_INTACT);
    done(cp);
}

static void test_verify_errors(void **state)
{
    seam_audit_report rep;
    assert_int_equal(verify("/nonexistent/seam-audit", &rep), SEAM_AUDIT_ERROR);
    char *dir = tmpdir_new();
    assert_int_equal(verify(dir, &rep), SEAM_AUDIT_INTACT); /* empty: nothing to check */
    assert_int_equal(rep.lines, 0);
    rm_rf(dir);
    free(dir);
}

/* ---- resumption, lock, concurrency ---- */

static void test_resume_chain(void **state)
{
    char *dir = tmpdir_new();
    write_log(dir, 1 << 20, 0, 10);
    write_log(dir, 1 << 20, 10, 20);
    write_log(dir, 1 << 20, 20, 20); /* a run with no lines adds no file */
    write_log(dir, 1 << 20, 20, 25);
    char **names;
    size_t n = names_of(dir, &names);
    assert_int_equal(n, 3);
    seam_audit__free_names(names, n);
    seam_audit_report rep;
    assert_int_equal(verify(dir, &rep), SEAM_AUDIT_INTACT);
    assert_int_equal(rep.lines, 25);
    assert_int_equal(rep.files, 3);
    rm_rf(dir);
    free(dir);
}

static void test_lock(void **state)
{
    char *dir = tmpdir_new();
    char err[256];
    seam_audit *a = seam_audit_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(a);
    seam_audit *b = seam_audit_open(dir, 1 << 20, err, sizeof err);
    assert_null(b);
    assert_non_null(strstr(err, "in use"));
    seam_audit_close(a);
    b = seam_audit_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(b);
    seam_audit_close(b);
    /* A file where the directory should be. */
    char p[1024];
    snprintf(p, sizeof p, "%s/file", dir);
    spit(p, "x", 1);
    assert_null(seam_audit_open(p, 1 << 20, err, sizeof err));
    assert_null(seam_audit_open("", 1 << 20, err, sizeof err));
    /* NULL handles: audit disabled. */
    seam_audit_entry e;
    seam_audit_entry_init(&e);
    seam_audit_record(NULL, &e);
    uint64_t w = 9;
    seam_audit_stats(NULL, &w, NULL, NULL);
    assert_int_equal(w, 0);
    seam_audit_close(NULL);
    rm_rf(dir);
    free(dir);
}

#define NTHREADS   4
#define PER_THREAD 2000

typedef struct thr_arg {
    seam_audit *au;
    int base;
} thr_arg;

static void *thr_main(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++) {
        seam_audit_entry e;
        char id[64];
        fill_entry(&e, a->base + i, id, sizeof id);
        seam_audit_record(a->au, &e);
    }
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    char *dir = tmpdir_new();
    char err[256];
    seam_audit *au = seam_audit_open(dir, 256 * 1024, err, sizeof err);
    assert_non_null(au);
    pthread_t t[NTHREADS];
    thr_arg args[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        args[i] = (thr_arg){au, i * PER_THREAD};
        assert_int_equal(pthread_create(&t[i], NULL, thr_main, &args[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(t[i], NULL);
    uint64_t written = 0, dropped = 0, queued = 1;
    for (int k = 0; k < 500 && queued; k++) {
        seam_audit_stats(au, NULL, NULL, &queued);
        if (queued)
            usleep(10000);
    }
    seam_audit_stats(au, &written, &dropped, &queued);
    assert_int_equal(queued, 0);
    assert_int_equal(dropped, 0);
    assert_int_equal(written, NTHREADS * PER_THREAD);
    seam_audit_close(au);
    seam_audit_report rep;
    assert_int_equal(verify(dir, &rep), SEAM_AUDIT_INTACT);
    assert_int_equal(rep.lines, NTHREADS * PER_THREAD);
    /* Every id exactly once. */
    seam_audit_query q;
    seam_audit_query_init(&q);
    q.count_only = true;
    uint64_t m = 0;
    FILE *null = fopen("/dev/null", "w");
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, NTHREADS * PER_THREAD);
    char id[64];
    snprintf(id, sizeof id, "seam-%020d", 3 * PER_THREAD + 17);
    q.where[0].field = "id";
    q.where[0].value = id;
    q.nwhere = 1;
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, 1);
    fclose(null);
    rm_rf(dir);
    free(dir);
}

/* Stats while open, after a quiet period: everything written, and HEAD
 * follows within the sync window without a close. */
static void test_stats_and_live_head(void **state)
{
    char *dir = tmpdir_new();
    char err[256];
    seam_audit *au = seam_audit_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(au);
    for (int i = 0; i < 50; i++) {
        seam_audit_entry e;
        char id[64];
        fill_entry(&e, i, id, sizeof id);
        seam_audit_record(au, &e);
    }
    uint64_t written = 0, dropped = 0, queued = 0;
    for (int k = 0; k < 200 && written < 50; k++) {
        usleep(10000);
        seam_audit_stats(au, &written, &dropped, &queued);
    }
    assert_int_equal(written, 50);
    assert_int_equal(dropped, 0);
    assert_int_equal(queued, 0);
    usleep((SEAM_AUDIT_SYNC_MS + 300) * 1000);
    seam_audit_report rep;
    assert_int_equal(verify(dir, &rep), SEAM_AUDIT_INTACT);
    assert_int_equal(rep.lines, 50);
    assert_int_equal(rep.unanchored, 0);
    seam_audit_close(au);
    rm_rf(dir);
    free(dir);
}

/* Every allocation failing in turn: open fails cleanly or lines are
 * dropped, and whatever reached the file still verifies. */
static void test_alloc_failures(void **state)
{
    for (long n = 0; n < 40; n++) {
        char *dir = tmpdir_new();
        char err[256];
        seam_alloc_fail_after(n);
        seam_audit *au = seam_audit_open(dir, 1 << 20, err, sizeof err);
        for (int i = 0; au && i < 5; i++) {
            seam_audit_entry e;
            char id[64];
            fill_entry(&e, i, id, sizeof id);
            seam_audit_record(au, &e);
        }
        seam_audit_close(au);
        seam_alloc_fail_after(-1);
        seam_audit_report rep;
        int st = verify(dir, &rep);
        if (st != SEAM_AUDIT_INTACT)
            fail_msg("after failing allocation %ld: %d %s:%lu %s", n, st, rep.file, rep.line,
                     rep.what);
        assert_true(rep.lines <= 5);
        rm_rf(dir);
        free(dir);
    }
}

/* ---- query ---- */

static void test_parse_time(void **state)
{
    int64_t t;
    assert_int_equal(seam_audit_parse_time("2025-06-01T12:00:00Z", 0, &t), 0);
    assert_int_equal(t, 1748779200000LL);
    assert_int_equal(seam_audit_parse_time("2025-06-01T12:00:00.123Z", 0, &t), 0);
    assert_int_equal(t, 1748779200123LL);
    assert_int_equal(seam_audit_parse_time("2025-06-01T14:00:00.5+02:00", 0, &t), 0);
    assert_int_equal(t, 1748779200500LL);
    assert_int_equal(seam_audit_parse_time("2025-06-01", 0, &t), 0);
    assert_int_equal(t, 1748736000000LL);
    assert_int_equal(seam_audit_parse_time("24h", 100000000000LL, &t), 0);
    assert_int_equal(t, 100000000000LL - 86400000LL);
    assert_int_equal(seam_audit_parse_time("7d", 1000000000000LL, &t), 0);
    assert_int_equal(t, 1000000000000LL - 7 * 86400000LL);
    assert_int_equal(seam_audit_parse_time("90s", 100000, &t), 0);
    assert_int_equal(t, 10000);
    const char *bad[] = {"",
                         "h",
                         "24x",
                         "2025-13-01",
                         "2025-02-30",
                         "2025-06-01T12:00:00",
                         "2025-06-01T12:00Zx",
                         "yesterday",
                         "99999999999999999999d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (seam_audit_parse_time(bad[i], 0, &t) == 0)
            fail_msg("accepted '%s'", bad[i]);
}

static void test_query(void **state)
{
    char *dir = tmpdir_new();
    char err[256];
    seam_audit *au = seam_audit_open(dir, 1 << 20, err, sizeof err);
    assert_non_null(au);
    /* 30 requests over 30 hours; every third regulated, none of those
     * in the cloud; public ones alternate between local and cloud. */
    int regulated = 0, cloud = 0;
    for (int i = 0; i < 30; i++) {
        seam_audit_entry e;
        char id[64], ts[64];
        fill_entry(&e, i, id, sizeof id);
        snprintf(ts, sizeof ts, "2025-06-0%dT%02d:00:00.000Z", 1 + i / 24, i % 24);
        e.ts = ts;
        regulated += !strcmp(e.sensitivity, "regulated");
        cloud += !strcmp(e.location, "cloud");
        seam_audit_record(au, &e);
    }
    seam_audit_close(au);
    assert_int_equal(regulated, 10);
    assert_int_equal(cloud, 5);

    FILE *null = fopen("/dev/null", "w");
    seam_audit_query q;
    uint64_t m;
    seam_audit_query_init(&q);
    q.where[0].field = "sensitivity";
    q.where[0].value = "regulated";
    q.where[1].field = "location";
    q.where[1].value = "cloud";
    q.nwhere = 2;
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, 0); /* the compliance question */
    q.nwhere = 1;
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, 10);
    q.where[0].field = "location";
    q.where[0].value = "cloud";
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, 5);
    /* Numbers compare as numbers. */
    q.where[0].field = "input_tokens";
    q.where[0].value = "15";
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, 1);
    q.where[0].value = "15x";
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, 0);
    q.where[0].field = "nosuchfield";
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, 0);
    /* Time window: [2025-06-01T10:00Z, 2025-06-02T00:00Z) holds hours 10..23. */
    q.nwhere = 0;
    assert_int_equal(seam_audit_parse_time("2025-06-01T10:00:00Z", 0, &q.since_ms), 0);
    assert_int_equal(seam_audit_parse_time("2025-06-02", 0, &q.until_ms), 0);
    assert_int_equal(seam_audit_query_run(dir, &q, null, null, &m), 0);
    assert_int_equal(m, 14);
    fclose(null);

    /* Output: raw lines (verifiable as they are), a table, or the count. */
    char *buf = NULL;
    size_t blen = 0;
    FILE *out = open_memstream(&buf, &blen);
    FILE *errf = fopen("/dev/null", "w");
    seam_audit_query_init(&q);
    q.where[0].field = "id";
    q.where[0].value = "seam-00000000000000000004";
    q.nwhere = 1;
    assert_int_equal(seam_audit_query_run(dir, &q, out, errf, &m), 0);
    fflush(out);
    assert_int_equal(m, 1);
    assert_true(blen > 0 && buf[blen - 1] == '\n');
    assert_memory_equal(buf, "{\"prev\":\"", 9);
    assert_non_null(strstr(buf, "\"id\":\"seam-00000000000000000004\""));
    fclose(out);
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &blen);
    q.format = SEAM_AUDIT_FMT_TABLE;
    assert_int_equal(seam_audit_query_run(dir, &q, out, errf, &m), 0);
    fclose(out);
    assert_non_null(strstr(buf, "SENSITIVITY"));
    assert_non_null(strstr(buf, "seam-00000000000000000004"));
    assert_non_null(strstr(buf, "1 matching line\n"));
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &blen);
    q.count_only = true;
    q.nwhere = 0;
    assert_int_equal(seam_audit_query_run(dir, &q, out, errf, &m), 0);
    fclose(out);
    assert_string_equal(buf, "30\n");
    free(buf);
    fclose(errf);

    /* A bad line is skipped and reported, not counted. */
    char **names;
    size_t n = names_of(dir, &names);
    char p[1024];
    file_path(p, sizeof p, dir, names[0]);
    FILE *f = fopen(p, "a");
    fputs("garbage\n", f);
    fclose(f);
    seam_audit__free_names(names, n);
    buf = NULL;
    errf = open_memstream(&buf, &blen);
    out = fopen("/dev/null", "w");
    assert_int_equal(seam_audit_query_run(dir, &q, out, errf, &m), 0);
    fclose(out);
    fclose(errf);
    assert_int_equal(m, 30);
    assert_non_null(strstr(buf, "1 line skipped"));
    free(buf);
    rm_rf(dir);
    free(dir);
}

static void test_cli(void **state)
{
    char *dir = tmpdir_new();
    write_log(dir, 1 << 20, 0, 12);
    FILE *null = fopen("/dev/null", "w");
    char a0[] = "verify", a1[256], w1[] = "sensitivity=regulated", w2[] = "location=cloud";
    snprintf(a1, sizeof a1, "%s", dir);
    char *v[] = {a0, a1};
    assert_int_equal(seam_audit_cli(2, v, null, null), 0);
    char q0[] = "query", o1[] = "--where", o2[] = "--where", o3[] = "--count", o4[] = "--since",
         o5[] = "7d";
    char *q[] = {q0, a1, o1, w1, o2, w2, o3, o4, o5};
    assert_int_equal(seam_audit_cli(9, q, null, null), 0);
    char bad0[] = "query", bad1[] = "--where", bad2[] = "nofield";
    char *b[] = {bad0, a1, bad1, bad2};
    assert_int_equal(seam_audit_cli(4, b, null, null), SEAM_AUDIT_ERROR);
    char t0[] = "query", t1[] = "--since", t2[] = "soon";
    char *t[] = {t0, a1, t1, t2};
    assert_int_equal(seam_audit_cli(4, t, null, null), SEAM_AUDIT_ERROR);
    char u0[] = "frobnicate";
    char *u[] = {u0};
    assert_int_equal(seam_audit_cli(1, u, null, null), SEAM_AUDIT_ERROR);
    /* No DIR: audit.dir of the configuration. */
    char yaml[2048], cpath[1024];
    snprintf(yaml, sizeof yaml, "%saudit:\n  dir: %s\n", reference_yaml, dir);
    snprintf(cpath, sizeof cpath, "%s.yaml", dir);
    spit(cpath, yaml, strlen(yaml));
    char c0[] = "verify", c1[] = "-c";
    char *c[] = {c0, c1, cpath};
    assert_int_equal(seam_audit_cli(3, c, null, null), 0);
    unlink(cpath);
    fclose(null);
    rm_rf(dir);
    free(dir);
}

/* ---- configuration ---- */

static void test_config(void **state)
{
    seam_config *cfg = load_yaml(reference_yaml);
    assert_null(cfg->audit.dir);
    assert_int_equal(cfg->audit.max_bytes, 67108864);
    seam_config_free(cfg);

    char yaml[2048];
    snprintf(yaml, sizeof yaml, "%saudit: { dir: ./audit, max_bytes: 1048576 }\n", reference_yaml);
    cfg = load_yaml(yaml);
    assert_string_equal(cfg->audit.dir, "./audit");
    assert_int_equal(cfg->audit.max_bytes, 1048576);
    seam_config_free(cfg);

    const char *bad[][2] = {
        {"audit: { dir: ./a, max_bytes: 10 }\n", "key 'audit.max_bytes': must be at least 4096"},
        {"audit: { dri: ./a }\n", "key 'audit.dri': unknown key"},
        {"audit: ./a\n", "key 'audit': expected a mapping"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char err[512] = "";
        snprintf(yaml, sizeof yaml, "%s%s", reference_yaml, bad[i][0]);
        assert_int_equal(seam_config_parse(yaml, strlen(yaml), "t.yaml", &cfg, err, sizeof err),
                         SEAM_ERR_CONFIG);
        if (!strstr(err, bad[i][1]))
            fail_msg("'%s' lacks '%s'", err, bad[i][1]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_known_answer),
        cmocka_unit_test(test_line_parse),
        cmocka_unit_test(test_line_format),
        cmocka_unit_test_setup_teardown(test_rotation_verifies, setup_log, teardown_log),
        cmocka_unit_test_setup_teardown(test_tamper_edit_value, setup_log, teardown_log),
        cmocka_unit_test_setup_teardown(test_tamper_edit_json, setup_log, teardown_log),
        cmocka_unit_test_setup_teardown(test_tamper_delete_line, setup_log, teardown_log),
        cmocka_unit_test_setup_teardown(test_tamper_swap, setup_log, teardown_log),
        cmocka_unit_test_setup_teardown(test_tamper_truncate, setup_log, teardown_log),
        cmocka_unit_test_setup_teardown(test_tamper_missing_file, setup_log, teardown_log),
        cmocka_unit_test_setup_teardown(test_tamper_last_line, setup_log, teardown_log),
        cmocka_unit_test(test_verify_errors),
        cmocka_unit_test(test_resume_chain),
        cmocka_unit_test(test_lock),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_stats_and_live_head),
        cmocka_unit_test(test_alloc_failures),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_query),
        cmocka_unit_test(test_cli),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
