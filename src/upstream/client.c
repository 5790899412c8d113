/*
 * libcurl multi driven by libevent (after curl's docs/examples/multi-event.c).
 * curl tells us which sockets to watch (socket_cb) and when to wake it
 * (timer_cb); libevent calls back into curl_multi_socket_action; finished
 * transfers are collected in check_done().
 *
 * libcurl forbids calling multi functions from inside its callbacks, and a
 * transfer may be cancelled from anywhere (a client hanging up while curl is
 * delivering bytes for another transfer), so cancellation only marks the
 * transfer and queues it; reap_cb removes and frees queued transfers from a
 * libevent callback, outside curl. This is the only place that frees a
 * cancelled transfer.
 *
 * Deadlines. curl enforces only the connect timeout (it alone knows when
 * DNS, TCP and TLS are done). The others are two libevent timers per
 * transfer, so that each firing is known by name and so that a paused
 * transfer is not declared idle: <stall> is the first-byte deadline from
 * the moment the request goes out (CURLOPT_PREREQFUNCTION) and, once a
 * response byte arrived, the idle deadline, pushed back by every header
 * line and body chunk; <deadline> is the total. A timer ends its transfer
 * itself (transfer_end), from the loop, outside curl.
 *
 * Pausing. A pause only sets a flag: the next chunk curl offers is refused
 * with CURL_WRITEFUNC_PAUSE, which makes curl keep that chunk, stop reading
 * the socket and consider the transfer paused (<curl_paused>). This works
 * the same inside and outside callbacks and never loses a byte: bytes the
 * caller already took were returned as consumed. Resuming needs
 * curl_easy_pause(CURLPAUSE_CONT), which may deliver the kept chunk at
 * once; from inside a curl callback it is deferred to resume_cb.
 */
#include "upstream/client.h"
#include "core/alloc.h"
#include "upstream/dispatch.h"

#include <curl/curl.h>
#include <limits.h>
#include <stdbool.h>
#include <errno.h>
#include <sys/socket.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct seam_upstream {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct event *reap;
    struct event *resume; /* applies resumes asked for inside curl callbacks */
    struct event *finish; /* ends transfers that failed outside curl's loop */
    seam_transfer *reap_list;
    seam_transfer *live; /* every transfer not yet freed, for shutdown */
    size_t active;
    int in_curl; /* > 0 while curl may be calling back into us */
};

struct seam_transfer {
    seam_upstream *u;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    seam_transfer_cbs cbs;
    void *ctx;
    long status;
    struct event *stall;    /* first-byte, then idle deadline */
    struct event *deadline; /* total */
    long first_byte_ms, idle_ms, total_ms;
    size_t max_bytes;
    size_t received;     /* body bytes given to on_data */
    bool connected;      /* the request is going out on a ready connection */
    int socket_errno;    /* why socket(2) failed for this transfer, 0 if it did not */
    bool responded;      /* a response byte arrived */
    bool paused;         /* the caller's wish */
    bool curl_paused;    /* curl holds the transfer paused (we returned PAUSE) */
    bool resume_pending; /* resume_cb must unpause it */
    bool finish_pending; /* finish_cb must end it */
    bool cancelled;      /* no callback may fire any more */
    bool removed;        /* already removed from the multi handle */
    /* Set when we decide the transfer fails (on_data aborted, too large, a
     * failed resume); curl's own errors are classified in check_done. */
    seam_transfer_failure failure;
    seam_transfer *reap_next;
    seam_transfer *prev, *next; /* in seam_upstream.live */
    char content_type[128];
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
    char why[CURL_ERROR_SIZE + 64];
};

struct sock_watch {
    struct event *ev;
};

static void transfer_free(seam_transfer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else if (t->u->live == t)
        t->u->live = t->next;
    if (t->next)
        t->next->prev = t->prev;
    if (t->stall)
        event_free(t->stall);
    if (t->deadline)
        event_free(t->deadline);
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    seam_free(t->body);
    seam_free(t);
}

static struct timeval tv_ms(long ms)
{
    return (struct timeval){ms / 1000, (ms % 1000) * 1000};
}

/* (Re)starts the stall timer for the phase the transfer is in: nothing
 * before the request goes out (curl's connect timeout covers that), the
 * first-byte deadline until a response byte, the idle deadline after;
 * nothing while paused. This is the only place that arms <stall>. */
static void stall_arm(seam_transfer *t)
{
    long ms = t->responded ? t->idle_ms : t->first_byte_ms;
    if (t->paused || !t->connected || ms <= 0 || t->cancelled || t->removed) {
        evtimer_del(t->stall);
        return;
    }
    struct timeval tv = tv_ms(ms);
    evtimer_add(t->stall, &tv);
}

static seam_rc failure_rc(seam_transfer_failure f)
{
    switch (f) {
    case SEAM_FAIL_NONE:
        return SEAM_OK;
    case SEAM_FAIL_TIMEOUT_CONNECT:
    case SEAM_FAIL_TIMEOUT_FIRST_BYTE:
    case SEAM_FAIL_TIMEOUT_IDLE:
    case SEAM_FAIL_TIMEOUT_TOTAL:
        return SEAM_ERR_TIMEOUT;
    case SEAM_FAIL_TOO_LARGE:
        return SEAM_ERR_TOO_BIG;
    case SEAM_FAIL_ABORTED:
        return SEAM_ERR_CANCELLED;
    default:
        return SEAM_ERR_UPSTREAM;
    }
}

/* curl's socket(2), remembering why it failed: curl reports a socket that
 * could not be created as a connect failure, and only the errno tells seam
 * running out of descriptors from a backend that is down. */
static curl_socket_t open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
    seam_transfer *t = arg;
    curl_socket_t s = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
    if (s == CURL_SOCKET_BAD)
        t->socket_errno = errno;
    return s;
}

/* Names curl's error <res> as one of ours. The connection phase ends when
 * the request goes out (<connected>); what broke after that is told apart by
 * whether on_data saw a byte. */
static seam_transfer_failure classify(const seam_transfer *t, CURLcode res)
{
    if (t->failure != SEAM_FAIL_NONE)
        return t->failure;
    switch (res) {
    case CURLE_OK:
        return SEAM_FAIL_NONE;
    case CURLE_FILESIZE_EXCEEDED:
        return SEAM_FAIL_TOO_LARGE;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
        return SEAM_FAIL_OTHER;
    case CURLE_OPERATION_TIMEDOUT:
        /* curl runs only the connect timeout; the other deadlines are ours */
        return t->connected ? SEAM_FAIL_OTHER : SEAM_FAIL_TIMEOUT_CONNECT;
    default:
        break;
    }
    if (!t->connected) {
        int e = t->socket_errno;
        if (e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM)
            return SEAM_FAIL_LOCAL;
        return SEAM_FAIL_CONNECT;
    }
    return t->received ? SEAM_FAIL_RESET_MID_BODY : SEAM_FAIL_RESET_BEFORE_BODY;
}

/* Reports the end of a transfer already out of the multi handle and frees
 * it. Only check_done and transfer_end call this. */
static void deliver_done(seam_transfer *t, seam_rc rc, const char *err)
{
    evtimer_del(t->stall);
    evtimer_del(t->deadline);
    if (t->status == 0)
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    t->cbs.on_done(t->ctx, t, rc, err);
    transfer_free(t);
}

/* Ends a live transfer on our own decision (a deadline, a failed resume),
 * from a libevent callback, never from inside curl. */
static void transfer_end(seam_transfer *t, seam_transfer_failure f, const char *err)
{
    seam_upstream *u = t->u;
    curl_multi_remove_handle(u->multi, t->easy);
    t->removed = true;
    u->active--;
    t->failure = f;
    deliver_done(t, failure_rc(f), err);
}

static void check_done(seam_upstream *u)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(u->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        seam_transfer *t = NULL;
        CURLcode res = msg->data.result;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        curl_multi_remove_handle(u->multi, msg->easy_handle);
        t->removed = true;
        u->active--;
        if (t->cancelled)
            continue; /* queued for reap_cb, which frees it */
        seam_transfer_failure f = classify(t, res);
        const char *err = NULL;
        if (f == SEAM_FAIL_TOO_LARGE) {
            snprintf(t->why, sizeof(t->why), "the response body exceeds %zu bytes", t->max_bytes);
            err = t->why;
        } else if (f == SEAM_FAIL_TIMEOUT_CONNECT) {
            snprintf(t->why, sizeof(t->why), "%s (connect timeout)",
                     t->errbuf[0] ? t->errbuf : curl_easy_strerror(res));
            err = t->why;
        } else if (f != SEAM_FAIL_NONE) {
            err = t->errbuf[0] ? t->errbuf : curl_easy_strerror(res);
        }
        t->failure = f;
        deliver_done(t, failure_rc(f), err);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    seam_upstream *u = arg;
    int running;
    int action =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    u->in_curl++;
    curl_multi_socket_action(u->multi, fd, action, &running);
    u->in_curl--;
    check_done(u);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    seam_upstream *u = arg;
    int running;
    u->in_curl++;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    u->in_curl--;
    check_done(u);
}

static void on_stall(evutil_socket_t fd, short what, void *arg)
{
    seam_transfer *t = arg;
    if (t->cancelled || t->removed || t->paused)
        return;
    if (t->responded) {
        snprintf(t->why, sizeof(t->why), "no data from the upstream for %ld ms (idle timeout)",
                 t->idle_ms);
        transfer_end(t, SEAM_FAIL_TIMEOUT_IDLE, t->why);
    } else {
        snprintf(t->why, sizeof(t->why),
                 "no response within %ld ms of sending the request (first_byte timeout)",
                 t->first_byte_ms);
        transfer_end(t, SEAM_FAIL_TIMEOUT_FIRST_BYTE, t->why);
    }
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    seam_transfer *t = arg;
    if (t->cancelled || t->removed)
        return;
    snprintf(t->why, sizeof(t->why), "the transfer took longer than %ld ms (total timeout)",
             t->total_ms);
    transfer_end(t, SEAM_FAIL_TIMEOUT_TOTAL, t->why);
}

static int socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    seam_upstream *u = userp;
    struct sock_watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (w) {
            event_free(w->ev);
            seam_free(w);
            curl_multi_assign(u->multi, s, NULL);
        }
        return 0;
    }
    short kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
                 ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
    if (!w) {
        w = seam_calloc(1, sizeof(*w));
        if (!w)
            return -1;
        curl_multi_assign(u->multi, s, w);
    } else {
        event_free(w->ev);
    }
    w->ev = event_new(u->base, s, kind, on_socket_event, u);
    if (!w->ev)
        return -1;
    event_add(w->ev, NULL);
    return 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    seam_upstream *u = userp;
    if (timeout_ms < 0) {
        evtimer_del(u->timer);
    } else {
        struct timeval tv = tv_ms(timeout_ms);
        evtimer_add(u->timer, &tv);
    }
    return 0;
}

static void reap_cb(evutil_socket_t fd, short what, void *arg)
{
    seam_upstream *u = arg;
    seam_transfer *t = u->reap_list;
    u->reap_list = NULL;
    while (t) {
        seam_transfer *next = t->reap_next;
        if (!t->removed) {
            curl_multi_remove_handle(u->multi, t->easy);
            u->active--;
        }
        transfer_free(t);
        t = next;
    }
}

/* Lifts curl's pause. curl_easy_pause may hand the held-back chunk to
 * write_cb before it returns, and on_data may then pause again (write_cb
 * sets <curl_paused> anew) or cancel. When curl fails to deliver (on_data
 * aborted), it drops the chunk but would keep the transfer running, so the
 * transfer is ended from finish_cb. */
static void unpause(seam_transfer *t)
{
    seam_upstream *u = t->u;
    t->curl_paused = false;
    u->in_curl++;
    CURLcode res = curl_easy_pause(t->easy, CURLPAUSE_CONT);
    u->in_curl--;
    if (res == CURLE_OK || t->cancelled || t->removed)
        return;
    if (t->failure == SEAM_FAIL_NONE) {
        t->failure = SEAM_FAIL_OTHER;
        snprintf(t->why, sizeof(t->why), "resuming the transfer failed: %s",
                 curl_easy_strerror(res));
    }
    t->finish_pending = true;
    event_active(u->finish, 0, 0);
}

/* The live list is walked from its head each time because unpausing or
 * ending one transfer runs caller code that may start or cancel others. */
static void resume_cb(evutil_socket_t fd, short what, void *arg)
{
    seam_upstream *u = arg;
    for (;;) {
        seam_transfer *t = u->live;
        while (t && !t->resume_pending)
            t = t->next;
        if (!t)
            return;
        t->resume_pending = false;
        if (!t->paused && t->curl_paused && !t->cancelled && !t->removed)
            unpause(t);
    }
}

static void finish_cb(evutil_socket_t fd, short what, void *arg)
{
    seam_upstream *u = arg;
    for (;;) {
        seam_transfer *t = u->live;
        while (t && !t->finish_pending)
            t = t->next;
        if (!t)
            return;
        t->finish_pending = false;
        if (t->cancelled || t->removed)
            continue;
        const char *err = t->why[0] ? t->why : t->errbuf[0] ? t->errbuf : "transfer failed";
        transfer_end(t, t->failure, err);
    }
}

seam_upstream *seam_upstream_new(struct event_base *base)
{
    seam_upstream *u = seam_calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->base = base;
    u->multi = curl_multi_init();
    u->timer = evtimer_new(base, on_timeout, u);
    u->reap = event_new(base, -1, 0, reap_cb, u);
    u->resume = event_new(base, -1, 0, resume_cb, u);
    u->finish = event_new(base, -1, 0, finish_cb, u);
    if (!u->multi || !u->timer || !u->reap || !u->resume || !u->finish) {
        seam_upstream_free(u);
        return NULL;
    }
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    return u;
}

void seam_upstream_free(seam_upstream *u)
{
    if (!u)
        return;
    if (u->multi) {
        reap_cb(-1, 0, u);
        while (u->live) {
            seam_transfer *t = u->live;
            if (!t->removed)
                curl_multi_remove_handle(u->multi, t->easy);
            transfer_free(t);
        }
        curl_multi_cleanup(u->multi);
    }
    if (u->timer)
        event_free(u->timer);
    if (u->reap)
        event_free(u->reap);
    if (u->resume)
        event_free(u->resume);
    if (u->finish)
        event_free(u->finish);
    seam_free(u);
}

/* CURLOPT_PREREQFUNCTION: the connection is ready and the request is about
 * to go out, which is where the first-byte deadline starts. */
static int prereq_cb(void *userp, char *primary_ip, char *local_ip, int primary_port,
                     int local_port)
{
    seam_transfer *t = userp;
    t->connected = true;
    stall_arm(t);
    return CURL_PREREQFUNC_OK;
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userp)
{
    seam_transfer *t = userp;
    size_t n = size * nmemb;
    if (t->cancelled || t->failure != SEAM_FAIL_NONE)
        return 0;
    if (t->paused) {
        /* curl keeps this chunk, stops reading and redelivers it once
         * unpaused; on_data has not seen it. */
        t->curl_paused = true;
        return CURL_WRITEFUNC_PAUSE;
    }
    if (t->status == 0)
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->max_bytes && n > t->max_bytes - t->received) {
        t->failure = SEAM_FAIL_TOO_LARGE;
        return 0;
    }
    t->received += n;
    stall_arm(t); /* before on_data, which may pause and so disarm it */
    if (t->cbs.on_data(t->ctx, t, p, n) != 0) {
        if (!t->cancelled)
            t->failure = SEAM_FAIL_ABORTED;
        return 0;
    }
    return t->cancelled ? 0 : n;
}

/* Keeps the two response headers seam acts on; the status line resets them
 * (a 100 Continue or a redirect starts a new header block). Every header
 * line is a sign of life for the deadlines. */
static size_t header_cb(char *p, size_t size, size_t nitems, void *userp)
{
    seam_transfer *t = userp;
    size_t n = size * nitems;
    t->responded = true;
    stall_arm(t);
    if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        t->content_type[0] = t->retry_after[0] = '\0';
        return n;
    }
    const char *colon = memchr(p, ':', n);
    if (!colon)
        return n;
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = n - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    char *dst = NULL;
    size_t cap = 0;
    if (nlen == 12 && strncasecmp(p, "content-type", 12) == 0)
        dst = t->content_type, cap = sizeof(t->content_type);
    else if (nlen == 11 && strncasecmp(p, "retry-after", 11) == 0)
        dst = t->retry_after, cap = sizeof(t->retry_after);
    if (dst) {
        if (vlen >= cap)
            vlen = cap - 1;
        memcpy(dst, v, vlen);
        dst[vlen] = '\0';
    }
    return n;
}

seam_transfer *seam_upstream_start(seam_upstream *u, const seam_transfer_opts *o,
                                   const seam_transfer_cbs *cbs, void *ctx, seam_rc *rc)
{
    /* The invariant, one last time before any byte leaves. */
    if (o->backend && !seam_clearance_allows(o->backend, o->sensitivity)) {
        seam_free(o->body);
        *rc = SEAM_ERR_FORBIDDEN;
        return NULL;
    }
    seam_transfer *t = seam_calloc(1, sizeof(*t));
    if (!t || !(t->easy = curl_easy_init())) {
        seam_free(o->body);
        seam_free(t);
        *rc = SEAM_ERR_NOMEM;
        return NULL;
    }
    t->u = u;
    t->body = o->body;
    t->next = u->live;
    if (u->live)
        u->live->prev = t;
    u->live = t;
    t->cbs = *cbs;
    t->ctx = ctx;
    t->first_byte_ms = o->first_byte_timeout_ms > 0 ? o->first_byte_timeout_ms : 0;
    t->idle_ms = o->idle_timeout_ms > 0 ? o->idle_timeout_ms : 0;
    t->total_ms = o->timeout_ms > 0 ? o->timeout_ms : 0;
    t->max_bytes = o->max_response_bytes;
    t->stall = evtimer_new(u->base, on_stall, t);
    t->deadline = evtimer_new(u->base, on_deadline, t);
    if (!t->stall || !t->deadline)
        goto nomem;
    for (const char *const *h = o->headers; h && *h; h++) {
        struct curl_slist *l = curl_slist_append(t->headers, *h);
        if (!l)
            goto nomem;
        t->headers = l;
    }
    /* curl adds "Expect: 100-continue" to large POSTs; that costs a round
     * trip and some servers mishandle it. */
    struct curl_slist *l = curl_slist_append(t->headers, "Expect:");
    if (!l)
        goto nomem;
    t->headers = l;

    CURL *e = t->easy;
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, t);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    /* 0 would mean curl's default of 300 s, not "no limit"; curl caps the
     * value at INT_MAX ms (24 days). The total deadline is ours. */
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                     o->connect_timeout_ms > 0 ? o->connect_timeout_ms : (long)INT_MAX);
    if (t->max_bytes) /* fails at once on a larger Content-Length */
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->max_bytes);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (o->method && strcmp(o->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body ? t->body : "");
    }
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK)
        goto nomem;
    u->active++;
    if (t->total_ms) {
        struct timeval tv = tv_ms(t->total_ms);
        evtimer_add(t->deadline, &tv);
    }
    *rc = SEAM_OK;
    return t;
nomem:
    transfer_free(t);
    *rc = SEAM_ERR_NOMEM;
    return NULL;
}

void seam_transfer_cancel(seam_transfer *t)
{
    if (!t || t->cancelled)
        return;
    t->cancelled = true;
    evtimer_del(t->stall);
    evtimer_del(t->deadline);
    t->reap_next = t->u->reap_list;
    t->u->reap_list = t;
    event_active(t->u->reap, 0, 0);
}

void seam_transfer_pause(seam_transfer *t)
{
    if (!t || t->paused)
        return;
    t->paused = true;
    t->resume_pending = false; /* a resume not yet applied is void */
    evtimer_del(t->stall);
}

void seam_transfer_resume(seam_transfer *t)
{
    if (!t || !t->paused)
        return;
    t->paused = false;
    if (t->cancelled || t->removed)
        return;
    stall_arm(t); /* the caller's stall is over: a full idle period again */
    if (!t->curl_paused)
        return; /* no chunk came while paused: curl never stopped */
    if (t->u->in_curl) {
        t->resume_pending = true;
        event_active(t->u->resume, 0, 0);
        return;
    }
    unpause(t);
}

bool seam_transfer_paused(const seam_transfer *t)
{
    return t->paused;
}

long seam_transfer_status(const seam_transfer *t)
{
    return t->status;
}

const char *seam_transfer_header(const seam_transfer *t, const char *name)
{
    const char *v = NULL;
    if (strcmp(name, "content-type") == 0)
        v = t->content_type;
    else if (strcmp(name, "retry-after") == 0)
        v = t->retry_after;
    return v && v[0] ? v : NULL;
}

size_t seam_transfer_bytes_received(const seam_transfer *t)
{
    return t->received;
}

seam_transfer_failure seam_transfer_failure_kind(const seam_transfer *t)
{
    return t->failure;
}

const char *seam_transfer_failure_str(seam_transfer_failure f)
{
    switch (f) {
    case SEAM_FAIL_NONE:
        return "none";
    case SEAM_FAIL_CONNECT:
        return "connect";
    case SEAM_FAIL_RESET_BEFORE_BODY:
        return "reset_before_body";
    case SEAM_FAIL_RESET_MID_BODY:
        return "reset_mid_body";
    case SEAM_FAIL_TIMEOUT_CONNECT:
        return "timeout_connect";
    case SEAM_FAIL_TIMEOUT_FIRST_BYTE:
        return "timeout_first_byte";
    case SEAM_FAIL_TIMEOUT_IDLE:
        return "timeout_idle";
    case SEAM_FAIL_TIMEOUT_TOTAL:
        return "timeout_total";
    case SEAM_FAIL_TOO_LARGE:
        return "too_large";
    case SEAM_FAIL_ABORTED:
        return "aborted";
    case SEAM_FAIL_OTHER:
        return "other";
    case SEAM_FAIL_LOCAL:
        return "local_resources";
    }
    return "other";
}

const char *seam_transfer_timeout_str(seam_transfer_failure f)
{
    switch (f) {
    case SEAM_FAIL_TIMEOUT_CONNECT:
        return "connect";
    case SEAM_FAIL_TIMEOUT_FIRST_BYTE:
        return "first_byte";
    case SEAM_FAIL_TIMEOUT_IDLE:
        return "idle";
    case SEAM_FAIL_TIMEOUT_TOTAL:
        return "total";
    default:
        return NULL;
    }
}

bool seam_transfer_failure_retryable(seam_transfer_failure f)
{
    return f == SEAM_FAIL_CONNECT || f == SEAM_FAIL_TIMEOUT_CONNECT ||
           f == SEAM_FAIL_RESET_BEFORE_BODY || f == SEAM_FAIL_TIMEOUT_FIRST_BYTE;
}

size_t seam_upstream_active(const seam_upstream *u)
{
    return u->active;
}
