// The tradeoff table: where the device models run, and what it costs and
// buys. For each placement of a VM's devices (split: all in the VMM worker;
// irqchip: PIC, PIT and interrupt delivery in the hypervisor thread;
// monolithic: the whole VMM in the hypervisor thread), side by side in one
// process, on the same workloads:
//   - the trusted side's code lines (hypervisor/root/tcb.ts, import closures);
//   - exits forwarded to a VMM per guest second (guest time = retired
//     instructions at the virtual 100 MHz of proto/virtual-time.ts);
//   - the mean host time of one forwarded exit's round trip;
//   - the workload's host run time (new Machine to the VM's end, VMM start
//     included; the median of several runs).
// Workloads: guests/build/timer.elf (PIT interrupts through the PIC wake HLT),
// guests/build/echo.elf with 2,000 bytes of console input (UART receive
// interrupts and port I/O per byte), and Linux 6.1 to our init's banner when
// its build is in the cache (guests/linux/README.md; never built here).
// Prints a markdown table and writes it to <out>/tradeoffs.md, and the chart
// to <out>/tradeoffs.svg. Not a timed test: the machine is shared and noisy.
//   npm run bench:tradeoffs [-- --quick] [--out docs/]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus, homedir, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { ConfigError, parseConfig } from "../hypervisor/root/config.js";
import { Machine, type VmResult } from "../hypervisor/root/machine.js";
import { measureTcb, type TcbPlacement } from "../hypervisor/root/tcb.js";
import { VIRTUAL_TSC_HZ } from "../proto/virtual-time.js";
import { timingFirstExit } from "./first-exit.js";
import { report } from "./summary.js";
import { type Metric, type TradeoffRow, type TradeoffTable, tradeoffMarkdown, tradeoffSvg } from "./tradeoff-chart.js";

export const ROOT = fileURLToPath(new URL("..", import.meta.url));
export const PLACEMENTS = ["split", "irqchip", "monolithic"] as const;

export interface Workload {
  readonly name: string;
  readonly what: string;
  /** The VM's config object (without placement), or why the workload cannot run here. */
  vm(): Record<string, unknown> | { unavailable: string };
  /** Console input queued before the run (the input source then closes). */
  readonly input?: string;
  /** The run ends (the VM is destroyed) when the console shows this text. */
  readonly stopAt?: string;
  /** Whether the guest did its work: null if so, else what is wrong. */
  check(output: string): string | null;
  /** Runs per cell whatever the repetition count (a Linux boot is long). */
  readonly maxRuns?: number;
}

const guestImage = (file: string) => join(ROOT, "guests/build", file);

/** 2,000 bytes without 'q' (it ends the echo guest), a newline every 50. */
const ECHO_INPUT = Array.from({ length: 2000 }, (_, i) =>
  i % 50 === 49 ? "\n" : "abcdefghijklmnoprstuvwxyz"[(i * 7) % 25],
).join("");
const LINUX_DIR = join(process.env.MOAT_CACHE ?? join(homedir(), ".cache/moat"), "linux");
const LINUX_BANNER = "moat-init: hello from PID 1";

export const WORKLOADS: readonly Workload[] = [
  {
    name: "timer",
    what: "guests/build/timer.elf: 10 PIT ticks at 100 Hz through the 8259A, each waking HLT",
    vm: () => ({ name: "timer", image: guestImage("timer.elf"), memory: "16M" }),
    check: (out) => (out.includes("timer: 3 checks passed, 0 failed") ? null : "no 'timer: 3 checks passed'"),
  },
  {
    name: "echo",
    what: "guests/build/echo.elf: 2,000 bytes of console input, UART receive interrupts, echoed in upper case",
    vm: () => ({ name: "echo", image: guestImage("echo.elf"), memory: "16M" }),
    input: `${ECHO_INPUT}q`,
    check: (out) => (out === `${ECHO_INPUT.toUpperCase()}echo: bye\n` ? null : "echoed text differs from the input"),
  },
  {
    name: "linux",
    what: `Linux 6.1 (${LINUX_DIR}) to "${LINUX_BANNER}"`,
    vm: () => {
      const kernel = join(LINUX_DIR, "bzImage");
      const initrd = join(LINUX_DIR, "initramfs.cpio.gz");
      if (!existsSync(kernel) || !existsSync(initrd))
        return { unavailable: `no Linux build in ${LINUX_DIR} (npm run guests:linux builds it)` };
      return { name: "linux", kernel, initrd, cmdline: "console=ttyS0", memory: "64M" };
    },
    stopAt: LINUX_BANNER,
    check: (out) => (out.includes(LINUX_BANNER) ? null : `no "${LINUX_BANNER}"`),
    maxRuns: 1,
  },
];

/** One workload on one placement: the counts of one run, the times of every run. */
export interface Cell {
  readonly placement: string;
  readonly workload: string;
  readonly runs: number;
  readonly instructions: number;
  /** Exits the kernel sent to a VMM (VmResult.exitsForwarded). */
  readonly exitsForwarded: number;
  /** Exits finished by device models in the hypervisor thread (irqchip), never sent to a VMM. */
  readonly exitsInHypervisor: number;
  readonly forwardedPerGuestSecond: number;
  /** Mean host microseconds per forwarded exit (median over runs); null when no exit was forwarded. */
  readonly roundTripUs: number | null;
  /** Median host milliseconds from new Machine to the VM's end. */
  readonly runMs: number;
}

export type CellOutcome = Cell | { placement: string; workload: string; skipped: string; failed: boolean };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

interface Run {
  result: VmResult;
  ms: number;
  /** Host ms of the first exit's round trip (startup: it waits for a VMM worker's boot), when timed. */
  startupMs: number | null;
}

/** Loads the in-thread VMM's modules before the runs, as a monolithic hypervisor has its VMM built in. */
async function preloadInThreadVmm(): Promise<void> {
  try {
    await import(new URL("../hypervisor/root/vmm-in-thread.js", import.meta.url).href);
  } catch {} // absent: the placement's runs say so
}

async function runOnce(placement: string, w: Workload, vm: Record<string, unknown>): Promise<Run> {
  // split is the default: a config without the field runs split on any machine.
  const config = { vms: [{ ...vm, ...(placement === "split" ? {} : { placement }) }] };
  const spec = parseConfig(JSON.stringify(config), `bench/tradeoffs (${placement})`);
  const name = String(vm.name);
  let seen = "";
  const first = { ms: null as number | null };
  const t0 = performance.now();
  const machine: Machine = new Machine(spec, {
    vmmFactory: timingFirstExit(first),
    console: (_vm, text) => {
      if (w.stopAt === undefined) return;
      seen += text;
      if (seen.includes(w.stopAt)) machine.destroy(name, "tradeoffs: reached the marker");
    },
  });
  if (w.input !== undefined) {
    machine.consoleInput(name, new TextEncoder().encode(w.input));
    machine.consoleEnd();
  }
  const [result] = await machine.run();
  return { result, ms: performance.now() - t0, startupMs: first.ms };
}

/**
 * Mean host microseconds of a forwarded exit: the kernel's time in the
 * channel call over the exits forwarded, the startup exit left out when it
 * was timed (in split and irqchip it includes the VMM worker's boot).
 */
export function roundTripUs(
  r: Pick<VmResult, "forwardedHostMs" | "exitsForwarded">,
  startupMs: number | null,
): number[] {
  if (r.exitsForwarded === 0) return [];
  if (startupMs === null || r.exitsForwarded < 2) return [(1000 * r.forwardedHostMs) / r.exitsForwarded];
  return [(1000 * Math.max(0, r.forwardedHostMs - startupMs)) / (r.exitsForwarded - 1)];
}

/** Runs workload `w` on `placement` `runs` times; a placement the config refuses is skipped, not failed. */
export async function measureCell(placement: string, w: Workload, runs: number): Promise<CellOutcome> {
  const vm = w.vm();
  if ("unavailable" in vm) return { placement, workload: w.name, skipped: String(vm.unavailable), failed: false };
  const n = Math.max(1, Math.min(runs, w.maxRuns ?? runs));
  const all: Run[] = [];
  for (let i = 0; i < n; i++) {
    let run: Run;
    try {
      run = await runOnce(placement, w, vm);
    } catch (e) {
      const msg = (e as Error).message;
      // A machine without the placement refuses the config field: not built yet, not a failure.
      const refused = placement !== "split" && e instanceof ConfigError && msg.includes("placement");
      return { placement, workload: w.name, skipped: `${refused ? "not accepted: " : ""}${msg}`, failed: !refused };
    }
    const r = run.result;
    const wrong = r.fault ? `VM faulted: ${r.reason}` : w.check(r.output);
    if (wrong !== null) return { placement, workload: w.name, skipped: `wrong run: ${wrong}`, failed: true };
    if (r.placement !== placement)
      return { placement, workload: w.name, skipped: `ran as ${r.placement}`, failed: true };
    all.push(run);
  }
  const first = all[0].result;
  const forwarded = first.exitsForwarded;
  const trips = all.flatMap(({ result: r, startupMs }) => roundTripUs(r, startupMs));
  return {
    placement,
    workload: w.name,
    runs: n,
    instructions: first.instructions,
    exitsForwarded: forwarded,
    exitsInHypervisor: first.exitsInHypervisor,
    forwardedPerGuestSecond: forwarded / (first.instructions / VIRTUAL_TSC_HZ),
    roundTripUs: trips.length > 0 ? median(trips) : null,
    runMs: median(all.map((x) => x.ms)),
  };
}

export interface TradeoffRun {
  readonly table: TradeoffTable;
  readonly cells: CellOutcome[];
  readonly tcb: TcbPlacement[];
  /** Workloads left out entirely, with why. */
  readonly skippedWorkloads: { workload: string; why: string }[];
  readonly failed: boolean;
}

export interface TradeoffOptions {
  readonly runs: number;
  readonly placements?: readonly string[];
  readonly workloads?: readonly Workload[];
  /** Told each cell as it is measured. */
  readonly progress?: (c: CellOutcome) => void;
}

const isCell = (c: CellOutcome): c is Cell => !("skipped" in c);

/** Measures every placement on every workload, in this process, and builds the table. */
export async function measureTradeoffs(opts: TradeoffOptions): Promise<TradeoffRun> {
  const placements = opts.placements ?? PLACEMENTS;
  const workloads = opts.workloads ?? WORKLOADS;
  const tcb = measureTcb(ROOT).placements;
  if (placements.includes("monolithic")) await preloadInThreadVmm();
  const cells: CellOutcome[] = [];
  for (const w of workloads)
    for (const p of placements) {
      const c = await measureCell(p, w, opts.runs);
      opts.progress?.(c);
      cells.push(c);
    }
  const skippedWorkloads = workloads.flatMap((w) => {
    const mine = cells.filter((c) => c.workload === w.name);
    return mine.some(isCell) ? [] : [{ workload: w.name, why: mine.map((c) => ("skipped" in c ? c.skipped : ""))[0] }];
  });
  const shown = workloads.filter((w) => !skippedWorkloads.some((s) => s.workload === w.name));
  const metrics: Metric[] = [{ label: "trusted side", unit: "lines" }];
  for (const w of shown)
    metrics.push(
      { label: `${w.name}: exits forwarded to the VMM`, unit: "per guest s" },
      { label: `${w.name}: forwarded exit round trip`, unit: "us" },
      { label: `${w.name}: run time`, unit: "ms" },
    );
  const rows: TradeoffRow[] = placements.map((p) => {
    const t = tcb.find((x) => x.placement === p);
    const values: (number | null)[] = [t?.trustedLines ?? null];
    const notes: string[] = [];
    if (!t?.present) notes.push(`code absent (${t?.missing.join(", ") || "no tcb row"})`);
    const skips = new Map<string, string[]>(); // why -> workloads
    for (const w of shown) {
      const c = cells.find((x) => x.placement === p && x.workload === w.name);
      if (c === undefined || !isCell(c)) {
        values.push(null, null, null);
        const why = c === undefined ? "not measured" : c.skipped;
        skips.set(why, [...(skips.get(why) ?? []), w.name]);
        continue;
      }
      values.push(c.forwardedPerGuestSecond, c.roundTripUs, c.runMs);
      if (c.roundTripUs === null) notes.push(`${w.name}: no exit forwarded`);
    }
    for (const [why, ws] of skips) notes.push(ws.length === shown.length ? why : `${ws.join(", ")}: ${why}`);
    return { placement: p, values, ...(notes.length > 0 ? { note: notes.join("; ") } : {}) };
  });
  const failed = cells.some((c) => "skipped" in c && c.failed);
  return { table: { metrics, rows }, cells, tcb, skippedWorkloads, failed };
}

/** The text around the table: when, where, how, and what was left out. */
export function describeRun(r: TradeoffRun, runs: number, command: string): string {
  const cpu = cpus();
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(" ");
  const lines = [
    `${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, \`${command}\`, Node ${process.version}, ` +
      `${cpu.length} x ${cpu[0]?.model.trim() ?? "unknown CPU"}, load average ${load} at the end ` +
      `(a shared machine: compare ratios within the run, not across runs). Run time: median of ${runs} run(s), ` +
      "new Machine to the VM's end, VMM worker start included. Round trip: the kernel's host time in the exit " +
      "channel per forwarded exit (VmResult.forwardedHostMs / exitsForwarded), the startup exit left out in split " +
      "and irqchip (it waits for the VMM worker's boot); in monolithic the VMM is a function call in the " +
      "hypervisor thread (its modules loaded before the runs, its startup exit counted), and its exits count as forwarded too.",
  ];
  for (const s of r.skippedWorkloads) lines.push(`Skipped: ${s.workload} (${s.why}).`);
  return lines.join("\n");
}

function figures(r: TradeoffRun): void {
  for (const t of r.tcb)
    if (t.trustedLines !== null)
      report({ figure: `trusted side, placement ${t.placement}`, value: t.trustedLines, unit: "lines" });
  for (const c of r.cells.filter(isCell)) {
    report({ figure: `${c.workload} on ${c.placement}: run time`, value: c.runMs, unit: "ms" });
    report({
      figure: `${c.workload} on ${c.placement}: exits forwarded`,
      value: c.forwardedPerGuestSecond,
      unit: "per guest s",
    });
    if (c.roundTripUs !== null)
      report({
        figure: `${c.workload} on ${c.placement}: forwarded exit round trip`,
        value: c.roundTripUs,
        unit: "us",
      });
  }
}

function ensureGuests(): void {
  if (existsSync(guestImage("timer.elf")) && existsSync(guestImage("echo.elf"))) return;
  console.log("tradeoffs: building the guests (guests/build.sh)");
  execFileSync("bash", [join(ROOT, "guests/build.sh")], { stdio: "inherit" });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: "boolean" }, out: { type: "string" }, runs: { type: "string" } },
  });
  const runs = values.runs !== undefined ? Math.max(1, Number(values.runs) | 0) : values.quick ? 1 : 3;
  const out = resolve(values.out ?? join(ROOT, "docs"));
  // --quick (CI): the two small guests only; a Linux boot per placement takes minutes.
  const workloads = values.quick ? WORKLOADS.filter((w) => w.name !== "linux") : WORKLOADS;
  ensureGuests();
  console.log(`tradeoffs: ${PLACEMENTS.join(", ")} x ${workloads.map((w) => w.name).join(", ")}, ${runs} run(s) each`);
  for (const w of workloads) console.log(`  ${w.name}: ${w.what}`);
  const r = await measureTradeoffs({
    runs,
    workloads,
    progress: (c) =>
      console.log(
        isCell(c)
          ? `  ${c.workload} on ${c.placement}: ${c.instructions} instructions, ${c.exitsForwarded} exits forwarded, ` +
              `${c.exitsInHypervisor} in the hypervisor, round trip ` +
              `${c.roundTripUs === null ? "n/a" : `${c.roundTripUs.toFixed(1)} us`}, run ${c.runMs.toFixed(0)} ms`
          : `  ${c.workload} on ${c.placement}: ${c.failed ? "FAILED" : "skipped"}: ${c.skipped}`,
      ),
  });
  if (values.quick) r.skippedWorkloads.push({ workload: "linux", why: "--quick" });
  const command = `npm run bench:tradeoffs${values.quick ? " -- --quick" : ""}`;
  const text = describeRun(r, runs, command);
  const md = tradeoffMarkdown(r.table);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "tradeoffs.md"), `# Where the devices run: the tradeoff\n\n${text}\n\n${md}\n`);
  writeFileSync(join(out, "tradeoffs.svg"), tradeoffSvg(r.table, { title: "moat: where the device models run" }));
  console.log(`\n${text}\n\n${md}\n\nwrote ${join(out, "tradeoffs.md")} and ${join(out, "tradeoffs.svg")}`);
  figures(r);
  if (r.failed) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
