/* double-fault: #DF handled by a task gate, the classic way (SDM Vol. 3A
 * §6.15 Interrupt 8, Table 6-5; §8.3).
 *
 * Main runs with paging on; the page below its stack is not present. A PUSH
 * with ESP at the bottom of the stack page faults (#PF, error 2: write, not
 * present); delivering that #PF pushes onto the same missing page and faults
 * again, and a #PF during a #PF's delivery is a double fault (Table 6-5).
 * IDT vector 8 is a task gate, so the #DF runs in its own task, on a fresh
 * stack, with error code 0 pushed there. The #DF task checks, one
 * "ok"/"FAIL" line each:
 *   error code 0 on its stack, ESP at the top of its own stack after the pop;
 *   TR = the #DF TSS, NT set, previous-task link = main's TSS;
 *   CR2 = the address the PUSH wrote (4 below the stack page);
 *   main's TSS holds the PUSH's EIP and main's ESP (the stack page's base);
 *   both TSSs busy (a task gate nests, §8.4);
 * then "double-fault: N checks passed, 0 failed" and the debug-exit port
 * (0xF4) gets the number of failed checks. The same image runs on QEMU.
 */
#include <stdint.h>
#include "../lib/check.h"
#include "../lib/desc.h"
#include "../lib/io.h"
#include "../lib/print.h"
#include "../lib/uart.h"
#include "../tasks/task-lib.h"

#define DEBUG_EXIT_PORT 0xF4
#define SEL_MAIN 0x28
#define SEL_DF 0x30
#define PAGE 4096

static struct tss32 tss_main, tss_df;
static uint32_t page_dir[1024] __attribute__((aligned(PAGE)));
static uint32_t page_table0[1024] __attribute__((aligned(PAGE)));
/* Page 0: the guard (not present); page 1: main's stack for the overflow. */
static uint8_t overflow[2 * PAGE] __attribute__((aligned(PAGE)));
static uint8_t df_stack[8192] __attribute__((aligned(16)));

/* Written by df-entry.S. */
volatile uint32_t df_error, df_esp;
void df_task_entry(void);
void overflow_stack(void *esp) __attribute__((noreturn));
extern const char overflow_push[];

void df_task_body(void)
{
  uint32_t stack_page = (uint32_t)overflow + PAGE;
  check_eq("#DF error code on the #DF task's stack", df_error, 0);
  check_eq("#DF task ESP after popping it (a fresh stack)", df_esp, (uint32_t)(df_stack + sizeof df_stack));
  check_eq("TR in the #DF task", read_tr(), SEL_DF);
  check((read_eflags() & EFLAGS_NT) != 0, "NT set in the #DF task (EFLAGS 0x%x)", read_eflags());
  check_eq("#DF task's previous-task link", tss_df.link, SEL_MAIN);
  check_eq("CR2 = the PUSH's address below the stack page", read_cr2(), stack_page - 4);
  check_eq("main's saved EIP is the PUSH", tss_main.eip, (uint32_t)overflow_push);
  check_eq("main's saved ESP is the stack page's base", tss_main.esp, stack_page);
  check(gdt_type(SEL_MAIN) == TYPE_TSS32_BUSY && gdt_type(SEL_DF) == TYPE_TSS32_BUSY,
        "main's TSS type %u and the #DF task's %u (both busy)", gdt_type(SEL_MAIN), gdt_type(SEL_DF));
  check_summary();
  outl(DEBUG_EXIT_PORT, checks_failed);
  halt_forever();
}

void main(void)
{
  uart_init();
  check_guest_name = "double-fault";
  kprintf("double-fault: stack overflow, #PF during #PF delivery, #DF task gate\n");
  desc_init();
  task_gdt_install();
  for (unsigned i = 0; i < 1024; i++)
    page_table0[i] = (i << 12) | 0x3;
  page_table0[(uint32_t)overflow >> 12] = 0; /* the guard page */
  page_dir[0] = (uint32_t)page_table0 | 0x3;
  for (unsigned i = 1; i < 4; i++)
    page_dir[i] = (i << 22) | 0x83; /* 4 MiB pages up to 16 MiB */
  tss_prepare(&tss_main, 0, 0, (uint32_t)page_dir);
  tss_prepare(&tss_df, df_task_entry, df_stack + sizeof df_stack, (uint32_t)page_dir);
  gdt_set_tss(SEL_MAIN, &tss_main, sizeof tss_main - 1, TYPE_TSS32_AVAIL);
  gdt_set_tss(SEL_DF, &tss_df, sizeof tss_df - 1, TYPE_TSS32_AVAIL);
  idt_set_task_gate(8, SEL_DF);
  __asm__ volatile("ltr %w0" : : "r"(SEL_MAIN));
  write_cr4(read_cr4() | 0x10);
  write_cr3((uint32_t)page_dir);
  write_cr0(read_cr0() | 0x80000000u);
  overflow_stack(overflow + PAGE);
}
