// VMCALL (exit reason 18): the guest hypercall ABI of vmm/hypercall-abi.ts.
import type { IVmExit } from "../../proto/index.js";
import {
  HYPERCALL_ABI_VERSION,
  HYPERCALL_DENIED,
  HYPERCALL_MAGIC,
  HYPERCALL_UNKNOWN,
  HypercallFn,
} from "../hypercall-abi.js";
import type { ReplyBuilder } from "../reply.js";

/** CPL is SS.DPL (SDM §5.5), bits 6:5 of the VMCS access rights. */
function cpl(reply: ReplyBuilder): number {
  return ((reply.in.ss?.ar ?? 0) >>> 5) & 3;
}

export function handleVmcall(_exit: IVmExit, reply: ReplyBuilder): void {
  reply.advanceEip();
  if (cpl(reply) !== 0) {
    reply.setGpr("eax", HYPERCALL_DENIED);
    return;
  }
  switch (reply.in.eax ?? 0) {
    case HypercallFn.PROBE:
      reply.setGpr("eax", HYPERCALL_MAGIC);
      reply.setGpr("ebx", HYPERCALL_ABI_VERSION);
      return;
    case HypercallFn.EXIT: {
      const code = (reply.in.ebx ?? 0) | 0;
      reply.stop(`guest exit (hypercall) with code ${code}`, code);
      return;
    }
    default:
      reply.setGpr("eax", HYPERCALL_UNKNOWN);
  }
}
