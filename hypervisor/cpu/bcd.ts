// Decimal-arithmetic adjustments and BOUND (SDM Vol. 2 DAA, DAS, AAA, AAS,
// AAM, AAD, BOUND; operation sections followed step by step). Rare
// instructions, kept out of the interpreter's hot switch.
//
// Undefined flags (DESIGN.md §7, this model's choice): DAA/DAS clear OF;
// AAA/AAS set SF, ZF, PF from the final AL and clear OF; AAM/AAD clear OF,
// AF and CF.
import { BR, DE, NO_ERROR, raise } from "./fault.js";
import { AF, ARITH, CF, getFlags, PARITY, SF, ZF } from "./flags.js";
import type { Insn } from "./insn.js";
import { needMem } from "./insn.js";
import { rdS } from "./memory.js";
import { type CpuState, EAX } from "./state.js";

/** EFLAGS with the arithmetic flags replaced by `arith` plus SF, ZF, PF of the byte `al`. */
function withSzp(st: CpuState, arith: number, al: number): void {
  let f = (getFlags(st) & ~ARITH) | arith | PARITY[al];
  if (al === 0) f |= ZF;
  if (al & 0x80) f |= SF;
  st.fl = f;
  st.lop = 0;
}

function setAl(st: CpuState, al: number): void {
  st.regs[EAX] = (st.regs[EAX] & ~0xff) | (al & 0xff);
}

/** 27 DAA: decimal adjust AL after addition. */
export function daa(st: CpuState): void {
  const f = getFlags(st);
  const old = st.regs[EAX] & 0xff;
  const oldCf = f & CF;
  let al = old;
  let out = 0;
  if ((al & 0xf) > 9 || f & AF) {
    al += 6;
    out |= AF | oldCf | (al > 0xff ? CF : 0);
  }
  // The second step decides CF (Vol. 2 DAA: "ELSE CF <- 0").
  out &= ~CF;
  if (old > 0x99 || oldCf) {
    al += 0x60;
    out |= CF;
  }
  al &= 0xff;
  setAl(st, al);
  withSzp(st, out, al);
}

/** 2F DAS: decimal adjust AL after subtraction. */
export function das(st: CpuState): void {
  const f = getFlags(st);
  const old = st.regs[EAX] & 0xff;
  const oldCf = f & CF;
  let al = old;
  let out = 0;
  if ((al & 0xf) > 9 || f & AF) {
    out |= AF | oldCf | (al < 6 ? CF : 0);
    al -= 6;
  }
  if (old > 0x99 || oldCf) {
    al -= 0x60;
    out |= CF;
  }
  al &= 0xff;
  setAl(st, al);
  withSzp(st, out, al);
}

/** 37 AAA / 3F AAS: ASCII adjust after addition (AX + 106H) or subtraction (AX - 6, AH - 1). */
export function asciiAdjust(st: CpuState, sub: boolean): void {
  const r = st.regs;
  let ax = r[EAX] & 0xffff;
  let out = 0;
  if ((ax & 0xf) > 9 || getFlags(st) & AF) {
    ax = sub ? ax - 6 - 0x100 : ax + 0x106;
    out = AF | CF;
  }
  ax &= 0xff0f;
  r[EAX] = (r[EAX] & ~0xffff) | ax;
  withSzp(st, out, ax & 0xff);
}

/** D4 ib AAM: AH = AL / imm8, AL = AL mod imm8; #DE for a zero base. */
export function aam(st: CpuState, base: number): void {
  if (base === 0) raise(st, DE, NO_ERROR);
  const al = st.regs[EAX] & 0xff;
  const lo = al % base;
  st.regs[EAX] = (st.regs[EAX] & ~0xffff) | (Math.floor(al / base) << 8) | lo;
  withSzp(st, 0, lo);
}

/** D5 ib AAD: AL = (AL + AH * imm8) & FF, AH = 0. */
export function aad(st: CpuState, base: number): void {
  const r = st.regs;
  const al = ((r[EAX] & 0xff) + ((r[EAX] >> 8) & 0xff) * base) & 0xff;
  r[EAX] = (r[EAX] & ~0xffff) | al;
  withSzp(st, 0, al);
}

/** 62 BOUND r, m16&16 / m32&32: #BR unless lower <= index <= upper (signed); register operand #UD. */
export function bound(st: CpuState, i: Insn): void {
  needMem(st, i);
  const s = i.o16 ? 1 : 2;
  const index = s === 1 ? (st.regs[i.reg] << 16) >> 16 : st.regs[i.reg];
  const lower = rdS(st.mem, s, i.ea);
  const upper = rdS(st.mem, s, (i.ea + (s === 1 ? 2 : 4)) | 0);
  const lo = s === 1 ? (lower << 16) >> 16 : lower;
  const hi = s === 1 ? (upper << 16) >> 16 : upper;
  if (index < lo || index > hi) raise(st, BR, NO_ERROR);
}
