/* The kernel command line: space-separated words and key=value pairs. */
#include <string.h>
#include <nethv/kernel.h>

static char cmdline[BOOT_CMDLINE];

void cmdline_set(const char *s);
void cmdline_set(const char *s)
{
    strncpy(cmdline, s, sizeof(cmdline) - 1);
}

/* Find word `w` (or `w=`); returns a pointer to the char after it. */
static const char *find(const char *w, bool want_value)
{
    size_t wl = strlen(w);
    for (const char *p = cmdline; *p;) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if ((size_t)(end - p) >= wl && !strncmp(p, w, wl)) {
            if (want_value ? p[wl] == '=' : p + wl == end)
                return p + wl;
        }
        p = end;
    }
    return NULL;
}

const char *cmdline_get(const char *key, char *buf, size_t cap)
{
    const char *v = find(key, true);
    if (!v || cap == 0)
        return NULL;
    v++;
    size_t n = 0;
    while (v[n] && v[n] != ' ' && n + 1 < cap)
        n++;
    memcpy(buf, v, n);
    buf[n] = 0;
    return buf;
}

bool cmdline_has(const char *word)
{
    return find(word, false) != NULL;
}
