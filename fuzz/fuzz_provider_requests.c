/*
 * libFuzzer harness for the Anthropic, Ollama and Gemini request encoders:
 * arbitrary OpenAI request bodies are decoded as the gateway does and, when
 * valid, built into an upstream call for each of the three providers.
 */
#include "api/openai.h"
#include "providers/anthropic.h"
#include "providers/gemini.h"
#include "providers/ollama.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const seam_provider *const provs[] = {&seam_provider_anthropic, &seam_provider_ollama,
                                                 &seam_provider_gemini};
    static seam_backend_conf b = {.name = "fuzz", .url = "http://fuzz", .max_tokens_default = 4096};
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    seam_req *req = NULL;
    json_t *meta = NULL;
    char err[256];
    const char *param;
    if (seam_api_openai_decode(a, (const char *)data, size, &req, &meta, err, sizeof(err),
                               &param) == SEAM_OK) {
        for (size_t i = 0; i < 3; i++) {
            seam_upstream_call c = {0};
            provs[i]->build(req, &b, "fuzz-model", "fuzz-key", a, &c, err, sizeof(err));
            seam_buf_free(&c.body);
        }
    }
    seam_arena_free(a);
    return 0;
}
