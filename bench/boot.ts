// Boot time of the largest guest that boots today: the largest ELF in
// guests/build/ (built by `npm run guests`), 16 MiB of RAM, through the whole
// machine. Measured: host ms from new Machine (VMM worker start included) to
// the guest's first console line, and to the VM's end; three runs in this
// process, the first one cold. Peers, side by side: QEMU TCG (process spawn
// to the same first line on COM1, SeaBIOS included) and v86 (new V86 to that
// line, SeaBIOS included), with the line compared.
//   npm run bench:boot [-- --image guests/build/x.elf]
import { readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { Machine } from "../hypervisor/root/machine.js";
import { oneVm, ROOT } from "./build-guest.js";
import { ensureSeabios, type PeerRun, qemuMissing, runQemu, runV86 } from "./peers.js";
import { type Figure, report, withPeer } from "./summary.js";

const { values } = parseArgs({
  options: { image: { type: "string" }, "no-qemu": { type: "boolean" }, "no-v86": { type: "boolean" } },
});
const MEMORY_MB = 16;

function largestGuest(): string {
  const dir = join(ROOT, "guests/build");
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith(".elf"));
  } catch {}
  if (files.length === 0) throw new Error(`no guest ELF in ${dir}: run \`npm run guests\` first`);
  const sized = files.map((f) => ({ path: join(dir, f), size: statSync(join(dir, f)).size }));
  sized.sort((a, b) => b.size - a.size);
  return sized[0].path;
}

interface Boot {
  firstLineMs: number;
  endMs: number;
  firstLine: string;
  reason: string;
  instructions: number;
}

async function bootMoat(image: string): Promise<Boot> {
  let text = "";
  let firstLineMs = Number.NaN;
  const t0 = performance.now();
  const machine = new Machine(oneVm("boot", image, MEMORY_MB), {
    console: (_vm, t) => {
      text += t;
      if (Number.isNaN(firstLineMs) && text.includes("\n")) firstLineMs = performance.now() - t0;
    },
  });
  const [r] = await machine.run();
  const endMs = performance.now() - t0;
  if (Number.isNaN(firstLineMs)) throw new Error(`guest printed no line: ${r.reason}\n${r.output}`);
  const firstLine = r.output.slice(0, r.output.indexOf("\n") + 1);
  return { firstLineMs, endMs, firstLine, reason: r.reason, instructions: r.instructions };
}

async function peer(
  name: string,
  skip: boolean | undefined,
  missing: () => string | null,
  run: () => Promise<PeerRun>,
  moat: Boot,
): Promise<Figure> {
  const f: Figure = { figure: "boot to first line (cold) vs", value: moat.firstLineMs, unit: "ms" };
  const why = skip ? "skipped" : missing();
  let r: PeerRun | null = null;
  let reason = why ?? "";
  if (!why) {
    try {
      r = await run();
    } catch (e) {
      reason = `failed: ${(e as Error).message}`;
    }
  }
  const ms = r?.marks.get(moat.firstLine);
  if (!r || ms === undefined) {
    reason ||= `the first line did not appear (${r?.end})`;
    console.log(`${name}: ${reason}`);
    return { ...f, figure: `${f.figure} ${name}`, peer: name, note: reason };
  }
  console.log(
    `${name}: first line at ${ms.toFixed(0)} ms (same line); moat/${name} ${(moat.firstLineMs / ms).toFixed(2)}x`,
  );
  return withPeer({ ...f, figure: `${f.figure} ${name}` }, name, ms);
}

const image = values.image ? resolve(values.image) : largestGuest();
console.log(
  `boot: ${image.replace(ROOT, "")} (${statSync(image).size} bytes, the largest guest ELF), ${MEMORY_MB} MiB`,
);
const runs: Boot[] = [];
for (let i = 0; i < 3; i++) runs.push(await bootMoat(image));
for (const [i, b] of runs.entries()) {
  console.log(
    `  moat run ${i}${i === 0 ? " (cold)" : ""}: first line at ${b.firstLineMs.toFixed(0)} ms, ` +
      `VM ended at ${b.endMs.toFixed(0)} ms (${b.instructions} instructions; ${b.reason})`,
  );
}
const warm = runs.slice(1).reduce((a, b) => (b.firstLineMs < a.firstLineMs ? b : a));
const cold = runs[0];
console.log(`  first line: ${JSON.stringify(cold.firstLine)}`);
const opts = { memoryMb: MEMORY_MB, marks: [cold.firstLine], timeoutMs: 60_000 };
const figures: Figure[] = [
  { figure: "boot to first line, warm (best of 2)", value: warm.firstLineMs, unit: "ms" },
  { figure: "boot to VM end, warm", value: warm.endMs, unit: "ms" },
  await peer("QEMU TCG", values["no-qemu"], qemuMissing, () => runQemu(image, opts), cold),
  await peer("v86", values["no-v86"], ensureSeabios, () => runV86(image, opts), cold),
];
report(...figures);
