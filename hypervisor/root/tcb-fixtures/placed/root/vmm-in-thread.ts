// The whole VMM in the hypervisor thread.
import { handle } from "../vmm/vmm.js";

export function runVmm(): number {
  return handle();
}
