/*
 * The tamper-evident audit log: one JSON line per routing decision, each
 * carrying the SHA-256 of the previous line, so that editing, removing,
 * reordering or truncating any line breaks the chain (`seam audit verify`,
 * src/obs/audit_cli.h).
 *
 * Worker threads call seam_audit_record(); it serialises the entry on the
 * caller's thread and hands the line to one writer thread through a bounded
 * queue, so no file I/O ever happens on a worker. The writer appends batches
 * with one write(2) each, fdatasync()s at most every SEAM_AUDIT_SYNC_MS, and
 * after each sync rewrites DIR/HEAD, which anchors the newest synced line.
 *
 * Files in DIR:
 *   audit-<seq, 8 digits>-<UTC yyyymmddThhmmssZ>.jsonl  the chain, in name order
 *   HEAD   {"file":NAME,"line":N,"hash":HEX}: hash of line N of NAME
 *   LOCK   held (flock) by the one process writing DIR
 *
 * Line format: {"prev":"<64 hex>", then the entry's fields in a fixed
 * order}. "prev" is the lowercase hex SHA-256 of the previous line's bytes
 * without its newline; the first line ever has 64 zeros. A new file is
 * started by each seam_audit_open() and whenever the current file would grow
 * past max_bytes; the chain continues across files.
 */
#ifndef SEAM_OBS_AUDIT_H
#define SEAM_OBS_AUDIT_H

#include "core/rc.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Hex SHA-256 length without the NUL. */
#define SEAM_AUDIT_HASH_HEX 64
/* The writer calls fdatasync() at most this often (and within this long of
 * a write when the log goes quiet). */
#define SEAM_AUDIT_SYNC_MS 200
/* A line waits at most this long (or until half a batch is queued) before
 * the writer appends it: what a SIGKILL can take beyond the queue. */
#define SEAM_AUDIT_BATCH_MS 20
/* Lines waiting for the writer; past this, seam_audit_record() drops the
 * line and counts it (seam_audit_stats). */
#define SEAM_AUDIT_QUEUE_MAX 65536

typedef struct seam_audit seam_audit;

/* One routing decision. Strings are borrowed for the duration of the
 * seam_audit_record() call; NULL omits the field. Integers below zero
 * (and ms below zero) omit the field; seam_audit_entry_init() sets every
 * field to "omitted". Never put prompt or completion text, detected values
 * or keys here: names, types and counts only. */
typedef struct seam_audit_entry {
    const char *ts;          /* RFC 3339 UTC with ms; NULL: the time of the call */
    const char *id;          /* request id */
    const char *ingress;     /* openai | anthropic | ollama */
    const char *path;        /* request path */
    const char *tenant;      /* tenant of the client key */
    const char *key;         /* name of the client key, never the key */
    const char *kind;        /* task kind */
    const char *declared;    /* sensitivity the client declared */
    const char *sensitivity; /* effective sensitivity */
    /* Detected entity types and counts as the proxy keeps them,
     * "EMAIL=2,US_SSN=1"; written as the object {"EMAIL":2,"US_SSN":1}. */
    const char *detected;
    long long redacted; /* values replaced by placeholders */
    const char *rule;
    const char *reason;
    const char *pool;
    const char *backend;
    const char *location; /* local | cloud: of the backend that served it */
    const char *model;    /* model sent upstream */
    const char *rerouted; /* why the route was changed, e.g. "clearance" */
    long long attempts;
    const char *fallback_from; /* backend that failed before this one */
    long long status;          /* HTTP status sent to the client */
    const char *error;         /* error code, when it failed */
    long long input_tokens;
    long long output_tokens;
    double ms; /* total latency */
} seam_audit_entry;

/* Sets every field of <e> to "omitted". */
void seam_audit_entry_init(seam_audit_entry *e);

/* Opens (creating it and its parents if needed) the audit directory <dir>
 * for writing, takes its LOCK, resumes the chain from the last line of the
 * newest file, and starts the writer thread. Files rotate when one would
 * grow past <max_bytes> (a file always takes at least one line). Returns
 * NULL with a message in <err> on failure, including when another process
 * holds the directory. */
seam_audit *seam_audit_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);

/* Serialises <e> into one line and queues it for the writer. Safe from any
 * thread; never blocks on I/O: the only lock is held for a pointer push.
 * When the queue is full or memory runs out the line is dropped and counted.
 * A NULL <au> (audit disabled) does nothing. */
void seam_audit_record(seam_audit *au, const seam_audit_entry *e);

/* Counters: lines written to the log, lines dropped (queue full, no memory,
 * or a failed write), lines waiting in the queue. Any pointer may be NULL. */
void seam_audit_stats(seam_audit *au, uint64_t *written, uint64_t *dropped, uint64_t *queued);

/* Writes everything queued, syncs the file, updates HEAD, stops the writer
 * and frees <au>. No seam_audit_record() may run during or after the call.
 * NULL does nothing. */
void seam_audit_close(seam_audit *au);

/* ---- shared with verify and query (src/obs/audit_cli.c) ---- */

/* Lowercase hex SHA-256 of <len> bytes at <p>, NUL-terminated. */
void seam_audit_hash(const void *p, size_t len, char out[SEAM_AUDIT_HASH_HEX + 1]);

/* Parses one log line (<len> bytes, no newline). It must be a JSON object
 * that starts with {"prev":"<64 lowercase hex>" and has no duplicate keys.
 * On success returns SEAM_OK, copies the prev hash into <prev> and, when
 * <obj> is not NULL, sets <*obj> to the parsed object (caller decrefs). On
 * failure returns SEAM_ERR_INVALID with the reason in <err>. */
seam_rc seam_audit_line_parse(const char *line, size_t len, char prev[SEAM_AUDIT_HASH_HEX + 1],
                              json_t **obj, char *err, size_t errlen);

/* Whether <name> is an audit file name (audit-NNNNNNNN-*.jsonl); sets
 * <*seq> to its sequence number. */
int seam_audit_file_name(const char *name, unsigned long *seq);

/* The audit file names in <dir>, oldest first, into <*names> (<*n> of them;
 * free with seam_audit__free_names). Returns -1 with errno set when the
 * directory cannot be read. */
int seam_audit__list(const char *dir, char ***names, size_t *n);
void seam_audit__free_names(char **names, size_t n);

#endif
