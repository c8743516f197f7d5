// x86 (32-bit flat protected mode) to JavaScript for the JIT tier (DESIGN.md
// §7): the code of one 4 KiB page reachable from a set of entry points
// becomes one function with a `switch` over block entries inside a loop, so
// loops stay inside the generated function. Semantics are the interpreter's
// (interpreter.ts), instruction by instruction:
// - the retired-instruction count advances per block; a block that does not
//   fit in the budget returns before its first instruction (DESIGN.md §5);
// - memory goes through the TLB fast path inline; the slow path first stores
//   EIP, the count including this instruction and the lazy flags, so a #PF or
//   an EPT exit thrown from it is precise (Vol. 3A §6.5);
// - flags use flags.ts's lazy representation, kept in locals inside a block
//   and stored at block exits; a flag result no instruction can observe
//   (overwritten by a later non-faulting instruction of the block) is not
//   computed;
// - a store that takes the slow path into a page with compiled code
//   (J.gen changed) ends the function after the instruction.
import { insnLength } from "../decode.js";
import { ARITH, K_ADD, K_DEC, K_INC, K_LOGIC, K_SUB, MASK, SF, SIGN, ZF } from "../flags.js";
import { decode32, type Insn32, isString } from "./decode32.js";

/** Largest number of instructions translated for one page function (V8 optimizes functions up to ~60 KB of bytecode). */
export const MAX_INSNS = 128;
/** Longest block (instructions between budget checks). */
const MAX_BLOCK = 48;

/** Return codes of a generated function. */
export const RC_BUDGET = 0;
export const RC_INTERPRET = 1;
export const RC_DISPATCH = 2;

export interface PageCode {
  /** Function source (the body of a factory taking the helper object H). */
  source: string;
  /** leaders[off] = 1 where the function has an entry (a `case`). */
  leaders: Uint8Array;
  /** covered[off] = 1 where a translated (or interpreter-left) instruction starts. */
  covered: Uint8Array;
  /** Instructions translated. */
  insns: number;
}

type Decoded = Map<number, Insn32 | null>;

/** Whether an instruction ends its block, and where control may go (offsets in the page). */
function flow(d: Insn32, pageLin: number): { ends: boolean; targets: number[] } {
  const next = d.off + d.len;
  const rel = (next + d.imm) | 0;
  const inPage = (t: number): number[] => (t >= 0 && t < 4096 ? [t] : []);
  const op = d.op;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f))
    return { ends: true, targets: [...inPage(rel), next] };
  if (op === 0xeb || op === 0xe9) return { ends: true, targets: inPage(rel) };
  if (op === 0xe8) return { ends: true, targets: [next, ...inPage(rel)] };
  if (op === 0xc3 || op === 0xc2) return { ends: true, targets: [] };
  // A string instruction stopped by the budget resumes at itself.
  if (isString(op)) return { ends: true, targets: [d.off, next] };
  if (op === 0xff && d.reg === 2) return { ends: true, targets: [next] };
  if (op === 0xff && d.reg === 4) return { ends: true, targets: [] };
  void pageLin;
  return { ends: false, targets: [] };
}

/** First bytes of untranslated instructions after which execution does not continue in sequence (HLT, INT3, IRET, RETF, JMP far). */
const NO_FALLTHROUGH = new Set([0xf4, 0xcc, 0xcf, 0xca, 0xcb, 0xea]);

/** Discover the instructions reachable from `entries` inside the page (recursive descent, bounded). */
function discover(bytes: Uint8Array, base: number, pageLin: number, entries: number[]) {
  const insns: Decoded = new Map();
  // Entries are samples (where interpreter runs happened to start): one that the code reachable from an
  // earlier entry already contains is not a real block start, and is not made one.
  const leaders = new Set<number>();
  const targets = new Set<number>();
  const work: number[] = [];
  let total = 0;
  for (const entry of entries) {
    if (insns.has(entry) || total >= MAX_INSNS) continue;
    leaders.add(entry);
    work.push(entry);
    total = scan(bytes, base, pageLin, insns, leaders, targets, work, total);
  }
  // A block starts where control arrives other than in sequence: branch targets and the like, and
  // entries nothing falls into. An entry inside a block is reached by stepping the interpreter to it.
  const fallInto = new Set<number>();
  for (const d of insns.values()) if (d !== null && !flow(d, pageLin).ends) fallInto.add(d.off + d.len);
  return { insns, leaders: new Set([...leaders].filter((o) => targets.has(o) || !fallInto.has(o))) };
}

/** Recursive descent from the work list (bounded by MAX_INSNS); returns the new total. */
function scan(
  bytes: Uint8Array,
  base: number,
  pageLin: number,
  insns: Decoded,
  leaders: Set<number>,
  targets: Set<number>,
  work: number[],
  total: number,
): number {
  while (work.length > 0 && total < MAX_INSNS) {
    let p = work.shift()!;
    let run = 0;
    for (;;) {
      if (insns.has(p)) {
        leaders.add(p);
        break;
      }
      if (run === MAX_BLOCK) {
        leaders.add(p);
        targets.add(p);
        work.push(p);
        break;
      }
      const d = decode32(bytes, base, p);
      insns.set(p, d);
      total++;
      run++;
      if (d === null) {
        // The interpreter executes it; translation resumes after it unless it never falls through.
        if (NO_FALLTHROUGH.has(bytes[base + p]!)) break;
        const window = bytes.subarray(base + p, base + Math.min(4096, p + 16));
        if (window.length === 16) {
          const next = p + insnLength(window, 0, false);
          if (next < 4096) targets.add(next);
          if (next < 4096 && !leaders.has(next)) {
            leaders.add(next);
            work.push(next);
          }
        }
        break;
      }
      const f = flow(d, pageLin);
      if (f.ends) {
        for (const t of f.targets) {
          targets.add(t);
          if (!leaders.has(t)) {
            leaders.add(t);
            work.push(t);
          }
        }
        break;
      }
      p += d.len;
      if (p >= 4096 || total >= MAX_INSNS) break;
    }
  }
  return total;
}

// ---- flag classification for the dead-flag rule ----

const KILL = 1;
const NEUTRAL = 2;
const BARRIER = 3;

function classify(d: Insn32 | null | undefined): number {
  if (!d) return BARRIER;
  const op = d.op;
  const mem = d.ea !== "" && op !== 0x8d && op !== 0x11f;
  if (mem) return BARRIER;
  if (op < 0x40 && (op & 7) < 6) return op >> 3 === 2 || op >> 3 === 3 ? BARRIER : KILL;
  if (op === 0x80 || op === 0x81 || op === 0x83) return d.reg === 2 || d.reg === 3 ? BARRIER : KILL;
  if (op === 0x84 || op === 0x85 || op === 0xa8 || op === 0xa9 || op === 0x69 || op === 0x6b || op === 0x1af)
    return KILL;
  if (op === 0xf6 || op === 0xf7)
    return d.reg === 0 || d.reg === 1 || d.reg === 3 || d.reg === 4 || d.reg === 5
      ? KILL
      : d.reg === 2
        ? NEUTRAL
        : BARRIER;
  if (op === 0xc0 || op === 0xc1 || op === 0xd0 || op === 0xd1) {
    const cnt = op < 0xd0 ? d.imm & 31 : 1;
    return d.reg >= 4 && cnt !== 0 ? KILL : cnt === 0 ? NEUTRAL : BARRIER;
  }
  if ((op >= 0x88 && op <= 0x8b) || op === 0x8d || (op >= 0xb0 && op <= 0xbf) || (op >= 0x90 && op <= 0x99))
    return NEUTRAL;
  if (op === 0x86 || op === 0x87 || op === 0xc6 || op === 0xc7 || op === 0xfc || op === 0xfd || op === 0x11f)
    return NEUTRAL;
  if (op === 0x1b6 || op === 0x1b7 || op === 0x1be || op === 0x1bf || (op >= 0x1c8 && op <= 0x1cf)) return NEUTRAL;
  return BARRIER;
}

// ---- code generation ----

const R = (s: number, n: number): string =>
  s === 2 ? `r[${n}]` : n < 4 ? `(r[${n}] & 255)` : `((r[${n - 4}] >> 8) & 255)`;

const W = (s: number, n: number, x: string): string =>
  s === 2
    ? `r[${n}] = ${x};`
    : n < 4
      ? `r[${n}] = (r[${n}] & -256) | (${x} & 255);`
      : `r[${n - 4}] = (r[${n - 4}] & -65281) | ((${x} & 255) << 8);`;

const MASKX = (s: number, x: string): string => (s === 2 ? `(${x}) | 0` : `(${x}) & ${MASK[s]}`);

/** Compile-time flag state: the locals lop/la/lb/lres hold the lazy flags, their kind unknown here. */
const RUNTIME = -1;

class BlockGen {
  /**
   * Lazy flags (flags.ts) live in the locals lop, la, lb, lres while compiled
   * code runs (st.fl holds the rest of EFLAGS). fs is what is known about
   * them here: RUNTIME, 0 (lop = 0: st.fl is complete) or the constant lop.
   */
  fs = RUNTIME;
  out: string[] = [];
  /** Index of the current instruction in the block, and its linear address. */
  idx = 0;
  lin = 0;
  next = 0;

  constructor(readonly pageLin: number) {}

  /** Store the lazy flags into st, for a helper that reads them. */
  flush(): string {
    return this.fs === 0 ? "" : "st.lop = lop; st.la = la; st.lb = lb; st.lres = lres; ";
  }

  /** Make EIP, the count and the flags precise for an exception or exit thrown by a helper called next. */
  sync(): string {
    return `st.eip = st.ip0 = ${this.lin}; st.count = count + ${this.idx + 1}; ${this.flush()}`;
  }

  /**
   * Leave the function before this instruction (a TLB miss, a division the
   * fast path does not do): the interpreter executes it with its own fault
   * and exit handling, then compiled code resumes. The instruction has no
   * effect yet at any miss point (every check precedes every state change).
   */
  miss(): string {
    return exitTo(this.lin, this.idx, RC_INTERPRET);
  }

  load(s: number, dst: string): string {
    if (s === 0)
      return `vpn = ea >>> 12; if (tagR[vpn] !== key) ${this.miss()} ${dst} = tb[vpn][to[vpn] + (ea & 4095)];`;
    if (s === 1)
      return `vpn = ea >>> 12; if (tagR[vpn] !== key || (ea & 4095) === 4095) ${this.miss()} hb = tb[vpn]; o = to[vpn] + (ea & 4095); ${dst} = hb[o] | (hb[o + 1] << 8);`;
    return `vpn = ea >>> 12; if (tagR[vpn] !== key || (ea & 4095) > 4092) ${this.miss()} hb = tb[vpn]; o = to[vpn] + (ea & 4095); ${dst} = hb[o] | (hb[o + 1] << 8) | (hb[o + 2] << 16) | (hb[o + 3] << 24);`;
  }

  /** Store variable `v` (size 0 or 2) at `ea`. Pages with compiled code have no write tag, so this never writes one. */
  store(s: number, v: string): string {
    if (s === 0) return `vpn = ea >>> 12; if (tagW[vpn] !== key) ${this.miss()} tb[vpn][to[vpn] + (ea & 4095)] = ${v};`;
    return `vpn = ea >>> 12; if (tagW[vpn] !== key || (ea & 4095) > 4092) ${this.miss()} hb = tb[vpn]; o = to[vpn] + (ea & 4095); hb[o] = ${v}; hb[o + 1] = ${v} >>> 8; hb[o + 2] = ${v} >>> 16; hb[o + 3] = ${v} >>> 24;`;
  }

  /** Read the r/m operand of size s into `dst` (computes ea for a memory operand). */
  readRM(d: Insn32, s: number, dst: string): string {
    if (d.rmr >= 0) return `${dst} = ${R(s, d.rmr)};`;
    return `ea = ${d.ea}; ${this.load(s, dst)}`;
  }

  /** Write variable `v` to the r/m operand (ea already computed for memory). */
  writeRM(d: Insn32, s: number, v: string): string {
    if (d.rmr >= 0) return W(s, d.rmr, v);
    return this.store(s, v);
  }

  setLazy(kind: number, s: number, a: string | null, b: string | null, res: string): string {
    this.fs = (kind << 2) | s;
    return `lop = ${this.fs}; ${a === null ? "" : `la = ${a}; `}${b === null ? "" : `lb = ${b}; `}lres = ${res};`;
  }

  /** CF of the current lazy state as 0/1 (getCF). */
  cf(): string {
    const fs = this.fs;
    if (fs === 0) return "(st.fl & 1)";
    if (fs === RUNTIME) return "(st.lop = lop, st.la = la, st.lb = lb, st.lres = lres, getCF(st))";
    const s = fs & 3;
    const m = MASK[s];
    switch (fs >> 2) {
      case K_ADD:
        return s === 2 ? "((lres >>> 0) < (la >>> 0) ? 1 : 0)" : `((lres & ${m}) < (la & ${m}) ? 1 : 0)`;
      case K_SUB:
        return s === 2 ? "((la >>> 0) < (lb >>> 0) ? 1 : 0)" : `((la & ${m}) < (lb & ${m}) ? 1 : 0)`;
      case K_LOGIC:
        return "0";
      default:
        return "(lb & 1)";
    }
  }

  /** Condition cc (Vol. 1 App. B) as a JS boolean expression; `pre` flushes when it needs st. */
  cond(cc: number): { pre: string; expr: string } {
    const fs = this.fs;
    const neg = (e: string): string => ((cc & 1) === 0 ? e : `!(${e})`);
    const viaSt = { pre: this.flush(), expr: `testCC(st, ${cc})` };
    if (fs <= 0) return viaSt;
    const kind = fs >> 2;
    const s = fs & 3;
    const m = MASK[s];
    const sign = SIGN[s];
    const zf = s === 2 ? "lres === 0" : `(lres & ${m}) === 0`;
    const sf = s === 2 ? "lres < 0" : `(lres & ${sign}) !== 0`;
    const cf = `${this.cf()} !== 0`;
    let of: string;
    if (kind === K_SUB) of = `((la ^ lb) & (la ^ lres) & ${sign}) !== 0`;
    else if (kind === K_ADD) of = `((la ^ lres) & (lb ^ lres) & ${sign}) !== 0`;
    else if (kind === K_LOGIC) of = "false";
    else if (kind === K_INC) of = `(lres & ${m}) === ${sign}`;
    else if (kind === K_DEC) of = `(lres & ${m}) === ${(sign - 1) & m}`;
    else return viaSt;
    const sx = (v: string): string => (s === 2 ? v : s === 0 ? `((${v} << 24) >> 24)` : `((${v} << 16) >> 16)`);
    let e: string;
    switch (cc >> 1) {
      case 0:
        e = of;
        break;
      case 1:
        e = cf;
        break;
      case 2:
        e = zf;
        break;
      case 3:
        e =
          kind === K_SUB ? (s === 2 ? "(la >>> 0) <= (lb >>> 0)" : `(la & ${m}) <= (lb & ${m})`) : `(${cf}) || (${zf})`;
        break;
      case 4:
        e = sf;
        break;
      case 5:
        return viaSt;
      case 6:
        e = kind === K_SUB ? `${sx("la")} < ${sx("lb")}` : `(${sf}) !== (${of})`;
        break;
      default:
        e = kind === K_SUB ? `${sx("la")} <= ${sx("lb")}` : `(${zf}) || ((${sf}) !== (${of}))`;
        break;
    }
    return { pre: "", expr: neg(e) };
  }
}

/** Group-1 operation k on a, b (JS operands): result expression for size s. */
function aluExpr(k: number, s: number, a: string, b: string): string {
  switch (k) {
    case 0:
      return MASKX(s, `${a} + ${b}`);
    case 1:
      return `${a} | ${b}`;
    case 4:
      return `${a} & ${b}`;
    case 6:
      return `${a} ^ ${b}`;
    default:
      return MASKX(s, `${a} - ${b}`);
  }
}

interface Emitted {
  code: string;
  /** Block-ending control transfer: code that sets `eip` (after count and flags are final), or null. */
  jump: string | null;
  /** For Jcc: the condition and the taken target (fall-through is the next instruction). */
  jcc?: { cond: string; target: number };
  /** A block end that maintains `count` itself (string instructions). */
  tail?: string;
}

/** Emit one instruction (not the block end bookkeeping). */
function emitInsn(g: BlockGen, d: Insn32, dead: boolean): Emitted {
  const op = d.op;
  const next = g.next;
  const imm = d.imm;
  const c: string[] = [];
  const none = (): Emitted => ({ code: c.join(" "), jump: null });
  // ---- ALU 00-3D ----
  if (op < 0x40) {
    const k = op >> 3;
    const form = op & 7;
    const s = form & 1 ? 2 : 0;
    let dst = -1; // register destination, -2 = memory
    if (form < 4) {
      c.push(g.readRM(d, s, form < 2 ? "a" : "b"));
      if (form < 2) {
        c.push(`b = ${R(s, d.reg)};`);
        dst = d.rmr >= 0 ? d.rmr : -2;
      } else {
        c.push(`a = ${R(s, d.reg)};`);
        dst = d.reg;
      }
    } else {
      c.push(`a = ${R(s, 0)}; b = ${s === 0 ? imm & 255 : imm};`);
      dst = 0;
    }
    aluTail(g, c, k, s, dst, dead);
    return none();
  }
  if (op === 0x80 || op === 0x81 || op === 0x83) {
    const s = op === 0x80 ? 0 : 2;
    c.push(g.readRM(d, s, "a"));
    c.push(`b = ${s === 0 ? imm & 255 : imm};`);
    aluTail(g, c, d.reg, s, d.rmr >= 0 ? d.rmr : -2, dead);
    return none();
  }
  if (op === 0x84 || op === 0x85 || op === 0xa8 || op === 0xa9 || ((op === 0xf6 || op === 0xf7) && d.reg < 2)) {
    const s = op & 1 ? 2 : 0;
    if (op === 0x84 || op === 0x85) c.push(g.readRM(d, s, "a"), `b = ${R(s, d.reg)};`);
    else if (op === 0xa8 || op === 0xa9) c.push(`a = ${R(s, 0)}; b = ${s === 0 ? imm & 255 : imm};`);
    else c.push(g.readRM(d, s, "a"), `b = ${s === 0 ? imm & 255 : imm};`);
    if (!dead) c.push(g.setLazy(K_LOGIC, s, null, null, "a & b"));
    return none();
  }
  if (op >= 0x40 && op <= 0x4f) {
    const n = op & 7;
    c.push(`a = r[${n}]; res = (a ${op < 0x48 ? "+" : "-"} 1) | 0; r[${n}] = res;`);
    if (!dead) c.push(`lb = ${g.cf()};`, g.setLazy(op < 0x48 ? K_INC : K_DEC, 2, "a", null, "res"));
    return none();
  }
  if ((op === 0xfe || op === 0xff) && d.reg < 2) {
    const s = op === 0xff ? 2 : 0;
    c.push(g.readRM(d, s, "a"), `res = ${MASKX(s, `a ${d.reg === 0 ? "+" : "-"} 1`)};`, g.writeRM(d, s, "res"));
    if (!dead) c.push(`lb = ${g.cf()};`, g.setLazy(d.reg === 0 ? K_INC : K_DEC, s, "a", null, "res"));
    return none();
  }
  // ---- moves ----
  if (op >= 0x88 && op <= 0x8b) {
    const s = op & 1 ? 2 : 0;
    if (op < 0x8a) {
      if (d.rmr >= 0) c.push(W(s, d.rmr, R(s, d.reg)));
      else c.push(`ea = ${d.ea}; v = ${R(s, d.reg)};`, g.store(s, "v"));
    } else {
      c.push(g.readRM(d, s, "v"), W(s, d.reg, "v"));
    }
    return none();
  }
  if (op === 0x8d) {
    c.push(`r[${d.reg}] = ${d.ea};`);
    return none();
  }
  if (op === 0xc6 || op === 0xc7) {
    const s = op & 1 ? 2 : 0;
    const v = s === 0 ? imm & 255 : imm;
    if (d.rmr >= 0) c.push(W(s, d.rmr, `${v}`));
    else c.push(`ea = ${d.ea}; v = ${v};`, g.store(s, "v"));
    return none();
  }
  if (op >= 0xb0 && op <= 0xb7) {
    c.push(W(0, op & 7, `${imm & 255}`));
    return none();
  }
  if (op >= 0xb8 && op <= 0xbf) {
    c.push(`r[${op & 7}] = ${imm};`);
    return none();
  }
  if (op >= 0xa0 && op <= 0xa3) {
    const s = op & 1 ? 2 : 0;
    c.push(`ea = ${imm};`);
    if (op < 0xa2) c.push(g.load(s, "v"), W(s, 0, "v"));
    else c.push(`v = ${R(s, 0)};`, g.store(s, "v"));
    return none();
  }
  if (op === 0x86 || op === 0x87) {
    const s = op & 1 ? 2 : 0;
    if (d.rmr >= 0) c.push(`v = ${R(s, d.reg)};`, W(s, d.reg, R(s, d.rmr)), W(s, d.rmr, "v"));
    else c.push(`v = ${R(s, d.reg)}; ea = ${d.ea};`, g.load(s, "a"), g.store(s, "v"), W(s, d.reg, "a"));
    return none();
  }
  if (op >= 0x91 && op <= 0x97) {
    c.push(`v = r[0]; r[0] = r[${op & 7}]; r[${op & 7}] = v;`);
    return none();
  }
  if (op === 0x90 || op === 0x11f) return none();
  if (op === 0x98) {
    c.push("r[0] = (r[0] << 16) >> 16;");
    return none();
  }
  if (op === 0x99) {
    c.push("r[2] = r[0] >> 31;");
    return none();
  }
  if (op === 0x1b6 || op === 0x1b7 || op === 0x1be || op === 0x1bf) {
    const s = op & 1 ? 1 : 0;
    if (d.rmr >= 0) c.push(`v = ${s === 1 ? `(r[${d.rmr}] & 65535)` : R(0, d.rmr)};`);
    else c.push(`ea = ${d.ea};`, g.load(s, "v"));
    const v = op < 0x1b8 ? "v" : s === 0 ? "((v << 24) >> 24)" : "((v << 16) >> 16)";
    c.push(`r[${d.reg}] = ${v};`);
    return none();
  }
  if (op >= 0x1c8 && op <= 0x1cf) {
    const n = op & 7;
    c.push(`v = r[${n}]; r[${n}] = (v << 24) | ((v & 65280) << 8) | ((v >>> 8) & 65280) | (v >>> 24);`);
    return none();
  }
  // ---- stack ----
  if (op >= 0x50 && op <= 0x57) {
    c.push(`v = r[${op & 7}]; ea = (r[4] - 4) | 0;`, g.store(2, "v"), "r[4] = ea;");
    return none();
  }
  if (op === 0x68 || op === 0x6a) {
    c.push(`v = ${imm}; ea = (r[4] - 4) | 0;`, g.store(2, "v"), "r[4] = ea;");
    return none();
  }
  if (op === 0xff && d.reg === 6) {
    c.push(g.readRM(d, 2, "v"), "ea = (r[4] - 4) | 0;", g.store(2, "v"), "r[4] = ea;");
    return none();
  }
  if (op >= 0x58 && op <= 0x5f) {
    c.push("ea = r[4];", g.load(2, "v"), `r[4] = (r[4] + 4) | 0; r[${op & 7}] = v;`);
    return none();
  }
  if (op === 0xc9) {
    c.push("ea = r[5];", g.load(2, "v"), "r[4] = (r[5] + 4) | 0; r[5] = v;");
    return none();
  }
  // ---- multiply, divide, NOT, NEG ----
  if (op === 0x69 || op === 0x6b || op === 0x1af) {
    if (op === 0x1af) c.push(`a = r[${d.reg}];`, g.readRM(d, 2, "b"));
    else c.push(g.readRM(d, 2, "a"), `b = ${imm};`);
    if (dead) c.push(`r[${d.reg}] = Math.imul(a, b);`);
    else {
      // alu.ts imulTrunc: CF = OF = the product does not fit; SF/ZF/PF from the low half.
      c.push(`mulS32(a, b); res = mulOut.lo; r[${d.reg}] = res;`, eager("mulOut.hi !== res >> 31 ? 2049 : 0"));
      g.fs = 0;
    }
    return none();
  }
  if (op === 0xf6 || op === 0xf7) {
    const s = op === 0xf7 ? 2 : 0;
    c.push(g.readRM(d, s, "a"));
    switch (d.reg) {
      case 2:
        c.push("res = ~a;", g.writeRM(d, s, "res"));
        break;
      case 3:
        c.push(`res = ${MASKX(s, "-a")};`, g.writeRM(d, s, "res"));
        if (!dead) c.push(g.setLazy(K_SUB, s, "0", "a", "res"));
        break;
      case 4:
      case 5:
        if (s === 2) {
          c.push(`${d.reg === 4 ? "mulU32" : "mulS32"}(r[0], a); res = mulOut.lo; r[0] = res; r[2] = mulOut.hi;`);
          if (!dead) c.push(eager(`mulOut.hi !== ${d.reg === 4 ? "0" : "res >> 31"} ? 2049 : 0`));
          if (!dead) g.fs = 0;
        } else {
          c.push(g.flush(), `mulAcc(st, ${s}, a, ${d.reg === 5}); lop = 0;`);
          g.fs = 0;
        }
        break;
      default:
        if (d.reg === 6 && s === 2)
          c.push(
            `if (r[2] !== 0 || a === 0) ${g.miss()} b = a >>> 0; v = r[0] >>> 0; r[0] = (v / b) >>> 0; r[2] = v % b;`,
          );
        else c.push(g.miss());
        break;
    }
    return none();
  }
  // ---- shifts and rotates ----
  if (op === 0xc0 || op === 0xc1 || (op >= 0xd0 && op <= 0xd3)) {
    const s = op & 1 ? 2 : 0;
    const k = d.reg;
    c.push(g.readRM(d, s, "v"));
    if (op === 0xd2 || op === 0xd3) {
      c.push(g.flush());
      c.push(
        `b = r[1] & 255; if ((b & 31) !== 0) { res = shiftRes(${k}, ${s}, v, b, ${k >= 4 ? "st.fl" : "getFlags(st)"}); ${g.writeRM(d, s, "res")} st.fl = shiftOut.flags; st.lop = 0; lop = 0; }`,
      );
      g.fs = RUNTIME;
      return none();
    }
    const cnt = op < 0xd0 ? imm & 255 : 1;
    const n = cnt & 31;
    if (n === 0) return none();
    if (dead && s === 2 && k !== 2 && k !== 3) {
      const e = [
        `(v << ${n}) | (v >>> ${32 - n})`,
        `(v >>> ${n}) | (v << ${32 - n})`,
        "",
        "",
        `v << ${n}`,
        `(v >>> ${n}) | 0`,
        `v << ${n}`,
        `v >> ${n}`,
      ][k];
      c.push(`res = ${e};`, g.writeRM(d, s, "res"));
      return none();
    }
    if (s === 2 && k >= 4) {
      // alu.ts shiftRes for a count of 1-31: CF is the last bit out, OF as documented there, AF clear.
      const [e, cf, of] = [
        [`v << ${n}`, `(v >>> ${32 - n}) & 1`, "((res >>> 31) ^ c) << 11"],
        [`(v >>> ${n}) | 0`, `(v >>> ${n - 1}) & 1`, "((res ^ (res << 1)) >>> 31) << 11"],
        [`v << ${n}`, `(v >>> ${32 - n}) & 1`, "((res >>> 31) ^ c) << 11"],
        [`v >> ${n}`, `(v >> ${n - 1}) & 1`, "0"],
      ][k - 4]!;
      c.push(`res = ${e}; c = ${cf};`, g.writeRM(d, s, "res"), eager(`c | (${of})`));
      g.fs = 0;
      return none();
    }
    if (k < 4) c.push(g.flush());
    c.push(`res = shiftRes(${k}, ${s}, v, ${cnt}, ${k < 4 ? "getFlags(st)" : "st.fl"});`, g.writeRM(d, s, "res"));
    c.push("st.fl = shiftOut.flags; st.lop = 0; lop = 0;");
    g.fs = 0;
    return none();
  }
  // ---- flags ----
  if (op === 0xfc || op === 0xfd) {
    c.push(op === 0xfc ? "st.fl &= -1025;" : "st.fl |= 1024;");
    return none();
  }
  if (op === 0xf8 || op === 0xf9 || op === 0xf5) {
    c.push(g.flush(), `st.fl = getFlags(st) ${op === 0xf8 ? "& -2" : op === 0xf9 ? "| 1" : "^ 1"}; lop = 0;`);
    g.fs = 0;
    return none();
  }
  if (op >= 0x190 && op <= 0x19f) {
    const t = g.cond(op & 15);
    if (d.rmr >= 0) c.push(t.pre, W(0, d.rmr, `(${t.expr} ? 1 : 0)`));
    else c.push(`ea = ${d.ea};`, t.pre, `v = ${t.expr} ? 1 : 0;`, g.store(0, "v"));
    return none();
  }
  if (op >= 0x140 && op <= 0x14f) {
    c.push(g.readRM(d, 2, "v"));
    const t = g.cond(op & 15);
    c.push(t.pre, `if (${t.expr}) r[${d.reg}] = v;`);
    return none();
  }
  // ---- control transfers (end the block) ----
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) {
    const t = g.cond(op & 15);
    c.push(t.pre, `t = ${t.expr};`);
    return { code: c.join(" "), jump: null, jcc: { cond: "t", target: (next + imm) | 0 } };
  }
  if (op === 0xeb || op === 0xe9) return { code: "", jump: `eip = ${(next + imm) | 0};` };
  if (op === 0xe8) {
    c.push(`v = ${next}; ea = (r[4] - 4) | 0;`, g.store(2, "v"), "r[4] = ea;");
    return { code: c.join(" "), jump: `eip = ${(next + imm) | 0};` };
  }
  if (op === 0xc3 || op === 0xc2) {
    c.push("ea = r[4];", g.load(2, "v"), `r[4] = (r[4] + ${op === 0xc2 ? 4 + imm : 4}) | 0;`);
    return { code: c.join(" "), jump: "eip = v;" };
  }
  if (op === 0xff && (d.reg === 2 || d.reg === 4)) {
    c.push(g.readRM(d, 2, "b"));
    if (d.reg === 2) c.push(`v = ${next}; ea = (r[4] - 4) | 0;`, g.store(2, "v"), "r[4] = ea;");
    return { code: c.join(" "), jump: "eip = b;" };
  }
  if (isString(op)) {
    // string-ops.ts as the interpreter calls it: each iteration retires as one instruction, at most the budget's room.
    const tail =
      `${g.sync()}c = count + ${g.idx}; t = stringOp(st, ${op}, ${d.o16}, false, ${d.rep}, -1, limit - c); ` +
      "lop = st.lop; la = st.la; lb = st.lb; lres = st.lres; " +
      `count = c + st.iters; eip = t ? ${next} : ${g.lin}; ` +
      `if (J.gen !== g0) { xe = eip; xc = 0; xr = ${RC_DISPATCH}; break L; } continue;`;
    g.fs = RUNTIME;
    return { code: "", jump: null, tail };
  }
  throw new Error(`jit: opcode ${op.toString(16)} decoded but not emitted`);
}

/**
 * Set the arithmetic flags eagerly: `extra` gives CF and OF, SF/ZF/PF come
 * from the 32-bit `res`, AF is clear; the other EFLAGS bits are st.fl's
 * (current even while lazy flags are pending: only ARITH is lazy). st.lop
 * too becomes 0, so helpers that read st (getCF, testCC) see these flags.
 */
function eager(extra: string): string {
  return `st.fl = (st.fl & ${~ARITH}) | (${extra}) | PARITY[res & 255] | (res === 0 ? ${ZF} : 0) | ((res >>> 24) & ${SF}); st.lop = 0; lop = 0;`;
}

/** The rest of a group-1 operation: a and b are loaded; dst is a register, or -2 for memory (ea set). */
function aluTail(g: BlockGen, c: string[], k: number, s: number, dst: number, dead: boolean): void {
  const store = (): string => (dst === -2 ? g.store(s, "res") : W(s, dst, "res"));
  if (k === 2 || k === 3) {
    c.push(g.flush(), "c = getCF(st);");
    c.push(
      `res = ${MASKX(s, k === 2 ? "a + b + c" : "a - b - c")};`,
      store(),
      `aluFlags(st, ${k}, ${s}, a, b, res, c); lop = 0;`,
    );
    g.fs = 0;
    return;
  }
  if (k === 7) {
    if (!dead) c.push(g.setLazy(K_SUB, s, "a", "b", MASKX(s, "a - b")));
    return;
  }
  c.push(`res = ${aluExpr(k, s, "a", "b")};`, store());
  if (!dead) c.push(g.setLazy(k === 0 ? K_ADD : k === 5 ? K_SUB : K_LOGIC, s, "a", "b", "res"));
}

/**
 * Translate the page whose bytes start at bytes[base], mapped at linear
 * `pageLin`, from the entry offsets `entries`.
 */
export function translatePage(bytes: Uint8Array, base: number, pageLin: number, entries: number[]): PageCode {
  const { insns, leaders } = discover(bytes, base, pageLin, entries);
  const offs = [...leaders].filter((o) => insns.has(o)).sort((a, b) => a - b);
  const isLeader = new Uint8Array(4096);
  for (const o of offs) isLeader[o] = 1;
  const cases: string[] = [];
  for (let i = 0; i < offs.length; i++) {
    const start = offs[i]!;
    cases.push(emitBlock(insns, isLeader, start, pageLin, offs[i + 1] ?? -1));
  }
  const lin = (off: number): number => (pageLin + off) | 0;
  const source = `
const { stringOp, getCF, getFlags, testCC, aluFlags, shiftRes, shiftOut, imulTrunc, mulAcc, mulU32, mulS32, mulOut, PARITY, J, EMPTY } = H;
return function jit_${(pageLin >>> 0).toString(16)}(st, limit) {
  const r = st.regs; const m = st.mem; const tagR = m.tagR; const tagW = m.tagW; const tb = m.bytes; const to = m.offset;
  const key = m.key; const g0 = J.gen;
  let eip = st.eip | 0; let count = st.count;
  let lop = st.lop, la = st.la, lb = st.lb, lres = st.lres;
  let ea = 0, vpn = 0, o = 0, a = 0, b = 0, c = 0, v = 0, res = 0, t = false;
  let xe = 0, xc = 0, xr = 0;
  let hb = EMPTY;
  L: for (;;) {
    switch ((eip - ${lin(0)}) | 0) {
${cases.join("\n")}
      default:
        xe = eip; xc = 0; xr = ${RC_DISPATCH}; break L;
    }
  }
  st.eip = xe; st.count = count + xc;
  st.lop = lop; st.la = la; st.lb = lb; st.lres = lres;
  return xr;
};`;
  const covered = new Uint8Array(4096);
  for (const off of insns.keys()) covered[off] = 1;
  return { source, leaders: isLeader, covered, insns: insns.size };
}

function emitBlock(insns: Decoded, isLeader: Uint8Array, start: number, pageLin: number, nextCase: number): string {
  const lin = (off: number): number => (pageLin + off) | 0;
  const g = new BlockGen(pageLin);
  const body: string[] = [];
  // The block: instructions from `start` up to the next leader, an untranslated one or a control transfer.
  const list: Insn32[] = [];
  let p = start;
  let end: "fall" | "interp" | "jump" = "fall";
  for (;;) {
    if (list.length > 0 && (p >= 4096 || isLeader[p])) break;
    const d = insns.get(p);
    if (d === undefined) break;
    if (d === null) {
      end = "interp";
      break;
    }
    list.push(d);
    p += d.len;
    if (flow(d, pageLin).ends) {
      end = "jump";
      break;
    }
    if (list.length === MAX_BLOCK) break;
  }
  const n = list.length;
  let tail = "";
  for (let i = 0; i < n; i++) {
    const d = list[i]!;
    g.idx = i;
    g.lin = lin(d.off);
    g.next = lin(d.off + d.len);
    // Its flags are dead if the next instruction that touches flags overwrites them all and nothing between can leave.
    let dead = true;
    for (let j = i + 1; ; j++) {
      const k = j < n ? classify(list[j]) : BARRIER;
      if (k === NEUTRAL) continue;
      dead = k === KILL;
      break;
    }
    const e = emitInsn(g, d, dead);
    body.push(e.code);
    if (i === n - 1 && end === "jump") {
      if (e.tail !== undefined) tail = e.tail;
      else if (e.jcc) {
        const taken = e.jcc.target;
        const fall = lin(d.off + d.len);
        tail = `count += ${n}; if (${e.jcc.cond}) { eip = ${taken}; continue; } eip = ${fall};${nextOffFall(nextCase, d.off + d.len) ? " /* falls through */" : " continue;"}`;
      } else tail = `count += ${n}; ${e.jump} continue;`;
    }
  }
  if (end !== "jump") {
    if (end === "interp") tail = `count += ${n}; ${exitTo(lin(p), 0, RC_INTERPRET)}`;
    else if (p === nextCase) tail = `count += ${n}; eip = ${lin(p)}; /* falls through */`;
    else tail = `count += ${n}; eip = ${lin(p)}; continue;`;
  }
  const check = n > 0 ? `if (count > limit - ${n}) ${exitTo(lin(start), 0, RC_BUDGET)} ` : "";
  return `      case ${start}: { ${check}${body.join(" ")} ${tail} }`;
}

/**
 * Leave the function with EIP = eip, count + xc retired and return code rc
 * (the lazy flags go back to st there). All exits share one exit sequence
 * after the loop, so V8 has type feedback for it and a rare exit does not
 * deoptimize the function.
 */
function exitTo(eip: number, xc: number, rc: number): string {
  return `{ xe = ${eip}; xc = ${xc}; xr = ${rc}; break L; }`;
}

function nextOffFall(nextCase: number, fall: number): boolean {
  return nextCase === fall;
}
