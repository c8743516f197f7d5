// The kernel's scheduler (NOVA: SCs with priority and quantum). One
// simulated physical processor runs every vCPU in turn: the highest
// priority ready vCPU runs for at most its quantum (the host timer is
// modelled by the processor's instruction budget, which ends in an
// external-interrupt exit), round robin within a priority. A vCPU whose
// exit went to its VMM waits for the reply while others run.
import { setImmediate as yieldToHost } from "node:timers/promises";
import { VIRTUAL_TSC_HZ } from "../../proto/virtual-time.js";
import type { X87State } from "../cpu/x87-state.js";
import { EXIT_REASON_ENTRY_FAILURE, ExitReason, exitReasonName } from "../vmx/exit-reason.js";
import type { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";
import { type ExitDispatcher, fault } from "./exit-dispatch.js";
import type { VcpuRun } from "./vcpu-run.js";

/** The simulated processor as the kernel uses it (hypervisor/vmx/processor.ts). */
export interface GuestCpu {
  enter(vmcs: Vmcs, budget: number): number;
  readonly retired: number;
  readonly tsc: number;
  /** Why the last VM entry failed, when it did. */
  readonly entryFailure?: string | null;
  /** Loads / saves what a VM exit leaves in the processor (GPRs, CR2). */
  loadContext(gpr: Uint32Array, cr2: number, dr?: Int32Array, fpu?: X87State): void;
  saveContext(gpr: Uint32Array, dr?: Int32Array): number;
}

/** Host time between two yields to the event loop, so VMM replies arrive. */
const YIELD_MS = 2;

/** Virtual TSC ticks per host millisecond in realtime mode. */
const TICKS_PER_MS = VIRTUAL_TSC_HZ / 1000;

export interface SchedulerOptions {
  /** HLT waits the host time its deadline is away instead of skipping to it (DESIGN.md §5, interactive use). */
  realtime?: boolean;
}

export class Scheduler {
  private readonly vcpus: VcpuRun[] = [];
  private next = 0;
  private wake: (() => void) | null = null;

  constructor(
    private readonly cpu: GuestCpu,
    private readonly dispatch: ExitDispatcher,
    private readonly options: SchedulerOptions = {},
  ) {}

  add(v: VcpuRun): void {
    this.vcpus.push(v);
  }

  /** Runs until no vCPU can make progress; vCPUs halted for good are stopped. */
  async run(): Promise<void> {
    let last = performance.now();
    for (;;) {
      const v = this.pick();
      if (v) this.slice(v);
      else if (this.vcpus.some(mayProgress)) await new Promise<void>((r) => (this.wake = r));
      else break;
      if (performance.now() - last > YIELD_MS) {
        await yieldToHost();
        last = performance.now();
      }
    }
    for (const v of this.vcpus) {
      if (v.wakeTimer !== null) clearTimeout(v.wakeTimer);
      v.wakeTimer = null;
      if (v.status === "halted")
        this.dispatch.stop(v, { reason: "halted with no event pending", exitCode: 0, fault: false });
    }
  }

  /** Makes a halted vCPU runnable (NOVA ec_ctrl recall). */
  recall(v: VcpuRun): void {
    if (v.status === "halted") v.status = "ready";
    this.kick();
  }

  /** Wakes the loop after a change in what may still happen (an input source closed). */
  poke(): void {
    this.kick();
  }

  private kick(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Highest priority ready vCPU, round robin among equals. */
  private pick(): VcpuRun | null {
    let best: VcpuRun | null = null;
    const n = this.vcpus.length;
    for (let i = 0; i < n; i++) {
      const v = this.vcpus[(this.next + i) % n];
      if (v.status === "ready" && (!best || v.priority > best.priority)) best = v;
    }
    if (best) this.next = (this.vcpus.indexOf(best) + 1) % n;
    return best;
  }

  private slice(v: VcpuRun): void {
    const event = this.pendingEvent(v);
    if (event !== null) {
      v.countExit(event);
      this.toVmm(v, event);
      return;
    }
    if (this.sleeps(v)) return;
    const reason = this.enter(v);
    v.countExit(reason);
    if (v.instructionLimit > 0 && v.vtime >= v.instructionLimit) {
      const n = v.instructionLimit;
      this.dispatch.stop(v, { reason: `instruction limit of ${n} reached`, exitCode: 0, fault: false });
      return;
    }
    if (reason === ExitReason.EXTERNAL_INTERRUPT) return; // preempted: quantum used up
    if (reason & EXIT_REASON_ENTRY_FAILURE) {
      const why = this.cpu.entryFailure ?? `exit reason ${(reason & 0xffff) >>> 0}`;
      this.dispatch.stop(v, fault(`VM-entry failure (${exitReasonName(reason)}): ${why}`));
      return;
    }
    // Placement irqchip: exits of the models in the hypervisor end here, without a VMM round trip.
    if (reason === ExitReason.PREEMPTION_TIMER && v.vmmDeadlineDue()) v.deadline = 0;
    else if (this.dispatch.finishInKernel(v, reason)) return;
    this.toVmm(v, reason);
  }

  /** NOVA's software events, raised before the vCPU runs: startup once, then recall. */
  private pendingEvent(v: VcpuRun): number | null {
    if (v.startupPending) {
      v.startupPending = false;
      return ExitReason.STARTUP;
    }
    if (v.ec.recallPending) {
      v.ec.recallPending = false;
      this.endRealtimeWait(v);
      return ExitReason.RECALL;
    }
    return null;
  }

  /** HLT: skip virtual time to the next deadline (DESIGN.md §5), or sleep until recalled. */
  private sleeps(v: VcpuRun): boolean {
    if (v.vmcs.read(F.GUEST_ACTIVITY_STATE) !== F.ACTIVITY_HLT) return false;
    if (v.vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD) & F.INTR_INFO_VALID) return false;
    const deadline = v.timerDeadline();
    if (deadline > 0 && this.options.realtime && deadline > v.vtime) return this.realtimeWait(v, deadline);
    if (deadline > 0) {
      v.vtime = Math.max(v.vtime, deadline);
      return false;
    }
    v.status = "halted";
    return true;
  }

  /**
   * Realtime HLT: the vCPU halts for the host time its deadline is away, on a
   * host timer (the thread keeps serving other vCPUs and VMMs); a recall
   * ends the wait early with virtual time advanced by the host time passed.
   */
  private realtimeWait(v: VcpuRun, deadline: number): boolean {
    if (v.sleptAt < 0) {
      v.sleptAt = performance.now();
      const ms = (deadline - v.vtime) / TICKS_PER_MS;
      v.wakeTimer = setTimeout(() => {
        v.wakeTimer = null;
        if (v.status === "halted") v.status = "ready";
        this.kick();
      }, ms);
      v.status = "halted";
      return true;
    }
    if (v.wakeTimer !== null) {
      v.status = "halted"; // woken by something other than its timer or a recall: keep waiting
      return true;
    }
    v.sleptAt = -1;
    v.vtime = Math.max(v.vtime, deadline);
    return false;
  }

  /** A recall during a realtime HLT: virtual time follows the host time that passed, up to the deadline. */
  private endRealtimeWait(v: VcpuRun): void {
    if (v.sleptAt < 0) return;
    if (v.wakeTimer !== null) clearTimeout(v.wakeTimer);
    v.wakeTimer = null;
    const passed = Math.floor((performance.now() - v.sleptAt) * TICKS_PER_MS);
    v.vtime = Math.max(v.vtime, Math.min(v.vtime + passed, v.timerDeadline()));
    v.sleptAt = -1;
  }

  /** One VM entry: time and timer set up for this vCPU, registers restored and saved. */
  private enter(v: VcpuRun): number {
    const vmcs = v.vmcs;
    // Each vCPU's TSC counts only its own instructions (DESIGN.md §5).
    vmcs.write(F.TSC_OFFSET, v.vtime - this.cpu.tsc);
    let pin = vmcs.read(F.PIN_BASED_VM_EXEC_CONTROL) | F.PIN_EXTINT_EXITING;
    const deadline = v.timerDeadline();
    if (deadline > 0) {
      pin |= F.PIN_PREEMPTION_TIMER;
      vmcs.write(F.VMX_PREEMPTION_TIMER_VALUE, Math.max(0, Math.min(deadline - v.vtime, 0xffffffff)));
    } else pin &= ~F.PIN_PREEMPTION_TIMER;
    vmcs.write(F.PIN_BASED_VM_EXEC_CONTROL, pin >>> 0);
    this.cpu.loadContext(v.gpr, v.cr2, v.dr, v.fpu);
    const t0 = performance.now();
    const left = v.instructionLimit > 0 ? Math.max(0, v.instructionLimit - v.vtime) : v.quantum;
    const reason = this.cpu.enter(vmcs, Math.min(v.quantum, left));
    v.hostMs += performance.now() - t0;
    v.cr2 = this.cpu.saveContext(v.gpr, v.dr);
    v.vtime += this.cpu.retired;
    for (const sc of v.ec.scs) sc.account(this.cpu.retired);
    return reason;
  }

  private toVmm(v: VcpuRun, reason: number): void {
    v.status = "waiting";
    this.dispatch.deliver(v, reason).finally(() => {
      if (v.status === "waiting") v.status = "ready";
      this.kick();
    });
  }
}

/** A vCPU that may still run: waiting for its VMM, or halted while a realtime timer or console input may wake it. */
function mayProgress(v: VcpuRun): boolean {
  if (v.status === "waiting") return true;
  return v.status === "halted" && (v.inputOpen || v.wakeTimer !== null);
}
