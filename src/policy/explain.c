/*
 * The decision of `seam route`, made by the same functions the gateway uses
 * (task parsing, seam_policy_decide, the matched rule's set,
 * seam_dispatch_pick_task), so what it prints is what serving would do,
 * minus health (every backend counts as up) and API keys (their absence is
 * not held against a backend).
 */
#include "policy/explain.h"
#include "core/jsonbuf.h"
#include "api/openai.h"
#include "policy/decide.h"
#include "policy/dial.h"
#include "policy/task.h"
#include "scan/classify.h"
#include "upstream/dispatch.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static seam_rc write_error(seam_buf *out, bool json, const char *msg)
{
    if (json) {
        json_t *o = json_pack("{s:s}", "error", msg);
        char *s = o ? seam_json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (s)
            seam_buf_printf(out, "%s\n", s);
        free(s);
    } else {
        seam_buf_printf(out, "error: %s\n", msg);
    }
    return SEAM_ERR_INVALID;
}

/* A task line: the fields a client would declare plus the token count, the
 * facts rules look at and the reasoning level the client would ask for. The
 * request behind it is empty but for that level, so that a rule's set acts
 * on it as on a real one. */
static seam_rc task_from_json(const seam_config *cfg, seam_arena *a, json_t *o, seam_req **reqp,
                              seam_task *t, seam_route_facts *f, char *err, size_t n)
{
    seam_req *req = seam_arena_calloc(a, sizeof(*req));
    if (!req)
        return SEAM_ERR_NOMEM;
    req->arena = a;
    req->params.max_tokens = -1;
    *reqp = req;
    seam_task_init(t, cfg);
    const char *keys[] = {"kind", "sensitivity", "complexity"};
    for (size_t i = 0; i < 3; i++) {
        json_t *v = json_object_get(o, keys[i]);
        if (!v)
            continue;
        if (!json_is_string(v)) {
            snprintf(err, n, "%s must be a string", keys[i]);
            return SEAM_ERR_INVALID;
        }
        if (seam_task_declare(t, keys[i], json_string_value(v), keys[i], err, n) != SEAM_OK)
            return SEAM_ERR_INVALID;
    }
    json_t *tokens = json_object_get(o, "tokens");
    if (tokens && (!json_is_integer(tokens) || json_integer_value(tokens) < 0)) {
        snprintf(err, n, "tokens must be a non-negative integer");
        return SEAM_ERR_INVALID;
    }
    t->tokens = t->prompt_tokens = tokens ? (uint64_t)json_integer_value(tokens) : 0;
    json_t *model = json_object_get(o, "model");
    if (model && !json_is_string(model)) {
        snprintf(err, n, "model must be a string");
        return SEAM_ERR_INVALID;
    }
    f->model = model ? json_string_value(model) : "auto";
    f->has_images = json_is_true(json_object_get(o, "has_images"));
    f->has_tools = json_is_true(json_object_get(o, "has_tools"));
    json_t *reasoning = json_object_get(o, "reasoning");
    if (reasoning) {
        const char *r = json_is_string(reasoning) ? json_string_value(reasoning) : "";
        seam_reasoning lvl = SEAM_REASONING_UNSET;
        for (int i = SEAM_REASONING_OFF; i <= SEAM_REASONING_MAX; i++)
            if (strcmp(r, seam_reasoning_level_name((seam_reasoning)i)) == 0)
                lvl = (seam_reasoning)i;
        if (lvl == SEAM_REASONING_UNSET) {
            snprintf(err, n,
                     "reasoning must be one of off, minimal, low, medium, high, xhigh, max");
            return SEAM_ERR_INVALID;
        }
        req->params.reasoning = lvl;
    }
    t->needs.vision = f->has_images;
    t->needs.tools = f->has_tools;
    seam_task_update_params(t, req);
    return SEAM_OK;
}

static seam_rc request_from_json(const seam_config *cfg, const seam_scanner *scanner,
                                 seam_scan_scratch *scratch, seam_arena *a, const char *line,
                                 size_t len, seam_req **reqp, seam_task *t, seam_route_facts *f,
                                 char *err, size_t n)
{
    seam_req *req;
    json_t *meta;
    const char *param;
    seam_rc rc = seam_api_openai_decode(a, line, len, &req, &meta, err, n, &param);
    if (rc != SEAM_OK)
        return rc;
    *reqp = req;
    seam_task_init(t, cfg);
    if (meta && seam_task_declare_json(t, meta, err, n) != SEAM_OK)
        return SEAM_ERR_INVALID;
    seam_task_estimate(t, req);
    seam_detection det;
    seam_classify_request(scanner, scratch, cfg, req, a, &det);
    seam_task_raise(t, det.level);
    seam_detection_free(&det);
    f->model = req->model;
    f->has_images = req->has_images;
    f->has_tools = req->ntools > 0;
    return SEAM_OK;
}

seam_rc seam_policy_route_line(const seam_config *cfg, const seam_scanner *scanner,
                               seam_scan_scratch *scratch, const char *line, size_t len, bool json,
                               seam_buf *out)
{
    char err[300], why[400], applied[96] = "";
    json_error_t jerr;
    seam_req *req = NULL;
    seam_task t;
    seam_route_facts f = {0};
    json_t *o = json_loadb(line, len, 0, &jerr);
    if (!json_is_object(o)) {
        json_decref(o);
        snprintf(err, sizeof(err), "not a JSON object: %s", jerr.text);
        return write_error(out, json, err);
    }
    seam_arena *a = seam_arena_new(4096);
    seam_rc rc =
        !a ? SEAM_ERR_NOMEM
        : json_object_get(o, "messages")
            ? request_from_json(cfg, scanner, scratch, a, line, len, &req, &t, &f, err, sizeof(err))
            : task_from_json(cfg, a, o, &req, &t, &f, err, sizeof(err));
    if (rc != SEAM_OK) {
        write_error(out, json, rc == SEAM_ERR_NOMEM ? "out of memory" : err);
        goto out;
    }
    seam_decision d;
    seam_policy_decide(cfg, &t, &f, &d);
    const seam_backend_conf *b = NULL;
    const uint64_t decided_tokens = t.tokens; /* what the rules saw */
    int status = 200;
    if (d.rc == SEAM_ERR_NOT_FOUND) {
        status = 404;
    } else if (d.rc == SEAM_ERR_FORBIDDEN) {
        status = 403;
    } else {
        /* The matched rule's set changes what the backend must hold
         * (max_tokens) and offer (thinking), so it comes before the pick. */
        seam_policy_apply_set(d.matched, req, &t, applied, sizeof(applied));
        seam_rc pick =
            seam_dispatch_pick_task(cfg, &d, &t, NULL, SEAM_PICK_IGNORE_KEYS, &b, why, sizeof(why));
        if (pick != SEAM_OK) {
            status = pick == SEAM_ERR_TOO_LARGE ? 400 : 503;
            size_t l = strlen(d.reason);
            snprintf(d.reason + l, sizeof(d.reason) - l, "; %s: %s",
                     status == 400 ? "too large" : "no allowed backend", why);
        }
    }
    const char *pool = d.pool ? d.pool->name : NULL;
    if (json) {
        json_t *r = json_pack("{s:s?, s:s?, s:s, s:[], s:s, s:s, s:I}", "pool", pool, "backend",
                              b ? b->name : NULL, "rule", d.rule, "fallback", "reason", d.reason,
                              "sensitivity", seam_sensitivity_name(t.sensitivity), "tokens",
                              (json_int_t)decided_tokens);
        if (r && applied[0])
            json_object_set_new(r, "set", json_string(applied));
        if (r && d.rerouted)
            json_object_set_new(r, "rerouted", json_string("clearance"));
        if (r && status != 200)
            json_object_set_new(r, "status", json_integer(status));
        char *s = r ? seam_json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(r);
        rc = s ? seam_buf_printf(out, "%s\n", s) : SEAM_ERR_NOMEM;
        free(s);
    } else {
        char st[16] = "";
        if (status != 200)
            snprintf(st, sizeof(st), " status=%d", status);
        rc = seam_buf_printf(out, "pool=%s backend=%s rule=%s fallback=[]%s%s%s%s reason=\"%s\"\n",
                             pool ? pool : "-", b ? b->name : "-", d.rule,
                             d.rerouted ? " rerouted=clearance" : "", applied[0] ? " set=" : "",
                             applied, st, d.reason);
    }
out:
    seam_arena_free(a);
    json_decref(o);
    return rc;
}
