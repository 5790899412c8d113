/*
 * libFuzzer harness for the Anthropic, Ollama and Gemini answer parsers: the
 * first byte picks the provider, the second where the bytes are split; the
 * rest goes through the provider's stream parser (two feeds and the end of
 * the stream) and, whole, through parse_response. Every event is relayed to
 * the client-side OpenAI writer, as the gateway does.
 */
#include "api/openai.h"
#include "providers/anthropic.h"
#include "providers/gemini.h"
#include "providers/ollama.h"

#include <stdint.h>

struct relay {
    seam_openai_writer w;
    seam_buf out;
};

static int relay_event(void *ctx, const seam_event *ev)
{
    struct relay *r = ctx;
    seam_buf_reset(&r->out);
    return seam_openai_writer_event(&r->w, ev, &r->out) == SEAM_OK ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const seam_provider *const provs[] = {&seam_provider_anthropic, &seam_provider_ollama,
                                                 &seam_provider_gemini};
    if (size < 2)
        return 0;
    const seam_provider *prov = provs[data[0] % 3];
    size_t n = size - 2;
    size_t cut = n ? data[1] % (n + 1) : 0;
    const char *p = (const char *)data + 2;
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    struct relay r;
    seam_openai_writer_init(&r.w, a, "id", "model", true);
    seam_buf_init(&r.out, 1 << 20);
    seam_event_sink sink = {relay_event, &r};
    char err[256];
    seam_provider_stream *s = prov->stream_new(a);
    if (s && prov->stream_feed(s, p, cut, &sink, err, sizeof(err)) == SEAM_OK &&
        prov->stream_feed(s, p + cut, n - cut, &sink, err, sizeof(err)) == SEAM_OK)
        prov->stream_end(s, &sink, err, sizeof(err));
    struct relay whole; /* a second writer: each releases its buffers with the arena */
    seam_openai_writer_init(&whole.w, a, "id", "model", false);
    seam_buf_init(&whole.out, 1 << 20);
    seam_event_sink wsink = {relay_event, &whole};
    prov->parse_response(p, n, a, &wsink, err, sizeof(err));
    prov->error_message(p, n, err, sizeof(err));
    seam_buf_free(&r.out);
    seam_buf_free(&whole.out);
    seam_arena_free(a);
    return 0;
}
