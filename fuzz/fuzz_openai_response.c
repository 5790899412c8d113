/*
 * libFuzzer harness for whole (non-stream) upstream answers: arbitrary bodies
 * through the provider's parser into the answer collector, then the
 * OpenAI chat.completion body and an upstream error message read.
 */
#include "api/openai.h"
#include "providers/openai.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    seam_answer *c = seam_answer_new(a, "id", "model");
    if (c) {
        seam_event_sink sink = {seam_answer_event, c};
        char err[256];
        size_t len;
        if (seam_provider_openai.parse_response((const char *)data, size, a, &sink, err,
                                                sizeof(err)) == SEAM_OK)
            seam_api_openai_answer_body(c, NULL, a, &len);
        seam_provider_openai.error_message((const char *)data, size, err, sizeof(err));
    }
    seam_arena_free(a);
    return 0;
}
