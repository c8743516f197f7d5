// Exits that end the VM: a triple fault (shutdown, SDM §6.15 #DF), an
// EPT violation nothing claims (no RAM and no MMIO device there yet), and
// every exit reason this VMM has no handler for.

import { exitReasonName } from "../../proto/exit-reason.js";
import type { IVmExit } from "../../proto/index.js";
import { hex } from "../hex.js";
import type { ReplyBuilder } from "../reply.js";

export function handleTripleFault(_exit: IVmExit, reply: ReplyBuilder): void {
  reply.stop("triple fault", 1);
}

export function handleEptViolation(exit: IVmExit, reply: ReplyBuilder): void {
  reply.stop(`unhandled access to guest-physical ${hex(exit.guestPhysical ?? 0)} (no RAM, no device)`, 1);
}

export function handleUnknown(exit: IVmExit, reply: ReplyBuilder): void {
  const reason = (exit.reason ?? 0) >>> 0;
  reply.stop(`unhandled exit reason ${reason & 0xffff} (${exitReasonName(reason)})`, 1);
}

/** Exit reason bit 31: VM entry failed (SDM §26.8): the state the VMM supplied or kept is not enterable. */
export function handleEntryFailure(exit: IVmExit, reply: ReplyBuilder): void {
  const reason = (exit.reason ?? 0) >>> 0;
  reply.stop(`VM-entry failure, reason ${reason & 0xffff} (${exitReasonName(reason)})`, 1);
}
