/*
 * nethv-cfgcheck DTB [DTS]: check a configuration blob with the kernel's own
 * parser (user/config.c).  On success print the summary and exit 0; on
 * error print "file.dts:LINE: node /vms/a: property 'memory': message" and
 * exit 1.  LINE comes from dtc's annotated output (dtc -T -T), which tags
 * every node and property with its source position (includes too).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nethv/config.h>

struct srcpos {
    char file[256];
    int  line;                  /* 0: not found */
};

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16, n = 0;
    char *buf = NULL;

    if (!f)
        return NULL;
    for (;;) {
        char *nb = realloc(buf, cap);

        if (!nb)
            break;
        buf = nb;
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap || cap > CONFIG_DTB_MAX)
            break;
        cap *= 2;
    }
    if (ferror(f) || !buf) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

/* Run `dtc -T -T` on the DTS; its stdout, or NULL. */
static FILE *annotated_dts(const char *dts, pid_t *pid)
{
    int fd[2];

    if (pipe(fd) < 0)
        return NULL;
    *pid = fork();
    if (*pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return NULL;
    }
    if (*pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(fd[1], 1);
        if (null >= 0)
            dup2(null, 2);
        close(fd[0]);
        close(fd[1]);
        execlp("dtc", "dtc", "-q", "-I", "dts", "-O", "dts", "-T", "-T", dts, (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    return fdopen(fd[0], "r");
}

/* "... /\* file:LINE:COL-..." -> pos; cuts the comment off `s`. */
static void take_annotation(char *s, struct srcpos *pos)
{
    char *c = strstr(s, " /* "), *colon;

    pos->line = 0;
    if (!c)
        return;
    *c = '\0';
    c += 4;
    colon = strchr(c, ':');
    if (!colon || (size_t)(colon - c) >= sizeof(pos->file))
        return;
    memcpy(pos->file, c, (size_t)(colon - c));
    pos->file[colon - c] = '\0';
    pos->line = atoi(colon + 1);
}

/* First token of `s` that is not a label ("lbl:"); its length in *n. */
static const char *first_name(const char *s, size_t *n)
{
    for (;;) {
        s += strspn(s, " \t");
        *n = strcspn(s, " \t=;{");
        if (*n == 0 || s[*n - 1] != ':')
            return s;
        s += *n;
    }
}

/*
 * Position of property `prop` of node `node` (prop "" or absent: the node's
 * own line).  Missing nodes fall back to their closest ancestor.
 */
static int find_pos(FILE *f, const char *node, const char *prop, struct srcpos *out)
{
    char path[1024] = "", *line = NULL;
    size_t cap = 0, best = 0;
    int found_prop = 0;

    out->line = 0;
    while (getline(&line, &cap, f) > 0) {
        struct srcpos pos;
        size_t n, plen = strlen(path);
        char *s = line + strspn(line, " \t");
        const char *name;

        s[strcspn(s, "\n")] = '\0';
        take_annotation(s, &pos);
        if (!strncmp(s, "/dts-v1/", 8) || !strncmp(s, "/memreserve/", 12) || !*s)
            continue;
        if (!strncmp(s, "};", 2)) {                     /* node end */
            char *slash = strrchr(path, '/');

            if (slash)
                *slash = '\0';
            continue;
        }
        name = first_name(s, &n);
        if (s[strlen(s) - 1] == '{') {                  /* node start */
            if (!(n == 1 && name[0] == '/') && plen + n + 2 < sizeof(path))
                snprintf(path + plen, sizeof(path) - plen, "/%.*s", (int)n, name);
            plen = strlen(path);
            /* deepest ancestor-or-self of `node` seen so far */
            if ((plen == 0 || (!strncmp(node, path, plen) &&
                               (node[plen] == '/' || node[plen] == '\0'))) &&
                plen + 1 > best && !found_prop) {
                best = plen + 1;
                *out = pos;
            }
        } else if (prop && *prop && !strcmp(path, node) && strlen(prop) == n &&
                   !strncmp(name, prop, n)) {
            *out = pos;
            found_prop = 1;
        }
    }
    free(line);
    return out->line ? 0 : -1;
}

static void locate(const char *dts, const struct config_error *err, struct srcpos *pos)
{
    pid_t pid;
    FILE *f = annotated_dts(dts, &pid);
    int status;

    pos->line = 0;
    if (!f)
        return;
    find_pos(f, err->node[0] ? err->node : "/", err->prop, pos);
    fclose(f);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
}

static void print_line(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

int main(int argc, char **argv)
{
    struct config_error err;
    static struct nethv_config cfg;
    struct srcpos pos = { .line = 0 };
    size_t len;
    void *dtb;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DTB [DTS]\n", argv[0]);
        return 2;
    }
    dtb = read_file(argv[1], &len);
    if (!dtb) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    if (config_parse(dtb, len, &cfg, &err) == 0) {
        config_print(&cfg, print_line);
        free(dtb);
        return 0;
    }
    if (argc == 3 && err.node[0])
        locate(argv[2], &err, &pos);
    if (pos.line)
        fprintf(stderr, "%s:%d: ", pos.file, pos.line);
    else
        fprintf(stderr, "%s: ", argc == 3 ? argv[2] : argv[1]);
    if (err.node[0])
        fprintf(stderr, "node %s: ", err.node);
    if (err.prop[0])
        fprintf(stderr, "property '%s': ", err.prop);
    fprintf(stderr, "%s\n", err.msg);
    free(dtb);
    return 1;
}
