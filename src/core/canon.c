/* Names and parsers for the canonical enums. */
#include "core/canon.h"

#include <string.h>

static const char *sens_names[] = {"public", "internal", "regulated"};
static const char *kind_names[] = {"summarize", "classify", "draft", "code",
                                   "chat",      "embed",    "other"};
static const char *cplx_names[] = {"low", "medium", "high"};

const char *seam_sensitivity_name(seam_sensitivity s)
{
    return (unsigned)s < SEAM_SENS__COUNT ? sens_names[s] : "?";
}

const char *seam_kind_name(seam_kind k)
{
    return (unsigned)k < SEAM_KIND__COUNT ? kind_names[k] : "?";
}

const char *seam_complexity_name(seam_complexity c)
{
    return (unsigned)c < SEAM_CPLX__COUNT ? cplx_names[c] : "?";
}

const char *seam_finish_name_openai(seam_finish f)
{
    switch (f) {
    case SEAM_FINISH_STOP:
        return "stop";
    case SEAM_FINISH_LENGTH:
        return "length";
    case SEAM_FINISH_TOOL_CALLS:
        return "tool_calls";
    case SEAM_FINISH_CONTENT_FILTER:
        return "content_filter";
    case SEAM_FINISH_ERROR:
        return "stop";
    }
    return "stop";
}

static int parse_name(const char *s, const char **names, int n)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

int seam_sensitivity_parse(const char *s, seam_sensitivity *out)
{
    int i = parse_name(s, sens_names, SEAM_SENS__COUNT);
    if (i >= 0)
        *out = (seam_sensitivity)i;
    return i >= 0 ? 0 : -1;
}

int seam_kind_parse(const char *s, seam_kind *out)
{
    int i = parse_name(s, kind_names, SEAM_KIND__COUNT);
    if (i >= 0)
        *out = (seam_kind)i;
    return i >= 0 ? 0 : -1;
}

int seam_complexity_parse(const char *s, seam_complexity *out)
{
    int i = parse_name(s, cplx_names, SEAM_CPLX__COUNT);
    if (i >= 0)
        *out = (seam_complexity)i;
    return i >= 0 ? 0 : -1;
}

static void json_release(void *v)
{
    json_decref((json_t *)v);
}

json_t *seam_arena_json(seam_arena *a, json_t *v)
{
    if (!v)
        return NULL;
    if (seam_arena_on_free(a, json_release, v) != 0) {
        json_decref(v);
        return NULL;
    }
    return v;
}
