/*
 * The usage ledger: schema creation and checks, exact row values (NULLs,
 * the detected JSON, cut strings), every row of four concurrent writers
 * committed by close, reopening appends, drops when the queue is full, the
 * batch window and the half-full flush, duplicate ids, and the cloud spend
 * sum budgets read at startup, and the in-place migration of a version 1
 * file. Rows are read back through SQLite directly,
 * independently of the writer.
 */
#include "testutil.h"

#include "ledger/ledger.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* ---- fixtures ---- */

typedef struct {
    char dir[64];
    char path[128];
} tmpdb;

static void tmpdb_init(tmpdb *t)
{
    snprintf(t->dir, sizeof t->dir, "/tmp/seam-ledger-test-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/seam.db", t->dir);
}

static void tmpdb_free(tmpdb *t)
{
    char p[192];
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, sfx[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

static seam_ledger *open_ok(const char *path, uint64_t batch_ms)
{
    char err[512] = "";
    seam_ledger *l = seam_ledger_open(path, batch_ms, err, sizeof err);
    if (!l)
        print_error("open failed: %s\n", err);
    assert_non_null(l);
    return l;
}

static sqlite3 *db_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    return db;
}

/* The first column of the first row of <sql> as an integer. */
static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        print_error("prepare %s: %s\n", sql, sqlite3_errmsg(db));
    assert_non_null(st);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static long long count_rows(const char *path)
{
    sqlite3 *db = db_open(path);
    long long n = q_int(db, "SELECT count(*) FROM requests");
    sqlite3_close(db);
    return n;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A full record; strings point at <idbuf>. */
static seam_request_record full_record(const char *id, int64_t ts)
{
    seam_request_record r = {
        .ts_ms = ts,
        .id = id,
        .tenant = "finance",
        .key_name = "billing-app",
        .ingress = "openai",
        .kind = "chat",
        .declared = "internal",
        .sensitivity = "regulated",
        .detected = "EMAIL=2,US_SSN=1",
        .rule = "sensitive-stays-local",
        .reason = "rule",
        .pool = "local",
        .backend = "gemma-local",
        .backend_index = 0,
        .location = "local",
        .model = "gemma4:31b",
        .fallback_from = "other-local",
        .error = NULL,
        .status = 200,
        .attempts = 2,
        .stream = true,
        .input_tokens = 120,
        .output_tokens = 45,
        .reasoning_tokens = 7,
        .cached_tokens = 30,
        .cost_usd = 0.00125,
        .counterfactual_usd = 0.0031,
        .ms_total = 812.5,
        .ms_ttft = 95.25,
        .ms_gateway = 1.75,
        .complexity = "high",
        .tokens_est = 70123,
        .set_applied = "reasoning=off",
    };
    return r;
}

/* ---- schema ---- */

static void test_open_creates_schema(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    seam_ledger *l = open_ok(t.path, 200);
    assert_string_equal(seam_ledger_path(l), t.path);
    seam_ledger_close(l);

    sqlite3 *db = db_open(t.path);
    assert_int_equal(q_int(db, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name "
                               "IN ('requests_ts', 'requests_tenant_ts')"),
                     2);
    /* Every column of the documented schema, in order. */
    static const char *cols[] = {"id",
                                 "ts_ms",
                                 "tenant",
                                 "key_name",
                                 "ingress",
                                 "kind",
                                 "declared",
                                 "sensitivity",
                                 "detected",
                                 "rule",
                                 "reason",
                                 "pool",
                                 "backend",
                                 "location",
                                 "model",
                                 "attempts",
                                 "fallback_from",
                                 "status",
                                 "error",
                                 "stream",
                                 "input_tokens",
                                 "output_tokens",
                                 "reasoning_tokens",
                                 "cached_tokens",
                                 "cost_usd",
                                 "counterfactual_usd",
                                 "ms_total",
                                 "ms_ttft",
                                 "ms_gateway",
                                 "complexity",
                                 "tokens_est",
                                 "set_applied"};
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA table_info(requests)", -1, &st, NULL),
                     SQLITE_OK);
    size_t i = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_true(i < sizeof cols / sizeof *cols);
        assert_string_equal((const char *)sqlite3_column_text(st, 1), cols[i]);
        i++;
    }
    sqlite3_finalize(st);
    assert_int_equal(i, sizeof cols / sizeof *cols);
    /* WAL is a property of the file: a fresh connection sees it. */
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
    tmpdb_free(&t);
}

static void expect_open_error(const char *path, const char *needle)
{
    char err[512] = "";
    seam_ledger *l = seam_ledger_open(path, 200, err, sizeof err);
    assert_null(l);
    if (!strstr(err, needle))
        print_error("error '%s' does not mention '%s'\n", err, needle);
    assert_non_null(strstr(err, needle));
}

static void test_open_refuses_other_files(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    expect_open_error("", "no file");
    expect_open_error(NULL, "no file");

    /* Another schema version. */
    seam_ledger_close(open_ok(t.path, 0));
    sqlite3 *db = db_open(t.path);
    assert_int_equal(
        sqlite3_exec(db, "UPDATE meta SET value = '3' WHERE key = 'schema_version'", 0, 0, 0),
        SQLITE_OK);
    sqlite3_close(db);
    expect_open_error(t.path, "schema_version 3");
    tmpdb_free(&t);

    /* Some other database. */
    tmpdb_init(&t);
    db = NULL;
    assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE requests(x)", 0, 0, 0), SQLITE_OK);
    sqlite3_close(db);
    expect_open_error(t.path, "not a seam ledger");
    tmpdb_free(&t);

    /* Not a database at all. */
    tmpdb_init(&t);
    FILE *f = fopen(t.path, "w");
    assert_non_null(f);
    for (int i = 0; i < 100; i++)
        fputs("this is not an SQLite database, just text\n", f);
    fclose(f);
    expect_open_error(t.path, t.path);
    tmpdb_free(&t);

    /* A directory that does not exist. */
    expect_open_error("/nonexistent-seam-dir/x/seam.db", "cannot open");
}

/* A version 1 file, as seam 0.x wrote it, gains the three decision columns
 * in place; its rows keep NULLs there and new rows fill them. */
static void test_migrates_version_1(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(t.path, &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                     "INSERT INTO meta VALUES('schema_version', '1');"
                     "CREATE TABLE requests("
                     " id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, tenant TEXT, key_name TEXT,"
                     " ingress TEXT, kind TEXT, declared TEXT, sensitivity TEXT, detected TEXT,"
                     " rule TEXT, reason TEXT, pool TEXT, backend TEXT, location TEXT, model TEXT,"
                     " attempts INTEGER, fallback_from TEXT, status INTEGER, error TEXT,"
                     " stream INTEGER, input_tokens INTEGER, output_tokens INTEGER,"
                     " reasoning_tokens INTEGER, cached_tokens INTEGER, cost_usd REAL,"
                     " counterfactual_usd REAL, ms_total REAL, ms_ttft REAL, ms_gateway REAL);"
                     "CREATE INDEX requests_ts ON requests(ts_ms);"
                     "CREATE INDEX requests_tenant_ts ON requests(tenant, ts_ms);"
                     "INSERT INTO requests(id, ts_ms, sensitivity, status)"
                     " VALUES('seam-old', 1000, 'public', 200);",
                     0, 0, 0),
        SQLITE_OK);
    sqlite3_close(db);

    seam_ledger *l = open_ok(t.path, 0);
    seam_request_record r = full_record("seam-new", 2000);
    seam_ledger_record(l, &r);
    seam_ledger_close(l);
    /* Opening a migrated file again changes nothing. */
    seam_ledger_close(open_ok(t.path, 0));

    db = db_open(t.path);
    assert_int_equal(q_int(db, "SELECT value FROM meta WHERE key = 'schema_version'"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM requests"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM requests WHERE id = 'seam-old' AND"
                               " complexity IS NULL AND tokens_est IS NULL AND"
                               " set_applied IS NULL AND status = 200"),
                     1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM requests WHERE id = 'seam-new' AND"
                               " complexity = 'high' AND tokens_est = 70123 AND"
                               " set_applied = 'reasoning=off'"),
                     1);
    sqlite3_close(db);
    tmpdb_free(&t);
}

/* ---- values ---- */

static void test_row_values(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    seam_ledger *l = open_ok(t.path, 0);
    char id[32];
    snprintf(id, sizeof id, "seam-full");
    seam_request_record r = full_record(id, 1741996800123LL);
    seam_ledger_record(l, &r);
    /* The strings may go away as soon as the call returns. */
    memset(id, 'X', sizeof id - 1);

    seam_request_record n = {
        .ts_ms = 1741996800999LL,
        .id = "seam-nulls",
        .sensitivity = "public",
        .status = 502,
        .error = "upstream_error",
        .backend_index = -1,
        .input_tokens = -1,
        .output_tokens = -1,
        .reasoning_tokens = -1,
        .cached_tokens = -1,
        .cost_usd = 0,
        .counterfactual_usd = -1,
        .ms_total = 3.5,
        .ms_ttft = -1,
        .ms_gateway = NAN,
        .detected = "",
        .tokens_est = -1,
    };
    seam_ledger_record(l, &n);

    /* A client-chosen model name longer than the cap, with a 2-byte
     * character straddling it: cut before that character. */
    char model[SEAM_LEDGER_FIELD_MAX + 64];
    memset(model, 'm', sizeof model);
    model[SEAM_LEDGER_FIELD_MAX - 1] = (char)0xC3;
    model[SEAM_LEDGER_FIELD_MAX] = (char)0xA9;
    model[sizeof model - 1] = '\0';
    seam_request_record c = n;
    c.id = "seam-cut";
    c.model = model;
    c.detected = "EMAIL=3,broken,=4,X=,PHONE=1";
    seam_ledger_record(l, &c);
    seam_ledger_close(l);

    sqlite3 *db = db_open(t.path);
    sqlite3_stmt *st = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db,
                           "SELECT id, ts_ms, tenant, key_name, ingress, kind, declared,"
                           " sensitivity, detected, rule, reason, pool, backend, location, model,"
                           " attempts, fallback_from, status, error, stream, input_tokens,"
                           " output_tokens, reasoning_tokens, cached_tokens, cost_usd,"
                           " counterfactual_usd, ms_total, ms_ttft, ms_gateway, complexity,"
                           " tokens_est, set_applied FROM requests ORDER BY ts_ms, id",
                           -1, &st, NULL),
        SQLITE_OK);
#define TXT(i)    ((const char *)sqlite3_column_text(st, i))
#define ISNULL(i) assert_int_equal(sqlite3_column_type(st, i), SQLITE_NULL)
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal(TXT(0), "seam-full");
    assert_int_equal(sqlite3_column_int64(st, 1), 1741996800123LL);
    assert_string_equal(TXT(2), "finance");
    assert_string_equal(TXT(3), "billing-app");
    assert_string_equal(TXT(4), "openai");
    assert_string_equal(TXT(5), "chat");
    assert_string_equal(TXT(6), "internal");
    assert_string_equal(TXT(7), "regulated");
    assert_string_equal(TXT(8), "{\"EMAIL\":2,\"US_SSN\":1}");
    assert_string_equal(TXT(9), "sensitive-stays-local");
    assert_string_equal(TXT(10), "rule");
    assert_string_equal(TXT(11), "local");
    assert_string_equal(TXT(12), "gemma-local");
    assert_string_equal(TXT(13), "local");
    assert_string_equal(TXT(14), "gemma4:31b");
    assert_int_equal(sqlite3_column_int(st, 15), 2);
    assert_string_equal(TXT(16), "other-local");
    assert_int_equal(sqlite3_column_int(st, 17), 200);
    ISNULL(18);
    assert_int_equal(sqlite3_column_int(st, 19), 1);
    assert_int_equal(sqlite3_column_int64(st, 20), 120);
    assert_int_equal(sqlite3_column_int64(st, 21), 45);
    assert_int_equal(sqlite3_column_int64(st, 22), 7);
    assert_int_equal(sqlite3_column_int64(st, 23), 30);
    assert_true(sqlite3_column_double(st, 24) == 0.00125);
    assert_true(sqlite3_column_double(st, 25) == 0.0031);
    assert_true(sqlite3_column_double(st, 26) == 812.5);
    assert_true(sqlite3_column_double(st, 27) == 95.25);
    assert_true(sqlite3_column_double(st, 28) == 1.75);
    assert_string_equal(TXT(29), "high");
    assert_int_equal(sqlite3_column_int64(st, 30), 70123);
    assert_string_equal(TXT(31), "reasoning=off");

    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal(TXT(0), "seam-cut");
    assert_int_equal(strlen(TXT(14)), SEAM_LEDGER_FIELD_MAX - 1);
    assert_string_equal(TXT(8), "{\"EMAIL\":3,\"PHONE\":1}");

    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal(TXT(0), "seam-nulls");
    for (int i = 2; i <= 6; i++)
        ISNULL(i);
    assert_string_equal(TXT(7), "public");
    for (int i = 8; i <= 14; i++)
        ISNULL(i); /* detected "" is NULL too */
    assert_int_equal(sqlite3_column_int(st, 15), 0);
    ISNULL(16);
    assert_int_equal(sqlite3_column_int(st, 17), 502);
    assert_string_equal(TXT(18), "upstream_error");
    assert_int_equal(sqlite3_column_int(st, 19), 0);
    for (int i = 20; i <= 23; i++)
        ISNULL(i);
    assert_int_equal(sqlite3_column_type(st, 24), SQLITE_FLOAT);
    assert_true(sqlite3_column_double(st, 24) == 0);
    ISNULL(25);
    assert_true(sqlite3_column_double(st, 26) == 3.5);
    ISNULL(27);
    ISNULL(28);
    ISNULL(29);
    ISNULL(30); /* tokens_est -1: no estimate */
    ISNULL(31);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
#undef TXT
#undef ISNULL
    sqlite3_finalize(st);
    sqlite3_close(db);
    tmpdb_free(&t);
}

/* ---- concurrency and counts ---- */

#define THREADS     4
#define PER_THREAD  5000
#define THREAD_BASE 1700000000000LL

typedef struct {
    seam_ledger *l;
    int t;
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++) {
        char id[48], tenant[16];
        snprintf(id, sizeof id, "seam-t%d-%05d", a->t, i);
        snprintf(tenant, sizeof tenant, "tenant-%d", i % 7);
        seam_request_record r = full_record(id, THREAD_BASE + a->t * PER_THREAD + i);
        r.tenant = tenant;
        r.stream = i % 2;
        r.input_tokens = i;
        r.output_tokens = 2 * i + a->t;
        r.reasoning_tokens = i % 3 ? i % 3 : -1;
        r.cost_usd = i * 1e-6;
        r.status = i % 10 ? 200 : 500;
        r.error = i % 10 ? NULL : "upstream_error";
        seam_ledger_record(a->l, &r);
    }
    return NULL;
}

static void test_threads_then_close_writes_every_row(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    seam_ledger *l = open_ok(t.path, 20);
    pthread_t th[THREADS];
    worker_arg args[THREADS];
    for (int i = 0; i < THREADS; i++) {
        args[i] = (worker_arg){l, i};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    uint64_t queued, written, dropped;
    seam_ledger_stats(l, &queued, &written, &dropped);
    assert_int_equal(queued + written + dropped, THREADS * PER_THREAD);
    assert_int_equal(dropped, 0);
    seam_ledger_close(l);

    sqlite3 *db = db_open(t.path);
    assert_int_equal(q_int(db, "SELECT count(*) FROM requests"), THREADS * PER_THREAD);
    /* Every row has exactly the values its thread recorded. */
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT id, ts_ms, tenant, stream, input_tokens,"
                                        " output_tokens, reasoning_tokens, cost_usd, status, error"
                                        " FROM requests",
                                        -1, &st, NULL),
                     SQLITE_OK);
    int seen[THREADS][PER_THREAD] = {{0}};
    while (sqlite3_step(st) == SQLITE_ROW) {
        int th_i = -1, i = -1;
        assert_int_equal(sscanf((const char *)sqlite3_column_text(st, 0), "seam-t%d-%d", &th_i, &i),
                         2);
        assert_true(th_i >= 0 && th_i < THREADS && i >= 0 && i < PER_THREAD);
        seen[th_i][i]++;
        char tenant[16];
        snprintf(tenant, sizeof tenant, "tenant-%d", i % 7);
        assert_int_equal(sqlite3_column_int64(st, 1), THREAD_BASE + th_i * PER_THREAD + i);
        assert_string_equal((const char *)sqlite3_column_text(st, 2), tenant);
        assert_int_equal(sqlite3_column_int(st, 3), i % 2);
        assert_int_equal(sqlite3_column_int64(st, 4), i);
        assert_int_equal(sqlite3_column_int64(st, 5), 2 * i + th_i);
        if (i % 3)
            assert_int_equal(sqlite3_column_int64(st, 6), i % 3);
        else
            assert_int_equal(sqlite3_column_type(st, 6), SQLITE_NULL);
        assert_true(sqlite3_column_double(st, 7) == i * 1e-6);
        assert_int_equal(sqlite3_column_int(st, 8), i % 10 ? 200 : 500);
        assert_int_equal(sqlite3_column_type(st, 9), i % 10 ? SQLITE_NULL : SQLITE_TEXT);
    }
    sqlite3_finalize(st);
    for (int a = 0; a < THREADS; a++)
        for (int i = 0; i < PER_THREAD; i++)
            assert_int_equal(seen[a][i], 1);
    sqlite3_close(db);
    tmpdb_free(&t);
}

static void record_n(seam_ledger *l, const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char id[48];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        seam_request_record r = full_record(id, 1000 + i);
        seam_ledger_record(l, &r);
    }
}

static void test_reopen_appends(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    seam_ledger *l = open_ok(t.path, 200);
    record_n(l, "first", 10);
    seam_ledger_close(l);
    assert_int_equal(count_rows(t.path), 10);
    l = open_ok(t.path, 200);
    record_n(l, "second", 15);
    seam_ledger_close(l);
    assert_int_equal(count_rows(t.path), 25);
    tmpdb_free(&t);
}

static void test_duplicate_id_dropped_alone(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    seam_ledger *l = open_ok(t.path, 0);
    record_n(l, "a", 3);
    record_n(l, "a", 1); /* "a-0" again */
    record_n(l, "b", 2);
    uint64_t queued = 1, written = 0, dropped = 0;
    for (int i = 0; i < 300 && queued; i++) {
        usleep(10 * 1000);
        seam_ledger_stats(l, &queued, &written, &dropped);
    }
    assert_int_equal(queued, 0);
    assert_int_equal(written, 5);
    assert_int_equal(dropped, 1);
    seam_ledger_close(l);
    assert_int_equal(count_rows(t.path), 5);
    tmpdb_free(&t);
}

/* A full queue drops and counts. The writer is held up deterministically:
 * another connection holds the write lock, so the writer's BEGIN waits
 * (busy timeout) while the test fills the queue. */
static void test_full_queue_drops_and_counts(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    char err[512] = "";
    seam_ledger *l = seam_ledger__open_sized(t.path, 0, 4, err, sizeof err);
    assert_non_null(l);
    sqlite3 *blocker = db_open(t.path);
    assert_int_equal(sqlite3_exec(blocker, "BEGIN IMMEDIATE", 0, 0, 0), SQLITE_OK);
    record_n(l, "x", 1);
    usleep(50 * 1000); /* the writer takes it and waits on the lock */
    record_n(l, "y", 100);
    uint64_t queued, written, dropped;
    seam_ledger_stats(l, &queued, &written, &dropped);
    assert_int_equal(written, 0);
    assert_true(queued <= 5);
    assert_true(dropped >= 96);
    assert_int_equal(queued + dropped, 101);

    assert_int_equal(sqlite3_exec(blocker, "COMMIT", 0, 0, 0), SQLITE_OK);
    sqlite3_close(blocker);
    for (int i = 0; i < 200; i++) {
        seam_ledger_stats(l, &queued, &written, &dropped);
        if (queued == 0)
            break;
        usleep(10 * 1000);
    }
    assert_int_equal(queued, 0);
    assert_int_equal(written + dropped, 101);
    seam_ledger_close(l);
    assert_int_equal(count_rows(t.path), (long long)written);
    tmpdb_free(&t);
}

/* ---- the batch window ---- */

static void test_rows_appear_within_the_batch_window(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    seam_ledger *l = open_ok(t.path, 300);
    double t0 = now_s();
    record_n(l, "w", 3);
    usleep(50 * 1000);
    assert_int_equal(count_rows(t.path), 0); /* still inside the window */
    double seen = -1;
    while (now_s() - t0 < 3) {
        if (count_rows(t.path) == 3) {
            seen = now_s() - t0;
            break;
        }
        usleep(10 * 1000);
    }
    assert_true(seen >= 0.25);
    assert_true(seen < 1.5);
    uint64_t queued, written, dropped;
    seam_ledger_stats(l, &queued, &written, &dropped);
    assert_int_equal(queued, 0);
    assert_int_equal(written, 3);
    assert_int_equal(dropped, 0);
    seam_ledger_close(l);
    tmpdb_free(&t);
}

/* Half a queue is written at once, whatever the window. */
static void test_half_full_queue_flushes_early(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    char err[512] = "";
    seam_ledger *l = seam_ledger__open_sized(t.path, 60000, 64, err, sizeof err);
    assert_non_null(l);
    double t0 = now_s();
    record_n(l, "h", 32);
    while (now_s() - t0 < 5 && count_rows(t.path) < 32)
        usleep(10 * 1000);
    assert_int_equal(count_rows(t.path), 32);
    assert_true(now_s() - t0 < 5);
    /* And close writes a lone row at once, not after the window. */
    record_n(l, "lone", 1);
    t0 = now_s();
    seam_ledger_close(l);
    assert_true(now_s() - t0 < 5);
    assert_int_equal(count_rows(t.path), 33);
    tmpdb_free(&t);
}

/* ---- reading spend ---- */

static void test_cloud_spend(void **state)
{
    tmpdb t;
    tmpdb_init(&t);
    seam_ledger *l = open_ok(t.path, 0);
    struct {
        const char *tenant, *location;
        int64_t ts;
        double cost;
    } rows[] = {
        {"research", "cloud", 1000, 0.5},  {"research", "cloud", 2000, 0.25},
        {"research", "local", 2000, 9.0},  {"research", "cloud", 999, 4.0},
        {"finance", "cloud", 3000, 100.0}, {NULL, "cloud", 3000, 50.0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        char id[16];
        snprintf(id, sizeof id, "s%zu", i);
        seam_request_record r = full_record(id, rows[i].ts);
        r.tenant = rows[i].tenant;
        r.location = rows[i].location;
        r.cost_usd = rows[i].cost;
        seam_ledger_record(l, &r);
    }
    /* Read after the writer committed: the sum sees committed rows only. */
    for (int i = 0; i < 300 && count_rows(t.path) < 6; i++)
        usleep(10 * 1000);
    double usd = -1;
    char err[256];
    assert_int_equal(seam_ledger_cloud_spend(l, "research", 1000, &usd, err, sizeof err), 0);
    assert_true(usd == 0.75);
    assert_int_equal(seam_ledger_cloud_spend(l, "research", 0, &usd, err, sizeof err), 0);
    assert_true(usd == 4.75);
    assert_int_equal(seam_ledger_cloud_spend(l, "nobody", 0, &usd, err, sizeof err), 0);
    assert_true(usd == 0);
    assert_int_equal(seam_ledger_cloud_spend(l, "finance", 3001, &usd, err, sizeof err), 0);
    assert_true(usd == 0);
    assert_int_equal(seam_ledger_cloud_spend(NULL, "x", 0, &usd, err, sizeof err), -1);
    seam_ledger_close(l);
    tmpdb_free(&t);
}

static void test_null_ledger_is_a_noop(void **state)
{
    seam_request_record r = full_record("x", 1);
    seam_ledger_record(NULL, &r);
    uint64_t q = 9, w = 9, d = 9;
    seam_ledger_stats(NULL, &q, &w, &d);
    assert_int_equal(q + w + d, 0);
    seam_ledger_stats(NULL, NULL, NULL, NULL);
    seam_ledger_close(NULL);
    assert_null(seam_ledger_path(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_creates_schema),
        cmocka_unit_test(test_open_refuses_other_files),
        cmocka_unit_test(test_migrates_version_1),
        cmocka_unit_test(test_row_values),
        cmocka_unit_test(test_threads_then_close_writes_every_row),
        cmocka_unit_test(test_reopen_appends),
        cmocka_unit_test(test_duplicate_id_dropped_alone),
        cmocka_unit_test(test_full_queue_drops_and_counts),
        cmocka_unit_test(test_rows_appear_within_the_batch_window),
        cmocka_unit_test(test_half_full_queue_flushes_early),
        cmocka_unit_test(test_cloud_spend),
        cmocka_unit_test(test_null_ledger_is_a_noop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
