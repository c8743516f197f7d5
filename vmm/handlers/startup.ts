// NOVA's startup event (254): the vCPU has never run. Load the guest (a
// Linux bzImage, or a Multiboot ELF/flat image: vmm/boot/boot-state.ts) and
// answer with the initial state; a VM with a firmware ROM starts in the
// processor's reset state instead (vmm/boot/firmware.ts; the platform
// attached its ROM and PAM window at power-on). A bad image stops
// the VM with the loader's one-line error.
import type { IVmExit } from "../../proto/index.js";
import { bootState } from "../boot/boot-state.js";
import { resetState } from "../boot/firmware.js";
import { INITIAL_STATE_MTD } from "../boot/initial-state.js";
import type { ReplyBuilder } from "../reply.js";
import type { VmmContext } from "../vmm-context.js";

export function handleStartup(_exit: IVmExit, reply: ReplyBuilder, vmm: VmmContext): void {
  if (vmm.boot.firmware !== undefined) {
    reply.setState(INITIAL_STATE_MTD, resetState());
    return;
  }
  const booted = bootState(vmm.boot, vmm.ram);
  if (!booted.ok) {
    reply.stop(booted.error, 1);
    return;
  }
  reply.setState(INITIAL_STATE_MTD, booted.state);
}
