/* Oracle for hypervisor/cpu/alu.test.ts, part 2: the BCD instructions (DAA,
 * DAS, AAA, AAS, AAM, AAD), which do not exist in 64-bit mode. Built with
 * gcc -m32 as a freestanding static program (no 32-bit libc needed: output
 * through the int 0x80 write system call) and run natively in 32-bit
 * compatibility mode. Prints the same line format as alu-oracle.c:
 * name a b c d eflags-in eax edx eflags-out(11:0), in hex. Operands: every
 * AX low byte with a grid of AH values and input flags, plus random AX. */

static char buf[1 << 16];
static unsigned used;

static void flush(void) {
  int r;
  __asm__ volatile("int $0x80" : "=a"(r) : "a"(4), "b"(1), "c"(buf), "d"(used) : "memory");
  used = 0;
}

static void put(char c) {
  if (used == sizeof buf) flush();
  buf[used++] = c;
}

static void hex(unsigned v) {
  char t[8];
  int n = 0;
  do {
    t[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  while (n) put(t[--n]);
}

static void line(const char *name, unsigned a, unsigned fin, unsigned eax, unsigned fl) {
  while (*name) put(*name++);
  unsigned f[8] = {a, 0, 0, 0, fin, eax, 0, fl & 0xfff};
  for (int i = 0; i < 8; i++) {
    put(' ');
    hex(f[i]);
  }
  put('\n');
}

#define RUN(NAME, INSN)                                                                   \
  static void run_##NAME(unsigned a, unsigned fin) {                                      \
    unsigned ra = a, fl;                                                                  \
    __asm__ volatile("pushl %[fin]\n\tpopfl\n\t" INSN "\n\tpushfl\n\tpopl %[fl]"          \
                     : "+a"(ra), [fl] "=&r"(fl)                                           \
                     : [fin] "r"(fin)                                                     \
                     : "cc", "memory");                                                   \
    line(#NAME, a, fin, ra, fl);                                                          \
  }

RUN(daa, "daa")
RUN(das, "das")
RUN(aaa, "aaa")
RUN(aas, "aas")
RUN(aam10, ".byte 0xd4, 0x0a")
RUN(aam7, ".byte 0xd4, 0x07")
RUN(aad10, ".byte 0xd5, 0x0a")
RUN(aad7, ".byte 0xd5, 0x07")

static unsigned seed = 0x2545f491;
static unsigned rnd(void) {
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return seed;
}

static void all(unsigned a, unsigned fin) {
  run_daa(a, fin);
  run_das(a, fin);
  run_aaa(a, fin);
  run_aas(a, fin);
  run_aam10(a, fin);
  run_aam7(a, fin);
  run_aad10(a, fin);
  run_aad7(a, fin);
}

void _start(void) {
  static const unsigned ah[] = {0x00, 0x01, 0x09, 0x7f, 0x80, 0xfe, 0xff};
  static const unsigned flagsIn[] = {0x002, 0x003, 0x012, 0x013, 0x8d7};
  for (unsigned f = 0; f < sizeof flagsIn / sizeof flagsIn[0]; f++)
    for (unsigned h = 0; h < sizeof ah / sizeof ah[0]; h++)
      for (unsigned al = 0; al < 256; al++) all(0x5a5a0000 | (ah[h] << 8) | al, flagsIn[f]);
  for (int n = 0; n < 2000; n++) all(rnd(), (rnd() & 0x8d5) | 2);
  flush();
  __asm__ volatile("int $0x80" ::"a"(1), "b"(0));
  for (;;) {
  }
}
