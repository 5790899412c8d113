/*
 * The usage ledger: one SQLite row per finished request (table `requests`),
 * written by one writer thread in batched transactions, read by budgets at
 * startup (src/ledger/spend.h) and by `seam report`.
 *
 * Worker threads call seam_ledger_record(); it copies the record into one
 * allocation and pushes it onto a bounded queue under a mutex held only for
 * the push, so no SQLite call ever happens on a worker. The writer drains the
 * queue every batch_ms (sooner when the queue is half full) and inserts the
 * batch in one transaction. A full queue drops the row and counts it (the
 * count must stay 0: it is exported as a metric).
 *
 * Durability: the database is in WAL mode with synchronous=NORMAL, so a
 * committed batch survives a process crash (the WAL is in the page cache);
 * SIGKILL loses at most the rows of the last batch window, the ones still
 * queued. seam_ledger_close() (SIGTERM) writes everything.
 *
 * Schema (schema_version 2, in table meta(key TEXT PRIMARY KEY, value TEXT)):
 *   requests(id TEXT PRIMARY KEY, ts_ms INTEGER NOT NULL, tenant, key_name,
 *            ingress, kind, declared, sensitivity, detected (JSON object
 *            type -> count, or NULL), rule, reason, pool, backend, location,
 *            model, attempts INTEGER, fallback_from, status INTEGER, error,
 *            stream INTEGER (0/1), input_tokens, output_tokens,
 *            reasoning_tokens, cached_tokens (INTEGER, NULL when unknown),
 *            cost_usd REAL, counterfactual_usd REAL (NULL when none),
 *            ms_total, ms_ttft (NULL when none), ms_gateway REAL,
 *            complexity TEXT, tokens_est INTEGER (NULL when none),
 *            set_applied TEXT (what the rule's set changed, NULL when nothing))
 *   indexes requests_ts(ts_ms), requests_tenant_ts(tenant, ts_ms).
 * Never prompt or completion text, never a key.
 *
 * Version 1 files (without the last three columns) are migrated in place
 * when opened: ALTER TABLE ADD COLUMN, old rows keep NULLs there.
 */
#ifndef SEAM_LEDGER_LEDGER_H
#define SEAM_LEDGER_LEDGER_H

#include "obs/record.h"

#include <stddef.h>
#include <stdint.h>

/* The schema this code writes; seam_ledger_open() migrates version 1 to it
 * and refuses any other. */
#define SEAM_LEDGER_SCHEMA_VERSION 2
/* Rows waiting for the writer; past this, seam_ledger_record() drops. */
#define SEAM_LEDGER_QUEUE_MAX 65536
/* Strings longer than this (a client-chosen model name) are cut. */
#define SEAM_LEDGER_FIELD_MAX 1024
/* How long a statement waits for another process's write lock. */
#define SEAM_LEDGER_BUSY_MS 5000

typedef struct seam_ledger seam_ledger;

/* Opens (creating it and the schema if needed) the ledger database <path>,
 * checks its schema_version, switches it to WAL and starts the writer
 * thread, which writes queued rows every <batch_ms> milliseconds (0: as
 * soon as they arrive). Returns NULL with a message in <err> when <path> is
 * empty, cannot be opened, is not a seam ledger or has another schema. */
seam_ledger *seam_ledger_open(const char *path, uint64_t batch_ms, char *err, size_t errlen);

/* As seam_ledger_open() with a queue of <queue_max> rows instead of
 * SEAM_LEDGER_QUEUE_MAX (tests use a tiny one to see drops). */
seam_ledger *seam_ledger__open_sized(const char *path, uint64_t batch_ms, size_t queue_max,
                                     char *err, size_t errlen);

/* Copies <r> (strings included: they may be freed when this returns) and
 * queues it for the writer. Safe from any thread, never blocks on I/O; when
 * the queue is full or memory runs out the row is dropped and counted.
 * A NULL <l> (ledger disabled) does nothing. */
void seam_ledger_record(seam_ledger *l, const seam_request_record *r);

/* Counters: rows waiting (including the batch being inserted), rows
 * committed, rows dropped (queue full, no memory, or a failed insert).
 * queued + written + dropped is every row recorded. Any pointer may be NULL;
 * a NULL <l> reports zeros. */
void seam_ledger_stats(seam_ledger *l, uint64_t *queued, uint64_t *written, uint64_t *dropped);

/* Sum of cost_usd of the rows of <tenant> served in the cloud
 * (location = 'cloud') with ts_ms >= <since_ms>, read through a connection
 * of its own (rows still queued are not counted). Returns 0, or -1 with a
 * message in <err>. */
int seam_ledger_cloud_spend(const seam_ledger *l, const char *tenant, int64_t since_ms, double *usd,
                            char *err, size_t errlen);

/* The file <l> writes. */
const char *seam_ledger_path(const seam_ledger *l);

/* Inserts everything queued, stops the writer, closes the database and frees
 * <l>. No seam_ledger_record() may run during or after the call. NULL does
 * nothing. */
void seam_ledger_close(seam_ledger *l);

#endif
