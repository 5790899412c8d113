/*
 * libFuzzer harness for upstream OpenAI SSE streams: arbitrary bytes, split
 * at a fuzzer-chosen point, through the provider's stream parser into
 * canonical events, and every event through the client-side SSE writer.
 */
#include "api/openai.h"
#include "providers/openai.h"

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
    if (size < 1)
        return 0;
    size_t cut = data[0] % size;
    const char *p = (const char *)data + 1;
    size--;
    if (cut > size)
        cut = size;
    seam_arena *a = seam_arena_new(4096);
    if (!a)
        return 0;
    struct relay r;
    seam_openai_writer_init(&r.w, a, "id", "model", true);
    seam_buf_init(&r.out, 1 << 20);
    seam_event_sink sink = {relay_event, &r};
    char err[256];
    seam_provider_stream *s = seam_provider_openai.stream_new(a);
    if (s && seam_provider_openai.stream_feed(s, p, cut, &sink, err, sizeof(err)) == SEAM_OK &&
        seam_provider_openai.stream_feed(s, p + cut, size - cut, &sink, err, sizeof(err)) ==
            SEAM_OK)
        seam_provider_openai.stream_end(s, &sink, err, sizeof(err));
    seam_buf_free(&r.out);
    seam_arena_free(a);
    return 0;
}
