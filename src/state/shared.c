/*
 * Shared state for several replicas (see shared.h): rate limits and budgets
 * kept in Redis through one asynchronous hiredis connection per worker loop.
 *
 * Connection. States: IDLE (waiting for the backoff timer), RESOLVING (a
 * host name is being looked up by a short-lived thread, because
 * getaddrinfo blocks and hiredis 0.14 would call it on the loop), CONNECTING
 * (non-blocking connect in progress) and READY. One timer serves as the
 * reconnect backoff in IDLE and as the connect deadline otherwise. Backoff
 * starts at RECONNECT_MIN_MS and doubles up to RECONNECT_MAX_MS, with jitter
 * so that the workers of many replicas do not reconnect in step.
 *
 * Calls. Each decision is a `shared_call` with a timer. It is sent at once
 * when READY, waits (under its timer) while RESOLVING or CONNECTING, and is
 * answered degraded on the next loop turn when IDLE. Whatever comes first,
 * the reply or the timer, answers it; the struct lives until hiredis has
 * also let go of it, since hiredis calls every command's callback exactly
 * once (with a NULL reply when the connection goes away). User callbacks are
 * only ever invoked from our own timer callbacks, from reply callbacks
 * (where hiredis defers a redisAsyncFree) and from seam_shared_free, never
 * from hiredis's connect/disconnect callbacks, where freeing the context
 * would be unsafe.
 *
 * A connection that stops answering (a hung or paused Redis keeps the TCP
 * connection open) is dropped once its oldest unanswered command is older
 * than STALL_MS, so that memory for waiting commands stays bounded and a
 * restarted Redis is picked up.
 *
 * Scripts run with EVALSHA (SHA-1 computed here, scripts preloaded with
 * SCRIPT LOAD on every connect) and fall back to EVAL once on NOSCRIPT. They
 * read the time with Redis's TIME, so replicas with skewed clocks agree on
 * refill and on the UTC day and month.
 *
 * Reentrancy: every entry point from the loop raises `depth`; a
 * seam_shared_free() made while depth > 0 detaches everything at once and
 * leaves the final free to the outermost entry point.
 */
#include "state/shared.h"
#include "core/alloc.h"
#include "core/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RECONNECT_MIN_MS   100u
#define RECONNECT_MAX_MS   1000u
#define CONNECT_TIMEOUT_MS 1000u
#define STALL_MS           1000u
/* Commands sent and not yet answered, per connection, before new decisions
 * are answered degraded at once instead of piling up behind a slow Redis. */
#define MAX_IN_FLIGHT 4096u
/* Tenants whose spend is kept while Redis is unreachable. */
#define MAX_PENDING_SPEND 256u
/* How long seam_shared_free waits for unacknowledged commands. */
#define DRAIN_MS 250

/* ---- scripts ---- */

/* Before Redis 5, a script that reads TIME may only write when it asks for
 * effects replication first; later versions always replicate effects. */
#define LUA_EFFECTS "if redis.replicate_commands then pcall(redis.replicate_commands) end\n"

/* Two token buckets per key, in GCRA form exactly as the in-process limiter
 * (src/auth/ratelimit.h): each bucket is one number, its "theoretical
 * arrival time" TAT, the instant (microseconds of Redis time) at which it
 * is full again; a unit costs T = 60 s / limit and the bucket holds one
 * minute (limit x T). Taking n: new = max(TAT, now) + n x T, admitted when
 * new - now <= 60 s. The hash holds r (request TAT), t (token TAT) and tpm
 * (for settle); it expires once both buckets are full again, and a missing
 * hash is two full buckets. Returns {1, 0} admitted, {0, wait_ms} limited,
 * {0, -1} more tokens than a whole minute's allowance. */
static const char LUA_RATE[] =
    LUA_EFFECTS "local rpm = tonumber(ARGV[1])\n"
                "local tpm = tonumber(ARGV[2])\n"
                "local want = tonumber(ARGV[3])\n"
                "if tpm > 0 and want > tpm then return {0, -1} end\n"
                "local tm = redis.call('TIME')\n"
                "local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
                "local h = redis.call('HMGET', KEYS[1], 'r', 't')\n"
                "local wait, tr, tt = 0, now, now\n"
                "if rpm > 0 then\n"
                "  tr = math.max(tonumber(h[1]) or now, now) + 60000000 / rpm\n"
                "  wait = math.max(wait, tr - now - 60000000)\n"
                "end\n"
                "if tpm > 0 then\n"
                "  tt = math.max(tonumber(h[2]) or now, now) + want * 60000000 / tpm\n"
                "  wait = math.max(wait, tt - now - 60000000)\n"
                "end\n"
                "if wait > 0 then return {0, math.ceil(wait / 1000)} end\n"
                "redis.call('HSET', KEYS[1], 'r', tr, 't', tt, 'tpm', tpm)\n"
                "redis.call('PEXPIRE', KEYS[1], math.ceil((math.max(tr, tt) - now) / 1000) + "
                "1000)\n"
                "return {1, 0}\n";

/* Token correction (ARGV[1] = tpm, ARGV[2] = actual - estimated tokens): a
 * charge moves the token TAT on from max(TAT, now), past the bottom of the
 * bucket if need be (the key then owes tokens); a refund moves it back, but
 * never before now (a full bucket). The expiry is only ever extended. */
static const char LUA_SETTLE[] =
    LUA_EFFECTS "local tpm = tonumber(ARGV[1])\n"
                "local d = tonumber(ARGV[2])\n"
                "if tpm <= 0 or d == 0 then return 0 end\n"
                "local tm = redis.call('TIME')\n"
                "local now = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
                "local tt = tonumber(redis.call('HGET', KEYS[1], 't')) or now\n"
                "if d > 0 then tt = math.max(tt, now) + d * 60000000 / tpm\n"
                "else tt = math.max(now, tt + d * 60000000 / tpm) end\n"
                "redis.call('HSET', KEYS[1], 't', tt, 'tpm', tpm)\n"
                "local ms = math.ceil((tt - now) / 1000) + 1000\n"
                "if redis.call('PTTL', KEYS[1]) < ms then redis.call('PEXPIRE', KEYS[1], ms) "
                "end\n"
                "return 1\n";

/* The UTC day and month from Redis's clock (Howard Hinnant's civil-date
 * algorithms; the Lua sandbox has no os.date). KEYS[1] is the tenant's key
 * base "<prefix>budget:{tenant}"; the day and month keys add ":d:YYYY-MM-DD"
 * and ":m:YYYY-MM". The hash tag keeps them in one cluster slot. */
#define LUA_BUDGET_KEYS                                                                            \
    "local function civil(z)\n"                                                                    \
    "  z = z + 719468\n"                                                                           \
    "  local era = math.floor(z / 146097)\n"                                                       \
    "  local doe = z - era * 146097\n"                                                             \
    "  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524)"             \
    " - math.floor(doe / 146096)) / 365)\n"                                                        \
    "  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))\n"              \
    "  local mp = math.floor((5 * doy + 2) / 153)\n"                                               \
    "  local d = doy - math.floor((153 * mp + 2) / 5) + 1\n"                                       \
    "  local m = mp < 10 and mp + 3 or mp - 9\n"                                                   \
    "  local y = yoe + era * 400\n"                                                                \
    "  if m <= 2 then y = y + 1 end\n"                                                             \
    "  return y, m, d\n"                                                                           \
    "end\n"                                                                                        \
    "local function days(y, m, d)\n"                                                               \
    "  if m <= 2 then y = y - 1 end\n"                                                             \
    "  local era = math.floor(y / 400)\n"                                                          \
    "  local yoe = y - era * 400\n"                                                                \
    "  local mp = m > 2 and m - 3 or m + 9\n"                                                      \
    "  local doy = math.floor((153 * mp + 2) / 5) + d - 1\n"                                       \
    "  return era * 146097 + yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy"        \
    " - 719468\n"                                                                                  \
    "end\n"                                                                                        \
    "local tm = redis.call('TIME')\n"                                                              \
    "local day = math.floor(tonumber(tm[1]) / 86400)\n"                                            \
    "local y, m, d = civil(day)\n"                                                                 \
    "local dkey = KEYS[1] .. string.format(':d:%04d-%02d-%02d', y, m, d)\n"                        \
    "local mkey = KEYS[1] .. string.format(':m:%04d-%02d', y, m)\n"

/* {day total, month total} as strings (nil when nothing was spent). */
static const char LUA_BUDGET_CHECK[] =
    LUA_BUDGET_KEYS "return {redis.call('GET', dkey), redis.call('GET', mkey)}\n";

/* Adds ARGV[1] USD to both totals. A day key lives until the end of the
 * next UTC day, a month key until a week into the next month. */
static const char LUA_BUDGET_ADD[] =
    LUA_EFFECTS LUA_BUDGET_KEYS "redis.call('INCRBYFLOAT', dkey, ARGV[1])\n"
                                "redis.call('INCRBYFLOAT', mkey, ARGV[1])\n"
                                "redis.call('EXPIREAT', dkey, (day + 2) * 86400)\n"
                                "local ny, nm = y, m + 1\n"
                                "if nm > 12 then ny = y + 1; nm = 1 end\n"
                                "redis.call('EXPIREAT', mkey, (days(ny, nm, 1) + 7) * 86400)\n"
                                "return 1\n";

typedef enum {
    SCRIPT_RATE = 0,
    SCRIPT_SETTLE,
    SCRIPT_BUDGET_CHECK,
    SCRIPT_BUDGET_ADD,
    SCRIPT__COUNT
} script_id;

static const char *const script_text[SCRIPT__COUNT] = {LUA_RATE, LUA_SETTLE, LUA_BUDGET_CHECK,
                                                       LUA_BUDGET_ADD};
static char script_sha[SCRIPT__COUNT][41];
static pthread_once_t script_sha_once = PTHREAD_ONCE_INIT;

static void script_sha_init(void)
{
    for (int i = 0; i < SCRIPT__COUNT; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;
        if (!EVP_Digest(script_text[i], strlen(script_text[i]), md, &n, EVP_sha1(), NULL) ||
            n != 20) {
            /* Without libcrypto's SHA-1 every EVALSHA gets NOSCRIPT and
             * falls back to EVAL: slower, still correct. */
            snprintf(script_sha[i], sizeof(script_sha[i]), "%040d", 0);
            continue;
        }
        for (unsigned j = 0; j < n; j++)
            snprintf(script_sha[i] + 2 * j, 3, "%02x", md[j]);
    }
}

/* ---- process-wide counters ---- */

static atomic_uint_fast64_t stat_degraded_rate, stat_degraded_budget, stat_timeouts,
    stat_writes_lost, stat_connects;

void seam_shared_stats_read(seam_shared_stats *out)
{
    out->degraded_rate = atomic_load_explicit(&stat_degraded_rate, memory_order_relaxed);
    out->degraded_budget = atomic_load_explicit(&stat_degraded_budget, memory_order_relaxed);
    out->timeouts = atomic_load_explicit(&stat_timeouts, memory_order_relaxed);
    out->writes_lost = atomic_load_explicit(&stat_writes_lost, memory_order_relaxed);
    out->connects = atomic_load_explicit(&stat_connects, memory_order_relaxed);
}

uint64_t seam_shared_degraded_total(void)
{
    return atomic_load_explicit(&stat_degraded_rate, memory_order_relaxed) +
           atomic_load_explicit(&stat_degraded_budget, memory_order_relaxed);
}

static void count(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* ---- URL ---- */

typedef struct url_parts {
    char host[256]; /* without brackets; "" for a unix socket */
    int port;
    char path[108]; /* unix socket path */
    char user[128];
    char pass[256];
    int db;
} url_parts;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes [<s>, <s>+<n>) into <out>; false when malformed or too
 * long. */
static bool pct_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int a = hexval(s[i + 1]), b = hexval(s[i + 2]);
            if (a < 0 || b < 0)
                return false;
            c = (char)(a * 16 + b);
            i += 2;
        }
        if (c == '\0' || o + 1 >= outlen)
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

static bool parse_url(const char *url, url_parts *u, char *err, size_t errlen)
{
    memset(u, 0, sizeof(*u));
    u->port = 6379;
    if (!url || !*url) {
        snprintf(err, errlen, "empty Redis URL");
        return false;
    }
    if (strncmp(url, "unix://", 7) == 0) {
        const char *p = url + 7;
        if (*p != '/' || strlen(p) >= sizeof(u->path)) {
            snprintf(err, errlen, "unix:// needs an absolute socket path (under %zu bytes)",
                     sizeof(u->path));
            return false;
        }
        strcpy(u->path, p);
        return true;
    }
    if (strncmp(url, "rediss://", 9) == 0) {
        snprintf(err, errlen,
                 "rediss:// (TLS) is not supported; use redis:// on a trusted network");
        return false;
    }
    if (strncmp(url, "redis://", 8) != 0) {
        snprintf(err, errlen, "the Redis URL must start with redis:// or unix://");
        return false;
    }
    const char *a = url + 8;
    const char *end = a + strcspn(a, "/?#");
    const char *at = NULL;
    for (const char *q = a; q < end; q++)
        if (*q == '@')
            at = q;
    const char *h = a;
    if (at) {
        const char *colon = memchr(a, ':', (size_t)(at - a));
        if (!colon) {
            snprintf(err, errlen, "a user in the Redis URL needs a password (user:password@)");
            return false;
        }
        if (!pct_decode(a, (size_t)(colon - a), u->user, sizeof(u->user)) ||
            !pct_decode(colon + 1, (size_t)(at - colon - 1), u->pass, sizeof(u->pass))) {
            snprintf(err, errlen, "malformed user or password in the Redis URL");
            return false;
        }
        if (!u->pass[0]) {
            snprintf(err, errlen, "empty password in the Redis URL");
            return false;
        }
        h = at + 1;
    }
    const char *hend;
    const char *portp = NULL;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb) {
            snprintf(err, errlen, "unclosed [ in the Redis URL host");
            return false;
        }
        if ((size_t)(rb - h - 1) >= sizeof(u->host)) {
            snprintf(err, errlen, "Redis host too long");
            return false;
        }
        memcpy(u->host, h + 1, (size_t)(rb - h - 1));
        u->host[rb - h - 1] = '\0';
        hend = rb + 1;
        if (hend < end) {
            if (*hend != ':') {
                snprintf(err, errlen, "unexpected text after ] in the Redis URL");
                return false;
            }
            portp = hend + 1;
        }
    } else {
        const char *colon = memchr(h, ':', (size_t)(end - h));
        hend = colon ? colon : end;
        if ((size_t)(hend - h) >= sizeof(u->host)) {
            snprintf(err, errlen, "Redis host too long");
            return false;
        }
        memcpy(u->host, h, (size_t)(hend - h));
        u->host[hend - h] = '\0';
        if (colon)
            portp = colon + 1;
    }
    if (!u->host[0]) {
        snprintf(err, errlen, "the Redis URL has no host");
        return false;
    }
    for (const char *c = u->host; *c; c++) {
        if (*c <= ' ' || *c == '/' || *c == '@' || *c == '%') {
            snprintf(err, errlen, "invalid character in the Redis host");
            return false;
        }
    }
    if (portp) {
        long port = 0;
        if (portp == end) {
            snprintf(err, errlen, "empty port in the Redis URL");
            return false;
        }
        for (const char *c = portp; c < end; c++) {
            if (*c < '0' || *c > '9' || port > 65535) {
                snprintf(err, errlen, "invalid port in the Redis URL");
                return false;
            }
            port = port * 10 + (*c - '0');
        }
        if (port < 1 || port > 65535) {
            snprintf(err, errlen, "invalid port in the Redis URL");
            return false;
        }
        u->port = (int)port;
    }
    if (*end == '/') {
        const char *d = end + 1;
        long db = 0;
        bool any = false;
        for (; *d >= '0' && *d <= '9' && db < 100000; d++, any = true)
            db = db * 10 + (*d - '0');
        if (*d != '\0' || (!any && d != end + 1) || db >= 100000) {
            snprintf(err, errlen, "the Redis URL path must be a database number (/0)");
            return false;
        }
        u->db = (int)db;
    } else if (*end != '\0') {
        snprintf(err, errlen, "query strings and fragments are not supported in the Redis URL");
        return false;
    }
    return true;
}

bool seam_shared_url_valid(const char *redis_url, char *err, size_t errlen)
{
    url_parts u;
    bool ok = parse_url(redis_url, &u, err, errlen);
    memset(u.pass, 0, sizeof(u.pass));
    return ok;
}

/* ---- the instance ---- */

typedef enum { ST_IDLE = 0, ST_RESOLVING, ST_CONNECTING, ST_READY } conn_state;
typedef enum { CALL_RATE = 0, CALL_BUDGET, CALL_WRITE } call_kind;

typedef struct shared_call shared_call;
struct shared_call {
    seam_shared *s; /* NULL once detached by seam_shared_free */
    shared_call *prev, *next;
    call_kind kind;
    script_id script;
    seam_shared_rate_cb rate_cb;
    seam_shared_budget_cb budget_cb;
    void *arg;
    struct event *timer; /* deadline, or "answer on the next turn" */
    double usd_day, usd_month;
    bool answered; /* the user callback has been called */
    bool in_redis; /* hiredis holds this call as privdata */
    bool running;  /* inside the user callback */
    bool held;     /* inside its own timer callback */
    bool retried;  /* NOSCRIPT: sent again with EVAL */
    bool deadline; /* the timer is the real deadline (not an immediate answer) */
    bool trivial;  /* nothing to ask: answer allowed / not exhausted */
    uint64_t sent_ms;
    char *key;
    int nargs;
    char args[3][40];
};

typedef struct pending_spend {
    char *tenant;
    double usd;
} pending_spend;

/* The lookup thread's end of a host-name resolution. */
typedef struct resolve_job {
    char *host;
    int fd;
} resolve_job;

struct seam_shared {
    struct event_base *base;
    char *prefix;
    url_parts url;
    char where[300]; /* host:port or path, for logs */
    bool host_numeric;
    redisAsyncContext *ac;
    conn_state state;
    struct event *conn_timer; /* backoff (IDLE) or connect deadline */
    int resolve_fd;           /* our end of the lookup thread's socket, -1 */
    struct event *resolve_ev;
    unsigned backoff_ms;
    bool rate_fail_open, budget_fail_open;
    unsigned timeout_ms;
    shared_call *head, *tail; /* calls attached to this instance, oldest first */
    size_t in_redis;          /* attached calls hiredis holds */
    pending_spend spend[MAX_PENDING_SPEND];
    size_t nspend;
    bool logged_down;  /* a failure has been logged since the last success */
    bool logged_error; /* an error reply has been logged on this connection */
    int depth;
    bool closing, dead;
    uint64_t rng;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct timeval tv_ms(unsigned ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

static void destroy(seam_shared *s);

static void enter(seam_shared *s)
{
    s->depth++;
}

/* Leaves an entry point; frees <s> when it was freed inside. Returns true
 * when <s> is gone. */
static bool leave(seam_shared *s)
{
    if (--s->depth == 0 && s->dead) {
        destroy(s);
        return true;
    }
    return false;
}

static void link_call(seam_shared *s, shared_call *c)
{
    c->s = s;
    c->prev = s->tail;
    c->next = NULL;
    if (s->tail)
        s->tail->next = c;
    else
        s->head = c;
    s->tail = c;
}

static void unlink_call(shared_call *c)
{
    seam_shared *s = c->s;
    if (!s)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->tail = c->prev;
    c->prev = c->next = NULL;
}

static void free_call(shared_call *c)
{
    if (c->timer)
        event_free(c->timer);
    seam_free(c->key);
    seam_free(c);
}

/* Frees <c> once nobody holds it any more. */
static void finish_call(shared_call *c)
{
    if (c->in_redis || c->running || c->held)
        return;
    unlink_call(c);
    c->s = NULL;
    free_call(c);
}

/* ---- answering ---- */

static void call_user(shared_call *c, bool ok, unsigned retry_after_s, bool degraded)
{
    c->answered = true;
    c->running = true;
    if (c->kind == CALL_RATE)
        c->rate_cb(c->arg, ok, retry_after_s, degraded);
    else if (c->kind == CALL_BUDGET)
        c->budget_cb(c->arg, !ok, degraded);
    c->running = false;
}

/* Answers a decision Redis did not make, by the fail-open rules given
 * (<rate_open>, <budget_open>), and counts it; a trivial call (no limit to
 * check) is answered as such. */
static void answer_degraded(shared_call *c, bool rate_open, bool budget_open)
{
    if (c->answered || c->kind == CALL_WRITE) {
        c->answered = true;
        return;
    }
    if (c->trivial) {
        call_user(c, true, 0, false);
        return;
    }
    if (c->kind == CALL_RATE) {
        count(&stat_degraded_rate);
        call_user(c, rate_open, rate_open ? 0 : 1, true);
    } else {
        count(&stat_degraded_budget);
        call_user(c, budget_open, 0, true);
    }
}

static void log_reply_error(seam_shared *s, const char *what, const redisReply *r)
{
    if (s->logged_error)
        return;
    s->logged_error = true;
    json_t *o =
        json_pack("{s:s, s:s, s:s, s:s#}", "msg", "redis error reply", "redis", s->where, "call",
                  what, "error", r->str ? r->str : "", (int)(r->len < 200 ? r->len : 200));
    if (o)
        seam_log_json(SEAM_LOG_WARN, o);
}

/* Reads Redis's answer into a decision; false when the reply is not what the
 * script returns. */
static bool decide(shared_call *c, const redisReply *r, bool *ok, unsigned *retry_after_s)
{
    *retry_after_s = 0;
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2)
        return false;
    if (c->kind == CALL_RATE) {
        const redisReply *a = r->element[0], *w = r->element[1];
        if (a->type != REDIS_REPLY_INTEGER || w->type != REDIS_REPLY_INTEGER)
            return false;
        *ok = a->integer != 0;
        if (!*ok && w->integer < 0) {
            *retry_after_s = 0; /* more than a minute's allowance */
        } else if (!*ok) {
            long long ms = w->integer > 0 ? w->integer : 1;
            long long sec = (ms + 999) / 1000;
            *retry_after_s = sec < 1 ? 1 : sec > 86400 ? 86400 : (unsigned)sec;
        }
        return true;
    }
    double spent[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        const redisReply *e = r->element[i];
        if (e->type == REDIS_REPLY_NIL)
            continue;
        if (e->type != REDIS_REPLY_STRING || !e->str)
            return false;
        char *endp = NULL;
        spent[i] = strtod(e->str, &endp);
        if (endp == e->str || !isfinite(spent[i]))
            return false;
    }
    bool exhausted = (c->usd_day >= 0 && spent[0] >= c->usd_day) ||
                     (c->usd_month >= 0 && spent[1] >= c->usd_month);
    *ok = !exhausted;
    return true;
}

/* ---- connection ---- */

static void start_connect(seam_shared *s);
static bool send_call(seam_shared *s, shared_call *c);

static unsigned jitter(seam_shared *s, unsigned ms)
{
    s->rng ^= s->rng << 13;
    s->rng ^= s->rng >> 7;
    s->rng ^= s->rng << 17;
    /* 75% .. 125% of <ms> */
    return ms * 3 / 4 + (unsigned)(s->rng % (ms / 2 + 1));
}

static void schedule_reconnect(seam_shared *s)
{
    s->state = ST_IDLE;
    unsigned ms = jitter(s, s->backoff_ms);
    s->backoff_ms = s->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : s->backoff_ms * 2;
    struct timeval tv = tv_ms(ms);
    evtimer_add(s->conn_timer, &tv);
}

static void log_down(seam_shared *s, const char *why)
{
    if (s->logged_down)
        return;
    s->logged_down = true;
    json_t *o = json_pack("{s:s, s:s, s:s}", "msg", "redis unreachable: shared limits degraded",
                          "redis", s->where, "error", why ? why : "");
    if (o)
        seam_log_json(SEAM_LOG_WARN, o);
}

/* Calls waiting for a connection are answered degraded on the next turn of
 * the loop: never from here, which may be a hiredis connect callback. */
static void release_waiting(seam_shared *s)
{
    static const struct timeval zero = {0, 0};
    for (shared_call *c = s->head; c; c = c->next) {
        if (!c->in_redis && !c->answered) {
            c->deadline = false;
            evtimer_add(c->timer, &zero);
        }
    }
}

static void connect_failed(seam_shared *s, const char *why)
{
    s->ac = NULL;
    log_down(s, why);
    release_waiting(s);
    schedule_reconnect(s);
}

/* Drops the current connection (hung, or refused our AUTH). Pending
 * commands come back through on_reply with NULL and are answered degraded. */
static void drop_connection(seam_shared *s, const char *why)
{
    redisAsyncContext *ac = s->ac;
    if (!ac)
        return;
    s->ac = NULL;
    ac->data = NULL;
    log_down(s, why);
    schedule_reconnect(s);
    redisAsyncFree(ac);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);

/* AUTH and SELECT replies. privdata is unused: <s> comes from ac->data,
 * which seam_shared_free clears. */
static void on_setup_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    seam_shared *s = ac->data;
    const redisReply *r = reply;
    if (!s || !r || r->type != REDIS_REPLY_ERROR || s->ac != ac)
        return;
    enter(s);
    json_t *o =
        json_pack("{s:s, s:s, s:s#}", "msg", "redis refused AUTH or SELECT", "redis", s->where,
                  "error", r->str ? r->str : "", (int)(r->len < 200 ? r->len : 200));
    if (o)
        seam_log_json(SEAM_LOG_ERROR, o);
    s->logged_down = true;
    drop_connection(s, "setup refused");
    leave(s);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    seam_shared *s = cac->data;
    if (!s)
        return;
    enter(s);
    if (status != REDIS_OK) {
        /* hiredis frees the context after this returns. */
        connect_failed(s, cac->errstr);
        leave(s);
        return;
    }
    redisAsyncContext *ac = s->ac;
    evtimer_del(s->conn_timer);
    s->state = ST_READY;
    s->backoff_ms = RECONNECT_MIN_MS;
    s->logged_error = false;
    count(&stat_connects);
    if (s->logged_down) {
        s->logged_down = false;
        json_t *o = json_pack("{s:s, s:s}", "msg", "redis reachable again", "redis", s->where);
        if (o)
            seam_log_json(SEAM_LOG_INFO, o);
    }
    /* Pipelined: AUTH and SELECT go first, so every later command runs
     * authenticated and in the right database. */
    if (s->url.pass[0]) {
        if (s->url.user[0])
            redisAsyncCommand(ac, on_setup_reply, NULL, "AUTH %s %s", s->url.user, s->url.pass);
        else
            redisAsyncCommand(ac, on_setup_reply, NULL, "AUTH %s", s->url.pass);
    }
    if (s->url.db)
        redisAsyncCommand(ac, on_setup_reply, NULL, "SELECT %d", s->url.db);
    for (int i = 0; i < SCRIPT__COUNT; i++)
        redisAsyncCommand(ac, NULL, NULL, "SCRIPT LOAD %s", script_text[i]);
    /* Spend kept while Redis was away (moved out first: an add that cannot
     * be sent queues itself again). */
    pending_spend kept[MAX_PENDING_SPEND];
    size_t n = s->nspend;
    memcpy(kept, s->spend, n * sizeof(kept[0]));
    s->nspend = 0;
    for (size_t i = 0; i < n; i++) {
        seam_shared_budget_add(s, kept[i].tenant, kept[i].usd);
        seam_free(kept[i].tenant);
    }
    /* Calls that waited for the connection, in order. */
    static const struct timeval zero = {0, 0};
    for (shared_call *c = s->head; c; c = c->next) {
        if (c->in_redis || c->answered || c->kind == CALL_WRITE)
            continue;
        if (!send_call(s, c)) {
            c->deadline = false;
            evtimer_add(c->timer, &zero);
        }
    }
    leave(s);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    seam_shared *s = cac->data;
    if (!s)
        return;
    enter(s);
    s->ac = NULL;
    log_down(s, cac->err ? cac->errstr : "connection closed");
    release_waiting(s);
    schedule_reconnect(s);
    leave(s);
}

static void do_connect(seam_shared *s, const char *ip)
{
    redisAsyncContext *ac =
        s->url.path[0] ? redisAsyncConnectUnix(s->url.path) : redisAsyncConnect(ip, s->url.port);
    if (!ac) {
        connect_failed(s, "out of memory");
        return;
    }
    if (ac->err) {
        char why[128];
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        connect_failed(s, why);
        return;
    }
    if (redisLibeventAttach(ac, s->base) != REDIS_OK) {
        redisAsyncFree(ac);
        connect_failed(s, "cannot attach to the event loop");
        return;
    }
    ac->data = s;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    s->ac = ac;
    s->state = ST_CONNECTING;
}

/* The lookup thread: getaddrinfo blocks, so it runs here and sends the
 * numeric address (or "") back over a socket pair. It owns <job> and never
 * touches the instance, which may be gone by the time it answers. */
static void *resolve_thread(void *arg)
{
    resolve_job *job = arg;
    char out[INET6_ADDRSTRLEN] = "";
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    if (getaddrinfo(job->host, NULL, &hints, &res) == 0) {
        const struct addrinfo *pick = NULL;
        for (const struct addrinfo *a = res; a; a = a->ai_next) {
            if (a->ai_family == AF_INET) {
                pick = a;
                break;
            }
            if (a->ai_family == AF_INET6 && !pick)
                pick = a;
        }
        if (pick && pick->ai_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)pick->ai_addr)->sin_addr,
                      out, sizeof(out));
        else if (pick)
            inet_ntop(AF_INET6,
                      &((const struct sockaddr_in6 *)(const void *)pick->ai_addr)->sin6_addr, out,
                      sizeof(out));
        freeaddrinfo(res);
    }
    (void)!send(job->fd, out, strlen(out) + 1, MSG_NOSIGNAL);
    close(job->fd);
    free(job->host);
    free(job);
    return NULL;
}

static void close_resolve(seam_shared *s)
{
    if (s->resolve_ev) {
        event_free(s->resolve_ev);
        s->resolve_ev = NULL;
    }
    if (s->resolve_fd >= 0) {
        close(s->resolve_fd);
        s->resolve_fd = -1;
    }
}

static void on_resolved(evutil_socket_t fd, short what, void *arg)
{
    seam_shared *s = arg;
    char ip[INET6_ADDRSTRLEN + 1];
    ssize_t n = recv(fd, ip, sizeof(ip) - 1, 0);
    enter(s);
    close_resolve(s);
    if (n <= 1) {
        connect_failed(s, "cannot resolve the Redis host");
    } else {
        ip[n] = '\0';
        do_connect(s, ip);
    }
    leave(s);
}

static void start_resolve(seam_shared *s)
{
    int sv[2] = {-1, -1};
    resolve_job *job = NULL;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        goto fail;
    job = malloc(sizeof(*job));
    if (!job || !(job->host = strdup(s->url.host)))
        goto fail;
    job->fd = sv[1];
    s->resolve_fd = sv[0];
    s->resolve_ev = event_new(s->base, sv[0], EV_READ, on_resolved, s);
    if (!s->resolve_ev || event_add(s->resolve_ev, NULL) != 0)
        goto fail;
    pthread_attr_t attr;
    pthread_t t;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, resolve_thread, job);
    pthread_attr_destroy(&attr);
    if (rc != 0)
        goto fail;
    return;
fail:
    if (job)
        free(job->host);
    free(job);
    if (sv[1] >= 0)
        close(sv[1]);
    if (s->resolve_fd >= 0) {
        close_resolve(s);
    } else if (sv[0] >= 0) {
        close(sv[0]);
    }
    connect_failed(s, "cannot start the host lookup");
}

static void start_connect(seam_shared *s)
{
    struct timeval tv = tv_ms(CONNECT_TIMEOUT_MS);
    s->state = ST_RESOLVING;
    evtimer_add(s->conn_timer, &tv);
    if (s->url.path[0] || s->host_numeric)
        do_connect(s, s->url.host);
    else
        start_resolve(s);
}

/* Backoff elapsed (IDLE), or the connection was not up in time. */
static void on_conn_timer(evutil_socket_t fd, short what, void *arg)
{
    seam_shared *s = arg;
    enter(s);
    switch (s->state) {
    case ST_IDLE:
        start_connect(s);
        break;
    case ST_RESOLVING:
        close_resolve(s);
        connect_failed(s, "host lookup timed out");
        break;
    case ST_CONNECTING: {
        redisAsyncContext *ac = s->ac;
        s->ac = NULL;
        if (ac) {
            ac->data = NULL;
            redisAsyncFree(ac);
        }
        connect_failed(s, "connect timed out");
        break;
    }
    case ST_READY:
        break;
    }
    leave(s);
}

/* ---- calls ---- */

static bool send_call(seam_shared *s, shared_call *c)
{
    if (!s->ac || s->state != ST_READY || s->in_redis >= MAX_IN_FLIGHT)
        return false;
    const char *argv[7];
    size_t lens[7];
    int argc = 0;
    bool eval = c->retried;
    argv[argc] = eval ? "EVAL" : "EVALSHA";
    lens[argc] = strlen(argv[argc]);
    argc++;
    argv[argc] = eval ? script_text[c->script] : script_sha[c->script];
    lens[argc] = strlen(argv[argc]);
    argc++;
    argv[argc] = "1";
    lens[argc++] = 1;
    argv[argc] = c->key;
    lens[argc] = strlen(c->key);
    argc++;
    for (int i = 0; i < c->nargs; i++) {
        argv[argc] = c->args[i];
        lens[argc] = strlen(c->args[i]);
        argc++;
    }
    if (redisAsyncCommandArgv(s->ac, on_reply, c, argc, argv, lens) != REDIS_OK)
        return false;
    c->in_redis = true;
    c->sent_ms = now_ms();
    s->in_redis++;
    return true;
}

/* The oldest command Redis owes us has waited past STALL_MS. */
static bool stalled(const seam_shared *s)
{
    uint64_t now = now_ms();
    for (const shared_call *c = s->head; c; c = c->next)
        if (c->in_redis)
            return now - c->sent_ms >= STALL_MS;
    return false;
}

static void on_call_timer(evutil_socket_t fd, short what, void *arg)
{
    shared_call *c = arg;
    seam_shared *s = c->s; /* detached calls have no timer */
    enter(s);
    /* Dropping the connection below runs on_reply for this very call. */
    c->held = true;
    if (!c->answered) {
        if (c->deadline)
            count(&stat_timeouts);
        answer_degraded(c, s->rate_fail_open, s->budget_fail_open);
    }
    if (!s->dead && c->in_redis && s->ac && stalled(s))
        drop_connection(s, "Redis stopped answering");
    c->held = false;
    finish_call(c);
    leave(s);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    shared_call *c = privdata;
    seam_shared *s = c->s;
    const redisReply *r = reply;
    c->in_redis = false;
    if (!s) {
        /* Detached by seam_shared_free: nobody waits for it any more. */
        if (c->kind == CALL_WRITE && !r)
            count(&stat_writes_lost);
        free_call(c);
        return;
    }
    s->in_redis--;
    enter(s);
    if (r && r->type == REDIS_REPLY_ERROR && !c->retried && r->str &&
        strncmp(r->str, "NOSCRIPT", 8) == 0) {
        c->retried = true;
        if (send_call(s, c)) {
            leave(s);
            return;
        }
    }
    if (r && r->type == REDIS_REPLY_ERROR)
        log_reply_error(s,
                        c->script == SCRIPT_RATE           ? "rate"
                        : c->script == SCRIPT_BUDGET_CHECK ? "budget_check"
                        : c->script == SCRIPT_BUDGET_ADD   ? "budget_add"
                                                           : "settle",
                        r);
    if (c->kind == CALL_WRITE) {
        if (!r || r->type == REDIS_REPLY_ERROR)
            count(&stat_writes_lost);
        c->answered = true;
    } else if (!c->answered) {
        evtimer_del(c->timer);
        bool ok = false;
        unsigned retry = 0;
        if (decide(c, r, &ok, &retry))
            call_user(c, ok, retry, false);
        else
            answer_degraded(c, s->rate_fail_open, s->budget_fail_open);
    }
    finish_call(c);
    leave(s);
}

static shared_call *new_call(seam_shared *s, call_kind kind, script_id script, const char *key_kind,
                             const char *name, bool braces)
{
    shared_call *c = seam_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    size_t n = strlen(s->prefix) + strlen(key_kind) + strlen(name) + 3;
    c->key = seam_malloc(n);
    c->timer = evtimer_new(s->base, on_call_timer, c);
    if (!c->key || !c->timer) {
        free_call(c);
        return NULL;
    }
    snprintf(c->key, n, braces ? "%s%s{%s}" : "%s%s%s", s->prefix, key_kind, name);
    c->kind = kind;
    c->script = script;
    return c;
}

/* Starts a decision: sends it, lets it wait for the connection, or answers
 * it degraded on the next turn of the loop. */
static void submit(seam_shared *s, shared_call *c)
{
    static const struct timeval zero = {0, 0};
    link_call(s, c);
    if (c->trivial || s->state == ST_IDLE) {
        evtimer_add(c->timer, &zero);
        return;
    }
    struct timeval tv = tv_ms(s->timeout_ms);
    c->deadline = true;
    evtimer_add(c->timer, &tv);
    if (s->state == ST_READY && !send_call(s, c)) {
        c->deadline = false;
        evtimer_add(c->timer, &zero);
    }
}

/* An instance being freed, or no memory: answer at once, degraded. */
static void answer_now(seam_shared *s, call_kind kind, seam_shared_rate_cb rcb,
                       seam_shared_budget_cb bcb, void *arg)
{
    shared_call tmp = {.kind = kind, .rate_cb = rcb, .budget_cb = bcb, .arg = arg};
    answer_degraded(&tmp, s ? s->rate_fail_open : true, s ? s->budget_fail_open : false);
}

void seam_shared_rate(seam_shared *s, const char *key_name, uint64_t requests_per_min,
                      uint64_t tokens_per_min, uint64_t tokens, seam_shared_rate_cb cb, void *arg)
{
    if (!s || s->closing) {
        answer_now(s, CALL_RATE, cb, NULL, arg);
        return;
    }
    shared_call *c = new_call(s, CALL_RATE, SCRIPT_RATE, "rl:", key_name ? key_name : "", false);
    if (!c) {
        answer_now(s, CALL_RATE, cb, NULL, arg);
        return;
    }
    c->rate_cb = cb;
    c->arg = arg;
    c->trivial = requests_per_min == 0 && tokens_per_min == 0;
    c->nargs = 3;
    snprintf(c->args[0], sizeof(c->args[0]), "%" PRIu64, requests_per_min);
    snprintf(c->args[1], sizeof(c->args[1]), "%" PRIu64, tokens_per_min);
    snprintf(c->args[2], sizeof(c->args[2]), "%" PRIu64, tokens);
    submit(s, c);
}

void seam_shared_budget_check(seam_shared *s, const char *tenant, double usd_per_day,
                              double usd_per_month, seam_shared_budget_cb cb, void *arg)
{
    if (!s || s->closing) {
        answer_now(s, CALL_BUDGET, NULL, cb, arg);
        return;
    }
    shared_call *c =
        new_call(s, CALL_BUDGET, SCRIPT_BUDGET_CHECK, "budget:", tenant ? tenant : "", true);
    if (!c) {
        answer_now(s, CALL_BUDGET, NULL, cb, arg);
        return;
    }
    c->budget_cb = cb;
    c->arg = arg;
    c->usd_day = usd_per_day;
    c->usd_month = usd_per_month;
    c->trivial = !(usd_per_day >= 0) && !(usd_per_month >= 0);
    submit(s, c);
}

/* Sends a fire-and-forget script; false when it could not be sent. */
static bool send_write(seam_shared *s, script_id script, const char *key_kind, const char *name,
                       bool braces, const char *arg0, const char *arg1)
{
    if (s->state != ST_READY)
        return false;
    shared_call *c = new_call(s, CALL_WRITE, script, key_kind, name, braces);
    if (!c)
        return false;
    c->nargs = arg1 ? 2 : 1;
    snprintf(c->args[0], sizeof(c->args[0]), "%s", arg0);
    if (arg1)
        snprintf(c->args[1], sizeof(c->args[1]), "%s", arg1);
    c->answered = true;
    link_call(s, c);
    if (!send_call(s, c)) {
        finish_call(c);
        return false;
    }
    return true;
}

void seam_shared_settle_tokens(seam_shared *s, const char *key_name, uint64_t tokens_per_min,
                               int64_t delta_tokens)
{
    if (!s || s->closing || delta_tokens == 0 || tokens_per_min == 0 || !key_name)
        return;
    char tpm[32], delta[32];
    snprintf(tpm, sizeof(tpm), "%" PRIu64, tokens_per_min);
    snprintf(delta, sizeof(delta), "%" PRId64, delta_tokens);
    if (!send_write(s, SCRIPT_SETTLE, "rl:", key_name, false, tpm, delta))
        count(&stat_writes_lost);
}

void seam_shared_budget_add(seam_shared *s, const char *tenant, double usd)
{
    if (!s || !tenant || !(usd > 0) || !isfinite(usd))
        return;
    if (s->closing) {
        count(&stat_writes_lost);
        return;
    }
    char arg[40];
    snprintf(arg, sizeof(arg), "%.17g", usd);
    if (send_write(s, SCRIPT_BUDGET_ADD, "budget:", tenant, true, arg, NULL))
        return;
    /* Keep it for when Redis is back, summed per tenant. */
    for (size_t i = 0; i < s->nspend; i++) {
        if (strcmp(s->spend[i].tenant, tenant) == 0) {
            s->spend[i].usd += usd;
            return;
        }
    }
    char *t = s->nspend < MAX_PENDING_SPEND ? seam_strdup(tenant) : NULL;
    if (!t) {
        count(&stat_writes_lost);
        return;
    }
    s->spend[s->nspend].tenant = t;
    s->spend[s->nspend].usd = usd;
    s->nspend++;
}

/* ---- lifecycle ---- */

seam_shared *seam_shared_new(struct event_base *base, const char *redis_url, const char *prefix,
                             char *err, size_t errlen)
{
    pthread_once(&script_sha_once, script_sha_init);
    seam_shared *s = seam_calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->resolve_fd = -1;
    s->base = base;
    if (!parse_url(redis_url, &s->url, err, errlen))
        goto fail;
    s->prefix = seam_strdup(prefix ? prefix : "seam:");
    s->conn_timer = evtimer_new(base, on_conn_timer, s);
    if (!s->prefix || !s->conn_timer) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (s->url.path[0]) {
        snprintf(s->where, sizeof(s->where), "unix:%s", s->url.path);
    } else {
        unsigned char tmp[16];
        s->host_numeric =
            inet_pton(AF_INET, s->url.host, tmp) == 1 || inet_pton(AF_INET6, s->url.host, tmp) == 1;
        snprintf(s->where, sizeof(s->where), strchr(s->url.host, ':') ? "[%s]:%d" : "%s:%d",
                 s->url.host, s->url.port);
    }
    s->rate_fail_open = true;
    s->budget_fail_open = false;
    s->timeout_ms = SEAM_SHARED_TIMEOUT_MS_DEFAULT;
    s->backoff_ms = RECONNECT_MIN_MS;
    s->rng = (uint64_t)(uintptr_t)s ^ (now_ms() << 20) ^ 0x9e3779b97f4a7c15ull;
    if (!s->rng)
        s->rng = 1;
    enter(s);
    start_connect(s);
    leave(s);
    return s;
fail:
    if (s->conn_timer)
        event_free(s->conn_timer);
    seam_free(s->prefix);
    memset(&s->url, 0, sizeof(s->url));
    seam_free(s);
    return NULL;
}

void seam_shared_set_fail_open(seam_shared *s, bool rate_fail_open, bool budget_fail_open)
{
    s->rate_fail_open = rate_fail_open;
    s->budget_fail_open = budget_fail_open;
}

void seam_shared_set_timeout_ms(seam_shared *s, unsigned timeout_ms)
{
    s->timeout_ms = timeout_ms ? timeout_ms : 1;
}

bool seam_shared_connected(const seam_shared *s)
{
    return s && s->state == ST_READY && s->ac;
}

/* Gives commands already sent up to DRAIN_MS to be answered, driving the
 * socket by hand: the loop is not running any more at shutdown. */
static void drain(seam_shared *s)
{
    uint64_t deadline = now_ms() + DRAIN_MS;
    while (s->ac && s->state == ST_READY && s->in_redis > 0) {
        uint64_t now = now_ms();
        if (now >= deadline)
            break;
        redisAsyncHandleWrite(s->ac);
        if (!s->ac)
            break;
        struct pollfd p = {.fd = s->ac->c.fd, .events = POLLIN};
        uint64_t left = deadline - now;
        int rc = poll(&p, 1, left < 10 ? (int)left : 10);
        if (rc < 0 && errno != EINTR)
            break;
        if (rc > 0)
            redisAsyncHandleRead(s->ac);
    }
}

void seam_shared_free(seam_shared *s)
{
    if (!s || s->closing)
        return;
    enter(s);
    /* From here on, new calls are answered at once and a nested free is a
     * no-op. */
    s->closing = true;
    if (s->depth == 1)
        drain(s);
    evtimer_del(s->conn_timer);
    close_resolve(s);
    /* Everything still owed is answered now, and every call is cut loose
     * so that late hiredis callbacks never reach <s>. */
    bool rate_open = s->rate_fail_open, budget_open = s->budget_fail_open;
    while (s->head) {
        shared_call *c = s->head;
        unlink_call(c);
        c->s = NULL;
        if (c->in_redis)
            s->in_redis--;
        if (c->timer) {
            event_free(c->timer);
            c->timer = NULL;
        }
        answer_degraded(c, rate_open, budget_open);
        if (!c->in_redis && !c->running && !c->held)
            free_call(c);
    }
    redisAsyncContext *ac = s->ac;
    s->ac = NULL;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    for (size_t i = 0; i < s->nspend; i++) {
        count(&stat_writes_lost);
        seam_free(s->spend[i].tenant);
    }
    s->nspend = 0;
    s->dead = true;
    leave(s);
}

static void destroy(seam_shared *s)
{
    if (s->conn_timer)
        event_free(s->conn_timer);
    close_resolve(s);
    seam_free(s->prefix);
    memset(&s->url, 0, sizeof(s->url)); /* the password */
    seam_free(s);
}
