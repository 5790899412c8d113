/*
 * The answer collector: canonical events in, one seam_answer out. Tool
 * calls are indexed densely by the providers (call i begins before call
 * i+1), so calls[i] is the call with index i and fragments join in order.
 */
#include "api/answer.h"

#include <string.h>

static void answer_release(void *p)
{
    seam_answer *ans = p;
    seam_buf_free(&ans->text);
    seam_buf_free(&ans->thinking);
    seam_buf_free(&ans->refusal);
    seam_buf_free(&ans->signature);
    for (int i = 0; i < ans->ncalls; i++)
        seam_buf_free(&ans->calls[i].args);
}

seam_answer *seam_answer_new(seam_arena *a, const char *fallback_id, const char *fallback_model)
{
    seam_answer *ans = seam_arena_calloc(a, sizeof(*ans));
    if (!ans)
        return NULL;
    ans->arena = a;
    ans->id = fallback_id;
    ans->model = fallback_model;
    seam_buf_init(&ans->text, SEAM_ANSWER_MAX_BYTES);
    seam_buf_init(&ans->thinking, SEAM_ANSWER_MAX_BYTES);
    seam_buf_init(&ans->refusal, SEAM_ANSWER_MAX_BYTES);
    seam_buf_init(&ans->signature, SEAM_ANSWER_MAX_BYTES);
    clock_gettime(CLOCK_MONOTONIC, &ans->started);
    if (seam_arena_on_free(a, answer_release, ans) != 0)
        return NULL;
    return ans;
}

static void mark_first(seam_answer *ans)
{
    if (!ans->have_first) {
        clock_gettime(CLOCK_MONOTONIC, &ans->first);
        ans->have_first = true;
    }
}

static long long ns_between(const struct timespec *a, const struct timespec *b)
{
    return (long long)(b->tv_sec - a->tv_sec) * 1000000000LL + (b->tv_nsec - a->tv_nsec);
}

long long seam_answer_elapsed_ns(const seam_answer *ans)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return ns_between(&ans->started, &now);
}

long long seam_answer_first_ns(const seam_answer *ans)
{
    return ans->have_first ? ns_between(&ans->started, &ans->first) : seam_answer_elapsed_ns(ans);
}

int seam_answer_event(void *ctx, const seam_event *ev)
{
    seam_answer *ans = ctx;
    seam_rc rc = SEAM_OK;
    switch (ev->type) {
    case SEAM_EV_START:
        if (ev->id && !(ans->id = seam_arena_strdup(ans->arena, ev->id)))
            return -1;
        if (ev->name && !(ans->model = seam_arena_strdup(ans->arena, ev->name)))
            return -1;
        break;
    case SEAM_EV_TEXT_DELTA:
        mark_first(ans);
        rc = seam_buf_append(&ans->text, ev->text, ev->text_len);
        break;
    case SEAM_EV_THINKING_DELTA:
        mark_first(ans);
        rc = seam_buf_append(&ans->thinking, ev->text, ev->text_len);
        break;
    case SEAM_EV_THINKING_SIGNATURE:
        /* One signature covers one thinking block. The answer joins the
         * thinking of several blocks into one, which no signature covers:
         * it goes unsigned (and is dropped if echoed) rather than wrong. */
        if (ans->signed_blocks++ > 0)
            seam_buf_reset(&ans->signature);
        else
            rc = seam_buf_append(&ans->signature, ev->text, ev->text_len);
        break;
    case SEAM_EV_REFUSAL_DELTA:
        mark_first(ans);
        rc = seam_buf_append(&ans->refusal, ev->text, ev->text_len);
        break;
    case SEAM_EV_TOOL_CALL_BEGIN: {
        mark_first(ans);
        if (ev->index != ans->ncalls || ans->ncalls >= SEAM_ANSWER_MAX_CALLS || !ev->name)
            return -1;
        seam_answer_call *k = &ans->calls[ans->ncalls];
        k->id = ev->id && ev->id[0] ? seam_arena_strdup(ans->arena, ev->id)
                                    : seam_arena_printf(ans->arena, "call_%d", ev->index);
        k->name = seam_arena_strdup(ans->arena, ev->name);
        if (!k->id || !k->name)
            return -1;
        seam_buf_init(&k->args, SEAM_ANSWER_MAX_BYTES);
        ans->ncalls++;
        break;
    }
    case SEAM_EV_TOOL_CALL_ARGS_DELTA:
        if (ev->index < 0 || ev->index >= ans->ncalls)
            return -1;
        rc = seam_buf_append(&ans->calls[ev->index].args, ev->text, ev->text_len);
        break;
    case SEAM_EV_TOOL_CALL_END:
        break;
    case SEAM_EV_USAGE:
        ans->usage = ev->usage;
        ans->have_usage = true;
        break;
    case SEAM_EV_FINISH:
        ans->finish = ev->finish;
        ans->finished = true;
        break;
    case SEAM_EV_ERROR:
        ans->error = *ev;
        ans->error.text = seam_arena_strndup(ans->arena, ev->text ? ev->text : "", ev->text_len);
        ans->error.err_type = ev->err_type ? seam_arena_strdup(ans->arena, ev->err_type) : NULL;
        ans->have_error = true;
        break;
    }
    return rc == SEAM_OK ? 0 : -1;
}
