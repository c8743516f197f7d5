// What the kernel keeps per vCPU while it runs: the register context a VM
// exit leaves in the processor (saved here, as NOVA saves it in the EC),
// virtual time (DESIGN.md §5), the exit sequence number and per-reason exit
// counts (moat run --stats).
import type { Vmcs } from "../vmx/vmcs.js";
import type { Ec } from "./ec.js";
import type { GuestContext } from "./state-groups.js";

export type VcpuStatus = "ready" | "waiting" | "halted" | "stopped";

/** How a vCPU ended. `fault` is set when the VM was destroyed for a fault
 * (its VMM died, hung, answered garbage, or VM entry failed). */
export interface VcpuOutcome {
  reason: string;
  exitCode: number;
  fault: boolean;
}

export class VcpuRun implements GuestContext {
  readonly gpr = new Uint32Array(8);
  cr2 = 0;
  /** Virtual TSC of this vCPU: instructions it has retired (plus HLT skips). */
  vtime = 0;
  /** Next device deadline the VMM asked for (virtual TSC), 0 for none. */
  deadline = 0;
  /** Exits delivered to the VMM so far; the next one carries seq + 1. */
  seq = 0;
  status: VcpuStatus = "ready";
  /** Set while the startup event has not yet been delivered (NOVA VMI 254). */
  startupPending = true;
  outcome: VcpuOutcome | null = null;
  /** Host milliseconds spent running this vCPU's guest code. */
  hostMs = 0;
  readonly exitCounts = new Map<number, number>();

  constructor(
    /** The kernel's vCPU EC. */
    readonly ec: Ec,
    readonly vmcs: Vmcs,
    readonly vm: number,
    readonly index: number,
    /** SC priority (higher runs first) and quantum in virtual TSC ticks. */
    readonly priority: number,
    readonly quantum: number,
  ) {}

  countExit(reason: number): void {
    this.exitCounts.set(reason, (this.exitCounts.get(reason) ?? 0) + 1);
  }

  get alive(): boolean {
    return this.status !== "stopped";
  }
}
