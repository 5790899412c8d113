/*
 * The canonical model: seam's one internal language. Every client wire format
 * decodes into a seam_req and every backend wire format encodes from it;
 * every upstream stream (or whole response) becomes a sequence of
 * seam_events, and every client format is written from those events. No
 * format is ever translated to another directly.
 *
 * All strings and arrays of a seam_req live in its arena. JSON values
 * (schemas, opaque parts) are jansson references released by arena hooks.
 */
#ifndef SEAM_CORE_CANON_H
#define SEAM_CORE_CANON_H

#include "core/arena.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sensitivity levels are ordered: a backend with clearance C may receive any
 * request whose sensitivity is <= C. */
typedef enum {
    SEAM_SENS_PUBLIC = 0,
    SEAM_SENS_INTERNAL = 1,
    SEAM_SENS_REGULATED = 2,
    SEAM_SENS__COUNT
} seam_sensitivity;

typedef enum {
    SEAM_KIND_SUMMARIZE = 0,
    SEAM_KIND_CLASSIFY,
    SEAM_KIND_DRAFT,
    SEAM_KIND_CODE,
    SEAM_KIND_CHAT,
    SEAM_KIND_EMBED,
    SEAM_KIND_OTHER,
    SEAM_KIND__COUNT
} seam_kind;

typedef enum {
    SEAM_CPLX_LOW = 0,
    SEAM_CPLX_MEDIUM,
    SEAM_CPLX_HIGH,
    SEAM_CPLX__COUNT
} seam_complexity;

/* Which client dialect a request arrived in (errors are written in it, and
 * unmodelled fields are only forwarded to a backend of the same dialect). */
typedef enum {
    SEAM_API_OPENAI = 0, /* Chat Completions, embeddings */
    SEAM_API_ANTHROPIC,  /* Messages */
    SEAM_API_OLLAMA,     /* /api/chat, /api/generate, /api/embed */
} seam_api;

/* Bits of seam_task.declared: which fields the client set itself. */
#define SEAM_TASK_DECLARED_KIND        (1u << 0)
#define SEAM_TASK_DECLARED_SENSITIVITY (1u << 1)
#define SEAM_TASK_DECLARED_COMPLEXITY  (1u << 2)

typedef struct seam_task {
    seam_kind kind;
    seam_sensitivity sensitivity; /* effective: declared or default, only ever raised */
    seam_sensitivity declared_sensitivity;
    seam_complexity complexity;
    unsigned declared;
    uint64_t prompt_tokens; /* estimated */
    uint64_t output_tokens; /* requested max, 0 when not given */
    uint64_t tokens;        /* prompt_tokens + output_tokens */
    struct {
        bool vision, tools, thinking, embeddings;
        uint64_t context_tokens;
    } needs;
    const char *key_name, *tenant;
} seam_task;

typedef enum {
    SEAM_ROLE_SYSTEM = 0,
    SEAM_ROLE_DEVELOPER,
    SEAM_ROLE_USER,
    SEAM_ROLE_ASSISTANT,
    SEAM_ROLE_TOOL,
} seam_role;

typedef enum {
    SEAM_PART_TEXT = 0,
    SEAM_PART_IMAGE,
    SEAM_PART_TOOL_CALL,
    SEAM_PART_TOOL_RESULT,
    SEAM_PART_THINKING,
    SEAM_PART_REFUSAL,
    /* A part seam does not model (audio, files); kept as the client's JSON and
     * only forwarded to a backend of the same dialect. */
    SEAM_PART_OPAQUE,
} seam_part_type;

typedef struct seam_part {
    seam_part_type type;
    const char *text; /* text, thinking, refusal, tool result content */
    size_t text_len;
    const char *image_url; /* image: https URL or data: URL as given */
    const char *image_detail;
    const char *call_id; /* tool call id; tool result: the call it answers */
    const char *name;    /* tool call: function name; tool result: the function's name
                          * when the client gave it (Ollama's tool_name) */
    const char *args;    /* tool call: arguments as a JSON string */
    /* thinking: the signature Anthropic issued for this block, echoed back
     * only to an Anthropic backend (other providers drop thinking parts);
     * NULL when none. */
    const char *signature;
    /* SEAM_PART_OPAQUE: the original part. Also set on a thinking part
     * with empty text that stands for Anthropic's redacted_thinking block,
     * echoed only to Anthropic and dropped, like all thinking, elsewhere. */
    json_t *opaque;
} seam_part;

typedef struct seam_msg {
    seam_role role;
    const char *name; /* optional participant name */
    seam_part *parts;
    size_t nparts;
    bool content_is_string; /* the client sent content as a plain string */
    bool content_null;      /* assistant content was null/absent */
} seam_msg;

typedef struct seam_tool {
    const char *name, *description;
    json_t *parameters; /* JSON Schema, may be NULL */
    int strict;         /* -1 unset, 0, 1 */
} seam_tool;

typedef enum {
    SEAM_REASONING_UNSET = 0,
    SEAM_REASONING_OFF,
    SEAM_REASONING_MINIMAL,
    SEAM_REASONING_LOW,
    SEAM_REASONING_MEDIUM,
    SEAM_REASONING_HIGH,
    SEAM_REASONING_XHIGH,
    SEAM_REASONING_MAX,
} seam_reasoning;

typedef struct seam_params {
    int64_t max_tokens;     /* -1 when absent */
    bool max_tokens_legacy; /* the client used max_tokens rather than max_completion_tokens */
    bool has_temperature, has_top_p, has_seed;
    double temperature, top_p;
    int64_t seed;
    const char **stop;
    size_t nstop;
    seam_reasoning reasoning;
    /* An explicit thinking budget in tokens (Anthropic budget_tokens, Gemini
     * thinkingBudget), 0 when the client gave a level or nothing; providers
     * with a budget control prefer it to the level's conventional budget. */
    int64_t reasoning_budget;
    const char *reasoning_raw; /* the client's effort string, for same-dialect echo */
    json_t *response_format;   /* as given, may be NULL */
    json_t *tool_choice;       /* as given, may be NULL */
} seam_params;

/* What an embeddings request (POST /v1/embeddings, /api/embed) adds. Its
 * inputs are the text parts of the request's user messages, one message per
 * input, so that scanning, redaction and policy see them like any prompt. */
typedef struct seam_embed {
    int64_t dimensions; /* -1 when absent */
    bool base64;        /* answer vectors as base64 float32 (OpenAI encoding_format) */
    int truncate;       /* -1 unset, 0, 1 (Ollama's truncate) */
    /* CLOCK_MONOTONIC in nanoseconds when the request was decoded: Ollama's
     * answer reports total_duration, measured from here. */
    long long started_ns;
} seam_embed;

/* Embedding vectors as a provider returned them. */
typedef struct seam_embeddings {
    size_t count, dim;
    float *values;        /* count x dim, row-major, in the request's arena */
    int64_t input_tokens; /* -1 when unknown */
    const char *model;    /* as the provider reported it, or NULL */
} seam_embeddings;

typedef struct seam_req {
    seam_arena *arena;
    seam_api ingress;
    const char *model; /* as requested */
    seam_msg *msgs;
    size_t nmsgs;
    seam_tool *tools;
    size_t ntools;
    seam_params params;
    bool stream;
    bool include_usage; /* client asked for a usage chunk */
    bool has_images;
    seam_task task;
    seam_embed *embed; /* non-NULL for an embeddings request */
    /* Top-level fields of the client's body that seam does not model; only
     * forwarded to a backend that speaks the same dialect. */
    json_t *passthrough;
} seam_req;

/* ---- stream events ---- */

typedef enum {
    SEAM_EV_START = 0,
    SEAM_EV_TEXT_DELTA,
    SEAM_EV_THINKING_DELTA,
    /* The signature of the thinking so far (Anthropic's signature_delta);
     * text = the signature. Only Anthropic-format clients receive it. */
    SEAM_EV_THINKING_SIGNATURE,
    SEAM_EV_REFUSAL_DELTA,
    SEAM_EV_TOOL_CALL_BEGIN,
    SEAM_EV_TOOL_CALL_ARGS_DELTA,
    SEAM_EV_TOOL_CALL_END,
    SEAM_EV_USAGE,
    SEAM_EV_FINISH,
    SEAM_EV_ERROR,
} seam_event_type;

typedef enum {
    SEAM_FINISH_STOP = 0,
    SEAM_FINISH_LENGTH,
    SEAM_FINISH_TOOL_CALLS,
    SEAM_FINISH_CONTENT_FILTER,
    SEAM_FINISH_ERROR,
} seam_finish;

typedef struct seam_usage {
    int64_t input, output, reasoning, cached; /* -1 when unknown */
} seam_usage;

typedef struct seam_event {
    seam_event_type type;
    const char *text; /* deltas, tool-call argument fragments, error message */
    size_t text_len;
    int index;        /* tool call index */
    const char *id;   /* start: response id; tool call begin: call id */
    const char *name; /* start: model; tool call begin: function name */
    seam_usage usage;
    seam_finish finish;
    int status;           /* error: HTTP status to report */
    const char *err_type; /* error: provider error type, if known */
} seam_event;

/* A consumer of events. Returns 0 to continue, -1 to abort the stream. */
typedef int (*seam_event_fn)(void *ctx, const seam_event *ev);

typedef struct seam_event_sink {
    seam_event_fn fn;
    void *ctx;
} seam_event_sink;

static inline int seam_emit(const seam_event_sink *s, const seam_event *ev)
{
    return s->fn(s->ctx, ev);
}

/* Names, for logs and headers. */
const char *seam_sensitivity_name(seam_sensitivity s);
const char *seam_kind_name(seam_kind k);
const char *seam_complexity_name(seam_complexity c);
const char *seam_finish_name_openai(seam_finish f);

/* Parse a name; returns 0 and sets <out>, or -1 when unknown. Case-sensitive,
 * lower case, as documented. */
int seam_sensitivity_parse(const char *s, seam_sensitivity *out);
int seam_kind_parse(const char *s, seam_kind *out);
int seam_complexity_parse(const char *s, seam_complexity *out);

/* Keeps a jansson reference alive until <a> is freed (json_decref hook).
 * Returns <v>, or NULL (and drops the reference) when out of memory. */
json_t *seam_arena_json(seam_arena *a, json_t *v);

#endif
