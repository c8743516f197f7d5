// Device models a VM may have inside the hypervisor thread instead of its
// VMM (placement irqchip, as KVM's in-kernel irqchip): the kernel calls them
// through this interface only. The root task installs an implementation per
// VM (hypervisor/in-kernel/, loaded on demand), so the kernel itself never
// imports a device model (DESIGN.md §1).
import type { GuestContext } from "./state-groups.js";
import type { VcpuOutcome } from "./vcpu-run.js";

/** One change of an ISA interrupt request line a VMM reports (VmReply.irq_lines, as KVM_IRQ_LINE). */
export interface IrqLineChange {
  irq: number;
  level: boolean;
}

/** What the models see of a vCPU: its register context and its virtual TSC (DESIGN.md §5). */
export interface InKernelVcpu extends GuestContext {
  readonly vtime: number;
}

/** An exit finished here ("done"), one for the VMM ("forward"), or the VM's end. */
export type InKernelResult = "done" | "forward" | VcpuOutcome;

export interface InKernelDevices {
  /** Short description for logs ("8259A pair + 8254 in the hypervisor"). */
  readonly name: string;
  /** Exit `reason` of `v`, just taken: finishes it (state written to the VMCS), or leaves it to the VMM. */
  handleExit(v: InKernelVcpu, reason: number): InKernelResult;
  /**
   * After the VMM's reply to a forwarded exit was accepted and applied: the
   * VMM's platform reset, its IRQ line changes in order, then the models'
   * time and interrupt delivery, as after an exit finished here.
   */
  afterReply(v: InKernelVcpu, reset: boolean, lines: readonly IrqLineChange[]): void;
  /** Absolute virtual TSC of the models' next event, 0 for none (the kernel arms the preemption timer for it). */
  nextDeadline(): number;
  /** Power-on state (the guest reboots: policy reset). */
  reset(): void;
}
