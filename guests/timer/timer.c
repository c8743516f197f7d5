/* timer: interrupts from the 8254 PIT through the 8259A PIC wake a halted
 * CPU. The guest remaps the master PIC to vectors 0x20-0x27 and unmasks IRQ 0
 * only, programs PIT counter 0 as a rate generator (mode 2) with divisor
 * 11932 (100 Hz of the PC's 1.193182 MHz clock), then halts with interrupts
 * on (sti; hlt) until 10 ticks arrived.
 *
 * Checks (oracles: Intel 8259A and 8254 datasheets; moat's virtual TSC runs
 * at 100 MHz, DESIGN.md §5):
 *   - 10 ticks arrive, each waking exactly one HLT;
 *   - from tick 1 to tick 10 pass 9 periods of 11932 PIT cycles:
 *     9 * 11932 / 1193182 s = 9000002 TSC cycles at 100 MHz (within 10 us);
 *   - IRR of the master PIC is clear at the end (OCW3 read IRR: nothing pending
 *     beyond what the handler acknowledged).
 * Expected console output ends with
 *   timer: 3 checks passed, 0 failed
 * then the guest writes checks_failed to the debug-exit port 0xF4, so the VM
 * ends with status (0 << 1) | 1 = 1 when every check passed.
 */
#include <stdint.h>
#include "../lib/check.h"
#include "../lib/desc.h"
#include "../lib/io.h"
#include "../lib/pic.h"
#include "../lib/print.h"
#include "../lib/uart.h"

#define TICKS 10
#define PIT_DIVISOR 11932
#define PIT_HZ 1193182u
#define TSC_HZ 100000000u
#define DEBUG_EXIT_PORT 0xF4

extern void irq0_stub(void);
volatile uint32_t ticks;

static inline uint64_t rdtsc(void)
{
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

/* Counter 0, LSB then MSB, mode 2 (rate generator), binary. */
static void pit_init(uint16_t divisor)
{
  outb(0x43, 0x34);
  outb(0x40, divisor & 0xFF);
  outb(0x40, divisor >> 8);
}

void main(void)
{
  check_guest_name = "timer";
  uart_init();
  desc_init();
  set_interrupt_gate(0x20, irq0_stub);
  pic_init(0xFE, 0xFF); /* unmask IRQ 0 only */
  pit_init(PIT_DIVISOR);

  uint32_t wakeups = 0;
  uint64_t first = 0, last = 0;
  while (ticks < TICKS) {
    /* STI's blocking covers the HLT, so no interrupt slips in between (SDM Vol. 2B STI). */
    __asm__ volatile("sti; hlt; cli" ::: "memory");
    wakeups++;
    if (ticks == 1 && first == 0)
      first = rdtsc();
    if (ticks == TICKS)
      last = rdtsc();
  }
  kprintf("timer: %u ticks, %u wakeups\n", ticks, wakeups);
  check(ticks == TICKS && wakeups == TICKS, "%u ticks woke %u HLTs, one each", ticks, wakeups);

  uint64_t want = ((uint64_t)(TICKS - 1) * PIT_DIVISOR * TSC_HZ + PIT_HZ / 2) / PIT_HZ;
  uint32_t elapsed = (uint32_t)(last - first);
  int32_t error = (int32_t)(elapsed - (uint32_t)want);
  check(error > -1000 && error < 1000, "tick 1 to tick %u: %u TSC cycles, want %u", TICKS, elapsed, (uint32_t)want);

  outb(0x20, 0x0A); /* OCW3: read IRR */
  check_eq("master PIC IRR", inb(0x20), 0);

  check_summary();
  outl(DEBUG_EXIT_PORT, checks_failed);
  halt_forever();
}
