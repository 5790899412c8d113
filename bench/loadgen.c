/*
 * loadgen: an HTTP load generator for OpenAI-style chat completions, streaming
 * or not, built on libcurl's multi_socket interface and a plain epoll loop.
 *
 * Two ways to offer load:
 *   closed loop  --concurrency C: C requests always in flight; each one that
 *                finishes is replaced at once (keep-alive connections).
 *                Latency is measured from the moment a request is handed to
 *                libcurl.
 *   open loop    --rate R: request i is due at t0 + i/R whatever happened to
 *                the earlier ones, and its latency is measured from that
 *                scheduled time, not from when it actually left. A stall in
 *                the system under test therefore shows up in the latency of
 *                every request it delayed (no coordinated omission). The
 *                loop sleeps on epoll_pwait2 with a nanosecond timeout and a
 *                1 ns timer slack so sends leave close to schedule; how late
 *                they left is reported as send_lag_us.
 *
 * Per request it records the total latency and the time to first byte of the
 * response body (for a stream: the first SSE bytes); for a stream also the
 * longest wait between two arrivals of body bytes (max_gap), which shows
 * events held back on the way (Nagle, buffering). A request counts as an
 * error if libcurl fails, the status is not 2xx, or, with --stream, the body
 * does not end with `data: [DONE]`. With --expect-content TEXT a stream is
 * also checked whole: the `delta.content` strings of its events, joined,
 * must equal TEXT and an event must say `"finish_reason":"stop"`; a stream
 * that fails this counts as a `corrupt` error. Only requests scheduled inside the
 * measurement window (after --warmup) are reported; throughput is successful
 * measured requests per second of window.
 *
 * The run is bounded: no new request is scheduled after warmup + duration,
 * and everything still in flight --timeout-ms later is aborted and counted.
 *
 * --threads N runs N independent event loops, each with its own multi handle,
 * splitting the concurrency (or the rate, interleaving the schedule) between
 * them; results are merged.
 *
 * Output: one JSON object on stdout (see print_result).
 */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define NS_PER_S 1000000000ull
#define DONE_MARK "data: [DONE]"

/* ---- options ----------------------------------------------------------- */

struct opts {
    const char *url;
    const char *body_file;
    long prompt_bytes;
    const char *model;
    long max_tokens;
    int stream;
    int concurrency;
    double rate;
    double duration_s;
    double warmup_s;
    long requests; /* cap on measured requests, 0 = none */
    long timeout_ms;
    int threads;
    long connections; /* open loop: cap on connections, 0 = unlimited */
    uint64_t spin_ns; /* open loop: busy-poll this long before each send */
    const char *label;
    const char *expect_content; /* streams: the joined delta.content expected */
    size_t expect_len;
    struct curl_slist *headers;
    int no_default_headers;
};

static struct opts o = {
    .url = "http://127.0.0.1:8080/v1/chat/completions",
    .prompt_bytes = 1024,
    .model = "auto",
    .max_tokens = 16,
    .concurrency = 1,
    .duration_s = 10,
    .warmup_s = 1,
    .timeout_ms = 10000,
    .threads = 1,
    .spin_ns = 100000,
};

static char *body;
static size_t body_len;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "loadgen: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        die("%s", "out of memory");
    return p;
}

/* A growable array of nanosecond samples. */
struct samples {
    uint64_t *v;
    size_t n, cap;
};

static void samples_push(struct samples *s, uint64_t x)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            die("%s", "out of memory");
    }
    s->v[s->n++] = x;
}

/* ---- per-thread state ---------------------------------------------------- */

struct worker;

/* One request slot: an easy handle reused for request after request. */
struct xfer {
    CURL *easy;
    struct worker *w;
    struct xfer *next_free;
    uint64_t t_sched;    /* when the request was due (open) or handed to curl (closed) */
    uint64_t t_first;    /* first body byte, 0 = none yet */
    uint64_t t_token;    /* streams: first byte of the first content token, 0 = none yet */
    char carry[16];      /* the last bytes seen, for a token mark split across writes */
    size_t carry_len;
    uint64_t t_last;     /* latest body bytes */
    uint64_t max_gap;    /* longest wait between two arrivals of body bytes */
    size_t bytes;
    char tail[sizeof(DONE_MARK) + 4];
    size_t tail_len;
    int measured;
    /* --expect-content: the current partial SSE line, the content so far */
    char *line, *content;
    size_t line_len, line_cap, content_len, content_cap;
    int seen_stop, content_bad;
    long events;
};

struct errors {
    long transport, timeout, status, incomplete, corrupt, aborted;
    char first[256];
};

struct worker {
    int id;
    pthread_t tid;
    CURLM *multi;
    int epfd;
    uint64_t curl_deadline; /* UINT64_MAX = no curl timer */
    unsigned char *watched; /* fd -> curl currently watches it */
    size_t nwatched;
    uint64_t t0, t_measure, t_end, t_hard;
    int running_curl;
    long inflight;
    struct xfer *free_list;
    struct xfer **all;
    size_t nall, capall;
    /* open loop schedule */
    uint64_t next_send;
    double period_ns;
    uint64_t seq;
    int sending;
    /* results */
    long measured_started;
    long cap_requests;
    int capped;         /* sending stopped because --requests was reached */
    uint64_t last_done; /* completion time of the last measured request */
    struct samples lat, ttfb, ttft, lag, gap;
    long ok, ok_total, verified;
    long long bytes;
    struct errors err;
};

static struct worker workers[MAX_THREADS];

/* ---- stream content check (--expect-content) --------------------------- */

static void grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    *p = realloc(*p, n);
    if (!*p)
        die("%s", "out of memory");
    *cap = n;
}

/* One complete SSE line: a `data:` event adds its delta's content (the raw
 * JSON string, escapes kept: the expected text has none) to the stream's. */
static void check_line(struct xfer *x, const char *l, size_t n)
{
    if (n < 5 || memcmp(l, "data:", 5) != 0)
        return;
    x->events++;
    if (memmem(l, n, "\"finish_reason\":\"stop\"", sizeof("\"finish_reason\":\"stop\"") - 1))
        x->seen_stop = 1;
    const char *d = memmem(l, n, "\"delta\":", 8);
    if (!d)
        return;
    const char *end = l + n;
    const char *c = memmem(d, (size_t)(end - d), "\"content\":", 10);
    if (!c)
        return;
    c += 10;
    while (c < end && *c == ' ')
        c++;
    if (c >= end || *c != '"')
        return; /* null content */
    const char *s = ++c;
    while (c < end && *c != '"')
        c += *c == '\\' ? 2 : 1;
    if (c >= end) {
        x->content_bad = 1;
        return;
    }
    size_t k = (size_t)(c - s);
    grow(&x->content, &x->content_cap, x->content_len + k + 1);
    memcpy(x->content + x->content_len, s, k);
    x->content_len += k;
}

static void check_bytes(struct xfer *x, const char *p, size_t n)
{
    while (n) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        if (nl && x->line_len == 0) {
            check_line(x, p, k); /* the usual case: a whole line, no copy */
        } else {
            grow(&x->line, &x->line_cap, x->line_len + k + 1);
            memcpy(x->line + x->line_len, p, k);
            x->line_len += k;
            if (nl) {
                check_line(x, x->line, x->line_len);
                x->line_len = 0;
            }
        }
        if (!nl)
            break;
        p += k + 1;
        n -= k + 1;
    }
}

/* Time to first token: the first `"content":"` followed by anything but
 * the closing quote, in OpenAI's chunk framing. The role chunk that opens a
 * stream carries `"content":""` and does not count: a client shows nothing
 * until a token arrives, and a gateway may hold the role chunk back until
 * then (seam does, to keep the stream retryable). */
#define TOKEN_MARK "\"content\":\""
#define TOKEN_MARK_LEN (sizeof(TOKEN_MARK) - 1)

/* Keeps the last <cap> bytes of what <buf> held followed by <p>[0, n). */
static void keep_last(char *buf, size_t *len, size_t cap, const char *p, size_t n)
{
    if (n >= cap) {
        memcpy(buf, p + n - cap, cap);
        *len = cap;
        return;
    }
    size_t keep = *len + n > cap ? cap - n : *len;
    memmove(buf, buf + *len - keep, keep);
    memcpy(buf + keep, p, n);
    *len = keep + n;
}

/* Whether <p>[0, n) holds a mark followed by a byte other than '"'. */
static int has_token(const char *p, size_t n)
{
    for (const char *q = p; (q = memmem(q, n - (size_t)(q - p), TOKEN_MARK, TOKEN_MARK_LEN)); q++)
        if ((size_t)(q - p) + TOKEN_MARK_LEN < n && q[TOKEN_MARK_LEN] != '"')
            return 1;
    return 0;
}

static void find_token(struct xfer *x, const char *p, size_t n)
{
    /* the previous write's last bytes joined to this one's first: a mark
     * (or the byte after it) split between the two */
    char joint[sizeof(x->carry) + TOKEN_MARK_LEN + 1];
    size_t head = n < TOKEN_MARK_LEN + 1 ? n : TOKEN_MARK_LEN + 1;
    memcpy(joint, x->carry, x->carry_len);
    memcpy(joint + x->carry_len, p, head);
    if (has_token(joint, x->carry_len + head) || has_token(p, n)) {
        x->t_token = now_ns();
        return;
    }
    keep_last(x->carry, &x->carry_len, TOKEN_MARK_LEN, p, n);
}

/* ---- libcurl callbacks ------------------------------------------------- */

static size_t on_write(char *p, size_t sz, size_t nm, void *arg)
{
    struct xfer *x = arg;
    size_t n = sz * nm;
    if (n) {
        uint64_t t = now_ns();
        if (!x->t_first)
            x->t_first = t;
        else if (t - x->t_last > x->max_gap)
            x->max_gap = t - x->t_last;
        x->t_last = t;
    }
    x->bytes += n;
    if (o.stream && n && !x->t_token)
        find_token(x, p, n);
    if (o.expect_content)
        check_bytes(x, p, n);
    /* Keep the last bytes, enough to see the stream terminator. */
    keep_last(x->tail, &x->tail_len, sizeof(x->tail), p, n);
    return n;
}

/* libcurl's socket callback. A socket curl stops watching (CURL_POLL_REMOVE)
 * stays registered with no events: with keep-alive the same connection is
 * usually watched again by the next request, and this saves an epoll_ctl
 * pair per request. A closed socket leaves the epoll set by itself; an event
 * on a socket curl does not watch removes it (see the loop). */
static int on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *sockp)
{
    (void)e;
    (void)sockp;
    struct worker *w = userp;
    struct epoll_event ev = {0};
    ev.data.fd = s;
    if (what == CURL_POLL_REMOVE) {
        if ((size_t)s < w->nwatched)
            w->watched[s] = 0;
        epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev);
        return 0;
    }
    if (what & CURL_POLL_IN)
        ev.events |= EPOLLIN;
    if (what & CURL_POLL_OUT)
        ev.events |= EPOLLOUT;
    if ((size_t)s >= w->nwatched) {
        size_t n = w->nwatched ? w->nwatched : 1024;
        while (n <= (size_t)s)
            n *= 2;
        w->watched = realloc(w->watched, n);
        if (!w->watched)
            die("%s", "out of memory");
        memset(w->watched + w->nwatched, 0, n - w->nwatched);
        w->nwatched = n;
    }
    w->watched[s] = 1;
    if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, s, &ev) < 0 && errno == ENOENT)
        epoll_ctl(w->epfd, EPOLL_CTL_ADD, s, &ev);
    return 0;
}

static int on_timer(CURLM *m, long timeout_ms, void *userp)
{
    (void)m;
    struct worker *w = userp;
    w->curl_deadline = timeout_ms < 0 ? UINT64_MAX : now_ns() + (uint64_t)timeout_ms * 1000000ull;
    return 0;
}

/* ---- requests ---------------------------------------------------------- */

static struct xfer *xfer_get(struct worker *w)
{
    struct xfer *x = w->free_list;
    if (x) {
        w->free_list = x->next_free;
        return x;
    }
    x = calloc(1, sizeof(*x));
    if (!x || !(x->easy = curl_easy_init()))
        die("%s", "cannot create a curl handle");
    x->w = w;
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, o.url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, o.headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o.timeout_ms);
    if (w->nall == w->capall) {
        w->capall = w->capall ? w->capall * 2 : 64;
        w->all = realloc(w->all, w->capall * sizeof(*w->all));
        if (!w->all)
            die("%s", "out of memory");
    }
    w->all[w->nall++] = x;
    return x;
}

/* Hands a request to libcurl. <t_sched> is the time its latency counts from. */
static void launch(struct worker *w, uint64_t t_sched)
{
    struct xfer *x = xfer_get(w);
    x->t_sched = t_sched;
    x->t_first = 0;
    x->t_token = 0;
    x->carry_len = 0;
    x->t_last = 0;
    x->max_gap = 0;
    x->bytes = 0;
    x->tail_len = 0;
    x->line_len = 0;
    x->content_len = 0;
    x->seen_stop = 0;
    x->content_bad = 0;
    x->events = 0;
    x->measured = t_sched >= w->t_measure && t_sched < w->t_end &&
                  (w->cap_requests == 0 || w->measured_started < w->cap_requests);
    if (x->measured)
        w->measured_started++;
    w->inflight++;
    CURLMcode mc = curl_multi_add_handle(w->multi, x->easy);
    if (mc != CURLM_OK)
        die("curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

static void note_error(struct worker *w, long *counter, const char *msg)
{
    (*counter)++;
    if (!w->err.first[0])
        snprintf(w->err.first, sizeof(w->err.first), "%s", msg);
}

/* Records a finished transfer and, in closed loop, starts the next one. */
static void finish(struct worker *w, struct xfer *x, CURLcode rc, uint64_t t_done)
{
    char msg[200];
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(w->multi, x->easy);
    w->inflight--;
    int ok = 0;
    if (rc == CURLE_OPERATION_TIMEDOUT) {
        snprintf(msg, sizeof(msg), "timeout after %ld ms", o.timeout_ms);
        note_error(w, &w->err.timeout, msg);
    } else if (rc != CURLE_OK) {
        snprintf(msg, sizeof(msg), "curl: %s", curl_easy_strerror(rc));
        note_error(w, &w->err.transport, msg);
    } else if (status < 200 || status > 299) {
        snprintf(msg, sizeof(msg), "HTTP status %ld", status);
        note_error(w, &w->err.status, msg);
    } else if (o.stream && !(x->tail_len >= sizeof(DONE_MARK) - 1 &&
                             memmem(x->tail, x->tail_len, DONE_MARK, sizeof(DONE_MARK) - 1))) {
        note_error(w, &w->err.incomplete, "stream ended without data: [DONE]");
    } else if (o.stream && o.expect_content &&
               (x->content_bad || !x->seen_stop || x->content_len != o.expect_len ||
                memcmp(x->content, o.expect_content, o.expect_len) != 0)) {
        snprintf(msg, sizeof(msg), "stream content differs: %zu of %zu bytes, %ld events, stop %s",
                 x->content_len, o.expect_len, x->events, x->seen_stop ? "seen" : "missing");
        note_error(w, &w->err.corrupt, msg);
    } else {
        ok = 1;
    }
    if (ok) {
        w->ok_total++;
        if (o.stream && o.expect_content)
            w->verified++;
        if (x->measured) {
            w->ok++;
            if (t_done > w->last_done)
                w->last_done = t_done;
            w->bytes += (long long)x->bytes;
            samples_push(&w->lat, t_done - x->t_sched);
            samples_push(&w->ttfb, (x->t_first ? x->t_first : t_done) - x->t_sched);
            if (o.stream)
                samples_push(&w->ttft, (x->t_token ? x->t_token : t_done) - x->t_sched);
            if (o.stream)
                samples_push(&w->gap, x->max_gap);
        }
    }
    if (o.rate <= 0 && w->sending) {
        uint64_t now = now_ns();
        if (now < w->t_end && (w->cap_requests == 0 || w->measured_started < w->cap_requests)) {
            /* Reuse this very handle so each closed-loop user keeps one slot. */
            x->next_free = w->free_list;
            w->free_list = x;
            launch(w, now);
            return;
        }
        w->sending = 0;
        w->capped = now < w->t_end;
    }
    x->next_free = w->free_list;
    w->free_list = x;
}

static void drain_messages(struct worker *w)
{
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(w->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct xfer *x;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        finish(w, x, m->data.result, now_ns());
    }
}

/* ---- the loop ---------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    w->multi = curl_multi_init();
    if (w->epfd < 0 || !w->multi)
        die("%s", "cannot create the event loop");
    w->curl_deadline = UINT64_MAX;
    long conns = o.rate > 0 ? o.connections : 0;
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(w->multi, CURLMOPT_SOCKETDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERFUNCTION, on_timer);
    curl_multi_setopt(w->multi, CURLMOPT_TIMERDATA, w);
    curl_multi_setopt(w->multi, CURLMOPT_MAXCONNECTS, conns > 0 ? conns : 100000L);
    if (conns > 0)
        curl_multi_setopt(w->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, conns);

    /* Wait for the common start so threads begin together. */
    while (now_ns() < w->t0)
        ;
    w->sending = 1;
    if (o.rate <= 0) {
        int users = o.concurrency / o.threads + (w->id < o.concurrency % o.threads);
        for (int i = 0; i < users; i++)
            launch(w, now_ns());
        if (users == 0)
            w->sending = 0;
    }

    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = now_ns();
        if (o.rate > 0 && w->sending) {
            while (w->next_send <= now) {
                if (w->next_send >= w->t_end ||
                    (w->cap_requests && w->measured_started >= w->cap_requests)) {
                    w->capped = w->next_send < w->t_end;
                    w->sending = 0;
                    break;
                }
                if (w->next_send >= w->t_measure)
                    samples_push(&w->lag, now - w->next_send);
                launch(w, w->next_send);
                w->seq++;
                w->next_send = w->t0 + (uint64_t)(w->period_ns * (double)w->seq);
            }
        }
        if (!w->sending && w->inflight == 0)
            break;
        if (now >= w->t_hard)
            break;
        uint64_t deadline = w->t_hard;
        if (w->curl_deadline < deadline)
            deadline = w->curl_deadline;
        if (o.rate > 0 && w->sending) {
            /* Wake shortly before the next send and then poll without
             * sleeping until it is due: waking from a timer is late by tens
             * of microseconds on virtual machines, and that lateness would
             * count as latency. */
            uint64_t wake = w->next_send > o.spin_ns ? w->next_send - o.spin_ns : 0;
            if (wake < deadline)
                deadline = wake;
        }
        int n;
        if (deadline <= now) {
            n = epoll_wait(w->epfd, evs, 256, 0);
        } else {
            uint64_t d = deadline - now;
            struct timespec ts = {(time_t)(d / NS_PER_S), (long)(d % NS_PER_S)};
            n = epoll_pwait2(w->epfd, evs, 256, &ts, NULL);
        }
        if (n < 0 && errno != EINTR)
            die("epoll: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if ((size_t)fd >= w->nwatched || !w->watched[fd]) {
                epoll_ctl(w->epfd, EPOLL_CTL_DEL, fd, NULL);
                continue;
            }
            int mask = 0;
            if (evs[i].events & (EPOLLIN | EPOLLHUP))
                mask |= CURL_CSELECT_IN;
            if (evs[i].events & EPOLLOUT)
                mask |= CURL_CSELECT_OUT;
            if (evs[i].events & EPOLLERR)
                mask |= CURL_CSELECT_ERR;
            curl_multi_socket_action(w->multi, fd, mask, &w->running_curl);
        }
        if (w->curl_deadline <= now_ns()) {
            w->curl_deadline = UINT64_MAX;
            curl_multi_socket_action(w->multi, CURL_SOCKET_TIMEOUT, 0, &w->running_curl);
        }
        drain_messages(w);
    }
    /* Past the hard deadline: whatever is left is aborted and counted. */
    for (size_t i = 0; i < w->nall; i++) {
        struct xfer *x = w->all[i];
        int busy = 1;
        for (struct xfer *f = w->free_list; f; f = f->next_free)
            if (f == x)
                busy = 0;
        if (busy) {
            curl_multi_remove_handle(w->multi, x->easy);
            note_error(w, &w->err.aborted, "aborted at the end of the run");
        }
    }
    for (size_t i = 0; i < w->nall; i++) {
        curl_easy_cleanup(w->all[i]->easy);
        free(w->all[i]->line);
        free(w->all[i]->content);
        free(w->all[i]);
    }
    curl_multi_cleanup(w->multi);
    close(w->epfd);
    return NULL;
}

/* ---- results ----------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted <v> in microseconds. */
static double pct_us(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    if (k < 1)
        k = 1;
    if (k > n)
        k = n;
    return (double)v[k - 1] / 1000.0;
}

static void merge(struct samples *dst, const struct samples *src)
{
    for (size_t i = 0; i < src->n; i++)
        samples_push(dst, src->v[i]);
}

static void print_dist(const char *name, struct samples *s, int last)
{
    qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
    double sum = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += (double)s->v[i];
    printf("\"%s\":{\"n\":%zu,\"mean\":%.1f,\"min\":%.1f,\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,"
           "\"p99.9\":%.1f,\"max\":%.1f}%s",
           name, s->n, s->n ? sum / (double)s->n / 1000.0 : 0.0, pct_us(s->v, s->n, 0),
           pct_us(s->v, s->n, 50), pct_us(s->v, s->n, 90), pct_us(s->v, s->n, 99),
           pct_us(s->v, s->n, 99.9), s->n ? (double)s->v[s->n - 1] / 1000.0 : 0.0,
           last ? "" : ",");
}

static void print_json_string(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static void print_result(double window_s)
{
    struct samples lat = {0}, ttfb = {0}, ttft = {0}, lag = {0}, gap = {0};
    struct errors e = {0};
    long ok = 0, ok_total = 0, started = 0, verified = 0;
    long long bytes = 0;
    for (int t = 0; t < o.threads; t++) {
        struct worker *w = &workers[t];
        merge(&lat, &w->lat);
        merge(&ttfb, &w->ttfb);
        merge(&ttft, &w->ttft);
        merge(&lag, &w->lag);
        merge(&gap, &w->gap);
        ok += w->ok;
        ok_total += w->ok_total;
        verified += w->verified;
        started += w->measured_started;
        bytes += w->bytes;
        e.transport += w->err.transport;
        e.timeout += w->err.timeout;
        e.status += w->err.status;
        e.incomplete += w->err.incomplete;
        e.corrupt += w->err.corrupt;
        e.aborted += w->err.aborted;
        if (!e.first[0] && w->err.first[0])
            memcpy(e.first, w->err.first, sizeof(e.first));
    }
    long nerr = e.transport + e.timeout + e.status + e.incomplete + e.corrupt + e.aborted;
    printf("{");
    if (o.label) {
        printf("\"label\":");
        print_json_string(o.label);
        printf(",");
    }
    printf("\"url\":");
    print_json_string(o.url);
    printf(",\"mode\":\"%s\",\"stream\":%s,\"concurrency\":%d,\"rate\":%.1f,\"threads\":%d,"
           "\"body_bytes\":%zu,\"warmup_s\":%.3f,\"window_s\":%.3f,",
           o.rate > 0 ? "open" : "closed", o.stream ? "true" : "false",
           o.rate > 0 ? 0 : o.concurrency, o.rate, o.threads, body_len, o.warmup_s, window_s);
    printf("\"requests\":%ld,\"ok\":%ld,\"ok_total\":%ld,\"verified\":%ld,\"errors\":%ld,"
           "\"error_kinds\":{\"transport\":%ld,\"timeout\":%ld,\"status\":%ld,\"incomplete\":%ld,"
           "\"corrupt\":%ld,\"aborted\":%ld},\"first_error\":",
           started, ok, ok_total, verified, nerr, e.transport, e.timeout, e.status, e.incomplete,
           e.corrupt, e.aborted);
    print_json_string(e.first);
    printf(",\"throughput_rps\":%.1f,\"response_bytes_mean\":%.1f,",
           window_s > 0 ? (double)ok / window_s : 0.0, ok ? (double)bytes / (double)ok : 0.0);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\"cpu_s\":%.3f,\"unit\":\"us\",",
           (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    print_dist("latency", &lat, 0);
    print_dist("ttfb", &ttfb, !(o.rate > 0 || o.stream));
    if (o.stream) {
        print_dist("ttft", &ttft, 0);
        print_dist("max_gap", &gap, !(o.rate > 0));
    }
    if (o.rate > 0)
        print_dist("send_lag", &lag, 1);
    printf("}\n");
}

/* ---- body -------------------------------------------------------------- */

static void build_body(void)
{
    if (o.body_file) {
        FILE *f = fopen(o.body_file, "rb");
        if (!f)
            die("cannot open %s", o.body_file);
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        fseek(f, 0, SEEK_SET);
        if (n < 0)
            die("cannot size %s", o.body_file);
        body = xmalloc((size_t)n + 1);
        if (fread(body, 1, (size_t)n, f) != (size_t)n)
            die("cannot read %s", o.body_file);
        fclose(f);
        body[n] = 0;
        body_len = (size_t)n;
        return;
    }
    /* A valid chat request whose user message is exactly prompt_bytes of
     * plain ASCII words (nothing to escape). */
    static const char filler[] = "the quick brown fox jumps over the lazy dog while benchmarks run ";
    size_t pb = (size_t)o.prompt_bytes;
    char head[512], tail[256];
    int hn = snprintf(head, sizeof(head),
                      "{\"model\":\"%s\",\"messages\":[{\"role\":\"system\",\"content\":"
                      "\"You are a helpful assistant.\"},{\"role\":\"user\",\"content\":\"",
                      o.model);
    int tn = snprintf(tail, sizeof(tail), "\"}],\"max_tokens\":%ld%s}", o.max_tokens,
                      o.stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "");
    body_len = (size_t)hn + pb + (size_t)tn;
    body = xmalloc(body_len + 1);
    memcpy(body, head, (size_t)hn);
    for (size_t i = 0; i < pb; i++)
        body[(size_t)hn + i] = filler[i % (sizeof(filler) - 1)];
    memcpy(body + hn + pb, tail, (size_t)tn + 1);
}

/* ---- main -------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen [options]\n"
            "  --url URL             target (default %s)\n"
            "  --body FILE           request body, sent as is\n"
            "  --prompt-bytes N      build a chat request with an N-byte user message (default 1024)\n"
            "  --model NAME          model in the built request (default auto)\n"
            "  --max-tokens N        max_tokens in the built request (default 16)\n"
            "  --stream              request a stream; a response must end with data: [DONE]\n"
            "  --expect-content TEXT streams: the joined delta.content must equal TEXT\n"
            "  --concurrency C       closed loop with C requests in flight (default 1)\n"
            "  --rate R              open loop at R requests/s (latency from the scheduled time)\n"
            "  --connections N       open loop: at most N connections (default unlimited)\n"
"  --spin-us N           open loop: busy-poll the last N us before each send (default 100)\n"
            "  --duration S          measurement window in seconds (default 10)\n"
            "  --warmup S            unmeasured lead-in in seconds (default 1)\n"
            "  --requests N          stop after N measured requests\n"
            "  --timeout-ms N        per-request timeout (default 10000)\n"
            "  --threads N           event-loop threads (default 1)\n"
            "  -H, --header 'K: V'   extra request header (repeatable)\n"
            "  --no-default-headers  do not send X-Seam-Sensitivity: internal\n"
            "  --label TEXT          copied into the JSON result\n",
            o.url);
    exit(2);
}

static double num(const char *flag, const char *v, double lo, double hi)
{
    char *e;
    errno = 0;
    double d = strtod(v ? v : "", &e);
    if (!v || errno || *e || !(d >= lo && d <= hi))
        die("bad value for %s", flag);
    return d;
}

int main(int argc, char **argv)
{
    struct curl_slist *extra = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && (v || (usage(), 0)) && ++i)
        if (strcmp(a, "--stream") == 0)
            o.stream = 1;
        else if (strcmp(a, "--no-default-headers") == 0)
            o.no_default_headers = 1;
        else if (ARG("--url"))
            o.url = v;
        else if (ARG("--body"))
            o.body_file = v;
        else if (ARG("--prompt-bytes"))
            o.prompt_bytes = (long)num(a, v, 0, 1 << 30);
        else if (ARG("--model"))
            o.model = v;
        else if (ARG("--max-tokens"))
            o.max_tokens = (long)num(a, v, 1, 1e9);
        else if (ARG("--concurrency"))
            o.concurrency = (int)num(a, v, 1, 1e6);
        else if (ARG("--rate"))
            o.rate = num(a, v, 0.001, 1e7);
        else if (ARG("--connections"))
            o.connections = (long)num(a, v, 0, 1e6);
        else if (ARG("--spin-us"))
            o.spin_ns = (uint64_t)(num(a, v, 0, 1e6) * 1000);
        else if (ARG("--duration"))
            o.duration_s = num(a, v, 0.001, 86400);
        else if (ARG("--warmup"))
            o.warmup_s = num(a, v, 0, 3600);
        else if (ARG("--requests"))
            o.requests = (long)num(a, v, 1, 1e12);
        else if (ARG("--timeout-ms"))
            o.timeout_ms = (long)num(a, v, 1, 86400000);
        else if (ARG("--threads"))
            o.threads = (int)num(a, v, 1, MAX_THREADS);
        else if (ARG("--label"))
            o.label = v;
        else if (ARG("--expect-content"))
            o.expect_content = v, o.expect_len = strlen(v);
        else if (ARG("-H") || ARG("--header"))
            extra = curl_slist_append(extra, v);
        else
            usage();
#undef ARG
    }
    if (o.rate <= 0 && o.threads > o.concurrency)
        o.threads = o.concurrency;
    /* Thousands of connections need thousands of descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        die("%s", "curl_global_init failed");
    build_body();

    /* "Expect:" stops libcurl from waiting for 100-continue on bodies over
     * 1 KB, which would add a round trip (or a second) to every request. */
    o.headers = curl_slist_append(NULL, "Content-Type: application/json");
    o.headers = curl_slist_append(o.headers, "Expect:");
    if (!o.no_default_headers)
        o.headers = curl_slist_append(o.headers, "X-Seam-Sensitivity: internal");
    for (struct curl_slist *h = extra; h; h = h->next)
        o.headers = curl_slist_append(o.headers, h->data);

    uint64_t t0 = now_ns() + 20 * 1000000ull;
    uint64_t warm = (uint64_t)(o.warmup_s * 1e9), dur = (uint64_t)(o.duration_s * 1e9);
    for (int t = 0; t < o.threads; t++) {
        struct worker *w = &workers[t];
        w->id = t;
        w->t0 = t0;
        w->t_measure = t0 + warm;
        w->t_end = t0 + warm + dur;
        w->t_hard = w->t_end + (uint64_t)o.timeout_ms * 1000000ull + 500000000ull;
        if (o.requests)
            w->cap_requests = o.requests / o.threads + (t < o.requests % o.threads);
        if (o.rate > 0) {
            /* Thread t sends requests t, t+T, t+2T, ... of the global schedule. */
            w->period_ns = 1e9 * o.threads / o.rate;
            w->t0 = t0 + (uint64_t)(1e9 / o.rate * t);
            w->next_send = w->t0;
        }
        if (pthread_create(&w->tid, NULL, worker_main, w) != 0)
            die("%s", "pthread_create failed");
    }
    for (int t = 0; t < o.threads; t++)
        pthread_join(workers[t].tid, NULL);
    /* The window is --duration, unless --requests closed it early: then it
     * ends when the last measured request did. */
    double window_s = o.duration_s;
    int capped = 1;
    uint64_t last = 0;
    for (int t = 0; t < o.threads; t++) {
        capped &= workers[t].capped;
        if (workers[t].last_done > last)
            last = workers[t].last_done;
    }
    if (capped && last > workers[0].t_measure)
        window_s = (double)(last - workers[0].t_measure) / 1e9;
    print_result(window_s);
    curl_global_cleanup();
    return 0;
}
