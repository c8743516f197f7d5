// One v86 run for bench/peers.ts, in its own process: v86 (npm `v86`) boots
// SeaBIOS, which runs v86's Multiboot option ROM, which loads the guest ELF
// (v86's `multiboot` option). COM1 bytes come through the emulator bus
// ("serial0-output-byte"). At the last marker this process prints one result
// line and exits at once: v86 answers a write to port 0xF4 (where our guests
// end) by throwing, and the guest must not get that far.
import { readFileSync, writeSync } from "node:fs";
import { createRequire } from "node:module";
import { V86 } from "v86";
import { type PeerRun, upToLastMark, V86_RESULT, type V86ChildArgs } from "./peers.js";

const args = JSON.parse(process.argv[2]) as V86ChildArgs;

function image(path: string): { buffer: ArrayBuffer } {
  const b = readFileSync(path);
  return { buffer: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer };
}

function finish(emulator: V86 | null, output: string, marks: Map<string, number>, end: string, readyMs: number | null) {
  const r: Omit<PeerRun, "marks"> & { marks: [string, number][] } = {
    marks: [...marks],
    output: upToLastMark(output, args.marks),
    end,
    rssKb: Math.round(process.memoryUsage().rss / 1024),
    instructions: emulator ? emulator.get_instruction_counter() : null,
    readyMs,
  };
  writeSync(1, `${V86_RESULT}${JSON.stringify(r)}\n`);
  process.exit(0);
}

const wasm = createRequire(import.meta.url).resolve("v86/build/v86.wasm");
const marks = new Map<string, number>();
let output = "";
let readyMs: number | null = null;
const t0 = performance.now();
const emulator = new V86({
  wasm_path: wasm,
  memory_size: args.memoryMb << 20,
  bios: image(args.bios),
  vga_bios: image(args.vgaBios),
  multiboot: image(args.image),
  autostart: true,
  disable_speaker: true,
});
emulator.add_listener("emulator-ready", () => {
  readyMs = performance.now() - t0;
});
emulator.add_listener("serial0-output-byte", (byte: number) => {
  output += String.fromCharCode(byte);
  const now = performance.now() - t0;
  for (const m of args.marks) if (!marks.has(m) && output.endsWith(m)) marks.set(m, now);
  if (marks.size === args.marks.length) finish(emulator, output, marks, "marker", readyMs);
});
setTimeout(() => finish(emulator, output, marks, `timeout after ${args.timeoutMs} ms`, readyMs), args.timeoutMs);
