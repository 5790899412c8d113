/*
 * startup: how long a server takes from exec to its first good answer, and
 * how much memory it holds once idle.
 *
 *   startup --port P [--path /readyz] [--status 200] [--body FILE]
 *           [-H 'K: V']... [--hold-ms 1000] [--timeout-ms 10000] [--log FILE]
 *           -- CMD ARGS...
 *
 * Takes the time, forks and execs CMD in its own process group, then every
 * millisecond connects to 127.0.0.1:P and sends one request (GET PATH, or
 * POST PATH with the body of FILE), until the answer's status is --status
 * (0: any status, i.e. the first answered request). CMD's stdout and stderr
 * go to --log (default /dev/null). Then it waits --hold-ms
 * with the server idle, sums VmRSS over the process and all its descendants
 * (nginx's workers), stops the process group with SIGTERM (SIGKILL after 5 s)
 * and prints one JSON line:
 *   {"ready_us":..,"attempts":..,"rss_kb":..,"anon_kb":..,"processes":..,"status":..}
 * or {"error":".."} with exit status 1.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void fail(const char *msg, const char *arg)
{
    printf("{\"error\":\"%s%s\"}\n", msg, arg ? arg : "");
    exit(1);
}

/* One request; returns the HTTP status, or -1 when nothing answered. */
static int probe(int port, const char *req, size_t req_len)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int status = -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto out;
    for (size_t off = 0; off < req_len;) {
        ssize_t n = write(fd, req + off, req_len - off);
        if (n <= 0)
            goto out;
        off += (size_t)n;
    }
    /* The status line is in the first bytes; wait at most 2 s for them. */
    char buf[64];
    size_t got = 0;
    while (got < 12) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 2000) <= 0)
            goto out;
        ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            goto out;
        got += (size_t)n;
    }
    buf[got] = 0;
    if (strncmp(buf, "HTTP/1.", 7) == 0)
        status = atoi(buf + 9);
out:
    close(fd);
    return status;
}

/* VmRSS (kB) of <root> and every process descended from it; <*anon>, the
 * part that is the processes' own (RssAnon: heap, stacks, private data),
 * not pages of shared libraries that every process mapping them shares. */
static long tree_rss(pid_t root, int *nprocs, long *anon)
{
    enum { MAXP = 4096 };
    static pid_t pids[MAXP], ppids[MAXP];
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d)) && n < MAXP) {
        pid_t p = (pid_t)atoi(e->d_name);
        if (p <= 0)
            continue;
        char path[64], line[512];
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)p);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(line, sizeof(line), f)) {
            char *c = strrchr(line, ')');
            int pp;
            if (c && sscanf(c + 2, "%*c %d", &pp) == 1) {
                pids[n] = p;
                ppids[n++] = (pid_t)pp;
            }
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    /* Descendants, breadth first over the table. */
    static pid_t tree[MAXP];
    int nt = 0;
    tree[nt++] = root;
    for (int i = 0; i < nt; i++)
        for (int j = 0; j < n && nt < MAXP; j++)
            if (ppids[j] == tree[i])
                tree[nt++] = pids[j];
    long kb = 0;
    *anon = 0;
    for (int i = 0; i < nt; i++) {
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)tree[i]);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        while (fgets(line, sizeof(line), f)) {
            long v;
            if (sscanf(line, "VmRSS: %ld", &v) == 1)
                kb += v;
            else if (sscanf(line, "RssAnon: %ld", &v) == 1)
                *anon += v;
        }
        fclose(f);
    }
    *nprocs = nt;
    return kb;
}

static void stop(pid_t pid)
{
    kill(-pid, SIGTERM);
    for (int i = 0; i < 500; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        usleep(10000);
    }
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    int port = 0, want = 200;
    long hold_ms = 1000, timeout_ms = 10000;
    const char *path = "/readyz", *body_file = NULL, *log = "/dev/null";
    char headers[4096] = "";
    size_t hl = 0;
    int i = 1;
    while (i < argc) { /* options come in pairs until "--" */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (!v)
            fail("missing value for ", a);
        if (strcmp(a, "--port") == 0)
            port = atoi(v);
        else if (strcmp(a, "--path") == 0)
            path = v;
        else if (strcmp(a, "--status") == 0)
            want = atoi(v);
        else if (strcmp(a, "--body") == 0)
            body_file = v;
        else if (strcmp(a, "--log") == 0)
            log = v;
        else if (strcmp(a, "--hold-ms") == 0)
            hold_ms = atol(v);
        else if (strcmp(a, "--timeout-ms") == 0)
            timeout_ms = atol(v);
        else if (strcmp(a, "-H") == 0) {
            int n = snprintf(headers + hl, sizeof(headers) - hl, "%s\r\n", v);
            if (n < 0 || (size_t)n >= sizeof(headers) - hl)
                fail("too many headers", NULL);
            hl += (size_t)n;
        } else
            fail("unknown option ", a);
        i += 2;
    }
    if (port <= 0 || i >= argc)
        fail("usage: startup --port P [--path P] [--status S] [--body F] [-H H]... "
             "[--hold-ms N] [--timeout-ms N] -- CMD ARGS...",
             NULL);

    char body[65536];
    size_t blen = 0;
    if (body_file) {
        FILE *f = fopen(body_file, "rb");
        if (!f)
            fail("cannot open ", body_file);
        blen = fread(body, 1, sizeof(body), f);
        fclose(f);
    }
    static char req[sizeof(body) + 8192];
    int rl = snprintf(req, sizeof(req) - blen,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n%s"
                      "Content-Length: %zu\r\n%s\r\n",
                      body_file ? "POST" : "GET", path, port, headers, blen,
                      body_file ? "Content-Type: application/json\r\n" : "");
    if (rl < 0 || (size_t)rl >= sizeof(req) - blen)
        fail("request too large", NULL);
    memcpy(req + rl, body, blen);
    size_t req_len = (size_t)rl + blen;

    signal(SIGPIPE, SIG_IGN);
    uint64_t t0 = now_us();
    pid_t pid = fork();
    if (pid < 0)
        fail("fork failed", NULL);
    if (pid == 0) {
        setpgid(0, 0);
        /* The server's own output (Portkey's spinner) stays out of ours. */
        int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (lfd >= 0) {
            dup2(lfd, 1);
            dup2(lfd, 2);
        }
        execvp(argv[i], argv + i);
        _exit(127);
    }
    setpgid(pid, pid);
    long attempts = 0;
    int status = -1;
    uint64_t ready = 0;
    for (uint64_t next = t0;; next += 1000) {
        uint64_t t = now_us();
        if (t < next)
            usleep((useconds_t)(next - t));
        attempts++;
        status = probe(port, req, req_len);
        if (status > 0 && (want == 0 || status == want)) {
            ready = now_us() - t0;
            break;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid)
            fail("the process exited before it was ready", NULL);
        if (now_us() - t0 > (uint64_t)timeout_ms * 1000u) {
            stop(pid);
            fail("not ready within the timeout", NULL);
        }
    }
    usleep((useconds_t)hold_ms * 1000u);
    int nprocs = 0;
    long anon = 0;
    long rss = tree_rss(pid, &nprocs, &anon);
    stop(pid);
    printf("{\"ready_us\":%llu,\"attempts\":%ld,\"status\":%d,\"rss_kb\":%ld,\"anon_kb\":%ld,"
           "\"processes\":%d}\n",
           (unsigned long long)ready, attempts, status, rss, anon, nprocs);
    return 0;
}
