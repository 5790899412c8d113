/*
 * JSON-lines logger. Each line is formatted fully in memory and written with
 * one write(2), so lines from different workers never interleave.
 */
#include "core/log.h"
#include "core/jsonbuf.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_int min_level = SEAM_LOG_INFO;

static const char *level_name[] = {"debug", "info", "warn", "error"};

void seam_log_set_level(seam_log_level level)
{
    atomic_store(&min_level, (int)level);
}

void seam_log_timestamp(char out[64])
{
    /* The date and time to the second change once a second: each thread
     * formats them once and reuses them (gmtime_r and a 6-field snprintf
     * per line cost more than the rest of an access line). */
    static _Thread_local time_t cached_sec = -1;
    static _Thread_local char cached[32];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != cached_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(cached, sizeof cached, "%04u-%02u-%02uT%02u:%02u:%02u",
                 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
                 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
                 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u);
        cached_sec = ts.tv_sec;
    }
    unsigned ms = (unsigned)(ts.tv_nsec / 1000000);
    size_t n = strlen(cached);
    memcpy(out, cached, n);
    out[n] = '.';
    out[n + 1] = (char)('0' + ms / 100);
    out[n + 2] = (char)('0' + ms / 10 % 10);
    out[n + 3] = (char)('0' + ms % 10);
    out[n + 4] = 'Z';
    out[n + 5] = '\0';
}

static void write_all(const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Writes {"ts":...,"level":...,<members>}\n with one write(2). */
static void write_line(seam_log_level level, const char *members, size_t len)
{
    char ts[64];
    seam_log_timestamp(ts);
    char head[128];
    int n = snprintf(head, sizeof head, "{\"ts\":\"%s\",\"level\":\"%s\"%s", ts, level_name[level],
                     len ? "," : "");
    seam_buf b;
    seam_buf_init(&b, (size_t)-1);
    if (seam_buf_reserve(&b, (size_t)n + len + 2) == SEAM_OK) {
        seam_buf_append(&b, head, (size_t)n);
        seam_buf_append(&b, members, len);
        seam_buf_append(&b, "}\n", 2);
        write_all(b.data, b.len);
    }
    seam_buf_free(&b);
}

bool seam_log_enabled(seam_log_level level)
{
    return (int)level >= atomic_load(&min_level);
}

void seam_log_members(seam_log_level level, const char *members, size_t len)
{
    if (seam_log_enabled(level))
        write_line(level, members, len);
}

void seam_log_json(seam_log_level level, json_t *fields)
{
    if (!seam_log_enabled(level) || !fields) {
        json_decref(fields);
        return;
    }
    /* The fields' members follow "ts" and "level" in the same object:
     * written once, not merged into a new object first. */
    seam_buf b;
    seam_buf_init(&b, (size_t)-1);
    if (seam_buf_add_json(&b, fields, JSON_COMPACT | JSON_REAL_PRECISION(6)) == SEAM_OK &&
        b.len >= 2)
        write_line(level, b.data + 1, b.len - 2); /* without the braces */
    seam_buf_free(&b);
    json_decref(fields);
}

void seam_log(seam_log_level level, const char *fmt, ...)
{
    if ((int)level < atomic_load(&min_level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    seam_log_json(level, json_pack("{s:s}", "msg", msg));
}
