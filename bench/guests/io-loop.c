/* io-loop: the exit round-trip guest in C, for the peers (bench/exit-roundtrip.ts).
 * Prints "io-loop: start", executes OUT to port 0x80 (POST code port, no
 * device behind it) LOOPS times, prints "io-loop: done" and ends at the
 * debug-exit port 0xF4. The time between the two lines on COM1, over LOOPS,
 * is the cost of one port write to nothing: a VM exit to the VMM on moat,
 * an I/O dispatch inside the emulator on QEMU TCG and v86.
 * LOOPS comes in at the build as -DLOOPS=... */
#include <stdint.h>
#include "../../guests/lib/io.h"
#include "../../guests/lib/print.h"
#include "../../guests/lib/uart.h"

void main(void)
{
  uart_init();
  kprintf("io-loop: start\n");
  for (uint32_t i = 0; i < LOOPS; i++) outb(0x80, (uint8_t)i);
  kprintf("io-loop: done\n");
  outb(0xF4, 0);
}
