/* Host tests: the MOV-to-CR4 rules both backends enforce (arch/x86_64/cr4.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "../../arch/x86_64/cr4.c"

/* CPUID as nethv gives a PC guest on a typical host: leaf 1 with XSAVE,
 * VMX and SMX hidden; leaf 7 with FSGSBASE, SMEP, SMAP, and ECX cleared */
#define L1_EDX  (CPUID1_EDX_VME | CPUID1_EDX_DE | CPUID1_EDX_PSE | CPUID1_EDX_TSC | CPUID1_EDX_PAE | \
                 CPUID1_EDX_MCE | CPUID1_EDX_PGE | CPUID1_EDX_FXSR | CPUID1_EDX_SSE)
#define L1_ECX  (CPUID1_ECX_PCID)
#define L7_EBX  (CPUID7_EBX_FSGSBASE | CPUID7_EBX_SMEP | CPUID7_EBX_SMAP)
#define LONG_CR0 (CR0_PE | CR0_PG | CR0_WP)
#define LONG_EFER (EFER_LME | EFER_LMA)

static void allowed_follows_cpuid(void **state)
{
    uint64_t a = cr4_guest_allowed(L1_ECX, L1_EDX, L7_EBX, 0, 0);
    assert_true(a & CR4_PAE);
    assert_true(a & CR4_PGE);
    assert_true(a & CR4_PCE);               /* no CPUID bit: always */
    assert_true(a & CR4_PCIDE);
    assert_true(a & CR4_SMEP);
    assert_false(a & CR4_OSXSAVE);          /* no XSAVE in this CPUID */
    assert_false(a & CR4_VMXE);
    assert_false(a & CR4_SMXE);
    assert_false(a & CR4_PKE);              /* leaf 7 ECX cleared */
    assert_false(a & CR4_LA57);
    assert_false(a & CR4_UMIP);
    assert_false(a & CR4_CET);
    assert_false(a & (1ull << 15));         /* reserved */
    assert_false(a >> 25);
    /* CET comes with either CET_SS or CET_IBT; PKE with PKU; OSXSAVE with XSAVE */
    assert_true(cr4_guest_allowed(0, 0, 0, CPUID7_ECX_CET_SS, 0) & CR4_CET);
    assert_true(cr4_guest_allowed(0, 0, 0, 0, CPUID7_EDX_CET_IBT) & CR4_CET);
    assert_true(cr4_guest_allowed(0, 0, 0, CPUID7_ECX_PKU, 0) & CR4_PKE);
    assert_true(cr4_guest_allowed(CPUID1_ECX_XSAVE, 0, 0, 0, 0) & CR4_OSXSAVE);
}

static void write_rules(void **state)
{
    uint64_t a = cr4_guest_allowed(L1_ECX, L1_EDX, L7_EBX, 0, 0);
    uint64_t base = CR4_PAE | CR4_PGE | CR4_OSFXSR;
    assert_null(cr4_write_check(base, base | CR4_SMEP, a, LONG_CR0, 0x1000, LONG_EFER));
    assert_non_null(cr4_write_check(base, base | CR4_OSXSAVE, a, LONG_CR0, 0x1000, LONG_EFER));
    assert_non_null(cr4_write_check(base, base | CR4_PKE, a, LONG_CR0, 0x1000, LONG_EFER));
    assert_non_null(cr4_write_check(base, base | (1ull << 15), a, LONG_CR0, 0x1000, LONG_EFER));
    /* PAE stays on in long mode; may go off outside it */
    assert_non_null(cr4_write_check(base, base & ~CR4_PAE, a, LONG_CR0, 0x1000, LONG_EFER));
    assert_null(cr4_write_check(base, base & ~CR4_PAE, a, CR0_PE, 0x1000, 0));
    /* PCIDE: long mode and CR3[11:0] = 0 to turn it on */
    assert_null(cr4_write_check(base, base | CR4_PCIDE, a, LONG_CR0, 0x1000, LONG_EFER));
    assert_non_null(cr4_write_check(base, base | CR4_PCIDE, a, LONG_CR0, 0x1001, LONG_EFER));
    assert_non_null(cr4_write_check(base, base | CR4_PCIDE, a, CR0_PE | CR0_PG, 0x1000, 0));
    assert_null(cr4_write_check(base | CR4_PCIDE, base | CR4_PCIDE, a, LONG_CR0, 0x1005, LONG_EFER));
    /* LA57 cannot change in long mode; CET needs CR0.WP */
    uint64_t all = ~0ull;
    assert_non_null(cr4_write_check(base, base | CR4_LA57, all, LONG_CR0, 0, LONG_EFER));
    assert_null(cr4_write_check(base, base | CR4_LA57, all, CR0_PE, 0, 0));
    assert_non_null(cr4_write_check(base, base | CR4_CET, all, LONG_CR0 & ~CR0_WP, 0, LONG_EFER));
    assert_null(cr4_write_check(base, base | CR4_CET, all, LONG_CR0, 0, LONG_EFER));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allowed_follows_cpuid),
        cmocka_unit_test(write_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
