/*
 * Structured logging: one JSON object per line on stderr. Log lines carry
 * types, names and counts, never prompt text, completions, detected values or
 * API keys: callers must not pass those in.
 */
#ifndef SEAM_CORE_LOG_H
#define SEAM_CORE_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum { SEAM_LOG_DEBUG, SEAM_LOG_INFO, SEAM_LOG_WARN, SEAM_LOG_ERROR } seam_log_level;

/* Lines below <level> are dropped. Default: SEAM_LOG_INFO. */
void seam_log_set_level(seam_log_level level);

/* Writes {"ts","level","msg"} with msg formatted from <fmt>. */
void seam_log(seam_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes <fields> with "ts" and "level" added in front. Takes ownership of
 * <fields> (steals the reference). */
void seam_log_json(seam_log_level level, json_t *fields);

/* Writes a line whose members after "ts" and "level" are <members>
 * (<len> bytes of `"key":value,...`, already JSON): for per-request lines
 * written without building a jansson object. */
void seam_log_members(seam_log_level level, const char *members, size_t len);

/* Whether lines at <level> are written. */
bool seam_log_enabled(seam_log_level level);

#define seam_log_info(...)  seam_log(SEAM_LOG_INFO, __VA_ARGS__)
#define seam_log_warn(...)  seam_log(SEAM_LOG_WARN, __VA_ARGS__)
#define seam_log_error(...) seam_log(SEAM_LOG_ERROR, __VA_ARGS__)

/* Formats the current UTC time as RFC 3339 with milliseconds into <out>. */
void seam_log_timestamp(char out[64]);

#endif
