/*
 * A rule's `set` applied to a request; see dial.h. The rule acts on the
 * canonical request, before any provider encodes it, so one setting means
 * the same on every backend: reasoning off is Ollama's think:false,
 * OpenAI's reasoning_effort "none", no Anthropic thinking block and a
 * Gemini thinking budget of 0.
 */
#include "policy/dial.h"
#include "policy/task.h"

#include <inttypes.h>
#include <stdio.h>

const char *seam_reasoning_level_name(seam_reasoning r)
{
    switch (r) {
    case SEAM_REASONING_UNSET:
        return "";
    case SEAM_REASONING_OFF:
        return "off";
    case SEAM_REASONING_MINIMAL:
        return "minimal";
    case SEAM_REASONING_LOW:
        return "low";
    case SEAM_REASONING_MEDIUM:
        return "medium";
    case SEAM_REASONING_HIGH:
        return "high";
    case SEAM_REASONING_XHIGH:
        return "xhigh";
    case SEAM_REASONING_MAX:
        return "max";
    }
    return "";
}

/* Appends ",<what>" (no comma first) to <out> of size <n> at <*len>. */
static void append(char *out, size_t n, size_t *len, const char *what, const char *value)
{
    if (*len >= n)
        return;
    int w = snprintf(out + *len, n - *len, "%s%s%s", *len ? "," : "", what, value);
    if (w > 0)
        *len += (size_t)w;
    if (*len >= n)
        *len = n - 1; /* cut: the buffer holds what fitted */
}

size_t seam_policy_apply_set(const seam_rule_conf *rule, seam_req *req, seam_task *task,
                             char *applied, size_t n)
{
    size_t len = 0;
    if (n)
        applied[0] = '\0';
    else
        applied = NULL;
    if (!rule)
        return 0;
    const seam_rule_set *set = &rule->set;
    seam_params *p = &req->params;
    char num[32];

    if (set->reasoning != SEAM_REASONING_UNSET) {
        bool client_chose = p->reasoning != SEAM_REASONING_UNSET || p->reasoning_budget > 0;
        /* The client's own spelling of the same level is left alone. */
        bool changes = p->reasoning != set->reasoning || p->reasoning_budget > 0;
        if ((!client_chose || set->force) && changes) {
            p->reasoning = set->reasoning;
            p->reasoning_raw = NULL;
            p->reasoning_budget = 0;
            if (applied)
                append(applied, n, &len, "reasoning=", seam_reasoning_level_name(set->reasoning));
        }
    }
    if (set->max_tokens_cap) {
        int64_t cap = (int64_t)set->max_tokens_cap;
        if (p->max_tokens < 0 || p->max_tokens > cap) {
            p->max_tokens = cap;
            snprintf(num, sizeof(num), "%" PRId64, cap);
            if (applied)
                append(applied, n, &len, "max_tokens<=", num);
        }
    }
    if (task)
        seam_task_update_params(task, req);
    return len;
}
