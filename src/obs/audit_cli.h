/*
 * Reading the audit log (src/obs/audit.h): `seam audit verify` recomputes
 * the hash chain and says where it breaks; `seam audit query` filters lines
 * by time and field values. Both only read; they may run while seam writes.
 */
#ifndef SEAM_OBS_AUDIT_CLI_H
#define SEAM_OBS_AUDIT_CLI_H

#include "obs/audit.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of verify (and of the CLI). */
#define SEAM_AUDIT_INTACT   0
#define SEAM_AUDIT_TAMPERED 1
#define SEAM_AUDIT_ERROR    2 /* usage, or a file that cannot be read */

/* What verify found. On SEAM_AUDIT_TAMPERED, <file>:<line> is where the
 * chain breaks and <what> says how; on SEAM_AUDIT_ERROR <what> says why. */
typedef struct seam_audit_report {
    int status;
    uint64_t lines;     /* lines checked */
    size_t files;       /* files checked */
    char file[256];     /* file of the problem ("HEAD" for HEAD itself) */
    unsigned long line; /* its 1-based line, 0 when the problem is a whole file */
    char what[512];
    char head[SEAM_AUDIT_HASH_HEX + 1]; /* hash of the last line (empty if none) */
    char head_file[256];                /* where the last line is */
    unsigned long head_line;
    uint64_t unanchored; /* lines after the one HEAD names (a crash, or a live log) */
    bool anchor_found;   /* --anchor HASH matched a line */
} seam_audit_report;

/* Chain state carried from one file to the next. */
typedef struct seam_audit_chain {
    char expect[SEAM_AUDIT_HASH_HEX + 1]; /* the prev the next line must carry */
    uint64_t lines;                       /* lines so far, all files */
    char last_file[256];                  /* previous file with a line, "" when none */
    /* Optional: the line whose hash must equal <want_hash> (HEAD). */
    const char *want_file;
    unsigned long want_line;
    const char *want_hash;
    bool want_seen;
    const char *anchor; /* optional: a hash some line must have */
    bool anchor_seen;
} seam_audit_chain;

/* Starts a chain (prev of the first line: 64 zeros). */
void seam_audit_chain_init(seam_audit_chain *c);

/* Checks the lines of one file read from <f>, named <name>, against and
 * into chain <c>. Returns SEAM_AUDIT_INTACT, or fills <rep> and returns
 * SEAM_AUDIT_TAMPERED / SEAM_AUDIT_ERROR. Used by seam_audit_verify and by
 * the fuzz harness (over fmemopen). */
int seam_audit_verify_stream(FILE *f, const char *name, seam_audit_chain *c,
                             seam_audit_report *rep);

/* Verifies every audit file in <dir> in order, then HEAD. <anchor>, when
 * not NULL, is a line hash recorded elsewhere (an earlier verify's head)
 * that must occur in the chain. Fills <rep> (may be NULL); prints a
 * human-readable verdict to <out> when not NULL. Returns SEAM_AUDIT_*. */
int seam_audit_verify(const char *dir, const char *anchor, seam_audit_report *rep, FILE *out);

/* ---- query ---- */

#define SEAM_AUDIT_WHERE_MAX 16

typedef enum { SEAM_AUDIT_FMT_JSON = 0, SEAM_AUDIT_FMT_TABLE } seam_audit_format;

typedef struct seam_audit_query {
    int64_t since_ms; /* INT64_MIN: no lower bound (unix ms, inclusive) */
    int64_t until_ms; /* INT64_MAX: no upper bound (exclusive) */
    struct {
        const char *field; /* a top-level field */
        const char *value; /* compared as text with strings, as a number with numbers */
    } where[SEAM_AUDIT_WHERE_MAX];
    size_t nwhere;
    seam_audit_format format;
    bool count_only;
} seam_audit_query;

void seam_audit_query_init(seam_audit_query *q);

/* Parses a time bound: RFC 3339 ("2025-06-01T12:00:00Z", fractions and
 * +hh:mm offsets allowed; a bare date is its midnight UTC) or a duration
 * back from <now_ms> ("90s", "30m", "24h", "7d", "2w"). Returns 0 and sets
 * <*out_ms> (unix ms), or -1. */
int seam_audit_parse_time(const char *s, int64_t now_ms, int64_t *out_ms);

/* Whether parsed line <obj> passes every filter of <q>. */
bool seam_audit_query_match(const seam_audit_query *q, json_t *obj);

/* Prints the lines of <dir> that match <q> to <out> (raw JSON lines, a
 * table, or only the count), and sets <*matched>. Lines that are not valid
 * audit lines are skipped and counted in a warning on <err>. Returns 0, or
 * SEAM_AUDIT_ERROR with a message on <err>. */
int seam_audit_query_run(const char *dir, const seam_audit_query *q, FILE *out, FILE *err,
                         uint64_t *matched);

/* `seam audit verify|query ...`: <argv>[0] is the subcommand. Without a
 * DIR argument the directory is audit.dir of the configuration (-c FILE,
 * default ./seam.yaml). Returns the process exit status. */
int seam_audit_cli(int argc, char **argv, FILE *out, FILE *err);

#endif
