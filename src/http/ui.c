/* The dashboard page, its assets, login and sessions; see ui.h. */
#include "http/ui.h"
#include "core/jsonbuf.h"
#include "core/alloc.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/random.h>
#include <time.h>

/* The generated table (build/<flavour>/gen/ui_assets.c). Weak, so that
 * binaries linked without it (fuzz harnesses build from src/ alone) still
 * link: they then answer /ui with 503. */
extern const seam_ui_asset seam_ui_assets[] __attribute__((weak));
extern const size_t seam_ui_nassets __attribute__((weak));

/* In the page, every occurrence is replaced by the assets' version. */
#define VERSION_MARK "{{v}}"
/* A login form is a key and little else. */
#define LOGIN_MAX_BODY 4096

static const char security_headers[][2][64] = {
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    {"X-Frame-Options", "DENY"},
};

/* Scripts and styles from seam itself only; uPlot sets element styles
 * through the CSSOM, which style-src does not restrict. */
static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; form-action 'self'; "
                          "frame-ancestors 'none'; base-uri 'none'";

static size_t nassets(void)
{
    return &seam_ui_nassets ? seam_ui_nassets : 0;
}

const seam_ui_asset *seam_ui_asset_find(const char *path, size_t len)
{
    for (size_t i = 0; i < nassets(); i++)
        if (strlen(seam_ui_assets[i].path) == len && memcmp(seam_ui_assets[i].path, path, len) == 0)
            return &seam_ui_assets[i];
    return NULL;
}

/* ---- the version and the page, computed once ---- */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char etag[20];   /* "\"" + 16 hex + "\"" */
static char *page_html; /* index.html with the version filled in */
static size_t page_len;

static void hex(const unsigned char *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static void build_once(void)
{
    /* The hash of every path and content, in table order. */
    size_t total = 0;
    for (size_t i = 0; i < nassets(); i++)
        total += strlen(seam_ui_assets[i].path) + 1 + seam_ui_assets[i].len;
    unsigned char *all = seam_malloc(total ? total : 1), sum[32];
    if (all) {
        size_t o = 0;
        for (size_t i = 0; i < nassets(); i++) {
            size_t pl = strlen(seam_ui_assets[i].path) + 1;
            memcpy(all + o, seam_ui_assets[i].path, pl);
            o += pl;
            memcpy(all + o, seam_ui_assets[i].data, seam_ui_assets[i].len);
            o += seam_ui_assets[i].len;
        }
        seam_auth_sha256(all, total, sum);
        seam_free(all);
    } else {
        memset(sum, 0, sizeof sum);
    }
    char v[17];
    hex(sum, 8, v);
    snprintf(etag, sizeof etag, "\"%s\"", v);

    const seam_ui_asset *a = seam_ui_asset_find("/ui/index.html", strlen("/ui/index.html"));
    if (!a)
        return;
    size_t ml = strlen(VERSION_MARK), n = 0;
    for (size_t i = 0; i + ml <= a->len; i++)
        if (memcmp(a->data + i, VERSION_MARK, ml) == 0)
            n++;
    page_html = seam_malloc(a->len + n * 16 + 1);
    if (!page_html)
        return;
    size_t o = 0;
    for (size_t i = 0; i < a->len;) {
        if (i + ml <= a->len && memcmp(a->data + i, VERSION_MARK, ml) == 0) {
            memcpy(page_html + o, v, 16);
            o += 16;
            i += ml;
        } else {
            page_html[o++] = (char)a->data[i++];
        }
    }
    page_html[o] = '\0';
    page_len = o;
}

const char *seam_ui_assets_etag(void)
{
    pthread_once(&once, build_once);
    return etag;
}

/* ---- sessions ---- */

typedef struct session {
    bool used;
    unsigned char token_sha256[32]; /* the token itself is only in the cookie */
    unsigned char admin_sha256[32]; /* the admin key it was issued for */
    int64_t expires_ms;
} session;

static pthread_mutex_t sessions_mu = PTHREAD_MUTEX_INITIALIZER;
static session sessions[SEAM_UI_SESSIONS_MAX];

static bool same32(const unsigned char *a, const unsigned char *b)
{
    unsigned char d = 0;
    for (int i = 0; i < 32; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

/* The SHA-256 of a token: false when it is not 64 lower-case hex digits. */
static bool token_hash(const char *token, unsigned char out[32])
{
    if (!token || strlen(token) != 64 || strspn(token, "0123456789abcdef") != 64)
        return false;
    seam_auth_sha256(token, 64, out);
    return true;
}

int seam_ui_session_new(const seam_auth_state *auth, int64_t now_ms, char token[65])
{
    unsigned char raw[32], h[32];
    if (!auth || !auth->admin_set || getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -1;
    hex(raw, sizeof raw, token);
    seam_auth_sha256(token, 64, h);
    pthread_mutex_lock(&sessions_mu);
    size_t slot = 0;
    for (size_t i = 0; i < SEAM_UI_SESSIONS_MAX; i++) {
        if (!sessions[i].used || sessions[i].expires_ms <= now_ms) {
            slot = i;
            break;
        }
        if (sessions[i].expires_ms < sessions[slot].expires_ms)
            slot = i;
    }
    sessions[slot].used = true;
    memcpy(sessions[slot].token_sha256, h, 32);
    memcpy(sessions[slot].admin_sha256, auth->admin_sha256, 32);
    sessions[slot].expires_ms = now_ms + SEAM_UI_SESSION_MS;
    pthread_mutex_unlock(&sessions_mu);
    return 0;
}

bool seam_ui_session_valid(const seam_auth_state *auth, const char *token, int64_t now_ms)
{
    unsigned char h[32];
    if (!auth || !auth->admin_set || !token_hash(token, h))
        return false;
    bool ok = false;
    pthread_mutex_lock(&sessions_mu);
    for (size_t i = 0; i < SEAM_UI_SESSIONS_MAX; i++) {
        bool match = sessions[i].used && same32(sessions[i].token_sha256, h);
        if (match && sessions[i].expires_ms > now_ms &&
            same32(sessions[i].admin_sha256, auth->admin_sha256))
            ok = true;
    }
    pthread_mutex_unlock(&sessions_mu);
    return ok;
}

void seam_ui_session_end(const char *token)
{
    unsigned char h[32];
    if (!token_hash(token, h))
        return;
    pthread_mutex_lock(&sessions_mu);
    for (size_t i = 0; i < SEAM_UI_SESSIONS_MAX; i++)
        if (sessions[i].used && same32(sessions[i].token_sha256, h))
            memset(&sessions[i], 0, sizeof sessions[i]);
    pthread_mutex_unlock(&sessions_mu);
}

bool seam_ui_cookie(const char *cookie, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    const char *p = cookie;
    while (p && *p) {
        p += strspn(p, " \t;");
        const char *end = p + strcspn(p, ";");
        if ((size_t)(end - p) > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            const char *v = p + nl + 1;
            size_t vl = (size_t)(end - v);
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl == 0 || vl + 1 > n)
                return false;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return true;
        }
        p = end;
    }
    return false;
}

/* ---- access ---- */

static bool is_loopback(const char *peer)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!peer)
        return false;
    if (inet_pton(AF_INET, peer, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, peer, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

seam_ui_access seam_ui_check(const seam_config *cfg, const seam_auth_state *auth,
                             const char *authorization, const char *x_api_key, const char *cookie,
                             const char *peer, int64_t now_ms)
{
    if (!cfg->auth.admin_key_env || !cfg->auth.admin_key_env[0])
        return is_loopback(peer) ? SEAM_UI_ALLOW : SEAM_UI_REMOTE;
    if (!auth || !auth->admin_set)
        return SEAM_UI_NO_KEY;
    if (seam_auth_admin(auth, authorization, x_api_key))
        return SEAM_UI_ALLOW;
    char token[80];
    if (seam_ui_cookie(cookie, SEAM_UI_COOKIE, token, sizeof token) &&
        seam_ui_session_valid(auth, token, now_ms))
        return SEAM_UI_ALLOW;
    return SEAM_UI_LOGIN;
}

int64_t seam_ui_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

seam_ui_access seam_ui_check_request(seam_worker *w, struct evhttp_request *req)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evhttp_connection *conn = evhttp_request_get_connection(req);
    char *peer = NULL;
    ev_uint16_t port = 0;
    if (conn)
        evhttp_connection_get_peer(conn, &peer, &port);
    return seam_ui_check(w->cfg, &w->gen->auth, evhttp_find_header(in, "Authorization"),
                         evhttp_find_header(in, "x-api-key"), evhttp_find_header(in, "Cookie"),
                         peer, seam_ui_now_ms());
}

/* ---- replies ---- */

static void add_security_headers(struct evkeyvalq *h)
{
    for (size_t i = 0; i < sizeof security_headers / sizeof *security_headers; i++)
        evhttp_add_header(h, security_headers[i][0], security_headers[i][1]);
    evhttp_add_header(h, "Content-Security-Policy", csp);
}

static void send_body(struct evhttp_request *req, int status, const char *type, const void *body,
                      size_t len)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Content-Type", type);
    struct evbuffer *b = evbuffer_new();
    if (b && len)
        evbuffer_add(b, body, len);
    evhttp_send_reply(req, status, NULL, b);
    if (b)
        evbuffer_free(b);
}

/* The login form; <problem> is one of seam's own fixed sentences (never
 * anything the client sent) or NULL. */
static void send_login(struct evhttp_request *req, int status, const char *problem)
{
    char html[2048];
    snprintf(html, sizeof html,
             "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
             "<title>seam: sign in</title><link rel=\"icon\" href=\"data:,\">"
             "<link rel=\"stylesheet\" href=\"/ui/app.css?v=%.16s\"></head>"
             "<body class=\"login\"><main class=\"login-box\"><h1>seam</h1>"
             "<p>The dashboard needs the admin key (<code>auth.admin_key_env</code>).</p>"
             "%s%s%s"
             "<form method=\"post\" action=\"/ui/login\">"
             "<label for=\"key\">Admin key</label>"
             "<input id=\"key\" name=\"key\" type=\"password\" autocomplete=\"current-password\" "
             "required autofocus>"
             "<button type=\"submit\">Sign in</button></form></main></body></html>\n",
             seam_ui_assets_etag() + 1, problem ? "<p class=\"problem\" role=\"alert\">" : "",
             problem ? problem : "", problem ? "</p>" : "");
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    add_security_headers(h);
    evhttp_add_header(h, "Cache-Control", "no-store");
    send_body(req, status, "text/html; charset=utf-8", html, strlen(html));
}

static void send_json_error(struct evhttp_request *req, int status, const char *type,
                            const char *code, const char *msg)
{
    json_t *o = json_pack("{s:{s:s, s:s, s:n, s:s}}", "error", "message", msg, "type", type,
                          "param", "code", code);
    char *s = o ? seam_json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Cache-Control", "no-store");
    send_body(req, status, "application/json", s ? s : "{}", s ? strlen(s) : 2);
    free(s);
}

static const char msg_no_key[] =
    "the dashboard needs the admin key, and its variable (auth.admin_key_env) is not set";
static const char msg_remote[] =
    "without an admin key (auth.admin_key_env) the dashboard is served to loopback clients only";

void seam_ui_refuse(struct evhttp_request *req, seam_ui_access a, bool page)
{
    if (a == SEAM_UI_LOGIN) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
                          "Bearer realm=\"seam admin\"");
        if (page)
            send_login(req, 401, NULL);
        else
            send_json_error(req, 401, "authentication_error", "invalid_api_key",
                            "the dashboard needs the admin key");
        return;
    }
    send_json_error(req, 403, "permission_error",
                    a == SEAM_UI_NO_KEY ? "admin_disabled" : "admin_loopback_only",
                    a == SEAM_UI_NO_KEY ? msg_no_key : msg_remote);
}

/* ---- handlers ---- */

void seam_ui_page(seam_worker *w, struct evhttp_request *req)
{
    seam_ui_access a = seam_ui_check_request(w, req);
    if (a != SEAM_UI_ALLOW) {
        seam_ui_refuse(req, a, true);
        return;
    }
    pthread_once(&once, build_once);
    if (!page_html) {
        send_json_error(req, 503, "server_error", "ui_unavailable",
                        "this seam was built without the dashboard's assets");
        return;
    }
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    add_security_headers(h);
    evhttp_add_header(h, "Cache-Control", "no-store");
    send_body(req, 200, "text/html; charset=utf-8", page_html, page_len);
}

void seam_ui_static(seam_worker *w, struct evhttp_request *req)
{
    const char *uri = evhttp_request_get_uri(req);
    const seam_ui_asset *a = seam_ui_asset_find(uri, strcspn(uri, "?#"));
    if (!a || strcmp(a->path, "/ui/index.html") == 0) {
        send_json_error(req, 404, "invalid_request_error", "unknown_path", "no such file");
        return;
    }
    const char *tag = seam_ui_assets_etag();
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "ETag", tag);
    /* The page asks for ?v=<version>: a new binary means a new URL, so a
     * year in the cache is safe. */
    evhttp_add_header(h, "Cache-Control", "public, max-age=31536000, immutable");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");
    if (inm && strstr(inm, tag)) {
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        return;
    }
    send_body(req, 200, a->type, a->data, a->len);
}

static void redirect_ui(struct evhttp_request *req, const char *cookie)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (cookie)
        evhttp_add_header(h, "Set-Cookie", cookie);
    evhttp_add_header(h, "Location", "/ui");
    evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, 303, "See Other", NULL);
}

void seam_ui_login(seam_worker *w, struct evhttp_request *req)
{
    const seam_auth_state *auth = &w->gen->auth;
    if (!w->cfg->auth.admin_key_env || !w->cfg->auth.admin_key_env[0]) {
        /* Nothing to sign in to: loopback clients go straight in. */
        seam_ui_access a = seam_ui_check_request(w, req);
        if (a == SEAM_UI_ALLOW)
            redirect_ui(req, NULL);
        else
            seam_ui_refuse(req, a, true);
        return;
    }
    if (!auth->admin_set) {
        seam_ui_refuse(req, SEAM_UI_NO_KEY, true);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(in);
    if (n > LOGIN_MAX_BODY) {
        send_login(req, 413, "That form was too large.");
        return;
    }
    char body[LOGIN_MAX_BODY + 1];
    evbuffer_copyout(in, body, n);
    body[n] = '\0';
    struct evkeyvalq form;
    TAILQ_INIT(&form);
    const char *key = NULL;
    if (evhttp_parse_query_str(body, &form) == 0)
        key = evhttp_find_header(&form, "key");
    bool ok = key && seam_auth_admin(auth, NULL, key);
    evhttp_clear_headers(&form);
    memset(body, 0, sizeof body); /* the key does not outlive the check */
    char token[65];
    if (!ok) {
        send_login(req, 401, "That is not the admin key.");
        return;
    }
    if (seam_ui_session_new(auth, seam_ui_now_ms(), token) != 0) {
        send_login(req, 500, "Cannot start a session (no randomness available).");
        return;
    }
    char cookie[200];
    snprintf(cookie, sizeof cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld",
             SEAM_UI_COOKIE, token, SEAM_UI_SESSION_MS / 1000);
    redirect_ui(req, cookie);
}

void seam_ui_logout(seam_worker *w, struct evhttp_request *req)
{
    char token[80];
    if (seam_ui_cookie(evhttp_find_header(evhttp_request_get_input_headers(req), "Cookie"),
                       SEAM_UI_COOKIE, token, sizeof token))
        seam_ui_session_end(token);
    redirect_ui(req, SEAM_UI_COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}
