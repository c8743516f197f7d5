// Part of the contract between root task and VMM: the guest-state groups
// each VMM exit handler reads, and so the MTD the root task gives the portal
// for that exit reason (DESIGN.md §2 step 4). An exit that arrives without
// them is stopped with a reason naming the missing groups, never handled
// with made-up zeros.
import { ExitReason } from "./exit-reason.js";
import { Mtd } from "./mtd.js";

/** Groups each handled reason needs. */
export const REQUIRED_MTD: Readonly<Record<number, number>> = {
  [ExitReason.STARTUP]: 0,
  [ExitReason.RECALL]: 0,
  [ExitReason.TRIPLE_FAULT]: 0,
  [ExitReason.CPUID]: Mtd.GPR_ACDB | Mtd.RIP_LEN,
  [ExitReason.HLT]: Mtd.RIP_LEN | Mtd.RFLAGS | Mtd.STA,
  [ExitReason.VMCALL]: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.CS_SS,
  [ExitReason.IO_INSTRUCTION]: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.QUAL,
  [ExitReason.RDMSR]: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.SYSENTER | Mtd.TSC,
  [ExitReason.WRMSR]: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.SYSENTER,
  [ExitReason.EPT_VIOLATION]: Mtd.QUAL,
};

/**
 * The MTD to give the portal for `reason`: the required groups, plus STA for
 * instruction exits so that completing the instruction can end a blocking
 * by STI or MOV SS (vmm/reply.ts advanceEip). Unhandled reasons need QUAL
 * only (their stop reason names the reason).
 */
export function portalMtd(reason: number): number {
  const need = REQUIRED_MTD[reason];
  if (need === undefined) return Mtd.QUAL;
  return (need & Mtd.RIP_LEN ? need | Mtd.STA : need) >>> 0;
}

/** Exit reasons that get a portal: every basic reason the SDM defines (0-65)
 * plus NOVA's startup (254) and recall (255). */
export const PORTAL_REASONS: readonly number[] = [...Array.from({ length: 66 }, (_, i) => i), 254, 255];
