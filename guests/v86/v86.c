/* v86: a ring-0 virtual-8086 monitor and a 16-bit program it runs
 * (SDM Vol. 3A ch. 20 without VME: §20.2 the V86 environment, §20.2.7
 * IOPL-sensitive instructions, §20.2.8.1 the I/O permission bitmap, §20.3.1.1
 * interrupts and exceptions to a protected-mode handler; Vol. 2 IRET, INT n).
 *
 * Ring 0 replaces the library GDT with one whose 32-bit TSS has an I/O
 * permission bitmap allowing only COM1 (0x3F8-0x3FF), turns on paging
 * (first 4 MiB, all user pages except one supervisor page at 0x30000), copies
 * v86-code.S to linear 0x20000 and enters it by IRET with EFLAGS.VM = 1.
 * Phase 1 runs at IOPL 0: arithmetic and memory through V86 segments, POP
 * DS and far JMPs (base = selector * 16), a line printed with IN/OUT on COM1
 * (allowed by the bitmap), OUT 0x80 (denied: #GP(0)), CLI and STI (#GP(0),
 * emulated with a virtual IF), INT 0x42 (#GP(0), reflected through the V86
 * interrupt vector table; the V86 handler's IRET is #GP(0) and emulated),
 * a read of the supervisor page (#PF, error 5: U = 1), and INT 0x21 with
 * AH = 0x4C, on which the monitor returns to protected mode. Phase 2 runs at
 * IOPL 3: CLI/STI/PUSHF/POPF without traps, then INT 0x80 straight through
 * the IDT (DPL-3 gate) to ring 0, which returns to protected mode.
 *
 * Expected console output: "v86: ..." (setup), the V86 program's own line
 *   v86: hello from virtual-8086 mode over COM1
 * then one "ok   ..." line per check (values seen on each), ending with
 *   v86: 16 checks passed, 0 failed
 * after which the guest writes checks_failed to the debug-exit port 0xF4
 * (moat ends the VM with status (0 << 1) | 1 = 1) and halts. An unexpected
 * trap prints "FAIL unexpected ..." and the summary, then exits the same way.
 */
#include <stdint.h>
#include "../lib/check.h"
#include "../lib/desc.h"
#include "../lib/io.h"
#include "../lib/print.h"
#include "../lib/uart.h"

#define DEBUG_EXIT_PORT 0xF4
#define TSS_V86_SEL 0x28

#define EFLAGS_TF 0x100u
#define EFLAGS_IF 0x200u
#define EFLAGS_IOPL3 0x3000u
#define EFLAGS_VM 0x20000u
/* CF PF AF ZF SF DF OF: what an emulated IRET takes from the FLAGS image. */
#define EFLAGS_ARITH_DF 0xCD5u

#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_US 0x004
#define CR0_PG (1u << 31)
#define PAGE 4096

/* The V86 address space (segment values; linear = segment * 16). */
#define V86_CODE_SEG 0x2000 /* = CODE_SEG in v86-code.S */
#define V86_STACK_SEG 0x2400
#define V86_STACK_TOP 0x4000
#define V86_DATA_SEG 0x2900
#define V86_RESULT_SEG 0x2A00
#define V86_FS_SEG 0x2B00
#define V86_GS_SEG 0x2C00
#define SUP_PAGE 0x30000u /* supervisor-only until the #PF handler opens it */
#define SUP_OFFSET 0x10
#define SUP_VALUE 0xBEEF

extern const char v86_blob[], v86_blob_end[], v86_phase1[], v86_phase2[], v86_int42[];
extern const char v86_out80[], v86_cli[], v86_sti[], v86_int42_insn[], v86_iret[], v86_pf_insn[], v86_exit[];

/* What the CPU pushes on an interrupt from V86 after the usual frame (SDM Figure 20-5). */
struct v86_frame {
  struct trap_frame t;
  uint32_t es, ds, fs, gs;
};

/* A 32-bit TSS with an I/O permission bitmap for ports 0-0x3FF (Vol. 1 §19.5.2): the byte after the map is 0xFF. */
struct tss_io {
  uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
  uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
  uint32_t es, cs, ss, ds, fs, gs, ldt;
  uint16_t trap, iomap_base;
  uint8_t iomap[0x400 / 8];
  uint8_t end;
} __attribute__((packed));

static uint64_t gdt[6] __attribute__((aligned(8)));
static struct tss_io tss __attribute__((aligned(16)));
static uint8_t monitor_stack[16384] __attribute__((aligned(16)));
static uint32_t page_dir[1024] __attribute__((aligned(PAGE)));
static uint32_t page_table[1024] __attribute__((aligned(PAGE)));
static uint32_t iret_frame[9];

/* What the monitor saw; checked and printed back in protected mode. */
static volatile struct {
  uint32_t gp, out80, cli, sti, int42, iret, pf;
  uint32_t vif;
  uint32_t gp_error_nonzero;
  /* the first #GP's frame */
  uint32_t f_error, f_eip, f_cs, f_eflags, f_esp, f_ss, f_es, f_ds, f_fs, f_gs;
  uint32_t f_seen_es, f_seen_ds, f_seen_fs, f_seen_gs; /* data segment registers on entry to ring 0 */
  uint32_t pf_error, pf_cr2, pf_eip;
  uint32_t gp_phase2;
  uint32_t i80_eflags, i80_cs, i80_eip;
} mon;

static const uint16_t table[8] = { 100, 101, 102, 103, 104, 105, 106, 107 };

static uint32_t off(const char *sym)
{
  return (uint32_t)(sym - v86_blob);
}

static volatile uint8_t *lin(uint32_t seg, uint32_t offset)
{
  return (volatile uint8_t *)((seg << 4) + (offset & 0xFFFF));
}

static volatile uint16_t *result(unsigned n)
{
  return (volatile uint16_t *)lin(V86_RESULT_SEG, 2 * n);
}

/* Entry `vector` of the V86 interrupt vector table at linear 0 (SDM §20.1.4): offset, then segment. The
   empty asm hides the constant address from GCC, which would take it for an access through a null pointer. */
static volatile uint16_t *ivt_entry(unsigned vector)
{
  uintptr_t a = vector * 4;
  __asm__("" : "+r"(a));
  return (volatile uint16_t *)a;
}

static void finish(void) __attribute__((noreturn));
static void finish(void)
{
  check_summary();
  outl(DEBUG_EXIT_PORT, checks_failed);
  halt_forever();
}

static void unexpected_trap(void)
{
  outl(DEBUG_EXIT_PORT, checks_failed);
}

static void unexpected(struct trap_frame *f, const char *what)
{
  check(0, "unexpected %s: vector %u error 0x%x at %x:%x, EFLAGS 0x%x", what, f->vector, f->error, f->cs, f->eip,
        f->eflags);
  finish();
}

/* ---- descriptor tables (SDM Figures 3-8, 7-3) ---- */

static uint64_t tss_descriptor(uint32_t base, uint32_t limit)
{
  return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | (0x89ull << 40) |
         ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)(base >> 24) << 56);
}

/* The library layout (same code and data selectors) plus our TSS with the I/O bitmap at 0x28. */
static void load_gdt_with_io_bitmap(void)
{
  gdt[0] = 0;
  gdt[KERNEL_CS >> 3] = 0x00CF9A000000FFFFull;
  gdt[KERNEL_DS >> 3] = 0x00CF92000000FFFFull;
  gdt[USER_CS >> 3] = 0x00CFFA000000FFFFull;
  gdt[USER_DS >> 3] = 0x00CFF2000000FFFFull;
  for (unsigned i = 0; i < sizeof tss.iomap; i++)
    tss.iomap[i] = 0xFF;
  tss.iomap[COM1 >> 3] = 0x00; /* ports 0x3F8-0x3FF */
  tss.end = 0xFF;
  tss.iomap_base = (uint16_t)((uint32_t)tss.iomap - (uint32_t)&tss);
  tss.ss0 = KERNEL_DS;
  tss.esp0 = (uint32_t)(monitor_stack + sizeof monitor_stack);
  gdt[TSS_V86_SEL >> 3] = tss_descriptor((uint32_t)&tss, sizeof tss - 1);
  struct {
    uint16_t limit;
    uint32_t base;
  } __attribute__((packed)) gdtr = { sizeof gdt - 1, (uint32_t)gdt };
  __asm__ volatile("lgdt %0\n\tltr %w1" : : "m"(gdtr), "r"(TSS_V86_SEL) : "memory");
}

static void build_page_tables(void)
{
  for (uint32_t i = 0; i < 1024; i++)
    page_table[i] = (i * PAGE) | PTE_P | PTE_RW | PTE_US;
  page_table[SUP_PAGE >> 12] &= ~PTE_US;
  page_dir[0] = (uint32_t)page_table | PTE_P | PTE_RW | PTE_US;
}

/* ---- entering and leaving V86 ---- */

/* IRET with a V86 frame (Vol. 2 IRET RETURN-TO-VIRTUAL-8086-MODE): EIP CS EFLAGS ESP SS ES DS FS GS. */
static void enter_v86(uint32_t ip, uint32_t eflags) __attribute__((noreturn));
static void enter_v86(uint32_t ip, uint32_t eflags)
{
  uint32_t *f = iret_frame;
  f[0] = ip;
  f[1] = V86_CODE_SEG;
  f[2] = eflags | EFLAGS_VM | 2;
  f[3] = V86_STACK_TOP;
  f[4] = V86_STACK_SEG;
  f[5] = V86_RESULT_SEG;
  f[6] = V86_DATA_SEG;
  f[7] = V86_FS_SEG;
  f[8] = V86_GS_SEG;
  __asm__ volatile("mov %0, %%esp\n\tiret" : : "r"(f) : "memory");
  __builtin_unreachable();
}

/* Make the trap's IRET return to `cont` in ring 0 (same privilege: it pops EIP, CS, EFLAGS only). */
static void leave_v86(struct trap_frame *f, void (*cont)(void))
{
  f->eip = (uint32_t)cont;
  f->cs = KERNEL_CS;
  f->eflags = 2;
  f->ds = f->es = f->fs = f->gs = KERNEL_DS;
}

static void push16(struct trap_frame *f, uint16_t v)
{
  uint16_t sp = (uint16_t)(f->user_esp - 2);
  *(volatile uint16_t *)lin(f->user_ss, sp) = v;
  f->user_esp = (f->user_esp & 0xFFFF0000u) | sp;
}

static uint16_t pop16(struct trap_frame *f)
{
  uint16_t sp = (uint16_t)f->user_esp;
  uint16_t v = *(volatile uint16_t *)lin(f->user_ss, sp);
  f->user_esp = (f->user_esp & 0xFFFF0000u) | (uint16_t)(sp + 2);
  return v;
}

/* INT n as the 8086 does it, on the V86 stack and through the V86 IVT at linear 0 (SDM §20.1.4). */
static void reflect(struct trap_frame *f, unsigned vector, unsigned len)
{
  uint16_t flags = (uint16_t)((f->eflags & ~EFLAGS_IF) | (mon.vif ? EFLAGS_IF : 0));
  push16(f, flags);
  push16(f, (uint16_t)f->cs);
  push16(f, (uint16_t)(f->eip + len));
  volatile uint16_t *ivt = ivt_entry(vector);
  f->eip = ivt[0];
  f->cs = ivt[1];
  mon.vif = 0;
  f->eflags &= ~EFLAGS_TF;
}

/* IRET as the 8086 does it: IP, CS, FLAGS from the V86 stack; IF only virtually. */
static void emulate_iret(struct trap_frame *f)
{
  f->eip = pop16(f);
  f->cs = pop16(f);
  uint16_t flags = pop16(f);
  mon.vif = (flags & EFLAGS_IF) != 0;
  f->eflags = (f->eflags & ~EFLAGS_ARITH_DF) | (flags & EFLAGS_ARITH_DF);
}

static void phase1_done(void) __attribute__((noreturn));
static void phase2_done(void) __attribute__((noreturn));

static void note_first_gp(struct trap_frame *f)
{
  struct v86_frame *v = (struct v86_frame *)f;
  mon.f_error = f->error;
  mon.f_eip = f->eip;
  mon.f_cs = f->cs;
  mon.f_eflags = f->eflags;
  mon.f_esp = f->user_esp;
  mon.f_ss = f->user_ss;
  mon.f_es = v->es;
  mon.f_ds = v->ds;
  mon.f_fs = v->fs;
  mon.f_gs = v->gs;
  mon.f_seen_es = f->es & 0xFFFF;
  mon.f_seen_ds = f->ds & 0xFFFF;
  mon.f_seen_fs = f->fs & 0xFFFF;
  mon.f_seen_gs = f->gs & 0xFFFF;
}

/* The monitor: every #GP from V86 is an IOPL-sensitive or I/O instruction to emulate or refuse. */
static void on_gp(struct trap_frame *f)
{
  if (!(f->eflags & EFLAGS_VM))
    unexpected(f, "#GP in protected mode");
  if (f->eflags & EFLAGS_IOPL3) {
    mon.gp_phase2++;
    unexpected(f, "#GP in V86 at IOPL 3");
  }
  if (mon.gp++ == 0)
    note_first_gp(f);
  if (f->error != 0)
    mon.gp_error_nonzero++;
  volatile uint8_t *ip = lin(f->cs, f->eip);
  uint32_t at = f->eip & 0xFFFF;
  if (ip[0] == 0xE6 && ip[1] == 0x80 && at == off(v86_out80)) {
    mon.out80++;
    f->eip += 2;
  } else if (ip[0] == 0xFA && at == off(v86_cli)) {
    mon.cli++;
    mon.vif = 0;
    f->eip += 1;
  } else if (ip[0] == 0xFB && at == off(v86_sti)) {
    mon.sti++;
    mon.vif = 1;
    f->eip += 1;
  } else if (ip[0] == 0xCD && ip[1] == 0x42 && at == off(v86_int42_insn)) {
    mon.int42++;
    reflect(f, 0x42, 2);
  } else if (ip[0] == 0xCF && at == off(v86_iret)) {
    mon.iret++;
    emulate_iret(f);
  } else if (ip[0] == 0xCD && ip[1] == 0x21 && ((f->eax >> 8) & 0xFF) == 0x4C && at == off(v86_exit)) {
    leave_v86(f, phase1_done);
  } else {
    unexpected(f, "#GP in V86");
  }
}

static void on_page_fault(struct trap_frame *f)
{
  uint32_t cr2 = read_cr2();
  if (!(f->eflags & EFLAGS_VM) || (cr2 & ~(PAGE - 1)) != SUP_PAGE || mon.pf++ != 0)
    unexpected(f, "#PF");
  mon.pf_error = f->error;
  mon.pf_cr2 = cr2;
  mon.pf_eip = f->eip;
  page_table[SUP_PAGE >> 12] |= PTE_US;
  invlpg((void *)SUP_PAGE);
}

/* INT 0x80 from V86 at IOPL 3: delivered through the DPL-3 gate without a #GP. */
static void on_int80(struct trap_frame *f)
{
  if (!(f->eflags & EFLAGS_VM))
    unexpected(f, "INT 0x80 from protected mode");
  mon.i80_eflags = f->eflags;
  mon.i80_cs = f->cs;
  mon.i80_eip = f->eip;
  leave_v86(f, phase2_done);
}

/* ---- the checks ---- */

static uint32_t read_eflags(void)
{
  uint32_t v;
  __asm__ volatile("pushfl\n\tpopl %0" : "=r"(v));
  return v;
}

static void phase1_done(void)
{
  uint32_t sum = 0;
  for (unsigned i = 0; i < 8; i++)
    sum += table[i];
  check_eq("ES:0 = 3 * sum of the words at DS:0, computed in V86", *result(0), (3 * sum) & 0xFFFF);
  check_eq("ES:12 = the same word read through DS after POP DS", *result(6), (3 * sum) & 0xFFFF);
  check_eq("CS after the far JMP to the alias segment", *result(5), V86_CODE_SEG + 1);
  check(mon.f_eflags & EFLAGS_VM && mon.f_cs == V86_CODE_SEG && mon.f_eip == off(v86_out80) &&
            mon.f_ss == V86_STACK_SEG && mon.f_esp == V86_STACK_TOP,
        "#GP frame from V86: EFLAGS 0x%x, CS:IP %x:%x, SS:SP %x:%x", mon.f_eflags, mon.f_cs, mon.f_eip, mon.f_ss,
        mon.f_esp);
  check(mon.f_eip == off(v86_out80), "IN/OUT on COM1 (allowed by the I/O bitmap) ran without #GP: first #GP at IP 0x%x",
        mon.f_eip);
  check(mon.f_es == V86_RESULT_SEG && mon.f_ds == V86_DATA_SEG && mon.f_fs == V86_FS_SEG && mon.f_gs == V86_GS_SEG,
        "frame holds the V86 ES DS FS GS: %x %x %x %x", mon.f_es, mon.f_ds, mon.f_fs, mon.f_gs);
  check(mon.f_seen_es == 0 && mon.f_seen_ds == 0 && mon.f_seen_fs == 0 && mon.f_seen_gs == 0,
        "ES DS FS GS are null in the ring-0 handler: %x %x %x %x", mon.f_seen_es, mon.f_seen_ds, mon.f_seen_fs,
        mon.f_seen_gs);
  check(mon.out80 == 1 && mon.f_error == 0, "OUT 0x80 (denied by the I/O bitmap) -> #GP(0x%x), %u time(s)",
        mon.f_error, mon.out80);
  check(mon.cli == 1 && mon.sti == 1 && mon.vif == 1, "CLI and STI at IOPL 0 -> #GP, emulated (%u, %u, VIF %u)",
        mon.cli, mon.sti, mon.vif);
  check(mon.int42 == 1 && mon.iret == 1 && *result(1) == 41,
        "INT 0x42 reflected to the V86 IVT handler, its IRET emulated: AX 20 -> %u (want 41)", *result(1));
  check_eq("#GP error codes other than 0", mon.gp_error_nonzero, 0);
  check(mon.pf == 1 && mon.pf_error == (PTE_P | PTE_US) && mon.pf_cr2 == SUP_PAGE + SUP_OFFSET &&
            mon.pf_eip == off(v86_pf_insn),
        "#PF from V86 on a supervisor page: error 0x%x (want 0x5, U=1), CR2 0x%x, IP 0x%x", mon.pf_error,
        mon.pf_cr2, mon.pf_eip);
  check_eq("word read from that page after the fault", *result(2), SUP_VALUE);
  check(read_cs() == KERNEL_CS && !(read_eflags() & EFLAGS_VM),
        "INT 0x21 AH=4Ch -> #GP -> back in protected mode: CS 0x%x", read_cs());
  mon.gp = 0;
  enter_v86(off(v86_phase2), EFLAGS_IOPL3);
}

static void phase2_done(void)
{
  check(mon.gp == 0 && (*result(4) & (EFLAGS_IOPL3 | EFLAGS_IF)) == EFLAGS_IOPL3,
        "IOPL 3: STI, CLI, PUSHF, POPF without #GP (%u); pushed FLAGS 0x%x", mon.gp, *result(4));
  check(mon.i80_eflags & EFLAGS_VM && (mon.i80_eflags & EFLAGS_IOPL3) == EFLAGS_IOPL3 && mon.i80_cs == V86_CODE_SEG,
        "INT 0x80 at IOPL 3 -> IDT gate to ring 0 directly: EFLAGS 0x%x, CS:IP %x:%x", mon.i80_eflags, mon.i80_cs,
        mon.i80_eip);
  finish();
}

void main(void)
{
  uart_init();
  check_guest_name = "v86";
  kprintf("v86: GDT, TSS with an I/O permission bitmap, IDT, paging; virtual-8086 mode by IRET\n");
  desc_init();
  trap_fatal_hook = unexpected_trap;
  load_gdt_with_io_bitmap();
  trap_set_handler(13, on_gp, 0);
  trap_set_handler(14, on_page_fault, 0);
  trap_set_handler(SYSCALL_VECTOR, on_int80, 1);
  /* No device interrupts: mask both 8259As (OCW1). */
  outb(0x21, 0xFF);
  outb(0xA1, 0xFF);
  build_page_tables();
  write_cr3((uint32_t)page_dir);
  write_cr0(read_cr0() | CR0_PG);
  volatile uint8_t *code = lin(V86_CODE_SEG, 0);
  for (const char *p = v86_blob; p < v86_blob_end; p++)
    *code++ = (uint8_t)*p;
  for (unsigned i = 0; i < 8; i++)
    ((volatile uint16_t *)lin(V86_DATA_SEG, 0))[i] = table[i];
  volatile uint16_t *ivt = ivt_entry(0x42);
  ivt[0] = (uint16_t)off(v86_int42);
  ivt[1] = V86_CODE_SEG;
  *(volatile uint16_t *)lin(SUP_PAGE >> 4, SUP_OFFSET) = SUP_VALUE;
  mon.vif = 1;
  enter_v86(off(v86_phase1), 0);
}
