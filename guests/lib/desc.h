/* Descriptor tables and traps (SDM Vol. 3A ch. 3, 6, 7): a flat GDT with
   ring 0 and ring 3 code/data and one 32-bit TSS, an IDT whose vectors
   0-31 and 0x80 go through common stubs (isr.S) to C handlers. */
#ifndef MOAT_GUEST_DESC_H
#define MOAT_GUEST_DESC_H
#include <stdint.h>

#define KERNEL_CS 0x08
#define KERNEL_DS 0x10
#define USER_CS   0x1B /* 0x18 | RPL 3 */
#define USER_DS   0x23 /* 0x20 | RPL 3 */
#define TSS_SEL   0x28

#define SYSCALL_VECTOR 0x80

/* What isr.S pushes, lowest address first, then what the CPU pushed. */
struct trap_frame {
  uint32_t gs, fs, es, ds;
  uint32_t edi, esi, ebp, esp_at_pushal, ebx, edx, ecx, eax;
  uint32_t vector, error;
  uint32_t eip, cs, eflags;
  uint32_t user_esp, user_ss; /* only when the trap came from ring 3 */
};

typedef void (*trap_handler_t)(struct trap_frame *f);

/* The 32-bit TSS (SDM Vol. 3A Figure 8-2). */
struct tss32 {
  uint32_t link, esp0, ss0, esp1, ss1, esp2, ss2, cr3, eip, eflags;
  uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
  uint32_t es, cs, ss, ds, fs, gs, ldt;
  uint16_t trap, iomap_base;
} __attribute__((packed));

/* The operand of LGDT/LIDT/SGDT/SIDT (SDM Figure 3-11): limit, then base. */
struct pseudo_desc {
  uint16_t limit;
  uint32_t base;
} __attribute__((packed));

/* Loads the GDT (reloading every segment register), the TSS and the IDT. */
void desc_init(void);
/* Loads the GDT of `bytes` bytes at `table`, then reloads CS (far jump) with
   KERNEL_CS and DS, ES, FS, GS, SS with KERNEL_DS (SDM §3.4.3: a segment
   register keeps its old descriptor until it is loaded again). */
void gdt_load(const void *table, uint16_t bytes);
/* Routes `vector` to `h`; `user` makes the gate callable from ring 3 (DPL 3). */
void trap_set_handler(unsigned vector, trap_handler_t h, int user);
void tss_set_esp0(uint32_t esp0);
/* IRETs to ring 3 at `entry` with stack `stack_top`, EFLAGS.IF = 0, IOPL 0. */
void enter_user(void (*entry)(void), void *stack_top) __attribute__((noreturn));
/* Called after an unexpected trap has been reported (default: halt). */
extern void (*trap_fatal_hook)(void);

#endif
