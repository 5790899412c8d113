/*
 * libFuzzer harness for whole (non-stream) upstream answers: arbitrary bodies
 * through the provider's parser into the client-side collector, then the
 * collector's chat.completion body and an upstream error message read.
 */
#include "api/openai.h"
#include "providers/openai.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    seam_openai_collector *c = seam_openai_collector_new(a, "id", "model");
    if (c) {
        seam_event_sink sink = {seam_openai_collector_event, c};
        char err[256];
        size_t len;
        if (seam_provider_openai.parse_response((const char *)data, size, a, &sink, err,
                                                sizeof(err)) == SEAM_OK)
            seam_openai_collector_body(c, &len);
        seam_provider_openai.error_message((const char *)data, size, err, sizeof(err));
    }
    seam_arena_free(a);
    return 0;
}
