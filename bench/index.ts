// The benchmark suite (`npm run bench`): every benchmark in sequence, each
// in its own process (no benchmark's JIT state or heap colours the next),
// its own lines printed as it runs, then one table of every figure with the
// peer measured side by side and the ratio. Benchmarks are not timed tests:
// this machine is shared and noisy, so the load average is printed with
// the table and only ratios measured in one run are worth comparing.
//   npm run bench [-- --only cpu-loop,cpu-guest,exits,memory,boot,linux,tradeoffs]
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Figure, SUMMARY_ENV } from "./summary.js";

interface Bench {
  name: string;
  file: string;
  args: string[];
  /** Figures from the printed lines, for a benchmark that does not report() itself. */
  parse?: (stdout: string) => Figure[];
}

/** bench/cpu-loop.ts prints one line per round: "round N: ... in T ms: X MIPS, exit R"; the best round counts. */
function cpuLoopFigures(stdout: string): Figure[] {
  const mips = [...stdout.matchAll(/^round \d+: .* ([\d.]+) MIPS/gm)].map((m) => Number(m[1]));
  if (mips.length === 0) return [{ figure: "toy loop throughput", value: Number.NaN, unit: "MIPS", note: "no round" }];
  return [{ figure: `toy loop throughput (best of ${mips.length})`, value: Math.max(...mips), unit: "MIPS" }];
}

const BENCHES: Bench[] = [
  { name: "cpu-loop", file: "cpu-loop.ts", args: [], parse: cpuLoopFigures },
  { name: "cpu-guest", file: "cpu-guest.ts", args: ["--no-profile"] },
  { name: "exits", file: "exit-roundtrip.ts", args: ["--loops", "20000"] },
  { name: "memory", file: "memory.ts", args: [] },
  { name: "boot", file: "boot.ts", args: [] },
  { name: "linux", file: "linux-boot.ts", args: [] },
  // Every placement side by side on the small guests (`npm run bench:tradeoffs` adds Linux and writes docs/).
  {
    name: "tradeoffs",
    file: "tradeoffs.ts",
    args: ["--quick", "--runs", "3", "--out", join(tmpdir(), "moat-bench-tradeoffs")],
  },
];

const { values } = parseArgs({ options: { only: { type: "string" } } });
const only = values.only?.split(",");

function run(bench: Bench, summary: string): Promise<{ code: number | null; stdout: string; ms: number }> {
  const file = fileURLToPath(new URL(`./${bench.file}`, import.meta.url));
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", file, ...bench.args], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, [SUMMARY_ENV]: summary },
  });
  let stdout = "";
  child.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
    process.stdout.write(c);
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, ms: performance.now() - t0 }));
  });
}

const num = (v: number | undefined) =>
  v === undefined || Number.isNaN(v) ? "" : Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(Math.abs(v) >= 10 ? 1 : 2);

function table(rows: { bench: string; f: Figure }[]): string {
  const head = ["benchmark", "figure", "value", "unit", "peer", "peer value", "ratio", "note"];
  const cells = rows.map(({ bench, f }) => [
    bench,
    f.figure,
    num(f.value),
    f.unit,
    f.peer ?? "",
    num(f.peerValue),
    f.ratio === undefined ? "" : `${num(f.ratio)}x`,
    f.note ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    `| ${c.map((x, i) => (i === 2 || i === 5 || i === 6 ? x.padStart(widths[i]) : x.padEnd(widths[i]))).join(" | ")} |`;
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...cells.map(line)].join("\n");
}

const dir = mkdtempSync(join(tmpdir(), "moat-bench-"));
const rows: { bench: string; f: Figure }[] = [];
const failed: string[] = [];
const t0 = performance.now();
const loadBefore = loadavg();
for (const bench of BENCHES) {
  if (only && !only.includes(bench.name)) continue;
  console.log(`\n=== ${bench.name} (bench/${bench.file} ${bench.args.join(" ")}) ===`);
  const summary = join(dir, `${bench.name}.jsonl`);
  const r = await run(bench, summary);
  console.log(`--- ${bench.name}: ${(r.ms / 1000).toFixed(1)} s${r.code === 0 ? "" : `, FAILED (exit ${r.code})`}`);
  if (r.code !== 0) failed.push(bench.name);
  let figures: Figure[] = bench.parse ? bench.parse(r.stdout) : [];
  try {
    figures = figures.concat(
      readFileSync(summary, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Figure),
    );
  } catch {}
  for (const f of figures) rows.push({ bench: bench.name, f });
}
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(" ");
console.log(
  `\n=== summary: ${new Date().toISOString()}, suite ${((performance.now() - t0) / 1000).toFixed(0)} s, ` +
    `load average ${load(loadBefore)} at the start, ${load(loadavg())} at the end ===`,
);
console.log("ratio = moat / peer in the figure's unit (times: above 1 means moat is slower; memory: moat uses more)");
console.log(table(rows));
if (failed.length > 0) {
  console.log(`failed: ${failed.join(", ")}`);
  process.exitCode = 1;
}
