/* A tiny printf: %s %c %d %u %x with an optional zero-padded width (%08x). */
#ifndef MOAT_GUEST_PRINT_H
#define MOAT_GUEST_PRINT_H
#include <stdarg.h>

void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);

#endif
