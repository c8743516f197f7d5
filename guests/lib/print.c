#include "print.h"
#include <stdint.h>
#include "uart.h"

static void put_unsigned(uint32_t v, unsigned base, int width, char pad)
{
  char buf[12];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (width-- > n)
    uart_putc(pad);
  while (n)
    uart_putc(buf[--n]);
}

void kvprintf(const char *fmt, va_list ap)
{
  for (; *fmt; fmt++) {
    if (*fmt != '%') {
      uart_putc(*fmt);
      continue;
    }
    fmt++;
    char pad = ' ';
    int width = 0;
    if (*fmt == '0')
      pad = '0';
    while (*fmt >= '0' && *fmt <= '9')
      width = width * 10 + (*fmt++ - '0');
    switch (*fmt) {
    case 's': uart_puts(va_arg(ap, const char *)); break;
    case 'c': uart_putc((char)va_arg(ap, int)); break;
    case 'u': put_unsigned(va_arg(ap, uint32_t), 10, width, pad); break;
    case 'x': put_unsigned(va_arg(ap, uint32_t), 16, width, pad); break;
    case 'd': {
      int32_t v = va_arg(ap, int32_t);
      if (v < 0) {
        uart_putc('-');
        put_unsigned(-(uint32_t)v, 10, width - 1, pad);
      } else {
        put_unsigned((uint32_t)v, 10, width, pad);
      }
      break;
    }
    case '%': uart_putc('%'); break;
    case '\0': return;
    default: uart_putc('%'); uart_putc(*fmt); break;
    }
  }
}

void kprintf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  kvprintf(fmt, ap);
  va_end(ap);
}
