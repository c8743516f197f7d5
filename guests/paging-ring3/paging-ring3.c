/* paging-ring3: protected-mode machinery a real OS kernel uses.
 *
 * Ring 0 builds its own GDT (ring 0/3 code and data, a 32-bit TSS), an IDT
 * (#PF, #GP, and an int 0x80 gate with DPL 3) and page tables: the first
 * 4 MiB in 4 KiB pages, 4-8 MiB as one 4 MiB PSE page, and an alias of
 * 4-8 MiB at 8-12 MiB (another PSE page). Within the 4 KiB pages, four test
 * pages differ: not present, user read-only, kernel read-only (U=1 but RW=0,
 * for CR0.WP) and supervisor-only. It turns on CR4.PSE, CR0.PG|WP, does LTR
 * and IRETs to ring 3. Needs at least 8 MiB of guest RAM.
 *
 * Expected console output (what each check saw follows on its line):
 *   paging-ring3: GDT, TSS, IDT, PSE paging, ring 3
 *   ok   paging on: CR0 0x80010011, CR4 0x10
 *   ok   word at 4 MiB + 4 KiB after a store through the 8 MiB alias = 0xa11a5
 *   ok   #PF on ring 0 write, read-only page, CR0.WP: error 0x3 ...
 *   ok   ring 0 write to the read-only page, after the fault = 0xc0de
 *   in ring 3
 *   ok   CPL from CS: got 0x3, want 0x3
 *   ok   #PF on not-present page: error 0x6 ..., CR2 = the address
 *   ok   value written to the not-present page, after the fault ...
 *   ok   faults on the not-present page: got 0x1, want 0x1
 *   ok   #PF on user read-only page: error 0x7 ...
 *   ok   value written to the user read-only page, after the fault ...
 *   ok   #PF on user read, supervisor page: error 0x5 ...
 *   ok   value read from the supervisor page, after the fault ...
 *   ok   CLI at CPL 3 -> #GP(0x0) from CS 0x1b at <user_cli>
 *   ok   HLT at CPL 3 -> #GP(0x0) from CS 0x1b at <user_hlt>
 *   back in ring 0 (CS 0x8) from the exit syscall
 *   paging-ring3: 14 checks passed, 0 failed
 * then cli; hlt: the VMM stops the VM with "halted". Any unexpected trap
 * prints "FAIL unexpected ..." and the summary, then halts.
 * (guests/guests.test.ts checks this output on QEMU when it is installed.)
 */
#include <stdint.h>
#include "../lib/check.h"
#include "../lib/desc.h"
#include "../lib/io.h"
#include "../lib/print.h"
#include "../lib/uart.h"

#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_US 0x004
#define PDE_PS 0x080 /* 4 MiB page (CR4.PSE) */
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define PAGE 4096

#define PF_P 0x1  /* protection violation (else not present) */
#define PF_W 0x2  /* write */
#define PF_U 0x4  /* user mode */

enum { SYS_PUTS = 1, SYS_CHECK = 2, SYS_EXIT = 3 };

static uint32_t page_dir[1024] __attribute__((aligned(PAGE)));
static uint32_t page_table0[1024] __attribute__((aligned(PAGE)));
/* The four test pages, each alone in its page. */
static volatile uint32_t np_page[1024] __attribute__((aligned(PAGE)));
static volatile uint32_t ro_user_page[1024] __attribute__((aligned(PAGE)));
static volatile uint32_t ro_kernel_page[1024] __attribute__((aligned(PAGE)));
static volatile uint32_t sup_page[1024] __attribute__((aligned(PAGE)));
static uint8_t kernel_stack[16384] __attribute__((aligned(16)));
static uint8_t user_stack[16384] __attribute__((aligned(16)));

void user_cli(void);
void user_hlt(void);

/* The fault each test page is expected to raise next. */
struct expected_fault {
  volatile uint32_t *page;
  const char *what;
  uint32_t error;
  uint32_t fixup; /* PTE bits the handler adds to let the access through */
  uint32_t seen;  /* faults taken on this page */
};

static struct expected_fault faults[] = {
  { np_page, "not-present page", PF_U | PF_W, PTE_P | PTE_RW | PTE_US, 0 },
  { ro_user_page, "user read-only page", PF_U | PF_W | PF_P, PTE_RW, 0 },
  { ro_kernel_page, "ring 0 write, read-only page, CR0.WP", PF_W | PF_P, PTE_RW, 0 },
  { sup_page, "user read, supervisor page", PF_U | PF_P, PTE_US, 0 },
};

static void finish(void) __attribute__((noreturn));
static void finish(void)
{
  check_summary();
  halt_forever();
}

static uint32_t *pte_of(volatile void *p)
{
  return &page_table0[((uint32_t)p >> 12) & 0x3FF];
}

static void on_page_fault(struct trap_frame *f)
{
  uint32_t cr2 = read_cr2();
  for (unsigned i = 0; i < sizeof faults / sizeof faults[0]; i++) {
    struct expected_fault *e = &faults[i];
    if ((cr2 & ~(PAGE - 1)) != (uint32_t)e->page)
      continue;
    check(f->error == e->error && cr2 == (uint32_t)&e->page[5] && e->seen == 0,
          "#PF on %s: error 0x%x (want 0x%x), CR2 0x%x (want 0x%x)", e->what, f->error, e->error, cr2,
          (uint32_t)&e->page[5]);
    e->seen++;
    uint32_t *pte = pte_of(e->page);
    *pte = (uint32_t)e->page | (*pte & (PAGE - 1)) | e->fixup; /* a not-present PTE has no frame yet */
    invlpg(e->page);
    return;
  }
  check(0, "unexpected #PF error 0x%x at EIP 0x%x, CR2 0x%x", f->error, f->eip, cr2);
  finish();
}

static void on_gp(struct trap_frame *f)
{
  const char *what = f->eip == (uint32_t)user_cli ? "CLI" : f->eip == (uint32_t)user_hlt ? "HLT" : 0;
  if (!what) {
    check(0, "unexpected #GP(0x%x) at %x:%x", f->error, f->cs, f->eip);
    finish();
  }
  check(f->error == 0 && (f->cs & 3) == 3, "%s at CPL 3 -> #GP(0x%x) from CS 0x%x at 0x%x", what, f->error, f->cs,
        f->eip);
  f->eip += 1; /* both are one byte */
}

/* int 0x80: EAX = function, EBX.. = arguments. */
static void on_syscall(struct trap_frame *f)
{
  switch (f->eax) {
  case SYS_PUTS:
    uart_puts((const char *)f->ebx);
    break;
  case SYS_CHECK: /* EBX = ok, ECX = text, EDX = got, ESI = want */
    check((int)f->ebx, "%s: got 0x%x, want 0x%x", (const char *)f->ecx, f->edx, f->esi);
    break;
  case SYS_EXIT:
    kprintf("back in ring 0 (CS 0x%x) from the exit syscall\n", read_cs());
    finish();
  default:
    check(0, "unknown syscall %u", f->eax);
  }
}

/* ---- ring 3 ---- */

static void sys_puts(const char *s)
{
  __asm__ volatile("int $0x80" : : "a"(SYS_PUTS), "b"(s) : "memory");
}

static void sys_check(const char *what, uint32_t got, uint32_t want)
{
  __asm__ volatile("int $0x80" : : "a"(SYS_CHECK), "b"(got == want), "c"(what), "d"(got), "S"(want) : "memory");
}

static void user_main(void)
{
  uint16_t cs;
  __asm__ volatile("mov %%cs, %0" : "=r"(cs));
  sys_puts("in ring 3\n");
  sys_check("CPL from CS", cs & 3, 3);
  np_page[5] = 0x600D;
  sys_check("value written to the not-present page, after the fault", np_page[5], 0x600D);
  sys_check("faults on the not-present page", faults[0].seen, 1);
  ro_user_page[5] = 0x1234;
  sys_check("value written to the user read-only page, after the fault", ro_user_page[5], 0x1234);
  uint32_t v = sup_page[5];
  sys_check("value read from the supervisor page, after the fault", v, 0x5EC);
  user_cli();
  user_hlt();
  __asm__ volatile("int $0x80" : : "a"(SYS_EXIT));
  for (;;)
    ;
}

/* ---- ring 0 ---- */

static void build_page_tables(void)
{
  for (uint32_t i = 0; i < 1024; i++)
    page_table0[i] = (i * PAGE) | PTE_P | PTE_RW | PTE_US;
  *pte_of(np_page) = 0;
  *pte_of(ro_user_page) &= ~PTE_RW;
  *pte_of(ro_kernel_page) &= ~PTE_RW;
  *pte_of(sup_page) &= ~PTE_US;
  page_dir[0] = (uint32_t)page_table0 | PTE_P | PTE_RW | PTE_US;
  page_dir[1] = 0x400000 | PDE_PS | PTE_P | PTE_RW | PTE_US; /* 4-8 MiB, identity */
  page_dir[2] = 0x400000 | PDE_PS | PTE_P | PTE_RW | PTE_US; /* 8-12 MiB -> 4-8 MiB */
}

void main(void)
{
  uart_init();
  check_guest_name = "paging-ring3";
  kprintf("paging-ring3: GDT, TSS, IDT, PSE paging, ring 3\n");
  desc_init();
  trap_set_handler(13, on_gp, 0);
  trap_set_handler(14, on_page_fault, 0);
  trap_set_handler(SYSCALL_VECTOR, on_syscall, 1);
  tss_set_esp0((uint32_t)(kernel_stack + sizeof kernel_stack));
  sup_page[5] = 0x5EC;
  build_page_tables();
  write_cr3((uint32_t)page_dir);
  write_cr4(read_cr4() | CR4_PSE);
  write_cr0(read_cr0() | CR0_PG | CR0_WP);
  check((read_cr0() & (CR0_PG | CR0_WP)) == (CR0_PG | CR0_WP) && (read_cr4() & CR4_PSE),
        "paging on: CR0 0x%x, CR4 0x%x", read_cr0(), read_cr4());
  volatile uint32_t *low = (uint32_t *)0x401000, *alias = (uint32_t *)0x801000;
  *alias = 0xA11A5;
  check_eq("word at 4 MiB + 4 KiB after a store through the 8 MiB alias", *low, 0xA11A5);
  ro_kernel_page[5] = 0xC0DE;
  check_eq("ring 0 write to the read-only page, after the fault", ro_kernel_page[5], 0xC0DE);
  enter_user(user_main, user_stack + sizeof user_stack);
}
