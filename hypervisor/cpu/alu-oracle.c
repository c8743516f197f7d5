/* Oracle for hypervisor/cpu/alu.test.ts: executes each instruction on the host
 * CPU (32-bit operations in 64-bit mode set flags exactly as in 32-bit mode)
 * and prints operands, input EFLAGS, EAX, EDX and output EFLAGS (bits 11:0). */
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
RUN(cwde, "cwtl")

static const unsigned vals[] = {0,          1,          2,          0x7f,       0x80,       0xff,
                                0x100,      0x7fff,     0x8000,     0xffff,     0x7fffffff, 0x80000000,
                                0x80000001, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef, 0x0f0f0f0f};
static const unsigned counts[] = {0, 1, 2, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33};
static const unsigned long flagsIn[] = {0x2, 0x8d7};
#define N(x) (sizeof(x) / sizeof((x)[0]))

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
  return 0;
}
