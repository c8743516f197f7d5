// Rules that recognise a failing SingleStepTests case as a documented
// difference between the 80286 the suite was captured on and the P6-class
// processor moat models (DESIGN.md §7). Each rule id is explained, with its
// SDM reason, in known-differences.md; a rule accepts a test only if the
// difference it names accounts for what differs: when the two processors
// raise different exceptions, the test is re-run with our vector's IVT
// entry pointing where the 286's went, and everything must then match.
import { lockable } from "../cpu/prefixes.js";
import type { MooTest, Regs } from "./moo.js";

/** What our processor did on a failing test. */
export interface Observed {
  /** Exit reason of the normal run (12 = HLT). */
  reason: number;
  /** Human-readable differences. */
  diffs: string[];
  /** Registers that differ, with our values. */
  regDiffs: Regs;
  /** Our FLAGS XOR the expected, over the compared bits. */
  flagsXor: number;
  /** The exception our processor raised (a probe run with every exception exiting), -1 for none. */
  vector: number;
  /** Re-run with IVT[ours] = IVT[theirs]: what differs then. */
  withVector(ours: number, theirs: number): Differences;
}

/** The differences of one run. */
export interface Differences {
  reason: number;
  diffs: string[];
  regDiffs: Regs;
  flagsXor: number;
}

/** Rule ids, each a section of known-differences.md. */
export const RULES = [
  "lock-ud",
  "stack-fault-gp",
  "fs-gs",
  "x87",
  "popf-iopl-nt",
  "insn-length-10",
  "string-fault-index",
] as const;
export type Rule = (typeof RULES)[number];

const PREFIXES = new Set([0x26, 0x2e, 0x36, 0x3e, 0xf0, 0xf2, 0xf3]);

interface Decoded {
  lock: boolean;
  /** Prefix bytes before the opcode. */
  prefixes: number;
  op: number;
  modrm: number;
}

function decode(bytes: Uint8Array): Decoded {
  let p = 0;
  let lock = false;
  while (p < bytes.length && PREFIXES.has(bytes[p])) {
    if (bytes[p] === 0xf0) lock = true;
    p++;
  }
  return { lock, prefixes: p, op: bytes[p] ?? 0, modrm: bytes[p + 1] ?? 0 };
}

/** MOVS CMPS STOS LODS SCAS INS OUTS. */
const STRING_OPS = new Set([0x6c, 0x6d, 0x6e, 0x6f, 0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]);

/**
 * Only SI, DI and CX differ, each by at most one element step (the 286
 * advanced them for the element that faulted; RAM, including the exception
 * frame, matched).
 */
function indexAdvanced(t: MooTest, o: Differences): boolean {
  const names = Object.keys(o.regDiffs);
  if (names.length === 0 || o.diffs.length !== names.length) return false;
  for (const n of names) {
    if (n !== "si" && n !== "di" && n !== "cx") return false;
    const k = n as "si" | "di" | "cx";
    const want = t.final.regs[k] ?? t.initial.regs[k] ?? 0;
    const step = ((want - (o.regDiffs[k] ?? 0)) << 16) >> 16;
    if (step === 0 || Math.abs(step) > 2) return false;
  }
  return true;
}

/** The id of the known difference explaining this failure, or null. */
export function classify(t: MooTest, o: Observed): Rule | null {
  const d = decode(t.bytes);
  const reg = (d.modrm >> 3) & 7;
  const theirs = t.exception?.number ?? -1;
  // Instruction length: the HLT after the test is not part of it.
  const length = t.bytes.length - 1;
  if (d.lock && o.vector === 6 && theirs !== 6 && (d.modrm >= 0xc0 || !lockable(d.op, reg))) return "lock-ud";
  if (length > 10 && (theirs === 6 || theirs === 13) && o.vector === -1) return "insn-length-10";
  if (STRING_OPS.has(d.op) && theirs === 13 && o.vector === 13 && indexAdvanced(t, o)) return "string-fault-index";
  if (theirs === 13 && o.vector === 12) {
    // Point our #SS where the 286's #GP went: then nothing else may differ (or, for a string
    // instruction with an SS source, only the index the 286 advanced).
    const aliased = o.withVector(12, 13);
    if (aliased.diffs.length === 0) return "stack-fault-gp";
    if (STRING_OPS.has(d.op) && indexAdvanced(t, aliased)) return "string-fault-index";
  }
  if ((d.op === 0x8c || d.op === 0x8e) && (reg === 4 || reg === 5) && theirs === 6 && o.vector === -1) return "fs-gs";
  if (d.op >= 0xd8 && d.op <= 0xdf && o.vector === 6 && theirs !== 6) return "x87";
  if ((d.op === 0x9d || d.op === 0xcf) && o.diffs.length === 1 && o.flagsXor !== 0 && (o.flagsXor & ~0x7000) === 0) {
    return "popf-iopl-nt";
  }
  return null;
}
