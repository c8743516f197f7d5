/* 16550 UART, polled: wait for LSR.THRE (bit 5, "transmitter holding
   register empty", PC16550D datasheet), then write THR. */
#include "uart.h"
#include "io.h"

enum { THR = 0, IER = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5, DLL = 0, DLM = 1 };
enum { LSR_THRE = 0x20, LCR_DLAB = 0x80, LCR_8N1 = 0x03 };

void uart_init(void)
{
  outb(COM1 + IER, 0);           /* no interrupts: we poll */
  outb(COM1 + LCR, LCR_DLAB);    /* divisor 1: 115200 baud */
  outb(COM1 + DLL, 1);
  outb(COM1 + DLM, 0);
  outb(COM1 + LCR, LCR_8N1);
  outb(COM1 + FCR, 0x07);        /* enable and clear FIFOs */
  outb(COM1 + MCR, 0x03);        /* DTR, RTS */
}

void uart_putc(char c)
{
  while (!(inb(COM1 + LSR) & LSR_THRE))
    ;
  outb(COM1 + THR, (unsigned char)c);
}

void uart_puts(const char *s)
{
  while (*s)
    uart_putc(*s++);
}
