/*
 * The Multiboot1 information nethv's loader builds: boot magic, flags, the
 * command line (bootargs) and the one module (the VM's initrd, a small text
 * file).  The command line says what to expect: "NAME TEXT...", the first
 * word being the module's name and the rest the module's contents (without
 * the trailing newline).  config/guest-tests.dts, VM "mbinfo".
 */
#include "../lib/guest.h"

#define MB1_BOOT_MAGIC  0x2badb002u
#define MBI_MEM         (1u << 0)
#define MBI_CMDLINE     (1u << 2)
#define MBI_MODS        (1u << 3)

struct mb1_info {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
};
struct mb1_module { uint32_t start, end, string, reserved; };

extern char _end[];

static uint32_t slen(const char *s) { uint32_t n = 0; while (s[n]) n++; return n; }
static bool same(const char *a, const char *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

int guest_main(uint32_t magic, uint32_t mbi_gpa)
{
    const volatile struct mb1_info *mbi = (const volatile struct mb1_info *)mbi_gpa;
    CHECK(magic == MB1_BOOT_MAGIC, "boot magic %x", magic);
    uint32_t flags = mbi->flags;
    print("flags: %x\n", flags);
    CHECK(flags & MBI_MEM, "no memory info (flags %x)", flags);
    CHECK(flags & MBI_CMDLINE, "no command line (flags %x)", flags);
    CHECK(flags & MBI_MODS, "no modules (flags %x)", flags);
    uint32_t top = 0x100000 + mbi->mem_upper * 1024;

    const char *cmd = (const char *)mbi->cmdline;
    print("cmdline: %s\n", cmd);
    uint32_t name_len = 0;
    while (cmd[name_len] && cmd[name_len] != ' ')
        name_len++;
    CHECK(cmd[name_len] == ' ' && cmd[name_len + 1], "command line is not \"NAME TEXT\"");
    const char *want_text = cmd + name_len + 1;
    uint32_t want_len = slen(want_text);

    CHECK(mbi->mods_count == 1, "mods_count %u, want 1", mbi->mods_count);
    const volatile struct mb1_module *m = (const volatile struct mb1_module *)mbi->mods_addr;
    uint32_t start = m->start, end = m->end;
    const char *name = (const char *)m->string;
    print("module at %x-%x, string at %x\n", start, end, m->string);
    CHECK(end > start, "empty module %x-%x", start, end);
    CHECK((start & 0xfff) == 0, "module not page-aligned: %x", start);
    CHECK(start >= (uint32_t)_end, "module %x overlaps the kernel (ends %x)", start, (uint32_t)_end);
    CHECK(end <= top, "module end %x beyond RAM (%x)", end, top);
    CHECK(name != 0, "module has no string");

    /* the contents, up to 255 bytes, trailing newlines dropped */
    char text[256];
    uint32_t n = end - start < sizeof(text) ? end - start : sizeof(text) - 1;
    for (uint32_t i = 0; i < n; i++)
        text[i] = ((const volatile char *)start)[i];
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    text[n] = 0;
    print("module %s: %s\n", name, text);

    CHECK(slen(name) == name_len && same(name, cmd, name_len), "module name is not the command line's first word");
    CHECK(n == want_len && same(text, want_text, n), "module contents differ from the command line's text");
    print("PASS: mbinfo\n");
    return 0;
}
