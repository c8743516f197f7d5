// Memory per VM: 1, 2, 4 and 8 VMs of a small long-running guest
// (bench/guests/idle.c, 16 MiB of guest RAM each) booted through the whole
// machine, each count in a fresh process so that one count's leftovers do
// not hide the next one's growth. In each process, process.memoryUsage() is
// sampled after a GC before the Machine exists, again when every VM has
// printed its first line (all VMM workers up, every guest running), then
// the VMs are destroyed and it is sampled once more after a GC. RSS covers
// the VMM worker threads too (same process); heapUsed is the kernel thread's
// V8 heap only; arrayBuffers holds the guest RAM (one SharedArrayBuffer per
// VM, resident only where touched). Peers, one VM of the same image: QEMU
// TCG's process RSS and v86's (its Node process) when the guest's line
// appears, beside moat's whole-process RSS with one VM.
//   npm run bench:memory [-- --counts 1,2,4,8]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { MachineSpec } from "../hypervisor/root/config.js";
import { Machine } from "../hypervisor/root/machine.js";
import { buildBenchGuest, oneVm } from "./build-guest.js";
import { ensureSeabios, type PeerRun, qemuMissing, runQemu, runV86 } from "./peers.js";
import { type Figure, report, withPeer } from "./summary.js";

const { values } = parseArgs({
  options: {
    counts: { type: "string", default: "1,2,4,8" },
    child: { type: "string" },
    image: { type: "string" },
    "no-qemu": { type: "boolean" },
    "no-v86": { type: "boolean" },
  },
});
const UP = "memory-bench: up\n";
const MEMORY_MB = 16;
const MiB = 1024 * 1024;
const CHILD_RESULT = "memory-result ";

type Usage = ReturnType<typeof process.memoryUsage>;
interface Sample {
  vms: number;
  before: Usage;
  running: Usage;
  after: Usage;
  /** Host ms from new Machine to the last VM's first line. */
  upMs: number;
}

/** A full GC before each sample, so that garbage does not count as growth (v8 flag set at run time). */
function collector(): () => void {
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
}

/** `n` copies of oneVm's VM, named idle0, idle1, ... */
function spec(image: string, n: number): MachineSpec {
  const one = oneVm("idle0", image, MEMORY_MB);
  return { ...one, vms: Array.from({ length: n }, (_, i) => ({ ...one.vms[0], name: `idle${i}` })) };
}

/** Child mode: boots `n` VMs in this process and prints one result line. */
async function measure(image: string, n: number): Promise<Sample> {
  const gc = collector();
  gc();
  const before = process.memoryUsage();
  const seen = new Map<string, string>();
  let running: Usage | null = null;
  let upMs = 0;
  const t0 = performance.now();
  const machine: Machine = new Machine(spec(image, n), {
    console: (vm, text) => {
      const all = (seen.get(vm) ?? "") + text;
      seen.set(vm, all);
      if (running || seen.size < n || [...seen.values()].some((s) => !s.includes(UP))) return;
      upMs = performance.now() - t0;
      gc();
      running = process.memoryUsage();
      setImmediate(() => {
        for (const name of machine.vmNames) machine.destroy(name, "memory sampled");
      });
    },
  });
  const results = await machine.run();
  if (!running) throw new Error(`not every VM came up: ${results.map((r) => `${r.name}: ${r.reason}`).join("; ")}`);
  gc();
  return { vms: n, before, running, after: process.memoryUsage(), upMs };
}

function inChild(image: string, n: number): Sample {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, ["--import", "tsx", self, "--child", String(n), "--image", image], {
    encoding: "utf8",
    timeout: 180_000,
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith(CHILD_RESULT));
  if (!line) throw new Error(`memory child for ${n} VMs failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  return JSON.parse(line.slice(CHILD_RESULT.length)) as Sample;
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1);
const KEYS = ["rss", "heapUsed", "external", "arrayBuffers"] as const;

function printSample(s: Sample): void {
  const grow = (k: (typeof KEYS)[number], u: Usage) => (u[k] - s.before[k]) / s.vms;
  const cells = KEYS.map((k) => `${k} ${mib(grow(k, s.running)).padStart(6)}`).join("  ");
  const left = KEYS.map((k) => `${k} ${mib(grow(k, s.after))}`).join(" ");
  console.log(
    `  ${String(s.vms).padStart(2)} VM: per VM while running (MiB): ${cells}   ` +
      `(process rss ${mib(s.running.rss)}, up in ${s.upMs.toFixed(0)} ms; per VM left after destroy + GC: ${left})`,
  );
}

/** Growth as a line in the VM count: slope (one more VM) and intercept (the machine itself), in MiB. */
function marginal(samples: Sample[]) {
  const lo = samples[0];
  const hi = samples[samples.length - 1];
  const growth = (s: Sample, k: (typeof KEYS)[number]) => s.running[k] - s.before[k];
  const perVm = (k: (typeof KEYS)[number]) =>
    hi.vms === lo.vms ? growth(hi, k) / hi.vms / MiB : (growth(hi, k) - growth(lo, k)) / (hi.vms - lo.vms) / MiB;
  const fixed = (k: (typeof KEYS)[number]) => growth(lo, k) / MiB - perVm(k) * lo.vms;
  return { perVm, fixed };
}

async function peer(
  name: string,
  skip: boolean | undefined,
  missing: () => string | null,
  run: () => Promise<PeerRun>,
): Promise<number | null> {
  const why = skip ? "skipped" : missing();
  if (why) {
    console.log(`  ${name}: ${why}`);
    return null;
  }
  try {
    const r = await run();
    if (!r.marks.has(UP) || r.rssKb === null) {
      console.log(`  ${name}: no figure (${r.end})`);
      return null;
    }
    const mb = r.rssKb / 1024;
    console.log(`  ${name}, one VM of the same image (-m ${MEMORY_MB}): process RSS ${mb.toFixed(1)} MiB`);
    return mb;
  } catch (e) {
    console.log(`  ${name}: failed: ${(e as Error).message}`);
    return null;
  }
}

async function main(): Promise<void> {
  const image = buildBenchGuest("idle");
  const counts = values.counts.split(",").map(Number);
  console.log(`memory per VM: idle guest, ${MEMORY_MB} MiB guest RAM each, each count in a fresh process`);
  const samples = counts.map((n) => inChild(image, n));
  for (const s of samples) printSample(s);
  const { perVm, fixed } = marginal(samples);
  console.log(
    `  marginal cost of one more VM (slope from ${samples[0].vms} to ${samples[samples.length - 1].vms} VMs): ` +
      KEYS.map((k) => `${k} ${perVm(k).toFixed(1)}`).join("  ") +
      ` MiB; fixed cost of the machine: ${KEYS.map((k) => `${k} ${fixed(k).toFixed(1)}`).join("  ")} MiB`,
  );
  console.log(
    `  guest RAM share: ${MEMORY_MB} MiB SharedArrayBuffer per VM of the ${perVm("arrayBuffers").toFixed(1)} MiB ` +
      `arrayBuffers per VM; in RSS it counts only where the guest or the loader touched it`,
  );
  const opts = { memoryMb: MEMORY_MB, marks: [UP], timeoutMs: 60_000 };
  const qemu = await peer("QEMU TCG", values["no-qemu"], qemuMissing, () => runQemu(image, opts));
  const v86 = await peer("v86 (Node process)", values["no-v86"], ensureSeabios, () => runV86(image, opts));
  const one = samples.find((s) => s.vms === 1);
  const oneRss = one ? one.running.rss / MiB : null;
  if (oneRss !== null)
    console.log(`  moat, one VM: process RSS ${oneRss.toFixed(1)} MiB (Node, kernel, one VMM worker)`);
  const figures: Figure[] = [
    { figure: `RSS per additional VM (${MEMORY_MB} MiB guest RAM)`, value: perVm("rss"), unit: "MiB" },
    { figure: "V8 heap (kernel thread) per additional VM", value: perVm("heapUsed"), unit: "MiB" },
    { figure: "arrayBuffers per additional VM", value: perVm("arrayBuffers"), unit: "MiB" },
  ];
  if (oneRss !== null) {
    const f: Figure = { figure: "process RSS with one VM", value: oneRss, unit: "MiB" };
    const peers = [withPeer(f, "QEMU TCG", qemu), withPeer(f, "v86", v86)].filter((p) => p.peer);
    figures.push(...(peers.length > 0 ? peers : [f]));
  }
  report(...figures);
}

if (values.child) {
  const s = await measure(values.image!, Number(values.child));
  console.log(`${CHILD_RESULT}${JSON.stringify(s)}`);
  process.exit(0);
} else await main();
