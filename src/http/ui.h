/*
 * The dashboard page (GET /ui) and who may see it.
 *
 * The page, its script and style and uPlot's files are embedded in the
 * binary at build time: the Makefile turns the files of ui/ and uPlot's
 * dist files from node_modules into build/<flavour>/gen/ui_assets.c
 * (scripts/ui-assets.sh).
 * Nothing is fetched from anywhere else, so the page works air-gapped.
 *
 * Who may see it, for the page and the JSON under /admin/ alike:
 *   - auth.admin_key_env configured and its variable set: the admin key, in
 *     Authorization: Bearer / x-api-key, or a session cookie obtained by
 *     posting the key to /ui/login. The cookie holds a random session token
 *     (never the key), kept in memory with an expiry and bound to the admin
 *     key it was issued for: a reload with another key ends it.
 *   - auth.admin_key_env configured but its variable unset: nobody (403),
 *     as for every admin endpoint.
 *   - no auth.admin_key_env at all: loopback clients only (127.0.0.0/8,
 *     ::1), so a single box works out of the box and nothing is exposed on
 *     the network. A reverse proxy on the same host makes every client look
 *     local: configure an admin key behind one.
 * Static assets (script, style, uPlot) are code, the same for everyone, and
 * carry no data: they are served without a key, with long cache lifetimes
 * and ETags; the page names them with a version query so a new binary's
 * assets are fetched anew.
 */
#ifndef SEAM_HTTP_UI_H
#define SEAM_HTTP_UI_H

#include "auth/keys.h"
#include "config/config.h"
#include "http/server.h"

#include <event2/http.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One embedded file. */
typedef struct seam_ui_asset {
    const char *path; /* "/ui/app.js"; the page itself is "/ui/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} seam_ui_asset;

/* The embedded file served at <path> (query ignored), or NULL. */
const seam_ui_asset *seam_ui_asset_find(const char *path, size_t len);

/* The ETag of every embedded file, quoted ("\"3f9a...\""): a hash of their
 * contents, so a binary with other assets has another one. */
const char *seam_ui_assets_etag(void);

/* Cookie name of a dashboard session. */
#define SEAM_UI_COOKIE "seam_session"
/* How long a session lasts after login. */
#define SEAM_UI_SESSION_MS (12LL * 3600 * 1000)
/* Sessions kept at once; a new login past this ends the oldest. */
#define SEAM_UI_SESSIONS_MAX 256

/* Starts a session for the admin key of <auth> at <now_ms>; writes its token
 * (64 hex digits and a NUL) into <token>. Returns 0, or -1 when no admin key
 * is set or no randomness is available. Thread-safe. */
int seam_ui_session_new(const seam_auth_state *auth, int64_t now_ms, char token[65]);

/* True when <token> names a live session issued for the admin key of
 * <auth>. Thread-safe; constant time in the token. */
bool seam_ui_session_valid(const seam_auth_state *auth, const char *token, int64_t now_ms);

/* Ends the session of <token> (logout); unknown tokens are ignored. */
void seam_ui_session_end(const char *token);

/* The value of cookie <name> in a Cookie header <cookie> (NULL: none),
 * copied into <out>; false when absent, empty or longer than <n> - 1. */
bool seam_ui_cookie(const char *cookie, const char *name, char *out, size_t n);

typedef enum {
    SEAM_UI_ALLOW = 0, /* let in */
    SEAM_UI_LOGIN,     /* an admin key is set and the request has neither it nor a session: 401 */
    SEAM_UI_NO_KEY,    /* admin_key_env is configured but its variable is unset: 403 */
    SEAM_UI_REMOTE,    /* no admin key configured and the client is not on loopback: 403 */
} seam_ui_access;

/* Who may see the dashboard (see the top of this file). <authorization>,
 * <x_api_key> and <cookie> are the request's headers (NULL when absent),
 * <peer> the client's address as text ("127.0.0.1", "::1"). */
seam_ui_access seam_ui_check(const seam_config *cfg, const seam_auth_state *auth,
                             const char *authorization, const char *x_api_key, const char *cookie,
                             const char *peer, int64_t now_ms);

/* seam_ui_check() for <req> on worker <w>. */
seam_ui_access seam_ui_check_request(seam_worker *w, struct evhttp_request *req);

/* Answers a refused dashboard request: 401 (with the login form for the
 * page itself when <page>, JSON otherwise) or 403 with a message. */
void seam_ui_refuse(struct evhttp_request *req, seam_ui_access a, bool page);

/* The wall clock in unix ms. */
int64_t seam_ui_now_ms(void);

/* ---- handlers (route table of src/http/server.c) ---- */

/* GET /ui: the page, or the login form (401) when a key is needed. */
void seam_ui_page(seam_worker *w, struct evhttp_request *req);
/* GET /ui/<file>: an embedded asset (no key needed; If-None-Match: 304). */
void seam_ui_static(seam_worker *w, struct evhttp_request *req);
/* POST /ui/login (form field "key"): a session cookie and 303 to /ui, or
 * the login form again with 401. */
void seam_ui_login(seam_worker *w, struct evhttp_request *req);
/* POST /ui/logout: ends the session, clears the cookie, 303 to /ui. */
void seam_ui_logout(seam_worker *w, struct evhttp_request *req);

#endif
