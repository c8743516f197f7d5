// The SingleStepTests 80286 real-mode suite run on moat's processor (the
// oracle: states captured from a Harris 80C286 by the suite's authors; see
// its README). Each test is one instruction followed by HLT: the harness
// enters a real-mode guest (CR0.PE = 0 through "unrestricted guest", SDM
// Vol. 3C §26.3.1) with the test's registers and RAM in 16 MiB of guest
// memory, runs until the HLT exit (HLT exiting on), and compares registers
// and RAM with the final state. Rules from the suite's README: FLAGS bits
// 15:12 of the initial state are masked off (a 286 in real mode cannot set
// them); IP is compared after the HLT; undefined flags are masked with
// metadata.json's per-opcode "flags-mask", also in the FLAGS image an
// exception pushed; IN reads all ones (the I/O bitmaps let every port
// through and no device answers inside the processor); revoked hashes are
// skipped.
//
// Where a P6 differs from the 286 on purpose, a failing test is counted as
// "known" only if a rule of known-differences.ts explains every difference
// (known-differences.md gives each rule's SDM reason).
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { EPT_EXEC, EPT_READ, EPT_WRITE, Ept } from "../mmu/ept.js";
import { HostMemory } from "../mmu/host-memory.js";
import { ExitReason } from "../vmx/exit-reason.js";
import { writeRealModeGuestState } from "../vmx/flat-state.js";
import { Processor } from "../vmx/processor.js";
import { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";
import { classify, type Differences, type Observed } from "./known-differences.js";
import { type MooTest, type Regs, readMoo } from "./moo.js";

export interface SinglestepRow {
  file: string;
  passed: number;
  failed: number;
  /** Failing tests a documented P6-versus-286 difference explains (known-differences.md). */
  known: number;
  skipped: number;
  firstFailure?: string;
  /** Known-difference rule id -> count. */
  rules?: Record<string, number>;
}

export interface SinglestepResult {
  rows: SinglestepRow[];
  passed: number;
  failed: number;
  known: number;
  skipped: number;
  ms: number;
}

export interface SinglestepOptions {
  /** Only files whose name (e.g. "F6.6") starts with this, case-insensitive. */
  filter?: string;
  /** At most this many tests per file. */
  limit?: number;
}

const RAM_SIZE = 16 << 20;
const RAM_HPA = 0x1000_0000;
/** HLT is reached within this many retired instructions (REP counts each iteration; CX is masked to 7 bits). */
const BUDGET = 1_000;
/** General registers in the processor's order (EAX ECX EDX EBX ESP EBP ESI EDI) as MOO names. */
const GPR = ["ax", "cx", "dx", "bx", "sp", "bp", "si", "di"] as const;
const SEGS = [
  ["es", F.GUEST_ES_SELECTOR],
  ["cs", F.GUEST_CS_SELECTOR],
  ["ss", F.GUEST_SS_SELECTOR],
  ["ds", F.GUEST_DS_SELECTOR],
] as const;
/** FLAGS bits compared: bit 15 reads 0 on both; bits 14:12 are compared (known-differences covers POPF/IRET). */
const FLAGS_COMPARED = 0x7fff;

/** A real-mode machine with 16 MiB of RAM, reused test after test. */
export class Machine {
  readonly ram = new Uint8Array(RAM_SIZE);
  readonly vmcs = new Vmcs();
  readonly cpu: Processor;
  private readonly gpr = new Uint32Array(8);

  constructor() {
    const host = new HostMemory();
    host.add(this.ram, RAM_HPA);
    const ept = new Ept();
    ept.map(0, RAM_HPA, RAM_SIZE, EPT_READ | EPT_WRITE | EPT_EXEC);
    const v = this.vmcs;
    v.ept = ept;
    v.write(F.EPT_POINTER, ept.eptp);
    v.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_EXTINT_EXITING);
    // I/O bitmaps all clear: IN/OUT run inside the processor (reads float high, §25.1.3).
    v.write(F.CPU_BASED_VM_EXEC_CONTROL, (F.CPU_HLT_EXITING | F.CPU_USE_IO_BITMAPS | F.CPU_ACTIVATE_SECONDARY) >>> 0);
    v.write(F.SECONDARY_VM_EXEC_CONTROL, F.SEC_ENABLE_EPT | F.SEC_UNRESTRICTED_GUEST);
    this.cpu = new Processor(host);
  }

  /**
   * Run `t` from its initial state; `probe` makes every exception a VM exit
   * instead of an IVT delivery; `alias` = [ours, theirs] points IVT entry
   * `ours` where entry `theirs` points.
   */
  run(t: MooTest, probe: boolean, alias?: [number, number]): number {
    const r = t.initial.regs;
    for (const [a, b] of t.initial.ram) if (a < RAM_SIZE) this.ram[a] = b;
    if (alias) this.ram.copyWithin(alias[0] * 4, alias[1] * 4, alias[1] * 4 + 4);
    writeRealModeGuestState(this.vmcs, {
      cs: r.cs ?? 0,
      ip: r.ip ?? 0,
      ss: r.ss ?? 0,
      sp: r.sp ?? 0,
      ds: r.ds ?? 0,
      es: r.es ?? 0,
      // README: the 286 cannot set IOPL/NT (or bit 15) in real mode; the initial state may hold them.
      flags: (r.flags ?? 2) & 0x0fff,
    });
    this.vmcs.write(F.EXCEPTION_BITMAP, probe ? 0xffffffff : 0);
    this.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, 0);
    for (let n = 0; n < 8; n++) this.gpr[n] = r[GPR[n]] ?? 0;
    this.cpu.loadContext(this.gpr, 0);
    let reason = this.cpu.enter(this.vmcs, BUDGET);
    for (let n = 0; reason === ExitReason.IO_INSTRUCTION && n < 1000; n++) {
      this.answerIo();
      reason = this.cpu.enter(this.vmcs, BUDGET);
    }
    return reason;
  }

  /**
   * The VMM's part of an I/O exit (accesses that wrap the port space exit
   * even with clear bitmaps, §25.1.3): no device, so IN reads all ones and
   * OUT is dropped; the guest continues after the instruction (§27.2.1
   * Table 27-5 qualification). INS/OUTS (16-bit addressing, real mode: the
   * linear address is physical) do one element per exit; a REP form stays
   * on the instruction until CX runs out.
   */
  private answerIo(): void {
    const v = this.vmcs;
    const g = this.gpr;
    const qual = v.read(F.EXIT_QUALIFICATION);
    const size = (qual & 7) + 1;
    const input = (qual & 8) !== 0;
    this.cpu.saveContext(g);
    let done = true;
    if (qual & 0x10) {
      const rep = (qual & 0x20) !== 0;
      if (!rep || (g[1] & 0xffff) !== 0) {
        const lin = v.read(F.GUEST_LINEAR_ADDRESS);
        if (input) this.ram.fill(0xff, lin, Math.min(lin + size, RAM_SIZE));
        const idx = input ? 7 : 6;
        const step = v.read(F.GUEST_RFLAGS) & 0x400 ? -size : size;
        g[idx] = (g[idx] & 0xffff0000) | ((g[idx] + step) & 0xffff);
        if (rep) {
          g[1] = (g[1] & 0xffff0000) | ((g[1] - 1) & 0xffff);
          done = (g[1] & 0xffff) === 0;
        }
      }
    } else if (input) g[0] = (g[0] | (size === 1 ? 0xff : size === 2 ? 0xffff : 0xffffffff)) >>> 0;
    this.cpu.loadContext(g, 0);
    if (done) v.write(F.GUEST_RIP, (v.read(F.GUEST_RIP) + v.read(F.VM_EXIT_INSTRUCTION_LEN)) & 0xffff);
  }

  /** The 16-bit register file after the run (IP after the HLT that exited). */
  regs(): Regs {
    const st = this.cpu.state;
    const out: Regs = {};
    for (let n = 0; n < 8; n++) if (n !== 4) out[GPR[n]] = st.regs[n] & 0xffff;
    out.sp = this.vmcs.read(F.GUEST_RSP) & 0xffff;
    for (const [name, field] of SEGS) out[name] = this.vmcs.read(field) & 0xffff;
    out.ip = (this.vmcs.read(F.GUEST_RIP) + this.vmcs.read(F.VM_EXIT_INSTRUCTION_LEN)) & 0xffff;
    out.flags = this.vmcs.read(F.GUEST_RFLAGS) & 0xffff;
    return out;
  }

  /** Undo the test's RAM so the next one starts from zeros. */
  clear(t: MooTest, alias?: [number, number]): void {
    for (const [a] of t.initial.ram) if (a < RAM_SIZE) this.ram[a] = 0;
    for (const [a] of t.final.ram) if (a < RAM_SIZE) this.ram[a] = 0;
    if (alias) this.ram.fill(0, alias[0] * 4, alias[0] * 4 + 4);
  }
}

/**
 * Where an exception pushed FLAGS: the first slot below the initial SP,
 * wrapped within SS (the EXCP chunk's address is the even word address, one
 * byte off when SP is odd).
 */
function flagsImage(t: MooTest): number {
  if (t.exception === undefined) return -1;
  const r = t.initial.regs;
  return (r.ss ?? 0) * 16 + (((r.sp ?? 0) - 2) & 0xffff);
}

/** Run `t` and compare with its final state (the machine's RAM is cleared again afterwards). */
function compare(m: Machine, t: MooTest, flagsMask: number, alias?: [number, number]): Differences {
  const reason = m.run(t, false, alias);
  const out: Differences = { reason, diffs: [], regDiffs: {}, flagsXor: 0 };
  if (reason !== ExitReason.HLT) out.diffs.push(`exit reason ${reason}, not HLT`);
  else {
    const got = m.regs();
    for (const [name, want0] of Object.entries({ ...t.initial.regs, ...t.final.regs })) {
      const k = name as keyof Regs;
      let want = want0 ?? 0;
      let have = got[k] ?? 0;
      if (k === "flags") {
        want = (want & 0x0fd7) | 2;
        const mask = flagsMask & FLAGS_COMPARED & (t.final.masks?.flags ?? 0xffff);
        want &= mask;
        have &= mask;
        out.flagsXor = want ^ have;
      }
      if (want !== have) {
        out.regDiffs[k] = have;
        out.diffs.push(`${k} ${hex(have)} != ${hex(want)}`);
      }
    }
    const want = new Map<number, number>();
    for (const [a, b] of t.initial.ram) want.set(a, b);
    for (const [a, b] of t.final.ram) want.set(a, b);
    const fa = flagsImage(t);
    for (const [a, b] of want) {
      let have = a < RAM_SIZE ? m.ram[a] : 0xff;
      let w = b;
      if (a === fa || a === fa + 1) {
        const byteMask = (a === fa ? flagsMask : flagsMask >> 8) & 0xff;
        have &= byteMask;
        w &= byteMask;
      }
      if (have !== w) out.diffs.push(`[${hex(a)}] ${hex(have)} != ${hex(w)}`);
    }
  }
  m.clear(t, alias);
  return out;
}

/** Run one test: null if it passes, else what differs and what our processor did. */
function check(m: Machine, t: MooTest, flagsMask: number): Observed | null {
  const d = compare(m, t, flagsMask);
  if (d.diffs.length === 0) return null;
  // Which exception did our processor raise? Run again with every exception exiting (§25.2).
  const probeReason = m.run(t, true);
  const vector = probeReason === ExitReason.EXCEPTION_NMI ? m.vmcs.read(F.VM_EXIT_INTR_INFO) & 0xff : -1;
  m.clear(t);
  return {
    ...d,
    vector,
    withVector: (ours, theirs) => compare(m, t, flagsMask, [ours, theirs]),
  };
}

function hex(v: number): string {
  return v.toString(16);
}

interface Metadata {
  opcodes: Record<string, OpcodeInfo & { reg?: Record<string, OpcodeInfo> }>;
}
interface OpcodeInfo {
  status?: string;
  "flags-mask"?: number;
}

/** metadata.json's mask of defined FLAGS bits for a file such as "F6.6" (all bits when none is given). */
function flagsMaskOf(meta: Metadata | null, file: string): number {
  const [op, reg] = file.split(".");
  const entry = meta?.opcodes[op];
  const info = reg !== undefined ? entry?.reg?.[reg] : entry;
  return info?.["flags-mask"] ?? 0xffff;
}

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null;
  }
}

/** The directory holding the .MOO.gz files: `dir` itself or its v1_real_mode. */
async function testDir(dir: string): Promise<string> {
  const names = await readdir(dir);
  if (names.some((n) => /\.MOO(\.gz)?$/i.test(n))) return dir;
  if (names.includes("v1_real_mode")) return join(dir, "v1_real_mode");
  throw new Error(`singlestep: no .MOO or .MOO.gz files in ${dir} or ${join(dir, "v1_real_mode")}`);
}

/** Revoked test hashes (revocation_list.txt beside the tests or one level up; '#' starts a comment). */
async function revoked(dir: string): Promise<Set<string>> {
  const text =
    (await readOptional(join(dir, "revocation_list.txt"))) ??
    (await readOptional(join(dir, "..", "revocation_list.txt")));
  const out = new Set<string>();
  for (const line of (text ?? "").split("\n")) {
    const h = line.replace(/#.*/, "").trim().toLowerCase();
    if (h !== "") out.add(h);
  }
  return out;
}

export async function runSinglestep(dir: string, opts: SinglestepOptions = {}): Promise<SinglestepResult> {
  const t0 = performance.now();
  const tests = await testDir(dir);
  const metaText = await readOptional(join(tests, "metadata.json"));
  const meta = metaText === null ? null : (JSON.parse(metaText) as Metadata);
  const revokedSet = await revoked(tests);
  const filter = opts.filter?.toUpperCase();
  const files = (await readdir(tests))
    .filter((n) => /\.MOO(\.gz)?$/i.test(n))
    .map((n) => ({ path: join(tests, n), file: n.replace(/\.MOO(\.gz)?$/i, "") }))
    .filter((f) => filter === undefined || f.file.toUpperCase().startsWith(filter))
    .sort((a, b) => a.file.localeCompare(b.file));
  const m = new Machine();
  const result: SinglestepResult = { rows: [], passed: 0, failed: 0, known: 0, skipped: 0, ms: 0 };
  for (const { path, file } of files) {
    const moo = await readMoo(path);
    const mask = flagsMaskOf(meta, file);
    const row: SinglestepRow = { file, passed: 0, failed: 0, known: 0, skipped: 0 };
    const n = Math.min(moo.tests.length, opts.limit ?? Number.POSITIVE_INFINITY);
    for (let i = 0; i < n; i++) {
      const t = moo.tests[i];
      if (revokedSet.has(t.hash)) {
        row.skipped++;
        continue;
      }
      const bad = check(m, t, mask);
      if (bad === null) {
        row.passed++;
        continue;
      }
      const rule = classify(t, bad);
      if (rule !== null) {
        row.known++;
        row.rules ??= {};
        row.rules[rule] = (row.rules[rule] ?? 0) + 1;
        continue;
      }
      row.failed++;
      row.firstFailure ??= `#${t.index} ${t.name} [${Buffer.from(t.bytes).toString("hex")}] (vector ${bad.vector}): ${bad.diffs.slice(0, 6).join(", ")}`;
    }
    result.rows.push(row);
    result.passed += row.passed;
    result.failed += row.failed;
    result.known += row.known;
    result.skipped += row.skipped;
  }
  result.ms = performance.now() - t0;
  return result;
}

/** One line per opcode file, the known differences by rule, then "N passed, M failed". */
export function formatSinglestep(result: SinglestepResult): string {
  const lines: string[] = [];
  lines.push(
    `${"file".padEnd(6)} ${"passed".padStart(6)} ${"failed".padStart(6)} ${"known".padStart(6)} ${"skipped".padStart(7)}`,
  );
  const totals: Record<string, number> = {};
  for (const r of result.rows) {
    const rules = r.rules
      ? ` ${Object.entries(r.rules)
          .map(([k, v]) => `${k}:${v}`)
          .join(" ")}`
      : "";
    lines.push(
      `${r.file.padEnd(6)} ${String(r.passed).padStart(6)} ${String(r.failed).padStart(6)} ${String(r.known).padStart(6)} ${String(r.skipped).padStart(7)}${rules}`,
    );
    if (r.firstFailure) lines.push(`       first failure: ${r.firstFailure}`);
    for (const [k, v] of Object.entries(r.rules ?? {})) totals[k] = (totals[k] ?? 0) + v;
  }
  for (const [k, v] of Object.entries(totals)) lines.push(`known difference ${k}: ${v} tests (known-differences.md)`);
  lines.push(
    `${result.rows.length} files, ${result.known} known differences, ${result.skipped} revoked tests skipped, ${(result.ms / 1000).toFixed(1)} s`,
  );
  lines.push(`${result.passed} passed, ${result.failed} failed`);
  return lines.join("\n");
}
