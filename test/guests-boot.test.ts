// Our three guests booted through the whole path: kernel, emulated VT-x and
// EPT, protobuf exits to a piscina VMM worker, the 16550 UART. Each guest
// checks itself (against the SDM's rules for paging, #PF error codes and
// privilege, and against the documented CPUID/MSR/hypercall models) and
// prints its verdict, which is what these tests read.

import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { guest, runVms, vm } from "./helpers.js";

/** The serial output of a ROM run as QEMU's BIOS (with its isa-debug-exit at 0xF4), or null without QEMU. */
function qemuBios(rom: string): string | null {
  return qemuRun(["-bios", rom]);
}

/** QEMU's serial output for `boot` (with its isa-debug-exit at 0xF4, which ends it), or null without QEMU. */
function qemuRun(boot: string[]): string | null {
  const args = [
    "-display",
    "none",
    "-monitor",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-cpu",
    "pentium2",
    "-m",
    "16",
  ];
  try {
    execFileSync("qemu-system-i386", ["--version"], { stdio: "ignore" });
  } catch {
    return null;
  }
  try {
    execFileSync("qemu-system-i386", [...args, ...boot, "-device", "isa-debug-exit,iobase=0xf4,iosize=4"], {
      encoding: "latin1",
      timeout: 20_000,
    });
  } catch (e) {
    // isa-debug-exit ends QEMU with status (v << 1) | 1: an exception here carries the output.
    return (e as { stdout?: string }).stdout ?? null;
  }
  return null;
}

describe("guests booted end to end", () => {
  it("hello prints over the UART and halts", async () => {
    const r = (await runVms([vm("hello", guest("hello.elf"))])).get("hello")!;
    expect(r.output).toBe("Hello from moat guest\n");
    expect(r).toMatchObject({ fault: false, reason: "halted", exitCode: 0 });
    expect(r.exits.get(30)).toBeGreaterThan(21); // at least one OUT per character
  });

  it("hello runs from a flat binary loaded at 1 MiB", async () => {
    const r = (await runVms([vm("flat", guest("hello.bin"), { format: "flat", load: 0x100000 })])).get("flat")!;
    expect(r.output).toBe("Hello from moat guest\n");
    expect(r.fault).toBe(false);
  });

  it("paging-ring3 turns on paging, runs at ring 3 and checks page faults and #GP", async () => {
    const r = (await runVms([vm("p", guest("paging-ring3.elf"))])).get("p")!;
    expect(r.output).toContain("in ring 3\n");
    expect(r.output).toContain("paging-ring3: 14 checks passed, 0 failed\n");
    expect(r.output).not.toContain("FAIL");
    expect(r).toMatchObject({ fault: false, exitCode: 0 });
  });

  it("exits drives CPUID, RDMSR/WRMSR and VMCALL exits and checks the answers", async () => {
    const r = (await runVms([vm("e", guest("exits.elf"))])).get("e")!;
    expect(r.output).toContain("exits: 20 checks passed, 0 failed\n");
    expect(r.output).not.toContain("FAIL");
    expect(r).toMatchObject({ fault: false, exitCode: 0, reason: "guest exit (hypercall) with code 0" });
    for (const reason of [10, 18, 31, 32]) expect(r.exits.get(reason)).toBeGreaterThan(0);
  });

  it("v86 runs a virtual-8086 monitor and its 16-bit program and passes its checks, with QEMU's output", async () => {
    // SDM Vol. 3A ch. 20 (no VME) is checked inside the guest (guests/v86/v86.c); QEMU's model is the second opinion.
    const r = (await runVms([vm("v86", guest("v86.elf"))])).get("v86")!;
    expect(r.output).toContain("v86: hello from virtual-8086 mode over COM1\n");
    expect(r.output).toContain("v86: 16 checks passed, 0 failed\n");
    expect(r.output).not.toContain("FAIL");
    expect(r).toMatchObject({
      fault: false,
      exitCode: 1,
      reason: "guest exit through the debug-exit port with status 1",
    });
    const qemu = ["-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot", "-cpu", "pentium2"];
    try {
      const dev = ["-m", "16", "-kernel", guest("v86.elf"), "-device", "isa-debug-exit,iobase=0xf4,iosize=4"];
      execFileSync("qemu-system-i386", [...qemu, ...dev], { encoding: "latin1", timeout: 30_000 });
    } catch (e) {
      // isa-debug-exit ends QEMU with status 1: the exception carries the output (none when QEMU is missing).
      const out = (e as { stdout?: string }).stdout;
      if (out) expect(out).toBe(r.output);
    }
  });

  it("reset boots a firmware ROM from the reset vector and passes its Table 9-1 and ROM-mapping checks", async () => {
    // SDM Vol. 3A §9.1.4 / Table 9-1 are checked inside the ROM (guests/reset/reset.S); QEMU's -bios is the second opinion.
    const r = (await runVms([vm("reset", "", { image: undefined, firmware: guest("reset.bin") })])).get("reset")!;
    expect(r.output).toContain("reset: 26 checks passed, 0 failed\n");
    expect(r.output).not.toContain("FAIL");
    expect(r).toMatchObject({
      fault: false,
      exitCode: 1,
      reason: "guest exit through the debug-exit port with status 1",
    });
    expect(r.exits.get(48)).toBe(4); // the four writes to the ROM, each an EPT violation the VMM drops
    const qemu = qemuBios(guest("reset.bin"));
    if (qemu !== null) expect(qemu).toBe(r.output);
  });

  for (const [name, checks] of [
    ["tasks", 42],
    ["double-fault", 9],
  ] as const) {
    it(`${name} switches tasks (exit 9, vmm/emulator/task-switch.ts) and passes its ${checks} checks`, async () => {
      const r = (await runVms([vm(name, guest(`${name}.elf`))])).get(name)!;
      expect(r.output).toContain(`${name}: ${checks} checks passed, 0 failed\n`);
      expect(r).toMatchObject({ fault: false, exitCode: 1 });
      expect(r.exits.get(9)).toBeGreaterThan(0);
    });
  }

  it("debug checks TF single-step, DR0-DR3 instruction, data and I/O breakpoints, general detect and INT1", async () => {
    // SDM Vol. 3B ch. 17 rules are checked inside the guest (guests/debug/debug.c).
    const r = (await runVms([vm("debug", guest("debug.elf"))])).get("debug")!;
    expect(r.output).toContain("debug: 44 checks passed, 0 failed\n");
    expect(r.output).not.toContain("FAIL");
    expect(r).toMatchObject({
      fault: false,
      exitCode: 1,
      reason: "guest exit through the debug-exit port with status 1",
    });
    // QEMU (TCG) as a second opinion up to general detect, which it does not model (nor INT1 on its pentium2).
    const qemu = qemuRun(["-kernel", guest("debug.elf")]);
    const upToGd = (t: string) => t.slice(0, t.indexOf("-- general detect"));
    if (qemu !== null) expect(upToGd(qemu)).toBe(upToGd(r.output));
  });

  it("runs the three guests at once with the same output as alone", async () => {
    const names = ["hello", "paging-ring3", "exits"];
    const together = await runVms(names.map((n) => vm(n, guest(`${n}.elf`))));
    for (const n of names) {
      const alone = (await runVms([vm(n, guest(`${n}.elf`))])).get(n)!;
      expect(together.get(n)!.output).toBe(alone.output);
      expect(together.get(n)!.instructions).toBe(alone.instructions);
    }
  });
});
