// Bit test/scan, double shifts and the locked-update instructions (SDM Vol.
// 2: BT/BTS/BTR/BTC, BSF/BSR, SHLD/SHRD, CMPXCHG, CMPXCHG8B, XADD). Undefined
// flags: BT* change only CF; BSF/BSR change only ZF and leave the
// destination unchanged for a zero source (as P6 and later processors do).
import { aluFlags, aluRes, doubleShift, SUB, shiftOut } from "./alu.js";
import { ud } from "./fault.js";
import { CF, getFlags, K_ADD, MASK, ZF } from "./flags.js";
import { getR, type Insn, imm8, needMem, readRM, setR, writeRM } from "./insn.js";
import { rd32, rdS, wr32, wrS } from "./memory.js";
import { type CpuState, EAX, EBX, ECX, EDX } from "./state.js";

/** BT/BTS/BTR/BTC with a register or imm8 bit offset. */
export function bitOp(st: CpuState, i: Insn): void {
  const s = i.o16 ? 1 : 2;
  const bits = s === 1 ? 16 : 32;
  let kind: number;
  let offset: number;
  if (i.op === 0x1ba) {
    if (i.reg < 4) ud(st);
    kind = i.reg - 4;
    offset = imm8(i) & (bits - 1);
  } else {
    kind = i.op === 0x1a3 ? 0 : i.op === 0x1ab ? 1 : i.op === 0x1b3 ? 2 : 3;
    offset = getR(st.regs, s, i.reg);
    if (s === 1) offset = (offset << 16) >> 16;
  }
  let lin = i.ea;
  if (i.rmr < 0 && i.op !== 0x1ba) {
    // A register bit offset addresses memory beyond the operand (signed, in operand-size units).
    lin = (lin + (offset >> (s === 1 ? 4 : 5)) * (bits >> 3)) | 0;
  }
  const bit = offset & (bits - 1);
  const v = i.rmr >= 0 ? getR(st.regs, s, i.rmr) : rdS(st.mem, s, lin);
  const cf = (v >>> bit) & 1;
  if (kind !== 0) {
    const nv = kind === 1 ? v | (1 << bit) : kind === 2 ? v & ~(1 << bit) : v ^ (1 << bit);
    if (i.rmr >= 0) setR(st.regs, s, i.rmr, nv);
    else wrS(st.mem, s, lin, nv);
  }
  st.fl = (getFlags(st) & ~CF) | cf;
}

/** BSF (0F BC) / BSR (0F BD). */
export function bitScan(st: CpuState, i: Insn): void {
  const s = i.o16 ? 1 : 2;
  const v = readRM(st, i, s) & MASK[s];
  const f = getFlags(st);
  if (v === 0) {
    st.fl = f | ZF;
    return;
  }
  const n = i.op === 0x1bc ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
  setR(st.regs, s, i.reg, n);
  st.fl = f & ~ZF;
}

/** SHLD (0F A4 imm8, A5 CL) / SHRD (0F AC, AD). */
export function doubleShiftOp(st: CpuState, i: Insn): void {
  const s = i.o16 ? 1 : 2;
  const cnt = i.op === 0x1a4 || i.op === 0x1ac ? imm8(i) : st.regs[ECX] & 0xff;
  if ((cnt & 31) === 0) return;
  const dst = readRM(st, i, s);
  const res = doubleShift(i.op < 0x1a8, s, dst, getR(st.regs, s, i.reg), cnt, getFlags(st));
  writeRM(st, i, s, res);
  st.fl = shiftOut.flags;
  st.lop = 0;
}

/** CMPXCHG r/m, r: compare with the accumulator (the destination is written either way, Vol. 2). */
export function cmpxchg(st: CpuState, i: Insn): void {
  const s = i.op === 0x1b0 ? 0 : i.o16 ? 1 : 2;
  const dst = readRM(st, i, s);
  const acc = getR(st.regs, s, EAX);
  const res = aluRes(SUB, s, acc, dst, 0);
  if (res === 0) writeRM(st, i, s, getR(st.regs, s, i.reg));
  else {
    writeRM(st, i, s, dst);
    setR(st.regs, s, EAX, dst);
  }
  aluFlags(st, SUB, s, acc, dst, res, 0);
}

/** XADD r/m, r. */
export function xadd(st: CpuState, i: Insn): void {
  const s = i.op === 0x1c0 ? 0 : i.o16 ? 1 : 2;
  const dst = readRM(st, i, s);
  const src = getR(st.regs, s, i.reg);
  const sum = (dst + src) & MASK[s];
  writeRM(st, i, s, sum);
  setR(st.regs, s, i.reg, dst);
  st.la = dst;
  st.lb = src;
  st.lres = sum;
  st.lop = (K_ADD << 2) | s;
}

/** CMPXCHG8B m64. */
export function cmpxchg8b(st: CpuState, i: Insn): void {
  needMem(st, i);
  const r = st.regs;
  const m = st.mem;
  const lo = rd32(m, i.ea);
  const hi = rd32(m, (i.ea + 4) | 0);
  const f = getFlags(st);
  if (lo === r[EAX] && hi === r[EDX]) {
    wr32(m, i.ea, r[EBX]);
    wr32(m, (i.ea + 4) | 0, r[ECX]);
    st.fl = f | ZF;
  } else {
    wr32(m, i.ea, lo);
    wr32(m, (i.ea + 4) | 0, hi);
    r[EAX] = lo;
    r[EDX] = hi;
    st.fl = f & ~ZF;
  }
}
