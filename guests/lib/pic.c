#include "pic.h"
#include "desc.h"
#include "io.h"

void set_interrupt_gate(unsigned vector, void (*handler)(void))
{
  struct __attribute__((packed)) { uint16_t limit; uint32_t base; } idtr;
  __asm__ volatile("sidt %0" : "=m"(idtr));
  uint64_t *idt = (uint64_t *)idtr.base;
  uint32_t off = (uint32_t)handler;
  idt[vector] = (uint64_t)((off & 0xFFFF) | ((uint32_t)KERNEL_CS << 16)) |
                ((uint64_t)((off & 0xFFFF0000u) | 0x8E00u) << 32);
}

void pic_init(uint8_t master_mask, uint8_t slave_mask)
{
  outb(0x20, 0x11);
  outb(0x21, PIC_MASTER_VECTOR);
  outb(0x21, 0x04);
  outb(0x21, 0x01);
  outb(0xA0, 0x11);
  outb(0xA1, PIC_SLAVE_VECTOR);
  outb(0xA1, 0x02);
  outb(0xA1, 0x01);
  outb(0x21, master_mask);
  outb(0xA1, slave_mask);
}
