// Placement irqchip (issue 6): the PC's interrupt controllers and timer run
// in the hypervisor thread, as KVM's in-kernel irqchip: the 8259A pair with
// its ELCR (devices/i8259.ts), the 8254 with port 61h (devices/i8254.ts), and
// interrupt delivery (interrupt-delivery.ts). The same device models the
// VMM uses in placement split, unchanged: only where they run moves.
//
// What ends here, never reaching the VMM:
// - IN/OUT to 20h/21h, A0h/A1h, 4D0h/4D1h, 40h-43h, 61h;
// - HLT (the vCPU halts here; the scheduler skips to the next deadline);
// - the preemption timer at the PIT's deadline, and interrupt windows.
// After each of those, and after each accepted VMM reply (whose IRQ line
// changes from the UART, RTC and 8042 come first), the models catch up to
// the exit's virtual TSC and the 8259A's request is delivered: the order the
// VMM's frame has (vmm/vmm.ts), so a guest sees the same thing either way.
import { VirtualClock } from "../../devices/clock.js";
import { I8254 } from "../../devices/i8254.js";
import { I8259 } from "../../devices/i8259.js";
import type { InKernelDevices, InKernelResult, InKernelVcpu, IrqLineChange } from "../kernel/in-kernel-devices.js";
import { ExitReason } from "../vmx/exit-reason.js";
import { deliverInterrupts, haltVcpu } from "./interrupt-delivery.js";
import { PortMap, portIo } from "./port-io.js";

export class InKernelIrqchip implements InKernelDevices {
  readonly name = "8259A pair + 8254 in the hypervisor (placement irqchip)";
  private readonly clock = new VirtualClock();
  private readonly ports = new PortMap();
  private pic!: I8259;
  private pit!: I8254;

  constructor() {
    this.powerOn();
  }

  /** The 8259A pair, for tests and diagnostics. */
  get controller(): I8259 {
    return this.pic;
  }

  /** The 8254, for tests and diagnostics. */
  get timer(): I8254 {
    return this.pit;
  }

  private powerOn(): void {
    this.pic = new I8259();
    this.pit = new I8254({ clock: this.clock, irq: this.pic });
    this.ports.install([this.pic, this.pit]);
  }

  handleExit(v: InKernelVcpu, reason: number): InKernelResult {
    this.clock.set(v.vtime);
    switch (reason) {
      case ExitReason.IO_INSTRUCTION: {
        const r = portIo(v, this.ports);
        if (r === "forward") return r;
        if (r !== "done") return { reason: r, exitCode: 1, fault: false };
        break;
      }
      case ExitReason.HLT:
        if (!haltVcpu(v.vmcs)) return { reason: "halted", exitCode: 0, fault: false };
        break;
      case ExitReason.PREEMPTION_TIMER:
      case ExitReason.INTERRUPT_WINDOW:
        break;
      default:
        return "forward";
    }
    this.deliver(v);
    return "done";
  }

  afterReply(v: InKernelVcpu, reset: boolean, lines: readonly IrqLineChange[]): void {
    this.clock.set(v.vtime);
    if (reset) this.powerOn();
    for (const l of lines) this.pic.setIrq(l.irq, l.level);
    this.deliver(v);
  }

  nextDeadline(): number {
    return this.pit.nextDeadline();
  }

  reset(): void {
    this.powerOn();
  }

  /** Timer events due by now raise IRQ 0, then the 8259A's request goes to the vCPU. */
  private deliver(v: InKernelVcpu): void {
    this.pit.tick(this.clock.now());
    deliverInterrupts(v, this.pic);
  }
}

/** The factory the root task installs per VM (hypervisor/root/placement.ts). */
export function createIrqchip(): InKernelDevices {
  return new InKernelIrqchip();
}
