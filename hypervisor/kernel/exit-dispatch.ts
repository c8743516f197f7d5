// Step 3-6 of the life of a VM exit (DESIGN.md §2): find the portal at
// evt + reason in the vCPU's PD, send the state its MTD names to the
// portal's handler (the VMM), check and apply the reply. Whatever the VMM
// does wrong is a VmmFault of this vCPU's VM only (DESIGN.md §6): the root
// task's policy then stops the VM, or replaces its VMM and the kernel
// re-delivers the exit whose reply was lost (the vCPU is exactly as the exit
// left it: a refused reply is rolled back whole), or reboots the guest.

import type { IFaultOrder, IVmExit, IVmmCall } from "../../proto/index.js";
import { VmExit } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { openReply } from "../../proto/reply-checksum.js";
import { exitReasonName } from "../vmx/exit-reason.js";
import * as F from "../vmx/vmcs-fields.js";
import { type Channel, ChannelFault } from "./channel.js";
import type { Ec } from "./ec.js";
import type { VcpuOutcome, VcpuRun } from "./vcpu-run.js";
import { buildVmExit } from "./vm-exit.js";
import type { ReplyEffects } from "./vm-reply.js";
import { applyReply } from "./vm-reply.js";

/** What a portal resolves to: the MTD it transfers, its handler's channel, and the handler's PD (rate limits). */
export interface PortalTarget {
  mtd: number;
  channel: Channel;
  pd?: object;
}

export type PortalLookup = (ec: Ec, reason: number) => PortalTarget | null;

/** How the kernel found a VMM fault: a ChannelFault kind, a refused reply, or a hypercall flood. */
export type FaultDetector = ChannelFault["kind"] | "refused" | "flood";

export interface VmmFault {
  detector: FaultDetector;
  reason: string;
  /** The exit whose reply was lost, and its reason. */
  seq: number;
  exitReason: number;
  /** Host milliseconds from sending the exit to the kernel's decision. */
  detectMs: number;
}

/** What the root task did about a VMM fault: re-deliver the exit to a new VMM, reboot the guest, or stop the VM. */
export type FaultAction = "retry" | "reset" | "stop";

/** Events the kernel reports to the root task. */
export interface KernelEvents {
  console(v: VcpuRun, bytes: Uint8Array): void;
  stopped(v: VcpuRun, outcome: VcpuOutcome): void;
  /** The VM's policy for a VMM fault; without it every fault stops the VM. */
  vmmFault?(v: VcpuRun, f: VmmFault): FaultAction | Promise<FaultAction>;
  /** The first accepted reply after a retry or reset, `ms` after the fault was detected. */
  recovered?(v: VcpuRun, ms: number): void;
  /** The fault, if any, the injector orders the VMM to commit at exit `seq`. */
  faultOrder?(v: VcpuRun, seq: number): IFaultOrder | null;
  /**
   * Checks (commit false) or performs (commit true) a memory call a VMM made: DELEGATE, or SHADOW (its
   * VM's mapping of the BIOS window, hypervisor/root/bios-window.ts); returns why it is refused, or null.
   */
  delegate?(v: VcpuRun, call: IVmmCall, commit: boolean): string | null;
  /** Console input reached the VMM with an accepted exit, at virtual TSC `tsc` (the input log, DESIGN.md §5). */
  consoleIn?(v: VcpuRun, bytes: Uint8Array, tsc: number): void;
}

export interface DispatchOptions {
  /** Replies must end in their CRC-32 trailer (proto/reply-checksum.ts). */
  sealed?: boolean;
  /**
   * The processor's VM-entry checks (hypervisor/vmx/entry-checks.ts), run on
   * the VMCS once a reply is applied: a reply that would make VM entry fail
   * (SDM §26.2, §26.3.1) is refused and rolled back then, so that the VM's
   * policy can act before the bad state ever reaches the processor.
   */
  entryCheck?: (vmcs: VcpuRun["vmcs"]) => string | null;
  /**
   * INVVPID for `vpid`: a VMM cannot execute it, so when an accepted reply
   * changes CR0, CR3 or CR4 (a task switch, an emulated MOV CR) the kernel
   * drops the vCPU's cached translations for it, as NOVA does when a VMM
   * writes the CR group (VM entry itself keeps the VPID's TLB, SDM §28.4.3).
   */
  flushTlb?: (vpid: number) => void;
}

/** VmmCall ops (moat.proto). */
export const VmmCallOp = { RECALL: 1, DELEGATE: 2, SHADOW: 3 } as const;

/**
 * Hypercall rate limit per VMM PD (DESIGN.md §6), counted in exits so that
 * it is deterministic: a bucket of CALL_BUCKET calls, refilled by
 * CALLS_PER_EXIT with every exit delivered, and at most CALLS_PER_REPLY in
 * one reply. A device model recalls its vCPU about once per interrupt; a
 * VMM past these limits is flooding the kernel.
 */
export const CALLS_PER_REPLY = 16;
export const CALL_BUCKET = 64;
export const CALLS_PER_EXIT = 4;

/** Largest checkpoint the kernel keeps for a VMM (the PC platform's devices take a few KiB). */
export const MAX_CHECKPOINT_BYTES = 1 << 20;

/** Groups no VM-entry check reads in IA-32 (SDM §26.3.1: no check on GPRs; RIP's apply to IA-32e only). */
const UNCHECKED_GROUPS = Mtd.GPR_ACDB | Mtd.GPR_BSD | Mtd.RIP_LEN;

type Verdict = { ok: true; effects: ReplyEffects } | { ok: false; detector: FaultDetector; reason: string };

export class ExitDispatcher {
  private readonly buckets = new WeakMap<object, { tokens: number }>();

  constructor(
    private readonly lookup: PortalLookup,
    private readonly events: KernelEvents,
    private readonly options: DispatchOptions = {},
  ) {}

  /** Delivers one exit to the VMM; resolves once the vCPU may run again or has stopped. */
  async deliver(v: VcpuRun, reason: number): Promise<void> {
    v.seq += 1;
    const seq = v.seq;
    // Input rides with this exit; a re-delivery to a restarted VMM (whose
    // checkpoint predates it) carries the same bytes again.
    const input = v.takeInput();
    const tsc = v.vtime;
    for (;;) {
      const portal = this.lookup(v.ec, reason);
      if (!portal) return this.stop(v, fault(`no portal for exit reason ${reason} (${exitReasonName(reason)})`));
      const sentAt = performance.now();
      const verdict = await this.roundTrip(v, reason, seq, portal, input);
      if (!v.alive) return;
      if (verdict.ok) {
        if (input) this.events.consoleIn?.(v, input, tsc);
        return this.effects(v, verdict.effects);
      }
      const detectedAt = performance.now();
      const f: VmmFault = {
        detector: verdict.detector,
        reason: verdict.reason,
        seq,
        exitReason: reason,
        detectMs: detectedAt - sentAt,
      };
      const action = this.events.vmmFault ? await this.events.vmmFault(v, f) : "stop";
      if (!v.alive) return;
      if (action === "stop") return this.stop(v, fault(verdict.reason));
      // The first accepted reply (to this exit again, or after a reset to the startup event) ends the recovery.
      v.recoverySince = detectedAt;
      if (action === "reset") {
        // The rebooted guest gets the input with its startup event.
        if (input) v.unTakeInput(input);
        return;
      }
    }
  }

  /** Sends the exit and judges the answer; a refused reply leaves the vCPU untouched. */
  private async roundTrip(
    v: VcpuRun,
    reason: number,
    seq: number,
    portal: PortalTarget,
    consoleIn: Uint8Array | null,
  ): Promise<Verdict> {
    const exit: IVmExit = buildVmExit(v, {
      vm: v.vm,
      vcpu: v.index,
      reason,
      mtd: portal.mtd,
      tsc: v.vtime,
      seq,
      consoleIn,
    });
    const order = this.events.faultOrder?.(v, seq);
    if (order) exit.fault = order;
    if (v.restoreNext && v.checkpoint) exit.restore = v.checkpoint;
    v.restoreNext = false;
    this.refill(portal);
    let bytes: Uint8Array;
    const encoded = VmExit.encode(exit).finish();
    v.exitsForwarded++;
    const t0 = performance.now();
    try {
      bytes = await portal.channel.call(encoded);
    } catch (e) {
      const kind = e instanceof ChannelFault ? e.kind : "died";
      return { ok: false, detector: kind, reason: (e as Error)?.message ?? String(e) };
    } finally {
      v.forwardedHostMs += performance.now() - t0;
    }
    if (!(bytes instanceof Uint8Array)) return refused("not a byte string");
    let body: Uint8Array | string = bytes;
    if (this.options.sealed) {
      body = openReply(bytes);
      if (typeof body === "string") return refused(body);
    }
    v.saveReplyFields();
    const cr0 = v.vmcs.read(F.GUEST_CR0);
    const cr3 = v.vmcs.read(F.GUEST_CR3);
    const cr4 = v.vmcs.read(F.GUEST_CR4);
    const r = applyReply(v, body);
    if (!r.ok) return refused(r.reason);
    const bad = this.checkApplied(v, r.effects, portal);
    if (bad !== null) {
      v.rollbackReplyFields();
      return bad;
    }
    if (r.effects.mtd & Mtd.CR && !samePaging(v, cr0, cr3, cr4)) this.options.flushTlb?.(v.vmcs.read(F.VPID));
    this.commitCalls(v, r.effects.calls);
    if (r.effects.checkpoint) v.checkpoint = r.effects.checkpoint;
    return r;
  }

  /**
   * What the kernel checks once the reply's state is in the VMCS, before the
   * vCPU may run: the VM-entry checks, EIP within CS, and the hypercalls.
   */
  private checkApplied(v: VcpuRun, e: ReplyEffects, portal: PortalTarget): Verdict | null {
    // A reply that stops the VM never leads to a VM entry; one that wrote only
    // registers no entry check reads (GPRs, EIP) cannot make it fail.
    const needed = !e.stop && (e.injected || (e.mtd & ~UNCHECKED_GROUPS) !== 0);
    const entry = needed ? (this.options.entryCheck?.(v.vmcs) ?? null) : null;
    if (entry !== null) return refused(`VM-entry failure: ${entry}`);
    const eip = v.vmcs.read(F.GUEST_RIP);
    const limit = v.vmcs.read(F.GUEST_CS_LIMIT);
    // One past the limit is where completing the segment's last instruction
    // leaves EIP (the next fetch raises #GP, SDM §5.3); further no correct VMM
    // can move it.
    if (eip > limit + 1) {
      return refused(`EIP 0x${eip.toString(16)} beyond the CS limit 0x${limit.toString(16)}`);
    }
    if ((e.irqLines.length > 0 || e.irqchipReset) && v.inKernel === null) {
      return refused("IRQ lines for an interrupt controller in the hypervisor, which this VM does not have");
    }
    if (e.checkpoint && e.checkpoint.length > MAX_CHECKPOINT_BYTES) {
      return refused(`checkpoint of ${e.checkpoint.length} bytes exceeds ${MAX_CHECKPOINT_BYTES}`);
    }
    return this.checkCalls(v, e.calls, portal);
  }

  private refill(portal: PortalTarget): void {
    const key = portal.pd ?? portal.channel;
    const b = this.buckets.get(key);
    if (!b) this.buckets.set(key, { tokens: CALL_BUCKET });
    else b.tokens = Math.min(CALL_BUCKET, b.tokens + CALLS_PER_EXIT);
  }

  private checkCalls(v: VcpuRun, calls: IVmmCall[], portal: PortalTarget): Verdict | null {
    if (calls.length === 0) return null;
    if (calls.length > CALLS_PER_REPLY) {
      return {
        ok: false,
        detector: "flood",
        reason: `hypercall flood: ${calls.length} calls in one reply (limit ${CALLS_PER_REPLY})`,
      };
    }
    const bucket = this.buckets.get(portal.pd ?? portal.channel) as { tokens: number };
    if (calls.length > bucket.tokens) {
      return {
        ok: false,
        detector: "flood",
        reason: `hypercall flood: ${calls.length} calls with ${bucket.tokens} left of ${CALL_BUCKET} (+${CALLS_PER_EXIT} per exit)`,
      };
    }
    bucket.tokens -= calls.length;
    for (const c of calls) {
      const op = c.op ?? 0;
      if (op === VmmCallOp.RECALL) continue;
      if (op !== VmmCallOp.DELEGATE && op !== VmmCallOp.SHADOW) return refused(`unknown hypercall op ${op}`);
      if (!this.events.delegate) return refused("delegation is not available to this VMM");
      const why = this.events.delegate(v, c, false);
      if (why !== null) return refused(why);
    }
    return null;
  }

  private commitCalls(v: VcpuRun, calls: IVmmCall[]): void {
    for (const c of calls) {
      if (c.op === VmmCallOp.RECALL) v.ec.recallPending = true;
      else this.events.delegate?.(v, c, true);
    }
  }

  private effects(v: VcpuRun, e: ReplyEffects): void {
    if (v.recoverySince >= 0) {
      this.events.recovered?.(v, performance.now() - v.recoverySince);
      v.recoverySince = -1;
    }
    if (e.consoleOut.length) this.events.console(v, e.consoleOut);
    v.deadline = e.deadline;
    setControl(v, F.CPU_BASED_VM_EXEC_CONTROL, F.CPU_INTR_WINDOW_EXITING, e.wantIntrWindow);
    setControl(v, F.CPU_BASED_VM_EXEC_CONTROL, F.CPU_NMI_WINDOW_EXITING, e.wantNmiWindow);
    if (e.stop) this.stop(v, { reason: e.stopReason || "stopped by its VMM", exitCode: e.exitCode, fault: false });
    else v.inKernel?.afterReply(v, e.irqchipReset, e.irqLines);
  }

  /**
   * Placement irqchip: offers exit `reason` to the device models in the
   * hypervisor (KVM finishes its in-kernel irqchip's port I/O and HLT the same
   * way). Returns whether they finished it: then no VMM sees it.
   */
  finishInKernel(v: VcpuRun, reason: number): boolean {
    const models = v.inKernel;
    if (models === null) return false;
    const r = models.handleExit(v, reason);
    if (r === "forward") return false;
    v.exitsInHypervisor++;
    if (r !== "done") this.stop(v, r);
    return true;
  }

  stop(v: VcpuRun, outcome: VcpuOutcome): void {
    if (!v.alive) return;
    v.status = "stopped";
    v.outcome = outcome;
    this.events.stopped(v, outcome);
  }
}

/** CR0, CR3 and CR4, what decides the guest's translations, are still these. */
function samePaging(v: VcpuRun, cr0: number, cr3: number, cr4: number): boolean {
  return v.vmcs.read(F.GUEST_CR0) === cr0 && v.vmcs.read(F.GUEST_CR3) === cr3 && v.vmcs.read(F.GUEST_CR4) === cr4;
}

function refused(why: string): Verdict {
  return { ok: false, detector: "refused", reason: `VMM reply refused: ${why}` };
}

export function fault(reason: string): VcpuOutcome {
  return { reason, exitCode: -1, fault: true };
}

function setControl(v: VcpuRun, field: number, bit: number, on: boolean): void {
  const old = v.vmcs.read(field);
  v.vmcs.write(field, (on ? old | bit : old & ~bit) >>> 0);
}
