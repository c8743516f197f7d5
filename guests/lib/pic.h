/* Hardware interrupts for guests that take them: a raw IDT gate for an
   assembly stub, and the 8259A pair remapped above the exceptions. */
#ifndef MOAT_GUEST_PIC_H
#define MOAT_GUEST_PIC_H
#include <stdint.h>

#define PIC_MASTER_VECTOR 0x20
#define PIC_SLAVE_VECTOR  0x28

/* A ring-0 32-bit interrupt gate (type 0xE, P=1) for `handler` at `vector` of the loaded IDT. */
void set_interrupt_gate(unsigned vector, void (*handler)(void));
/* ICW1-ICW4 for both 8259As (edge, cascade on IR2, 8086 mode), vectors 0x20 and 0x28,
   then OCW1 with the given masks (a set bit masks that IRQ). Intel 8259A datasheet. */
void pic_init(uint8_t master_mask, uint8_t slave_mask);

#endif
