// Which guest state each exit's portal transfers (DESIGN.md §2 step 4). A
// lean MTD keeps frequent exits cheap; startup and triple fault carry
// everything so the VMM can set up or report the whole vCPU.
import { MTD_ALL, Mtd } from "../../proto/mtd.js";
import { ExitReason } from "../vmx/exit-reason.js";

const BASE = Mtd.GPR_ACDB | Mtd.GPR_BSD | Mtd.RSP | Mtd.RIP_LEN | Mtd.RFLAGS | Mtd.QUAL | Mtd.STA | Mtd.TSC;
const SEGMENTS = Mtd.CS_SS | Mtd.DS_ES | Mtd.FS_GS;
const EVERYTHING = (MTD_ALL & ~Mtd.FPU) >>> 0;

export function portalMtd(reason: number): number {
  switch (reason) {
    case ExitReason.STARTUP:
    case ExitReason.TRIPLE_FAULT:
      return EVERYTHING;
    case ExitReason.IO_INSTRUCTION:
      return Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.RFLAGS | Mtd.QUAL | Mtd.STA | Mtd.TSC;
    case ExitReason.RDMSR:
    case ExitReason.WRMSR:
      return BASE | Mtd.SYSENTER;
    case ExitReason.EPT_VIOLATION:
    case ExitReason.EXCEPTION_NMI:
      return BASE | SEGMENTS | Mtd.CR | Mtd.INJ;
    default:
      return (BASE | Mtd.INJ) >>> 0;
  }
}

/** Exit reasons that get a portal: every basic reason the SDM defines (0-65)
 * plus NOVA's startup and recall. */
export const PORTAL_REASONS: readonly number[] = [...Array.from({ length: 66 }, (_, i) => i), 254, 255];
