import { kernel } from "../kernel/entry.js";

// Each placement's code comes by import(), only for the VMs that ask for it.
export async function start(placement: string): Promise<number> {
  if (placement === "irqchip") return (await import("../in-kernel/irqchip.js")).irqchip() + kernel;
  if (placement === "monolithic") return (await import("./vmm-in-thread.js")).runVmm() + kernel;
  return kernel;
}
