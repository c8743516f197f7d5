// What the root task loads for a VM's placement (issue 6, config field
// `placement`). Both are loaded on demand with import(), only for VMs that
// ask for them, so that a split VM's trusted side stays free of device
// models (DESIGN.md §1) and `moat tcb` can show each placement's own:
// - irqchip: hypervisor/in-kernel/irqchip.ts (8259A pair, 8254, delivery),
//   installed on the VM's vCPU for the kernel to call;
// - monolithic: hypervisor/root/vmm-in-thread.ts and with it the whole VMM.
import type { InKernelDevices } from "../kernel/in-kernel-devices.js";
import type { VmmBootData, VmmFactory, VmmHostOptions, VmmPort } from "./vmm-host.js";

/** Placement irqchip: the VM's in-hypervisor interrupt controllers and timer, in their power-on state. */
export async function loadIrqchip(): Promise<InKernelDevices> {
  const { createIrqchip } = await import("../in-kernel/irqchip.js");
  return createIrqchip();
}

/** Placement monolithic: a VMM in the hypervisor thread; its code is loaded with the first exit. */
export const monolithicVmmFactory: VmmFactory = (boot, opts) => new LazyVmmPort(boot, opts);

class LazyVmmPort implements VmmPort {
  readonly transport = "in-thread function call (placement monolithic, no isolation)";
  onDeath: (why: string) => void = () => {};
  private readonly port: Promise<VmmPort>;

  constructor(boot: VmmBootData, opts: VmmHostOptions) {
    this.port = import("./vmm-in-thread.js").then((m) => {
      const port = m.inThreadVmmFactory(boot, opts);
      port.onDeath = (why) => this.onDeath(why);
      return port;
    });
  }

  async call(message: Uint8Array): Promise<Uint8Array> {
    return (await this.port).call(message);
  }

  async kill(): Promise<void> {
    await (await this.port).kill();
  }

  async close(): Promise<void> {
    await (await this.port).close();
  }
}
