/*
 * upstream: a fast fake OpenAI-compatible upstream for benchmarks.
 *
 * It answers POST /v1/chat/completions with a fixed, valid chat.completion
 * (non-stream) or with OpenAI's exact SSE framing when the body says
 * "stream": true (role chunk, N content chunks, finish chunk, a usage chunk
 * when stream_options.include_usage is true, then `data: [DONE]`), and
 * GET /v1/models with a one-model list. Anything else is an OpenAI-shaped
 * 404.
 *
 * It exists to be the floor of every benchmark, so it must never be the
 * bottleneck: N threads, each with its own libevent loop and evhttp server on
 * its own SO_REUSEPORT listener; the request body is not parsed into a tree
 * but walked once at the top level (strings are skipped with memchr), which
 * finds "model", "stream" and "stream_options.include_usage" at memory speed
 * even for megabyte prompts. Bodies that are not a JSON object get a 400.
 *
 * Optional pacing for later scenarios (long-lived streams, slow models):
 * --delay-us before the first byte, --chunk-interval-us between chunks.
 *
 * Usage: upstream [--host A] [--port N] [--threads N] [--chunks N]
 *                 [--delay-us N] [--chunk-interval-us N]
 * Prints "listening <port>" on stdout once every thread accepts.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define MODEL_MAX 200

struct config {
    const char *host;
    int port;
    int threads;
    int chunks;
    long delay_us;
    long chunk_interval_us;
};

static struct config cfg = {"127.0.0.1", 0, 1, 16, 0, 0};
static long created_at;

/* The text of content chunk i; the non-stream answer is their concatenation. */
static const char *const words[] = {"The",    " quick", " brown", " fox",  " jumps",
                                    " over",  " the",   " lazy",  " dog",  ".",
                                    " Bench", " mark",  " tok",   "ens",   " flow", "!"};
#define NWORDS (sizeof(words) / sizeof(words[0]))

struct worker {
    pthread_t tid;
    struct event_base *base;
    struct evhttp *http;
    int fd;
    int index;
    unsigned long long seq;
};

/* What the handler needs from a request body. */
struct reqinfo {
    int stream;
    int include_usage;
    const char *model; /* raw JSON string contents (escapes kept), not NUL-terminated */
    size_t model_len;
};

/* ---- a top-level JSON walker ------------------------------------------ */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* <p> points at an opening quote. Returns the pointer past the closing quote,
 * or NULL if the string does not end. */
static const char *skip_string(const char *p, const char *end)
{
    p++;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(end - p));
        if (!q)
            return NULL;
        /* The quote is escaped if an odd number of backslashes precede it. */
        size_t bs = 0;
        while (q - bs > p && q[-1 - (ptrdiff_t)bs] == '\\')
            bs++;
        if (bs % 2 == 0)
            return q + 1;
        p = q + 1;
    }
}

/* Skips one JSON value starting at <p>; returns the pointer past it or NULL. */
static const char *skip_value(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < end) {
            char c = *p;
            if (c == '"') {
                p = skip_string(p, end);
                if (!p)
                    return NULL;
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']') {
                if (--depth == 0)
                    return p + 1;
            }
            p++;
        }
        return NULL;
    }
    while (p < end && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\n' &&
           *p != '\t' && *p != '\r')
        p++;
    return p;
}

static int is_true(const char *p, const char *end)
{
    return end - p >= 4 && memcmp(p, "true", 4) == 0;
}

static int key_is(const char *k, size_t klen, const char *want)
{
    return klen == strlen(want) && memcmp(k, want, klen) == 0;
}

/* Walks the object at <p>. At depth 0 it records model and stream and descends
 * into stream_options; at depth 1 (inside stream_options) it records
 * include_usage. Returns the pointer past the object or NULL if malformed. */
static const char *walk_object(const char *p, const char *end, int depth, struct reqinfo *ri)
{
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p = skip_ws(p + 1, end);
    if (p < end && *p == '}')
        return p + 1;
    for (;;) {
        if (p >= end || *p != '"')
            return NULL;
        const char *k = p + 1;
        const char *ke = skip_string(p, end);
        if (!ke)
            return NULL;
        size_t klen = (size_t)(ke - 1 - k);
        p = skip_ws(ke, end);
        if (p >= end || *p != ':')
            return NULL;
        p = skip_ws(p + 1, end);
        if (depth == 0 && key_is(k, klen, "stream")) {
            ri->stream = is_true(p, end);
        } else if (depth == 0 && key_is(k, klen, "model") && p < end && *p == '"') {
            const char *ve = skip_string(p, end);
            if (ve && (size_t)(ve - p - 2) <= MODEL_MAX) {
                ri->model = p + 1;
                ri->model_len = (size_t)(ve - p - 2);
            }
        } else if (depth == 0 && key_is(k, klen, "stream_options") && p < end && *p == '{') {
            p = walk_object(p, end, 1, ri);
            if (!p)
                return NULL;
            goto next;
        } else if (depth == 1 && key_is(k, klen, "include_usage")) {
            ri->include_usage = is_true(p, end);
        }
        p = skip_value(p, end);
        if (!p)
            return NULL;
    next:
        p = skip_ws(p, end);
        if (p < end && *p == ',') {
            p = skip_ws(p + 1, end);
            continue;
        }
        if (p < end && *p == '}')
            return p + 1;
        return NULL;
    }
}

/* ---- responses --------------------------------------------------------- */

static void send_error(struct evhttp_request *req, int code, const char *reason, const char *msg,
                       const char *type)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"param\":null,\"code\":null}}",
                        msg, type);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, code, reason, b);
    evbuffer_free(b);
}

static void on_models(struct evhttp_request *req)
{
    static const char body[] =
        "{\"object\":\"list\",\"data\":[{\"id\":\"bench-model\",\"object\":\"model\","
        "\"created\":1700000000,\"owned_by\":\"bench\"}]}";
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_reference(b, body, sizeof(body) - 1, NULL, NULL);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* One in-progress answer: holds the request while a pacing timer runs. */
struct job {
    struct worker *w;
    struct evhttp_request *req;
    struct event *timer;
    int stream, include_usage;
    int next; /* stream: next chunk to send; -1 = role chunk not yet sent */
    size_t prompt_bytes;
    char id[48];
    char model[MODEL_MAX + 1];
};

static void chunk_prefix(struct evbuffer *b, const struct job *j)
{
    evbuffer_add_printf(b,
                        "data: {\"id\":\"%s\",\"object\":\"chat.completion.chunk\",\"created\":%ld,"
                        "\"model\":\"%s\",\"system_fingerprint\":\"fp_bench\",",
                        j->id, created_at, j->model);
}

static const char *usage_null(const struct job *j)
{
    return j->include_usage ? ",\"usage\":null" : "";
}

static void add_usage(struct evbuffer *b, const struct job *j)
{
    long prompt = (long)(j->prompt_bytes / 4), completion = cfg.chunks;
    evbuffer_add_printf(b,
                        "\"usage\":{\"prompt_tokens\":%ld,\"completion_tokens\":%ld,"
                        "\"total_tokens\":%ld,\"prompt_tokens_details\":{\"cached_tokens\":0},"
                        "\"completion_tokens_details\":{\"reasoning_tokens\":0}}",
                        prompt, completion, prompt + completion);
}

/* Appends stream event number <i> of the answer to <b>: -1 is the role chunk,
 * 0..chunks-1 content, chunks the finish chunk, chunks+1 the usage chunk (only
 * when asked for), and the last one `[DONE]`. Returns 0 after [DONE]. */
static int add_event(struct evbuffer *b, const struct job *j, int i)
{
    if (i == -1) {
        chunk_prefix(b, j);
        evbuffer_add_printf(b,
                            "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\","
                            "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]%s}\n\n",
                            usage_null(j));
    } else if (i < cfg.chunks) {
        chunk_prefix(b, j);
        evbuffer_add_printf(b,
                            "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"logprobs\":null,"
                            "\"finish_reason\":null}]%s}\n\n",
                            words[(size_t)i % NWORDS], usage_null(j));
    } else if (i == cfg.chunks) {
        chunk_prefix(b, j);
        evbuffer_add_printf(b,
                            "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,"
                            "\"finish_reason\":\"%s\"}]%s}\n\n",
                            "stop", usage_null(j));
    } else if (i == cfg.chunks + 1 && j->include_usage) {
        chunk_prefix(b, j);
        evbuffer_add(b, "\"choices\":[],", 13);
        add_usage(b, j);
        evbuffer_add(b, "}\n\n", 3);
    } else {
        evbuffer_add(b, "data: [DONE]\n\n", 14);
        return 0;
    }
    return 1;
}

static void send_nonstream(struct job *j)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b,
                        "{\"id\":\"%s\",\"object\":\"chat.completion\",\"created\":%ld,\"model\":\"%s\","
                        "\"system_fingerprint\":\"fp_bench\",\"choices\":[{\"index\":0,\"message\":"
                        "{\"role\":\"assistant\",\"content\":\"",
                        j->id, created_at, j->model);
    for (int i = 0; i < cfg.chunks; i++)
        evbuffer_add(b, words[(size_t)i % NWORDS], strlen(words[(size_t)i % NWORDS]));
    evbuffer_add_printf(b, "\",\"refusal\":null,\"annotations\":[]},\"logprobs\":null,"
                           "\"finish_reason\":\"stop\"}],");
    add_usage(b, j);
    evbuffer_add(b, "}", 1);
    evhttp_add_header(evhttp_request_get_output_headers(j->req), "Content-Type", "application/json");
    evhttp_send_reply(j->req, 200, "OK", b);
    evbuffer_free(b);
}

static void job_free(struct job *j)
{
    if (j->timer)
        event_free(j->timer);
    free(j);
}

static void arm(struct job *j, long us)
{
    struct timeval tv = {us / 1000000, us % 1000000};
    evtimer_add(j->timer, &tv);
}

/* Sends the next step of a job. Without pacing the whole stream is queued at
 * once (one HTTP chunk per SSE event, flushed together); with pacing one event
 * goes out per timer tick. A client that went away leaves the request without
 * a connection: libevent then frees it in evhttp_send_reply_end. */
static void job_step(struct job *j)
{
    struct evhttp_request *req = j->req;
    if (!j->stream) {
        send_nonstream(j);
        job_free(j);
        return;
    }
    if (j->next == -2) {
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Content-Type", "text/event-stream; charset=utf-8");
        evhttp_add_header(h, "Cache-Control", "no-cache");
        evhttp_send_reply_start(req, 200, "OK");
        j->next = -1;
    }
    struct evbuffer *b = evbuffer_new();
    int more = 1;
    do {
        if (!evhttp_request_get_connection(req)) {
            more = 0;
            break;
        }
        more = add_event(b, j, j->next++);
        evhttp_send_reply_chunk(req, b);
    } while (more && cfg.chunk_interval_us == 0);
    evbuffer_free(b);
    if (!more) {
        evhttp_send_reply_end(req);
        job_free(j);
        return;
    }
    arm(j, cfg.chunk_interval_us);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    job_step(arg);
}

static void on_chat(struct worker *w, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    const char *body = (const char *)evbuffer_pullup(in, -1);
    struct reqinfo ri = {0};
    if (!body || !walk_object(body, body + n, 0, &ri)) {
        send_error(req, 400, "Bad Request", "We could not parse the JSON body of your request.",
                   "invalid_request_error");
        return;
    }
    struct job *j = calloc(1, sizeof(*j));
    if (!j) {
        send_error(req, 500, "Internal Server Error", "out of memory", "server_error");
        return;
    }
    j->w = w;
    j->req = req;
    j->stream = ri.stream;
    j->include_usage = ri.include_usage;
    j->next = -2;
    j->prompt_bytes = n;
    snprintf(j->id, sizeof(j->id), "chatcmpl-bench%d-%llu", w->index,
             ++w->seq);
    if (ri.model) {
        memcpy(j->model, ri.model, ri.model_len);
        j->model[ri.model_len] = 0;
    } else {
        strcpy(j->model, "bench-model");
    }
    if (cfg.delay_us > 0 || cfg.chunk_interval_us > 0) {
        j->timer = evtimer_new(w->base, on_timer, j);
        if (cfg.delay_us > 0) {
            arm(j, cfg.delay_us);
            return;
        }
    }
    job_step(j);
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct worker *w = arg;
    const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    if (path && strcmp(path, "/v1/chat/completions") == 0) {
        if (cmd == EVHTTP_REQ_POST)
            on_chat(w, req);
        else
            send_error(req, 405, "Method Not Allowed", "Use POST.", "invalid_request_error");
    } else if (path && strcmp(path, "/v1/models") == 0 && cmd == EVHTTP_REQ_GET) {
        on_models(req);
    } else {
        send_error(req, 404, "Not Found", "Unknown path.", "invalid_request_error");
    }
}

/* ---- listeners and threads -------------------------------------------- */

/* Opens a listening socket with SO_REUSEPORT on host:*port; when *port is 0 it
 * is replaced by the port the kernel chose, so later sockets share it. */
static int listen_reuseport(const char *host, int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "upstream: bad IPv4 address %s\n", host);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        /* Accepted sockets inherit TCP_NODELAY. Paced stream events are
         * small writes: with Nagle on, each waits for the previous one's
         * ACK, which the client delays, and the stream stalls 40 ms. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "upstream: listen on %s:%d: %s\n", host, *port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    socklen_t len = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    *port = ntohs(sa.sin_port);
    return fd;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

static long parse_num(const char *flag, const char *v, long lo, long hi)
{
    char *e;
    errno = 0;
    long n = strtol(v ? v : "", &e, 10);
    if (!v || errno || *e || n < lo || n > hi) {
        fprintf(stderr, "upstream: %s wants a number in [%ld, %ld]\n", flag, lo, hi);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--host") == 0 && v)
            cfg.host = argv[++i];
        else if (strcmp(a, "--port") == 0)
            cfg.port = (int)parse_num(a, v, 0, 65535), i++;
        else if (strcmp(a, "--threads") == 0)
            cfg.threads = (int)parse_num(a, v, 1, MAX_THREADS), i++;
        else if (strcmp(a, "--chunks") == 0)
            cfg.chunks = (int)parse_num(a, v, 0, 1000000), i++;
        else if (strcmp(a, "--delay-us") == 0)
            cfg.delay_us = parse_num(a, v, 0, 600000000), i++;
        else if (strcmp(a, "--chunk-interval-us") == 0)
            cfg.chunk_interval_us = parse_num(a, v, 0, 600000000), i++;
        else {
            fprintf(stderr,
                    "usage: upstream [--host A] [--port N] [--threads N] [--chunks N]\n"
                    "                [--delay-us N] [--chunk-interval-us N]\n");
            return 2;
        }
    }
    /* Thousands of connections need thousands of descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    created_at = (long)time(NULL);

    static struct worker workers[MAX_THREADS];
    int port = cfg.port;
    for (int t = 0; t < cfg.threads; t++) {
        struct worker *w = &workers[t];
        w->index = t;
        w->fd = listen_reuseport(cfg.host, &port);
        if (w->fd < 0)
            return 1;
        /* Precise timers: libevent's default monotonic clock is the coarse
         * one (one tick = 4 ms with HZ=250), too blunt for --chunk-interval-us. */
        struct event_config *ec = event_config_new();
        if (ec)
            event_config_set_flag(ec, EVENT_BASE_FLAG_PRECISE_TIMER);
        w->base = ec ? event_base_new_with_config(ec) : NULL;
        if (ec)
            event_config_free(ec);
        w->http = w->base ? evhttp_new(w->base) : NULL;
        if (!w->http || !evhttp_accept_socket_with_handle(w->http, w->fd)) {
            fprintf(stderr, "upstream: libevent setup failed\n");
            return 1;
        }
        evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
        evhttp_set_timeout(w->http, 120);
        evhttp_set_gencb(w->http, on_request, w);
    }
    printf("listening %d\n", port);
    fflush(stdout);
    for (int t = 1; t < cfg.threads; t++) {
        if (pthread_create(&workers[t].tid, NULL, worker_main, &workers[t]) != 0) {
            fprintf(stderr, "upstream: pthread_create failed\n");
            return 1;
        }
    }
    worker_main(&workers[0]);
    return 0;
}
