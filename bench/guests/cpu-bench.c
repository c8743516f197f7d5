/* cpu-bench: a CPU-bound guest for the interpreter benchmark (bench/cpu-guest.ts).
 *
 * Work, each result printed so a run on moat can be checked against a run on
 * QEMU and against known values:
 *   sieve:    primes below 1,000,000 with a byte sieve, 3 rounds (78498 each)
 *   checksum: CRC-32 (IEEE, bitwise) of a 64 KiB pseudo-random buffer, 4 rounds
 *   mix:      32-bit multiply/divide/shift mixing loop (a fixed number to compare)
 * Expected console output ends with the line "cpu-bench: done". Then it writes
 * 0 to the debug-exit port 0xF4 (QEMU isa-debug-exit and moat's debug-exit end
 * the VM there) and halts with interrupts off.
 */
#include <stdint.h>
#include "../../guests/lib/io.h"
#include "../../guests/lib/print.h"
#include "../../guests/lib/uart.h"

#define SIEVE_N 1000000u
static uint8_t composite[SIEVE_N];
static uint8_t buffer[65536];

static uint32_t sieve(void)
{
  for (uint32_t i = 0; i < SIEVE_N; i++) composite[i] = 0;
  uint32_t count = 0;
  for (uint32_t i = 2; i < SIEVE_N; i++) {
    if (composite[i]) continue;
    count++;
    for (uint32_t j = i * 2; j < SIEVE_N; j += i) composite[j] = 1;
  }
  return count;
}

static uint32_t crc32(const uint8_t *p, uint32_t n)
{
  uint32_t crc = 0xFFFFFFFFu;
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
  }
  return ~crc;
}

static uint32_t mix(uint32_t rounds)
{
  uint32_t a = 0x12345678u, b = 0x9abcdef1u;
  for (uint32_t i = 1; i <= rounds; i++) {
    a = a * 1664525u + 1013904223u;
    b ^= (a >> 7) | (a << 25);
    b += a / (i | 1);
    a ^= b % 65521u;
  }
  return a ^ b;
}

void main(void)
{
  uart_init();
  for (int r = 0; r < 3; r++) kprintf("sieve: %u primes below %u\n", sieve(), SIEVE_N);
  uint32_t x = 2463534242u;
  for (uint32_t i = 0; i < sizeof buffer; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buffer[i] = (uint8_t)x;
  }
  for (int r = 0; r < 4; r++) kprintf("checksum: crc32 %08x\n", crc32(buffer, sizeof buffer));
  kprintf("mix: %08x\n", mix(2000000u));
  kprintf("cpu-bench: done\n");
  outb(0xF4, 0);
}
