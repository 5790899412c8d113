/*
 * Task metadata parsing and the token estimate. Invalid declarations are
 * client errors (400) that name the field, never silently defaulted: a typo
 * in a sensitivity label must not route regulated data by the default.
 */
#include "policy/task.h"

#include <stdio.h>
#include <string.h>

void seam_task_init(seam_task *t, const seam_config *cfg)
{
    memset(t, 0, sizeof(*t));
    t->kind = SEAM_KIND_CHAT;
    t->sensitivity = cfg ? cfg->default_sensitivity : SEAM_SENS_INTERNAL;
    t->declared_sensitivity = t->sensitivity;
    t->complexity = SEAM_CPLX_MEDIUM;
}

seam_rc seam_task_declare(seam_task *t, const char *key, const char *value, const char *field,
                          char *err, size_t errlen)
{
    if (strcmp(key, "kind") == 0) {
        seam_kind k;
        if (seam_kind_parse(value, &k) != 0) {
            snprintf(err, errlen,
                     "invalid %s '%.40s': expected one of summarize, classify, draft, code, chat, "
                     "embed, other",
                     field, value);
            return SEAM_ERR_INVALID;
        }
        t->kind = k;
        t->declared |= SEAM_TASK_DECLARED_KIND;
    } else if (strcmp(key, "sensitivity") == 0) {
        seam_sensitivity s;
        if (seam_sensitivity_parse(value, &s) != 0) {
            snprintf(err, errlen, "invalid %s '%.40s': expected one of public, internal, regulated",
                     field, value);
            return SEAM_ERR_INVALID;
        }
        /* Declared twice (header and body): the safer, higher level wins. */
        if ((t->declared & SEAM_TASK_DECLARED_SENSITIVITY) && s < t->declared_sensitivity)
            s = t->declared_sensitivity;
        t->declared_sensitivity = s;
        t->sensitivity = s;
        t->declared |= SEAM_TASK_DECLARED_SENSITIVITY;
    } else if (strcmp(key, "complexity") == 0) {
        seam_complexity c;
        if (seam_complexity_parse(value, &c) != 0) {
            snprintf(err, errlen, "invalid %s '%.40s': expected one of low, medium, high", field,
                     value);
            return SEAM_ERR_INVALID;
        }
        t->complexity = c;
        t->declared |= SEAM_TASK_DECLARED_COMPLEXITY;
    } else {
        snprintf(err, errlen, "unknown task field %s: expected kind, sensitivity or complexity",
                 field);
        return SEAM_ERR_INVALID;
    }
    return SEAM_OK;
}

seam_rc seam_task_declare_json(seam_task *t, const json_t *obj, char *err, size_t errlen)
{
    if (!json_is_object(obj)) {
        snprintf(err, errlen,
                 "invalid seam: expected an object with kind, sensitivity, complexity");
        return SEAM_ERR_INVALID;
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val)
    {
        char field[64];
        snprintf(field, sizeof(field), "seam.%.40s", key);
        if (!json_is_string(val)) {
            if (strcmp(key, "kind") && strcmp(key, "sensitivity") && strcmp(key, "complexity"))
                return seam_task_declare(t, key, "", field, err, errlen);
            snprintf(err, errlen, "invalid %s: expected a string", field);
            return SEAM_ERR_INVALID;
        }
        seam_rc rc = seam_task_declare(t, key, json_string_value(val), field, err, errlen);
        if (rc != SEAM_OK)
            return rc;
    }
    return SEAM_OK;
}

void seam_task_raise(seam_task *t, seam_sensitivity s)
{
    if (s > t->sensitivity)
        t->sensitivity = s;
}

static uint64_t schema_bytes(const json_t *v)
{
    if (!v)
        return 0;
    size_t n = json_dumpb(v, NULL, 0, JSON_COMPACT);
    return n;
}

void seam_task_estimate(seam_task *t, const seam_req *req)
{
    uint64_t bytes = 0;
    bool images = false;
    for (size_t i = 0; i < req->nmsgs; i++) {
        const seam_msg *m = &req->msgs[i];
        for (size_t j = 0; j < m->nparts; j++) {
            const seam_part *p = &m->parts[j];
            switch (p->type) {
            case SEAM_PART_TEXT:
            case SEAM_PART_THINKING:
            case SEAM_PART_REFUSAL:
            case SEAM_PART_TOOL_RESULT:
                bytes += p->text_len;
                break;
            case SEAM_PART_TOOL_CALL:
                bytes += (p->name ? strlen(p->name) : 0) + (p->args ? strlen(p->args) : 0);
                break;
            case SEAM_PART_IMAGE:
                images = true;
                break;
            case SEAM_PART_OPAQUE:
                break;
            }
        }
    }
    for (size_t i = 0; i < req->ntools; i++) {
        const seam_tool *tl = &req->tools[i];
        bytes += strlen(tl->name) + (tl->description ? strlen(tl->description) : 0);
        bytes += schema_bytes(tl->parameters);
    }
    t->prompt_tokens = (bytes + 3) / 4;
    t->needs.vision = images || req->has_images;
    t->needs.tools = req->ntools > 0;
    t->needs.embeddings = req->embed != NULL;
    seam_task_update_params(t, req);
}

void seam_task_update_params(seam_task *t, const seam_req *req)
{
    const seam_params *p = &req->params;
    t->output_tokens = p->max_tokens > 0 ? (uint64_t)p->max_tokens : 0;
    t->tokens = t->prompt_tokens + t->output_tokens;
    /* An explicit budget with no level (Anthropic's budget_tokens) asks for
     * thinking too; off is off whatever budget came with it. */
    t->needs.thinking = p->reasoning == SEAM_REASONING_UNSET ? p->reasoning_budget > 0
                                                             : p->reasoning != SEAM_REASONING_OFF;
    t->needs.context_tokens = t->tokens;
}
