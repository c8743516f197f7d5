/* Polled output on the 16550 UART at COM1 (0x3F8). */
#ifndef MOAT_GUEST_UART_H
#define MOAT_GUEST_UART_H

#define COM1 0x3F8

void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);

#endif
