/*
 * Redaction and restore. Before a request leaves, each detected value is
 * replaced by a placeholder of its type, the same value always getting the
 * same placeholder within the request ([EMAIL_1], [CREDIT_CARD_2]). The map
 * lives only in the request's arena. In the answer, placeholders that seam
 * issued are restored to their values, in whole texts and in streams split
 * anywhere, including inside a placeholder; placeholders the model invents
 * are left as they are.
 */
#ifndef SEAM_SCAN_REDACT_H
#define SEAM_SCAN_REDACT_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/rc.h"
#include "scan/scan.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct seam_redactor seam_redactor;

/* A redactor for one request; everything lives in <a>. */
seam_redactor *seam_redactor_new(seam_arena *a, const seam_scanner *s);

/* Returns a copy of <text> (in the arena, NUL-terminated, length in
 * <*outlen>) with the spans of <ents> replaced by placeholders. <ents> may be
 * unsorted and may overlap (the longer span wins). Values are remembered as
 * the bytes of <text>, so pass JSON-unescaped text. NULL when out of memory
 * or when a span lies outside <text> (the caller must not send the text). */
char *seam_redact_text(seam_redactor *r, const char *text, size_t len, const seam_entity *ents,
                       size_t n, size_t *outlen);

/* Number of distinct values replaced so far. */
size_t seam_redactor_count(const seam_redactor *r);

/* Appends <text> with every issued placeholder restored to <out>. */
seam_rc seam_restore_text(const seam_redactor *r, const char *text, size_t len, seam_buf *out);

/* Same for text that is a JSON document (tool-call arguments): a value
 * restored inside a JSON string is JSON-escaped (a"b becomes a\"b), one
 * restored outside any string is written as a quoted JSON string, and a
 * placeholder right after a backslash is left alone. */
seam_rc seam_restore_json(const seam_redactor *r, const char *text, size_t len, seam_buf *out);

/* Restores a stream of text arriving in pieces. Bytes that cannot be part of
 * an issued placeholder are released at once; only a suffix that could still
 * become one is held back. The output equals seam_restore_text's (or
 * seam_restore_json's) on the whole text, however the stream is split. */
typedef struct seam_restore_stream {
    const seam_redactor *r;
    seam_buf held;
    bool json, in_string, escaped; /* JSON mode and where the text read so far stands */
} seam_restore_stream;

void seam_restore_stream_init(seam_restore_stream *st, const seam_redactor *r);
/* A stream of JSON text (tool-call argument deltas of one call). */
void seam_restore_json_stream_init(seam_restore_stream *st, const seam_redactor *r);
/* Appends what can be released of <p> to <out>. After an error the stream
 * may only be freed. */
seam_rc seam_restore_stream_feed(seam_restore_stream *st, const char *p, size_t n, seam_buf *out);
/* End of the stream: releases whatever is held. */
seam_rc seam_restore_stream_flush(seam_restore_stream *st, seam_buf *out);
void seam_restore_stream_free(seam_restore_stream *st);

#endif
