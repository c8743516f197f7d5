/* debug: the debug-exception machinery of SDM Vol. 3B ch. 17, checked from
 * inside the guest; the #DB handler records the saved EIP, DR6 and DR7 of
 * every exception, then the checks compare them with what the SDM says:
 *   - TF single-step (§17.3.1.4): a trap after every instruction (also after
 *     OUT and CPUID, which exit to the hypervisor and are completed there), saved EIP
 *     = the next instruction, DR6.BS; none after the POPF that sets TF (the
 *     first trap follows the next instruction), one after the POPF that
 *     clears it;
 *   - instruction breakpoint (DR0, R/W 00, §17.3.1.1): a fault, saved EIP =
 *     the instruction, DR6.B0; EFLAGS.RF in the IRET image resumes it;
 *   - data breakpoints (§17.2.5, §17.3.1.2): write-only (R/W 01) and
 *     read/write (R/W 11), lengths 1, 2 and 4: traps after the access with
 *     DR6.Bn, nothing for bytes outside DRn..DRn+LEN-1 or for a read of a
 *     write-only breakpoint;
 *   - I/O breakpoint (R/W 10 with CR4.DE, §17.2.4): a trap after OUT to the port;
 *   - general detect (DR7.GD, §17.2.4): MOV DR is a fault with DR6.BD, and
 *     the processor clears GD on entry to the handler;
 *   - INT1 / ICEBP (F1): a trap-class #DB (saved EIP after it) that sets no
 *     B0-B3, BD or BS bit in DR6.
 * DR6 reads with its reserved bits set (FFFF0FF0H after the handler clears
 * it, §17.2.3). The same checks pass on QEMU (guests/guests.test.ts).
 * Expected output: "ok ..." lines, then "debug: 44 checks passed, 0 failed";
 * the VM ends through the debug-exit port 0xF4 with the failure count.
 */
#include <stdint.h>
#include "../lib/check.h"
#include "../lib/desc.h"
#include "../lib/io.h"
#include "../lib/print.h"
#include "../lib/uart.h"

#define DEBUG_EXIT_PORT 0xF4
#define EFLAGS_RF (1u << 16)
#define CR4_DE (1u << 3)
#define DR6_B(n) (1u << (n))
#define DR6_BD (1u << 13)
#define DR6_BS (1u << 14)
#define DR6_STATUS 0xe00fu /* B0-B3, BD, BS, BT */
#define DR7_GD (1u << 13)
#define DR7_L(n) (1u << (2 * (n)))
#define DR7_RW(n, v) ((uint32_t)(v) << (16 + 4 * (n)))
#define DR7_LEN(n, v) ((uint32_t)(v) << (18 + 4 * (n)))
enum { RW_EXEC = 0, RW_WRITE = 1, RW_IO = 2, RW_RDWR = 3 };
enum { LEN1 = 0, LEN2 = 1, LEN4 = 3 };

extern char ss_l2[], ss_l3[], ss_l4[], ss_l5[], ss_l6[];
extern char sx_l2[], sx_l3[], sx_l4[], sx_l5[], sx_l6[], sx_l7[];
extern char ibp_insn[], store_b_end[], store_w_end[], load_l_end[], out_probe_end[], gd_insn[], icebp_next[];
void ss_probe(void);
void sx_probe(void);
uint32_t ibp_probe(void);
void store_b(volatile void *p, uint32_t v);
void store_w(volatile void *p, uint32_t v);
uint32_t load_l(volatile void *p);
void out_probe(void);
void gd_probe(void);
void icebp_probe(void);

#define MAX_DB 8
static volatile uint32_t db_count, db_eip[MAX_DB], db_dr6[MAX_DB], db_dr7[MAX_DB];
/* What the handler does besides recording: set RF in the IRET image, or skip the 3-byte MOV DR. */
static volatile enum { DB_RECORD, DB_RESUME_RF, DB_SKIP_MOV_DR } db_mode;
static volatile uint32_t watch[4] __attribute__((aligned(16)));

#define RD_DR(n)                                          \
  static inline uint32_t read_dr##n(void)                 \
  {                                                       \
    uint32_t v;                                           \
    __asm__ volatile("mov %%dr" #n ", %0" : "=r"(v));     \
    return v;                                             \
  }                                                       \
  static inline void write_dr##n(uint32_t v)              \
  {                                                       \
    __asm__ volatile("mov %0, %%dr" #n : : "r"(v));       \
  }
RD_DR(0)
RD_DR(1)
RD_DR(2)
RD_DR(6)
RD_DR(7)

static void db_handler(struct trap_frame *f)
{
  uint32_t n = db_count++;
  if (n < MAX_DB) {
    db_eip[n] = f->eip;
    db_dr6[n] = read_dr6();
    db_dr7[n] = read_dr7();
  }
  write_dr6(0); /* DR6 is never cleared by the processor (§17.2.3) */
  if (db_mode == DB_RESUME_RF)
    f->eflags |= EFLAGS_RF;
  else if (db_mode == DB_SKIP_MOV_DR)
    f->eip += 3;
}

static void db_reset(int mode)
{
  db_count = 0;
  db_mode = mode;
  for (int i = 0; i < MAX_DB; i++)
    db_eip[i] = db_dr6[i] = db_dr7[i] = 0;
}

/* One #DB expected: its saved EIP and DR6 status bits. */
static void expect_one(const char *what, uint32_t eip, uint32_t dr6)
{
  kprintf("-- %s\n", what);
  check_eq("  #DB count", db_count, 1);
  check_eq("  saved EIP", db_eip[0], eip);
  check_eq("  DR6 status bits", db_dr6[0] & DR6_STATUS, dr6);
}

static void single_step(void)
{
  db_reset(DB_RECORD);
  ss_probe();
  const uint32_t want[] = {(uint32_t)ss_l2, (uint32_t)ss_l3, (uint32_t)ss_l4, (uint32_t)ss_l5, (uint32_t)ss_l6};
  kprintf("-- TF single-step from POPF to POPF\n");
  check_eq("  #DB count (none after the POPF that sets TF, one after the POPF that clears it)", db_count, 5);
  uint32_t eips_ok = 1, bs_ok = 1;
  for (int i = 0; i < 5; i++) {
    eips_ok &= db_eip[i] == want[i];
    bs_ok &= (db_dr6[i] & DR6_STATUS) == DR6_BS;
  }
  check(eips_ok, "  each saved EIP is the next instruction (%x %x %x %x %x)", db_eip[0], db_eip[1], db_eip[2],
        db_eip[3], db_eip[4]);
  check(bs_ok, "  DR6.BS alone in each (%x)", db_dr6[0]);
  check_eq("  DR6 reads FFFF0FF0H after the handler cleared it", read_dr6(), 0xffff0ff0);
}

/* OUT and CPUID exit to the hypervisor, which completes them: the trap after each is still owed. */
static void single_step_exiting(void)
{
  db_reset(DB_RECORD);
  sx_probe();
  const uint32_t want[] = {(uint32_t)sx_l2, (uint32_t)sx_l3, (uint32_t)sx_l4,
                           (uint32_t)sx_l5, (uint32_t)sx_l6, (uint32_t)sx_l7};
  kprintf("-- TF single-step over OUT and CPUID\n");
  check_eq("  #DB count", db_count, 6);
  uint32_t eips_ok = 1, bs_ok = 1;
  for (int i = 0; i < 6; i++) {
    eips_ok &= db_eip[i] == want[i];
    bs_ok &= (db_dr6[i] & DR6_STATUS) == DR6_BS;
  }
  check(eips_ok, "  each saved EIP is the next instruction (%x %x %x %x %x %x)", db_eip[0], db_eip[1], db_eip[2],
        db_eip[3], db_eip[4], db_eip[5]);
  check(bs_ok, "  DR6.BS alone in each (%x %x %x)", db_dr6[0], db_dr6[1], db_dr6[2]);
}

static void instruction_breakpoint(void)
{
  db_reset(DB_RESUME_RF);
  write_dr0((uint32_t)ibp_insn);
  write_dr7(DR7_L(0) | DR7_RW(0, RW_EXEC) | DR7_LEN(0, LEN1));
  uint32_t r = ibp_probe();
  write_dr7(0);
  expect_one("instruction breakpoint (DR0, fault before the instruction)", (uint32_t)ibp_insn, DR6_B(0));
  check_eq("  RF resumed: both INCs ran", r, 2);
}

/* A data breakpoint on DR1 = &watch[1]; `store` writes one byte at offset `off` from it. */
static void data_case(const char *what, uint32_t rw, uint32_t len, int off, int hit)
{
  volatile uint8_t *base = (volatile uint8_t *)&watch[1];
  db_reset(DB_RECORD);
  write_dr1((uint32_t)base);
  write_dr7(DR7_L(1) | DR7_RW(1, rw) | DR7_LEN(1, len));
  store_b(base + off, 0x5a);
  write_dr7(0);
  if (hit) {
    expect_one(what, (uint32_t)store_b_end, DR6_B(1));
    check_eq("  the byte was written before the trap", base[off], 0x5a);
  } else {
    kprintf("-- %s\n", what);
    check_eq("  #DB count", db_count, 0);
  }
}

static void data_breakpoints(void)
{
  data_case("write breakpoint, LEN 1, byte at DR1", RW_WRITE, LEN1, 0, 1);
  data_case("write breakpoint, LEN 1, byte at DR1 + 1: outside", RW_WRITE, LEN1, 1, 0);
  data_case("write breakpoint, LEN 2, byte at DR1 + 1", RW_WRITE, LEN2, 1, 1);
  data_case("write breakpoint, LEN 2, byte at DR1 + 2: outside", RW_WRITE, LEN2, 2, 0);
  data_case("write breakpoint, LEN 4, byte at DR1 + 3", RW_WRITE, LEN4, 3, 1);
  data_case("write breakpoint, LEN 4, byte at DR1 - 1: outside", RW_WRITE, LEN4, -1, 0);

  volatile void *p = &watch[1];
  db_reset(DB_RECORD);
  write_dr1((uint32_t)p);
  write_dr7(DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN4));
  (void)load_l(p);
  write_dr7(0);
  kprintf("-- write breakpoint, LEN 4, a read\n");
  check_eq("  #DB count", db_count, 0);

  db_reset(DB_RECORD);
  write_dr7(DR7_L(1) | DR7_RW(1, RW_RDWR) | DR7_LEN(1, LEN4));
  (void)load_l(p);
  write_dr7(0);
  expect_one("read/write breakpoint, LEN 4, a doubleword read", (uint32_t)load_l_end, DR6_B(1));

  db_reset(DB_RECORD);
  write_dr7(DR7_L(1) | DR7_RW(1, RW_WRITE) | DR7_LEN(1, LEN2));
  store_w((volatile uint8_t *)p - 1, 0x1234); /* bytes DR1-1 and DR1: overlaps */
  write_dr7(0);
  expect_one("write breakpoint, LEN 2, a word straddling DR1", (uint32_t)store_w_end, DR6_B(1));
}

static void io_breakpoint(void)
{
  db_reset(DB_RECORD);
  write_cr4(read_cr4() | CR4_DE);
  write_dr2(0x80);
  write_dr7(DR7_L(2) | DR7_RW(2, RW_IO) | DR7_LEN(2, LEN1));
  out_probe();
  write_dr7(0);
  write_cr4(read_cr4() & ~CR4_DE);
  expect_one("I/O breakpoint on port 80H (CR4.DE, R/W 10): trap after OUT", (uint32_t)out_probe_end, DR6_B(2));
}

static void general_detect(void)
{
  db_reset(DB_SKIP_MOV_DR);
  write_dr7(DR7_GD);
  gd_probe();
  uint32_t dr7 = read_dr7();
  expect_one("general detect: MOV from DR0 with DR7.GD (fault on the MOV)", (uint32_t)gd_insn, DR6_BD);
  check_eq("  DR7.GD cleared on entry to the handler", db_dr7[0] & DR7_GD, 0);
  check_eq("  DR7.GD still clear after the handler", dr7 & DR7_GD, 0);
}

static void icebp(void)
{
  db_reset(DB_RECORD);
  icebp_probe();
  expect_one("INT1 / ICEBP (F1): a trap, no DR6 status bit", (uint32_t)icebp_next, 0);
}

/* An unexpected trap (reported by the library) ends the VM too, with the failures so far. */
static void exit_failed(void) { outl(DEBUG_EXIT_PORT, checks_failed); }

void main(void)
{
  trap_fatal_hook = exit_failed;
  check_guest_name = "debug";
  uart_init();
  desc_init();
  trap_set_handler(1, db_handler, 0);
  write_dr6(0);
  single_step();
  single_step_exiting();
  instruction_breakpoint();
  data_breakpoints();
  io_breakpoint();
  general_detect();
  icebp();
  check_summary();
  outl(DEBUG_EXIT_PORT, checks_failed);
  for (;;)
    __asm__ volatile("cli; hlt");
}
