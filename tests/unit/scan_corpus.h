/*
 * A generator of clean prompt text for the scanner's false-positive test and
 * its benchmark: prose, C / JavaScript / Python / Go source, shell sessions,
 * application logs, YAML and JSON configuration and Markdown, the kinds of
 * text people send to a model, with randomised numbers, identifiers, hashes,
 * versions, dates, durations, sizes and ports, but no sensitive values: no
 * addresses of people, no real credentials (only references to them:
 * ${VAR}, {{ .Values.x }}, os.environ[...]), no IP addresses, no card,
 * account or health numbers. Deterministic for a given seed.
 *
 * Header-only (static functions) so that tests/unit/test_scan.c and
 * bench/scan_bench.c share it.
 */
#ifndef SEAM_TESTS_SCAN_CORPUS_H
#define SEAM_TESTS_SCAN_CORPUS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct corpus_rng {
    uint64_t s;
} corpus_rng;

static uint64_t corpus_next(corpus_rng *r)
{
    /* xorshift64* */
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}

static unsigned corpus_below(corpus_rng *r, unsigned n)
{
    return (unsigned)(corpus_next(r) % n);
}

static const char *corpus_pick(corpus_rng *r, const char *const *v, size_t n)
{
    return v[corpus_below(r, (unsigned)n)];
}

#define CORPUS_PICK(r, arr) corpus_pick((r), (arr), sizeof(arr) / sizeof((arr)[0]))

static const char *const corpus_words[] = {
    "system",   "latency",   "cache",     "request",  "budget",   "quarter",  "customer",
    "feature",  "release",   "pipeline",  "report",   "summary",  "draft",    "meeting",
    "schedule", "inventory", "migration", "database", "service",  "cluster",  "policy",
    "renewal",  "contract",  "proposal",  "design",   "review",   "incident", "dashboard",
    "forecast", "supplier",  "training",  "model",    "document", "analysis", "timeline",
};
static const char *const corpus_names[] = {"Alice",       "the team",  "our vendor",
                                           "the auditor", "Marketing", "the on-call engineer",
                                           "Finance"};
static const char *const corpus_idents[] = {
    "count",       "buffer",     "result",    "items",       "config",         "handler",
    "user_id",     "session",    "retries",   "offset",      "payload",        "response",
    "token_count", "max_tokens", "tokenizer", "secret_name", "password_field", "auth_header",
};
static const char *const corpus_months[] = {"January", "March", "June", "September", "November"};

/* Appends formatted text to <o> (capacity <cap>, length <*len>). */
static void corpus_put(char *o, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void corpus_put(char *o, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    if (*len >= cap)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(o + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len += (size_t)n < cap - *len ? (size_t)n : cap - *len - 1;
}

static void corpus_hex(corpus_rng *r, char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++)
        out[i] = hex[corpus_below(r, 16)];
    out[n] = '\0';
}

/* One snippet of clean text. */
static void corpus_snippet(corpus_rng *r, char *o, size_t cap, size_t *len)
{
    char h1[41], h2[41];
    const char *w1 = CORPUS_PICK(r, corpus_words), *w2 = CORPUS_PICK(r, corpus_words);
    const char *id = CORPUS_PICK(r, corpus_idents);
    unsigned a = corpus_below(r, 1000), b = corpus_below(r, 100), c = corpus_below(r, 60);
    unsigned y = 2015 + corpus_below(r, 12), mo = 1 + corpus_below(r, 12),
             d = 1 + corpus_below(r, 28);
    corpus_hex(r, h1, 40);
    corpus_hex(r, h2, 12);
    switch (corpus_below(r, 54)) {
    case 0:
        corpus_put(o, cap, len,
                   "Can you summarise the %s %s for %s? Revenue was $%u.%u million, up %u%% "
                   "from last quarter, and the %s is due on %s %u. ",
                   w1, w2, CORPUS_PICK(r, corpus_names), a, b % 10, b, w2,
                   CORPUS_PICK(r, corpus_months), d);
        break;
    case 1:
        corpus_put(o, cap, len,
                   "We moved the %s review to %02u/%02u/%u at %u:%02u. Please bring the %s "
                   "numbers (%u units, %u returns) and the updated %s. ",
                   w1, mo, d, y, 9 + corpus_below(r, 8), c, w2, a * 7 + 100, b, w1);
        break;
    case 2:
        corpus_put(o, cap, len,
                   "Rewrite this paragraph to be more concise: \"Our %s %s improved by %u.%u%% "
                   "after we introduced the new %s in version %u.%u.%u.\" ",
                   w1, w2, b, c % 10, w1, 1 + b % 9, c % 20, a % 50);
        break;
    case 3:
        corpus_put(o, cap, len,
                   "static int %s_%s(const char *p, size_t n)\n{\n    size_t i = 0;\n    while "
                   "(i < n && p[i] != '\\n')\n        i++;\n    return i > %u ? -1 : (int)i;\n}\n",
                   w1, w2, a + 16);
        break;
    case 4:
        corpus_put(o, cap, len,
                   "#define %s_MAX %u\n#define %s_TIMEOUT_MS %u\nstatic const uint32_t "
                   "crc_table[4] = {0x%.8s, 0x%.8s, 0x%.8s, 0x%.8s};\n",
                   "BUF", 4096u << (b % 4), "READ", 30000 + a, h1, h1 + 8, h1 + 16, h1 + 24);
        break;
    case 5:
        corpus_put(o, cap, len,
                   "def %s(%s, limit=%u):\n    \"\"\"Return the %s of each %s.\"\"\"\n    "
                   "return [x for x in %s if x.%s < limit][:%u]\n\n",
                   w1, id, a, w2, w1, id, w2, b + 1);
        break;
    case 6:
        corpus_put(o, cap, len,
                   "import os\n\npassword = os.environ[\"DB_PASSWORD\"]\napi_key = "
                   "os.getenv(\"API_KEY\")\ntoken = tokenizer.encode(text)\nprint(len(token), "
                   "%u)\n",
                   a);
        break;
    case 7:
        corpus_put(o, cap, len,
                   "const %s = await fetch(`/api/v%u/%s/${id}`, { method: 'POST', headers: { "
                   "'Content-Type': 'application/json', Authorization: `Bearer ${token}` } });\n",
                   id, 1 + b % 3, w1);
        break;
    case 8:
        corpus_put(o, cap, len,
                   "export function %s(items) {\n  const secret = process.env.SESSION_SECRET;\n  "
                   "return items.filter((x) => x.%s > %u).map((x) => x.id);\n}\n",
                   w1, w2, a);
        break;
    case 9:
        corpus_put(o, cap, len,
                   "func (s *%sServer) Handle(ctx context.Context, req *pb.%sRequest) error {\n"
                   "\tctx, cancel := context.WithTimeout(ctx, %u*time.Millisecond)\n\tdefer "
                   "cancel()\n\treturn s.store.Put(ctx, req.GetKey(), %u)\n}\n",
                   w1, w2, a + 100, b);
        break;
    case 10:
        corpus_put(o, cap, len,
                   "%u-%02u-%02uT%02u:%02u:%02u.%03uZ INFO  [worker-%u] request_id=%s "
                   "method=POST path=/v1/chat/completions status=200 duration_ms=%u "
                   "tokens_in=%u tokens_out=%u\n",
                   y, mo, d, b % 24, c, (a + c) % 60, a, b % 16, h2, a + 3, a * 13, b * 7);
        break;
    case 11:
        corpus_put(o, cap, len,
                   "%u-%02u-%02u %02u:%02u:%02u,%03u WARN %s.%s - retrying after %ums "
                   "(attempt %u of %u, backoff %.1fs)\n",
                   y, mo, d, b % 24, c, c, a, w1, w2, a, b % 5 + 1, 5u, (double)c / 10);
        break;
    case 12:
        corpus_put(o, cap, len,
                   "E%02u%02u %02u:%02u:%02u.%06u %5u %s.cc:%u] failed to %s %s: deadline "
                   "exceeded after %u.%03us\n",
                   mo, d, b % 24, c, c, a * 997, a + 1000, w1, a + 10, w1, w2, b, a);
        break;
    case 13:
        corpus_put(
            o, cap, len,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s-%s\nspec:\n  "
            "replicas: %u\n  template:\n    spec:\n      containers:\n        - name: "
            "%s\n          image: registry.local/%s:%u.%u.%u\n          ports:\n            - "
            "containerPort: %u\n",
            w1, w2, 1 + b % 5, w1, w1, 1 + b % 4, c % 30, a % 20, 8000 + a);
        break;
    case 14:
        corpus_put(o, cap, len,
                   "database:\n  host: db.internal\n  port: %u\n  user: app\n  password: "
                   "${DB_PASSWORD}\n  pool_size: %u\n  timeout: %us\ncache:\n  ttl_seconds: %u\n",
                   5432 + b % 3, 5 + b % 20, 5 + c, a * 60);
        break;
    case 15:
        corpus_put(o, cap, len,
                   "env:\n  - name: API_TOKEN\n    valueFrom:\n      secretKeyRef:\n        name: "
                   "%s-secrets\n        key: token\n  - name: LOG_LEVEL\n    value: info\n"
                   "token: \"{{ .Values.%s.token }}\"\n",
                   w1, w2);
        break;
    case 16:
        corpus_put(o, cap, len,
                   "{\"id\": %u, \"name\": \"%s %s\", \"tags\": [\"%s\", \"%s\"], \"score\": "
                   "%u.%02u, \"created\": \"%u-%02u-%02u\", \"etag\": \"%s\"}\n",
                   a * 1000 + b, w1, w2, w2, w1, b, c, y, mo, d, h2);
        break;
    case 17:
        corpus_put(o, cap, len,
                   "$ git log --oneline -3\n%.7s Fix %s race in %s\n%.7s Bump %s to %u.%u.%u\n"
                   "%.7s Merge pull request #%u from %s/%s\n",
                   h1, w1, w2, h1 + 7, w2, b % 9, c, a % 30, h1 + 14, a + 100, w1, w2);
        break;
    case 18:
        corpus_put(o, cap, len,
                   "$ docker run --rm -p %u:%u -e TOKEN=$TOKEN -v $PWD:/app %s/%s:%u.%u\n"
                   "$ curl -s localhost:%u/healthz | jq .status\n\"ok\"\n",
                   8000 + a, 80u, w1, w2, b % 5, c, 8000 + a);
        break;
    case 19:
        corpus_put(o, cap, len,
                   "## %s\n\n- [ ] Review the %s section (%u comments)\n- [x] Update the %s "
                   "table to v%u.%u\n- [ ] Ask %s about the %s budget\n\n",
                   w1, w2, b, w1, b % 5, c % 10, CORPUS_PICK(r, corpus_names), w2);
        break;
    case 20:
        corpus_put(o, cap, len,
                   "Traceback (most recent call last):\n  File \"/srv/app/%s.py\", line %u, in "
                   "%s\n    return self.%s[%s]\nKeyError: '%s'\n",
                   w1, a + 1, w2, id, id, w2);
        break;
    case 21:
        corpus_put(o, cap, len,
                   "The build took %um %us on %u cores; %u tests passed, %u skipped, peak RSS "
                   "%u MiB. Commit %s.\n",
                   b % 20, c, 4 + b % 60, a * 3, b % 7, 200 + a, h1);
        break;
    case 22:
        corpus_put(o, cap, len,
                   "Translate to French: \"The %s will arrive on %s %u, %u. Please confirm the "
                   "%s by replying to this message.\" ",
                   w1, CORPUS_PICK(r, corpus_months), d, y, w2);
        break;
    case 23:
        corpus_put(o, cap, len,
                   "Sort these by priority: %s (P%u), %s (P%u), %s (P%u). Estimated effort: %u, "
                   "%u and %u story points. ",
                   w1, b % 4, w2, c % 4, CORPUS_PICK(r, corpus_words), a % 4, b % 13, c % 8,
                   a % 21);
        break;
    case 24:
        corpus_put(o, cap, len,
                   "for (let i = 0; i < %u; i++) {\n  if (%s[i] === undefined) continue;\n  "
                   "total += %s[i] * %u.%u;\n}\n",
                   a, id, id, b, c);
        break;
    case 25:
        corpus_put(o, cap, len,
                   "uuid %.8s-%.4s-4%.3s-a%.3s-%.12s assigned to job %u (queue %s, priority %u)\n",
                   h1, h1 + 8, h1 + 12, h1 + 15, h1 + 18, a * 100 + b, w1, b % 10);
        break;
    case 26:
        corpus_put(o, cap, len, "sha256:%s%.24s  %s-%u.%u.%u.tar.gz\n", h1, h1 + 16, w1, b % 5,
                   c % 20, a % 9);
        break;
    case 27:
        corpus_put(o, cap, len,
                   "SELECT id, %s, created_at FROM %s WHERE %s > %u AND created_at >= "
                   "'%u-%02u-%02u' ORDER BY id DESC LIMIT %u;\n",
                   id, w1, id, a, y, mo, d, b + 10);
        break;
    case 28:
        corpus_put(o, cap, len,
                   "Explain the difference between a %s and a %s in two sentences, with an "
                   "example that uses at most %u words. ",
                   w1, w2, b + 20);
        break;
    case 29:
        corpus_put(o, cap, len,
                   "[%u/%u] Compiling %s v%u.%u.%u\n[%u/%u] Linking target %s (%u.%u kB)\n", a % 50,
                   50u, w1, b % 3, c % 40, a % 10, a % 50 + 1, 50u, w2, a, b % 10);
        break;
    case 30:
        corpus_put(o, cap, len,
                   "if err := json.Unmarshal(body, &%s); err != nil {\n\treturn fmt.Errorf(\"%s: "
                   "decode %%w (%u bytes)\", err, len(body))\n}\n",
                   id, w1, a);
        break;
    case 31:
        corpus_put(o, cap, len,
                   "password_min_length: %u\npassword_max_age_days: %u\ntoken_ttl: %uh\n"
                   "secret_rotation: enabled\nmax_tokens: %u\n",
                   8 + b % 8, 30 + a % 60, 1 + b % 48, 256u << (b % 6));
        break;
    case 32:
        corpus_put(o, cap, len,
                   "Our support line is open %u:00-%u:00 on weekdays; ticket %s-%u was closed "
                   "after %u.%u hours. ",
                   8 + b % 3, 17 + b % 4, "OPS", a + 1000, b % 48, c % 10);
        break;
    case 33:
        corpus_put(o, cap, len,
                   "    at %s.%s (/srv/app/node_modules/%s/lib/index.js:%u:%u)\n    at "
                   "process.processTicksAndRejections (node:internal/process/task_queues:%u:%u)\n",
                   w1, w2, w1, a + 1, b + 1, 95u, 5u);
        break;
    case 34:
        corpus_put(o, cap, len,
                   "The %s scored %u/%u on the benchmark (p50 %u.%u ms, p99 %u ms); see table "
                   "%u.%u in section %u.%u.%u. ",
                   w1, a % 100, 100u, b, c % 10, a, b % 9 + 1, c % 9 + 1, b % 9 + 1, c % 9 + 1,
                   a % 9 + 1);
        break;
    case 35:
        corpus_put(o, cap, len,
                   "class %sRepository:\n    def __init__(self, session, secret_key=None):\n"
                   "        self.session = session\n        self.secret_key = secret_key or "
                   "settings.SECRET_KEY\n",
                   w1);
        break;
    case 36:
        corpus_put(o, cap, len,
                   "Phone interviews: %u scheduled, %u completed. The %s call moved to %u:%02u; "
                   "dial-in details are in the calendar invite. ",
                   b % 20, b % 10, w1, 9 + b % 8, c);
        break;
    case 37:
        corpus_put(o, cap, len,
                   "version: \"%u\"\nservices:\n  %s:\n    build: .\n    environment:\n      - "
                   "SECRET_KEY=${SECRET_KEY}\n      - PASSWORD=changeme\n    ports: [\"%u:%u\"]\n",
                   3u, w1, 3000 + a, 3000 + a);
        break;
    case 38:
        corpus_put(o, cap, len,
                   "Mean %u.%03u, median %u.%03u, std %u.%03u over n=%u samples (seed %u, "
                   "%u epochs, lr %u.%04u). ",
                   b, a, b, c, b % 10, a, a * 10 + b, a * 7919u, b % 50 + 1, 0u, a);
        break;
    /* Look-alikes of sensitive values that are not: versions, OIDs,
     * ISBNs, ranges, times, MAC addresses, decorators, package specs,
     * scp remotes, documentation keys and placeholders. */
    case 39:
        corpus_put(o, cap, len,
                   "Upgrade the agent to version %u.%u.%u.%u, then check OID 1.3.6.1.4.1.%u.%u.%u "
                   "and ISBN 978-%u-%02u-%06u-%u. ",
                   1 + b % 12, c % 10, a % 10, b % 10, a, b, c, b % 10, c, a * 997 % 1000000,
                   a % 10);
        break;
    case 40:
        corpus_put(o, cap, len,
                   "Read pages %u-%u and chapters %u.%u-%u.%u; the study covered %u-%u and "
                   "took 3-4 weeks (Form 1040-SR, W-2, ZIP %05u-%04u). ",
                   a, a + 20, b % 9 + 1, c % 9, b % 9 + 2, c % 9, 1990 + b % 20, 2000 + b % 20,
                   a * 97 % 100000, a * 31 % 10000);
        break;
    case 41:
        corpus_put(o, cap, len,
                   "The clip runs %02u:%02u:%02u.%03u; device %02x:%02x:%02x:%02x:%02x:%02x "
                   "joined at %02u:%02u:%02u. ",
                   b % 24, c, c, a, a & 0xff, b, c, (a * 7) & 0xff, (b * 3) & 0xff, c * 4, b % 24,
                   c, a % 60);
        break;
    case 42:
        corpus_put(o, cap, len,
                   "@app.route('/%s')\n@login_required\ndef %s():\n    return render('%s.html')\n"
                   "npm i lodash@4.17.%u @types/node@%u.%u.%u && ssh -T git@github.com\n"
                   "git clone git@github.com:acme/%s.git && git push user@localhost\n",
                   w1, w2, w1, a % 30, 18 + b % 4, c, a % 20, w2);
        break;
    case 43:
        corpus_put(o, cap, len,
                   "The docs use AKIAIOSFODNN7EXAMPLE as a sample key; set "
                   "OPENAI_API_KEY=${OPENAI_API_KEY}, password: <your-password-here>, api_key: "
                   "\"sk-xxxxxxxxxxxxxxxxxxxxxxxx\", token: {{ token }}, secret=changeme. ");
        break;
    case 44:
        corpus_put(o, cap, len,
                   "std::vector<std::string> %s; std::io::Result<()>; %s::%s::new(%u); "
                   "Foo::bar(); a ? b : c; x::y ",
                   id, w1, w2, a);
        break;
    case 45:
        corpus_put(o, cap, len,
                   "World population passed %u,%03u,%03u,%03u; the fund holds $%u,%03u,%03u.%02u "
                   "across %u accounts (ticket PROJ-%u, invoice %u-%05u). ",
                   8u, a, b * 9, c * 16, a, b * 7, c * 11, b, a + 10, a + 1000, y, a * 77);
        break;
    case 46:
        corpus_put(
            o, cap, len, "timestamp=%u%03u ts_ms=%u%03u%03u trace_id=%s span_id=%.16s seq=%u%06u\n",
            1700000000u + a * 9973, b, 1700000000u + a * 7919, b, c, h1, h1 + 3, a + 1, b * 10007);
        break;
    case 47:
        corpus_put(o, cap, len,
                   "\"integrity\": \"sha512-%s%s%.8s==\", \"resolved\": "
                   "\"https://registry.npmjs.org/%s/-/%s-%u.%u.%u.tgz\"\n",
                   h1, h1, h2, w1, w1, b % 5, c, a % 10);
        break;
    case 48:
        corpus_put(o, cap, len,
                   "The patient ID column is optional; the MRN field is validated on save. Date "
                   "of birth is shown in the header. She was born in %u and moved in %u. The "
                   "password: must be at least %u characters. ",
                   1950 + b % 50, 1990 + c % 30, 8 + b % 8);
        break;
    case 49:
        corpus_put(o, cap, len,
                   "Coordinates %u.%04u N, %u.%04u W; elevation %u m; grid ref %u %u %u. ", b % 90,
                   a * 10, c + 60, a * 7 % 10000, a * 3, a + 100, b * 10, c * 100);
        break;
    case 50:
        corpus_put(o, cap, len, "| %s | %u | %u.%u%% | %u ms |\n| %s | %u | %u.%u%% | %u ms |\n",
                   w1, a, b, c % 10, a * 3, w2, a * 2 + 1, c, b % 10, b * 5);
        break;
    case 51:
        corpus_put(o, cap, len,
                   "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx and sk_test_4eC39HqLyjWDarjtT1zdp7dc "
                   "are placeholders in the README; replace <token> with your own. ");
        break;
    default:
        corpus_put(o, cap, len,
                   "Write a short %s about %s and %s, in the style of a %s memo, under %u "
                   "words. ",
                   CORPUS_PICK(r, corpus_words), w1, w2, CORPUS_PICK(r, corpus_words), b * 10 + 50);
        break;
    }
}

/* Fills <o> with about <target> bytes of clean prompt text (at most
 * <cap> - 1), NUL-terminated; returns the length. Every snippet kind is
 * equally likely, which makes the text far denser in numbers, keywords
 * and look-alikes than real prompts: a stress test for false positives. */
static size_t corpus_prompt(corpus_rng *r, char *o, size_t cap, size_t target)
{
    size_t len = 0;
    o[0] = '\0';
    while (len < target && len + 1 < cap)
        corpus_snippet(r, o, cap, &len);
    return len;
}

/* Sentences of the kind most prompts are made of: instructions and
 * pasted prose, without numbers. */
static const char *const corpus_prose[] = {
    "Please review the attached proposal and suggest improvements to its structure. ",
    "Summarise the following meeting notes for someone who missed the call. ",
    "The committee agreed that the new process should be piloted in one region first. ",
    "Rewrite the paragraph below in a friendlier tone, keeping it short. ",
    "Our customers have asked for clearer invoices and faster responses from support. ",
    "Explain the trade-offs between caching at the edge and caching in the application. ",
    "The report highlights three risks: vendor lock-in, rising costs and staff turnover. ",
    "Draft a polite reply declining the invitation but offering to help next quarter. ",
    "What are the main arguments for and against moving the team to a four-day week? ",
    "She noted that the migration went smoothly, although the rollback plan was never tested. ",
    "Translate the following text into Spanish and keep the formatting unchanged. ",
    "List the assumptions behind this forecast and say which ones are the weakest. ",
    "The design review raised concerns about accessibility on smaller screens. ",
    "Write unit tests for the function below, covering the error paths as well. ",
    "Compare these two approaches and recommend one, with a short justification. ",
    "The board asked for a plain-language summary of the security audit findings. ",
    "Help me structure a blog post about lessons learned from our last incident. ",
    "Each team should own its services end to end, including on-call and documentation. ",
    "Can you find the bug in this code? It fails when the input list is empty. ",
    "The vendor confirmed that the fix will ship with the next maintenance release. ",
};

/* Prompts shaped like typical traffic: prose with code, logs and
 * configuration mixed in (three snippets in five are prose sentences, about
 * half the bytes). Used for throughput, where the stress mix above would
 * understate it. */
static size_t corpus_typical_prompt(corpus_rng *r, char *o, size_t cap, size_t target)
{
    size_t len = 0;
    o[0] = '\0';
    while (len < target && len + 1 < cap) {
        if (corpus_below(r, 5) < 3)
            corpus_put(o, cap, &len, "%s", CORPUS_PICK(r, corpus_prose));
        else
            corpus_snippet(r, o, cap, &len);
    }
    return len;
}

#endif
