// What a VMM worker runs for each exit (vmm/worker.ts, vmm/sab-serve.ts):
// the real Vmm, wrapped with what containment needs (DESIGN.md §6):
// - restore: the first exit sent to a restarted VMM carries the checkpoint
//   of the last reply the kernel accepted (VmExit.restore);
// - checkpoint: after each exit the device state is saved and, when it
//   changed, sent with the reply (VmReply.checkpoint);
// - seal: every reply ends in its CRC-32 trailer (proto/reply-checksum.ts);
// - fault hooks (only when the root task enabled them): the FaultOrder an
//   exit carries is committed (vmm/fault-hooks.ts).
import { type IVmReply, VmExit, VmReply } from "../proto/index.js";
import { sealReply } from "../proto/reply-checksum.js";
import { checkpointText, decodeCheckpoint, encodeCheckpoint } from "./fault-checkpoint.js";
import { commitBefore, flipBits, lie, malformed } from "./fault-hooks.js";
import { Vmm, type VmmBoot } from "./vmm.js";

/** What the root task adds to a VMM's boot data (workerData). */
export interface ServedVmmBoot extends VmmBoot {
  /** Send device-state checkpoints with replies (policy `restart`). */
  checkpoints?: boolean;
  /** Commit the FaultOrders exits carry (fault injection enabled). */
  faultHooks?: boolean;
}

export type ExitServer = (exit: Uint8Array) => Uint8Array;

/** The per-exit function of one VMM worker: encoded VmExit in, sealed VmReply out. Throws only on a bug or an injected throw. */
export function serveVmmExits(boot: ServedVmmBoot): ExitServer {
  let vmm: Vmm | null = null;
  let sent = "";
  const ramBytes = boot.ram.byteLength;
  return (bytes) => {
    const exit = VmExit.decode(bytes);
    // Built on the first exit, so that a constructor that throws is reported like a handler that throws.
    vmm ??= new Vmm(boot);
    if (exit.restore && exit.restore.length > 0) {
      const { state, text } = decodeCheckpoint(exit.restore);
      vmm.restore(state);
      sent = text;
    }
    const order = boot.faultHooks ? exit.fault : null;
    if (order) commitBefore(order);
    const reply: IVmReply = vmm.handleExit(exit);
    if (boot.checkpoints) {
      const text = checkpointText(vmm.save());
      if (text !== sent) {
        reply.checkpoint = encodeCheckpoint(text);
        sent = text;
      }
    }
    if (order) lie(order, reply, exit, ramBytes);
    let body = VmReply.encode(reply).finish();
    if (order?.kind === "malformed") body = malformed(body);
    const sealed = sealReply(body);
    return order?.kind === "bitflip" ? flipBits(sealed, order.seed ?? 0) : sealed;
  };
}
