/*
 * libFuzzer harness for the audit log readers: arbitrary bytes as one line
 * through the line parser and the query filters, and as a whole file
 * through the chain check that `seam audit verify` runs (over fmemopen).
 */
#include "obs/audit.h"
#include "obs/audit_cli.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char prev[SEAM_AUDIT_HASH_HEX + 1], err[160];
    json_t *obj = NULL;
    const char *line = (const char *)data;
    size_t len = size;
    const char *nl = memchr(line, '\n', len);
    if (nl)
        len = (size_t)(nl - line);
    if (seam_audit_line_parse(line, len, prev, &obj, err, sizeof err) == SEAM_OK) {
        seam_audit_query q;
        seam_audit_query_init(&q);
        q.where[0].field = "sensitivity";
        q.where[0].value = "regulated";
        q.where[1].field = "status";
        q.where[1].value = "200";
        q.nwhere = 2;
        seam_audit_query_match(&q, obj);
        /* The time filter parses the line's own "ts". */
        q.nwhere = 0;
        q.since_ms = 0;
        seam_audit_query_match(&q, obj);
        json_decref(obj);
    }
    /* Time bounds as a user would type them: the first line, cut short. */
    if (len < 64) {
        char t[64];
        int64_t ms;
        memcpy(t, line, len);
        t[len] = '\0';
        if (strlen(t) == len)
            seam_audit_parse_time(t, 1700000000000LL, &ms);
    }
    if (size > 0) {
        FILE *f = fmemopen((void *)data, size, "r");
        if (f) {
            seam_audit_chain c;
            seam_audit_report rep;
            memset(&rep, 0, sizeof rep);
            seam_audit_chain_init(&c);
            seam_audit_verify_stream(f, "fuzz.jsonl", &c, &rep);
            fclose(f);
        }
    }
    return 0;
}
