/*
 * libFuzzer harness for the configuration parser: feeds arbitrary bytes to
 * seam_config_parse and frees whatever comes back. Sanitizers catch memory
 * errors and leaks on both the success and the error paths; on success the
 * snapshot is also printed, so the printer sees every shape that parses.
 *
 *   clang -fsanitize=fuzzer,address,undefined ... -o fuzz_config
 *   ./fuzz_config fuzz/corpus/fuzz_config
 */
#include "config/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* libfyaml 0.7.12 loses the iterator chunk array that fy_atom_format_text()
 * grows past its 8 built-in slots, which a quoted scalar made of many
 * consecutive escapes ('') triggers from fy_node_get_scalar().
 * The leak is in the library (the array is never handed to us), so only
 * that frame is suppressed; leaks anywhere else are still reported. The
 * suppression needs the full allocation stack, which the fast unwinder cannot
 * produce through libfyaml (built without frame pointers). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:fy_atom_format_text\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seam_config *cfg = NULL;
    char err[512];
    static FILE *sink;

    if (!sink)
        sink = fopen("/dev/null", "w");
    if (seam_config_parse((const char *)data, size, "fuzz.yaml", &cfg, err, sizeof err) ==
        SEAM_OK) {
        if (sink)
            seam_config_print(cfg, sink);
        seam_config_free(cfg);
    } else if (cfg || memchr(err, '\0', sizeof err) == NULL || err[0] == '\0') {
        /* A failure must leave no snapshot and a terminated, non-empty message. */
        __builtin_trap();
    }
    return 0;
}
