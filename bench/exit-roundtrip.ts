// Exit round trip, measured side by side in one run for each transport
// between the kernel and a VM's VMM (DESIGN.md §7), with ratios to the
// in-thread baseline (no isolation at all):
// - channel level: the encoded exit of `out %al, $0x80` (no device behind
//   port 0x80, so the VMM's handler does nothing) sent straight to the
//   VmmPort N times: transport + the VMM's decode, handle and encode;
// - machine level: a guest executes that OUT in a loop; every OUT is a VM
//   exit that goes kernel -> protobuf -> VMM -> protobuf -> kernel.
// - peers: a C guest does the same OUT in a loop between two COM1 lines, on
//   moat and, side by side, on QEMU TCG and v86, where an OUT to a port with
//   no device is an I/O dispatch inside the emulator: what an exit costs
//   here against what the same instruction costs in a one-process emulator.
//   npm run bench:exits [-- --loops N] [--only channel|machine|peers] [--no-peers]
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULTS } from "../hypervisor/root/config.js";
import { type VmmBootData, type VmmFactory, VmmHost, type VmmHostOptions } from "../hypervisor/root/vmm-host.js";
import { VmmSabHost } from "../hypervisor/root/vmm-sab-host.js";
import { ExitReason } from "../proto/exit-reason.js";
import { VmExit } from "../proto/index.js";
import { Mtd } from "../proto/mtd.js";
import { portalMtd } from "../proto/portal-mtd.js";
import { serveVmmExits } from "../vmm/fault-serve.js";
import { buildBenchGuest, oneVm } from "./build-guest.js";
import { ensureSeabios, qemuMissing, runQemu, runV86 } from "./peers.js";
import { type Figure, report, withPeer } from "./summary.js";

const { values } = parseArgs({
  options: { loops: { type: "string", default: "50000" }, only: { type: "string" }, "no-peers": { type: "boolean" } },
});
const loops = Number(values.loops);

// The baseline does in this thread what each worker does per exit: decode, the Vmm, encode, the CRC-32 seal.
const inThread: VmmFactory = (boot) => {
  const serve = serveVmmExits(boot);
  return {
    transport: "in-thread function call (no isolation, baseline)",
    onDeath: () => {},
    call: async (m) => serve(m),
    kill: async () => {},
    close: async () => {},
  };
};
const piscina: VmmFactory = (boot, opts) => new VmmHost(boot, opts);
const sharedMemory: VmmFactory = (boot, opts) => new VmmSabHost(boot, opts);
const FACTORIES = [inThread, piscina, sharedMemory];

interface Row {
  transport: string;
  exits: number;
  ms: number;
}

const SHORT = ["in-thread baseline", "piscina task per exit", "shared memory + Atomics"];

/** Prints the rows (in FACTORIES order) and hands their figures to the suite's summary. */
function print(level: string, title: string, rows: Row[]): void {
  const us = (r: Row) => (r.ms * 1000) / r.exits;
  const base = us(rows[0]);
  const pool = us(rows[1]);
  console.log(title);
  for (const r of rows) {
    const perSec = Math.round((r.exits / r.ms) * 1000);
    console.log(
      `  ${r.transport.padEnd(66)} ${r.exits} exits in ${r.ms.toFixed(0)} ms: ${perSec} exits/s, ` +
        `${us(r).toFixed(2)} us/exit, ${(us(r) / base).toFixed(1)}x baseline, ${(us(r) / pool).toFixed(2)}x piscina`,
    );
  }
  const figure = (i: number): Figure => ({
    figure: `exit round trip, ${level}, ${SHORT[i]}`,
    value: us(rows[i]),
    unit: "us",
  });
  report(figure(0), withPeer(figure(1), SHORT[0], base), withPeer(figure(2), SHORT[1], pool));
}

// ---- channel level ----

/** OUT imm8, AL to port 0x80: SDM Vol. 3C Table 28-5, size 1 (bits 2:0 = 0), OUT (bit 3 = 0), immediate (bit 6), port in 31:16. */
function outExit(): Uint8Array {
  const reason = ExitReason.IO_INSTRUCTION;
  return VmExit.encode({
    vm: 0,
    vcpu: 0,
    reason,
    mtd: portalMtd(reason) | Mtd.TSC,
    qual: (0x80 << 16) | 0x40,
    instLen: 2,
    seq: 1,
    state: {
      eax: 0x55,
      eip: 0x10_0000,
      eflags: 0x2,
      cs: { sel: 0x08, base: 0, limit: 0xffff_ffff, ar: 0xc09b },
      ss: { sel: 0x10, base: 0, limit: 0xffff_ffff, ar: 0xc093 },
    },
  }).finish();
}

async function channelRound(factory: VmmFactory, n: number): Promise<Row> {
  const boot: VmmBootData = { vm: 0, ram: new SharedArrayBuffer(1 << 20), image: new Uint8Array(0), format: "flat" };
  const opts: VmmHostOptions = { exitDeadlineMs: DEFAULTS.exitDeadlineMs, heapMb: 256 };
  const port = factory(boot, opts);
  const exit = outExit();
  try {
    for (let i = 0; i < 2_000; i++) await port.call(exit); // the worker is up and both sides' JIT warm
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await port.call(exit);
    return { transport: port.transport, exits: n, ms: performance.now() - t0 };
  } finally {
    await port.close();
  }
}

async function channelLevel(): Promise<void> {
  // Rounds interleaved and the best of each kept: this machine is shared and noisy.
  const best: Row[] = [];
  for (let round = 0; round < 3; round++) {
    for (const [i, f] of FACTORIES.entries()) {
      const r = await channelRound(f, loops);
      if (!best[i] || r.ms < best[i].ms) best[i] = r;
    }
  }
  print("channel", `channel level: encoded OUT 0x80 exit -> VmmPort.call x ${loops} (best of 3)`, best);
}

// ---- machine level ----

function buildGuest(): string {
  const dir = mkdtempSync(join(tmpdir(), "moat-bench-"));
  const src = new URL("./guests/out-loop.S", import.meta.url).pathname;
  execFileSync("as", ["--32", "--defsym", `LOOPS=${loops}`, "-o", join(dir, "g.o"), src]);
  execFileSync("ld", [
    "-m",
    "elf_i386",
    "-Ttext",
    "0x100000",
    "-e",
    "_start",
    "-o",
    join(dir, "g.elf"),
    join(dir, "g.o"),
  ]);
  return join(dir, "g.elf");
}

async function machineRound(image: string, factory: VmmFactory, marks?: Map<string, number>): Promise<Row> {
  // Loaded here so that the channel level runs even while the machine does not build.
  const { Machine } = await import("../hypervisor/root/machine.js");
  let transport = "";
  let seen = "";
  const machine = new Machine(oneVm("bench", image, 16), {
    console: (_vm, text) => {
      seen += text;
      for (const m of IO_MARKS) if (!marks?.has(m) && seen.includes(m)) marks?.set(m, performance.now());
    },
    vmmFactory: (b, o) => {
      const port = factory(b, o);
      transport = port.transport;
      return port;
    },
  });
  const t0 = performance.now();
  const [r] = await machine.run();
  const ms = performance.now() - t0;
  if (r.fault) throw new Error(`bench VM failed: ${r.reason}`);
  const exits = [...r.exits.values()].reduce((a, b) => a + b, 0);
  return { transport, exits, ms };
}

async function machineLevel(): Promise<void> {
  const image = buildGuest();
  await machineRound(image, inThread); // warm up the JIT of both sides
  const rows: Row[] = [];
  for (const f of FACTORIES) rows.push(await machineRound(image, f));
  print("machine", `machine level: guest OUT to port 0x80 x ${loops}`, rows);
}

// ---- peers: the same port write to nothing on QEMU TCG and v86 ----

const IO_MARKS = ["io-loop: start\n", "io-loop: done\n"];

/** Host microseconds per OUT between the guest's two lines, or why there is no figure. */
function perOut(marks: Map<string, number> | undefined, end: string, outs: number): number | string {
  const a = marks?.get(IO_MARKS[0]);
  const b = marks?.get(IO_MARKS[1]);
  return a === undefined || b === undefined
    ? `the guest's lines did not both appear (${end})`
    : ((b - a) * 1000) / outs;
}

async function peerLevel(): Promise<void> {
  const image = buildBenchGuest("io-loop", [`-DLOOPS=${loops}`]);
  // The peers take well under a microsecond per OUT: 20 times the OUTs, so that their loop outlasts the pipe's jitter.
  const peerLoops = loops * 20;
  const peerImage = buildBenchGuest("io-loop", [`-DLOOPS=${peerLoops}`]);
  let moat = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 2; round++) {
    const marks = new Map<string, number>();
    await machineRound(image, sharedMemory, marks);
    const us = perOut(marks, "moat", loops);
    if (typeof us === "string") throw new Error(`io-loop on moat: ${us}`);
    moat = Math.min(moat, us);
  }
  console.log(
    `peers: C guest, OUT to port 0x80 between two COM1 lines (bench/guests/io-loop.c), ${loops} on moat ` +
      `(best of 2), ${peerLoops} on the peers`,
  );
  console.log(`  moat, shared memory + Atomics: ${moat.toFixed(2)} us/OUT (a VM exit to the VMM and back)`);
  const opts = { memoryMb: 16, marks: IO_MARKS, timeoutMs: 120_000 };
  const base: Figure = { figure: "guest OUT to nothing, moat (shared memory) vs", value: moat, unit: "us" };
  for (const [name, missing, run] of [
    ["QEMU TCG", qemuMissing, runQemu],
    ["v86", ensureSeabios, runV86],
  ] as const) {
    const why = missing();
    let r: number | string = why ?? "";
    if (!why)
      r = await run(peerImage, opts).then(
        (p) => perOut(p.marks, p.end, peerLoops),
        (e: Error) => `failed: ${e.message}`,
      );
    if (typeof r === "string") {
      console.log(`  ${name}: ${r}`);
      report({ ...base, figure: `${base.figure} ${name}`, peer: name, note: r });
      continue;
    }
    console.log(
      `  ${name}: ${r.toFixed(3)} us/OUT (I/O dispatch inside the emulator); moat/${name} ${(moat / r).toFixed(0)}x`,
    );
    report(withPeer({ ...base, figure: `${base.figure} ${name}` }, name, r));
  }
}

if (values.only !== "machine" && values.only !== "peers") await channelLevel();
if (values.only !== "channel" && values.only !== "peers") await machineLevel();
if (values.only !== "channel" && values.only !== "machine" && !values["no-peers"]) await peerLevel();
