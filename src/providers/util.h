/*
 * Helpers shared by the egress providers (internal to src/providers): body
 * serialisation, data URLs, tool-call bookkeeping, the effort -> thinking
 * budget convention, and emitting whole tool calls as canonical events.
 */
#ifndef SEAM_PROVIDERS_UTIL_H
#define SEAM_PROVIDERS_UTIL_H

#include "providers/provider.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* Bound on one upstream stream event (an SSE event or an NDJSON line). */
#define SEAM_PROVIDER_MAX_EVENT (16u << 20)
/* Tool calls one answer may carry. */
#define SEAM_PROVIDER_MAX_CALLS 128

/* The human message of an error body, into <out> ("" when none). Every
 * provider's shape: {"error":{"message":..}} (OpenAI, Anthropic, Gemini, also
 * wrapped in an array by Gemini's streaming endpoint) and {"error":".."}
 * (Ollama). */
void seam_provider__error_message(const char *body, size_t len, char *out, size_t n);

/* Serialises <body> compactly into <out->body> (initialised here). Takes
 * ownership of <body> and releases it in every case. */
seam_rc seam_provider__dump(json_t *body, seam_upstream_call *out);

/* Splits a base64 data URL, "data:<mime>;base64,<data>": sets <*mime> (a
 * copy in <a>) and <*data> (pointing into <url>). Returns 0, or -1 when <url>
 * is not one (or out of memory). */
int seam_provider__data_url(const char *url, seam_arena *a, const char **mime, const char **data);

/* True for an http:// or https:// URL. */
bool seam_provider__remote_url(const char *url);

/* The thinking budget for an effort level, by the convention of
 * protocols.md section 5 (it is not vendor-defined): minimal and low 1024,
 * medium 8192, high 16384, xhigh 24576, max 32768; 0 for unset and off. */
int64_t seam_provider__budget(seam_reasoning r);

/* The tool call <id>, searched backwards from message <before> - 1, and the
 * index of its message in <*msg> (when <msg> is not NULL); NULL when no
 * earlier assistant message made it. */
const seam_part *seam_provider__find_call(const seam_req *req, size_t before, const char *id,
                                          size_t *msg);

/* The function name of tool call <id>, searched backwards from message
 * <before> - 1 (so a conversation that reuses synthesised ids such as
 * "call_0" on every turn maps each result to the nearest call). NULL when no
 * earlier assistant message made that call. */
const char *seam_provider__call_name(const seam_req *req, size_t before, const char *id);

/* Tool-call arguments (a JSON string) as a new object reference; "" and NULL
 * mean {}. Returns NULL with a message in <err> when they are not a JSON
 * object: providers that take objects cannot carry them. */
json_t *seam_provider__args_object(const seam_part *p, char *err, size_t errlen);

/* The text of a tool result message: its result parts concatenated, in <a>
 * (or pointing into the request when there is one part). NULL when out of
 * memory. */
const char *seam_provider__result_text(const seam_msg *m, seam_arena *a, size_t *len);

/* Emits a text-like delta (<type>) unless it is empty. Returns the sink's
 * verdict (non-zero: stop). */
int seam_provider__emit_text(const seam_event_sink *sink, seam_event_type type, const char *text,
                             size_t len);

/* Emits a whole tool call: begin, one arguments delta, end. */
int seam_provider__emit_call(const seam_event_sink *sink, int index, const char *id,
                             const char *name, const char *args, size_t args_len);

/* Emits an error event with <msg> (or a generic text) and <type>. */
int seam_provider__emit_error(const seam_event_sink *sink, const char *msg, const char *type);

#endif
