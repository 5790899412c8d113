/*
 * The upstream client's deadlines, failure kinds and backpressure, against
 * a tiny HTTP/1.1 server of raw sockets in threads that misbehaves on
 * purpose: never answers, stalls between chunks, refuses or drops the
 * connection, trickles forever, or streams megabytes while the test pauses
 * and resumes the transfer.
 */
#include "testutil.h"

#include "upstream/client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- the fake upstream ---- */

typedef enum {
    SRV_SILENT,       /* reads the request, never answers */
    SRV_STALL,        /* headers and one chunk, then silence */
    SRV_RESET_MID,    /* headers and two chunks, then a TCP reset */
    SRV_RESET_BEFORE, /* reads the request, then a TCP reset */
    SRV_STREAM,       /* STREAM_RECORDS records of STREAM_REC bytes, one chunk each */
    SRV_TRICKLE,      /* a chunk every 20 ms until the client leaves */
    SRV_BIG_CHUNKED,  /* ten 1000-byte chunks */
    SRV_BIG_LENGTH,   /* announces Content-Length: 100000 */
} scenario;

#define STREAM_RECORDS 1000
#define STREAM_REC     16000 /* 16 MB in all: more than loopback socket buffers hold */
#define MAX_CONNS      4

typedef struct server {
    int lfd;
    int port;
    scenario sc;
    int nconns;
    pthread_t acceptor;
    pthread_t workers[MAX_CONNS];
    int nworkers;
    atomic_int streams_finished; /* SRV_STREAM connections that sent their last byte */
} server;

typedef struct conn_arg {
    server *s;
    int fd;
} conn_arg;

static const char chunked_head[] = "HTTP/1.1 200 OK\r\n"
                                   "Content-Type: text/event-stream\r\n"
                                   "Transfer-Encoding: chunked\r\n\r\n";

static bool send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static bool send_chunk(int fd, const char *p, size_t n)
{
    char head[32];
    int h = snprintf(head, sizeof(head), "%zx\r\n", n);
    return send_all(fd, head, (size_t)h) && send_all(fd, p, n) && send_all(fd, "\r\n", 2);
}

/* Reads up to the end of the request's headers (the tests send GETs). */
static void read_request(int fd)
{
    char buf[4096];
    size_t len = 0;
    while (len < sizeof(buf) - 1) {
        ssize_t k = recv(fd, buf + len, sizeof(buf) - 1 - len, 0);
        if (k <= 0)
            return;
        len += (size_t)k;
        buf[len] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            return;
    }
}

/* Waits (at most 20 s, so a broken test cannot hang) until the client
 * closes the connection. */
static void wait_close(int fd)
{
    char buf[4096];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, 20000) > 0) {
        ssize_t k = recv(fd, buf, sizeof(buf), 0);
        if (k <= 0)
            return;
    }
}

static void close_with_reset(int fd)
{
    struct linger l = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    close(fd);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Record <i> of the stream: its number, then a letter that varies with it,
 * so a duplicated, lost or reordered record shows. */
static void make_record(char *rec, unsigned i)
{
    memset(rec, 'a' + (int)(i % 26), STREAM_REC);
    char num[16];
    snprintf(num, sizeof(num), "%08u", i);
    memcpy(rec, num, 8);
    rec[STREAM_REC - 1] = '\n';
}

static void *serve_conn(void *arg)
{
    conn_arg *c = arg;
    int fd = c->fd;
    server *s = c->s;
    free(c);
    read_request(fd);
    switch (s->sc) {
    case SRV_SILENT:
        break;
    case SRV_STALL:
        send_all(fd, chunked_head, strlen(chunked_head));
        send_chunk(fd, "hello", 5);
        break;
    case SRV_RESET_MID:
        send_all(fd, chunked_head, strlen(chunked_head));
        send_chunk(fd, "hello", 5);
        send_chunk(fd, "world", 5);
        sleep_ms(100); /* let the client read them: a reset may discard unread bytes */
        close_with_reset(fd);
        return NULL;
    case SRV_RESET_BEFORE:
        close_with_reset(fd);
        return NULL;
    case SRV_STREAM: {
        char *rec = malloc(STREAM_REC);
        bool ok = rec && send_all(fd, chunked_head, strlen(chunked_head));
        for (unsigned i = 0; ok && i < STREAM_RECORDS; i++) {
            make_record(rec, i);
            ok = send_chunk(fd, rec, STREAM_REC);
        }
        if (ok && send_all(fd, "0\r\n\r\n", 5))
            atomic_fetch_add(&s->streams_finished, 1);
        free(rec);
        break;
    }
    case SRV_TRICKLE:
        send_all(fd, chunked_head, strlen(chunked_head));
        for (int i = 0; i < 1000 && send_chunk(fd, "tick\n", 5); i++)
            sleep_ms(20);
        break;
    case SRV_BIG_CHUNKED: {
        char block[1000];
        memset(block, 'x', sizeof(block));
        send_all(fd, chunked_head, strlen(chunked_head));
        for (int i = 0; i < 10 && send_chunk(fd, block, sizeof(block)); i++)
            ;
        send_all(fd, "0\r\n\r\n", 5);
        break;
    }
    case SRV_BIG_LENGTH: {
        static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                   "Content-Length: 100000\r\n\r\n";
        send_all(fd, head, strlen(head));
        break;
    }
    }
    wait_close(fd);
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    server *s = arg;
    for (int i = 0; i < s->nconns; i++) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            break;
        conn_arg *c = malloc(sizeof(*c));
        if (!c)
            abort(); /* not a cmocka assert: this is not the test's thread */
        *c = (conn_arg){s, fd};
        if (pthread_create(&s->workers[s->nworkers], NULL, serve_conn, c) != 0) {
            close(fd);
            free(c);
            break;
        }
        s->nworkers++;
    }
    return NULL;
}

/* A socket bound to an ephemeral loopback port; <backlog> < 0 leaves it
 * not listening, so connections to it are refused. */
static int bound_socket(int backlog, int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    if (backlog >= 0)
        assert_int_equal(listen(fd, backlog), 0);
    return fd;
}

static server *server_start(scenario sc, int nconns)
{
    server *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->sc = sc;
    s->nconns = nconns;
    s->lfd = bound_socket(8, &s->port);
    assert_int_equal(pthread_create(&s->acceptor, NULL, accept_loop, s), 0);
    return s;
}

/* Call after seam_upstream_free, which closes the client's connections and
 * so ends every worker's wait_close. Unblocks an acceptor still waiting. */
static void server_stop(server *s)
{
    shutdown(s->lfd, SHUT_RDWR);
    pthread_join(s->acceptor, NULL);
    for (int i = 0; i < s->nworkers; i++)
        pthread_join(s->workers[i], NULL);
    close(s->lfd);
    free(s);
}

/* ---- the client side ---- */

typedef struct run {
    struct event_base *base;
    seam_upstream *u;
    seam_transfer *t;
    bool done;
    seam_rc rc;
    seam_transfer_failure fail;
    char err[512];
    long status;
    size_t received_at_done;
    char *data;
    size_t len, cap;
    double elapsed_ms;
    struct timespec t0;
    /* backpressure test */
    server *srv;
    bool paused;        /* the test has paused the transfer */
    bool in_resume;     /* inside seam_transfer_resume */
    int data_in_resume; /* on_data calls made from inside resume */
    int pauses_inside;  /* pauses from inside on_data */
    int pauses_outside; /* pauses from a timer */
    int resumes;
    bool stream_held_back; /* the server had not finished at the first resume */
    size_t next_pause_at;
    struct event *resume_ev;
    struct event *pauser_ev;
    /* cancel and abort tests */
    bool cancel_in_data;
    bool abort_in_resume;
} run;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int on_data(void *ctx, seam_transfer *t, const char *p, size_t n)
{
    run *r = ctx;
    if (r->paused)
        fail_msg("on_data called while paused");
    if (r->in_resume)
        r->data_in_resume++;
    if (r->in_resume && r->abort_in_resume)
        return -1;
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 4096;
        while (cap < r->len + n)
            cap *= 2;
        r->data = realloc(r->data, cap);
        assert_non_null(r->data);
        r->cap = cap;
    }
    memcpy(r->data + r->len, p, n);
    r->len += n;
    if (r->cancel_in_data) {
        seam_transfer_pause(t);
        seam_transfer_cancel(t);
        r->t = NULL;
        event_base_loopexit(r->base, &(struct timeval){0, 200000});
        return 0;
    }
    if (r->next_pause_at && r->len >= r->next_pause_at) {
        if (r->pauser_ev && r->pauses_outside < 2) {
            /* the first two from outside the callbacks, on the next loop
             * turn, while most of the stream is still to come: more than
             * the loopback socket buffers hold, so the transfer cannot end
             * before the timer runs */
            r->next_pause_at = SIZE_MAX; /* on_pauser sets the next one */
            event_add(r->pauser_ev, &(struct timeval){0, 0});
        } else if (r->pauses_inside < 5 || !r->pauser_ev) {
            r->next_pause_at += 100 * STREAM_REC;
            /* backpressure from inside the callback, then a resume later */
            r->paused = true;
            r->pauses_inside++;
            seam_transfer_pause(t);
            assert_true(seam_transfer_paused(t));
            event_add(r->resume_ev, &(struct timeval){0, 250000});
        }
    }
    return 0;
}

static void on_done(void *ctx, seam_transfer *t, seam_rc rc, const char *error)
{
    run *r = ctx;
    assert_false(r->done);
    if (r->in_resume)
        fail_msg("on_done ran inside seam_transfer_resume");
    r->done = true;
    r->rc = rc;
    r->fail = seam_transfer_failure_kind(t);
    r->status = seam_transfer_status(t);
    r->received_at_done = seam_transfer_bytes_received(t);
    snprintf(r->err, sizeof(r->err), "%s", error ? error : "");
    r->elapsed_ms = now_ms() - r->t0.tv_sec * 1e3 - r->t0.tv_nsec / 1e6;
    r->t = NULL;
    event_base_loopbreak(r->base);
}

static const seam_transfer_cbs cbs = {on_data, on_done};

static void run_init(run *r)
{
    memset(r, 0, sizeof(*r));
    r->base = event_base_new();
    assert_non_null(r->base);
    r->u = seam_upstream_new(r->base);
    assert_non_null(r->u);
}

static void run_free(run *r)
{
    if (r->resume_ev)
        event_free(r->resume_ev);
    if (r->pauser_ev)
        event_free(r->pauser_ev);
    seam_upstream_free(r->u);
    event_base_free(r->base);
    free(r->data);
}

static void start(run *r, int port, seam_transfer_opts o)
{
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/stream", port);
    o.url = url;
    o.method = "GET";
    seam_rc rc = SEAM_ERR_INVALID;
    clock_gettime(CLOCK_MONOTONIC, &r->t0);
    r->t = seam_upstream_start(r->u, &o, &cbs, r, &rc);
    assert_int_equal(rc, SEAM_OK);
    assert_non_null(r->t);
}

static void on_guard(evutil_socket_t fd, short what, void *arg)
{
    event_base_loopbreak(arg);
}

/* Runs the loop until on_done, or fails after <max_ms>. */
static void run_until_done(run *r, long max_ms)
{
    struct event *guard = evtimer_new(r->base, on_guard, r->base);
    struct timeval tv = {max_ms / 1000, (max_ms % 1000) * 1000};
    evtimer_add(guard, &tv);
    event_base_dispatch(r->base);
    event_free(guard);
    if (!r->done)
        fail_msg("the transfer did not end within %ld ms", max_ms);
}

static void expect_failure(run *r, seam_rc rc, seam_transfer_failure f)
{
    if (r->rc != rc || r->fail != f)
        fail_msg("got rc %s, failure %s (%s); want rc %s, failure %s", seam_rc_str(r->rc),
                 seam_transfer_failure_str(r->fail), r->err, seam_rc_str(rc),
                 seam_transfer_failure_str(f));
}

/* (a) Accepted, never answered: the first-byte deadline, not the total. */
static void first_byte_timeout(void **state)
{
    server *s = server_start(SRV_SILENT, 1);
    run r;
    run_init(&r);
    start(&r, s->port,
          (seam_transfer_opts){
              .timeout_ms = 5000, .connect_timeout_ms = 1000, .first_byte_timeout_ms = 200});
    run_until_done(&r, 4000);
    expect_failure(&r, SEAM_ERR_TIMEOUT, SEAM_FAIL_TIMEOUT_FIRST_BYTE);
    assert_string_equal(seam_transfer_timeout_str(r.fail), "first_byte");
    assert_non_null(strstr(r.err, "first_byte"));
    assert_true(r.elapsed_ms >= 190 && r.elapsed_ms < 1500);
    assert_int_equal(r.received_at_done, 0);
    assert_true(seam_transfer_failure_retryable(r.fail));
    assert_int_equal(seam_upstream_active(r.u), 0);
    run_free(&r);
    server_stop(s);
}

/* (b) Headers and a chunk, then silence: the idle deadline. The first-byte
 * deadline is longer and must not be what fires. */
static void idle_timeout(void **state)
{
    server *s = server_start(SRV_STALL, 1);
    run r;
    run_init(&r);
    start(&r, s->port,
          (seam_transfer_opts){
              .timeout_ms = 5000, .first_byte_timeout_ms = 3000, .idle_timeout_ms = 200});
    run_until_done(&r, 4000);
    expect_failure(&r, SEAM_ERR_TIMEOUT, SEAM_FAIL_TIMEOUT_IDLE);
    assert_string_equal(seam_transfer_timeout_str(r.fail), "idle");
    assert_non_null(strstr(r.err, "idle"));
    assert_true(r.elapsed_ms >= 190 && r.elapsed_ms < 2500);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.len, 5);
    assert_memory_equal(r.data, "hello", 5);
    assert_false(seam_transfer_failure_retryable(r.fail));
    run_free(&r);
    server_stop(s);
}

/* (c) Nobody listens: a connect failure, retryable. */
static void connect_refused(void **state)
{
    int port;
    int fd = bound_socket(-1, &port);
    run r;
    run_init(&r);
    start(&r, port, (seam_transfer_opts){.timeout_ms = 5000, .connect_timeout_ms = 1000});
    run_until_done(&r, 4000);
    expect_failure(&r, SEAM_ERR_UPSTREAM, SEAM_FAIL_CONNECT);
    assert_true(seam_transfer_failure_retryable(r.fail));
    assert_null(seam_transfer_timeout_str(r.fail));
    run_free(&r);
    close(fd);
}

/* seam out of file descriptors: the connection cannot even be tried. A
 * failure of seam's own, not the backend's, and not retryable. */
static void local_resources(void **state)
{
    int port;
    int lfd = bound_socket(-1, &port);
    run r;
    run_init(&r);
    struct rlimit old, low;
    assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
    low = old;
    low.rlim_cur = 512;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
    int fds[512], n = 0;
    while (n < 512 && (fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        n++;
    assert_int_equal(errno, EMFILE);
    start(&r, port, (seam_transfer_opts){.timeout_ms = 5000, .connect_timeout_ms = 1000});
    run_until_done(&r, 4000);
    while (n > 0)
        close(fds[--n]);
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
    expect_failure(&r, SEAM_ERR_UPSTREAM, SEAM_FAIL_LOCAL);
    assert_false(seam_transfer_failure_retryable(r.fail));
    assert_string_equal(seam_transfer_failure_str(r.fail), "local_resources");
    run_free(&r);
    close(lfd);
}

/* A listener whose accept queue is full drops new SYNs, so the connect
 * hangs until curl's connect timeout. */
static void connect_timeout(void **state)
{
    int port;
    int lfd = bound_socket(0, &port);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fill[4];
    for (int i = 0; i < 4; i++) { /* connects that complete fill the queue */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(fill[i], (struct sockaddr *)&a, sizeof(a));
    }
    sleep_ms(50);
    run r;
    run_init(&r);
    start(&r, port, (seam_transfer_opts){.timeout_ms = 5000, .connect_timeout_ms = 200});
    run_until_done(&r, 4000);
    expect_failure(&r, SEAM_ERR_TIMEOUT, SEAM_FAIL_TIMEOUT_CONNECT);
    assert_string_equal(seam_transfer_timeout_str(r.fail), "connect");
    assert_non_null(strstr(r.err, "connect timeout"));
    assert_true(r.elapsed_ms >= 190 && r.elapsed_ms < 2500);
    run_free(&r);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
}

/* (d) Dropped after body bytes reached on_data: not retryable. */
static void reset_mid_body(void **state)
{
    server *s = server_start(SRV_RESET_MID, 1);
    run r;
    run_init(&r);
    start(&r, s->port, (seam_transfer_opts){.timeout_ms = 5000, .idle_timeout_ms = 3000});
    run_until_done(&r, 4000);
    expect_failure(&r, SEAM_ERR_UPSTREAM, SEAM_FAIL_RESET_MID_BODY);
    assert_int_equal(r.len, 10);
    assert_memory_equal(r.data, "helloworld", 10);
    assert_false(seam_transfer_failure_retryable(r.fail));
    run_free(&r);
    server_stop(s);
}

/* Dropped after the request went out, before any answer: retryable. */
static void reset_before_body(void **state)
{
    server *s = server_start(SRV_RESET_BEFORE, 1);
    run r;
    run_init(&r);
    start(&r, s->port, (seam_transfer_opts){.timeout_ms = 5000, .first_byte_timeout_ms = 3000});
    run_until_done(&r, 4000);
    expect_failure(&r, SEAM_ERR_UPSTREAM, SEAM_FAIL_RESET_BEFORE_BODY);
    assert_int_equal(r.len, 0);
    assert_true(seam_transfer_failure_retryable(r.fail));
    run_free(&r);
    server_stop(s);
}

/* (f) A server that keeps talking never trips the idle deadline; the total
 * one ends it. */
static void total_timeout(void **state)
{
    server *s = server_start(SRV_TRICKLE, 1);
    run r;
    run_init(&r);
    start(&r, s->port,
          (seam_transfer_opts){
              .timeout_ms = 400, .first_byte_timeout_ms = 1000, .idle_timeout_ms = 300});
    run_until_done(&r, 4000);
    expect_failure(&r, SEAM_ERR_TIMEOUT, SEAM_FAIL_TIMEOUT_TOTAL);
    assert_string_equal(seam_transfer_timeout_str(r.fail), "total");
    assert_non_null(strstr(r.err, "total"));
    assert_true(r.elapsed_ms >= 390 && r.elapsed_ms < 2500);
    assert_true(r.len >= 5 && r.len % 5 == 0);
    run_free(&r);
    server_stop(s);
}

/* The body cap, whether the server announces the size or not. */
static void too_large(void **state)
{
    scenario scs[] = {SRV_BIG_CHUNKED, SRV_BIG_LENGTH};
    for (size_t i = 0; i < 2; i++) {
        server *s = server_start(scs[i], 1);
        run r;
        run_init(&r);
        start(&r, s->port, (seam_transfer_opts){.timeout_ms = 5000, .max_response_bytes = 4096});
        run_until_done(&r, 4000);
        expect_failure(&r, SEAM_ERR_TOO_BIG, SEAM_FAIL_TOO_LARGE);
        assert_true(r.len <= 4096);
        assert_non_null(strstr(r.err, "4096"));
        run_free(&r);
        server_stop(s);
    }
}

/* A timer outside any curl callback: resume what a pause stopped. */
static void on_resume(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    if (!r->t)
        return;
    if (r->resumes == 0 && atomic_load(&r->srv->streams_finished) == 0)
        r->stream_held_back = true;
    r->resumes++;
    r->paused = false;
    r->in_resume = true;
    seam_transfer_resume(r->t); /* may call on_data, which may pause again */
    r->in_resume = false;
    if (!r->t)
        return;
    if (!r->paused)
        seam_transfer_resume(r->t); /* idempotent */
    assert_true(seam_transfer_paused(r->t) == r->paused);
}

/* A pause from outside the callbacks, as from the proxy's client write
 * callback reporting a full buffer. */

static void on_pauser(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    if (!r->t || r->paused)
        return;
    r->paused = true;
    r->pauses_outside++;
    r->next_pause_at = r->len + 50 * STREAM_REC;
    seam_transfer_pause(r->t);
    seam_transfer_pause(r->t);
    event_add(r->resume_ev, &(struct timeval){0, 200000});
}

/* (e) 16 MB in 1000 chunks while the transfer is paused repeatedly, from
 * inside on_data and from timers, each pause longer than the idle
 * deadline: every byte arrives once and in order, no deadline fires, the
 * server was held back, and resuming delivered bytes synchronously. */
static void pause_resume_stream(void **state)
{
    server *s = server_start(SRV_STREAM, 1);
    run r;
    run_init(&r);
    r.srv = s;
    r.resume_ev = evtimer_new(r.base, on_resume, &r);
    r.pauser_ev = evtimer_new(r.base, on_pauser, &r);
    r.next_pause_at = 100 * STREAM_REC;
    start(&r, s->port,
          (seam_transfer_opts){
              .timeout_ms = 60000, .first_byte_timeout_ms = 2000, .idle_timeout_ms = 150});
    run_until_done(&r, 60000);
    if (r.rc != SEAM_OK)
        fail_msg("stream failed: %s (%s)", seam_transfer_failure_str(r.fail), r.err);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.fail, SEAM_FAIL_NONE);
    assert_int_equal(r.len, (size_t)STREAM_RECORDS * STREAM_REC);
    assert_int_equal(r.received_at_done, r.len);
    char *want = malloc(STREAM_REC);
    assert_non_null(want);
    for (unsigned i = 0; i < STREAM_RECORDS; i++) {
        make_record(want, i);
        if (memcmp(r.data + (size_t)i * STREAM_REC, want, STREAM_REC) != 0)
            fail_msg("record %u is wrong: '%.8s'", i, r.data + (size_t)i * STREAM_REC);
    }
    free(want);
    assert_int_equal(r.pauses_inside, 5);
    assert_int_equal(r.pauses_outside, 2);
    assert_true(r.resumes >= r.pauses_inside);
    assert_true(r.stream_held_back);
    assert_true(r.data_in_resume > 0);
    run_free(&r);
    server_stop(s);
}

/* Pausing and cancelling from inside on_data, and cancelling a paused
 * transfer from outside: no callback fires afterwards, nothing leaks. */
static void on_cancel_paused(evutil_socket_t fd, short what, void *arg)
{
    run *r = arg;
    assert_true(seam_transfer_paused(r->t));
    seam_transfer_cancel(r->t);
    r->t = NULL;
    event_base_loopexit(r->base, &(struct timeval){0, 200000});
}

static void cancel_while_paused(void **state)
{
    /* cancelled from inside on_data, right after pausing */
    server *s = server_start(SRV_STREAM, 1);
    run r;
    run_init(&r);
    r.cancel_in_data = true;
    start(&r, s->port, (seam_transfer_opts){.timeout_ms = 10000, .idle_timeout_ms = 100});
    event_base_dispatch(r.base);
    assert_false(r.done);
    assert_true(r.len > 0);
    assert_int_equal(seam_upstream_active(r.u), 0);
    run_free(&r);
    server_stop(s);

    /* paused from inside on_data, cancelled from a timer well past the idle
     * deadline */
    s = server_start(SRV_STREAM, 1);
    run_init(&r);
    r.srv = s;
    r.next_pause_at = 1;
    r.resume_ev = evtimer_new(r.base, on_cancel_paused, &r);
    start(&r, s->port, (seam_transfer_opts){.timeout_ms = 10000, .idle_timeout_ms = 100});
    event_base_dispatch(r.base);
    assert_false(r.done);
    assert_true(r.len > 0 && r.len < (size_t)STREAM_RECORDS * STREAM_REC);
    assert_int_equal(seam_upstream_active(r.u), 0);
    run_free(&r);
    server_stop(s);
}

/* on_data aborting on bytes that seam_transfer_resume delivers: curl drops
 * them, and the transfer still ends once, as an abort, from the loop. */
static void abort_inside_resume(void **state)
{
    server *s = server_start(SRV_STREAM, 1);
    run r;
    run_init(&r);
    r.srv = s;
    r.next_pause_at = 1;
    r.abort_in_resume = true;
    r.resume_ev = evtimer_new(r.base, on_resume, &r);
    start(&r, s->port, (seam_transfer_opts){.timeout_ms = 10000, .idle_timeout_ms = 2000});
    run_until_done(&r, 8000);
    expect_failure(&r, SEAM_ERR_CANCELLED, SEAM_FAIL_ABORTED);
    assert_int_equal(r.resumes, 1);
    assert_int_equal(r.data_in_resume, 1);
    assert_int_equal(seam_upstream_active(r.u), 0);
    run_free(&r);
    server_stop(s);
}

/* Two transfers; A is paused, and resumed from inside B's on_data, that
 * is from inside a curl callback, where the resume must wait for the loop. */
typedef struct pair {
    run a, b;
    bool a_resumed;
    bool in_b_resume;
    size_t b_len_at_pause;
} pair;

static int pair_data_a(void *ctx, seam_transfer *t, const char *p, size_t n)
{
    pair *pr = ctx;
    if (pr->a.paused)
        fail_msg("A got data while paused");
    if (pr->in_b_resume)
        fail_msg("A resumed inside B's curl callback");
    pr->a.len += n;
    if (pr->a.len >= 10 * STREAM_REC && !pr->a_resumed && !pr->a.paused) {
        pr->a.paused = true;
        pr->b_len_at_pause = pr->b.len;
        seam_transfer_pause(t);
    }
    return 0;
}

static int pair_data_b(void *ctx, seam_transfer *t, const char *p, size_t n)
{
    pair *pr = ctx;
    pr->b.len += n;
    /* by then curl has offered A a chunk and been told to pause */
    if (pr->a.paused && pr->a.t && pr->b.len >= pr->b_len_at_pause + 100 * STREAM_REC) {
        pr->a.paused = false;
        pr->a_resumed = true;
        pr->in_b_resume = true;
        seam_transfer_resume(pr->a.t); /* deferred to the loop */
        pr->in_b_resume = false;
        assert_false(seam_transfer_paused(pr->a.t));
    }
    return 0;
}

static void pair_done(void *ctx, seam_transfer *t, seam_rc rc, const char *error)
{
    pair *pr = ctx;
    run *r = t == pr->a.t ? &pr->a : &pr->b;
    if (rc != SEAM_OK)
        fail_msg("transfer failed: %s", error);
    r->done = true;
    r->t = NULL;
    if (r == &pr->b && pr->a.paused && pr->a.t) { /* B ended first: the test fails below */
        pr->a.paused = false;
        seam_transfer_resume(pr->a.t);
    }
    if (pr->a.done && pr->b.done)
        event_base_loopbreak(pr->a.base);
}

static void resume_from_another_callback(void **state)
{
    server *s = server_start(SRV_STREAM, 2);
    pair pr;
    memset(&pr, 0, sizeof(pr));
    struct event_base *base = event_base_new();
    seam_upstream *u = seam_upstream_new(base);
    pr.a.base = base;
    static const seam_transfer_cbs cbs_a = {pair_data_a, pair_done};
    static const seam_transfer_cbs cbs_b = {pair_data_b, pair_done};
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", s->port);
    seam_transfer_opts o = {
        .url = url, .method = "GET", .timeout_ms = 60000, .idle_timeout_ms = 2000};
    seam_rc rc;
    pr.a.t = seam_upstream_start(u, &o, &cbs_a, &pr, &rc);
    pr.b.t = seam_upstream_start(u, &o, &cbs_b, &pr, &rc);
    assert_non_null(pr.a.t);
    assert_non_null(pr.b.t);
    struct event *guard = evtimer_new(base, on_guard, base);
    event_add(guard, &(struct timeval){60, 0});
    event_base_dispatch(base);
    event_free(guard);
    assert_true(pr.a.done && pr.b.done);
    assert_true(pr.a_resumed);
    assert_int_equal(pr.a.len, (size_t)STREAM_RECORDS * STREAM_REC);
    assert_int_equal(pr.b.len, (size_t)STREAM_RECORDS * STREAM_REC);
    seam_upstream_free(u);
    event_base_free(base);
    server_stop(s);
}

static void names(void **state)
{
    assert_string_equal(seam_transfer_failure_str(SEAM_FAIL_NONE), "none");
    assert_string_equal(seam_transfer_failure_str(SEAM_FAIL_RESET_MID_BODY), "reset_mid_body");
    assert_string_equal(seam_transfer_failure_str(SEAM_FAIL_TIMEOUT_IDLE), "timeout_idle");
    assert_null(seam_transfer_timeout_str(SEAM_FAIL_CONNECT));
    assert_false(seam_transfer_failure_retryable(SEAM_FAIL_NONE));
    assert_false(seam_transfer_failure_retryable(SEAM_FAIL_TIMEOUT_TOTAL));
    assert_false(seam_transfer_failure_retryable(SEAM_FAIL_ABORTED));
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names),
        cmocka_unit_test(first_byte_timeout),
        cmocka_unit_test(idle_timeout),
        cmocka_unit_test(connect_refused),
        cmocka_unit_test(local_resources),
        cmocka_unit_test(connect_timeout),
        cmocka_unit_test(reset_mid_body),
        cmocka_unit_test(reset_before_body),
        cmocka_unit_test(total_timeout),
        cmocka_unit_test(too_large),
        cmocka_unit_test(pause_resume_stream),
        cmocka_unit_test(cancel_while_paused),
        cmocka_unit_test(abort_inside_resume),
        cmocka_unit_test(resume_from_another_callback),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return failed;
}
