/*
 * The usage ledger writer: one SQLite row per request, inserted by one
 * thread in batched transactions.
 *
 * A worker copies the record's numbers and strings into a single
 * allocation (the record's strings live in the request's arena, which is
 * freed right after) and pushes the pointer onto a preallocated ring under
 * a mutex held only for the push. Rows are not stored inline in the ring:
 * their strings vary in size (the detected summary, model names), and slots
 * sized for the largest would make a 65536-row queue tens of megabytes.
 *
 * The writer thread owns the database connection. It sleeps until a row
 * arrives, then lets the batch window (batch_ms) fill, or less when the
 * queue reaches half its size, takes everything queued and inserts it with
 * one prepared statement inside one transaction. The "TYPE=N,TYPE=N"
 * detected summary becomes its JSON object text here, off the workers.
 *
 * WAL with synchronous=NORMAL: a commit appends to the WAL without fsync,
 * so it survives a process crash but not necessarily a power loss; the WAL
 * is synced at checkpoints. That is the durability the issue asks for
 * (after SIGKILL, at most the last batch window is missing) at a fraction
 * of the cost of a sync per batch.
 */
#include "ledger/ledger.h"
#include "core/jsonbuf.h"
#include "scan/classify.h"
#include "core/alloc.h"
#include "core/log.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The string fields of a row, in the order they are copied. */
enum {
    F_ID,
    F_TENANT,
    F_KEY_NAME,
    F_INGRESS,
    F_KIND,
    F_DECLARED,
    F_SENSITIVITY,
    F_DETECTED,
    F_RULE,
    F_REASON,
    F_POOL,
    F_BACKEND,
    F_LOCATION,
    F_MODEL,
    F_FALLBACK_FROM,
    F_ERROR,
    F_COMPLEXITY,
    F_SET_APPLIED,
    F__COUNT
};

/* One queued row: the record's values, its strings packed after it in the
 * same allocation (one seam_malloc, one seam_free). */
typedef struct row {
    int64_t ts_ms;
    int64_t input_tokens, output_tokens, reasoning_tokens, cached_tokens;
    int64_t tokens_est;
    double cost_usd, counterfactual_usd, ms_total, ms_ttft, ms_gateway;
    int status, attempts;
    bool stream;
    const char *s[F__COUNT]; /* NULL, or into text[] */
    char text[];
} row;

struct seam_ledger {
    char *path;
    uint64_t batch_ms;
    size_t qmax, half;

    /* The queue: the only state shared between workers and the writer. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    row **ring;
    size_t head, count;
    bool stop;
    /* queued counts rows recorded but not yet written or dropped, including
     * the batch in the writer's hands. */
    atomic_uint_fast64_t queued, written, dropped;

    /* Writer-only state from here on. */
    pthread_t thread;
    sqlite3 *db;
    sqlite3_stmt *insert;
    row **batch; /* qmax slots */
    bool warned; /* a failure was logged and not yet followed by a success */
};

static const char schema_sql[] =
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE requests("
    " id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, tenant TEXT, key_name TEXT,"
    " ingress TEXT, kind TEXT, declared TEXT, sensitivity TEXT, detected TEXT,"
    " rule TEXT, reason TEXT, pool TEXT, backend TEXT, location TEXT, model TEXT,"
    " attempts INTEGER, fallback_from TEXT, status INTEGER, error TEXT, stream INTEGER,"
    " input_tokens INTEGER, output_tokens INTEGER, reasoning_tokens INTEGER,"
    " cached_tokens INTEGER, cost_usd REAL, counterfactual_usd REAL,"
    " ms_total REAL, ms_ttft REAL, ms_gateway REAL,"
    " complexity TEXT, tokens_est INTEGER, set_applied TEXT);"
    "CREATE INDEX requests_ts ON requests(ts_ms);"
    "CREATE INDEX requests_tenant_ts ON requests(tenant, ts_ms);";

/* From schema version 1 to 2: the inputs of the decision the dashboard's
 * "why did this go there?" view shows. Rows written before have NULLs. */
static const char migrate_v1_sql[] = "ALTER TABLE requests ADD COLUMN complexity TEXT;"
                                     "ALTER TABLE requests ADD COLUMN tokens_est INTEGER;"
                                     "ALTER TABLE requests ADD COLUMN set_applied TEXT;"
                                     "UPDATE meta SET value = '2' WHERE key = 'schema_version';";

/* Column order of the insert; the bind indexes in bind_row() follow it. */
static const char insert_sql[] =
    "INSERT INTO requests(id, ts_ms, tenant, key_name, ingress, kind, declared,"
    " sensitivity, detected, rule, reason, pool, backend, location, model, attempts,"
    " fallback_from, status, error, stream, input_tokens, output_tokens,"
    " reasoning_tokens, cached_tokens, cost_usd, counterfactual_usd, ms_total, ms_ttft,"
    " ms_gateway, complexity, tokens_est, set_applied) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
    " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
    " ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)";

/* ---- the queue (any thread) ---- */

/* Length of <s> cut to SEAM_LEDGER_FIELD_MAX bytes, on a UTF-8 character
 * boundary so that the stored text stays valid. */
static size_t cut_len(const char *s)
{
    size_t n = strnlen(s, SEAM_LEDGER_FIELD_MAX);
    if (n == SEAM_LEDGER_FIELD_MAX && s[n]) {
        /* s[n] is the first byte left out: a continuation byte means the
         * character it belongs to started inside the kept part. */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return n;
}

void seam_ledger_record(seam_ledger *l, const seam_request_record *r)
{
    if (!l || !r)
        return;
    const char *src[F__COUNT] = {
        [F_ID] = r->id,
        [F_TENANT] = r->tenant,
        [F_KEY_NAME] = r->key_name,
        [F_INGRESS] = r->ingress,
        [F_KIND] = r->kind,
        [F_DECLARED] = r->declared,
        [F_SENSITIVITY] = r->sensitivity,
        [F_DETECTED] = r->detected,
        [F_RULE] = r->rule,
        [F_REASON] = r->reason,
        [F_POOL] = r->pool,
        [F_BACKEND] = r->backend,
        [F_LOCATION] = r->location,
        [F_MODEL] = r->model,
        [F_FALLBACK_FROM] = r->fallback_from,
        [F_ERROR] = r->error,
        [F_COMPLEXITY] = r->complexity,
        [F_SET_APPLIED] = r->set_applied,
    };
    size_t len[F__COUNT], total = 0;
    for (int i = 0; i < F__COUNT; i++) {
        len[i] = src[i] ? cut_len(src[i]) : 0;
        total += src[i] ? len[i] + 1 : 0;
    }
    row *w = seam_malloc(sizeof *w + total);
    if (!w) {
        atomic_fetch_add(&l->dropped, 1);
        return;
    }
    w->ts_ms = r->ts_ms;
    w->input_tokens = r->input_tokens;
    w->output_tokens = r->output_tokens;
    w->reasoning_tokens = r->reasoning_tokens;
    w->cached_tokens = r->cached_tokens;
    w->tokens_est = r->tokens_est;
    w->cost_usd = r->cost_usd;
    w->counterfactual_usd = r->counterfactual_usd;
    w->ms_total = r->ms_total;
    w->ms_ttft = r->ms_ttft;
    w->ms_gateway = r->ms_gateway;
    w->status = r->status;
    w->attempts = r->attempts;
    w->stream = r->stream;
    char *p = w->text;
    for (int i = 0; i < F__COUNT; i++) {
        if (!src[i]) {
            w->s[i] = NULL;
            continue;
        }
        memcpy(p, src[i], len[i]);
        p[len[i]] = '\0';
        w->s[i] = p;
        p += len[i] + 1;
    }

    bool pushed = false;
    pthread_mutex_lock(&l->mu);
    if (l->count < l->qmax && !l->stop) {
        l->ring[(l->head + l->count) % l->qmax] = w;
        l->count++;
        atomic_fetch_add(&l->queued, 1);
        /* The writer waits for the first row (to open the batch window)
         * and, inside the window, for the queue to reach half its size. */
        if (l->count == 1 || l->count == l->half)
            pthread_cond_signal(&l->cv);
        pushed = true;
    }
    pthread_mutex_unlock(&l->mu);
    if (!pushed) {
        seam_free(w);
        atomic_fetch_add(&l->dropped, 1);
    }
}

void seam_ledger_stats(seam_ledger *l, uint64_t *queued, uint64_t *written, uint64_t *dropped)
{
    if (queued)
        *queued = l ? atomic_load(&l->queued) : 0;
    if (written)
        *written = l ? atomic_load(&l->written) : 0;
    if (dropped)
        *dropped = l ? atomic_load(&l->dropped) : 0;
}

const char *seam_ledger_path(const seam_ledger *l)
{
    return l ? l->path : NULL;
}

/* ---- the writer thread ---- */

/* {"TYPE":N,...} for the proxy's "TYPE=N,TYPE=N" summary, as text the
 * caller frees with free() (jansson's allocator); NULL for an absent or
 * empty summary. Malformed items are skipped (the summary is seam's own). */
static char *detected_json(const char *s)
{
    if (!s || !*s)
        return NULL;
    json_t *o = seam_detection_summary_json(s);
    char *text = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Token counts below zero are unknown: NULL. */
static void bind_count(sqlite3_stmt *st, int i, int64_t v)
{
    if (v >= 0)
        sqlite3_bind_int64(st, i, v);
    else
        sqlite3_bind_null(st, i);
}

/* <none_below_zero>: a negative value means "none" (counterfactual, ttft). */
static void bind_real(sqlite3_stmt *st, int i, double v, bool none_below_zero)
{
    if (!isfinite(v) || (none_below_zero && v < 0))
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

/* Binds <w> to the insert; <detected> is its JSON text (or NULL), which
 * must outlive the step. */
static void bind_row(sqlite3_stmt *st, const row *w, const char *detected)
{
    bind_text(st, 1, w->s[F_ID]);
    sqlite3_bind_int64(st, 2, w->ts_ms);
    bind_text(st, 3, w->s[F_TENANT]);
    bind_text(st, 4, w->s[F_KEY_NAME]);
    bind_text(st, 5, w->s[F_INGRESS]);
    bind_text(st, 6, w->s[F_KIND]);
    bind_text(st, 7, w->s[F_DECLARED]);
    bind_text(st, 8, w->s[F_SENSITIVITY]);
    bind_text(st, 9, detected);
    bind_text(st, 10, w->s[F_RULE]);
    bind_text(st, 11, w->s[F_REASON]);
    bind_text(st, 12, w->s[F_POOL]);
    bind_text(st, 13, w->s[F_BACKEND]);
    bind_text(st, 14, w->s[F_LOCATION]);
    bind_text(st, 15, w->s[F_MODEL]);
    sqlite3_bind_int(st, 16, w->attempts);
    bind_text(st, 17, w->s[F_FALLBACK_FROM]);
    sqlite3_bind_int(st, 18, w->status);
    bind_text(st, 19, w->s[F_ERROR]);
    sqlite3_bind_int(st, 20, w->stream ? 1 : 0);
    bind_count(st, 21, w->input_tokens);
    bind_count(st, 22, w->output_tokens);
    bind_count(st, 23, w->reasoning_tokens);
    bind_count(st, 24, w->cached_tokens);
    bind_real(st, 25, w->cost_usd, false);
    bind_real(st, 26, w->counterfactual_usd, true);
    bind_real(st, 27, w->ms_total, false);
    bind_real(st, 28, w->ms_ttft, true);
    bind_real(st, 29, w->ms_gateway, false);
    bind_text(st, 30, w->s[F_COMPLEXITY]);
    bind_count(st, 31, w->tokens_est);
    bind_text(st, 32, w->s[F_SET_APPLIED]);
}

static void warn(seam_ledger *l, const char *what, int rc)
{
    if (l->warned)
        return;
    l->warned = true;
    seam_log_json(SEAM_LOG_ERROR,
                  json_pack("{s:s, s:s, s:s, s:s}", "msg", "ledger write failed", "what", what,
                            "file", l->path, "error", sqlite3_errstr(rc)));
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Inserts <n> rows in one transaction and frees them. A row that cannot be
 * inserted (a duplicate id) is dropped alone; a failed transaction drops
 * the whole batch. Either way the counters say so. */
static void insert_batch(seam_ledger *l, row **rows, size_t n)
{
    uint64_t ok = 0, bad = 0;
    int rc = exec(l->db, "BEGIN IMMEDIATE");
    if (rc != SQLITE_OK) {
        warn(l, "begin", rc);
        bad = n;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char *detected = detected_json(rows[i]->s[F_DETECTED]);
        bind_row(l->insert, rows[i], detected);
        rc = sqlite3_step(l->insert);
        sqlite3_reset(l->insert);
        sqlite3_clear_bindings(l->insert);
        free(detected);
        if (rc == SQLITE_DONE) {
            ok++;
        } else if ((rc & 0xff) == SQLITE_CONSTRAINT) {
            /* Only a repeated id can violate the schema; the first row
             * with that id stays. */
            warn(l, "insert", rc);
            bad++;
        } else {
            warn(l, "insert", rc);
            exec(l->db, "ROLLBACK");
            bad = n;
            ok = 0;
            goto out;
        }
    }
    rc = exec(l->db, "COMMIT");
    if (rc != SQLITE_OK) {
        warn(l, "commit", rc);
        exec(l->db, "ROLLBACK");
        bad = n;
        ok = 0;
    } else if (bad == 0) {
        l->warned = false;
    }
out:
    for (size_t i = 0; i < n; i++)
        seam_free(rows[i]);
    atomic_fetch_add(&l->written, ok);
    atomic_fetch_add(&l->dropped, bad);
    /* Only now, so that queued + written + dropped always adds up. */
    atomic_fetch_sub(&l->queued, n);
}

static struct timespec deadline_after(uint64_t ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static void *writer_main(void *arg)
{
    seam_ledger *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->count == 0 && !l->stop)
            pthread_cond_wait(&l->cv, &l->mu);
        /* The window opens with the first row: a row waits at most
         * batch_ms (plus the previous batch's insert) before its commit. */
        if (l->batch_ms > 0 && !l->stop) {
            struct timespec dl = deadline_after(l->batch_ms);
            while (!l->stop && l->count < l->half)
                if (pthread_cond_timedwait(&l->cv, &l->mu, &dl) == ETIMEDOUT)
                    break;
        }
        size_t k = 0;
        while (l->count > 0) {
            l->batch[k++] = l->ring[l->head];
            l->head = (l->head + 1) % l->qmax;
            l->count--;
        }
        pthread_mutex_unlock(&l->mu);
        if (k)
            insert_batch(l, l->batch, k);
        pthread_mutex_lock(&l->mu);
        if (l->stop && l->count == 0)
            break;
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

/* ---- open and close ---- */

static void db_err(char *err, size_t errlen, const char *path, const char *what, sqlite3 *db)
{
    snprintf(err, errlen, "ledger %s: %s: %s", path, what,
             db ? sqlite3_errmsg(db) : "out of memory");
}

/* The value of meta.schema_version: 1 and <*v> set, 0 when there is no
 * such row, -1 on error. */
static int schema_version(sqlite3 *db, long *v)
{
    sqlite3_stmt *st = NULL;
    int found = -1;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        char *end = NULL;
        errno = 0;
        long n = t ? strtol(t, &end, 10) : 0;
        *v = t && *t && !*end && errno == 0 ? n : -1;
        found = 1;
    } else if (rc == SQLITE_DONE) {
        found = 0;
    }
    sqlite3_finalize(st);
    return found;
}

/* Whether a table named <name> exists: 1, 0, or -1 on error. */
static int has_table(sqlite3 *db, const char *name)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* Sets the connection up and creates or checks the schema, inside one
 * write transaction so that two processes opening a new file at once do
 * not both create it. */
static int setup(sqlite3 *db, const char *path, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    sqlite3_busy_timeout(db, SEAM_LEDGER_BUSY_MS);
    /* The first statement is where SQLite finds out that the file is not a
     * database at all. */
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        db_err(err, errlen, path, "cannot switch to WAL", db);
        sqlite3_finalize(st);
        return -1;
    }
    const char *mode = (const char *)sqlite3_column_text(st, 0);
    bool wal = mode && strcmp(mode, "wal") == 0;
    sqlite3_finalize(st);
    if (!wal) {
        snprintf(err, errlen, "ledger %s: cannot switch to WAL (journal mode is %s)", path,
                 mode ? mode : "unknown");
        return -1;
    }
    if (exec(db, "PRAGMA synchronous=NORMAL") != SQLITE_OK ||
        exec(db, "BEGIN IMMEDIATE") != SQLITE_OK) {
        db_err(err, errlen, path, "cannot start", db);
        return -1;
    }
    int meta = has_table(db, "meta"), requests = has_table(db, "requests");
    long version = 0;
    int found = meta == 1 ? schema_version(db, &version) : 0;
    if (meta < 0 || requests < 0 || found < 0) {
        db_err(err, errlen, path, "cannot read the schema", db);
        goto fail;
    }
    if (meta == 0 && requests == 0) {
        char ins[96];
        snprintf(ins, sizeof ins, "INSERT INTO meta(key, value) VALUES('schema_version', '%d')",
                 SEAM_LEDGER_SCHEMA_VERSION);
        if (exec(db, schema_sql) != SQLITE_OK || exec(db, ins) != SQLITE_OK) {
            db_err(err, errlen, path, "cannot create the schema", db);
            goto fail;
        }
    } else if (found == 0 || requests == 0) {
        snprintf(err, errlen,
                 "ledger %s: not a seam ledger (no meta.schema_version or no table "
                 "requests)",
                 path);
        goto fail;
    } else if (version == 1) {
        /* In place, inside this transaction: a seam that stops half way
         * leaves the file at version 1, intact. */
        if (exec(db, migrate_v1_sql) != SQLITE_OK) {
            db_err(err, errlen, path, "cannot migrate the schema from version 1", db);
            goto fail;
        }
        seam_log_json(SEAM_LOG_INFO,
                      json_pack("{s:s, s:s, s:i, s:i}", "msg", "ledger migrated", "file", path,
                                "from", 1, "to", SEAM_LEDGER_SCHEMA_VERSION));
    } else if (version != SEAM_LEDGER_SCHEMA_VERSION) {
        snprintf(err, errlen, "ledger %s: schema_version %ld, this seam writes version %d", path,
                 version, SEAM_LEDGER_SCHEMA_VERSION);
        goto fail;
    }
    if (exec(db, "COMMIT") != SQLITE_OK) {
        db_err(err, errlen, path, "cannot commit the schema", db);
        goto fail;
    }
    return 0;
fail:
    exec(db, "ROLLBACK");
    return -1;
}

seam_ledger *seam_ledger__open_sized(const char *path, uint64_t batch_ms, size_t queue_max,
                                     char *err, size_t errlen)
{
    seam_ledger *l = NULL;
    sqlite3 *db = NULL;
    bool sync_init = false;
    if (!path || !path[0]) {
        snprintf(err, errlen, "ledger: no file given");
        return NULL;
    }
    if (queue_max == 0)
        queue_max = 1;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        db_err(err, errlen, path, "cannot open", db);
        goto fail;
    }
    if (setup(db, path, err, errlen) != 0)
        goto fail;
    l = seam_calloc(1, sizeof *l);
    if (!l || !(l->path = seam_strdup(path)) ||
        !(l->ring = seam_calloc(queue_max, sizeof *l->ring)) ||
        !(l->batch = seam_calloc(queue_max, sizeof *l->batch))) {
        snprintf(err, errlen, "ledger: out of memory");
        goto fail;
    }
    l->db = db;
    l->batch_ms = batch_ms;
    l->qmax = queue_max;
    l->half = queue_max / 2 ? queue_max / 2 : 1;
    if (sqlite3_prepare_v3(db, insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &l->insert, NULL) !=
        SQLITE_OK) {
        db_err(err, errlen, path, "cannot prepare the insert", db);
        goto fail;
    }
    if (pthread_mutex_init(&l->mu, NULL) != 0) {
        snprintf(err, errlen, "ledger: out of memory");
        goto fail;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int crc = pthread_cond_init(&l->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (crc != 0) {
        pthread_mutex_destroy(&l->mu);
        snprintf(err, errlen, "ledger: out of memory");
        goto fail;
    }
    sync_init = true;
    if (pthread_create(&l->thread, NULL, writer_main, l) != 0) {
        snprintf(err, errlen, "ledger: cannot start the writer thread");
        goto fail;
    }
    return l;
fail:
    if (sync_init) {
        pthread_cond_destroy(&l->cv);
        pthread_mutex_destroy(&l->mu);
    }
    if (l) {
        sqlite3_finalize(l->insert);
        seam_free(l->batch);
        seam_free(l->ring);
        seam_free(l->path);
        seam_free(l);
    }
    sqlite3_close(db);
    return NULL;
}

seam_ledger *seam_ledger_open(const char *path, uint64_t batch_ms, char *err, size_t errlen)
{
    return seam_ledger__open_sized(path, batch_ms, SEAM_LEDGER_QUEUE_MAX, err, errlen);
}

void seam_ledger_close(seam_ledger *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    pthread_cond_destroy(&l->cv);
    pthread_mutex_destroy(&l->mu);
    sqlite3_finalize(l->insert);
    /* The last connection to close checkpoints the WAL into the database
     * and removes it. */
    int rc = sqlite3_close(l->db);
    if (rc != SQLITE_OK)
        seam_log_json(SEAM_LOG_ERROR, json_pack("{s:s, s:s, s:s}", "msg", "ledger close failed",
                                                "file", l->path, "error", sqlite3_errstr(rc)));
    seam_free(l->batch);
    seam_free(l->ring);
    seam_free(l->path);
    seam_free(l);
}

/* ---- reading (budgets at startup) ---- */

int seam_ledger_cloud_spend(const seam_ledger *l, const char *tenant, int64_t since_ms, double *usd,
                            char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int ret = -1;
    *usd = 0;
    if (!l || !tenant) {
        snprintf(err, errlen, "ledger: no ledger or no tenant");
        return -1;
    }
    /* A connection of its own: the writer's belongs to the writer thread. */
    if (sqlite3_open_v2(l->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        db_err(err, errlen, l->path, "cannot open for reading", db);
        goto out;
    }
    sqlite3_busy_timeout(db, SEAM_LEDGER_BUSY_MS);
    /* total() is 0.0 on no rows, where SUM() would be NULL. */
    if (sqlite3_prepare_v2(db,
                           "SELECT total(cost_usd) FROM requests"
                           " WHERE tenant = ?1 AND location = 'cloud' AND ts_ms >= ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        db_err(err, errlen, l->path, "cannot read spend", db);
        goto out;
    }
    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, since_ms);
    if (sqlite3_step(st) != SQLITE_ROW) {
        db_err(err, errlen, l->path, "cannot read spend", db);
        goto out;
    }
    *usd = sqlite3_column_double(st, 0);
    ret = 0;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ret;
}
