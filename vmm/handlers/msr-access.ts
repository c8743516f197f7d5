// RDMSR (31) and WRMSR (32): ECX = MSR index, EDX:EAX = value (SDM Vol. 2B).
// SYSENTER MSRs are guest state and travel in MTD group SYSENTER; the rest
// live in the VMM's MSR file (vmm/msr.ts). An MSR the model lacks raises
// #GP(0) and EIP stays on the faulting instruction (a fault, SDM §6.5).
import type { IVmExit } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { sysenterField } from "../msr.js";
import type { ReplyBuilder } from "../reply.js";
import type { VmmContext } from "../vmm-context.js";

const GP = 13;

export function handleRdmsr(exit: IVmExit, reply: ReplyBuilder, vmm: VmmContext): void {
  const index = reply.in.ecx ?? 0;
  const field = sysenterField(index);
  const value = field ? { lo: reply.in[field] ?? 0, hi: 0 } : vmm.msrs.read(index, exit.tsc ?? 0);
  if (!value) {
    reply.injectException(GP, 0);
    return;
  }
  reply.setGpr("eax", value.lo);
  reply.setGpr("edx", value.hi);
  reply.advanceEip();
}

export function handleWrmsr(_exit: IVmExit, reply: ReplyBuilder, vmm: VmmContext): void {
  const index = reply.in.ecx ?? 0;
  const lo = reply.in.eax ?? 0;
  const hi = reply.in.edx ?? 0;
  const field = sysenterField(index);
  if (field) {
    // On IA-32 processors these MSRs are 32 bits wide; EDX is ignored.
    reply.setState(Mtd.SYSENTER, {
      sysenterCs: reply.in.sysenterCs ?? 0,
      sysenterEsp: reply.in.sysenterEsp ?? 0,
      sysenterEip: reply.in.sysenterEip ?? 0,
      [field]: lo >>> 0,
    });
  } else if (!vmm.msrs.write(index, lo, hi)) {
    reply.injectException(GP, 0);
    return;
  }
  reply.advanceEip();
}
