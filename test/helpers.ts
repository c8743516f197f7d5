// Shared by the integration tests: the built guests and a machine runner.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEFAULTS, type Transport, type VmSpec } from "../hypervisor/root/config.js";
import { Machine, type MachineIo, type VmResult } from "../hypervisor/root/machine.js";

export const guest = (name: string): string => {
  const path = fileURLToPath(new URL(`../guests/build/${name}`, import.meta.url));
  if (!existsSync(path)) throw new Error(`${path} missing: run npm run guests`);
  return path;
};

/** Whether qemu-system-i386 runs on this host (the QEMU-oracle tests skip without it). */
export function hasQemu(): boolean {
  try {
    execFileSync("qemu-system-i386", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function vm(name: string, image: string, more: Partial<VmSpec> = {}): VmSpec {
  return {
    name,
    image,
    memoryBytes: 16 << 20,
    priority: DEFAULTS.priority,
    quantum: DEFAULTS.quantum,
    policy: "destroy",
    cmdline: "",
    ...more,
  };
}

/** Boots the VMs and runs them to the end; `hook` may act on console output. */
export async function runVms(
  vms: VmSpec[],
  hook?: (machine: Machine, vm: string, text: string) => void,
  io: Partial<MachineIo> = {},
  transport: Transport = "sab",
): Promise<Map<string, VmResult>> {
  let machine: Machine | null = null;
  machine = new Machine(
    { vms, exitDeadlineMs: DEFAULTS.exitDeadlineMs, transport },
    { console: (vm, text) => hook?.(machine as Machine, vm, text), ...io },
  );
  const results = await machine.run();
  return new Map(results.map((r) => [r.name, r]));
}
