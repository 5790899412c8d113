/*
 * libFuzzer harness for the sensitive-data scanner: arbitrary bytes through
 * seam_scan_text with the built-in detectors plus custom words and a custom
 * pattern, once as given (usually the in-place path), once behind a
 * no-break space and a full-width digit (the normalised path) and, for
 * inputs starting with 0xff 0xff, repeated past 100 KB (windows). Every result
 * must be well formed: spans inside the text, on UTF-8 boundaries of the
 * original bytes, sorted and not overlapping, scores between the threshold
 * and 1, known types, and a level that matches the types found.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... -o fuzz_scan
 *   ./fuzz_scan fuzz/corpus/fuzz_scan
 */
#include "config/config.h"
#include "core/alloc.h"
#include "scan/scan.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static seam_scanner *scanner;
static seam_scan_scratch *scratch;

static void init(void)
{
    static const char yaml[] =
        "backends:\n"
        "  - {name: a, provider: openai, url: 'http://h', location: local, models: [m]}\n"
        "pools: {local: [a]}\n"
        "detect:\n"
        "  threshold: 0.4\n"
        "  custom:\n"
        "    - {name: CODENAME, words: [bluebird, nightjar, 'c++', 'x'], level: internal}\n"
        "    - {name: HOST, pattern: '[a-z0-9-]+\\.corp\\.example\\.com'}\n";
    seam_config *cfg = NULL;
    char err[256];
    if (seam_config_parse(yaml, sizeof yaml - 1, "fuzz.yaml", &cfg, err, sizeof err) != SEAM_OK ||
        seam_scanner_new(cfg, &scanner, err, sizeof err) != SEAM_OK)
        abort();
    /* The scanner copies what it needs from the configuration. */
    seam_config_free(cfg);
    scratch = seam_scan_scratch_new(scanner);
    if (!scratch)
        abort();
}

/* Whether <t> is well-formed UTF-8 (loosely: lead and continuation bytes
 * in place), for the span-boundary check. */
static int utf8_ok(const unsigned char *t, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = t[i] < 0x80 ? 0 : t[i] >= 0xf0 ? 3 : t[i] >= 0xe0 ? 2 : t[i] >= 0xc2 ? 1 : 9;
        if (k == 9)
            return 0;
        for (size_t j = 1; j <= k; j++)
            if (i + j >= n || (t[i + j] & 0xc0) != 0x80)
                return 0;
        i += k + 1;
    }
    return 1;
}

static void check(const char *t, size_t n, int prefixed)
{
    int utf8 = utf8_ok((const unsigned char *)t, n);
    seam_scan_result r;
    seam_scan_result_init(&r);
    if (seam_scan_text(scanner, scratch, t, n, &r) != SEAM_OK) {
        /* Only allocation failures may fail a scan, and they fail closed. */
        if (r.n != 0 || r.level != SEAM_SENS_REGULATED)
            __builtin_trap();
        seam_scan_result_free(&r);
        return;
    }
    seam_sensitivity level = SEAM_SENS_PUBLIC;
    for (size_t i = 0; i < r.n; i++) {
        const seam_entity *e = &r.ents[i];
        if (e->start >= e->end || e->end > n || e->type >= seam_scan_type_count(scanner))
            __builtin_trap();
        if (i && e->start < r.ents[i - 1].end)
            __builtin_trap();
        if (!(e->score >= 0.4f && e->score <= 1.0f))
            __builtin_trap();
        /* In valid UTF-8, spans never start or end inside a character. */
        if (utf8 && (((unsigned char)t[e->start] & 0xc0) == 0x80 ||
                     (e->end < n && ((unsigned char)t[e->end] & 0xc0) == 0x80)))
            __builtin_trap();
        /* Nor inside the look-alikes the harness puts in front. */
        if (prefixed && (e->start == 1 || e->start == 3 || e->start == 4 || e->end == 1 ||
                         e->end == 3 || e->end == 4))
            __builtin_trap();
        if (seam_scan_type_level(scanner, e->type) > level)
            level = seam_scan_type_level(scanner, e->type);
        if (!seam_scan_type_name(scanner, e->type))
            __builtin_trap();
    }
    if (level != r.level)
        __builtin_trap();
    seam_scan_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!scanner)
        init();
    check((const char *)data, size, 0);
    /* The same bytes behind look-alikes, so they take the normalised path. */
    char *buf = malloc(size + 5);
    if (!buf)
        return 0;
    memcpy(buf, "\xc2\xa0\xef\xbc\x91", 5);
    memcpy(buf + 5, data, size);
    check(buf, size + 5, 1);
    free(buf);
    /* Inputs that start with 0xff 0xff are repeated past 100 KB (behind a
     * look-alike), so the scan runs over overlapping windows. */
    if (size > 2 && data[0] == 0xff && data[1] == 0xff) {
        size_t total = 5 + ((100000 / size) + 1) * size;
        char *big = malloc(total);
        if (!big)
            return 0;
        memcpy(big, "\xc2\xa0\xef\xbc\x91", 5);
        for (size_t o = 5; o < total; o += size)
            memcpy(big + o, data, size);
        check(big, total, 1);
        free(big);
    }
    return 0;
}
