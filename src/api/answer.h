/*
 * A whole answer gathered from canonical events, for clients that did not
 * ask for a stream. Every ingress collects with the same code and only
 * renders the result in its own shape (seam_ingress.answer_body), so the
 * rules of assembly (tool-call fragments joined in order, usage taken from
 * the last usage event, the finish reason as the provider gave it) are
 * written once.
 */
#ifndef SEAM_API_ANSWER_H
#define SEAM_API_ANSWER_H

#include "core/arena.h"
#include "core/buf.h"
#include "core/canon.h"

#include <stdbool.h>
#include <time.h>

#define SEAM_ANSWER_MAX_CALLS 128
#define SEAM_ANSWER_MAX_BYTES (256u << 20) /* per text, thinking or argument buffer */

typedef struct seam_answer_call {
    const char *id; /* the provider's, or "call_<index>" when it gave none */
    const char *name;
    seam_buf args; /* the arguments as a JSON text, fragments joined */
} seam_answer_call;

typedef struct seam_answer {
    seam_arena *arena;
    const char *id, *model; /* from the start event, else the fallbacks */
    seam_buf text, thinking, refusal;
    seam_buf signature; /* of the thinking (Anthropic), empty when none or
                         * when several blocks were joined */
    int signed_blocks;
    seam_answer_call calls[SEAM_ANSWER_MAX_CALLS];
    int ncalls;
    bool have_usage, finished, have_error;
    seam_usage usage;
    seam_finish finish;
    seam_event error;        /* when have_error: text and err_type copied */
    struct timespec started; /* CLOCK_MONOTONIC at creation */
    struct timespec first;   /* at the first text, thinking or tool event */
    bool have_first;
} seam_answer;

/* A collector in <a> (buffers released with the arena), or NULL. */
seam_answer *seam_answer_new(seam_arena *a, const char *fallback_id, const char *fallback_model);

/* Event sink function (ctx = the answer). Returns -1 on a malformed event
 * sequence (a tool call out of order) or when a bound is exceeded. */
int seam_answer_event(void *ctx, const seam_event *ev);

/* Nanoseconds from creation to now, and from creation to the first token. */
long long seam_answer_elapsed_ns(const seam_answer *ans);
long long seam_answer_first_ns(const seam_answer *ans);

#endif
