/* hello: the smallest moat guest.
 *
 * Expected console output (COM1), exactly:
 *   Hello from moat guest
 * then the guest executes cli; hlt, and the VMM stops the VM with
 * stop_reason "halted" (HLT with EFLAGS.IF = 0).
 *
 * Built twice: guests/build/hello.elf (ELF32) and guests/build/hello.bin
 * (flat binary, load and entry at 0x100000).
 */
#include "../lib/uart.h"

void main(void)
{
  uart_init();
  uart_puts("Hello from moat guest\n");
  /* returns to start.S: cli; hlt */
}
