/*
 * libFuzzer harness for embeddings: the first byte picks the parser (the
 * seeds use the digits '0' to '4'), the rest is its input.
 *   0, 1  an OpenAI /v1/embeddings or Ollama /api/embed request body, then
 *         the egress build for every provider and the answer rendered from
 *         vectors made up for its inputs, as the gateway does;
 *   2-4   an OpenAI, Ollama or Gemini embeddings response body, then the
 *         check against a one-input request and both dialects' answers.
 */
#include "api/embed.h"
#include "providers/embed.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void render_both(const seam_embeddings *e, seam_req *req, seam_arena *a)
{
    size_t len;
    bool b64 = req->embed->base64;
    req->embed->base64 = false;
    seam_ingress_openai_embeddings.embeddings_body(e, req, a, &len);
    req->embed->base64 = true;
    seam_ingress_openai_embeddings.embeddings_body(e, req, a, &len);
    req->embed->base64 = b64;
    seam_ingress_ollama_embed.embeddings_body(e, req, a, &len);
}

static void fuzz_request(const seam_ingress *in, const char *body, size_t size, seam_arena *a)
{
    seam_req *req = NULL;
    json_t *meta = NULL;
    char err[256];
    const char *param;
    if (in->decode(a, body, size, &req, &meta, err, sizeof(err), &param) != SEAM_OK)
        return;
    static const seam_provider_kind kinds[] = {SEAM_PROVIDER_OPENAI, SEAM_PROVIDER_ANTHROPIC,
                                               SEAM_PROVIDER_OLLAMA, SEAM_PROVIDER_GEMINI};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        seam_backend_conf b = {0};
        b.name = "fuzz";
        b.provider = kinds[k];
        b.url = "http://127.0.0.1:1";
        seam_upstream_call c;
        seam_provider_embed_build(req, &b, "models/fuzz-model", "key", a, &c, err, sizeof(err));
        seam_buf_free(&c.body);
    }
    /* Vectors derived from the inputs' lengths: one per input. */
    seam_embeddings e = {.count = req->nmsgs, .dim = 3, .input_tokens = -1};
    e.values = seam_arena_calloc(a, e.count * e.dim * sizeof(float));
    if (!e.values)
        return;
    for (size_t i = 0; i < req->nmsgs; i++)
        for (size_t j = 0; j < e.dim; j++)
            e.values[i * e.dim + j] = (float)req->msgs[i].parts[0].text_len / (float)(j + 1);
    render_both(&e, req, a);
}

static void fuzz_response(seam_provider_kind kind, const char *body, size_t size, seam_arena *a)
{
    seam_embeddings e;
    char err[256];
    if (seam_provider_embed_parse(kind, body, size, a, &e, err, sizeof(err)) != SEAM_OK)
        return;
    seam_req *req = NULL;
    json_t *meta = NULL;
    const char *param;
    static const char one[] = "{\"model\":\"auto\",\"input\":\"x\"}";
    if (seam_ingress_openai_embeddings.decode(a, one, sizeof(one) - 1, &req, &meta, err,
                                              sizeof(err), &param) != SEAM_OK)
        return;
    seam_provider_embed_check(req, &e, err, sizeof(err));
    render_both(&e, req, a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    switch ((unsigned char)(data[0] - '0') % 5) {
    case 0:
        fuzz_request(&seam_ingress_openai_embeddings, body, len, a);
        break;
    case 1:
        fuzz_request(&seam_ingress_ollama_embed, body, len, a);
        break;
    case 2:
        fuzz_response(SEAM_PROVIDER_OPENAI, body, len, a);
        break;
    case 3:
        fuzz_response(SEAM_PROVIDER_OLLAMA, body, len, a);
        break;
    case 4:
        fuzz_response(SEAM_PROVIDER_GEMINI, body, len, a);
        break;
    }
    seam_arena_free(a);
    return 0;
}
