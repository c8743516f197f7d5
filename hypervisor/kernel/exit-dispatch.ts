// Step 3-6 of the life of a VM exit (DESIGN.md §2): find the portal at
// evt + reason in the vCPU's PD, send the state its MTD names to the
// portal's handler (the VMM), check and apply the reply. Whatever the VMM
// does wrong ends in `stop` for this vCPU's VM only.

import { exitReasonName } from "../vmx/exit-reason.js";
import * as F from "../vmx/vmcs-fields.js";
import type { Channel } from "./channel.js";
import type { Ec } from "./ec.js";
import type { VcpuOutcome, VcpuRun } from "./vcpu-run.js";
import { encodeVmExit } from "./vm-exit.js";
import type { ReplyEffects } from "./vm-reply.js";
import { applyReply } from "./vm-reply.js";

/** What a portal resolves to: the MTD it transfers and its handler's channel. */
export interface PortalTarget {
  mtd: number;
  channel: Channel;
}

export type PortalLookup = (ec: Ec, reason: number) => PortalTarget | null;

/** Events the kernel reports to the root task. */
export interface KernelEvents {
  console(v: VcpuRun, bytes: Uint8Array): void;
  stopped(v: VcpuRun, outcome: VcpuOutcome): void;
}

export class ExitDispatcher {
  constructor(
    private readonly lookup: PortalLookup,
    private readonly events: KernelEvents,
  ) {}

  /** Delivers one exit to the VMM; resolves once the vCPU may run again or has stopped. */
  async deliver(v: VcpuRun, reason: number): Promise<void> {
    const portal = this.lookup(v.ec, reason);
    if (!portal) return this.stop(v, fault(`no portal for exit reason ${reason} (${exitReasonName(reason)})`));
    v.seq += 1;
    const msg = encodeVmExit(v, { vm: v.vm, vcpu: v.index, reason, mtd: portal.mtd, tsc: v.vtime, seq: v.seq });
    let reply: Uint8Array;
    try {
      reply = await portal.channel.call(msg);
    } catch (e) {
      return this.stop(v, fault((e as Error).message));
    }
    if (!v.alive) return;
    if (!(reply instanceof Uint8Array)) return this.stop(v, fault("VMM reply refused: not a byte string"));
    const r = applyReply(v, reply);
    if (!r.ok) return this.stop(v, fault(`VMM reply refused (VM-entry failure): ${r.reason}`));
    this.effects(v, r.effects);
  }

  private effects(v: VcpuRun, e: ReplyEffects): void {
    if (e.consoleOut.length) this.events.console(v, e.consoleOut);
    v.deadline = e.deadline;
    setControl(v, F.CPU_BASED_VM_EXEC_CONTROL, F.CPU_INTR_WINDOW_EXITING, e.wantIntrWindow);
    setControl(v, F.CPU_BASED_VM_EXEC_CONTROL, F.CPU_NMI_WINDOW_EXITING, e.wantNmiWindow);
    if (e.stop) this.stop(v, { reason: e.stopReason || "stopped by its VMM", exitCode: e.exitCode, fault: false });
  }

  stop(v: VcpuRun, outcome: VcpuOutcome): void {
    if (!v.alive) return;
    v.status = "stopped";
    v.outcome = outcome;
    this.events.stopped(v, outcome);
  }
}

export function fault(reason: string): VcpuOutcome {
  return { reason, exitCode: -1, fault: true };
}

function setControl(v: VcpuRun, field: number, bit: number, on: boolean): void {
  const old = v.vmcs.read(field);
  v.vmcs.write(field, (on ? old | bit : old & ~bit) >>> 0);
}
