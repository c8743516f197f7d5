// HLT (exit reason 12). With EFLAGS.IF = 0 nothing but an NMI could wake the
// vCPU, and this VM has no NMI source: the guest is done. Otherwise the vCPU
// waits in the HLT activity state (SDM §24.4.2) for an interrupt.
import type { IVmExit } from "../../proto/index.js";
import type { ReplyBuilder } from "../reply.js";

const EFLAGS_IF = 1 << 9;
const ACTIVITY_HLT = 1;

export function handleHlt(_exit: IVmExit, reply: ReplyBuilder): void {
  if (((reply.in.eflags ?? 0) & EFLAGS_IF) === 0) {
    reply.stop("halted");
    return;
  }
  reply.advanceEip();
  reply.setActivity(ACTIVITY_HLT);
}
