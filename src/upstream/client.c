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
 */
#include "upstream/client.h"
#include "core/alloc.h"
#include "upstream/dispatch.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct seam_upstream {
    struct event_base *base;
    CURLM *multi;
    struct event *timer;
    struct event *reap;
    seam_transfer *reap_list;
    seam_transfer *live; /* every transfer not yet freed, for shutdown */
    size_t active;
};

struct seam_transfer {
    seam_upstream *u;
    CURL *easy;
    struct curl_slist *headers;
    char *body;
    seam_transfer_cbs cbs;
    void *ctx;
    long status;
    bool cancelled; /* no callback may fire any more */
    bool removed;   /* already removed from the multi handle */
    bool aborted;   /* on_data asked to stop */
    seam_transfer *reap_next;
    seam_transfer *prev, *next; /* in seam_upstream.live */
    char content_type[128];
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
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
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    seam_free(t->body);
    seam_free(t);
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
        seam_rc rc = SEAM_OK;
        const char *err = NULL;
        if (res != CURLE_OK) {
            err = t->errbuf[0] ? t->errbuf : curl_easy_strerror(res);
            if (t->aborted)
                rc = SEAM_ERR_CANCELLED;
            else if (res == CURLE_OPERATION_TIMEDOUT)
                rc = SEAM_ERR_TIMEOUT;
            else
                rc = SEAM_ERR_UPSTREAM;
        }
        if (t->status == 0)
            curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
        t->cbs.on_done(t->ctx, t, rc, err);
        transfer_free(t);
    }
}

static void on_socket_event(evutil_socket_t fd, short what, void *arg)
{
    seam_upstream *u = arg;
    int running;
    int action =
        ((what & EV_READ) ? CURL_CSELECT_IN : 0) | ((what & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    curl_multi_socket_action(u->multi, fd, action, &running);
    check_done(u);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    seam_upstream *u = arg;
    int running;
    curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(u);
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
        struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
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

seam_upstream *seam_upstream_new(struct event_base *base)
{
    seam_upstream *u = seam_calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->base = base;
    u->multi = curl_multi_init();
    u->timer = evtimer_new(base, on_timeout, u);
    u->reap = event_new(base, -1, 0, reap_cb, u);
    if (!u->multi || !u->timer || !u->reap) {
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
    seam_free(u);
}

static size_t write_cb(char *p, size_t size, size_t nmemb, void *userp)
{
    seam_transfer *t = userp;
    size_t n = size * nmemb;
    if (t->cancelled || t->aborted)
        return 0;
    if (t->status == 0)
        curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->cbs.on_data(t->ctx, t, p, n) != 0) {
        t->aborted = true;
        return 0;
    }
    return t->cancelled ? 0 : n;
}

/* Keeps the two response headers seam acts on; the status line resets them
 * (a 100 Continue or a redirect starts a new header block). */
static size_t header_cb(char *p, size_t size, size_t nitems, void *userp)
{
    seam_transfer *t = userp;
    size_t n = size * nitems;
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
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (o->method && strcmp(o->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->body ? t->body : "");
    }
    if (curl_multi_add_handle(u->multi, e) != CURLM_OK)
        goto nomem;
    u->active++;
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
    t->reap_next = t->u->reap_list;
    t->u->reap_list = t;
    event_active(t->u->reap, 0, 0);
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

size_t seam_upstream_active(const seam_upstream *u)
{
    return u->active;
}
