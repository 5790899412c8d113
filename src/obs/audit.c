/*
 * The audit log writer: hash-chained JSON lines, written by one thread.
 *
 * A worker turns a routing decision into a JSON object body (everything but
 * "prev") on its own thread, then pushes the bytes onto a bounded ring under
 * a mutex held only for the push. The writer thread is the only one that
 * touches the files, the chain state and HEAD: it takes whatever is queued,
 * prefixes each body with {"prev":"<hash of the previous line>", appends the
 * batch with one write(2), and remembers the new line's hash as the next
 * prev. Chain state advances only after a write succeeded: a failed write is
 * cut off the file again (ftruncate) and its lines are counted as dropped,
 * so the file never holds a torn line followed by good ones.
 *
 * Lines are written in batches: the first line queued opens a window of
 * SEAM_AUDIT_BATCH_MS (or until half a batch is queued), and the batch goes
 * out with one write(2).
 *
 * Durability: fdatasync() runs at most every SEAM_AUDIT_SYNC_MS while lines
 * arrive, SEAM_AUDIT_SYNC_MS after the last line when the log goes quiet,
 * when a file is rotated and at close. HEAD is rewritten (write, fsync,
 * rename) right after each sync, so it never names a line that a power
 * loss could take back. A process crash loses nothing already written (the
 * page cache survives it); SIGKILL loses what was still queued.
 *
 * SHA-256 comes from OpenSSL's libcrypto.
 */
#include "obs/audit.h"
#include "scan/classify.h"
#include "core/alloc.h"
#include "core/buf.h"
#include "core/jsonbuf.h"
#include "core/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A line body bigger than this is a bug upstream, not a decision. */
#define LINE_MAX_BYTES (1u << 20)
/* Strings longer than this (a client-chosen path) are cut. */
#define FIELD_MAX_BYTES 1024
/* Lines the writer takes from the queue at a time. */
#define BATCH_MAX 4096
/* The tail window read when resuming the chain grows up to this. */
#define RESUME_MAX_LINE (16u << 20)

typedef struct qitem {
    char *data; /* the entry body, "{...}" (seam_malloc) */
    size_t len;
} qitem;

struct seam_audit {
    char *dir;
    uint64_t max_bytes;
    int lock_fd;

    /* The queue: the only state shared between workers and the writer. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    qitem *ring;
    size_t head, count;
    bool stop;
    /* queued counts lines recorded but not yet written or dropped,
     * including the batch in the writer's hands. */
    atomic_uint_fast64_t written, dropped, queued;

    /* Writer-only state from here on. */
    pthread_t thread;
    int fd;              /* current file, -1 until the first line */
    char name[96];       /* its name */
    uint64_t size;       /* its size */
    unsigned long lines; /* lines in it */
    unsigned long next_seq;
    char prev[SEAM_AUDIT_HASH_HEX + 1]; /* hash of the last line written */
    /* The last written line, which HEAD anchors after the next sync. */
    char last_name[96];
    unsigned long last_line;
    bool dirty; /* written since the last sync */
    struct timespec last_sync;
    bool warned; /* a write problem was logged and not yet resolved */
    seam_buf batch;
};

void seam_audit_entry_init(seam_audit_entry *e)
{
    memset(e, 0, sizeof *e);
    e->redacted = e->attempts = e->status = -1;
    e->input_tokens = e->output_tokens = -1;
    e->ms = -1;
}

void seam_audit_hash(const void *p, size_t len, char out[SEAM_AUDIT_HASH_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(p, len, md, &n, EVP_sha256(), NULL) || n != SEAM_AUDIT_HASH_HEX / 2) {
        /* libcrypto cannot fail here short of memory exhaustion; a hash no
         * line can have keeps verify from ever accepting the result. */
        memset(out, 'x', SEAM_AUDIT_HASH_HEX);
        out[SEAM_AUDIT_HASH_HEX] = '\0';
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[SEAM_AUDIT_HASH_HEX] = '\0';
}

/* ---- lines ---- */

#define PREV_PREFIX     "{\"prev\":\""
#define PREV_PREFIX_LEN (sizeof PREV_PREFIX - 1)

seam_rc seam_audit_line_parse(const char *line, size_t len, char prev[SEAM_AUDIT_HASH_HEX + 1],
                              json_t **obj, char *err, size_t errlen)
{
    json_error_t je;
    if (obj)
        *obj = NULL;
    if (len < PREV_PREFIX_LEN + SEAM_AUDIT_HASH_HEX + 2 ||
        memcmp(line, PREV_PREFIX, PREV_PREFIX_LEN) != 0) {
        snprintf(err, errlen, "does not start with {\"prev\":\"<hash>\"");
        return SEAM_ERR_INVALID;
    }
    const char *h = line + PREV_PREFIX_LEN;
    for (size_t i = 0; i < SEAM_AUDIT_HASH_HEX; i++) {
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) {
            snprintf(err, errlen, "prev is not 64 lowercase hex digits");
            return SEAM_ERR_INVALID;
        }
    }
    if (h[SEAM_AUDIT_HASH_HEX] != '"') {
        snprintf(err, errlen, "prev is not 64 lowercase hex digits");
        return SEAM_ERR_INVALID;
    }
    /* jansson rejects embedded NULs (JSON_ALLOW_NUL is not given), invalid
     * UTF-8 and trailing garbage; duplicate keys could hide a second value
     * from some readers, so they are refused too. */
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        snprintf(err, errlen, "not valid JSON (column %d: %s)", je.column, je.text);
        return SEAM_ERR_INVALID;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, errlen, "not a JSON object");
        return SEAM_ERR_INVALID;
    }
    memcpy(prev, h, SEAM_AUDIT_HASH_HEX);
    prev[SEAM_AUDIT_HASH_HEX] = '\0';
    if (obj)
        *obj = o;
    else
        json_decref(o);
    return SEAM_OK;
}

int seam_audit_file_name(const char *name, unsigned long *seq)
{
    size_t len = strlen(name);
    if (len < 6 + 8 + 1 + 6 || strncmp(name, "audit-", 6) != 0 ||
        strcmp(name + len - 6, ".jsonl") != 0 || name[14] != '-')
        return 0;
    unsigned long v = 0;
    for (int i = 6; i < 14; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        v = v * 10 + (unsigned long)(name[i] - '0');
    }
    for (const char *p = name + 15; p < name + len - 6; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    *seq = v;
    return 1;
}

/* A JSON string for <s>, cut to FIELD_MAX_BYTES. Bytes that are not valid
 * UTF-8 (possible only in a client-chosen path) become '?', so the line
 * stays valid JSON. */
static json_t *jstr(const char *s)
{
    size_t len = strnlen(s, FIELD_MAX_BYTES);
    json_t *v = json_stringn(s, len);
    if (v)
        return v;
    char tmp[FIELD_MAX_BYTES];
    for (size_t i = 0; i < len; i++)
        tmp[i] = (unsigned char)s[i] < 0x80 && s[i] ? s[i] : '?';
    return json_stringn(tmp, len);
}

static void put_str(json_t *o, const char *key, const char *v)
{
    if (v)
        json_object_set_new(o, key, jstr(v));
}

static void put_int(json_t *o, const char *key, long long v)
{
    if (v >= 0)
        json_object_set_new(o, key, json_integer((json_int_t)v));
}

/* The entry as a JSON object, keys in the documented order. */
static json_t *entry_json(const seam_audit_entry *e)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    char now[64];
    if (!e->ts)
        seam_log_timestamp(now);
    put_str(o, "ts", e->ts ? e->ts : now);
    put_str(o, "id", e->id);
    put_str(o, "ingress", e->ingress);
    put_str(o, "path", e->path);
    put_str(o, "tenant", e->tenant);
    put_str(o, "key", e->key);
    put_str(o, "kind", e->kind);
    put_str(o, "declared", e->declared);
    put_str(o, "sensitivity", e->sensitivity);
    if (e->detected)
        json_object_set_new(o, "detected", seam_detection_summary_json(e->detected));
    put_int(o, "redacted", e->redacted);
    put_str(o, "rule", e->rule);
    put_str(o, "reason", e->reason);
    put_str(o, "pool", e->pool);
    put_str(o, "backend", e->backend);
    put_str(o, "location", e->location);
    put_str(o, "model", e->model);
    put_str(o, "rerouted", e->rerouted);
    put_int(o, "attempts", e->attempts);
    put_str(o, "fallback_from", e->fallback_from);
    put_int(o, "status", e->status);
    put_str(o, "error", e->error);
    put_int(o, "input_tokens", e->input_tokens);
    put_int(o, "output_tokens", e->output_tokens);
    if (e->ms >= 0 && isfinite(e->ms))
        json_object_set_new(o, "ms", json_real(round(e->ms * 1000.0) / 1000.0));
    return o;
}

/* ---- the queue (any thread) ---- */

void seam_audit_record(seam_audit *au, const seam_audit_entry *e)
{
    if (!au || !e)
        return;
    seam_buf b;
    seam_buf_init(&b, LINE_MAX_BYTES);
    json_t *o = entry_json(e);
    if (!o || seam_buf_add_json(
                  &b, o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15)) != SEAM_OK) {
        json_decref(o);
        seam_buf_free(&b);
        atomic_fetch_add(&au->dropped, 1);
        return;
    }
    json_decref(o);

    bool pushed = false;
    pthread_mutex_lock(&au->mu);
    if (au->count < SEAM_AUDIT_QUEUE_MAX) {
        qitem *it = &au->ring[(au->head + au->count) % SEAM_AUDIT_QUEUE_MAX];
        it->data = b.data;
        it->len = b.len;
        /* The writer waits for the first line (to open the batch window)
         * and, inside the window, for half a batch. */
        au->count++;
        if (au->count == 1 || au->count == BATCH_MAX / 2)
            pthread_cond_signal(&au->cv);
        atomic_fetch_add(&au->queued, 1);
        pushed = true;
    }
    pthread_mutex_unlock(&au->mu);
    if (!pushed) {
        seam_buf_free(&b);
        atomic_fetch_add(&au->dropped, 1);
    }
}

void seam_audit_stats(seam_audit *au, uint64_t *written, uint64_t *dropped, uint64_t *queued)
{
    if (written)
        *written = au ? atomic_load(&au->written) : 0;
    if (dropped)
        *dropped = au ? atomic_load(&au->dropped) : 0;
    if (queued)
        *queued = au ? atomic_load(&au->queued) : 0;
}

/* ---- files (writer thread, and open before it starts) ---- */

static int path_in(char *out, size_t n, const char *dir, const char *name)
{
    int k = snprintf(out, n, "%s/%s", dir, name);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

static void warn_once(seam_audit *au, const char *what, const char *name, int e)
{
    if (au->warned)
        return;
    au->warned = true;
    seam_log_json(SEAM_LOG_ERROR, json_pack("{s:s, s:s, s:s, s:s}", "msg", "audit log write failed",
                                            "what", what, "file", name, "error", strerror(e)));
}

static void fsync_dir(const char *dir)
{
    int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (d >= 0) {
        fsync(d);
        close(d);
    }
}

/* Starts the next file; its name sorts after every earlier one because the
 * sequence number comes first (the clock may step back, the counter not). */
static int open_next_file(seam_audit *au)
{
    char path[PATH_MAX], ts[32];
    struct tm tm;
    time_t now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(ts, sizeof ts, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(au->name, sizeof au->name, "audit-%08lu-%s.jsonl", au->next_seq % 100000000ul, ts);
    if (path_in(path, sizeof path, au->dir, au->name) != 0) {
        warn_once(au, "open", au->name, ENAMETOOLONG);
        return -1;
    }
    au->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0640);
    if (au->fd < 0) {
        warn_once(au, "open", au->name, errno);
        return -1;
    }
    au->next_seq++;
    au->size = 0;
    au->lines = 0;
    fsync_dir(au->dir); /* the new name survives a power loss */
    return 0;
}

static void close_file(seam_audit *au)
{
    if (au->fd < 0)
        return;
    if (au->dirty)
        fdatasync(au->fd);
    close(au->fd);
    au->fd = -1;
}

/* Writes HEAD: the last line written, which the caller has just synced.
 * Written beside and renamed over, so a reader sees the old or the new. */
static void write_head(seam_audit *au)
{
    char path[PATH_MAX], tmp[PATH_MAX], body[256];
    if (!au->last_name[0])
        return;
    int n = snprintf(body, sizeof body, "{\"file\":\"%s\",\"line\":%lu,\"hash\":\"%s\"}\n",
                     au->last_name, au->last_line, au->prev);
    if (path_in(path, sizeof path, au->dir, "HEAD") != 0 ||
        path_in(tmp, sizeof tmp, au->dir, "HEAD.tmp") != 0)
        return;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        warn_once(au, "HEAD", "HEAD", errno);
        return;
    }
    bool ok = write(fd, body, (size_t)n) == n && fsync(fd) == 0;
    int e = errno;
    close(fd);
    if (!ok || rename(tmp, path) != 0)
        warn_once(au, "HEAD", "HEAD", ok ? errno : e);
}

static void sync_now(seam_audit *au)
{
    if (au->dirty && au->fd >= 0)
        fdatasync(au->fd);
    au->dirty = false;
    clock_gettime(CLOCK_MONOTONIC, &au->last_sync);
    write_head(au);
}

/* Appends the pending batch (<nlines> lines, each hashed already, <tentative>
 * the hash of its last line) to the current file. On success the chain
 * advances; on failure the file is cut back and the lines are dropped. */
static void flush_batch(seam_audit *au, size_t nlines, const char *tentative)
{
    if (nlines == 0)
        return;
    const char *p = au->batch.data;
    size_t left = au->batch.len;
    int e = 0;
    while (left > 0) {
        ssize_t w = write(au->fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            e = w < 0 ? errno : EIO;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    if (left > 0) {
        warn_once(au, "write", au->name, e);
        if (ftruncate(au->fd, (off_t)au->size) != 0) {
            /* The file now ends in a torn line: continuing in it would
             * bury that line mid-chain. Start a fresh file instead. */
            close(au->fd);
            au->fd = -1;
        }
        atomic_fetch_add(&au->dropped, nlines);
    } else {
        au->size += au->batch.len;
        au->lines += nlines;
        memcpy(au->prev, tentative, sizeof au->prev);
        memcpy(au->last_name, au->name, sizeof au->last_name);
        au->last_line = au->lines;
        au->dirty = true;
        au->warned = false;
        atomic_fetch_add(&au->written, nlines);
    }
    seam_buf_reset(&au->batch);
}

/* Writes <n> queued bodies (and frees them). */
static void write_items(seam_audit *au, qitem *items, size_t n)
{
    char tentative[SEAM_AUDIT_HASH_HEX + 1];
    size_t pending = 0;
    memcpy(tentative, au->prev, sizeof tentative);
    for (size_t i = 0; i < n; i++) {
        qitem *it = &items[i];
        /* {"prev":"HEX", + the body without its '{' (or "}" for "{}"). */
        size_t linelen = PREV_PREFIX_LEN + SEAM_AUDIT_HASH_HEX + 1 + (it->len > 2 ? 1 : 0) +
                         (it->len > 0 ? it->len - 1 : 0);
        if (it->len < 2 || it->data[0] != '{') {
            atomic_fetch_add(&au->dropped, 1);
            goto next;
        }
        if (au->fd >= 0 && au->size + au->batch.len + linelen + 1 > au->max_bytes &&
            au->size + au->batch.len > 0) {
            flush_batch(au, pending, tentative);
            pending = 0;
            memcpy(tentative, au->prev, sizeof tentative);
            close_file(au);
        }
        if (au->fd < 0 && open_next_file(au) != 0) {
            atomic_fetch_add(&au->dropped, 1);
            goto next;
        }
        /* The whole line goes in before its hash is taken, so a failed
         * append leaves the batch and <tentative> as they were. */
        size_t start = au->batch.len;
        seam_rc rc = seam_buf_append(&au->batch, PREV_PREFIX, PREV_PREFIX_LEN);
        if (rc == SEAM_OK)
            rc = seam_buf_append(&au->batch, tentative, SEAM_AUDIT_HASH_HEX);
        if (rc == SEAM_OK)
            rc = seam_buf_append(&au->batch, it->len > 2 ? "\"," : "\"", it->len > 2 ? 2 : 1);
        if (rc == SEAM_OK)
            rc = seam_buf_append(&au->batch, it->data + 1, it->len - 1);
        if (rc == SEAM_OK)
            rc = seam_buf_append(&au->batch, "\n", 1);
        if (rc != SEAM_OK) {
            au->batch.len = start;
            atomic_fetch_add(&au->dropped, 1);
            goto next;
        }
        seam_audit_hash(au->batch.data + start, au->batch.len - start - 1, tentative);
        pending++;
    next:
        seam_free(it->data);
        it->data = NULL;
    }
    if (au->fd >= 0)
        flush_batch(au, pending, tentative);
}

static long ms_between(const struct timespec *a, const struct timespec *b)
{
    return (long)((b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000);
}

static void *writer_main(void *arg)
{
    seam_audit *au = arg;
    qitem *items = seam_calloc(BATCH_MAX, sizeof *items);
    pthread_mutex_lock(&au->mu);
    for (;;) {
        bool due = false;
        while (au->count == 0 && !au->stop) {
            if (!au->dirty) {
                pthread_cond_wait(&au->cv, &au->mu);
                continue;
            }
            /* Quiet with unsynced lines: sync when the window closes. */
            struct timespec dl = au->last_sync;
            dl.tv_sec += SEAM_AUDIT_SYNC_MS / 1000;
            dl.tv_nsec += (long)(SEAM_AUDIT_SYNC_MS % 1000) * 1000000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            if (pthread_cond_timedwait(&au->cv, &au->mu, &dl) == ETIMEDOUT) {
                due = true;
                break;
            }
        }
        /* The batch window opens with the first line: lines that arrive
         * within SEAM_AUDIT_BATCH_MS go out with it in one write, so a busy
         * gateway wakes this thread a few dozen times a second rather than
         * once a request (each wake is a context switch on a worker's
         * core). */
        if (!due && !au->stop && au->count > 0 && au->count < BATCH_MAX / 2) {
            struct timespec dl;
            clock_gettime(CLOCK_MONOTONIC, &dl);
            dl.tv_nsec += (long)SEAM_AUDIT_BATCH_MS * 1000000L;
            if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
            }
            while (!au->stop && au->count < BATCH_MAX / 2)
                if (pthread_cond_timedwait(&au->cv, &au->mu, &dl) == ETIMEDOUT)
                    break;
        }
        size_t k = 0, max = items ? BATCH_MAX : 1;
        qitem one;
        qitem *dst = items ? items : &one;
        while (au->count > 0 && k < max) {
            dst[k++] = au->ring[au->head];
            au->head = (au->head + 1) % SEAM_AUDIT_QUEUE_MAX;
            au->count--;
        }
        bool stopping = au->stop && au->count == 0;
        pthread_mutex_unlock(&au->mu);

        if (k) {
            write_items(au, dst, k);
            /* Only now, so that written + dropped + queued always adds up
             * to the lines recorded. */
            atomic_fetch_sub(&au->queued, k);
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (au->dirty &&
            (due || stopping || ms_between(&au->last_sync, &now) >= SEAM_AUDIT_SYNC_MS))
            sync_now(au);

        pthread_mutex_lock(&au->mu);
        if (au->stop && au->count == 0)
            break;
    }
    pthread_mutex_unlock(&au->mu);
    if (au->dirty)
        sync_now(au);
    seam_free(items);
    return NULL;
}

/* ---- open and close ---- */

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    size_t len = strlen(dir);
    if (len == 0 || len >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(tmp, dir, len + 1);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(tmp, 0750) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (stat(tmp, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/* Finds the last complete line of file <path> (<size> bytes): reads a
 * growing window from the end. Returns 1 and sets <hash> to its hash, 0
 * when the file has no complete line, -1 on error. <*torn> is set when the
 * file ends without a newline. */
static int last_line_hash(const char *path, char hash[SEAM_AUDIT_HASH_HEX + 1], bool *torn)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    int rc = -1;
    char *buf = NULL;
    if (fstat(fd, &st) != 0)
        goto out;
    off_t size = st.st_size;
    *torn = false;
    for (size_t win = 65536;; win *= 2) {
        size_t want = (off_t)win > size ? (size_t)size : win;
        char *nb = seam_realloc(buf, want ? want : 1);
        if (!nb)
            goto out;
        buf = nb;
        if (pread(fd, buf, want, size - (off_t)want) != (ssize_t)want)
            goto out;
        /* The last newline ends the last complete line. */
        size_t end = want;
        while (end > 0 && buf[end - 1] != '\n')
            end--;
        if (want > 0 && buf[want - 1] != '\n')
            *torn = true;
        if (end == 0 && (off_t)want == size) {
            rc = 0; /* no complete line at all */
            goto out;
        }
        if (end > 0) {
            size_t start = end - 1;
            while (start > 0 && buf[start - 1] != '\n')
                start--;
            if (start > 0 || (off_t)want == size) {
                seam_audit_hash(buf + start, end - 1 - start, hash);
                rc = 1;
                goto out;
            }
        }
        if ((off_t)want == size || win >= RESUME_MAX_LINE) {
            errno = EFBIG;
            goto out;
        }
    }
out:
    seam_free(buf);
    close(fd);
    return rc;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the audit file names in <dir>, sorted (oldest first). */
static int list_files(const char *dir, char ***out, size_t *nout)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    unsigned long seq;
    if (!d)
        return -1;
    while ((de = readdir(d))) {
        if (!seam_audit_file_name(de->d_name, &seq))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nv = seam_realloc(v, cap * sizeof *v);
            if (!nv)
                goto fail;
            v = nv;
        }
        if (!(v[n] = seam_strdup(de->d_name)))
            goto fail;
        n++;
    }
    closedir(d);
    if (n)
        qsort(v, n, sizeof *v, cmp_names);
    *out = v;
    *nout = n;
    return 0;
fail:
    closedir(d);
    seam_audit__free_names(v, n);
    errno = ENOMEM;
    return -1;
}

void seam_audit__free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        seam_free(names[i]);
    seam_free(names);
}

int seam_audit__list(const char *dir, char ***names, size_t *n)
{
    return list_files(dir, names, n);
}

/* Sets the chain state from the newest file that holds a line. */
static int resume(seam_audit *au, char *err, size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    unsigned long seq;
    memset(au->prev, '0', SEAM_AUDIT_HASH_HEX);
    au->prev[SEAM_AUDIT_HASH_HEX] = '\0';
    au->next_seq = 1;
    if (list_files(au->dir, &names, &n) != 0) {
        snprintf(err, errlen, "audit dir %s: cannot list: %s", au->dir, strerror(errno));
        return -1;
    }
    if (n && seam_audit_file_name(names[n - 1], &seq))
        au->next_seq = seq + 1;
    int rc = 0;
    for (size_t i = n; i-- > 0;) {
        char path[PATH_MAX];
        bool torn = false;
        if (path_in(path, sizeof path, au->dir, names[i]) != 0) {
            snprintf(err, errlen, "audit dir %s: path too long", au->dir);
            rc = -1;
            break;
        }
        int r = last_line_hash(path, au->prev, &torn);
        if (r < 0) {
            snprintf(err, errlen, "audit file %s: cannot read its last line: %s", path,
                     strerror(errno));
            rc = -1;
            break;
        }
        if (torn)
            seam_log_json(SEAM_LOG_WARN,
                          json_pack("{s:s, s:s}", "msg",
                                    "audit file ends with an incomplete line; seam audit verify "
                                    "will report it",
                                    "file", names[i]));
        /* HEAD is rewritten by the first sync of this run; until then the
         * old one stays valid. */
        if (r == 1)
            break;
    }
    seam_audit__free_names(names, n);
    return rc;
}

seam_audit *seam_audit_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen)
{
    char path[PATH_MAX];
    seam_audit *au = NULL;
    if (!dir || !dir[0]) {
        snprintf(err, errlen, "audit: no directory given");
        return NULL;
    }
    if (mkdir_p(dir) != 0) {
        snprintf(err, errlen, "audit dir %s: cannot create: %s", dir, strerror(errno));
        return NULL;
    }
    au = seam_calloc(1, sizeof *au);
    if (!au)
        goto nomem;
    au->fd = -1;
    au->lock_fd = -1;
    au->max_bytes = max_bytes ? max_bytes : 1;
    seam_buf_init(&au->batch, (size_t)-1);
    if (!(au->dir = seam_strdup(dir)) ||
        !(au->ring = seam_calloc(SEAM_AUDIT_QUEUE_MAX, sizeof(qitem))))
        goto nomem;
    /* Two writers on one directory would interleave two chains. */
    if (path_in(path, sizeof path, dir, "LOCK") != 0 ||
        (au->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) < 0) {
        snprintf(err, errlen, "audit dir %s: cannot create LOCK: %s", dir, strerror(errno));
        goto fail;
    }
    if (flock(au->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "audit dir %s is in use by another seam process", dir);
        goto fail;
    }
    if (resume(au, err, errlen) != 0)
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &au->last_sync);
    /* The first batch syncs at once, so HEAD exists from the start. */
    au->last_sync.tv_sec -= 1;
    if (pthread_mutex_init(&au->mu, NULL) != 0)
        goto nomem;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int crc = pthread_cond_init(&au->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (crc != 0) {
        pthread_mutex_destroy(&au->mu);
        goto nomem;
    }
    if (pthread_create(&au->thread, NULL, writer_main, au) != 0) {
        pthread_cond_destroy(&au->cv);
        pthread_mutex_destroy(&au->mu);
        snprintf(err, errlen, "audit: cannot start the writer thread");
        goto fail;
    }
    return au;
nomem:
    snprintf(err, errlen, "audit: out of memory");
fail:
    if (au) {
        if (au->lock_fd >= 0)
            close(au->lock_fd);
        seam_free(au->ring);
        seam_free(au->dir);
        seam_free(au);
    }
    return NULL;
}

void seam_audit_close(seam_audit *au)
{
    if (!au)
        return;
    pthread_mutex_lock(&au->mu);
    au->stop = true;
    pthread_cond_signal(&au->cv);
    pthread_mutex_unlock(&au->mu);
    pthread_join(au->thread, NULL);
    close_file(au);
    pthread_cond_destroy(&au->cv);
    pthread_mutex_destroy(&au->mu);
    /* Anything pushed after the writer stopped (a caller bug) is freed. */
    for (size_t i = 0; i < au->count; i++)
        seam_free(au->ring[(au->head + i) % SEAM_AUDIT_QUEUE_MAX].data);
    seam_buf_free(&au->batch);
    close(au->lock_fd); /* releases the flock */
    seam_free(au->ring);
    seam_free(au->dir);
    seam_free(au);
}
