/*
 * Unit tests for src/state/shared.c against a real redis-server, started
 * by each test on a free port in a temporary directory (skipped with a
 * message when redis-server is not installed; CI installs it). Two
 * instances on two loops stand in for two replicas.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/alloc.h"
#include "state/shared.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- redis-server ---- */

typedef struct redis_proc {
    pid_t pid;
    int port;
    char dir[64];
} redis_proc;

static const char *redis_server_path(void)
{
    static const char *const candidates[] = {"/usr/bin/redis-server", "/usr/local/bin/redis-server",
                                             "/usr/sbin/redis-server"};
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return NULL;
}

#define NEED_REDIS()                                                                               \
    do {                                                                                           \
        if (!redis_server_path()) {                                                                \
            print_message("SKIP: redis-server is not installed (apt-get install redis-server)\n"); \
            skip();                                                                                \
        }                                                                                          \
    } while (0)

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A blocking client for setup and inspection; NULL while nothing listens. */
static redisContext *sync_client(int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    return c;
}

static void redis_start(redis_proc *r, int port)
{
    if (!r->dir[0]) {
        snprintf(r->dir, sizeof(r->dir), "/tmp/seam-redis-XXXXXX");
        assert_non_null(mkdtemp(r->dir));
    }
    r->port = port;
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) {
            dup2(devnull, 1);
            dup2(devnull, 2);
        }
        execl(redis_server_path(), "redis-server", "--port", portstr, "--bind", "127.0.0.1",
              "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", r->dir,
              (char *)NULL);
        _exit(127);
    }
    r->pid = pid;
    uint64_t end = mono_ms() + 5000;
    for (;;) {
        redisContext *c = sync_client(port);
        if (c) {
            redisReply *rep = redisCommand(c, "PING");
            bool ok = rep && rep->type == REDIS_REPLY_STATUS;
            if (rep)
                freeReplyObject(rep);
            redisFree(c);
            if (ok)
                return;
        }
        if (mono_ms() > end)
            fail_msg("redis-server did not start on port %d", port);
        usleep(20000);
    }
}

static void redis_kill(redis_proc *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGCONT);
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
}

static void redis_cleanup(redis_proc *r)
{
    redis_kill(r);
    if (r->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->dir);
        (void)!system(cmd);
        r->dir[0] = '\0';
    }
}

static char *redis_get(int port, const char *fmt, const char *arg)
{
    redisContext *c = sync_client(port);
    assert_non_null(c);
    redisReply *rep = redisCommand(c, fmt, arg);
    assert_non_null(rep);
    char *out = rep->type == REDIS_REPLY_STRING ? strdup(rep->str) : NULL;
    freeReplyObject(rep);
    redisFree(c);
    return out;
}

static void redis_do(int port, const char *cmd)
{
    redisContext *c = sync_client(port);
    assert_non_null(c);
    redisReply *rep = redisCommand(c, cmd);
    assert_non_null(rep);
    assert_int_not_equal(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    redisFree(c);
}

/* Every test gets a redis_proc that teardown stops, whatever happened. */
static int setup_redis(void **state)
{
    redis_proc *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    *state = r;
    return 0;
}

static int teardown_redis(void **state)
{
    redis_cleanup(*state);
    free(*state);
    return 0;
}

/* ---- driving a loop ---- */

typedef struct answer {
    int calls;
    bool ok; /* allowed / not exhausted */
    unsigned retry;
    bool degraded;
} answer;

static void on_rate(void *arg, bool allowed, unsigned retry_after_s, bool degraded)
{
    answer *a = arg;
    a->calls++;
    a->ok = allowed;
    a->retry = retry_after_s;
    a->degraded = degraded;
}

static void on_budget(void *arg, bool exhausted, bool degraded)
{
    answer *a = arg;
    a->calls++;
    a->ok = !exhausted;
    a->degraded = degraded;
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    *(bool *)arg = true;
}

/* Runs <base> until <*calls> is at least <want> or <ms> pass; returns
 * whether it got there. */
static bool run_until_calls(struct event_base *base, const int *calls, int want, unsigned ms)
{
    bool late = false;
    struct event *t = evtimer_new(base, on_deadline, &late);
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    evtimer_add(t, &tv);
    while (*calls < want && !late)
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    return *calls >= want;
}

/* Runs <base> for <ms>. */
static void run_for(struct event_base *base, unsigned ms)
{
    int never = 0;
    run_until_calls(base, &never, 1, ms);
}

static bool run_until_connected(struct event_base *base, seam_shared *s, unsigned ms)
{
    uint64_t end = mono_ms() + ms;
    while (!seam_shared_connected(s) && mono_ms() < end)
        run_for(base, 10);
    return seam_shared_connected(s);
}

static seam_shared *connect_to(struct event_base *base, int port, const char *prefix)
{
    char url[64], err[256] = "";
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", port);
    seam_shared *s = seam_shared_new(base, url, prefix, err, sizeof(err));
    if (!s)
        fail_msg("seam_shared_new: %s", err);
    if (!run_until_connected(base, s, 3000))
        fail_msg("no connection to redis on port %d", port);
    return s;
}

static answer rate(struct event_base *base, seam_shared *s, const char *key, uint64_t rpm,
                   uint64_t tpm, uint64_t tokens)
{
    answer a = {0};
    seam_shared_rate(s, key, rpm, tpm, tokens, on_rate, &a);
    assert_int_equal(a.calls, 0); /* never from inside the call */
    assert_true(run_until_calls(base, &a.calls, 1, 3000));
    run_for(base, 1);
    assert_int_equal(a.calls, 1);
    return a;
}

static answer budget(struct event_base *base, seam_shared *s, const char *tenant, double day,
                     double month)
{
    answer a = {0};
    seam_shared_budget_check(s, tenant, day, month, on_budget, &a);
    assert_int_equal(a.calls, 0);
    assert_true(run_until_calls(base, &a.calls, 1, 3000));
    run_for(base, 1);
    assert_int_equal(a.calls, 1);
    return a;
}

/* ---- tests ---- */

static void test_url(void **state)
{
    char err[256];
    const char *good[] = {"redis://127.0.0.1:6379",        "redis://localhost",
                          "redis://redis.internal:7000/3", "redis://:s3cr%40t@10.0.0.1:6380/0",
                          "redis://app:pw@[::1]:6379",     "redis://[::1]",
                          "unix:///run/redis/redis.sock"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        err[0] = '\0';
        if (!seam_shared_url_valid(good[i], err, sizeof(err)))
            fail_msg("%s rejected: %s", good[i], err);
    }
    const char *bad[] = {"",
                         "127.0.0.1:6379",
                         "http://127.0.0.1:6379",
                         "rediss://127.0.0.1:6379",
                         "redis://",
                         "redis://127.0.0.1:",
                         "redis://127.0.0.1:0",
                         "redis://127.0.0.1:65536",
                         "redis://127.0.0.1:12x",
                         "redis://127.0.0.1/abc",
                         "redis://user@127.0.0.1",
                         "redis://:@127.0.0.1",
                         "redis://:%zz@127.0.0.1",
                         "redis://[::1",
                         "redis://127.0.0.1?db=1",
                         "unix://relative.sock"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (seam_shared_url_valid(bad[i], err, sizeof(err)))
            fail_msg("%s accepted", bad[i]);
        assert_true(err[0] != '\0');
    }
    struct event_base *base = event_base_new();
    assert_null(seam_shared_new(base, "http://x", "seam:", err, sizeof(err)));
    event_base_free(base);
}

/* rpm 5: exactly five in a minute, then Retry-After of one refill (12 s);
 * tpm: the token bucket admits what fits and says when the rest will. */
static void test_rate_exact(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    struct event_base *base = event_base_new();
    seam_shared *s = connect_to(base, r->port, "t1:");

    for (int i = 0; i < 5; i++) {
        answer a = rate(base, s, "billing-app", 5, 0, 0);
        assert_true(a.ok);
        assert_false(a.degraded);
    }
    answer a = rate(base, s, "billing-app", 5, 0, 0);
    assert_false(a.ok);
    assert_false(a.degraded);
    assert_in_range(a.retry, 11, 12);
    /* Another key is not affected. */
    assert_true(rate(base, s, "notebook", 5, 0, 0).ok);
    /* The key lives in Redis under the prefix and expires. */
    redisContext *c = sync_client(r->port);
    redisReply *ttl = redisCommand(c, "PTTL t1:rl:billing-app");
    assert_int_equal(ttl->type, REDIS_REPLY_INTEGER);
    assert_in_range(ttl->integer, 50000, 62000);
    freeReplyObject(ttl);
    redisFree(c);

    /* Tokens: 1000 per minute, requests of 400 tokens. */
    assert_true(rate(base, s, "tok", 0, 1000, 400).ok);
    assert_true(rate(base, s, "tok", 0, 1000, 400).ok);
    a = rate(base, s, "tok", 0, 1000, 400);
    assert_false(a.ok);
    assert_in_range(a.retry, 11, 12); /* 200 tokens missing at 1000/min */
    /* The first two used only 100 tokens each: 600 come back. */
    seam_shared_settle_tokens(s, "tok", 1000, -300);
    seam_shared_settle_tokens(s, "tok", 1000, -300);
    assert_true(rate(base, s, "tok", 0, 1000, 400).ok);
    /* A request over the whole minute's allowance: waiting never helps. */
    a = rate(base, s, "tok", 0, 1000, 1001);
    assert_false(a.ok);
    assert_int_equal(a.retry, 0);
    /* Charging past the bottom puts the key in debt: 400 left, 2200
     * charged, 1800 owed; 100 more need 1900 tokens of refill at 1000 per
     * minute: 114 s. */
    seam_shared_settle_tokens(s, "tok", 1000, 2200);
    a = rate(base, s, "tok", 0, 1000, 100);
    assert_false(a.ok);
    assert_in_range(a.retry, 113, 114);

    /* No limit at all: admitted without asking, never degraded. */
    a = rate(base, s, "free", 0, 0, 1000000);
    assert_true(a.ok);
    assert_false(a.degraded);

    seam_shared_free(s);
    event_base_free(base);
}

/* ---- two replicas on two threads ---- */

typedef struct replica {
    int port;
    int id;
    pthread_barrier_t *ready;
    int allowed, refused, degraded;
} replica;

static void *replica_main(void *arg)
{
    replica *rp = arg;
    struct event_base *base = event_base_new();
    char url[64], err[256];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", rp->port);
    seam_shared *s = seam_shared_new(base, url, "t2:", err, sizeof(err));
    bool up = s && run_until_connected(base, s, 3000);
    pthread_barrier_wait(rp->ready);
    for (int i = 0; up && i < 20; i++) {
        answer a = {0};
        seam_shared_rate(s, "shared-key", 15, 0, 0, on_rate, &a);
        if (!run_until_calls(base, &a.calls, 1, 3000))
            break;
        if (a.degraded)
            rp->degraded++;
        else if (a.ok)
            rp->allowed++;
        else
            rp->refused++;
    }
    seam_shared_free(s);
    event_base_free(base);
    return NULL;
}

static void test_two_replicas_share_one_limit(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    pthread_barrier_t ready;
    pthread_barrier_init(&ready, NULL, 2);
    replica reps[2] = {{.port = r->port, .id = 0, .ready = &ready},
                       {.port = r->port, .id = 1, .ready = &ready}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, replica_main, &reps[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&ready);
    assert_int_equal(reps[0].degraded + reps[1].degraded, 0);
    assert_int_equal(reps[0].allowed + reps[1].allowed, 15);
    assert_int_equal(reps[0].refused + reps[1].refused, 25);
}

/* Spend added by one replica is seen by the other; day and month limits. */
static void test_budget_across_instances(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    struct event_base *b1 = event_base_new(), *b2 = event_base_new();
    seam_shared *s1 = connect_to(b1, r->port, "t3:");
    seam_shared *s2 = connect_to(b2, r->port, "t3:");

    answer a = budget(b2, s2, "research", 1.0, 10.0);
    assert_true(a.ok);
    assert_false(a.degraded);
    seam_shared_budget_add(s1, "research", 0.4);
    seam_shared_budget_add(s1, "research", 0.4);
    seam_shared_budget_add(s1, "research", 0.0);  /* ignored */
    seam_shared_budget_add(s1, "research", -5.0); /* ignored */
    /* A read on the same connection runs after the adds. */
    assert_true(budget(b1, s1, "research", 1.0, 10.0).ok);
    assert_true(budget(b2, s2, "research", 1.0, 10.0).ok);
    seam_shared_budget_add(s2, "research", 0.3);
    assert_false(budget(b2, s2, "research", 1.0, 10.0).ok);
    a = budget(b1, s1, "research", 1.0, 10.0);
    assert_false(a.ok);
    assert_false(a.degraded);
    /* Only the month limit: 1.1 of 1.5 spent. */
    assert_true(budget(b1, s1, "research", -1, 1.5).ok);
    assert_false(budget(b1, s1, "research", -1, 1.05).ok);
    /* No limit: never exhausted. */
    assert_true(budget(b1, s1, "research", -1, -1).ok);
    /* Another tenant is untouched; a zero budget is spent from the start. */
    assert_true(budget(b1, s1, "finance", 1.0, -1).ok);
    assert_false(budget(b1, s1, "finance", 0.0, -1).ok);

    /* The counters are keyed by the UTC day and month (of Redis's clock,
     * the same machine's here) and expire after the period. */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char dkey[96], mkey[96];
    snprintf(dkey, sizeof(dkey), "t3:budget:{research}:d:%04d-%02d-%02d", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday);
    snprintf(mkey, sizeof(mkey), "t3:budget:{research}:m:%04d-%02d", tm.tm_year + 1900,
             tm.tm_mon + 1);
    char *d = redis_get(r->port, "GET %s", dkey);
    char *m = redis_get(r->port, "GET %s", mkey);
    assert_non_null(d);
    assert_non_null(m);
    assert_float_equal(strtod(d, NULL), 1.1, 1e-9);
    assert_float_equal(strtod(m, NULL), 1.1, 1e-9);
    free(d);
    free(m);
    redisContext *c = sync_client(r->port);
    redisReply *ttl = redisCommand(c, "TTL %s", dkey);
    assert_in_range(ttl->integer, 86400, 2 * 86400);
    freeReplyObject(ttl);
    ttl = redisCommand(c, "TTL %s", mkey);
    assert_in_range(ttl->integer, 7 * 86400, 39 * 86400);
    freeReplyObject(ttl);
    redisFree(c);

    seam_shared_free(s1);
    seam_shared_free(s2);
    event_base_free(b1);
    event_base_free(b2);
}

/* Redis killed: degraded answers per the fail-open rules, counted; spend
 * kept; after a restart the connection comes back by itself. */
static void test_redis_down_and_back(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    struct event_base *base = event_base_new();
    seam_shared *s = connect_to(base, r->port, "t4:");
    assert_true(rate(base, s, "k", 100, 0, 0).ok);

    redis_kill(r);
    /* hiredis notices the closed connection on the next loop turn. */
    run_for(base, 50);
    seam_shared_stats before, after;
    seam_shared_stats_read(&before);
    uint64_t total0 = seam_shared_degraded_total();

    /* Defaults: rate limits fail open, budgets fail closed. */
    answer a = rate(base, s, "k", 100, 0, 0);
    assert_true(a.ok);
    assert_true(a.degraded);
    a = budget(base, s, "research", 1.0, -1);
    assert_false(a.ok);
    assert_true(a.degraded);
    /* The other way round. */
    seam_shared_set_fail_open(s, false, true);
    a = rate(base, s, "k", 100, 0, 0);
    assert_false(a.ok);
    assert_true(a.degraded);
    assert_int_equal(a.retry, 1);
    a = budget(base, s, "research", 1.0, -1);
    assert_true(a.ok);
    assert_true(a.degraded);
    seam_shared_stats_read(&after);
    assert_int_equal(after.degraded_rate - before.degraded_rate, 2);
    assert_int_equal(after.degraded_budget - before.degraded_budget, 2);
    assert_int_equal(seam_shared_degraded_total() - total0, 4);
    assert_false(seam_shared_connected(s));

    /* Spend while Redis is away is kept and sent when it is back. */
    seam_shared_budget_add(s, "research", 0.75);
    seam_shared_budget_add(s, "research", 0.5);
    /* A correction has nowhere to go: dropped and counted. */
    seam_shared_settle_tokens(s, "k", 1000, 10);
    seam_shared_stats_read(&after);
    assert_int_equal(after.writes_lost - before.writes_lost, 1);

    /* Backoff keeps retrying; a restarted Redis is picked up. */
    run_for(base, 300);
    redis_start(r, r->port);
    assert_true(run_until_connected(base, s, 5000));
    a = budget(base, s, "research", 1.0, -1);
    assert_false(a.degraded);
    assert_false(a.ok); /* 1.25 spent */
    assert_true(budget(base, s, "research", 1.3, -1).ok);
    a = rate(base, s, "k", 100, 0, 0);
    assert_true(a.ok);
    assert_false(a.degraded);
    seam_shared_stats_read(&after);
    assert_true(after.connects >= before.connects + 1);

    seam_shared_free(s);
    event_base_free(base);
}

/* A hung Redis (SIGSTOP): each decision is answered at its timeout, the
 * stalled connection is dropped, and after SIGCONT answers are real again. */
static void test_redis_hung(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    struct event_base *base = event_base_new();
    seam_shared *s = connect_to(base, r->port, "t5:");
    seam_shared_set_timeout_ms(s, 30);
    assert_true(rate(base, s, "k", 100, 0, 0).ok);

    kill(r->pid, SIGSTOP);
    seam_shared_stats before, after;
    seam_shared_stats_read(&before);
    uint64_t t0 = mono_ms();
    answer a = rate(base, s, "k", 100, 0, 0);
    uint64_t took = mono_ms() - t0;
    assert_true(a.degraded);
    assert_true(a.ok);
    assert_in_range(took, 25, 500);
    seam_shared_stats_read(&after);
    assert_int_equal(after.timeouts - before.timeouts, 1);
    /* Keep asking past the stall limit: the connection is dropped. */
    uint64_t end = mono_ms() + 3000;
    while (seam_shared_connected(s) && mono_ms() < end)
        assert_true(rate(base, s, "k", 100, 0, 0).degraded);
    assert_false(seam_shared_connected(s));

    kill(r->pid, SIGCONT);
    assert_true(run_until_connected(base, s, 5000));
    a = rate(base, s, "k", 100, 0, 0);
    assert_false(a.degraded);
    assert_true(a.ok);

    seam_shared_free(s);
    event_base_free(base);
}

/* Calls made before the connection is up wait for it; freeing answers
 * every call still owed, exactly once, as degraded. */
static void test_callbacks_exactly_once(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    struct event_base *base = event_base_new();
    char url[64], err[256];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", r->port);

    /* Straight after creation: connecting, the calls wait and are answered
     * by Redis. */
    seam_shared *s = seam_shared_new(base, url, "t6:", err, sizeof(err));
    assert_non_null(s);
    answer w[3] = {{0}};
    for (int i = 0; i < 3; i++)
        seam_shared_rate(s, "early", 2, 0, 0, on_rate, &w[i]);
    int total = 0;
    uint64_t end = mono_ms() + 3000;
    while (total < 3 && mono_ms() < end) {
        run_for(base, 5);
        total = w[0].calls + w[1].calls + w[2].calls;
    }
    for (int i = 0; i < 3; i++) {
        assert_int_equal(w[i].calls, 1);
        assert_false(w[i].degraded);
    }
    assert_true(w[0].ok && w[1].ok);
    assert_false(w[2].ok);

    /* Sent and not yet answered, then freed: each answered once. */
    answer p[4] = {{0}};
    seam_shared_rate(s, "k", 10, 0, 0, on_rate, &p[0]);
    seam_shared_budget_check(s, "t", 1, 1, on_budget, &p[1]);
    seam_shared_rate(s, "k", 10, 0, 0, on_rate, &p[2]);
    seam_shared_budget_check(s, "t", 1, 1, on_budget, &p[3]);
    seam_shared_budget_add(s, "t", 0.01);
    seam_shared_free(s);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p[i].calls, 1);
    run_for(base, 50);
    for (int i = 0; i < 4; i++)
        assert_int_equal(p[i].calls, 1);
    /* The drain at free let the add reach Redis. */
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char dkey[96];
    snprintf(dkey, sizeof(dkey), "t6:budget:{t}:d:%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday);
    char *d = redis_get(r->port, "GET %s", dkey);
    assert_non_null(d);
    assert_float_equal(strtod(d, NULL), 0.01, 1e-12);
    free(d);

    /* Waiting for a connection that never comes, then freed. */
    s = seam_shared_new(base, "redis://127.0.0.1:1", "t6:", err, sizeof(err));
    assert_non_null(s);
    answer q[2] = {{0}};
    seam_shared_rate(s, "k", 10, 0, 0, on_rate, &q[0]);
    seam_shared_budget_check(s, "t", 1, 1, on_budget, &q[1]);
    seam_shared_free(s);
    run_for(base, 20);
    assert_int_equal(q[0].calls, 1);
    assert_true(q[0].degraded);
    assert_int_equal(q[1].calls, 1);
    assert_true(q[1].degraded);
    assert_false(q[1].ok);

    /* Freed while a host name is being looked up: the lookup thread finds
     * nobody to answer and goes away. */
    s = seam_shared_new(base, "redis://localhost:1", "t6:", err, sizeof(err));
    assert_non_null(s);
    answer h = {0};
    seam_shared_budget_check(s, "t", 1, 1, on_budget, &h);
    seam_shared_free(s);
    assert_int_equal(h.calls, 1);
    assert_true(h.degraded);
    usleep(100000);

    event_base_free(base);
}

/* Nothing listens: every answer is degraded, quickly, exactly once. */
static void test_unreachable(void **state)
{
    struct event_base *base = event_base_new();
    char url[64], err[256];
    snprintf(url, sizeof(url), "redis://127.0.0.1:%d", free_port());
    seam_shared *s = seam_shared_new(base, url, NULL, err, sizeof(err));
    assert_non_null(s);
    for (int i = 0; i < 3; i++) {
        uint64_t t0 = mono_ms();
        answer a = rate(base, s, "k", 1, 0, 0);
        assert_true(a.degraded);
        assert_true(a.ok);
        a = budget(base, s, "t", 1, -1);
        assert_true(a.degraded);
        assert_false(a.ok);
        assert_true(mono_ms() - t0 < 500);
        run_for(base, 150);
    }
    assert_false(seam_shared_connected(s));
    seam_shared_free(s);
    event_base_free(base);
}

/* Freeing the instance from inside one of its callbacks. */
typedef struct free_in_cb {
    seam_shared *s;
    int calls;
    int other_calls;
} free_in_cb;

static void on_rate_free(void *arg, bool allowed, unsigned retry_after_s, bool degraded)
{
    free_in_cb *f = arg;
    f->calls++;
    if (f->s) {
        seam_shared *s = f->s;
        f->s = NULL;
        seam_shared_free(s);
    }
}

static void on_rate_count(void *arg, bool allowed, unsigned retry_after_s, bool degraded)
{
    ((free_in_cb *)arg)->other_calls++;
}

static void test_free_inside_callback(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    struct event_base *base = event_base_new();
    seam_shared *s = connect_to(base, r->port, "t7:");
    free_in_cb f = {.s = s};
    seam_shared_rate(s, "k", 10, 0, 0, on_rate_free, &f);
    seam_shared_rate(s, "k", 10, 0, 0, on_rate_count, &f);
    seam_shared_rate(s, "k", 10, 0, 0, on_rate_count, &f);
    assert_true(run_until_calls(base, &f.calls, 1, 3000));
    run_for(base, 50);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.other_calls, 2);

    /* Same from a degraded answer (timer path), Redis gone. */
    s = connect_to(base, r->port, "t7:");
    redis_kill(r);
    run_for(base, 50);
    f = (free_in_cb){.s = s};
    seam_shared_rate(s, "k", 10, 0, 0, on_rate_free, &f);
    seam_shared_rate(s, "k", 10, 0, 0, on_rate_count, &f);
    assert_true(run_until_calls(base, &f.calls, 1, 3000));
    run_for(base, 50);
    assert_int_equal(f.calls, 1);
    assert_int_equal(f.other_calls, 1);

    event_base_free(base);
}

/* SCRIPT FLUSH under a live connection: EVALSHA gets NOSCRIPT and the call
 * falls back to EVAL, still a real answer. A host name is resolved off the
 * loop. */
static void test_noscript_and_hostname(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    struct event_base *base = event_base_new();
    char url[64], err[256];
    snprintf(url, sizeof(url), "redis://localhost:%d/2", r->port);
    seam_shared *s = seam_shared_new(base, url, "t8:", err, sizeof(err));
    assert_non_null(s);
    assert_true(run_until_connected(base, s, 3000));
    assert_true(rate(base, s, "k", 3, 0, 0).ok);
    redis_do(r->port, "SCRIPT FLUSH");
    answer a = rate(base, s, "k", 3, 0, 0);
    assert_true(a.ok);
    assert_false(a.degraded);
    redis_do(r->port, "SCRIPT FLUSH");
    seam_shared_budget_add(s, "t", 2.5);
    a = budget(base, s, "t", 2.0, -1);
    assert_false(a.ok);
    assert_false(a.degraded);
    /* Database 2 was selected: database 0 has nothing. */
    redisContext *c = sync_client(r->port);
    redisReply *n = redisCommand(c, "DBSIZE");
    assert_int_equal(n->integer, 0);
    freeReplyObject(n);
    n = redisCommand(c, "SELECT 2");
    freeReplyObject(n);
    n = redisCommand(c, "EXISTS t8:rl:k");
    assert_int_equal(n->integer, 1);
    freeReplyObject(n);
    redisFree(c);
    seam_shared_free(s);
    event_base_free(base);
}

/* A password: AUTH goes first; a wrong one keeps every answer degraded. */
static void test_auth(void **state)
{
    NEED_REDIS();
    redis_proc *r = *state;
    redis_start(r, free_port());
    redis_do(r->port, "CONFIG SET requirepass s3cr@t");
    struct event_base *base = event_base_new();
    char url[96], err[256];
    snprintf(url, sizeof(url), "redis://:s3cr%%40t@127.0.0.1:%d", r->port);
    seam_shared *s = seam_shared_new(base, url, "t9:", err, sizeof(err));
    assert_non_null(s);
    assert_true(run_until_connected(base, s, 3000));
    answer a = rate(base, s, "k", 3, 0, 0);
    assert_true(a.ok);
    assert_false(a.degraded);
    seam_shared_free(s);

    snprintf(url, sizeof(url), "redis://:wrong@127.0.0.1:%d", r->port);
    s = seam_shared_new(base, url, "t9:", err, sizeof(err));
    assert_non_null(s);
    run_for(base, 100);
    a = rate(base, s, "k", 3, 0, 0);
    assert_true(a.degraded);
    seam_shared_free(s);
    event_base_free(base);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_url, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_rate_exact, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_two_replicas_share_one_limit, setup_redis,
                                        teardown_redis),
        cmocka_unit_test_setup_teardown(test_budget_across_instances, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_redis_down_and_back, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_redis_hung, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_callbacks_exactly_once, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_unreachable, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_free_inside_callback, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_noscript_and_hostname, setup_redis, teardown_redis),
        cmocka_unit_test_setup_teardown(test_auth, setup_redis, teardown_redis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
