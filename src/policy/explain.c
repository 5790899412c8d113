/*
 * The decision of `seam route`, made by the same functions the gateway uses
 * (task parsing, seam_policy_decide, seam_dispatch_pick), so what it prints
 * is what serving would do, minus health (every backend counts as up) and
 * API keys (their absence is not held against a backend).
 */
#include "policy/explain.h"
#include "api/openai.h"
#include "policy/decide.h"
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
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        if (s)
            seam_buf_printf(out, "%s\n", s);
        free(s);
    } else {
        seam_buf_printf(out, "error: %s\n", msg);
    }
    return SEAM_ERR_INVALID;
}

/* A task line: the fields a client would declare plus the token count. */
static seam_rc task_from_json(const seam_config *cfg, json_t *o, seam_task *t, seam_route_facts *f,
                              char *err, size_t n)
{
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
    return SEAM_OK;
}

static seam_rc request_from_json(const seam_config *cfg, const seam_scanner *scanner,
                                 seam_scan_scratch *scratch, seam_arena *a, const char *line,
                                 size_t len, seam_task *t, seam_route_facts *f, char *err, size_t n)
{
    seam_req *req;
    json_t *meta;
    const char *param;
    seam_rc rc = seam_api_openai_decode(a, line, len, &req, &meta, err, n, &param);
    if (rc != SEAM_OK)
        return rc;
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
    char err[300], why[400];
    json_error_t jerr;
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
            ? request_from_json(cfg, scanner, scratch, a, line, len, &t, &f, err, sizeof(err))
            : task_from_json(cfg, o, &t, &f, err, sizeof(err));
    if (rc != SEAM_OK) {
        write_error(out, json, rc == SEAM_ERR_NOMEM ? "out of memory" : err);
        goto out;
    }
    seam_decision d;
    seam_policy_decide(cfg, &t, &f, &d);
    const seam_backend_conf *b = NULL;
    int status = 200;
    if (d.rc == SEAM_ERR_NOT_FOUND)
        status = 404;
    else if (d.rc == SEAM_ERR_FORBIDDEN)
        status = 403;
    else if (seam_dispatch_pick(cfg, &d, t.sensitivity, NULL, SEAM_PICK_IGNORE_KEYS, &b, why,
                                sizeof(why)) != SEAM_OK) {
        status = 503;
        size_t l = strlen(d.reason);
        snprintf(d.reason + l, sizeof(d.reason) - l, "; no allowed backend: %s", why);
    }
    const char *pool = d.pool ? d.pool->name : NULL;
    if (json) {
        json_t *r = json_pack("{s:s?, s:s?, s:s, s:[], s:s, s:s, s:I}", "pool", pool, "backend",
                              b ? b->name : NULL, "rule", d.rule, "fallback", "reason", d.reason,
                              "sensitivity", seam_sensitivity_name(t.sensitivity), "tokens",
                              (json_int_t)t.tokens);
        if (r && d.rerouted)
            json_object_set_new(r, "rerouted", json_string("clearance"));
        if (r && status != 200)
            json_object_set_new(r, "status", json_integer(status));
        char *s = r ? json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        json_decref(r);
        rc = s ? seam_buf_printf(out, "%s\n", s) : SEAM_ERR_NOMEM;
        free(s);
    } else {
        rc = seam_buf_printf(out, "pool=%s backend=%s rule=%s fallback=[]%s%s reason=\"%s\"\n",
                             pool ? pool : "-", b ? b->name : "-", d.rule,
                             d.rerouted ? " rerouted=clearance" : "",
                             status == 200   ? ""
                             : status == 404 ? " status=404"
                             : status == 403 ? " status=403"
                                             : " status=503",
                             d.reason);
    }
out:
    seam_arena_free(a);
    json_decref(o);
    return rc;
}
