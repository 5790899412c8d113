/*
 * Classification of whole requests: every place a value can hide is
 * scanned, images set a floor, failures fail closed, and redaction rewrites
 * every place (text, tool-call arguments as JSON, tool descriptions,
 * passthrough fields) so no original value is left in what would be sent.
 */
#include "testutil.h"

#include "api/openai.h"
#include "providers/openai.h"
#include "scan/classify.h"

#include <stdlib.h>

static const char *CARD = "4485 2757 4230 8327";
static const char *EMAIL = "jane.doe@example.org";

struct fixture {
    seam_config *cfg;
    seam_scanner *scanner;
    seam_scan_scratch *scratch;
    seam_arena *a;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->cfg = load_yaml(reference_yaml);
    char err[256];
    assert_int_equal(seam_scanner_new(f->cfg, &f->scanner, err, sizeof(err)), SEAM_OK);
    f->scratch = seam_scan_scratch_new(f->scanner);
    assert_non_null(f->scratch);
    f->a = seam_arena_new(4096);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    seam_arena_free(f->a);
    seam_scan_scratch_free(f->scratch);
    seam_scanner_free(f->scanner);
    seam_config_free(f->cfg);
    free(f);
    return 0;
}

static seam_req *decode(struct fixture *f, const char *body)
{
    seam_req *r;
    json_t *meta;
    char err[256];
    const char *param;
    seam_rc rc =
        seam_api_openai_decode(f->a, body, strlen(body), &r, &meta, err, sizeof(err), &param);
    if (rc != SEAM_OK)
        fail_msg("decode: %s", err);
    return r;
}

static char *body_with(const char *where, const char *value)
{
    static char buf[2048];
    if (strcmp(where, "system") == 0)
        snprintf(buf, sizeof(buf),
                 "{\"model\":\"auto\",\"messages\":[{\"role\":\"system\",\"content\":\"note %s\"},"
                 "{\"role\":\"user\",\"content\":\"hi\"}]}",
                 value);
    else if (strcmp(where, "parts") == 0)
        snprintf(buf, sizeof(buf),
                 "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                 "\"text\",\"text\":\"see %s\"}]}]}",
                 value);
    else if (strcmp(where, "args") == 0)
        snprintf(buf, sizeof(buf),
                 "{\"model\":\"auto\",\"messages\":[{\"role\":\"assistant\",\"content\":null,"
                 "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                 "\"arguments\":\"{\\\"v\\\":\\\"%s\\\"}\"}}]},{\"role\":\"tool\",\"tool_call_id\":"
                 "\"c\",\"content\":\"ok\"}]}",
                 value);
    else if (strcmp(where, "tool") == 0)
        snprintf(buf, sizeof(buf),
                 "{\"model\":\"auto\",\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"c\","
                 "\"content\":\"found %s\"}]}",
                 value);
    else if (strcmp(where, "description") == 0)
        snprintf(buf, sizeof(buf),
                 "{\"model\":\"auto\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
                 "\"f\",\"description\":\"default %s\",\"parameters\":{\"type\":\"object\"}}}],"
                 "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                 value);
    else if (strcmp(where, "passthrough") == 0)
        snprintf(buf, sizeof(buf),
                 "{\"model\":\"auto\",\"metadata\":{\"owner\":\"%s\"},\"messages\":[{\"role\":"
                 "\"user\",\"content\":\"hi\"}]}",
                 value);
    return buf;
}

static const char *places[] = {"system", "parts", "args", "tool", "description", "passthrough"};

/* A card anywhere makes the request regulated; redaction leaves no trace of
 * it in the encoded upstream body. */
static void every_place_is_scanned_and_redacted(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        seam_req *r = decode(f, body_with(places[i], CARD));
        seam_detection d;
        assert_int_equal(seam_classify_request(f->scanner, f->scratch, f->cfg, r, f->a, &d),
                         SEAM_OK);
        if (d.level != SEAM_SENS_REGULATED || d.total != 1)
            fail_msg("%s: level %d, %zu entities", places[i], d.level, d.total);
        assert_false(d.failed);
        const char *summary = seam_detection_summary(f->scanner, &d, f->a);
        assert_string_equal(summary, "CREDIT_CARD=1");
        seam_redactor *red = seam_classify_redact(f->scanner, r, &d, f->a);
        assert_non_null(red);
        json_t *out = seam_openai_encode_request(r, "m");
        char *s = json_dumps(out, JSON_COMPACT);
        if (strstr(s, "4485") || !strstr(s, "[CREDIT_CARD_1]"))
            fail_msg("%s: redacted body still wrong: %s", places[i], s);
        /* Arguments stay valid JSON after redaction. */
        if (strcmp(places[i], "args") == 0) {
            json_t *args = json_object_get(
                json_array_get(json_object_get(json_array_get(json_object_get(out, "messages"), 0),
                                               "tool_calls"),
                               0),
                "function");
            json_error_t jerr;
            json_t *parsed =
                json_loads(json_string_value(json_object_get(args, "arguments")), 0, &jerr);
            assert_non_null(parsed);
            assert_string_equal(json_string_value(json_object_get(parsed, "v")), "[CREDIT_CARD_1]");
            json_decref(parsed);
        }
        free(s);
        json_decref(out);
        seam_detection_free(&d);
    }
}

static void escapes_do_not_hide_values(void **state)
{
    struct fixture *f = *state;
    /* Non-breaking spaces as JSON escapes inside tool-call arguments. */
    seam_req *r = decode(f, body_with("args", "4485\\\\u00a02757\\\\u00a04230\\\\u00a08327"));
    seam_detection d;
    seam_classify_request(f->scanner, f->scratch, f->cfg, r, f->a, &d);
    assert_int_equal(d.level, SEAM_SENS_REGULATED);
    seam_detection_free(&d);
}

static void clean_request_and_image_floor(void **state)
{
    struct fixture *f = *state;
    seam_req *r = decode(f, body_with("parts", "the weather is fine"));
    seam_detection d;
    seam_classify_request(f->scanner, f->scratch, f->cfg, r, f->a, &d);
    assert_int_equal(d.level, SEAM_SENS_PUBLIC);
    assert_int_equal(d.total, 0);
    assert_null(seam_detection_summary(f->scanner, &d, f->a));
    seam_detection_free(&d);

    r = decode(f, "{\"model\":\"auto\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
                  "\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,AA==\"}}]}]}");
    seam_classify_request(f->scanner, f->scratch, f->cfg, r, f->a, &d);
    assert_int_equal(d.level, SEAM_SENS_INTERNAL);
    assert_int_equal(d.unredactable, SEAM_SENS_INTERNAL);
    seam_detection_free(&d);
}

static void same_value_same_placeholder_everywhere(void **state)
{
    struct fixture *f = *state;
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"model\":\"auto\",\"messages\":[{\"role\":\"system\",\"content\":\"%s\"},{\"role\":"
             "\"user\",\"content\":\"mail %s or %s\"}]}",
             EMAIL, EMAIL, "bob@example.com");
    seam_req *r = decode(f, body);
    seam_detection d;
    seam_classify_request(f->scanner, f->scratch, f->cfg, r, f->a, &d);
    assert_int_equal(d.total, 3);
    seam_redactor *red = seam_classify_redact(f->scanner, r, &d, f->a);
    assert_string_equal(r->msgs[0].parts[0].text, "[EMAIL_1]");
    assert_string_equal(r->msgs[1].parts[0].text, "mail [EMAIL_1] or [EMAIL_2]");
    assert_int_equal(seam_redactor_count(red), 2);
    seam_buf out;
    seam_buf_init(&out, 1 << 16);
    assert_int_equal(seam_restore_text(red, "to [EMAIL_2] and [EMAIL_1]", 26, &out), SEAM_OK);
    assert_string_equal(out.data, "to bob@example.com and jane.doe@example.org");
    seam_buf_free(&out);
    seam_detection_free(&d);
}

/* No scratch space: the scanner cannot run, and the request counts as
 * regulated. */
static void failure_fails_closed(void **state)
{
    struct fixture *f = *state;
    seam_req *r = decode(f, body_with("parts", "nothing sensitive"));
    seam_detection d;
    seam_classify_request(f->scanner, NULL, f->cfg, r, f->a, &d);
    assert_true(d.failed);
    assert_int_equal(d.level, SEAM_SENS_REGULATED);
    assert_string_equal(seam_detection_summary(f->scanner, &d, f->a), "SCAN_FAILED=1");
    seam_detection_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_place_is_scanned_and_redacted, setup, teardown),
        cmocka_unit_test_setup_teardown(escapes_do_not_hide_values, setup, teardown),
        cmocka_unit_test_setup_teardown(clean_request_and_image_floor, setup, teardown),
        cmocka_unit_test_setup_teardown(same_value_same_placeholder_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(failure_fails_closed, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
