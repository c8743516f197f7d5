// Processor throughput on real compiled code: bench/guests/cpu-bench.c (a
// sieve, CRC-32 and multiply/divide loops, built with the system gcc like our
// test guests) run through the whole machine, interpreter-only (MOAT_JIT=0)
// and with the JIT tier (cpu/jit/), side by side. Prints guest MIPS, where the
// host time goes (a CPU profile summary by source file and by function), and
// the same image's time on the peers that run here, side by side in this run
// with the output compared: QEMU TCG (Debian) and v86 (npm, x86-to-wasm JIT,
// with Debian's SeaBIOS). Every time is host ms from the start (moat: new
// Machine; QEMU: process spawn; v86: new V86) to "cpu-bench: done" on COM1.
//   npm run bench:cpu-guest [-- --no-profile] [-- --no-qemu] [-- --no-v86]
import { Session } from "node:inspector/promises";
import { parseArgs } from "node:util";
import { Machine, type VmResult } from "../hypervisor/root/machine.js";
import { buildBenchGuest, oneVm, ROOT } from "./build-guest.js";
import { type FirstExit, timingFirstExit } from "./first-exit.js";
import { ensureSeabios, type PeerRun, qemuMissing, runQemu, runV86 } from "./peers.js";
import { type Figure, report, withPeer } from "./summary.js";

const { values } = parseArgs({
  options: { "no-profile": { type: "boolean" }, "no-qemu": { type: "boolean" }, "no-v86": { type: "boolean" } },
});
const DONE = "cpu-bench: done\n";
const MEMORY_MB = 32;

async function runMoat(image: string): Promise<{ r: VmResult; ms: number; doneMs: number; startupMs: number }> {
  let seen = "";
  let doneMs = Number.NaN;
  const first: FirstExit = { ms: null };
  const t0 = performance.now();
  const machine = new Machine(oneVm("cpu", image, MEMORY_MB), {
    vmmFactory: timingFirstExit(first),
    console: (_vm, text) => {
      seen += text;
      if (Number.isNaN(doneMs) && seen.includes(DONE)) doneMs = performance.now() - t0;
    },
  });
  const [r] = await machine.run();
  return { r, ms: performance.now() - t0, doneMs, startupMs: first.ms ?? 0 };
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
    const file = f.url ? f.url.replace(/^file:\/\//, "").replace(ROOT, "") : `(${f.functionName || "native"})`;
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

async function measuredRun(image: string): Promise<{ run: Awaited<ReturnType<typeof runMoat>>; profile: string }> {
  if (values["no-profile"]) return { run: await runMoat(image), profile: "" };
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  const run = await runMoat(image);
  const { profile } = await session.post("Profiler.stop");
  session.disconnect();
  return { run, profile: summarize(profile as never) };
}

/** One peer's line and summary figure; `why` says why the peer gave no figure. */
function comparePeer(name: string, moatMs: number, moatOutput: string, peer: PeerRun | null, why: string): Figure {
  const figure: Figure = { figure: `cpu-bench guest, start to "done" vs ${name}`, value: moatMs, unit: "ms" };
  const doneMs = peer?.marks.get(DONE);
  if (!peer || doneMs === undefined) {
    const reason = peer ? `${name} did not print "cpu-bench: done" (${peer.end})` : why;
    console.log(`${name}: ${reason}`);
    return { ...figure, peer: name, note: reason };
  }
  const same = peer.output === moatOutput;
  const extra = peer.readyMs === null ? "" : ` (emulator ready at ${peer.readyMs.toFixed(0)} ms)`;
  const count = peer.instructions === null ? "" : `, ${peer.instructions} instructions counted (BIOS included)`;
  console.log(
    `same image on ${name}: ${doneMs.toFixed(0)} ms${extra}${count}; moat/${name} time ratio ` +
      `${(moatMs / doneMs).toFixed(2)}x; output ${same ? "identical" : "DIFFERS"}`,
  );
  if (!same) console.log(`  ${name} output:\n${peer.output}`);
  return { ...withPeer(figure, name, doneMs), note: same ? "output identical" : "output DIFFERS" };
}

async function peerRun(
  skip: boolean | undefined,
  missing: () => string | null,
  run: () => Promise<PeerRun>,
): Promise<{ peer: PeerRun | null; why: string }> {
  if (skip) return { peer: null, why: "skipped (--no-...)" };
  const why = missing();
  if (why) return { peer: null, why };
  try {
    return { peer: await run(), why: "" };
  } catch (e) {
    return { peer: null, why: `failed: ${(e as Error).message}` };
  }
}

/** A warm-up run (checked) then a measured one, with the JIT tier on or off (the Processor reads MOAT_JIT). */
async function runMode(image: string, jit: boolean, profiled: boolean) {
  const saved = process.env.MOAT_JIT;
  process.env.MOAT_JIT = jit ? "1" : "0";
  try {
    const warm = await runMoat(image);
    if (!warm.r.output.includes(DONE)) throw new Error(`guest did not finish: ${warm.r.reason}\n${warm.r.output}`);
    if ((warm.r.output.match(/78498 primes/g) ?? []).length !== 3)
      throw new Error("sieve result wrong (want 78498 primes below 10^6)");
    // The first run in this process pays V8's warm-up and (JIT tier) every page's compilation; the
    // measured run reuses compiled code, as a long-running guest does after its first pass.
    const coldMips = warm.r.instructions / (warm.ms - warm.startupMs) / 1000;
    const { run, profile } = profiled ? await measuredRun(image) : { run: await runMoat(image), profile: "" };
    if (run.r.output !== warm.r.output) throw new Error("the measured run's output differs from the warm-up run's");
    // Guest MIPS: from the startup exit's reply (the guest's first instruction) to the end of the run,
    // every other exit and the VMM's work for it included; the VMM worker's boot before it is
    // bench:boot's figure, printed here for the end-to-end rate.
    const guestMs = run.ms - run.startupMs;
    const mips = run.r.instructions / guestMs / 1000;
    const endToEnd = run.r.instructions / run.ms / 1000;
    console.log(
      `cpu-bench guest on moat, ${jit ? "JIT tier" : "interpreter only"}: ${run.r.instructions} instructions in ` +
        `${guestMs.toFixed(0)} ms of guest run = ${mips.toFixed(1)} guest MIPS${profile ? " (under the sampling profiler)" : ""}; ` +
        `end to end with the VMM worker's boot (${run.startupMs.toFixed(0)} ms): ${run.ms.toFixed(0)} ms = ${endToEnd.toFixed(1)} MIPS; ` +
        `first (cold) run ${coldMips.toFixed(1)} guest MIPS`,
    );
    console.log(
      `  (vCPU time inside the processor ${run.r.hostMs.toFixed(0)} ms = ` +
        `${(run.r.instructions / run.r.hostMs / 1000).toFixed(1)} MIPS; ` +
        `${[...run.r.exits.values()].reduce((a, b) => a + b, 0)} exits)`,
    );
    return { run, profile, mips, endToEnd };
  } finally {
    if (saved === undefined) delete process.env.MOAT_JIT;
    else process.env.MOAT_JIT = saved;
  }
}

const image = buildBenchGuest("cpu-bench");
const interp = await runMode(image, false, false);
const { run, profile, mips, endToEnd: jitEndToEnd } = await runMode(image, true, true);
if (run.r.output !== interp.run.r.output || run.r.instructions !== interp.run.r.instructions)
  throw new Error("JIT and interpreter runs differ in output or instruction count");
console.log(`  JIT / interpreter: ${(mips / interp.mips).toFixed(2)}x (same output, same instruction count)`);
const opts = { memoryMb: MEMORY_MB, marks: [DONE], timeoutMs: 300_000 };
const qemu = await peerRun(values["no-qemu"], qemuMissing, () => runQemu(image, opts));
const v86 = await peerRun(values["no-v86"], ensureSeabios, () => runV86(image, opts));
const figures: Figure[] = [
  { figure: "cpu-bench guest throughput on moat", value: mips, unit: "MIPS", note: "JIT tier, guest run" },
  {
    figure: "cpu-bench guest throughput on moat, end to end",
    value: jitEndToEnd,
    unit: "MIPS",
    note: "JIT tier, VMM worker boot included",
  },
  { figure: "cpu-bench guest throughput on moat, interpreter only", value: interp.mips, unit: "MIPS" },
];
figures.push(comparePeer("QEMU TCG", run.doneMs, run.r.output, qemu.peer, qemu.why));
figures.push(comparePeer("v86", run.doneMs, run.r.output, v86.peer, v86.why));
report(...figures);
if (profile) console.log(profile);
