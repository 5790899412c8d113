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
