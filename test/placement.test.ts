// Placement (issue 6): the same guests under split (every device model in
// the VMM worker), irqchip (8259A, 8254 and interrupt delivery in the
// hypervisor, as KVM's in-kernel irqchip) and monolithic (the whole VMM in
// the hypervisor thread), through `moat run` and the Machine.
// Oracles: the guests' own self-checks (guests/timer measures the PIT period
// against the 8254 datasheet and the 100 MHz virtual TSC; guests/exits checks
// CPUID, MSRs and more against the SDM; guests/hello prints a fixed line;
// guests/echo upper-cases its input), our init's pi(20000) = 2262 for Linux,
// and DESIGN.md §5: a run is a pure function of image, config and input, so
// moving a device model must change neither output nor instruction count.
// Where exits go is checked against what each placement means: under
// irqchip no exit for ports 20h/21h, A0h/A1h, 4D0h/4D1h, 40h-43h, 61h, no
// HLT, PIT timer or interrupt window reaches the VMM; under monolithic no
// exit crosses to a worker thread.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULTS, type Placement, parseConfig, type VmSpec } from "../hypervisor/root/config.js";
import type { FaultKind } from "../hypervisor/root/fault-plan.js";
import { Machine, type VmResult } from "../hypervisor/root/machine.js";
import type { VmmFactory } from "../hypervisor/root/vmm-host.js";
import { sabVmmFactory } from "../hypervisor/root/vmm-sab-host.js";
import { ExitReason } from "../proto/exit-reason.js";
import { VmExit } from "../proto/index.js";
import { guest, vm } from "./helpers.js";

const MOAT = fileURLToPath(new URL("../bin/moat.js", import.meta.url));
const PLACEMENTS: Placement[] = ["split", "irqchip", "monolithic"];
/** The ports of the 8259A pair, the PIIX ELCR and the 8254 with port B. */
const IRQCHIP_PORTS = new Set([0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1, 0x40, 0x41, 0x42, 0x43, 0x61]);

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
  instructions: number;
  exits: number;
  forwarded: number;
  inHypervisor: number;
}

function moat(args: string[], input = ""): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MOAT, "run", ...args, "--stats"]);
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("error", reject);
    p.on("close", (status) => {
      const vmLine = /vm \S+: (\d+) instructions, (\d+) exits/.exec(stderr);
      const where = /placement \w+: (\d+) exits forwarded to the VMM .*, (\d+) finished in the hypervisor/.exec(stderr);
      resolve({
        status,
        stdout: stdout.replace(/\r\n/g, "\n"),
        stderr,
        instructions: Number(vmLine?.[1] ?? -1),
        exits: Number(vmLine?.[2] ?? -1),
        forwarded: Number(where?.[1] ?? -1),
        inHypervisor: Number(where?.[2] ?? -1),
      });
    });
    p.stdin.end(input);
  });
}

/** `moved`: whether the guest uses what irqchip moves (timer: PIC, PIT, HLT; hello: its final HLT; the others: none of it). */
const GUESTS = [
  { name: "timer", pass: /timer: 3 checks passed, 0 failed\n/, status: 1, moved: true },
  { name: "exits", pass: /exits: 20 checks passed, 0 failed\n/, status: 0, moved: false },
  { name: "hello", pass: /^Hello from moat guest\n$/, status: 0, moved: true },
  // Task switches through task gates: the VMM emulates them, and the event the gate delivered must not be re-injected.
  { name: "tasks", pass: /tasks: \d+ checks passed, 0 failed\n/, status: 1, moved: false },
  { name: "double-fault", pass: /double-fault: \d+ checks passed, 0 failed\n/, status: 1, moved: false },
];

describe("moat run --placement: the same guests give the same output", () => {
  for (const g of GUESTS) {
    it(`${g.name}: byte-identical output and instruction count under split, irqchip and monolithic`, async () => {
      const [split, irqchip, mono] = await Promise.all(
        PLACEMENTS.map((p) => moat([guest(`${g.name}.elf`), "--placement", p])),
      );
      for (const r of [split, irqchip, mono]) {
        expect(r.stdout).toMatch(g.pass);
        expect(r.stdout).not.toContain("FAIL");
        expect(r.status).toBe(g.status);
      }
      expect(irqchip.stdout).toBe(split.stdout);
      expect(mono.stdout).toBe(split.stdout);
      expect(irqchip.instructions).toBe(split.instructions);
      expect(mono.instructions).toBe(split.instructions);
      // Every exit is accounted for once: forwarded to the VMM or finished in the hypervisor.
      for (const r of [split, irqchip, mono]) expect(r.forwarded + r.inHypervisor).toBe(r.exits);
      expect(split.inHypervisor).toBe(0);
      expect(mono.inHypervisor).toBe(0);
      expect(mono.forwarded).toBe(split.forwarded);
      if (g.moved) {
        expect(irqchip.inHypervisor).toBeGreaterThan(0);
        expect(irqchip.forwarded).toBeLessThan(split.forwarded);
      } else {
        expect(irqchip.inHypervisor).toBe(0);
        expect(irqchip.forwarded).toBe(split.forwarded);
      }
    }, 180_000);
  }

  it("refuses an unknown placement with the allowed values", async () => {
    const r = await moat([guest("hello.elf"), "--placement", "kvm"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('moat: --placement: expected split, irqchip or monolithic, got "kvm"');
  });

  it("validates the config field placement, naming the field and the allowed values", () => {
    const config = (p: unknown) => JSON.stringify({ vms: [{ image: guest("hello.elf"), placement: p }] });
    expect(parseConfig(config("irqchip"), "/tmp/c.json").vms[0].placement).toBe("irqchip");
    expect(parseConfig(JSON.stringify({ vms: [{ image: guest("hello.elf") }] }), "/tmp/c.json").vms[0].placement).toBe(
      "split",
    );
    expect(() => parseConfig(config("kvm"), "/tmp/c.json")).toThrow(ConfigError);
    expect(() => parseConfig(config("kvm"), "/tmp/c.json")).toThrow(
      '/tmp/c.json: vms[0].placement: expected "split", "irqchip" or "monolithic", got "kvm"',
    );
  });
});

/** What reached VMM workers: one entry per exit message, with its reason and, for I/O, its port. */
interface Crossing {
  reason: number;
  port: number;
}

/** Runs `spec` on a Machine whose worker VMMs record every exit they are sent; `input` goes to COM1 first. */
async function runRecorded(spec: VmSpec, input?: string): Promise<{ r: VmResult; crossings: Crossing[] }> {
  const crossings: Crossing[] = [];
  const recording: VmmFactory = (boot, opts) => {
    const port = sabVmmFactory(boot, opts);
    const call = port.call.bind(port);
    port.call = (m) => {
      const e = VmExit.decode(m);
      crossings.push({ reason: e.reason, port: (e.qual ?? 0) >>> 16 });
      return call(m);
    };
    return port;
  };
  const machine = new Machine(
    { vms: [spec], exitDeadlineMs: DEFAULTS.exitDeadlineMs, transport: "sab" },
    { console: () => {}, vmmFactory: recording },
  );
  if (input !== undefined) {
    machine.consoleInput(spec.name, new TextEncoder().encode(input));
    machine.consoleEnd();
  }
  const [r] = await machine.run();
  return { r, crossings };
}

/** Exits the in-hypervisor irqchip finishes: its ports, HLT, the PIT's timer (no other device has one here), windows. */
function irqchipExit(c: Crossing): boolean {
  if (c.reason === ExitReason.IO_INSTRUCTION) return IRQCHIP_PORTS.has(c.port);
  const moved: number[] = [ExitReason.HLT, ExitReason.PREEMPTION_TIMER, ExitReason.INTERRUPT_WINDOW];
  return moved.includes(c.reason);
}

describe("where exits go under each placement (Machine)", () => {
  it("timer: under irqchip no PIC/PIT port I/O, HLT, timer or window exit reaches the VMM; monolithic crosses to no worker", async () => {
    const runs = new Map<Placement, Awaited<ReturnType<typeof runRecorded>>>();
    for (const p of PLACEMENTS) runs.set(p, await runRecorded(vm("timer", guest("timer.elf"), { placement: p })));
    const split = runs.get("split")!;
    const irqchip = runs.get("irqchip")!;
    const mono = runs.get("monolithic")!;
    expect(split.r.output).toContain("timer: 3 checks passed, 0 failed\n");
    for (const { r } of [irqchip, mono]) {
      expect(r.output).toBe(split.r.output);
      expect(r.instructions).toBe(split.r.instructions);
      expect(r.exitCode).toBe(split.r.exitCode);
    }
    // Split: the guest's PIC and PIT programming, its HLTs and the PIT's timer all went to the worker.
    const moved = split.crossings.filter(irqchipExit).length;
    expect(
      split.crossings.filter((c) => c.reason === ExitReason.IO_INSTRUCTION && IRQCHIP_PORTS.has(c.port)).length,
    ).toBeGreaterThan(0);
    expect(split.r.exitsForwarded).toBe(split.crossings.length);
    // Irqchip: exactly those stay in the hypervisor.
    expect(irqchip.crossings.filter(irqchipExit)).toEqual([]);
    expect(irqchip.r.exitsInHypervisor).toBe(moved);
    expect(irqchip.r.exitsForwarded).toBe(split.r.exitsForwarded - moved);
    expect(irqchip.r.exitsForwarded).toBe(irqchip.crossings.length);
    // Monolithic: every exit goes to the VMM by a call in this thread, none to a worker.
    expect(mono.crossings).toEqual([]);
    expect(mono.r.exitsForwarded).toBe(split.r.exitsForwarded);
    expect(mono.r.exitsInHypervisor).toBe(0);
    for (const p of PLACEMENTS) expect(runs.get(p)!.r.placement).toBe(p);
  }, 180_000);

  it("echo: console input through COM1 and IRQ 4 gives the same output and instruction count everywhere", async () => {
    const results: VmResult[] = [];
    for (const p of PLACEMENTS) {
      const { r, crossings } = await runRecorded(vm("echo", guest("echo.elf"), { placement: p }), "hello\nworld\nq");
      expect(r.output).toBe("HELLO\nWORLD\necho: bye\n");
      expect(r).toMatchObject({ fault: false, exitCode: 1 }); // debug-exit status (0 << 1) | 1
      if (p === "irqchip") expect(crossings.filter(irqchipExit)).toEqual([]);
      if (p === "monolithic") expect(crossings).toEqual([]);
      results.push(r);
    }
    for (const r of results.slice(1)) expect(r.instructions).toBe(results[0].instructions);
  }, 180_000);
});

describe("containment under placement irqchip (DESIGN.md §6)", () => {
  /** The timer guest, irqchip, policy restart, with `faults` injected into its VMM (exit numbers count forwarded exits). */
  async function timerWithFaults(faults: [number, FaultKind][]) {
    const spec = vm("timer", guest("timer.elf"), { placement: "irqchip", policy: "restart" });
    const m = new Machine(
      { vms: [spec], exitDeadlineMs: 2000, transport: "sab", faultHooks: true },
      { console: () => {} },
    );
    m.prepareSpares("timer", 2);
    for (const [seq, kind] of faults) m.inject("timer", kind, { atExit: seq });
    const [r] = await m.run();
    return { r, faults: m.faults };
  }

  it("a restarted VMM carries on while the 8259A and 8254 keep their state in the hypervisor: same output, same instructions", async () => {
    const clean = await timerWithFaults([]);
    expect(clean.r.output).toContain("timer: 3 checks passed, 0 failed\n");
    const got = await timerWithFaults([
      [20, "throw"],
      [60, "bitflip"],
      [100, "bad-inject"],
      [140, "exit"],
    ]);
    expect(got.faults.map((f) => [f.seq, f.action])).toEqual([
      [20, "retry"],
      [60, "retry"],
      [100, "retry"],
      [140, "retry"],
    ]);
    expect(got.r.output).toBe(clean.r.output);
    expect(got.r.instructions).toBe(clean.r.instructions);
    expect(got.r).toMatchObject({ fault: false, exitCode: clean.r.exitCode });
  }, 180_000);

  it("refuses fault injection for a VM whose VMM runs in the hypervisor thread (monolithic)", () => {
    const spec = vm("m", guest("hello.elf"), { placement: "monolithic" });
    expect(
      () =>
        new Machine({ vms: [spec], exitDeadlineMs: 1000, transport: "sab", faultHooks: true }, { console: () => {} }),
    ).toThrow(
      "vm m: placement monolithic runs its VMM in the hypervisor thread; fault injection needs split or irqchip",
    );
  });
});

const cache = join(process.env.MOAT_CACHE ?? join(homedir(), ".cache", "moat"), "linux");
const bzImage = join(cache, "bzImage");
const initramfs = join(cache, "initramfs.cpio.gz");
const haveLinux = existsSync(bzImage) && existsSync(initramfs);

describe("Linux under placement irqchip", () => {
  it("is built wherever the tests must prove it (CI)", () => {
    if (process.env.CI) expect(haveLinux, `${bzImage} and ${initramfs} (npm run setup builds them)`).toBe(true);
  });

  it.skipIf(!haveLinux)(
    `boots to our init with the same console, byte for byte, as under split${haveLinux ? "" : " (skipped: no Linux build)"}`,
    async () => {
      const args = ["--kernel", bzImage, "--initrd", initramfs, "--append", "console=ttyS0"];
      const [split, irqchip] = await Promise.all(["split", "irqchip"].map((p) => moat([...args, "--placement", p])));
      for (const r of [split, irqchip]) {
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("moat-init: primes below 20000: 2262\n");
        expect(r.stdout).toMatch(/ {2}0: +[1-9]\d* +XT-PIC +timer/);
        expect(r.stdout).toContain("moat-init: done\n");
      }
      expect(irqchip.stdout).toBe(split.stdout);
      expect(irqchip.instructions).toBe(split.instructions);
      expect(irqchip.inHypervisor).toBeGreaterThan(0);
      expect(irqchip.forwarded).toBeLessThan(split.forwarded);
    },
    900_000,
  );
});
