/* Oracle for hypervisor/cpu/alu.test.ts: executes each instruction on the host
 * CPU (32-bit operations in 64-bit mode set flags exactly as in 32-bit mode)
 * and prints operands, input EFLAGS, EAX, EDX and output EFLAGS (bits 11:0).
 * Two sets: a grid of edge operands for the first group of instructions, and
 * RANDOM_CASES seeded random cases per instruction for every instruction
 * (operands random or drawn from the edge values, random counts 0-63 and
 * random input arithmetic flags). Divisions are generated so they do not
 * overflow (#DE would kill the oracle). BCD instructions: alu-oracle32.c. */
#include <stdio.h>

#define RUN(NAME, INSN)                                                                              \
  static void run_##NAME(unsigned a, unsigned b, unsigned c, unsigned d, unsigned long fin) {      \
    unsigned long fl;                                                                                \
    unsigned ra = a, rb = b, rc = c, rd = d;                                                         \
    __asm__ volatile("pushq %[fin]\n\tpopfq\n\t" INSN "\n\tpushfq\n\tpopq %[fl]"                    \
                     : "+a"(ra), "+b"(rb), "+c"(rc), "+d"(rd), [fl] "=&r"(fl)                        \
                     : [fin] "r"(fin)                                                                \
                     : "cc", "memory");                                                              \
    printf(#NAME " %x %x %x %x %lx %x %x %lx\n", a, b, c, d, fin, ra, rd, fl & 0xfff);              \
  }

RUN(add32, "addl %%ebx, %%eax")
RUN(adc32, "adcl %%ebx, %%eax")
RUN(sub32, "subl %%ebx, %%eax")
RUN(sbb32, "sbbl %%ebx, %%eax")
RUN(and32, "andl %%ebx, %%eax")
RUN(or32, "orl %%ebx, %%eax")
RUN(xor32, "xorl %%ebx, %%eax")
RUN(cmp32, "cmpl %%ebx, %%eax")
RUN(add8, "addb %%bl, %%al")
RUN(adc8, "adcb %%bl, %%al")
RUN(sub8, "subb %%bl, %%al")
RUN(sbb8, "sbbb %%bl, %%al")
RUN(cmp8, "cmpb %%bl, %%al")
RUN(add16, "addw %%bx, %%ax")
RUN(sub16, "subw %%bx, %%ax")
RUN(inc32, "incl %%eax")
RUN(dec32, "decl %%eax")
RUN(neg32, "negl %%eax")
RUN(inc8, "incb %%al")
RUN(dec16, "decw %%ax")
RUN(shl32, "shll %%cl, %%eax")
RUN(shr32, "shrl %%cl, %%eax")
RUN(sar32, "sarl %%cl, %%eax")
RUN(rol32, "roll %%cl, %%eax")
RUN(ror32, "rorl %%cl, %%eax")
RUN(rcl32, "rcll %%cl, %%eax")
RUN(rcr32, "rcrl %%cl, %%eax")
RUN(shl8, "shlb %%cl, %%al")
RUN(shr8, "shrb %%cl, %%al")
RUN(sar8, "sarb %%cl, %%al")
RUN(rol8, "rolb %%cl, %%al")
RUN(rcr8, "rcrb %%cl, %%al")
RUN(shl16, "shlw %%cl, %%ax")
RUN(imul32, "imull %%ebx, %%eax")
RUN(imul16, "imulw %%bx, %%ax")
RUN(mul32, "mull %%ebx")
RUN(imul1_32, "imull %%ebx")
RUN(mul8, "mulb %%bl")
RUN(div32, "divl %%ebx")
RUN(idiv32, "idivl %%ebx")
RUN(bsf32, "bsfl %%ebx, %%eax")
RUN(bsr32, "bsrl %%ebx, %%eax")
RUN(shld32, "shldl %%cl, %%ebx, %%eax")
RUN(shrd32, "shrdl %%cl, %%ebx, %%eax")
RUN(bt32, "btl %%ebx, %%eax")
RUN(btc32, "btcl %%ebx, %%eax")
RUN(bts32, "btsl %%ebx, %%eax")
RUN(btr32, "btrl %%ebx, %%eax")
RUN(cdq, "cltd")
RUN(shl32i1, "shll $1, %%eax")
RUN(sar32i1, "sarl $1, %%eax")
RUN(rcl32i1, "rcll $1, %%eax")
RUN(rcr32i1, "rcrl $1, %%eax")
RUN(shr16, "shrw %%cl, %%ax")
RUN(sar16, "sarw %%cl, %%ax")
RUN(rol16, "rolw %%cl, %%ax")
RUN(ror16, "rorw %%cl, %%ax")
RUN(rcl16, "rclw %%cl, %%ax")
RUN(rcr16, "rcrw %%cl, %%ax")
RUN(ror8, "rorb %%cl, %%al")
RUN(rcl8, "rclb %%cl, %%al")
RUN(shld16, "shldw %%cl, %%bx, %%ax")
RUN(shrd16, "shrdw %%cl, %%bx, %%ax")
RUN(shld32i, "shldl $7, %%ebx, %%eax")
RUN(shrd32i, "shrdl $25, %%ebx, %%eax")
RUN(mul16, "mulw %%bx")
RUN(imul1_16, "imulw %%bx")
RUN(imul1_8, "imulb %%bl")
RUN(imul3_32, "imull $-7, %%ebx, %%eax")
RUN(imul3_32i, "imull $0x12345, %%ebx, %%eax")
RUN(imul3_16, "imulw $-300, %%bx, %%ax")
RUN(div8, "divb %%bl")
RUN(div16, "divw %%bx")
RUN(idiv8, "idivb %%bl")
RUN(idiv16, "idivw %%bx")
RUN(bsf16, "bsfw %%bx, %%ax")
RUN(bsr16, "bsrw %%bx, %%ax")
RUN(bt16, "btw %%bx, %%ax")
RUN(bts16, "btsw %%bx, %%ax")
RUN(btr16, "btrw %%bx, %%ax")
RUN(btc16, "btcw %%bx, %%ax")
RUN(bt32i, "btl $13, %%eax")
RUN(btc32i, "btcl $31, %%eax")
RUN(cwde, "cwtl")

static const unsigned vals[] = {0,          1,          2,          0x7f,       0x80,       0xff,
                                0x100,      0x7fff,     0x8000,     0xffff,     0x7fffffff, 0x80000000,
                                0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef, 0x0f0f0f0f};
static const unsigned counts[] = {0, 1, 2, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33};
static const unsigned long flagsIn[] = {0x2, 0x8d7};
#define N(x) (sizeof(x) / sizeof((x)[0]))
#define RANDOM_CASES 2000

static unsigned long long seed = 0x9e3779b97f4a7c15ull;
static unsigned rnd(void) {
  seed ^= seed << 13;
  seed ^= seed >> 7;
  seed ^= seed << 17;
  return (unsigned)(seed >> 16);
}
/* An operand: random, an edge value, or a small number. */
static unsigned operand(void) {
  unsigned k = rnd() % 4;
  return k == 0 ? vals[rnd() % N(vals)] : k == 1 ? rnd() % 300 : rnd();
}

typedef void (*Run)(unsigned, unsigned, unsigned, unsigned, unsigned long);
static const Run binary[] = {run_add32, run_adc32, run_sub32, run_sbb32, run_and32, run_or32, run_xor32,
                             run_cmp32, run_add8, run_adc8, run_sub8, run_sbb8, run_cmp8, run_add16,
                             run_sub16, run_imul32, run_imul16, run_mul32, run_imul1_32, run_mul8,
                             run_bsf32, run_bsr32, run_bt32, run_btc32, run_bts32, run_btr32, run_mul16,
                             run_imul1_16, run_imul1_8, run_imul3_32, run_imul3_32i, run_imul3_16,
                             run_bsf16, run_bsr16, run_bt16, run_bts16, run_btr16, run_btc16, run_bt32i,
                             run_btc32i, run_inc32, run_dec32, run_neg32, run_inc8, run_dec16, run_cdq,
                             run_cwde, run_shl32i1, run_sar32i1, run_rcl32i1, run_rcr32i1};
static const Run shifts[] = {run_shl32, run_shr32, run_sar32, run_rol32, run_ror32, run_rcl32, run_rcr32,
                             run_shl8, run_shr8, run_sar8, run_rol8, run_rcr8, run_shl16, run_shld32,
                             run_shrd32, run_shr16, run_sar16, run_rol16, run_ror16, run_rcl16, run_rcr16,
                             run_ror8, run_rcl8, run_shld16, run_shrd16, run_shld32i, run_shrd32i};

/* Divisions whose quotient fits: the high half is reduced below the divisor (unsigned) or checked (signed). */
static void randomDivisions(unsigned long fin) {
  unsigned a = operand(), b = operand(), d = operand();
  if (b != 0) run_div32(a, b, 0, d % b, fin);
  if ((b & 0xff) != 0) run_div8((a & ~0xff00u) | (((a >> 8) % (b & 0xff)) << 8), b, 0, 0, fin);
  if ((b & 0xffff) != 0) run_div16(a, b, 0, (d & ~0xffffu) | ((d & 0xffff) % (b & 0xffff)), fin);
  long long n32 = (long long)(((unsigned long long)d << 32) | a), q;
  if ((int)b != 0) {
    q = n32 / (int)b;
    if (q >= -0x80000000ll && q <= 0x7fffffffll) run_idiv32(a, b, 0, d, fin);
  }
  if ((signed char)b != 0) {
    q = (short)a / (signed char)b;
    if (q >= -128 && q <= 127) run_idiv8(a, b, 0, 0, fin);
  }
  if ((short)b != 0) {
    q = (int)(((d & 0xffff) << 16) | (a & 0xffff)) / (short)b;
    if (q >= -32768 && q <= 32767) run_idiv16(a, b, 0, d, fin);
  }
}

int main(void) {
  for (unsigned f = 0; f < N(flagsIn); f++) {
    unsigned long fin = flagsIn[f];
    for (unsigned i = 0; i < N(vals); i++) {
      unsigned a = vals[i];
      run_inc32(a, 0, 0, 0, fin);
      run_dec32(a, 0, 0, 0, fin);
      run_neg32(a, 0, 0, 0, fin);
      run_inc8(a, 0, 0, 0, fin);
      run_dec16(a, 0, 0, 0, fin);
      run_cdq(a, 0, 0, 0, fin);
      run_cwde(a, 0, 0, 0, fin);
      for (unsigned j = 0; j < N(vals); j++) {
        unsigned b = vals[j];
        run_add32(a, b, 0, 0, fin);
        run_adc32(a, b, 0, 0, fin);
        run_sub32(a, b, 0, 0, fin);
        run_sbb32(a, b, 0, 0, fin);
        run_and32(a, b, 0, 0, fin);
        run_or32(a, b, 0, 0, fin);
        run_xor32(a, b, 0, 0, fin);
        run_cmp32(a, b, 0, 0, fin);
        run_add8(a, b, 0, 0, fin);
        run_adc8(a, b, 0, 0, fin);
        run_sub8(a, b, 0, 0, fin);
        run_sbb8(a, b, 0, 0, fin);
        run_cmp8(a, b, 0, 0, fin);
        run_add16(a, b, 0, 0, fin);
        run_sub16(a, b, 0, 0, fin);
        run_imul32(a, b, 0, 0, fin);
        run_imul16(a, b, 0, 0, fin);
        run_mul32(a, b, 0, 0, fin);
        run_imul1_32(a, b, 0, 0, fin);
        run_mul8(a, b, 0, 0, fin);
        run_bsf32(a, b, 0, 0, fin);
        run_bsr32(a, b, 0, 0, fin);
        run_bt32(a, b, 0, 0, fin);
        run_btc32(a, b, 0, 0, fin);
        run_bts32(a, b, 0, 0, fin);
        run_btr32(a, b, 0, 0, fin);
        if (b != 0) run_div32(a, b, 0, 0, fin);
        if (b != 0 && !(a == 0x80000000 && b == 0xffffffff))
          run_idiv32(a, b, 0, (a & 0x80000000) ? 0xffffffff : 0, fin);
        if (b != 0 && (unsigned long)(b - 1) > 0x1000) run_div32(a, b, 0, b - 1 > 3 ? 3 : 0, fin);
      }
      for (unsigned k = 0; k < N(counts); k++) {
        unsigned c = counts[k];
        run_shl32(a, 0, c, 0, fin);
        run_shr32(a, 0, c, 0, fin);
        run_sar32(a, 0, c, 0, fin);
        run_rol32(a, 0, c, 0, fin);
        run_ror32(a, 0, c, 0, fin);
        run_rcl32(a, 0, c, 0, fin);
        run_rcr32(a, 0, c, 0, fin);
        run_shl8(a, 0, c, 0, fin);
        run_shr8(a, 0, c, 0, fin);
        run_sar8(a, 0, c, 0, fin);
        run_rol8(a, 0, c, 0, fin);
        run_rcr8(a, 0, c, 0, fin);
        run_shl16(a, 0, c, 0, fin);
        run_shld32(a, 0xdeadbeef, c, 0, fin);
        run_shrd32(a, 0x12345678, c, 0, fin);
      }
    }
  }
  for (int n = 0; n < RANDOM_CASES; n++) {
    unsigned long fin = (rnd() & 0x8d5) | 2;
    for (unsigned k = 0; k < N(binary); k++) binary[k](operand(), operand(), 0, 0, fin);
    for (unsigned k = 0; k < N(shifts); k++) shifts[k](operand(), operand(), rnd() & 63, 0, fin);
    randomDivisions(fin);
  }
  return 0;
}
