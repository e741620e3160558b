/*
 * An attacking guest (tests/boot/attacks.sh): one attack, named by the
 * Multiboot command line ("attack=NAME"), run beside heartbeat victims
 * (guest/tests/heartbeat.c).  It alternates phases on the TSC, which
 * nethv gives every VM unoffset, so the victims' windows line up with them:
 *
 *   atk: idle T        spinning, no exits: the victims' reference rate
 *   atk: attack NAME T the attack
 *   atk: end T         (T = TSC >> 10)
 *   atk: done NAME made N UNIT [, extra]
 *
 * Attacks (each counts what it did, so that the test knows it was made):
 *   db_storm     TF kept set by the #DB handler: a #DB after every
 *                instruction -- with #DB intercepted, one exit each
 *   wbinvd       WBINVD in a loop
 *   state_write  DR0-DR3 set to patterns (DR7 off) and IA32_SPEC_CTRL to
 *                every bit CPUID offers, with an IBPB through PRED_CMD on
 *                each check: the heartbeat on this CPU must still read 0 in
 *                its own; this guest checks that its values survive the
 *                neighbour's turns.  Where CPUID offers no SPEC_CTRL, its
 *                reads must raise #GP
 *   lapic_storm  LAPIC timer periodic with initial count 1 (PC platform)
 *   pit_storm    PIT channel 0 rate generator with reload 1, its IRQ 0 through
 *                IOAPIC pin 2 (nethv's MADT override; PC platform)
 *   ipi_storm    fixed self-IPIs through the ICR as fast as it can (PC)
 *   console_flood  lines full of terminal escape sequences, as fast as it
 *                can: nethv must show them escaped and drop what is over
 *                the VM's console rate, saying how much
 */
#include "../lib/guest.h"

static unsigned phase_shift = 24;      /* the heartbeat's window: "shift=N" */
#define LAPIC       0xfee00000u

static uint64_t rdtsc64(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

static char attack[32];

/* the TSC rate, measured against PIT channel 2 over 10 ms (the PC platform;
 * nethv's PIT counts at 1.193182 MHz in guest time) */
static uint64_t tsc_hz_guess(void)
{
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);     /* channel 2 gate on, speaker off */
    outb(0x43, 0xb0);                           /* channel 2, lo/hi, mode 0 */
    outb(0x42, 11932 & 0xff);
    outb(0x42, 11932 >> 8);
    uint64_t t0 = rdtsc64();
    for (uint32_t i = 0; i < 100000000u && !(inb(0x61) & 0x20); i++)
        ;
    return (rdtsc64() - t0) * 100;
}
static uint32_t phase_windows = 40;

static bool word_is(const char *c, const char *k, const char **val)
{
    unsigned i = 0;
    while (k[i] && c[i] == k[i])
        i++;
    if (k[i])
        return false;
    *val = c + i;
    return true;
}

static void parse_cmdline(uint32_t magic, uint32_t mbi)
{
    if (magic != 0x2badb002u || !(*(volatile uint32_t *)mbi & (1u << 2)))
        return;
    for (const char *c = (const char *)*(volatile uint32_t *)(mbi + 16); *c; c++) {
        const char *v;
        if (word_is(c, "attack=", &v)) {
            unsigned i = 0;
            while (v[i] && v[i] != ' ' && i < sizeof(attack) - 1) {
                attack[i] = v[i];
                i++;
            }
            attack[i] = 0;
        } else if (word_is(c, "shift=", &v)) {
            uint32_t n = 0;
            for (; *v >= '0' && *v <= '9'; v++)
                n = n * 10 + (uint32_t)(*v - '0');
            if (n >= 16 && n <= 34)
                phase_shift = n;
        } else if (word_is(c, "windows=", &v)) {
            uint32_t n = 0;
            for (; *v >= '0' && *v <= '9'; v++)
                n = n * 10 + (uint32_t)(*v - '0');
            if (n)
                phase_windows = n;
        }
    }
}

static bool streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static uint64_t phase_end;
static volatile uint32_t count;

/* ---- db_storm ---- */
static void on_db(struct guest_frame *f)
{
    count++;
    if (rdtsc64() >= phase_end)
        f->eflags &= ~0x100u;           /* the phase is over: stop stepping */
    else
        f->eflags |= 0x100u;
}

static void db_storm(void)
{
    set_handler(1, on_db);
    __asm__ volatile("pushfl; orl $0x100, (%%esp); popfl" ::: "memory");
    while (rdtsc64() < phase_end)
        __asm__ volatile("nop");
    __asm__ volatile("pushfl; andl $~0x100, (%%esp); popfl" ::: "memory");
}

/* ---- wbinvd ---- */
static void wbinvd_loop(void)
{
    while (rdtsc64() < phase_end) {
        __asm__ volatile("wbinvd" ::: "memory");
        count++;
    }
}

/* ---- state_write ---- */
static const uint32_t dr_pat[4] = { 0x11111110u, 0x22222220u, 0x33333330u, 0x44444440u };
static uint32_t dr_lost, spec_lost, spec_bits, spec_gp, spec_read_ok;

/* RDMSR/WRMSR that fault resume after themselves (2 bytes) */
static void on_gp(struct guest_frame *f)
{
    spec_gp++;
    f->eip += 2;
}

static void state_write(void)
{
    __asm__ volatile("mov %0, %%dr0; mov %1, %%dr1; mov %2, %%dr2; mov %3, %%dr3"
                     :: "r"(dr_pat[0]), "r"(dr_pat[1]), "r"(dr_pat[2]), "r"(dr_pat[3]));
    spec_bits = spec_ctrl_offered();
    set_handler(13, on_gp);
    if (spec_bits)
        __asm__ volatile("wrmsr" :: "c"(MSR_SPEC_CTRL), "a"(spec_bits), "d"(0) : "memory");
    while (rdtsc64() < phase_end) {
        uint32_t d0, d3, lo = 0xdead, hi = 0;
        __asm__ volatile("mov %%dr0, %0; mov %%dr3, %1" : "=r"(d0), "=r"(d3));
        if (d0 != dr_pat[0] || d3 != dr_pat[3])
            dr_lost++;
        uint32_t gp = spec_gp;
        __asm__ volatile("rdmsr" : "+a"(lo), "+d"(hi) : "c"(MSR_SPEC_CTRL) : "memory");
        if (spec_gp == gp)
            spec_read_ok++;
        if (spec_bits && (spec_gp != gp || lo != spec_bits || hi))
            spec_lost++;
        if (spec_bits & 1)              /* IBRS offered: so is IBPB */
            __asm__ volatile("wrmsr" :: "c"(MSR_PRED_CMD), "a"(1), "d"(0) : "memory");
        count++;
    }
    __asm__ volatile("mov %0, %%dr0; mov %0, %%dr1; mov %0, %%dr2; mov %0, %%dr3" :: "r"(0));
    if (spec_bits)
        __asm__ volatile("wrmsr" :: "c"(MSR_SPEC_CTRL), "a"(0), "d"(0) : "memory");
}

/* ---- lapic_storm ---- */
static void on_timer(struct guest_frame *f)
{
    count++;
    mmio_write32(LAPIC + 0xb0, 0);      /* EOI */
}

static void lapic_storm(void)
{
    set_handler(48, on_timer);
    mmio_write32(LAPIC + 0xf0, (1u << 8) | 0xff);      /* SVR: enabled */
    mmio_write32(LAPIC + 0x3e0, 0xb);                  /* divide by 1 */
    mmio_write32(LAPIC + 0x320, 48 | (1u << 17));      /* periodic, vector 48 */
    mmio_write32(LAPIC + 0x380, 1);                    /* initial count 1 */
    __asm__ volatile("sti");
    while (rdtsc64() < phase_end)
        __asm__ volatile("pause");
    __asm__ volatile("cli");
    mmio_write32(LAPIC + 0x380, 0);
    mmio_write32(LAPIC + 0x320, 1u << 16);             /* masked */
}

/* ---- pit_storm ---- */
#define IOAPIC 0xfec00000u

static void ioapic_write(unsigned reg, uint32_t v)
{
    mmio_write32(IOAPIC, reg);
    mmio_write32(IOAPIC + 0x10, v);
}

static void on_irq0(struct guest_frame *f)
{
    count++;
    mmio_write32(LAPIC + 0xb0, 0);      /* EOI */
}

static void pit_storm(void)
{
    set_handler(32, on_irq0);
    mmio_write32(LAPIC + 0xf0, (1u << 8) | 0xff);
    ioapic_write(0x10 + 2 * 2 + 1, 0);  /* pin 2: to APIC ID 0 */
    ioapic_write(0x10 + 2 * 2, 32);     /* fixed, edge, vector 32, unmasked */
    outb(0x43, 0x34);                   /* channel 0, lo/hi, rate generator */
    outb(0x40, 1);
    outb(0x40, 0);
    __asm__ volatile("sti");
    while (rdtsc64() < phase_end)
        __asm__ volatile("pause");
    __asm__ volatile("cli");
    ioapic_write(0x10 + 2 * 2, 1u << 16);
    outb(0x43, 0x30);                   /* channel 0, mode 0: no more edges */
}

/* ---- ipi_storm ---- */
static void on_ipi(struct guest_frame *f)
{
    count++;
    mmio_write32(LAPIC + 0xb0, 0);
}

static void ipi_storm(void)
{
    set_handler(64, on_ipi);
    mmio_write32(LAPIC + 0xf0, (1u << 8) | 0xff);
    __asm__ volatile("sti");
    while (rdtsc64() < phase_end)
        mmio_write32(LAPIC + 0x300, (1u << 18) | 64);  /* fixed, self */
    __asm__ volatile("cli");
}

/* ---- console_flood ---- */
static void console_flood(void)
{
    while (rdtsc64() < phase_end) {
        /* clear screen, cursor home, bell, set the window title */
        puts_("flood \x1b[2J\x1b[H\x07\x1b]0;pwned\x07 0123456789abcdef0123456789abcdef\n");
        count++;
    }
}

static const struct {
    const char *name, *unit;
    void (*run)(void);
} attacks[] = {
    { "db_storm", "single-step #DBs", db_storm },
    { "wbinvd", "WBINVDs", wbinvd_loop },
    { "state_write", "DR and SPEC_CTRL checks", state_write },
    { "lapic_storm", "timer interrupts", lapic_storm },
    { "pit_storm", "PIT interrupts", pit_storm },
    { "ipi_storm", "self-IPIs taken", ipi_storm },
    { "console_flood", "lines", console_flood },
};

int guest_main(uint32_t magic, uint32_t mbi)
{
    outb(0x21, 0xff);                   /* 8259s masked (a BIOS may leave IRQ 0 on) */
    outb(0xa1, 0xff);
    idt_install();
    parse_cmdline(magic, mbi);
    unsigned a = 0;
    while (a < sizeof(attacks) / sizeof(attacks[0]) && !streq(attacks[a].name, attack))
        a++;
    if (a == sizeof(attacks) / sizeof(attacks[0])) {
        print("atk: FAIL unknown attack '%s'\n", attack);
        return 2;
    }
    uint64_t w = 1ull << phase_shift;
    uint64_t t = (rdtsc64() >> phase_shift << phase_shift) + w;
    while (rdtsc64() < t)
        ;
    print("atk: idle %u\n", (uint32_t)(t >> 10));
    phase_end = t + phase_windows * w;
    while (rdtsc64() < phase_end)
        ;
    print("atk: attack %s %u\n", attacks[a].name, (uint32_t)(phase_end >> 10));
    phase_end += phase_windows * w;
    count = 0;
    attacks[a].run();
    uint64_t end = rdtsc64();
    if (attacks[a].run == console_flood) {
        /* the flood emptied this VM's console allowance (config/attack.dts:
         * 256 bytes/s): 2 s of quiet refill it for the lines below */
        uint64_t hz = tsc_hz_guess();
        while (rdtsc64() < end + 2 * hz)
            __asm__ volatile("pause");
    }
    print("atk: end %u\n", (uint32_t)(end >> 10));
    if (attacks[a].run == state_write) {
        if (dr_lost)
            print("atk: FAIL state_write: this guest's own DR0/DR3 changed %u times\n", dr_lost);
        if (spec_lost)
            print("atk: FAIL state_write: this guest's own SPEC_CTRL (%x) was lost %u times\n",
                  spec_bits, spec_lost);
        if (!spec_bits && spec_read_ok)
            print("atk: FAIL state_write: SPEC_CTRL not offered, yet %u reads did not fault\n",
                  spec_read_ok);
        print("atk: SPEC_CTRL bits offered %x, reads refused %u\n", spec_bits, spec_gp);
    }
    print("atk: done %s made %u %s\n", attacks[a].name, count, attacks[a].unit);
    return 0;
}
