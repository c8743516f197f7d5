/* idle: a long-running guest for the memory benchmark (bench/memory.ts).
 * Prints "memory-bench: up" on COM1, then counts in a loop forever, as a
 * VM that is alive but does no I/O: the benchmark samples host memory once
 * every VM has printed its line, then destroys the VMs. Runs unchanged on
 * QEMU and v86 (Multiboot header in guests/lib/start.S).
 */
#include <stdint.h>
#include "../../guests/lib/print.h"
#include "../../guests/lib/uart.h"

void main(void)
{
  uart_init();
  kprintf("memory-bench: up\n");
  volatile uint32_t spins = 0;
  for (;;) spins++;
}
