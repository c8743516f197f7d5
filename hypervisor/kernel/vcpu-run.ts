// What the kernel keeps per vCPU while it runs: the register context a VM
// exit leaves in the processor (saved here, as NOVA saves it in the EC),
// virtual time (DESIGN.md §5), the exit sequence number and per-reason exit
// counts (moat run --stats).
import { X87State } from "../cpu/x87-state.js";
import type { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";
import type { Ec } from "./ec.js";
import type { InKernelDevices } from "./in-kernel-devices.js";
import { GROUPS, type GuestContext, readField, writeField } from "./state-groups.js";

/** Every field a VmReply can write (state-groups.ts and the VM-entry event fields, vm-reply.ts). */
const REPLY_FIELDS: readonly number[] = [
  ...GROUPS.flatMap((g) => [
    ...(g.scalars ?? []).map(([, f]) => f),
    ...(g.segments ?? []).flatMap(([, sel, base, limit, ar]) => [sel, base, limit, ar]),
    ...(g.tables ?? []).flatMap(([, base, limit]) => [base, limit]),
  ]),
  F.VM_ENTRY_INTR_INFO_FIELD,
  F.VM_ENTRY_EXCEPTION_ERROR_CODE,
  F.VM_ENTRY_INSTRUCTION_LEN,
];

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
  /** DR0-DR3 and DR6 by register number (SDM §27.3: VM exits do not save them; DR7 is in the VMCS). */
  readonly dr = new Int32Array(8);
  /** The x87 FPU context (not in the VMCS: the kernel switches it, as NOVA switches the FPU per EC). */
  readonly fpu = new X87State();
  /** Stop the vCPU once its virtual TSC reaches this many instructions (moat run --max-instructions); 0: no limit. */
  instructionLimit = 0;
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
  /** The VMM's device-state checkpoint from the last accepted reply (opaque bytes, DESIGN.md §6). */
  checkpoint: Uint8Array | null = null;
  /** Set when the VMM was replaced: the next exit carries `checkpoint` for it to restore. */
  restoreNext = false;
  /** performance.now() of the fault whose recovery is under way, -1 for none. */
  recoverySince = -1;
  /** Console input the root task queued for this VM, not yet carried by an exit (DESIGN.md §2). */
  private input: Uint8Array[] = [];
  /** An input source (the host terminal) may still send bytes: a halted vCPU waits for them. */
  inputOpen = false;
  /** Realtime HLT (DESIGN.md §5): performance.now() when the wait began and its host timer; -1 when none. */
  sleptAt = -1;
  wakeTimer: ReturnType<typeof setTimeout> | null = null;
  /** Device models of this VM that run in the hypervisor thread (placement irqchip), or null. */
  inKernel: InKernelDevices | null = null;
  /** Exits sent to the VMM (each channel call, retries included) and the host time of those round trips. */
  exitsForwarded = 0;
  forwardedHostMs = 0;
  /** Exits the in-hypervisor device models finished without the VMM. */
  exitsInHypervisor = 0;
  /** The reply fields as they were before the reply now being applied (rollback of a refused reply). */
  private readonly journal = new Float64Array(REPLY_FIELDS.length);

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

  /** The preemption timer's deadline: the earlier of the VMM's and the in-hypervisor models' (0 for none). */
  timerDeadline(): number {
    const own = this.inKernel?.nextDeadline() ?? 0;
    if (own === 0) return this.deadline;
    return this.deadline === 0 ? own : Math.min(own, this.deadline);
  }

  /** A preemption-timer exit now is the VMM's: its deadline is due (always, when no models are in the hypervisor). */
  vmmDeadlineDue(): boolean {
    return this.inKernel === null || (this.deadline > 0 && this.vtime >= this.deadline);
  }

  get alive(): boolean {
    return this.status !== "stopped";
  }

  /** Queues console input for the next exit (a copy: the caller may reuse its buffer). */
  queueInput(bytes: Uint8Array): void {
    if (bytes.length) this.input.push(bytes.slice());
  }

  /** Takes every queued input byte, or null when there is none. */
  takeInput(): Uint8Array | null {
    if (this.input.length === 0) return null;
    const all = this.input.length === 1 ? this.input[0] : concat(this.input);
    this.input = [];
    return all;
  }

  /** Puts bytes an exit took back in front of the queue (that exit was never answered). */
  unTakeInput(bytes: Uint8Array): void {
    this.input.unshift(bytes);
  }

  /** Remembers every field a reply may write, before it is applied. */
  saveReplyFields(): void {
    for (let i = 0; i < REPLY_FIELDS.length; i++) this.journal[i] = readField(this, REPLY_FIELDS[i]);
  }

  /** Undoes an applied reply that was then refused: the vCPU is as the exit left it. */
  rollbackReplyFields(): void {
    for (let i = 0; i < REPLY_FIELDS.length; i++) writeField(this, REPLY_FIELDS[i], this.journal[i]);
  }

  /**
   * Policy `reset`: the vCPU as at power-on, before its startup event (NOVA
   * VMI 254): no pending event or window request, active, registers clear.
   * The VMM's startup reply sets the initial guest state.
   */
  reset(): void {
    this.gpr.fill(0);
    this.cr2 = 0;
    this.dr.fill(0);
    this.fpu.copyFrom(new X87State());
    this.deadline = 0;
    this.checkpoint = null;
    this.restoreNext = false;
    this.startupPending = true;
    this.ec.recallPending = false;
    this.inKernel?.reset();
    const v = this.vmcs;
    v.write(F.VM_ENTRY_INTR_INFO_FIELD, 0);
    v.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_ACTIVE);
    v.write(F.GUEST_INTERRUPTIBILITY_INFO, 0);
    const windows = F.CPU_INTR_WINDOW_EXITING | F.CPU_NMI_WINDOW_EXITING;
    v.write(F.CPU_BASED_VM_EXEC_CONTROL, (v.read(F.CPU_BASED_VM_EXEC_CONTROL) & ~windows) >>> 0);
    if (this.status === "halted") this.status = "ready";
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
