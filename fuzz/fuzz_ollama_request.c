/*
 * libFuzzer harness for the Ollama ingress: arbitrary bodies through the
 * /api/chat and /api/generate decoders and, when valid, the task estimate
 * and every provider's request builder (the Ollama one with the client's
 * passthrough), as the gateway does; and through /api/show against a small
 * configuration.
 */
#include "api/ingress.h"
#include "api/ollama.h"
#include "policy/task.h"
#include "providers/anthropic.h"
#include "providers/gemini.h"
#include "providers/ollama.h"
#include "providers/openai.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char yaml[] = "listen: 127.0.0.1:0\n"
                           "backends:\n"
                           "  - name: local\n"
                           "    provider: ollama\n"
                           "    url: http://127.0.0.1:11434\n"
                           "    location: local\n"
                           "    models: [gemma4:31b]\n"
                           "    context_window: 131072\n"
                           "pools:\n"
                           "  all: [local]\n"
                           "policy:\n"
                           "  default: all\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static seam_config *cfg;
    static const seam_provider *const provs[] = {&seam_provider_openai, &seam_provider_anthropic,
                                                 &seam_provider_ollama, &seam_provider_gemini};
    static seam_backend_conf b = {.name = "fuzz", .url = "http://fuzz", .max_tokens_default = 4096};
    char err[256];
    if (!cfg &&
        seam_config_parse(yaml, strlen(yaml), "fuzz.yaml", &cfg, err, sizeof(err)) != SEAM_OK)
        abort();
    const seam_ingress *ings[] = {&seam_ingress_ollama_chat, &seam_ingress_ollama_generate};
    for (size_t k = 0; k < 2; k++) {
        seam_arena *a = seam_arena_new(4096);
        if (!a)
            return 0;
        seam_req *req = NULL;
        json_t *meta = NULL;
        const char *param;
        if (ings[k]->decode(a, (const char *)data, size, &req, &meta, err, sizeof(err), &param) ==
            SEAM_OK) {
            seam_task t;
            seam_task_init(&t, NULL);
            if (meta)
                seam_task_declare_json(&t, meta, err, sizeof(err));
            seam_task_estimate(&t, req);
            for (size_t i = 0; i < sizeof(provs) / sizeof(provs[0]); i++) {
                seam_upstream_call c = {0};
                provs[i]->build(req, &b, "fuzz-model", "fuzz-key", a, &c, err, sizeof(err));
                seam_buf_free(&c.body);
            }
        }
        seam_arena_free(a);
    }
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    size_t len;
    int status;
    seam_api_ollama_show(cfg, (const char *)data, size, a, &len, &status);
    seam_arena_free(a);
    return 0;
}
