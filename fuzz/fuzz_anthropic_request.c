/*
 * libFuzzer harness for the Anthropic ingress: arbitrary request bodies
 * through decoding, task metadata, the token estimate, count_tokens and
 * re-encoding for an Anthropic, an OpenAI and a Gemini upstream, as the
 * gateway does for every POST /v1/messages and /v1/messages/count_tokens.
 */
#include "api/anthropic.h"
#include "policy/task.h"
#include "providers/anthropic.h"
#include "providers/gemini.h"
#include "providers/openai.h"

#include <stdint.h>
#include <stdlib.h>

static void dump(json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    free(s);
    json_decref(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    seam_req *req = NULL;
    json_t *meta = NULL;
    char err[256];
    const char *param;
    size_t len;
    int status;
    seam_api_anthropic_count_tokens(a, NULL, (const char *)data, size, &len, &status);
    if (seam_ingress_anthropic.decode(a, (const char *)data, size, &req, &meta, err, sizeof(err),
                                      &param) == SEAM_OK) {
        seam_task t;
        seam_task_init(&t, NULL);
        if (meta)
            seam_task_declare_json(&t, meta, err, sizeof(err));
        seam_task_estimate(&t, req);
        seam_backend_conf b = {.name = "fuzz", .url = "https://x.test", .max_tokens_default = 4096};
        seam_rc rc;
        dump(seam_anthropic_encode_request(req, &b, "fuzz-model", a, &rc, err, sizeof(err)));
        dump(seam_openai_encode_request(req, "fuzz-model"));
        dump(seam_gemini_encode_request(req, a, &rc, err, sizeof(err)));
    }
    seam_arena_free(a);
    return 0;
}
