/* exits: drives the VM exits the VMM answers and checks the answers
 * against the documented model (vmm/cpuid.ts, vmm/msr.ts,
 * vmm/hypercall-abi.ts) and the SDM.
 *
 * Expected console output: the line "exits: CPUID, RDMSR/WRMSR, VMCALL",
 * then one "ok   ..." line per check (with the values seen), in this order:
 *   CPUID.0 max leaf = 0x2
 *   CPUID.0 vendor GenuineIntel
 *   CPUID.1 family = 0x6, CPUID.1 model = 0x3
 *   CPUID.1 EDX has TSC, MSR, CX8, SEP (features used here)
 *   CPUID.1 EDX has an FPU (the x87), no APIC
 *   CPUID.0x80000000 (above max) = leaf 2 data (SDM: highest basic leaf)
 *   IA32_SYSENTER_CS / ESP / EIP read back as written
 *   MTRRphysBase0 / MTRRphysMask0 read back as written
 *   MTRRcap = 0x508
 *   IA32_TIME_STAMP_COUNTER does not go backwards
 *   RDMSR 0xC0000080 (no such MSR on P6) -> #GP(0) at the RDMSR
 *   WRMSR 0xFE (MTRRcap is read-only) -> #GP(0)
 *   WRMSR MTRRdefType with type 2 (reserved) -> #GP(0)
 *   VMCALL 0 -> EAX 0x74616f6d ("moat"), EBX 1
 *   VMCALL 0x1234 -> EAX 0xffffffff
 * then "exits: 20 checks passed, 0 failed" and VMCALL 1 with code 0 (the
 * VM stops with exit code 0; 1 if any check failed, or after an unexpected
 * trap, which prints "FAIL unexpected ..." and the summary first).
 */
#include <stdint.h>
#include "../lib/check.h"
#include "../lib/desc.h"
#include "../lib/io.h"
#include "../lib/print.h"
#include "../lib/uart.h"
#include "../lib/vmcall.h"

#define MSR_TSC 0x10
#define MSR_MTRRCAP 0xFE
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MTRR_PHYSBASE0 0x200
#define MSR_MTRR_PHYSMASK0 0x201
#define MSR_MTRR_DEF_TYPE 0x2FF
#define MSR_EFER 0xC0000080 /* introduced with Intel 64; absent on P6 */

#define CPUID_TSC (1u << 4)
#define CPUID_MSR (1u << 5)
#define CPUID_CX8 (1u << 8)
#define CPUID_SEP (1u << 11)
#define CPUID_FPU (1u << 0)
#define CPUID_APIC (1u << 9)

uint32_t rdmsr_probe(uint32_t msr, uint32_t *hi);
void wrmsr_probe(uint32_t msr, uint32_t lo, uint32_t hi);
extern const char rdmsr_insn[], wrmsr_insn[];

static volatile uint32_t gp_count, gp_error, gp_eip;

/* #GP from a probe: note it and step over the 2-byte RDMSR/WRMSR (a fault
   leaves EIP on the instruction, SDM §6.5). Anything else is unexpected. */
static void on_gp(struct trap_frame *f)
{
  if (f->eip != (uint32_t)rdmsr_insn && f->eip != (uint32_t)wrmsr_insn) {
    check(0, "unexpected #GP(0x%x) at 0x%x", f->error, f->eip);
    check_summary();
    vmcall(HC_EXIT, 1, 0);
    halt_forever();
  }
  gp_count++;
  gp_error = f->error;
  gp_eip = f->eip;
  f->eip += 2;
}

static void expect_gp(const char *what, const char *at, uint32_t before)
{
  check(gp_count == before + 1 && gp_error == 0 && gp_eip == (uint32_t)at,
        "%s -> #GP(0x%x) at 0x%x (%u raised)", what, gp_error, gp_eip, gp_count - before);
}

static void check_cpuid(void)
{
  uint32_t r[4], leaf2[4];
  cpuid(0, r);
  check_eq("CPUID.0 max leaf", r[0], 2);
  char vendor[13];
  const uint32_t order[3] = { r[1], r[3], r[2] }; /* EBX, EDX, ECX */
  for (int i = 0; i < 12; i++)
    vendor[i] = (char)(order[i / 4] >> (8 * (i % 4)));
  vendor[12] = 0;
  int intel = 1;
  for (int i = 0; i < 12; i++)
    intel &= vendor[i] == "GenuineIntel"[i];
  check(intel, "CPUID.0 vendor %s", vendor);
  cpuid(1, r);
  check_eq("CPUID.1 family", (r[0] >> 8) & 0xF, 6);
  check_eq("CPUID.1 model", (r[0] >> 4) & 0xF, 3);
  uint32_t want = CPUID_TSC | CPUID_MSR | CPUID_CX8 | CPUID_SEP;
  check((r[3] & want) == want, "CPUID.1 EDX 0x%x has TSC, MSR, CX8, SEP", r[3]);
  check((r[3] & (CPUID_FPU | CPUID_APIC)) == CPUID_FPU, "CPUID.1 EDX 0x%x has an FPU, no APIC", r[3]);
  cpuid(2, leaf2);
  cpuid(0x80000000u, r);
  check(r[0] == leaf2[0] && r[1] == leaf2[1] && r[2] == leaf2[2] && r[3] == leaf2[3],
        "CPUID.0x80000000 = leaf 2 data (0x%x), the highest basic leaf", r[0]);
}

static void check_msr_round_trip(const char *what, uint32_t msr, uint64_t value)
{
  wrmsr(msr, value);
  uint64_t got = rdmsr(msr);
  check(got == value, "%s wrote 0x%x:%08x, read 0x%x:%08x", what, (uint32_t)(value >> 32), (uint32_t)value,
        (uint32_t)(got >> 32), (uint32_t)got);
}

static void check_msrs(void)
{
  check_msr_round_trip("IA32_SYSENTER_CS", MSR_SYSENTER_CS, KERNEL_CS);
  check_msr_round_trip("IA32_SYSENTER_ESP", MSR_SYSENTER_ESP, 0x12345678);
  check_msr_round_trip("IA32_SYSENTER_EIP", MSR_SYSENTER_EIP, 0x9ABCDEF0);
  check_msr_round_trip("MTRRphysBase0", MSR_MTRR_PHYSBASE0, 0x00000006);     /* WB from 0 */
  check_msr_round_trip("MTRRphysMask0", MSR_MTRR_PHYSMASK0, 0xFFF00800);     /* 1 MiB, valid */
  check_eq("MTRRcap", (uint32_t)rdmsr(MSR_MTRRCAP), 0x508);
  uint64_t t0 = rdmsr(MSR_TSC), t1 = rdmsr(MSR_TSC);
  check(t1 >= t0, "IA32_TIME_STAMP_COUNTER 0x%x:%08x then 0x%x:%08x", (uint32_t)(t0 >> 32), (uint32_t)t0,
        (uint32_t)(t1 >> 32), (uint32_t)t1);

  uint32_t hi, before = gp_count;
  rdmsr_probe(MSR_EFER, &hi);
  expect_gp("RDMSR 0xC0000080", rdmsr_insn, before);
  before = gp_count;
  wrmsr_probe(MSR_MTRRCAP, 0, 0);
  expect_gp("WRMSR MTRRcap (read-only)", wrmsr_insn, before);
  before = gp_count;
  wrmsr_probe(MSR_MTRR_DEF_TYPE, 0x802, 0); /* enabled, default type 2: reserved */
  expect_gp("WRMSR MTRRdefType type 2", wrmsr_insn, before);
}

static void check_vmcall(void)
{
  uint32_t ebx = 0;
  uint32_t eax = vmcall(HC_PROBE, 0, &ebx);
  check_eq("VMCALL 0 EAX", eax, HC_MAGIC);
  check_eq("VMCALL 0 EBX (ABI version)", ebx, 1);
  check_eq("VMCALL 0x1234 EAX", vmcall(0x1234, 0, 0), HC_UNKNOWN);
}

static void exit_failed(void)
{
  vmcall(HC_EXIT, 1, 0);
}

void main(void)
{
  uart_init();
  check_guest_name = "exits";
  desc_init();
  trap_fatal_hook = exit_failed;
  trap_set_handler(13, on_gp, 0);
  kprintf("exits: CPUID, RDMSR/WRMSR, VMCALL\n");
  check_cpuid();
  check_msrs();
  check_vmcall();
  check_summary();
  vmcall(HC_EXIT, checks_failed ? 1 : 0, 0);
  kprintf("FAIL exit hypercall returned\n");
}
