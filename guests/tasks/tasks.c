/* tasks: hardware task switches (SDM Vol. 3A chapter 8), checked from inside.
 *
 * Main runs in a 32-bit TSS (selector 0x28) with paging on (4 MiB PSE pages
 * identity-mapping 16 MiB, and linear 0x40000000 mapped by a 4 KiB page to
 * page_a). Task B has its own page directory, in which 0x40000000 maps
 * page_b. The checks, one "ok"/"FAIL" line each:
 *   JMP to TSS B (§8.3, Table 8-2): B starts with the registers and EFLAGS
 *     of its TSS, TR = 0x30, NT clear, CR0.TS set, CR3 = B's page directory
 *     and 0x40000000 reads page_b; the busy flags: main available, B busy;
 *     B JMPs back: main resumes after its JMP with its registers and CF/DF
 *     as saved, 0x40000000 reads page_a again, main busy, B available, and
 *     B's TSS holds the EIP after B's JMP.
 *   CALL through a task gate to C, IRET back (§8.4): in C, NT set, link =
 *     0x28, both busy; back in main, EBX restored, NT clear, C available and
 *     its saved EFLAGS without NT (§8.3 step 7).
 *   #DE through an IDT task gate: main's TSS has the EIP of the DIV (a fault
 *     resumes at the instruction), no error code on the task's stack, link
 *     = 0x28; the task moves main's EIP past the DIV and IRETs.
 *   INT 0x41 through a task gate: main's saved EIP is after the INT.
 *   #GP(0x1f8) through a task gate: the error code is on the task's stack.
 *   CALL to a 16-bit (286) TSS (Figure 8-11): it runs with AX, BX, SI of
 *     its TSS and the upper halves of the registers as they were (the SDM
 *     does not say; QEMU keeps them), links back, IRETs; its busy type goes
 *     1 -> 3 -> 1.
 * then "tasks: N checks passed, 0 failed" and the debug-exit port (0xF4)
 * gets the number of failed checks. The same image runs on QEMU.
 */
#include <stdint.h>
#include "../lib/check.h"
#include "../lib/desc.h"
#include "../lib/io.h"
#include "../lib/print.h"
#include "../lib/uart.h"
#include "task-lib.h"

#define DEBUG_EXIT_PORT 0xF4
#define SEL_MAIN 0x28
#define SEL_B 0x30
#define SEL_C 0x38
#define GATE_C 0x40
#define SEL_DE 0x48
#define SEL_INT 0x50
#define SEL_GP 0x58
#define SEL_16 0x60
#define CS_16 0x68
#define WINDOW 0x40000000u
#define PAGE 4096
#define MAGIC_A 0xAAAA0001u
#define MAGIC_B 0xBBBB0002u

static struct tss32 tss_main, tss_b, tss_c, tss_de, tss_int, tss_gp;
static struct tss16 tss_16;
static uint32_t pd_main[1024] __attribute__((aligned(PAGE)));
static uint32_t pd_b[1024] __attribute__((aligned(PAGE)));
static uint32_t pt_main[1024] __attribute__((aligned(PAGE)));
static uint32_t pt_b[1024] __attribute__((aligned(PAGE)));
static volatile uint32_t page_a[1024] __attribute__((aligned(PAGE)));
static volatile uint32_t page_b[1024] __attribute__((aligned(PAGE)));
static uint8_t stack_b[8192] __attribute__((aligned(16)));
static uint8_t stack_c[8192] __attribute__((aligned(16)));
static uint8_t stack_de[8192] __attribute__((aligned(16)));
static uint8_t stack_int[8192] __attribute__((aligned(16)));
static uint8_t stack_gp[8192] __attribute__((aligned(16)));

/* Written by tasks-entry.S. */
volatile uint32_t b_regs[9], after_regs[8], c_eflags, de_esp, int_esp, gp_error, gp_esp;
volatile uint32_t t16_eax, t16_ebx, t16_esi, t16_ran;

void task_b_entry(void), task_c_entry(void), task_de_entry(void), task_int_entry(void), task_gp_entry(void);
void jmp_to_b(void), divide_by_zero(void), int_41(void), load_bad_ds(void);
uint32_t call_gate_c(void), call_tss16(void);
extern const char main_resume_jmp[], task_b_resume[], task_c_resume[], de_insn[], de_after[];
extern const char int_after[], gp_insn[], gp_after[], task16_code[], task16_after_iret[];

static uint32_t window(void)
{
  return *(volatile uint32_t *)WINDOW;
}

/* 4 MiB pages identity-map 16 MiB; linear WINDOW maps `page` through a 4 KiB page table. */
static void map(uint32_t *pd, uint32_t *pt, volatile uint32_t *page)
{
  for (unsigned i = 0; i < 4; i++)
    pd[i] = (i << 22) | 0x83; /* P, RW, PS */
  pd[WINDOW >> 22] = (uint32_t)pt | 0x3;
  pt[0] = (uint32_t)page | 0x3;
}

static void setup(void)
{
  task_gdt_install();
  map(pd_main, pt_main, page_a);
  map(pd_b, pt_b, page_b);
  page_a[0] = MAGIC_A;
  page_b[0] = MAGIC_B;
  tss_prepare(&tss_main, 0, 0, (uint32_t)pd_main);
  tss_prepare(&tss_b, task_b_entry, stack_b + sizeof stack_b, (uint32_t)pd_b);
  tss_b.eax = 0xB0000001;
  tss_b.ecx = 0xB0000002;
  tss_b.edx = 0xB0000003;
  tss_b.ebx = 0xB0000004;
  tss_b.ebp = 0xB0000005;
  tss_b.esi = 0xB0000006;
  tss_b.edi = 0xB0000007;
  tss_b.eflags = 0x2 | EFLAGS_CF | EFLAGS_ZF | EFLAGS_OF;
  tss_prepare(&tss_c, task_c_entry, stack_c + sizeof stack_c, (uint32_t)pd_main);
  tss_prepare(&tss_de, task_de_entry, stack_de + sizeof stack_de, (uint32_t)pd_main);
  tss_prepare(&tss_int, task_int_entry, stack_int + sizeof stack_int, (uint32_t)pd_main);
  tss_prepare(&tss_gp, task_gp_entry, stack_gp + sizeof stack_gp, (uint32_t)pd_main);
  gdt_set_tss(SEL_MAIN, &tss_main, sizeof tss_main - 1, TYPE_TSS32_AVAIL);
  gdt_set_tss(SEL_B, &tss_b, sizeof tss_b - 1, TYPE_TSS32_AVAIL);
  gdt_set_tss(SEL_C, &tss_c, sizeof tss_c - 1, TYPE_TSS32_AVAIL);
  gdt_set_task_gate(GATE_C, SEL_C, 0);
  gdt_set_tss(SEL_DE, &tss_de, sizeof tss_de - 1, TYPE_TSS32_AVAIL);
  gdt_set_tss(SEL_INT, &tss_int, sizeof tss_int - 1, TYPE_TSS32_AVAIL);
  gdt_set_tss(SEL_GP, &tss_gp, sizeof tss_gp - 1, TYPE_TSS32_AVAIL);
  /* The 16-bit task: 32-bit code at task16_code (CS base), flat data, a stack it never uses. */
  gdt_set_segment(CS_16, (uint32_t)task16_code, 0xFFFF, 0x9A, 0x4);
  tss_16.ip = 0;
  tss_16.flags = 0x2;
  tss_16.ax = 0x1601;
  tss_16.bx = 0x1602;
  tss_16.si = 0x1603;
  tss_16.sp = 0x1000;
  tss_16.cs = CS_16;
  tss_16.ss = tss_16.ds = tss_16.es = KERNEL_DS;
  gdt_set_tss(SEL_16, &tss_16, sizeof tss_16 - 1, TYPE_TSS16_AVAIL);
  idt_set_task_gate(0, SEL_DE);
  idt_set_task_gate(0x41, SEL_INT);
  idt_set_task_gate(13, SEL_GP);
  __asm__ volatile("ltr %w0" : : "r"(SEL_MAIN));
  write_cr4(read_cr4() | 0x10); /* PSE */
  write_cr3((uint32_t)pd_main);
  write_cr0(read_cr0() | 0x80000000u);
}

/* ---- task bodies (C, each on its own stack) ---- */

static volatile uint32_t b_tr, b_cr0, b_cr3, b_window, b_busy_main, b_busy_b;

void task_b_body(void)
{
  b_tr = read_tr();
  b_cr0 = read_cr0();
  b_cr3 = read_cr3();
  b_window = window();
  b_busy_main = gdt_type(SEL_MAIN);
  b_busy_b = gdt_type(SEL_B);
}

static volatile uint32_t c_tr, c_link, c_busy_main, c_busy_c;

void task_c_body(void)
{
  c_tr = read_tr();
  c_link = tss_c.link;
  c_busy_main = gdt_type(SEL_MAIN);
  c_busy_c = gdt_type(SEL_C);
}

static volatile uint32_t de_saved_eip, de_link, de_runs;

void task_de_body(void)
{
  de_runs++;
  de_saved_eip = tss_main.eip;
  de_link = tss_de.link;
  if (tss_main.eip == (uint32_t)de_insn)
    tss_main.eip = (uint32_t)de_after; /* step over the DIV */
}

static volatile uint32_t int_saved_eip, int_runs;

void task_int_body(void)
{
  int_runs++;
  int_saved_eip = tss_main.eip;
}

static volatile uint32_t gp_saved_eip, gp_runs;

void task_gp_body(void)
{
  gp_runs++;
  gp_saved_eip = tss_main.eip;
  if (tss_main.eip == (uint32_t)gp_insn)
    tss_main.eip = (uint32_t)gp_after;
  else
    halt_forever(); /* a #GP we did not cause: the summary will never print */
}

/* ---- the checks ---- */

static void test_jmp(void)
{
  check_eq("main sees 0x40000000 in page_a", window(), MAGIC_A);
  clts();
  jmp_to_b();
  static const uint32_t want_b[] = { 0xB0000001, 0xB0000002, 0xB0000003, 0xB0000004 };
  int regs_ok = 1;
  for (unsigned i = 0; i < 4; i++)
    regs_ok &= b_regs[i] == want_b[i];
  regs_ok &= b_regs[5] == 0xB0000005 && b_regs[6] == 0xB0000006 && b_regs[7] == 0xB0000007;
  check(regs_ok && b_regs[4] == (uint32_t)(stack_b + sizeof stack_b),
        "JMP: task B starts with its TSS's EAX..EDI (EAX 0x%x, ESP 0x%x)", b_regs[0], b_regs[4]);
  check_eq("JMP: task B's EFLAGS (CF ZF OF, NT clear)", b_regs[8], 0x2 | EFLAGS_CF | EFLAGS_ZF | EFLAGS_OF);
  check_eq("JMP: TR in task B", b_tr, SEL_B);
  check((b_cr0 & CR0_TS) != 0, "JMP: CR0.TS set by the task switch (CR0 0x%x)", b_cr0);
  check_eq("JMP: CR3 in task B", b_cr3, (uint32_t)pd_b);
  check_eq("JMP: task B sees 0x40000000 in page_b (its CR3)", b_window, MAGIC_B);
  check(b_busy_main == TYPE_TSS32_AVAIL && b_busy_b == TYPE_TSS32_BUSY,
        "JMP: in B, main's TSS type %u (available), B's %u (busy)", b_busy_main, b_busy_b);
  check(after_regs[0] == 0x13572468 && after_regs[1] == 0x1111aaaa && after_regs[4] == 0x4444dddd &&
            after_regs[6] == 0x6666ffff,
        "JMP back: main's registers restored (EAX 0x%x, EBP 0x%x)", after_regs[0], after_regs[6]);
  check((after_regs[7] & (EFLAGS_CF | EFLAGS_DF | EFLAGS_NT)) == (EFLAGS_CF | EFLAGS_DF),
        "JMP back: main's EFLAGS 0x%x has CF and DF as saved, NT clear", after_regs[7]);
  check_eq("JMP back: main sees 0x40000000 in page_a (its CR3)", window(), MAGIC_A);
  check_eq("JMP back: main's TSS type (busy)", gdt_type(SEL_MAIN), TYPE_TSS32_BUSY);
  check_eq("JMP back: B's TSS type (available)", gdt_type(SEL_B), TYPE_TSS32_AVAIL);
  check_eq("JMP back: B's saved EIP is after its JMP", tss_b.eip, (uint32_t)task_b_resume);
  check_eq("JMP: main's saved EIP was after its JMP", tss_main.eip, (uint32_t)main_resume_jmp);
}

static void test_call_iret(void)
{
  uint32_t ebx = call_gate_c();
  check((c_eflags & EFLAGS_NT) != 0, "CALL via task gate: NT set in task C (EFLAGS 0x%x)", c_eflags);
  check_eq("CALL via task gate: TR in task C", c_tr, SEL_C);
  check_eq("CALL via task gate: C's previous-task link", c_link, SEL_MAIN);
  check(c_busy_main == TYPE_TSS32_BUSY && c_busy_c == TYPE_TSS32_BUSY,
        "CALL: in C, main's TSS type %u and C's %u (both busy)", c_busy_main, c_busy_c);
  check_eq("IRET back: main's EBX restored", ebx, 0x600dca11);
  check_eq("IRET back: NT in main's EFLAGS", read_eflags() & EFLAGS_NT, 0);
  check_eq("IRET back: C's TSS type (available)", gdt_type(SEL_C), TYPE_TSS32_AVAIL);
  check_eq("IRET back: C's saved EFLAGS has NT clear", tss_c.eflags & EFLAGS_NT, 0);
  check_eq("IRET back: C's saved EIP is after its IRET", tss_c.eip, (uint32_t)task_c_resume);
}

static void test_exceptions(void)
{
  divide_by_zero();
  check_eq("#DE via task gate: handler task ran", de_runs, 1);
  check_eq("#DE via task gate: main's saved EIP is the DIV", de_saved_eip, (uint32_t)de_insn);
  check_eq("#DE via task gate: no error code on the task's stack", de_esp,
           (uint32_t)(stack_de + sizeof stack_de));
  check_eq("#DE via task gate: link", de_link, SEL_MAIN);
  int_41();
  check_eq("INT 0x41 via task gate: handler task ran", int_runs, 1);
  check_eq("INT 0x41 via task gate: main's saved EIP is after the INT", int_saved_eip, (uint32_t)int_after);
  check_eq("INT 0x41 via task gate: no error code", int_esp, (uint32_t)(stack_int + sizeof stack_int));
  load_bad_ds();
  check_eq("#GP via task gate: handler task ran", gp_runs, 1);
  check_eq("#GP via task gate: main's saved EIP is the MOV DS", gp_saved_eip, (uint32_t)gp_insn);
  check_eq("#GP via task gate: error code on the task's stack", gp_error, 0x1f8);
  check_eq("#GP via task gate: ESP after popping it", gp_esp, (uint32_t)(stack_gp + sizeof stack_gp));
}

static void test_tss16(void)
{
  uint32_t ebx = call_tss16();
  check_eq("16-bit TSS: the task ran", t16_ran, 1);
  check((t16_eax & 0xFFFF) == 0x1601 && (t16_ebx & 0xFFFF) == 0x1602 && (t16_esi & 0xFFFF) == 0x1603,
        "16-bit TSS: AX BX SI from the TSS (EAX 0x%x, EBX 0x%x)", t16_eax, t16_ebx);
  check_eq("16-bit TSS: previous-task link", tss_16.link, SEL_MAIN);
  check_eq("16-bit TSS: saved IP is after its IRET", tss_16.ip, (uint32_t)(task16_after_iret - task16_code));
  check_eq("16-bit TSS: type after the IRET (available)", gdt_type(SEL_16), TYPE_TSS16_AVAIL);
  check_eq("16-bit TSS: upper half of EBX kept from main (QEMU's model)", t16_ebx >> 16, 0x7777);
  check_eq("16-bit TSS: main's EBX restored", ebx, 0x7777abcd);
}

void main(void)
{
  uart_init();
  check_guest_name = "tasks";
  kprintf("tasks: JMP, CALL/IRET, task gates, 16-bit TSS\n");
  desc_init();
  setup();
  test_jmp();
  test_call_iret();
  test_exceptions();
  test_tss16();
  check_summary();
  outl(DEBUG_EXIT_PORT, checks_failed);
  halt_forever();
}
