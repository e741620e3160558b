#!/bin/sh
# Regenerate tests/host/decode_cases.h: instruction lengths according to GNU
# binutils, the cross-check of vmm/decode.c run by test_decode.c.
#
#   tests/host/gen_decode_cases.sh [OUTPUT]      (default tests/host/decode_cases.h)
#
# Needs as, objdump (binutils; 2.40 made the checked-in file) and perl.
# Two sources, for each of 64-, 32- and 16-bit code:
#  1. a list of instructions (written below, plus an operand cross product
#     for the MMIO instructions) assembled with `as`, disassembled with
#     objdump: one case per instruction with bytes, length and text;
#  2. a pseudo-random byte stream (fixed seed, biased towards prefixes,
#     escapes, VEX/EVEX/XOP and ModRM/SIB forms) disassembled by objdump:
#     every offset objdump decodes gets its length.
# Lines objdump can't decode ("(bad)", .byte) and lines that are only
# prefixes (objdump shows a REX voided by a later prefix, or prefixes beyond
# 15 bytes, on a line of their own) are left out.  64-bit code is
# disassembled with -M intel64: Intel's rules where AMD's differ.
set -eu
out=${1:-tests/host/decode_cases.h}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- 1. instruction lists ------------------------------------------------------
# Shared by 32- and 64-bit code (AT&T syntax).
cat > "$tmp/common.s" <<'EOF'
cpuid
hlt
rdmsr
wrmsr
vmmcall
vmcall
vmlaunch
vmresume
vmxoff
vmrun
vmload
vmsave
stgi
clgi
skinit
invd
wbinvd
xsetbv
xgetbv
rdtsc
rdtscp
rdpmc
pause
monitor
mwait
clts
invlpg (%eax)
invlpg 0x10(%esp)
invlpga
lgdt (%eax)
lidt 0x1234(%ebx)
sgdt (%ecx)
lmsw %ax
smsw %eax
ltr %ax
lldt %ax
rdpkru
wrpkru
xsave (%eax)
xsaves (%eax)
xrstor (%eax)
fxsave (%eax)
rdrand %eax
rdseed %ax
ud2
ud1 (%eax),%eax
int3
int $0x80
int1
iret
iretw
sysenter
sysexit
rsm
in $0x60,%al
in $0x60,%ax
in $0x60,%eax
in (%dx),%al
in (%dx),%ax
in (%dx),%eax
out %al,$0x80
out %ax,$0x80
out %eax,$0x80
out %al,(%dx)
out %ax,(%dx)
out %eax,(%dx)
insb
insw
insl
outsb
outsw
outsl
rep insb
rep insw
rep insl
rep outsb
rep outsw
rep outsl
fs outsb
rep fs outsl
enter $0x10,$0
enter $0x1234,$3
leave
ret
ret $8
ret $0x1234
lret
lret $0x10
push $1
push $0x12345678
pushw $0x1234
jmp *(%eax)
call *0x10(%ebx,%esi,4)
ljmp *(%eax)
lcall *0x8(%ebx)
xbegin .+0x100
xabort $0x5
xend
xtest
nop
nopw 0x0(%eax,%eax,1)
nopl 0x12345678(%eax)
lock addl $1,(%eax)
lock cmpxchg %ecx,(%ebx)
lock xadd %eax,(%ecx)
cmpxchg8b (%eax)
bswap %eax
bt %eax,(%ebx)
btsl $5,(%ebx)
btrl $31,0x10(%ecx)
shld $4,%eax,(%ebx)
shrd %cl,%eax,(%ebx)
imul $0x12,%eax,%ebx
imul $0x12345678,(%eax),%ebx
imul $0x1234,%ax,%bx
shl $3,%al
shr %cl,%eax
roll (%eax)
sarl $7,0x10(%ebx)
mul %ecx
divl (%eax)
cmovne (%eax),%ecx
sete (%eax)
movnti %eax,(%ebx)
popcnt (%eax),%ecx
lzcnt %eax,%ecx
tzcnt (%eax),%ecx
crc32b (%eax),%ecx
crc32l %eax,%ecx
movbe (%eax),%ecx
movbe %cx,(%eax)
adcx %eax,%ecx
adox (%eax),%ecx
lea 0x10(%eax,%ebx,2),%ecx
movd %eax,%mm0
movq %mm0,%mm1
paddb %mm1,%mm0
pshufw $0x1b,%mm0,%mm1
psrlw $3,%mm0
movaps %xmm0,%xmm1
movups (%eax),%xmm1
movdqa %xmm0,0x10(%eax)
movdqu 0x10(%eax),%xmm7
movss (%eax),%xmm0
movsd %xmm0,(%eax)
addps %xmm1,%xmm0
addpd 0x12(%ebx),%xmm3
cmpps $3,%xmm1,%xmm0
cmpsd $1,(%eax),%xmm0
shufps $0x44,%xmm1,%xmm0
pshufd $0x1b,(%eax),%xmm0
pshuflw $0x1b,%xmm1,%xmm0
pshufhw $0x1b,%xmm1,%xmm0
pinsrw $3,%eax,%xmm0
pextrw $3,%xmm0,%eax
psrldq $4,%xmm0
pslld $4,%xmm1
cvtsi2sd %eax,%xmm0
cvttss2si (%eax),%eax
ldmxcsr (%eax)
stmxcsr 0x4(%eax)
lfence
mfence
sfence
clflush (%eax)
clflushopt (%eax)
clwb (%eax)
prefetcht0 (%eax)
prefetchw (%eax)
pshufb %xmm1,%xmm0
pshufb (%eax),%mm0
palignr $4,%xmm1,%xmm0
phaddd (%eax),%xmm0
pblendvb %xmm0,%xmm1,%xmm2
ptest %xmm1,%xmm0
pmovzxbw (%eax),%xmm0
pminsd %xmm1,%xmm0
roundps $1,%xmm1,%xmm0
roundsd $4,(%eax),%xmm0
blendps $5,%xmm1,%xmm0
pextrb $1,%xmm0,%eax
pextrd $1,%xmm0,(%eax)
pinsrd $1,(%eax),%xmm0
insertps $0x10,%xmm1,%xmm0
extractps $1,%xmm0,%eax
dpps $0xff,%xmm1,%xmm0
mpsadbw $0,%xmm1,%xmm0
pcmpestri $0,%xmm1,%xmm0
pcmpistrm $0x40,(%eax),%xmm0
pclmulqdq $0x11,%xmm1,%xmm0
aesenc %xmm1,%xmm0
aesdeclast (%eax),%xmm0
aeskeygenassist $1,%xmm1,%xmm0
sha1rnds4 $3,%xmm1,%xmm0
sha256rnds2 %xmm0,%xmm1,%xmm2
sha1msg1 %xmm1,%xmm0
gf2p8affineqb $1,%xmm1,%xmm0
extrq $4,$8,%xmm0
extrq %xmm1,%xmm0
insertq $4,$8,%xmm1,%xmm0
insertq %xmm1,%xmm0
pfadd %mm1,%mm0
pfmul (%eax),%mm0
pi2fd 0x10(%eax),%mm2
femms
emms
vzeroupper
vzeroall
vaddps %ymm2,%ymm1,%ymm0
vaddps (%eax),%xmm1,%xmm0
vmovdqu 0x20(%eax),%ymm0
vmovdqa %ymm0,(%eax)
vpxor %xmm2,%xmm1,%xmm0
vpshufd $0x1b,%ymm1,%ymm0
vpsrlq $4,%ymm1,%ymm0
vcmpps $1,%ymm2,%ymm1,%ymm0
vpermq $0x1b,%ymm1,%ymm0
vperm2i128 $0x20,%ymm2,%ymm1,%ymm0
vinserti128 $1,(%eax),%ymm1,%ymm0
vextractf128 $1,%ymm0,(%eax)
vblendvps %xmm3,%xmm2,%xmm1,%xmm0
vbroadcastss (%eax),%ymm0
vpbroadcastd %xmm0,%ymm1
vpgatherdd %xmm2,(%eax,%xmm1,4),%xmm0
vfmadd231ps %ymm2,%ymm1,%ymm0
vfmadd132sd (%eax),%xmm1,%xmm0
vcvtph2ps %xmm1,%ymm0
vcvtps2ph $0,%ymm1,(%eax)
vpclmulqdq $0,%xmm2,%xmm1,%xmm0
vaesenc %ymm2,%ymm1,%ymm0
vpmaskmovd (%eax),%ymm1,%ymm0
vldmxcsr (%eax)
vmovd %eax,%xmm0
vpextrw $1,%xmm0,%eax
vpinsrd $1,%eax,%xmm1,%xmm0
andn %eax,%ebx,%ecx
andn (%eax),%ebx,%ecx
bextr %eax,%ebx,%ecx
blsi %eax,%ebx
blsr (%eax),%ebx
bzhi %eax,%ebx,%ecx
pdep %eax,%ebx,%ecx
pext (%eax),%ebx,%ecx
mulx %eax,%ebx,%ecx
rorx $3,%eax,%ebx
rorx $3,(%eax),%ebx
sarx %eax,%ebx,%ecx
shlx %eax,(%ebx),%ecx
kmovw %k1,%k2
kmovw %eax,%k1
kandw %k1,%k2,%k3
kortestw %k1,%k2
kshiftlw $3,%k1,%k2
vaddps %zmm2,%zmm1,%zmm0
vaddps %zmm2,%zmm1,%zmm0{%k1}{z}
vaddps (%eax){1to16},%zmm1,%zmm0
vaddps 0x40(%eax),%zmm1,%zmm0
vaddps 0x44(%eax),%zmm1,%zmm0
vaddps 0x1000(%eax),%zmm1,%zmm0
vmovdqu64 %zmm0,(%eax)
vmovdqu8 0x40(%eax),%zmm1
vpternlogd $0xff,%zmm2,%zmm1,%zmm0
vpermt2d %zmm2,%zmm1,%zmm0
vshufps $0x44,%zmm2,%zmm1,%zmm0
vpshufd $0x1b,%zmm1,%zmm0
vpsrlq $4,%zmm1,%zmm0
vcmpps $1,%zmm2,%zmm1,%k1
vextracti32x4 $1,%zmm0,%xmm1
vinserti64x4 $1,(%eax),%zmm1,%zmm0
vpgatherdd (%eax,%zmm1,4),%zmm0{%k1}
vscatterdps %zmm0,0x40(%eax,%zmm1,4){%k1}
vcvtps2ph $0,%zmm1,(%eax)
vpcompressd %zmm0,(%eax){%k1}
vaddps {rn-sae},%zmm2,%zmm1,%zmm0
vaddph %zmm2,%zmm1,%zmm0
vaddph 0x40(%eax),%zmm1,%zmm0
vfmadd132ph %zmm2,%zmm1,%zmm0
vgetmantph $1,%zmm1,%zmm0
vaddsh %xmm2,%xmm1,%xmm0
vcvtph2psx %ymm1,%zmm0
vprotb $1,%xmm1,%xmm0
vprotd %xmm2,%xmm1,%xmm0
vpcmov %xmm3,%xmm2,%xmm1,%xmm0
vpcomb $3,%xmm2,%xmm1,%xmm0
vfrczps %xmm1,%xmm0
vphaddbd (%eax),%xmm0
bextr $0x1234,%eax,%ebx
bextr $0x1234,(%eax),%ebx
blcfill %eax,%ebx
tzmsk (%eax),%ebx
llwpcb %eax
lwpins $0x12345678,%eax,%ebx
lwpval $1,(%eax),%ebx
flds (%eax)
fldl 0x10(%eax)
fstpt (%eax)
fnstsw %ax
fnstsw (%eax)
fadd %st(1),%st
fiaddl (%eax)
fldcw (%eax)
fnsave (%eax)
fxch
fsqrt
fldz
EOF

# 64-bit only
cat > "$tmp/only64.s" <<'EOF'
syscall
sysret
sysretq
swapgs
rdfsbase %rax
wrgsbase %r10
invpcid (%rax),%rax
invept (%rax),%rax
invvpid 0x10(%rax),%rax
vmptrld (%rax)
vmclear (%rax)
vmxon (%rax)
vmread %rax,%rbx
vmwrite (%rax),%rbx
mov %cr0,%rax
mov %cr3,%r15
mov %rax,%cr4
mov %r8,%cr8
mov %cr8,%rax
mov %db7,%rax
mov %rax,%db0
movabs $0x1122334455667788,%rax
movabs $0x1122334455667788,%r15
mov $0x12345678,%eax
mov $0x1234,%ax
mov $0x12,%r9b
movabs 0x1122334455667788,%al
movabs 0x1122334455667788,%ax
movabs 0x1122334455667788,%eax
movabs 0x1122334455667788,%rax
movabs %al,0x1122334455667788
movabs %rax,0x1122334455667788
addr32 mov 0x12345678,%al
addr32 mov %eax,0x12345678
mov 0x10(%rip),%eax
mov %eax,0x12345678(%rip)
movl $0x12345678,0x10(%rip)
movb $0x12,0x10(%rip)
addr32 mov 0x10(%eip),%eax
lea 0x10(%rip),%rax
jmp *0x10(%rip)
call *(%rax)
call *%r11
push %r12
pop %r13
push $-1
pushq $0x12345678
pushw $0x1234
lcall *(%rax)
rex.W lcall *(%rax)
ljmp *0x10(%rax)
iretq
lretq
cmpxchg16b (%rax)
movsxd %eax,%rax
movslq (%rax),%rcx
movsxd (%rax),%ecx
movsxd (%rax),%cx
crc32q (%rax),%rcx
popcnt %rax,%r9
lock addq $1,(%r13)
xchg %rax,%r8
xchg %eax,%eax
movq %rax,%xmm0
movq %xmm15,%r15
pinsrq $1,(%rax),%xmm8
pextrq $1,%xmm8,%r9
vpextrq $1,%xmm8,%r9
vpinsrq $1,%r9,%xmm9,%xmm10
vaddps %ymm15,%ymm14,%ymm13
vaddps (%r13,%r14,8),%ymm14,%ymm13
vpgatherqq %ymm2,(%r8,%ymm9,8),%ymm10
vaddps %zmm31,%zmm30,%zmm29
vaddps 0x40(%r15,%r14,2),%zmm30,%zmm29{%k7}
vpternlogq $0x11,(%rax,%r14,8){1to8},%zmm30,%zmm29
andn %r8,%r9,%r10
shlx %r8,(%r9),%r10
bextr $0x1234,%r8,%r9
rorx $63,%rax,%r15
kmovq %k1,%rax
tileloadd (%rax,%rbx,1),%tmm0
tdpbssd %tmm2,%tmm1,%tmm0
ldtilecfg (%rax)
enqcmd (%rax),%rax
movdir64b (%rax),%rax
movdiri %rax,(%rbx)
uiret
clui
senduipi %rax
tpause %eax
umwait %eax
umonitor %rax
serialize
endbr64
rdsspq %rax
incsspq %rax
wrssq %rax,(%rbx)
rdpid %rax
ptwrite %rax
xsaveopt64 (%rax)
xrstors64 (%rax)
fxrstor64 (%rax)
EOF

# 32-bit only
cat > "$tmp/only32.s" <<'EOF'
push %eax
pop %ebx
mov %cr0,%eax
mov %eax,%cr3
mov %cr4,%ebx
mov %db7,%eax
mov %eax,%db6
mov $0x12345678,%eax
mov $0x1234,%ax
mov 0x12345678,%al
mov 0x12345678,%eax
mov %ax,0x12345678
mov %eax,0x12345678
addr16 mov 0x1234,%al
addr16 mov %eax,0x1234
mov (%bx,%si),%eax
mov 0x10(%bp,%di),%al
mov %ax,0x1234(%bx)
movl $0x12345678,(%bp)
movw $0x1234,(%bx,%si)
ljmp $0x10,$0x12345678
ljmpw $0x10,$0x1234
lcall $0x10,$0x12345678
lcallw $0x10,$0x1234
jmp .+0x1000
call .+0x1000
je .+0x1000
je .+0x10
loop .-0x10
jecxz .+0x10
jcxz .+0x10
pusha
popa
pushw %ds
pop %es
push %cs
daa
das
aaa
aas
aam
aad
aad $0x10
into
bound %eax,(%ebx)
arpl %ax,(%ebx)
les (%eax),%eax
lds (%eax),%bx
mov %ds,(%eax)
mov (%eax),%ss
xlat
lahf
sahf
cwtl
cltd
int1
endbr32
lock incl (%eax)
EOF

cat > "$tmp/only16.s" <<'EOF'
.code16
cpuid
hlt
rdmsr
wrmsr
vmmcall
vmcall
invd
xsetbv
mov %cr0,%eax
mov %eax,%cr0
mov (%bx,%si),%al
mov (%bx,%di),%ax
mov (%bp,%si),%eax
mov (%bp,%di),%bl
mov (%si),%cx
mov (%di),%dx
mov 0x1234,%ax
mov (%bx),%sp
mov 0x10(%bp),%al
mov -0x10(%bx,%si),%ax
mov 0x1234(%bp,%di),%ax
mov %ah,0x1234(%bx)
mov (%eax),%al
mov 0x12345678(%eax,%ebx,4),%ax
mov 0x10(%esp),%eax
mov (%ebp),%eax
mov 0x1234,%al
mov 0x1234,%ax
mov %ax,0x1234
addr32 mov 0x12345678,%al
addr32 mov %eax,0x12345678
movw $0x1234,(%bx)
movl $0x12345678,(%bx)
movb $0x12,0x1234(%bx)
movl $0x12345678,0x12345678(%eax)
addw $0x1234,(%bx)
addl $0x12345678,(%bx)
addw $0x12,(%bx)
add $0x12,%al
add $0x1234,%ax
add $0x12345678,%eax
testw $0x1234,(%bx)
testl $0x12345678,(%bx)
testb $0x12,(%bx)
notw (%bx)
mov $0x1234,%ax
mov $0x12345678,%eax
push $0x1234
pushl $0x12345678
push $-1
ljmp $0x1234,$0x5678
ljmpl $0x1234,$0x56789abc
lcall $0x1234,$0x5678
lcalll $0x1234,$0x56789abc
ljmp *(%bx)
ljmpl *(%bx)
lcall *0x10(%bx)
jmp .+0x1000
jmp .+0x10
call .+0x1000
calll .+0x1000
je .+0x1000
je .+0x10
data32 jmp .+0x100000
loop .-0x10
jcxz .+0x10
jecxz .+0x10
enter $0x10,$1
enterl $0x10,$1
ret $8
retl $8
lret $8
iret
iretl
int $0x10
in $0x60,%al
in (%dx),%ax
in (%dx),%eax
out %al,$0x80
out %eax,(%dx)
insb
insw
insl
rep outsb
rep outsw
rep outsl
rep movsb
rep movsw
rep movsl
rep stosb
rep stosl
addr32 rep movsb
lodsb
lodsw
lea 0x10(%bx,%si),%ax
les (%bx),%ax
lds (%bx),%eax
xlat
pusha
pushal
popa
bound %ax,(%bx)
aam
aad
daa
imul $0x1234,%ax,%bx
imul $0x12,(%bx),%ax
imul $0x12345678,%eax,%ebx
movzbw (%bx),%ax
movzbl (%bx),%eax
movsbw (%bx),%ax
movswl (%bx),%eax
xchg %ax,(%bx)
lgdt (%bx)
lgdtl (%bx)
lidt 0x1234
lmsw %ax
smsw (%bx)
movaps (%bx),%xmm0
pshufb (%bx,%si),%xmm0
pextrb $1,%xmm0,(%bx)
vaddps (%bx),%xmm1,%xmm0
vaddps %zmm2,%zmm1,%zmm0
vpshufd $1,0x10(%bx),%xmm0
xbegin .+0x100
flds (%bx)
fnstsw %ax
nopw (%bx,%si)
EOF

# MMIO instructions: a few on every memory operand form, all of them (with
# each register kind and immediate) on three forms.
perl -e '
my %mem = (
  64 => ["(%rax)", "0x8(%r13,%r14,4)", "0x40(%rip)", "(%rsp)", "(%rbp)", "0x10(%rbp)",
         "-0x80(%rax)", "0x12345678(%rax)", "(%r12)", "(%r13)", "(,%rax,8)", "0x1000(,%rcx,2)",
         "0x12345678", "%fs:0x10(%rax)", "(%eax)", "0x10(%r8d,%r9d,2)", "%gs:(%r15,%r12,1)",
         "(%rsp,%rbp,1)", "0x40(%eip)"],
  32 => ["(%eax)", "0x8(%ebp,%esi,4)", "(%bx,%si)", "(%esp)", "(%ebp)", "0x10(%ebp)",
         "-0x80(%eax)", "0x12345678(%eax)", "(,%eax,8)", "0x1000(,%ecx,2)", "0x12345678",
         "%es:0x10(%eax)", "0x10(%bp)", "0x1234", "%fs:(%esp,%ebp,1)", "-0x10(%bp,%di)"],
);
my %regs = (
  64 => [["b", "%al", "%ah", "%sil", "%r9b"], ["w", "%ax", "%r10w"], ["l", "%eax", "%r11d"],
         ["q", "%rax", "%r15"]],
  32 => [["b", "%al", "%ah", "%dh"], ["w", "%ax", "%si"], ["l", "%eax", "%edi"]],
);
my %imm = (b => ["\$0x12", "\$-1"], w => ["\$0x1234", "\$0x12"], l => ["\$0x12345678", "\$-2"],
           q => ["\$0x12345678", "\$-0x80"]);
for my $mode (64, 32) {
  open(my $f, ">", "'"$tmp"'/mmio$mode.s") or die;
  my $n = 0;
  for my $m (@{$mem{$mode}}) {
    print $f "mov %eax,$m\nmov $m,%cl\nmovb \$1,$m\naddl \$0x12345678,$m\nmovzbl $m,%eax\n";
    next if $n++ >= 3;
    for my $rs (@{$regs{$mode}}) {
      my ($sfx, @rr) = @$rs;
      for my $r (@rr) {
        next if $r =~ /%[a-d]h/ && $m =~ /%r(1[0-5]|[89])/;
        print $f "mov $r,$m\nmov $m,$r\nxchg $r,$m\ntest $r,$m\n";
        print $f "$_ $r,$m\n$_ $m,$r\n" for qw(add or adc sbb and sub xor cmp);
      }
      for my $i (@{$imm{$sfx}}) {
        print $f "$_$sfx $i,$m\n" for qw(mov add adc and cmp test);
      }
      print $f "$_$sfx $m\n" for qw(inc dec not neg);
    }
    print $f "movzbl $m,%eax\nmovzwl $m,%ecx\nmovsbl $m,%edx\nmovswl $m,%ebx\nmovzbw $m,%si\nmovsbw $m,%di\n";
    print $f "movzbq $m,%rax\nmovswq $m,%r9\nmovslq $m,%r10\nmovzbl $m,%r11d\n" if $mode == 64;
  }
  for my $s ("b", "w", "l", ($mode == 64 ? "q" : ())) {
    print $f "movs$s\nstos$s\nlods$s\nrep movs$s\nrep stos$s\nrep lods$s\naddr" .
             ($mode == 64 ? "32" : "16") . " rep movs$s\n";
  }
  close $f;
}'

# Disassemble: "MODE<TAB>HEXBYTES<TAB>TEXT" per decodable instruction.
disasm() {  # disasm MODE FILE ARGS...
    mode=$1; file=$2; shift 2
    objdump -d --insn-width=15 "$@" "$file" | perl -ne '
        next unless /^\s*[0-9a-f]+:\t([0-9a-f ]+?)\s*\t(.*?)\s*$/;
        my ($hex, $text) = ($1, $2);
        next if $text =~ /\(bad\)|^\.byte/;
        my @w = split /\s+/, $text;
        next unless grep { !/^(rex(\.[WRXB]+)?|data16|data32|addr16|addr32|lock|rep[a-z]*|[c-gs]s|bnd|notrack|xacquire|xrelease)$/ } @w;
        $hex =~ s/ //g;
        print "'"$mode"'\t$hex\t$text\n";'
}

as --64 -o "$tmp/l64.o" "$tmp/common.s" "$tmp/only64.s" "$tmp/mmio64.s" 2> "$tmp/as.log" ||
    { cat "$tmp/as.log" >&2; exit 1; }
as --32 -o "$tmp/l32.o" "$tmp/common.s" "$tmp/only32.s" "$tmp/mmio32.s" 2> "$tmp/as.log" ||
    { cat "$tmp/as.log" >&2; exit 1; }
as --32 -o "$tmp/l16.o" "$tmp/only16.s" 2> "$tmp/as.log" || { cat "$tmp/as.log" >&2; exit 1; }
{
    disasm 64 "$tmp/l64.o" -M intel64
    disasm 32 "$tmp/l32.o"
    disasm 16 "$tmp/l16.o" -M i8086
} > "$tmp/list.txt"

# ---- 2. pseudo-random streams --------------------------------------------------
perl -e '
my $seed = 20240611;
sub rnd { $seed = ($seed * 16807) % 2147483647; return $seed % $_[0]; }  # Park-Miller
my @pfx = (0x66, 0x66, 0x67, 0x67, 0xf3, 0xf2, 0xf0, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65);
for my $mode (64, 32, 16) {
  my $n = $mode == 16 ? 4096 : 8192;
  my @b;
  while (@b < $n) {
    push @b, $pfx[rnd(scalar @pfx)] for 1 .. (rnd(4) == 0 ? rnd(4) : 0);
    push @b, 0x40 + rnd(16) if $mode == 64 && rnd(3) == 0;
    my $k = rnd(100);
    my $top = $mode == 64 ? 0 : 0xc0;      # outside 64-bit mode VEX needs mod=11 bits
    if ($k < 40)    { push @b, rnd(256); }
    elsif ($k < 65) { push @b, 0x0f, rnd(256); }
    elsif ($k < 72) { push @b, 0x0f, 0x38, rnd(256); }
    elsif ($k < 78) { push @b, 0x0f, 0x3a, rnd(256); }
    elsif ($k < 84) { push @b, 0xc5, $top | rnd(256), rnd(256); }
    elsif ($k < 90) { push @b, 0xc4, $top | (rnd(8) << 5) | (1 + rnd(3)), rnd(256), rnd(256); }
    elsif ($k < 96) { my @m = (1, 2, 3, 5, 6);
                      push @b, 0x62, $top | (rnd(16) << 4) | $m[rnd(5)], (rnd(256) | 4), rnd(256), rnd(256); }
    else            { push @b, 0x8f, (rnd(8) << 5) | (8 + rnd(3)), rnd(256), rnd(256); }
    my $mod = rnd(4);
    push @b, ($mod << 6) | (rnd(3) == 0 ? (rnd(2) ? 4 : 5) : rnd(8)) << 0 | (rnd(8) << 3);
    push @b, rnd(256) for 1 .. 8;
  }
  splice @b, $n;
  open(my $f, ">:raw", "'"$tmp"'/r$mode.bin") or die;
  print $f pack("C*", @b);
  close $f;
}'
rstream() {  # rstream MODE FILE ARGS: C strings of the bytes and of the lengths
    mode=$1; file=$2; shift 2
    objdump -D --insn-width=15 -b binary "$@" "$file" | perl -e '
        my $mode = shift; my $file = shift;
        open(my $f, "<:raw", $file) or die; local $/; my $bin = <$f>; close $f;
        my @len = (".") x length($bin);
        $/ = "\n";
        while (<STDIN>) {
            next unless /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*?)\s*$/;
            my ($off, $hex, $text) = (hex($1), $2, $3);
            next if $text =~ /\(bad\)|^\.byte/;
            next unless grep { !/^(rex(\.[WRXB]+)?|data16|data32|addr16|addr32|lock|rep[a-z]*|[c-gs]s|bnd|notrack|xacquire|xrelease)$/ } split /\s+/, $text;
            my $n = () = $hex =~ /[0-9a-f]{2}/g;
            $len[$off] = sprintf("%x", $n);
        }
        print "static const char decode_stream$mode\[\] =\n";
        for (my $i = 0; $i < length($bin); $i += 48) {
            print "    \"", unpack("H*", substr($bin, $i, 48)), "\"\n";
        }
        print ";\nstatic const char decode_stream${mode}_len[] =\n";
        for (my $i = 0; $i < @len; $i += 96) {
            my $e = $i + 95 < $#len ? $i + 95 : $#len;
            print "    \"", join("", @len[$i .. $e]), "\"\n";
        }
        print ";\n";' "$mode" "$file"
}

# ---- output -------------------------------------------------------------------------
{
    echo "/* Generated by tests/host/gen_decode_cases.sh from $(as --version | head -1)."
    echo " * Do not edit: rerun the script. */"
    echo
    echo "/* {mode, hex bytes, objdump text}: as + objdump on the lists in the script */"
    echo "static const struct binutils_case { int mode; const char *hex; const char *text; } decode_binutils_cases[] = {"
    perl -ne 'chomp; my ($m, $h, $t) = split /\t/, $_, 3; $t =~ s/\\/\\\\/g; $t =~ s/"/\\"/g;
              $t = substr($t, 0, 40); print "    { $m, \"$h\", \"$t\" },\n";' "$tmp/list.txt"
    echo "};"
    echo
    echo "/* Pseudo-random streams: bytes in hex, and per offset the length objdump"
    echo " * decodes there (hex digit), '.' where it doesn't start an instruction. */"
    rstream 64 "$tmp/r64.bin" -m i386:x86-64 -M intel64
    rstream 32 "$tmp/r32.bin" -m i386
    rstream 16 "$tmp/r16.bin" -m i8086
} > "$out"
echo "wrote $out: $(grep -c '^    { ' "$out") listed instructions, 3 random streams"
