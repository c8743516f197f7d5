// The stack as PUSH, POP and the instructions built on them use it (SDM
// Vol. 1 §6.2-6.3; Vol. 3A §3.4.5 the B flag): the stack-pointer width is
// SS.B (32-bit ESP or 16-bit SP, whose upper half stays untouched and
// which wraps within 64 KiB), independent of the operand size (2 or 4
// bytes). Every slot is checked against the SS limit (#SS(0), limits.ts).
// The interpreter's hot path does flat 32-bit pushes itself; everything
// else comes here.
import { GP, raise, SS as SS_VEC } from "./fault.js";
import { setR } from "./insn.js";
import { outsideSeg } from "./limits.js";
import { rdS, wrS } from "./memory.js";
import { realSegs } from "./segments.js";
import { AR_DB, type CpuState, CS, EBP, ESP, SS } from "./state.js";

/** SS.B = 1: ESP is the stack pointer. */
export function stack32(st: CpuState): boolean {
  return (st.segAr[SS] & AR_DB) !== 0;
}

/** The stack pointer (SP or ESP, unsigned). */
export function getSp(st: CpuState): number {
  const v = st.regs[ESP];
  return stack32(st) ? v >>> 0 : v & 0xffff;
}

/** Stack pointer `sp` plus `delta`, wrapped to the stack-pointer width. */
export function spPlus(st: CpuState, sp: number, delta: number): number {
  return stack32(st) ? (sp + delta) >>> 0 : (sp + delta) & 0xffff;
}

/** Write the stack pointer: all of ESP, or SP alone. */
export function setSp(st: CpuState, sp: number): void {
  const r = st.regs;
  r[ESP] = stack32(st) ? sp : (r[ESP] & ~0xffff) | (sp & 0xffff);
}

/** Read `w` bytes (2 or 4) at stack offset `sp`. */
export function stackRead(st: CpuState, sp: number, w: number): number {
  if (outsideSeg(st, SS, sp, w)) raise(st, SS_VEC, 0);
  const v = rdS(st.mem, w >> 1, (sp + st.segBase[SS]) | 0);
  return w === 2 ? v & 0xffff : v;
}

/** Write `w` bytes (2 or 4) at stack offset `sp`. */
export function stackWrite(st: CpuState, sp: number, w: number, v: number): void {
  if (outsideSeg(st, SS, sp, w)) raise(st, SS_VEC, 0);
  wrS(st.mem, w >> 1, (sp + st.segBase[SS]) | 0, v);
}

/** PUSH of `w` bytes: write below the stack pointer, then move it (a fault leaves it unchanged). */
export function push(st: CpuState, w: number, v: number): void {
  const sp = spPlus(st, getSp(st), -w);
  stackWrite(st, sp, w, v);
  setSp(st, sp);
}

/** POP of `w` bytes. */
export function pop(st: CpuState, w: number): number {
  const sp = getSp(st);
  const v = stackRead(st, sp, w);
  setSp(st, spPlus(st, sp, w));
  return v;
}

/** The `w`-byte slot `n` slots above the stack pointer, without popping. */
export function peek(st: CpuState, w: number, n: number): number {
  return stackRead(st, spPlus(st, getSp(st), n * w), w);
}

/** Near RET (C3, C2 imm16): pop the `w`-byte return IP, release `release` bytes; returns the new IP (Vol. 2 RET). */
export function retNear(st: CpuState, w: number, release: number): number {
  const sp = getSp(st);
  const ip = stackRead(st, sp, w);
  if (ip >>> 0 > st.segLimit[CS] >>> 0) raise(st, GP, 0);
  setSp(st, spPlus(st, sp, w + release));
  return ip;
}

/**
 * LEAVE (Vol. 2): the stack pointer takes (E)BP, then (E)BP is popped. A
 * frame pointer outside the stack segment is #SS(0), in real-address mode
 * #GP (Vol. 2 LEAVE, "Real-Address Mode Exceptions").
 */
export function leave(st: CpuState, w: number): void {
  const r = st.regs;
  const bp = stack32(st) ? r[EBP] >>> 0 : r[EBP] & 0xffff;
  if (outsideSeg(st, SS, bp, w)) raise(st, realSegs(st) ? GP : SS_VEC, 0);
  const v = stackRead(st, bp, w);
  setSp(st, spPlus(st, bp, w));
  setR(r, w >> 1, EBP, v);
}
