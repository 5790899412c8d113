/*
 * libFuzzer harness for the OpenAI ingress: arbitrary request bodies through
 * decoding, task metadata, the token estimate and re-encoding for the
 * upstream, as the gateway does for every POST /v1/chat/completions.
 */
#include "api/openai.h"
#include "policy/task.h"
#include "providers/openai.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    seam_req *req = NULL;
    json_t *meta = NULL;
    char err[256];
    const char *param;
    if (seam_api_openai_decode(a, (const char *)data, size, &req, &meta, err, sizeof(err),
                               &param) == SEAM_OK) {
        seam_task t;
        seam_task_init(&t, NULL);
        if (meta)
            seam_task_declare_json(&t, meta, err, sizeof(err));
        seam_task_estimate(&t, req);
        json_t *out = seam_openai_encode_request(req, "fuzz-model");
        char *s = out ? json_dumps(out, JSON_COMPACT) : NULL;
        free(s);
        json_decref(out);
    }
    seam_arena_free(a);
    return 0;
}
