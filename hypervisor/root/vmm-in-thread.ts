// Placement monolithic (issue 6): the VM's whole VMM (vmm/vmm.ts with every
// device model, the instruction emulator and the boot loaders) runs in the
// hypervisor thread and is called directly, as a monolithic hypervisor
// calls its device models. Exits still travel as the same encoded
// VmExit/VmReply pair (sealed, checkpointed: vmm/fault-serve.ts), so the
// kernel checks them as before; what is gone is the worker. So is the
// isolation: a VMM that throws is caught here, but one that spins blocks
// the hypervisor thread (no exit deadline can fire) and one that corrupts
// shared state or exhausts the heap hurts every VM (README, "placement").
import { type ExitServer, type ServedVmmBoot, serveVmmExits } from "../../vmm/fault-serve.js";
import { ChannelFault } from "../kernel/channel.js";
import type { VmmBootData, VmmFactory, VmmPort } from "./vmm-host.js";

export class InThreadVmm implements VmmPort {
  readonly transport = "in-thread function call (placement monolithic, no isolation)";
  onDeath: (why: string) => void = () => {};
  private readonly serve: ExitServer;
  private dead: string | null = null;

  constructor(boot: VmmBootData) {
    this.serve = serveVmmExits(boot as ServedVmmBoot);
  }

  async call(message: Uint8Array): Promise<Uint8Array> {
    if (this.dead) throw new ChannelFault("died", this.dead);
    try {
      return this.serve(message);
    } catch (e) {
      // As in a worker: a handler that threw may be inconsistent, so it is not used again.
      const why = `VMM handler threw: ${(e as Error)?.message ?? String(e)}`;
      this.die(why);
      throw new ChannelFault("threw", why);
    }
  }

  private die(why: string): void {
    if (this.dead) return;
    this.dead = why;
    this.onDeath(why);
  }

  async kill(): Promise<void> {
    this.die("VMM killed");
  }

  async close(): Promise<void> {}
}

export const inThreadVmmFactory: VmmFactory = (boot) => new InThreadVmm(boot);
