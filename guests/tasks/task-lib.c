#include "task-lib.h"

uint64_t task_gdt[32] __attribute__((aligned(8)));

static uint64_t descriptor(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
  return (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | ((uint64_t)access << 40) |
         ((uint64_t)((limit >> 16) & 0xF) << 48) | ((uint64_t)(flags & 0xF) << 52) | ((uint64_t)(base >> 24) << 56);
}

void gdt_set_segment(uint16_t sel, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
  task_gdt[sel >> 3] = descriptor(base, limit, access, flags);
}

void gdt_set_tss(uint16_t sel, const void *tss, uint32_t limit, uint8_t type)
{
  task_gdt[sel >> 3] = descriptor((uint32_t)tss, limit, (uint8_t)(0x80 | type), 0);
}

/* Figure 8-5: TSS selector in bits 31:16, type 5, P, DPL. */
static uint64_t task_gate(uint16_t tss_sel, int dpl)
{
  return ((uint64_t)tss_sel << 16) | ((uint64_t)(0x85 | (dpl << 5)) << 40);
}

void gdt_set_task_gate(uint16_t sel, uint16_t tss_sel, int dpl)
{
  task_gdt[sel >> 3] = task_gate(tss_sel, dpl);
}

void idt_set_task_gate(unsigned vector, uint16_t tss_sel)
{
  struct pseudo_desc idtr;
  __asm__ volatile("sidt %0" : "=m"(idtr));
  ((volatile uint64_t *)idtr.base)[vector] = task_gate(tss_sel, 0);
}

unsigned gdt_type(uint16_t sel)
{
  return (unsigned)(task_gdt[sel >> 3] >> 40) & 0xF;
}

void task_gdt_install(void)
{
  gdt_set_segment(KERNEL_CS, 0, 0xFFFFF, 0x9A, 0xC);
  gdt_set_segment(KERNEL_DS, 0, 0xFFFFF, 0x92, 0xC);
  gdt_set_segment(USER_CS, 0, 0xFFFFF, 0xFA, 0xC);
  gdt_set_segment(USER_DS, 0, 0xFFFFF, 0xF2, 0xC);
  gdt_load(task_gdt, sizeof task_gdt);
}

void tss_prepare(struct tss32 *t, void (*entry)(void), void *stack_top, uint32_t cr3)
{
  uint8_t *p = (uint8_t *)t;
  for (unsigned i = 0; i < sizeof *t; i++)
    p[i] = 0;
  t->eip = (uint32_t)entry;
  t->eflags = 0x2;
  t->esp = (uint32_t)stack_top;
  t->cs = KERNEL_CS;
  t->ss = t->ds = t->es = KERNEL_DS;
  t->ss0 = KERNEL_DS;
  t->esp0 = (uint32_t)stack_top;
  t->cr3 = cr3;
  t->iomap_base = sizeof *t;
}
