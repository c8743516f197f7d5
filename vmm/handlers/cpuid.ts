// CPUID (exit reason 10): answer from the documented model (vmm/cpuid.ts).
import type { IVmExit } from "../../proto/index.js";
import { cpuid } from "../cpuid.js";
import type { ReplyBuilder } from "../reply.js";

export function handleCpuid(_exit: IVmExit, reply: ReplyBuilder): void {
  const r = cpuid(reply.in.eax ?? 0);
  reply.setGpr("eax", r.eax);
  reply.setGpr("ebx", r.ebx);
  reply.setGpr("ecx", r.ecx);
  reply.setGpr("edx", r.edx);
  reply.advanceEip();
}
