/* Host tests: Multiboot2 information -> boot_info (boot/multiboot2.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../../boot/multiboot2.c"

struct mbi_builder { uint8_t buf[4096] __attribute__((aligned(8))); uint32_t len; };

static void *tag(struct mbi_builder *b, uint32_t type, uint32_t size)
{
    uint8_t *t = b->buf + b->len;
    memcpy(t, &type, 4);
    memcpy(t + 4, &size, 4);
    b->len += (size + 7) & ~7u;
    return t;
}

static void start(struct mbi_builder *b) { memset(b, 0, sizeof(*b)); b->len = 8; }
static void finish(struct mbi_builder *b) { tag(b, MB2_TAG_END, 8); memcpy(b->buf, &b->len, 4); }

static void add_string(struct mbi_builder *b, uint32_t type, const char *s)
{
    uint8_t *t = tag(b, type, 8 + (uint32_t)strlen(s) + 1);
    strcpy((char *)t + 8, s);
}

static void put_module(struct mbi_builder *b, uint32_t start_addr, uint32_t end_addr, const char *name)
{
    uint8_t *t = tag(b, MB2_TAG_MODULE, 16 + (uint32_t)strlen(name) + 1);
    memcpy(t + 8, &start_addr, 4);
    memcpy(t + 12, &end_addr, 4);
    strcpy((char *)t + 16, name);
}

static void put_mmap(struct mbi_builder *b, const struct mb2_mmap_entry *e, unsigned n)
{
    uint8_t *t = tag(b, MB2_TAG_MMAP, 16 + n * 24);
    uint32_t esz = 24, ever = 0;
    memcpy(t + 8, &esz, 4);
    memcpy(t + 12, &ever, 4);
    memcpy(t + 16, e, n * 24);
}

static void test_full(void **s)
{
    static struct mbi_builder b;
    static struct boot_info bi;
    const char *why;
    struct mb2_mmap_entry mm[] = {
        { 0x100000, 0x7ee0000, MB2_MEM_AVAILABLE, 0 },
        { 0, 0x9fc00, MB2_MEM_AVAILABLE, 0 },          /* out of order: sorted */
        { 0x7fe0000, 0x20000, 2, 0 },                   /* reserved */
        { 0xfffc0000, 0x40000, 99, 0 },                 /* unknown: reserved */
        { 0x8000000, 0, MB2_MEM_AVAILABLE, 0 },         /* empty: dropped */
    };
    start(&b);
    add_string(&b, MB2_TAG_CMDLINE, "exit=poweroff foo");
    add_string(&b, MB2_TAG_LOADER_NAME, "GRUB 2.06");
    put_module(&b, 0x200000, 0x201000, "/boot/nethv/config.dtb");
    put_module(&b, 0x300000, 0x300010, "vmlinuz");
    put_mmap(&b, mm, 5);
    uint8_t *acpi = tag(&b, MB2_TAG_ACPI_NEW, 8 + 36);
    memcpy(acpi + 8, "RSD PTR ", 8);
    finish(&b);
    assert_int_equal(mb2_to_bootinfo(b.buf, sizeof(b.buf), &bi, &why), 0);
    assert_string_equal(bi.cmdline, "exit=poweroff foo");
    assert_string_equal(bi.loader, "GRUB 2.06");
    assert_int_equal(bi.nmod, 2);
    assert_string_equal(bi.mod[0].name, "config.dtb");
    assert_int_equal(bi.mod[0].base, 0x200000);
    assert_int_equal(bi.mod[0].len, 0x1000);
    assert_string_equal(bi.mod[1].name, "vmlinuz");
    assert_int_equal(bi.nmem, 4);
    assert_int_equal(bi.mem[0].base, 0);
    assert_int_equal(bi.mem[0].type, BOOT_MEM_USABLE);
    assert_int_equal(bi.mem[1].base, 0x100000);
    assert_int_equal(bi.mem[2].type, BOOT_MEM_RESERVED);
    assert_int_equal(bi.mem[3].type, BOOT_MEM_RESERVED);
    assert_int_equal(bi.rsdp_len, 36);
    assert_memory_equal(bi.rsdp, "RSD PTR ", 8);
    assert_int_equal(bi.magic, BOOT_INFO_MAGIC);
}

static void test_malformed(void **s)
{
    static struct mbi_builder b;
    static struct boot_info bi;
    const char *why;

    start(&b);                                   /* no end tag */
    add_string(&b, MB2_TAG_CMDLINE, "x");
    memcpy(b.buf, &b.len, 4);
    assert_int_not_equal(mb2_to_bootinfo(b.buf, sizeof(b.buf), &bi, &why), 0);
    assert_string_equal(why, "no end tag");

    start(&b);                                   /* tag overruns the total */
    uint8_t *t = tag(&b, MB2_TAG_CMDLINE, 16);
    uint32_t big = 4000;
    memcpy(t + 4, &big, 4);
    finish(&b);
    assert_int_not_equal(mb2_to_bootinfo(b.buf, sizeof(b.buf), &bi, &why), 0);

    start(&b);                                   /* total larger than readable */
    finish(&b);
    assert_int_not_equal(mb2_to_bootinfo(b.buf, 8, &bi, &why), 0);
    assert_int_not_equal(mb2_to_bootinfo(b.buf, b.len - 1, &bi, &why), 0);

    start(&b);                                   /* module end before start */
    put_module(&b, 0x2000, 0x1000, "m");
    finish(&b);
    assert_int_not_equal(mb2_to_bootinfo(b.buf, sizeof(b.buf), &bi, &why), 0);
    assert_string_equal(why, "bad module tag");

    start(&b);                                   /* zero-size tag must not loop */
    tag(&b, 77, 0);
    b.len += 8;                                  /* keep it: finish() appends after */
    finish(&b);
    assert_int_not_equal(mb2_to_bootinfo(b.buf, sizeof(b.buf), &bi, &why), 0);
}

static void test_limits(void **s)
{
    static struct mbi_builder b;
    static struct boot_info bi;
    const char *why;
    char longname[200];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;

    start(&b);
    put_module(&b, 0x1000, 0x2000, longname);   /* truncated, NUL-terminated */
    for (int i = 0; i < BOOT_MAX_MOD; i++)
        put_module(&b, 0x1000, 0x2000, "m");
    finish(&b);
    assert_int_not_equal(mb2_to_bootinfo(b.buf, sizeof(b.buf), &bi, &why), 0);
    assert_string_equal(why, "too many modules");
    assert_int_equal(strlen(bi.mod[0].name), BOOT_MOD_NAME - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
