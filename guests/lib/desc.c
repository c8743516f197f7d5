#include "desc.h"
#include "check.h"
#include "io.h"
#include "print.h"

extern const uint32_t isr_table[32];
extern void isr128(void);

static uint64_t gdt[6] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
static struct tss32 tss __attribute__((aligned(16)));
static trap_handler_t handlers[256];
void (*trap_fatal_hook)(void);

/* Segment descriptor (SDM Figure 3-8): base 0, limit 0xFFFFF pages (4 GiB),
   G=1 D/B=1, with the given access byte (P, DPL, S, type). */
static uint64_t flat_segment(uint8_t access)
{
  return 0x00CF00000000FFFFull | ((uint64_t)access << 40);
}

/* 32-bit available TSS descriptor (SDM Figure 7-3), byte granular. */
static uint64_t tss_descriptor(uint32_t base, uint32_t limit)
{
  return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | (0x89ull << 40) |
         ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)(base >> 24) << 56);
}

/* 32-bit interrupt gate (SDM Figure 6-2): type 0xE, P=1, DPL 0 or 3. */
static uint64_t interrupt_gate(uint32_t offset, int dpl)
{
  uint8_t attr = (uint8_t)(0x8E | (dpl << 5));
  return (offset & 0xFFFF) | ((uint64_t)KERNEL_CS << 16) | ((uint64_t)attr << 40) |
         ((uint64_t)(offset >> 16) << 48);
}

void tss_set_esp0(uint32_t esp0)
{
  tss.esp0 = esp0;
}

void trap_set_handler(unsigned vector, trap_handler_t h, int user)
{
  handlers[vector & 0xFF] = h;
  uint32_t stub = vector == SYSCALL_VECTOR ? (uint32_t)isr128 : isr_table[vector & 31];
  idt[vector & 0xFF] = interrupt_gate(stub, user ? 3 : 0);
}

void gdt_load(const void *table, uint16_t bytes)
{
  struct pseudo_desc gdtr = { (uint16_t)(bytes - 1), (uint32_t)table };
  __asm__ volatile("lgdt %0\n\t"
                   "ljmp %1, $1f\n"
                   "1:\tmov %2, %%ax\n\t"
                   "mov %%ax, %%ds\n\tmov %%ax, %%es\n\tmov %%ax, %%fs\n\t"
                   "mov %%ax, %%gs\n\tmov %%ax, %%ss"
                   : : "m"(gdtr), "i"(KERNEL_CS), "i"(KERNEL_DS) : "eax", "memory");
}

void desc_init(void)
{
  gdt[0] = 0;
  gdt[KERNEL_CS >> 3] = flat_segment(0x9A); /* P, DPL 0, code execute/read */
  gdt[KERNEL_DS >> 3] = flat_segment(0x92); /* P, DPL 0, data read/write */
  gdt[USER_CS >> 3] = flat_segment(0xFA);   /* P, DPL 3, code */
  gdt[USER_DS >> 3] = flat_segment(0xF2);   /* P, DPL 3, data */
  tss.ss0 = KERNEL_DS;
  tss.iomap_base = sizeof tss; /* no I/O bitmap: ring 3 port I/O faults */
  gdt[TSS_SEL >> 3] = tss_descriptor((uint32_t)&tss, sizeof tss - 1);
  gdt_load(gdt, sizeof gdt);
  __asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
  for (unsigned v = 0; v < 32; v++)
    idt[v] = interrupt_gate(isr_table[v], 0);
  struct pseudo_desc idtr = { sizeof idt - 1, (uint32_t)idt };
  __asm__ volatile("lidt %0" : : "m"(idtr));
}

/* Called by isr.S for every trap. */
void trap_dispatch(struct trap_frame *f)
{
  trap_handler_t h = handlers[f->vector & 0xFF];
  if (h) {
    h(f);
    return;
  }
  static int reporting;
  if (reporting++) /* the report or the hook itself trapped: stop here */
    halt_forever();
  checks_failed++;
  kprintf("FAIL unexpected exception %u (error 0x%x) at %x:%x, CR2 0x%x\n", f->vector, f->error, f->cs, f->eip,
          read_cr2());
  check_summary();
  if (trap_fatal_hook)
    trap_fatal_hook();
  halt_forever();
}
