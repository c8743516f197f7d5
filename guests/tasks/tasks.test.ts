// Oracle: QEMU (qemu-system-i386, TCG), an independent x86 model that
// performs hardware task switches itself. The tasks and double-fault guests
// check themselves against the SDM (Vol. 3A ch. 8, §6.15); here they run on
// QEMU, where every check must pass, and on moat (kernel, VT-x model, the
// VMM's vmm/emulator/task-switch.ts), whose serial output must be the same
// byte for byte (each line prints the values it saw). Skipped without QEMU.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { guest, hasQemu, runVms, vm } from "../../test/helpers.js";

/** Serial output of `elf` booted by QEMU's Multiboot loader; isa-debug-exit at 0xF4 ends the run. */
function qemuSerial(elf: string): string {
  const args = ["-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-cpu", "pentium2"];
  const dev = ["-m", "16", "-kernel", elf, "-device", "isa-debug-exit,iobase=0xf4,iosize=4"];
  try {
    return execFileSync("qemu-system-i386", [...args, ...dev], { encoding: "latin1", timeout: 30_000 });
  } catch (e) {
    // isa-debug-exit makes QEMU exit with (v << 1) | 1: the exception carries the output.
    return (e as { stdout?: string }).stdout ?? "";
  }
}

describe.skipIf(!hasQemu())("task-switch guests on QEMU and on moat", () => {
  for (const [name, checks] of [
    ["tasks", 42],
    ["double-fault", 9],
  ] as const) {
    it(`${name}: all ${checks} checks pass on QEMU, and moat prints the same`, async () => {
      const qemu = qemuSerial(guest(`${name}.elf`));
      expect(qemu).toContain(`${name}: ${checks} checks passed, 0 failed\n`);
      const r = (await runVms([vm(name, guest(`${name}.elf`))])).get(name)!;
      expect(r.output).toBe(qemu);
    });
  }
});
