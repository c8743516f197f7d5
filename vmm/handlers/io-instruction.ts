// I/O instruction (exit reason 30): IN/OUT through the VM's I/O bus. IN
// replaces AL, AX or EAX and keeps the rest of EAX (SDM Vol. 2A "IN").
// INS/OUTS need the instruction emulator to reach guest memory through the
// guest's paging; until it exists they stop the VM with a clear reason.
import type { IVmExit } from "../../proto/index.js";
import { hex } from "../hex.js";
import { decodeIoQualification } from "../io-qualification.js";
import type { ReplyBuilder } from "../reply.js";
import type { VmmContext } from "../vmm-context.js";

const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffff_ffff] as const;

export function handleIoInstruction(exit: IVmExit, reply: ReplyBuilder, vmm: VmmContext): void {
  const qual = exit.qual ?? 0;
  const io = decodeIoQualification(qual);
  if (!io) {
    reply.stop(`I/O exit with invalid size in qualification ${hex(qual)}`, 1);
    return;
  }
  if (io.isString) {
    reply.stop(`string I/O not supported yet (${io.isIn ? "INS" : "OUTS"} at port ${hex(io.port)})`, 1);
    return;
  }
  const eax = reply.in.eax ?? 0;
  const mask = SIZE_MASK[io.size];
  if (io.isIn) {
    const value = vmm.bus.read(io.port, io.size) & mask;
    reply.setGpr("eax", ((eax & ~mask) | value) >>> 0);
  } else {
    vmm.bus.write(io.port, io.size, (eax & mask) >>> 0);
  }
  reply.advanceEip();
}
