/*
 * JSON-lines logger. Each line is formatted fully in memory and written with
 * one write(2), so lines from different workers never interleave.
 */
#include "core/log.h"

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
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
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

void seam_log_json(seam_log_level level, json_t *fields)
{
    if ((int)level < atomic_load(&min_level) || !fields) {
        json_decref(fields);
        return;
    }
    char ts[64];
    seam_log_timestamp(ts);
    json_t *line = json_pack("{s:s, s:s}", "ts", ts, "level", level_name[level]);
    if (line) {
        json_object_update(line, fields);
        char *s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
        if (s) {
            size_t n = strlen(s);
            s[n] = '\n';
            write_all(s, n + 1);
            free(s);
        }
        json_decref(line);
    }
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
