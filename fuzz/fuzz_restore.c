/*
 * libFuzzer harness for redaction and restore. The input is
 *
 *   n, seed, n x (type, start, length), source text, 0x00, answer template
 *
 * The source text is redacted with the n spans (clamped into it). The answer
 * is the template with two escapes expanded: 0xFF k writes placeholder k
 * ("[EMAIL_3]", issued or not) and 0xFE k writes a prefix of one, so the
 * fuzzer can put real placeholders, near misses and fragments anywhere. The
 * answer is then restored whole and as a stream cut at seed-chosen points
 * (and byte by byte), in plain and JSON mode; any difference aborts. When the
 * source has no '[', restoring the redacted text must give the source back.
 */
#include "scan/redact.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const names[] = {"EMAIL", "CREDIT_CARD", "US_SSN", "ENTITY",
                                    "DOB",   "JWT",         "IBAN",   "EMAIL_1"};

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_restore: %s\n", what);
        abort();
    }
}

static void placeholder(unsigned k, char *buf, size_t size)
{
    snprintf(buf, size, "[%s_%u]", names[k % 8], (k / 8) % 13);
}

static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void stream_once(const seam_redactor *r, int json, const char *p, size_t n, uint64_t *seed,
                        int bytewise, const seam_buf *want)
{
    seam_restore_stream st;
    if (json)
        seam_restore_json_stream_init(&st, r);
    else
        seam_restore_stream_init(&st, r);
    seam_buf out;
    seam_buf_init(&out, 1 << 24);
    size_t at = 0;
    while (at < n) {
        size_t step = bytewise ? 1 : (size_t)(next(seed) % (n - at + 1));
        check(seam_restore_stream_feed(&st, p + at, step, &out) == SEAM_OK, "feed failed");
        at += step;
        /* Only a proper prefix of a placeholder is ever held. */
        check(st.held.len < 80, "held too much");
        check(!st.held.len || st.held.data[0] == '[', "held does not start with [");
        check(!st.held.len || (st.held.len <= at &&
                               memcmp(st.held.data, p + at - st.held.len, st.held.len) == 0),
              "held is not the input's suffix");
    }
    check(seam_restore_stream_flush(&st, &out) == SEAM_OK, "flush failed");
    check(out.len == want->len && (!out.len || memcmp(out.data, want->data, out.len) == 0),
          "stream restore differs from whole restore");
    seam_restore_stream_free(&st);
    seam_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t nents = data[0] % 9;
    uint64_t seed = data[1] * 0x9e3779b97f4a7c15ull + size + 1;
    data += 2;
    size -= 2;
    if (size < nents * 3)
        return 0;
    const uint8_t *spec = data;
    data += nents * 3;
    size -= nents * 3;
    const uint8_t *sep = memchr(data, 0, size);
    const char *src = (const char *)data;
    size_t srclen = sep ? (size_t)(sep - data) : size;
    const uint8_t *tpl = sep ? sep + 1 : data;
    size_t tpllen = sep ? size - srclen - 1 : size;

    seam_arena *a = seam_arena_new(4096);
    check(a != NULL, "arena");
    seam_redactor *r = seam_redactor_new(a, NULL);
    check(r != NULL, "redactor");
    seam_entity ents[8];
    for (size_t i = 0; i < nents; i++) {
        size_t start = spec[3 * i + 1] % (srclen + 1);
        size_t len = spec[3 * i + 2] % (srclen - start + 1);
        ents[i] = (seam_entity){.type = spec[3 * i] % (SEAM_ENT__BUILTIN_COUNT + 2),
                                .start = start,
                                .end = start + len,
                                .score = (float)(spec[3 * i] >> 4) / 16.0f};
    }
    size_t redlen;
    char *red = seam_redact_text(r, src, srclen, ents, nents, &redlen);
    check(red != NULL, "redact failed");
    /* Redacting the same text again issues nothing new. */
    size_t count = seam_redactor_count(r), redlen2;
    char *red2 = seam_redact_text(r, src, srclen, ents, nents, &redlen2);
    check(red2 && redlen2 == redlen && memcmp(red, red2, redlen) == 0, "redaction not stable");
    check(seam_redactor_count(r) == count, "count changed");

    seam_buf b;
    seam_buf_init(&b, 1 << 24);
    if (!memchr(src, '[', srclen)) {
        check(seam_restore_text(r, red, redlen, &b) == SEAM_OK, "restore failed");
        check(b.len == srclen && (!srclen || memcmp(b.data, src, srclen) == 0), "round trip");
    }

    /* The answer: the redacted text, then the expanded template. */
    seam_buf ans;
    seam_buf_init(&ans, 1 << 24);
    check(seam_buf_append(&ans, red, redlen) == SEAM_OK, "append");
    for (size_t i = 0; i < tpllen; i++) {
        char ph[64];
        if ((tpl[i] == 0xFF || tpl[i] == 0xFE) && i + 1 < tpllen) {
            placeholder(tpl[i + 1], ph, sizeof(ph));
            size_t n = strlen(ph);
            if (tpl[i] == 0xFE)
                n = 1 + tpl[i + 1] % (n - 1);
            check(seam_buf_append(&ans, ph, n) == SEAM_OK, "append");
            i++;
        } else {
            check(seam_buf_append(&ans, tpl + i, 1) == SEAM_OK, "append");
        }
    }

    for (int json = 0; json < 2; json++) {
        seam_buf_reset(&b);
        seam_rc rc = json ? seam_restore_json(r, ans.data, ans.len, &b)
                          : seam_restore_text(r, ans.data, ans.len, &b);
        check(rc == SEAM_OK, "whole restore failed");
        for (int k = 0; k < 4; k++)
            stream_once(r, json, ans.data, ans.len, &seed, 0, &b);
        stream_once(r, json, ans.data, ans.len, &seed, 1, &b);
    }
    seam_buf_free(&ans);
    seam_buf_free(&b);
    seam_arena_free(a);
    return 0;
}
