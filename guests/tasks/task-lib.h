/* Hardware task management for the tasks and double-fault guests (SDM
   Vol. 3A chapter 8): the 32-bit TSS (Figure 8-2) and the 16-bit one
   (Figure 8-11), TSS descriptors (Figure 8-3), task gates (Figure 8-5) in
   the GDT and the IDT, and a GDT of our own with the flat segments of
   guests/lib/desc.h at the same selectors (its trap stubs reload 0x10). */
#ifndef MOAT_GUEST_TASK_LIB_H
#define MOAT_GUEST_TASK_LIB_H
#include <stdint.h>
#include "../lib/desc.h" /* struct tss32, gdt_load */

struct tss16 {
  uint16_t link, sp0, ss0, sp1, ss1, sp2, ss2, ip, flags;
  uint16_t ax, cx, dx, bx, sp, bp, si, di;
  uint16_t es, cs, ss, ds, ldt;
} __attribute__((packed));

#define TYPE_TSS16_AVAIL 0x1
#define TYPE_TSS16_BUSY 0x3
#define TYPE_TSS32_AVAIL 0x9
#define TYPE_TSS32_BUSY 0xB

#define EFLAGS_CF 0x0001u
#define EFLAGS_ZF 0x0040u
#define EFLAGS_DF 0x0400u
#define EFLAGS_OF 0x0800u
#define EFLAGS_NT 0x4000u
#define CR0_TS 0x8u

extern uint64_t task_gdt[32];

/* Loads task_gdt (flat ring 0/3 code and data at 0x08-0x20) and reloads every segment register. */
void task_gdt_install(void);
/* A byte-granular code or data descriptor with access byte `access` and flags nibble `flags` (G, D/B). */
void gdt_set_segment(uint16_t sel, uint32_t base, uint32_t limit, uint8_t access, uint8_t flags);
/* A TSS descriptor (DPL 0, present) of `type` (TYPE_TSS*). */
void gdt_set_tss(uint16_t sel, const void *tss, uint32_t limit, uint8_t type);
void gdt_set_task_gate(uint16_t sel, uint16_t tss_sel, int dpl);
void idt_set_task_gate(unsigned vector, uint16_t tss_sel);
/* The type field of the descriptor at `sel` (busy flag = bit 1). */
unsigned gdt_type(uint16_t sel);
/* A ring-0 task starting at `entry` with its own stack, flat segments, EFLAGS 0x2, `cr3`. */
void tss_prepare(struct tss32 *t, void (*entry)(void), void *stack_top, uint32_t cr3);

static inline uint16_t read_tr(void) { uint16_t v; __asm__ volatile("str %0" : "=r"(v)); return v; }
static inline uint32_t read_cr3(void) { uint32_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint32_t read_eflags(void) { uint32_t v; __asm__ volatile("pushf; pop %0" : "=r"(v)); return v; }
static inline void clts(void) { __asm__ volatile("clts"); }

#endif
