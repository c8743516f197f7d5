// The decoded parts of the instruction being executed, handed from the
// interpreter's fast decode to the out-of-line handlers (one preallocated
// object, filled only when an instruction leaves the hot switch).
import { ud } from "./fault.js";
import { MASK } from "./flags.js";
import { rdS, wrS } from "./memory.js";
import type { CpuState } from "./state.js";

export class Insn {
  /** Opcode: 0x000-0x0FF, 0x100-0x1FF for 0F xx. */
  op = 0;
  buf: Uint8Array = new Uint8Array(16);
  /** Decode position in buf (after the ModR/M operand, before immediates). */
  p = 0;
  o16 = false;
  a16 = false;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep = 0;
  /** Segment override (ES..GS) or -1. */
  seg = -1;
  modrm = 0;
  reg = 0;
  /** Register number of a mod = 3 operand, -1 for memory. */
  rmr = -1;
  /** Linear address and offset of a memory operand. */
  ea = 0;
  off = 0;
}

export function imm8(i: Insn): number {
  return i.buf[i.p++];
}

export function imm16(i: Insn): number {
  const v = i.buf[i.p] | (i.buf[i.p + 1] << 8);
  i.p += 2;
  return v;
}

export function imm32(i: Insn): number {
  const b = i.buf;
  const p = i.p;
  i.p += 4;
  return b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24);
}

/** An immediate of the operand size (16 or 32 bits). */
export function immZ(i: Insn): number {
  return i.o16 ? imm16(i) : imm32(i);
}

/** Operand size code: 1 (16-bit) or 2 (32-bit). */
export function osz(i: Insn): number {
  return i.o16 ? 1 : 2;
}

/** EIP of the next instruction. */
export function nextEip(st: CpuState, i: Insn): number {
  return (st.ip0 + i.p - st.p0) | 0;
}

/** Length of the current instruction so far. */
export function insnLen(st: CpuState, i: Insn): number {
  return i.p - st.p0;
}

export function getR(r: Int32Array, s: number, n: number): number {
  if (s === 2) return r[n];
  if (s === 1) return r[n] & 0xffff;
  return n < 4 ? r[n] & 0xff : (r[n - 4] >> 8) & 0xff;
}

export function setR(r: Int32Array, s: number, n: number, v: number): void {
  if (s === 2) r[n] = v;
  else if (s === 1) r[n] = (r[n] & ~0xffff) | (v & 0xffff);
  else if (n < 4) r[n] = (r[n] & ~0xff) | (v & 0xff);
  else r[n - 4] = (r[n - 4] & ~0xff00) | ((v & 0xff) << 8);
}

export function readRM(st: CpuState, i: Insn, s: number): number {
  return i.rmr >= 0 ? getR(st.regs, s, i.rmr) : rdS(st.mem, s, i.ea) & MASK[s];
}

export function writeRM(st: CpuState, i: Insn, s: number, v: number): void {
  if (i.rmr >= 0) setR(st.regs, s, i.rmr, v);
  else wrS(st.mem, s, i.ea, v);
}

/** The instruction needs a memory operand (LEA, LGDT, far pointers ...): mod = 3 is #UD. */
export function needMem(st: CpuState, i: Insn): void {
  if (i.rmr >= 0) ud(st);
}

/** Status of an out-of-line instruction handler. */
export const STATUS_CONTINUE = 0;
/** Retired; return to the instruction-boundary checks (IF/blocking changed, HLT, ...). */
export const STATUS_BOUNDARY = 1;
/** A VM exit instead of executing: not retired, EIP at the instruction (st.exit* set). */
export const STATUS_EXIT = 2;

/** An instruction-caused VM exit (§27.1: EIP stays at the instruction; the VMM adds the length). */
export function insnExit(st: CpuState, i: Insn, reason: number, qual: number): number {
  st.exitReason = reason;
  st.exitQual = qual >>> 0;
  st.exitInsnLen = i.p - st.p0;
  st.eip = st.ip0;
  return STATUS_EXIT;
}

/** Index of the ModR/M byte of the current instruction in i.buf (after prefixes and opcode bytes). */
export function modrmPos(st: CpuState, i: Insn): number {
  let q = st.p0;
  const b = i.buf;
  while (
    q - st.p0 < 14 &&
    (b[q] === 0x66 ||
      b[q] === 0x67 ||
      b[q] === 0xf0 ||
      b[q] === 0xf2 ||
      b[q] === 0xf3 ||
      b[q] === 0x26 ||
      b[q] === 0x2e ||
      b[q] === 0x36 ||
      b[q] === 0x3e ||
      b[q] === 0x64 ||
      b[q] === 0x65)
  )
    q++;
  if (b[q] === 0x0f) {
    q++;
    if (b[q] === 0x38 || b[q] === 0x3a) q++;
  }
  return q + 1;
}

/**
 * VM-exit instruction information for a memory or register operand (SDM
 * Vol. 3C §27.2.5, Tables 27-10/11/13/14: scaling 1:0, address size 9:7,
 * mem/reg 10, segment 17:15, index 21:18 (+ invalid 22), base 26:23
 * (+ invalid 27)); `dispOut.v` receives the displacement (the exit
 * qualification of these exits).
 */
export const dispOut = { v: 0 };
export function operandInfo(st: CpuState, i: Insn): number {
  const b = i.buf;
  let q = modrmPos(st, i);
  const modrm = b[q++];
  const mod = modrm >> 6;
  const rm = modrm & 7;
  dispOut.v = 0;
  if (mod === 3) return (1 << 10) | (rm << 3);
  let info = (i.a16 ? 0 : 1) << 7;
  let base = -1;
  let index = -1;
  let scale = 0;
  let seg = 3;
  if (i.a16) {
    const bases = [3, 3, 5, 5, 6, 7, 5, 3];
    const idx = [6, 7, 6, 7, -1, -1, -1, -1];
    base = rm === 6 && mod === 0 ? -1 : rm < 4 ? bases[rm] : bases[rm];
    index = idx[rm];
    if (rm === 2 || rm === 3 || (rm === 6 && mod !== 0)) seg = 2;
    if (rm === 6 && mod === 0) dispOut.v = b[q] | (b[q + 1] << 8);
    else if (mod === 1) dispOut.v = (b[q] << 24) >> 24;
    else if (mod === 2) dispOut.v = b[q] | (b[q + 1] << 8);
  } else {
    if (rm === 4) {
      const sib = b[q++];
      scale = sib >> 6;
      index = ((sib >> 3) & 7) === 4 ? -1 : (sib >> 3) & 7;
      base = (sib & 7) === 5 && mod === 0 ? -1 : sib & 7;
      if ((sib & 7) === 5 && mod === 0) dispOut.v = b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24);
    } else base = rm === 5 && mod === 0 ? -1 : rm;
    if (base === 4 || base === 5) seg = 2;
    if (rm === 5 && mod === 0) dispOut.v = b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24);
    else if (mod === 1) dispOut.v = (b[q] << 24) >> 24;
    else if (mod === 2) dispOut.v = b[q] | (b[q + 1] << 8) | (b[q + 2] << 16) | (b[q + 3] << 24);
  }
  if (i.seg >= 0) seg = i.seg;
  info |= scale | (seg << 15);
  info |= index < 0 ? 1 << 22 : index << 18;
  info |= base < 0 ? 1 << 27 : base << 23;
  return info >>> 0;
}
