/*
 * seam's command line: serve, check and route. Each command loads the
 * configuration the same way, so `seam check` accepts exactly what
 * `seam serve` accepts.
 */
#include "config/config.h"
#include "core/jsonbuf.h"
#include "core/version.h"
#include "core/buf.h"
#include "core/log.h"
#include "http/server.h"
#include "ledger/report.h"
#include "obs/audit_cli.h"
#include "policy/explain.h"
#include "scan/cli.h"
#include "scan/scan.h"
#include "upstream/inspect.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: seam serve [-c FILE]            run the gateway (default ./seam.yaml)\n"
               "       seam check [-c FILE]            validate a configuration and print it\n"
               "       seam check [-c FILE] --probe [--json]\n"
               "                                       also ask each backend's server what it\n"
               "                                       serves; exit 1 when one is unreachable\n"
               "                                       or disagrees with the file\n"
               "       seam route [-c FILE] [--json] [TASKS.jsonl|-]\n"
               "                                       decide routes without the network\n"
               "       seam scan [-c FILE] [--json] [--show-values] [FILE|-]\n"
               "       seam scan [-c FILE] --jsonl FILE|- [--show-values]\n"
               "                                       run the sensitive-data detector\n"
               "       seam audit verify [DIR] [--anchor HASH] [-c FILE]\n"
               "                                       check the audit log's hash chain\n"
               "       seam audit query [DIR] [--since T] [--until T] [--where F=V]...\n"
               "                        [--format json|table] [--count] [-c FILE]\n"
               "                                       filter audit lines (DIR: audit.dir)\n"
               "       seam report [-c FILE] [--db FILE] [--since T] [--until T]\n"
               "                   [--by tenant|backend|rule|day] [--format table|json|csv]\n"
               "                                       costs, savings, break-even (ledger)\n"
               "       seam version\n");
}

static seam_config *load(const char *path)
{
    seam_config *cfg = NULL;
    char err[512];
    if (seam_config_load(path, &cfg, err, sizeof(err)) != SEAM_OK) {
        fprintf(stderr, "seam: %s\n", err);
        return NULL;
    }
    return cfg;
}

/* Each streamed request holds two descriptors (client and backend): a
 * server takes the whole allowance the system grants it, not the shell's
 * default soft limit. */
static void raise_fd_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) != 0)
            seam_log_warn("cannot raise the open-file limit to %llu: %s",
                          (unsigned long long)r.rlim_max, strerror(errno));
    }
}

static int cmd_serve(const char *path)
{
    seam_config *cfg = load(path);
    if (!cfg)
        return 2;
    char err[512];
    seam_scanner *scanner = NULL;
    if (cfg->detect.enabled && seam_scanner_new(cfg, &scanner, err, sizeof(err)) != SEAM_OK) {
        fprintf(stderr, "seam: %s\n", err);
        seam_config_free(cfg);
        return 2;
    }
    evthread_use_pthreads();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    raise_fd_limit();
    seam_rc rc = seam_server_run(cfg, scanner, err, sizeof(err));
    if (rc != SEAM_OK)
        seam_log_error("%s", err);
    curl_global_cleanup();
    seam_scanner_free(scanner);
    seam_config_free(cfg);
    libevent_global_shutdown();
    return rc == SEAM_OK ? 0 : 1;
}

/* Seconds each probe call may take: a backend that does not answer a model
 * list in that time would not serve a request either. */
#define CHECK_PROBE_TIMEOUT_MS 3000L

/* `seam check --probe`: each backend's server against the file. Exit 0 when
 * every backend answered and agrees, 1 when one is unreachable, failed or
 * disagrees (a WARN line each). */
static int check_probe(const seam_config *cfg, bool json)
{
    json_t *all = json ? json_array() : NULL;
    size_t reachable = 0, problems = 0, warnings = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (!json)
        printf("probing %zu backend%s (%ld ms per call)\n", cfg->nbackends,
               cfg->nbackends == 1 ? "" : "s", CHECK_PROBE_TIMEOUT_MS);
    for (size_t i = 0; i < cfg->nbackends; i++) {
        json_t *r = seam_inspect_backend(&cfg->backends[i], CHECK_PROBE_TIMEOUT_MS);
        if (!r) {
            fprintf(stderr, "seam: out of memory\n");
            json_decref(all);
            curl_global_cleanup();
            return 2;
        }
        reachable += json_is_true(json_object_get(r, "reachable"));
        problems += seam_inspect_has_problem(r);
        warnings += json_array_size(json_object_get(r, "warnings"));
        if (json) {
            json_array_append_new(all, r);
        } else {
            seam_inspect_print(r, stdout);
            json_decref(r);
        }
        fflush(stdout);
    }
    curl_global_cleanup();
    if (json) {
        json_t *doc = json_pack("{s:s, s:b, s:o}", "config", cfg->path ? cfg->path : "", "ok",
                                problems == 0, "backends", all);
        char *s = doc ? seam_json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
        json_decref(doc);
        if (!s) {
            fprintf(stderr, "seam: out of memory\n");
            return 2;
        }
        printf("%s\n", s);
        free(s);
    } else {
        printf("%zu of %zu backend%s reachable, %zu warning%s: %s\n", reachable, cfg->nbackends,
               cfg->nbackends == 1 ? "" : "s", warnings, warnings == 1 ? "" : "s",
               problems ? "check the lines above" : "configuration and servers agree");
    }
    return problems ? 1 : 0;
}

static int cmd_check(const char *path, bool probe, bool json)
{
    seam_config *cfg = load(path);
    if (!cfg)
        return 2;
    /* The detectors compile as part of checking: a bad custom pattern is a
     * configuration error, reported here rather than at start-up. */
    char err[512];
    seam_scanner *scanner = NULL;
    if (cfg->detect.enabled && seam_scanner_new(cfg, &scanner, err, sizeof(err)) != SEAM_OK) {
        fprintf(stderr, "seam: %s\n", err);
        seam_config_free(cfg);
        return 2;
    }
    int status = 0;
    if (probe) {
        if (!json)
            printf("%s: configuration is valid\n", path);
        status = check_probe(cfg, json);
    } else {
        printf("%s: configuration is valid\n", path);
        seam_config_print(cfg, stdout);
    }
    seam_scanner_free(scanner);
    seam_config_free(cfg);
    return status;
}

static int cmd_route(const char *path, const char *input, bool json)
{
    seam_config *cfg = load(path);
    if (!cfg)
        return 2;
    char err[512];
    seam_scanner *scanner = NULL;
    if (cfg->detect.enabled && seam_scanner_new(cfg, &scanner, err, sizeof(err)) != SEAM_OK) {
        fprintf(stderr, "seam: %s\n", err);
        seam_config_free(cfg);
        return 2;
    }
    seam_scan_scratch *scratch = scanner ? seam_scan_scratch_new(scanner) : NULL;
    FILE *in = stdin;
    if (input && strcmp(input, "-") != 0 && !(in = fopen(input, "r"))) {
        perror(input);
        seam_scan_scratch_free(scratch);
        seam_scanner_free(scanner);
        seam_config_free(cfg);
        return 2;
    }
    int bad = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    seam_buf out;
    seam_buf_init(&out, (size_t)-1);
    while ((n = getline(&line, &cap, in)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        if (n == 0)
            continue;
        if (seam_policy_route_line(cfg, scanner, scratch, line, (size_t)n, json, &out) != SEAM_OK)
            bad++;
        fwrite(out.data, 1, out.len, stdout);
        seam_buf_reset(&out);
        fflush(stdout);
    }
    seam_buf_free(&out);
    free(line);
    if (in != stdin)
        fclose(in);
    seam_scan_scratch_free(scratch);
    seam_scanner_free(scanner);
    seam_config_free(cfg);
    return bad ? 1 : 0;
}

/* `seam scan` takes its own options (see scan/cli.h); only -c is read
 * here. Without -c and without ./seam.yaml it runs on the built-in
 * detector defaults, so it works before any configuration exists. */
static int cmd_scan(int argc, char **argv)
{
    const char *path = NULL;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0, status;
    seam_config *cfg = NULL;
    if (!rest)
        return 2;
    for (int i = 0; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else
            rest[nrest++] = argv[i];
    }
    FILE *probe = path ? NULL : fopen("seam.yaml", "r");
    if (probe) {
        fclose(probe);
        path = "seam.yaml";
    }
    if (path && !(cfg = load(path))) {
        free(rest);
        return 2;
    }
    status = seam_scan_cli(cfg, nrest, rest, stdout, stderr);
    seam_config_free(cfg);
    free(rest);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "scan") == 0)
        return cmd_scan(argc - 2, argv + 2);
    if (strcmp(argv[1], "audit") == 0)
        return seam_audit_cli(argc - 2, argv + 2, stdout, stderr);
    if (strcmp(argv[1], "report") == 0)
        return seam_report_cli(argc - 2, argv + 2, stdout, stderr);
    const char *cmd = argv[1], *path = "seam.yaml", *input = NULL;
    bool json = false, probe = false;
    for (int i = 2; i < argc; i++) {
        if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
            path = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(cmd, "check") == 0 && strcmp(argv[i], "--probe") == 0)
            probe = true;
        else if (strcmp(cmd, "route") == 0 && !input && (argv[i][0] != '-' || !argv[i][1]))
            input = argv[i];
        else {
            fprintf(stderr, "seam: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(path);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(path, probe, json);
    if (strcmp(cmd, "route") == 0)
        return cmd_route(path, input, json);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("seam %s\n", SEAM_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "seam: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
