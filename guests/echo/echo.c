/* echo: console input through the 16550 UART's receive interrupt. The guest
 * remaps the master 8259A to vectors 0x20-0x27, unmasks IRQ 4 (COM1) only,
 * enables the UART's "received data available" interrupt (IER bit 0) and
 * gates INTR to the PIC with MCR OUT2 (PC16550D datasheet; on the PC OUT2
 * enables the IRQ driver), then halts with interrupts on. After each IRQ 4 it
 * reads every available byte (LSR bit 0, data ready) and echoes it in upper
 * case; on 'q' it prints "echo: bye" and writes 0 to the debug-exit port 0xF4
 * (the VM ends with status (0 << 1) | 1 = 1).
 */
#include <stdint.h>
#include "../lib/desc.h"
#include "../lib/io.h"
#include "../lib/pic.h"
#include "../lib/print.h"
#include "../lib/uart.h"

#define DEBUG_EXIT_PORT 0xF4
#define COM1_VECTOR 0x24
enum { RBR = 0, IER = 1, MCR = 4, LSR = 5 };
enum { IER_ERBFI = 0x01, MCR_DTR_RTS_OUT2 = 0x0B, LSR_DR = 0x01 };

extern void irq4_stub(void);
volatile uint32_t irqs;

/* Echoes every byte the receiver holds; returns 1 once 'q' arrived. */
static int drain(void)
{
  while (inb(COM1 + LSR) & LSR_DR) {
    char c = (char)inb(COM1 + RBR);
    if (c == 'q')
      return 1;
    uart_putc(c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c);
  }
  return 0;
}

void main(void)
{
  uart_init();
  desc_init();
  set_interrupt_gate(COM1_VECTOR, irq4_stub);
  pic_init(0xEF, 0xFF); /* unmask IRQ 4 only */
  outb(COM1 + MCR, MCR_DTR_RTS_OUT2);
  outb(COM1 + IER, IER_ERBFI);
  for (;;) {
    /* STI's blocking covers the HLT, so no interrupt slips in between (SDM Vol. 2B STI). */
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    if (irqs && drain())
      break;
  }
  kprintf("echo: bye\n");
  outl(DEBUG_EXIT_PORT, 0);
  for (;;)
    __asm__ volatile("cli; hlt");
}
