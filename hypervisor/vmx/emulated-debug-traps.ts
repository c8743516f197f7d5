// Debug traps of instructions that exit and are completed outside the guest.
// An exiting instruction (CPUID, RDMSR, IN/OUT, VMCALL, ...) does not execute:
// the VM exit is fault-like (SDM Vol. 3C §25.1), so neither its single-step
// trap (TF) nor an I/O breakpoint on its port (§17.2.4) happens. On hardware
// the VMM that emulates it owes the guest those traps and raises them by
// setting the pending debug exceptions field before resuming (§26.6.3
// delivers them). moat's VMM cannot: it sees neither DR0-DR3 nor that field
// (they are not in its MTD). So the trusted side does it here, at VM entry:
// when the guest resumes exactly after the instruction that exited (EIP =
// exit EIP + length, same VMCS, nothing injected), the traps it would have
// raised become pending debug exceptions: BS if TF was set, B0-B3 and bit 12
// for matched I/O breakpoints of a non-string IN/OUT.
import { ioBreakpoints } from "../cpu/debug.js";
import { TF } from "../cpu/flags.js";
import type { CpuState } from "../cpu/state.js";
import { ExitReason } from "./exit-reason.js";
import type { Vmcs } from "./vmcs.js";

const PENDING_ENABLED_BP = 0x1000;
const PENDING_BS = 0x4000;
/** I/O exit qualification (Table 27-5): size - 1 in 2:0, string in bit 4, port in 31:16. */
const IO_STRING = 0x10;

/** Exits of instructions a VMM completes by moving EIP past them (HLT is completed by waking, not by that). */
const COMPLETED = new Set<number>([
  ExitReason.CPUID,
  ExitReason.IO_INSTRUCTION,
  ExitReason.RDMSR,
  ExitReason.WRMSR,
  ExitReason.VMCALL,
  ExitReason.RDTSC,
  ExitReason.INVLPG,
]);

interface Owed {
  eip: number;
  bits: number;
}

const owedBy = new WeakMap<Vmcs, Owed>();

/** At VM exit: remember what the exiting instruction would have raised, had it executed. */
export function noteExitingInstruction(st: CpuState, vmcs: Vmcs): void {
  owedBy.delete(vmcs);
  if (!COMPLETED.has(st.exitReason) || st.exitInsnLen === 0) return;
  let bits = st.fl & TF ? PENDING_BS : 0;
  const q = st.exitQual;
  if (st.exitReason === ExitReason.IO_INSTRUCTION && !(q & IO_STRING)) {
    const hits = ioBreakpoints(st, q >>> 16, (q & 7) + 1);
    if (hits !== 0) bits |= hits | PENDING_ENABLED_BP;
  }
  if (bits !== 0) owedBy.set(vmcs, { eip: (st.eip + st.exitInsnLen) >>> 0, bits });
}

/** At VM entry: the owed traps if the guest resumes right after that instruction with no event injected. */
export function owedDebugTraps(vmcs: Vmcs, eip: number, vectoring: boolean): number {
  const owed = owedBy.get(vmcs);
  if (owed === undefined) return 0;
  owedBy.delete(vmcs);
  return !vectoring && owed.eip === eip >>> 0 ? owed.bits : 0;
}
