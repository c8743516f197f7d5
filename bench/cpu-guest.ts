// Interpreter throughput on real compiled code: bench/guests/cpu-bench.c (a
// sieve, CRC-32 and multiply/divide loops, built with the system gcc like our
// test guests) run through the whole machine. Prints guest MIPS, where the
// host time goes (a CPU profile summary by source file and by function), and,
// when QEMU is installed, QEMU TCG's time on the same image side by side.
//   npm run bench:cpu-guest [-- --no-profile] [-- --no-qemu]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULTS } from "../hypervisor/root/config.js";
import { Machine, type VmResult } from "../hypervisor/root/machine.js";

const { values } = parseArgs({ options: { "no-profile": { type: "boolean" }, "no-qemu": { type: "boolean" } } });
const root = fileURLToPath(new URL("..", import.meta.url));

function buildGuest(): string {
  const dir = mkdtempSync(join(tmpdir(), "moat-cpu-bench-"));
  const flags = ["-m32", "-march=i686", "-ffreestanding", "-nostdlib", "-fno-pic", "-fno-pie", "-fno-stack-protector"];
  const more = ["-O2", "-fno-asynchronous-unwind-tables", "-mno-mmx", "-mno-sse", "-mno-80387"];
  const sources = [
    "bench/guests/cpu-bench.c",
    "guests/lib/start.S",
    "guests/lib/uart.c",
    "guests/lib/print.c",
    "guests/lib/string.c",
  ];
  const objs = sources.map((src, i) => {
    const obj = join(dir, `${i}.o`);
    execFileSync("gcc", [...flags, ...more, "-c", join(root, src), "-o", obj]);
    return obj;
  });
  const elf = join(dir, "cpu-bench.elf");
  execFileSync("ld", [
    "-m",
    "elf_i386",
    "-static",
    "-nostdlib",
    "-T",
    join(root, "guests/lib/link.ld"),
    "-o",
    elf,
    ...objs,
  ]);
  return elf;
}

async function runMoat(image: string): Promise<{ r: VmResult; ms: number }> {
  const machine = new Machine(
    {
      exitDeadlineMs: DEFAULTS.exitDeadlineMs,
      transport: "sab",
      vms: [
        {
          name: "cpu",
          image,
          memoryBytes: 32 << 20,
          priority: 1,
          quantum: DEFAULTS.quantum,
          policy: "destroy",
          cmdline: "",
        },
      ],
    },
    { console: () => {} },
  );
  const t0 = performance.now();
  const [r] = await machine.run();
  return { r, ms: performance.now() - t0 };
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

/** Self time by file and by function, from a V8 CPU profile. */
function summarize(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const files = new Map<string, number>();
  const fns = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id)!.callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const file = f.url ? f.url.replace(/^file:\/\//, "").replace(root, "") : `(${f.functionName || "native"})`;
    files.set(file, (files.get(file) ?? 0) + dt);
    const fn = `${f.functionName || "(anonymous)"} ${file}:${f.lineNumber + 1}`;
    fns.set(fn, (fns.get(fn) ?? 0) + dt);
  });
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, v]) => `  ${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`)
      .join("\n");
  return `where the time goes (self time, sampled):\n by file:\n${top(files, 8)}\n by function:\n${top(fns, 12)}`;
}

function runQemu(image: string): { ms: number; output: string } | null {
  const probe = spawnSync("qemu-system-i386", ["--version"], { encoding: "utf8" });
  if (probe.status !== 0) return null;
  const args = [
    "-accel",
    "tcg",
    "-cpu",
    "pentium2",
    "-m",
    "64",
    "-display",
    "none",
    "-serial",
    "stdio",
    "-monitor",
    "none",
  ];
  args.push("-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-no-reboot", "-kernel", image);
  const t0 = performance.now();
  const r = spawnSync("qemu-system-i386", args, { encoding: "utf8", timeout: 300_000 });
  return { ms: performance.now() - t0, output: r.stdout };
}

const image = buildGuest();
const warm = await runMoat(image);
if (!warm.r.output.includes("cpu-bench: done"))
  throw new Error(`guest did not finish: ${warm.r.reason}\n${warm.r.output}`);
if ((warm.r.output.match(/78498 primes/g) ?? []).length !== 3)
  throw new Error("sieve result wrong (want 78498 primes below 10^6)");
let profileText = "";
let run = warm;
if (values["no-profile"]) run = await runMoat(image);
else {
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  run = await runMoat(image);
  const { profile } = await session.post("Profiler.stop");
  profileText = summarize(profile as never);
  session.disconnect();
}
const mips = run.r.instructions / run.ms / 1000;
console.log(
  `cpu-bench guest on moat: ${run.r.instructions} instructions in ${run.ms.toFixed(0)} ms = ${mips.toFixed(1)} MIPS`,
);
console.log(
  `  (vCPU time inside the processor ${run.r.hostMs.toFixed(0)} ms; ${[...run.r.exits.values()].reduce((a, b) => a + b, 0)} exits)`,
);
const qemu = values["no-qemu"] ? null : runQemu(image);
if (qemu) {
  const same = qemu.output.replace(/\r/g, "") === run.r.output;
  console.log(
    `same image on QEMU TCG (qemu-system-i386 -cpu pentium2): ${qemu.ms.toFixed(0)} ms, moat/QEMU time ratio ${(run.ms / qemu.ms).toFixed(2)}x; output ${same ? "identical" : "DIFFERS"}`,
  );
} else if (!values["no-qemu"])
  console.log("QEMU not installed (apt-get install qemu-system-x86): no side-by-side figure");
if (profileText) console.log(profileText);
