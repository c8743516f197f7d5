// Integer arithmetic (SDM Vol. 2 instruction pages for ADD..CMP, shifts and
// rotates, MUL/IMUL/DIV/IDIV, SHLD/SHRD). Results are computed by pure
// functions so the caller can store them before committing flags: a store
// that faults must leave EFLAGS unchanged (faults are precise, Vol. 3A §6.5).
import { DE, NO_ERROR, raise } from "./fault.js";
import { AF, ARITH, CF, getCF, getFlags, K_ADD, K_LOGIC, K_SUB, MASK, OF, PARITY, SF, SIGN, ZF } from "./flags.js";
import { type CpuState, EAX, EDX } from "./state.js";

// Group-1 operation numbers (ModR/M reg field of 80-83, bits 5:3 of 00-3D).
export const ADD = 0;
export const OR = 1;
export const ADC = 2;
export const SBB = 3;
export const AND = 4;
export const SUB = 5;
export const XOR = 6;
export const CMP = 7;

/** Result of group-1 operation `k` on size `s` operands (masked to the size). */
export function aluRes(k: number, s: number, a: number, b: number, cin: number): number {
  let r: number;
  switch (k) {
    case ADD:
      r = a + b;
      break;
    case OR:
      r = a | b;
      break;
    case ADC:
      r = a + b + cin;
      break;
    case SBB:
      r = a - b - cin;
      break;
    case AND:
      r = a & b;
      break;
    case XOR:
      r = a ^ b;
      break;
    default:
      r = a - b;
      break;
  }
  return r & MASK[s];
}

/** Record the flags of group-1 operation `k` (lazily, except ADC/SBB which need the carry-in). */
export function aluFlags(st: CpuState, k: number, s: number, a: number, b: number, r: number, cin: number): void {
  switch (k) {
    case ADD:
      st.lop = (K_ADD << 2) | s;
      break;
    case SUB:
    case CMP:
      st.lop = (K_SUB << 2) | s;
      break;
    case ADC:
    case SBB:
      carryFlags(st, k, s, a, b, r, cin);
      return;
    default:
      st.lop = (K_LOGIC << 2) | s;
      break;
  }
  st.la = a;
  st.lb = b;
  st.lres = r;
}

function carryFlags(st: CpuState, k: number, s: number, a: number, b: number, r: number, cin: number): void {
  const m = MASK[s];
  const sign = SIGN[s];
  const ua = (a & m) >>> 0;
  const ub = (b & m) >>> 0;
  const ur = (r & m) >>> 0;
  let f = (getFlags(st) & ~ARITH) | PARITY[ur & 0xff] | ((a ^ b ^ r) & AF);
  if (ur === 0) f |= ZF;
  if (r & sign) f |= SF;
  if (k === ADC) {
    if (ur < ua || (cin !== 0 && ur === ua)) f |= CF;
    if ((a ^ r) & (b ^ r) & sign) f |= OF;
  } else {
    if (ua < ub + cin) f |= CF;
    if ((a ^ b) & (a ^ r) & sign) f |= OF;
  }
  st.fl = f;
  st.lop = 0;
}

/** Flags of a result that sets SF/ZF/PF and clears CF/OF/AF, eagerly. */
export function logicFlags(st: CpuState, s: number, r: number): void {
  st.lop = (K_LOGIC << 2) | s;
  st.lres = r & MASK[s];
}

// ---- shifts and rotates (group 2: C0, C1, D0-D3) ----

/** Flags produced by the last shiftRes() call. */
export const shiftOut = { flags: 0 };

/**
 * Group-2 operation `k` (0 ROL, 1 ROR, 2 RCL, 3 RCR, 4 SHL, 5 SHR, 6 SAL,
 * 7 SAR) of `v` (size s) by `count` (already an 8-bit value). `fIn` is
 * EFLAGS before; the new EFLAGS goes to shiftOut.flags.
 */
export function shiftRes(k: number, s: number, v: number, count: number, fIn: number): number {
  const cnt = count & 0x1f;
  const bits = 8 << s;
  const m = MASK[s];
  const sign = SIGN[s];
  v &= m;
  shiftOut.flags = fIn;
  if (cnt === 0) return v;
  let r: number;
  let cf: number;
  let of: number;
  let f = fIn;
  switch (k) {
    case 0: {
      const c = cnt % bits;
      r = c === 0 ? v : ((v << c) | (v >>> (bits - c))) & m;
      cf = r & 1;
      of = (r & sign ? 1 : 0) ^ cf;
      shiftOut.flags = (f & ~(CF | OF)) | cf | (of ? OF : 0);
      return r;
    }
    case 1: {
      const c = cnt % bits;
      r = c === 0 ? v : ((v >>> c) | (v << (bits - c))) & m;
      cf = r & sign ? 1 : 0;
      of = cf ^ ((r << 1) & sign ? 1 : 0);
      shiftOut.flags = (f & ~(CF | OF)) | cf | (of ? OF : 0);
      return r;
    }
    case 2:
    case 3: {
      let c = s === 2 ? cnt : cnt % (bits + 1);
      r = v;
      cf = fIn & CF;
      while (c-- > 0) {
        if (k === 2) {
          const out = r & sign ? 1 : 0;
          r = ((r << 1) | cf) & m;
          cf = out;
        } else {
          const out = r & 1;
          r = ((r >>> 1) | (cf ? sign : 0)) & m;
          cf = out;
        }
      }
      // OF as the last single-bit step defines it (for RCR: the two top result bits differ).
      of = k === 2 ? (r & sign ? 1 : 0) ^ cf : (r ^ (r << 1)) & sign ? 1 : 0;
      shiftOut.flags = (f & ~(CF | OF)) | cf | (of ? OF : 0);
      return r;
    }
    case 4:
    case 6:
      r = cnt < 32 ? (v << cnt) & m : 0;
      cf = cnt <= bits ? (v >>> (bits - cnt)) & 1 : 0;
      of = (r & sign ? 1 : 0) ^ cf;
      break;
    case 5:
      r = v >>> cnt;
      cf = cnt <= bits ? (v >>> (cnt - 1)) & 1 : 0;
      // The top two result bits differ: the original sign for a count of 1 (defined), as the last step leaves it otherwise.
      of = (r ^ (r << 1)) & sign ? 1 : 0;
      break;
    default: {
      const sv = (v << (32 - bits)) >> (32 - bits);
      r = (sv >> Math.min(cnt, 31)) & m;
      cf = (sv >> Math.min(cnt - 1, 31)) & 1;
      of = 0;
      break;
    }
  }
  f = (f & ~ARITH) | cf | (of ? OF : 0) | PARITY[r & 0xff];
  if (r === 0) f |= ZF;
  if (r & sign) f |= SF;
  shiftOut.flags = f;
  return r;
}

/** SHLD (left = true) / SHRD of `dst` with bits from `src`, size s (1 or 2), count & 31. */
export function doubleShift(left: boolean, s: number, dst: number, src: number, count: number, fIn: number): number {
  const cnt = count & 0x1f;
  shiftOut.flags = fIn;
  if (cnt === 0) return dst;
  const m = MASK[s];
  const sign = SIGN[s];
  let r: number;
  let cf: number;
  if (s === 2) {
    if (left) {
      r = (dst << cnt) | (src >>> (32 - cnt));
      cf = (dst >>> (32 - cnt)) & 1;
    } else {
      r = (dst >>> cnt) | (src << (32 - cnt));
      cf = (dst >>> (cnt - 1)) & 1;
    }
  } else {
    // 16-bit: shift the 32-bit concatenation dst:src (counts above 16 give undefined results).
    const cat = left ? ((dst & 0xffff) << 16) | (src & 0xffff) : ((src & 0xffff) << 16) | (dst & 0xffff);
    if (left) {
      r = (cat << cnt) >>> 16;
      cf = (cat >>> (32 - cnt)) & 1;
    } else {
      r = cat >>> cnt;
      cf = (cat >>> (cnt - 1)) & 1;
    }
  }
  r &= m;
  let f = (fIn & ~ARITH) | cf | PARITY[r & 0xff];
  if (((r ^ dst) & sign) !== 0) f |= OF;
  if (r === 0) f |= ZF;
  if (r & sign) f |= SF;
  shiftOut.flags = f;
  return r;
}

// ---- multiplication and division (F6/F7 /4-/7, 0F AF, 69, 6B) ----

/** High and low halves of the last 32x32 product. */
export const mulOut = { lo: 0, hi: 0 };

/** Unsigned 32x32 -> 64 product into mulOut (exact: 16-bit limbs). */
export function mulU32(a: number, b: number): void {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const p00 = a0 * b0;
  const mid = a1 * b0 + a0 * b1 + (p00 >>> 16);
  mulOut.lo = (mid << 16) | (p00 & 0xffff) | 0;
  mulOut.hi = (a1 * b1 + Math.floor(mid / 65536)) | 0;
}

/** Signed 32x32 -> 64 product into mulOut. */
export function mulS32(a: number, b: number): void {
  mulU32(a, b);
  let hi = mulOut.hi;
  if (a < 0) hi -= b;
  if (b < 0) hi -= a;
  mulOut.hi = hi | 0;
}

/** CF = OF = `overflow`; SF/ZF/PF from the low result, AF clear (this model's choice for the undefined ones). */
function mulFlags(st: CpuState, s: number, low: number, overflow: boolean): void {
  const r = low & MASK[s];
  let f = (getFlags(st) & ~ARITH) | PARITY[r & 0xff];
  if (overflow) f |= CF | OF;
  if (r === 0) f |= ZF;
  if (r & SIGN[s]) f |= SF;
  st.fl = f;
  st.lop = 0;
}

/** IMUL with a truncated result (two- and three-operand forms): returns the result. */
export function imulTrunc(st: CpuState, s: number, a: number, b: number): number {
  if (s === 2) {
    mulS32(a, b);
    mulFlags(st, 2, mulOut.lo, mulOut.hi !== mulOut.lo >> 31);
    return mulOut.lo;
  }
  const p = ((a << 16) >> 16) * ((b << 16) >> 16);
  mulFlags(st, 1, p, p !== (p << 16) >> 16);
  return p & 0xffff;
}

/** MUL (signed = false) / IMUL one-operand: AX / DX:AX / EDX:EAX = accumulator * src. */
export function mulAcc(st: CpuState, s: number, src: number, signed: boolean): void {
  const r = st.regs;
  if (s === 0) {
    const p = signed ? ((r[EAX] << 24) >> 24) * ((src << 24) >> 24) : (r[EAX] & 0xff) * (src & 0xff);
    r[EAX] = (r[EAX] & ~0xffff) | (p & 0xffff);
    mulFlags(st, 0, p, signed ? p !== (p << 24) >> 24 : (p & 0xff00) !== 0);
  } else if (s === 1) {
    const p = signed ? ((r[EAX] << 16) >> 16) * ((src << 16) >> 16) : (r[EAX] & 0xffff) * (src & 0xffff);
    r[EAX] = (r[EAX] & ~0xffff) | (p & 0xffff);
    r[EDX] = (r[EDX] & ~0xffff) | ((p >>> 16) & 0xffff);
    mulFlags(st, 1, p, signed ? p !== (p << 16) >> 16 : (p & 0xffff0000) !== 0);
  } else {
    if (signed) mulS32(r[EAX], src);
    else mulU32(r[EAX], src);
    r[EAX] = mulOut.lo;
    r[EDX] = mulOut.hi;
    mulFlags(st, 2, mulOut.lo, signed ? mulOut.hi !== mulOut.lo >> 31 : mulOut.hi !== 0);
  }
}

/** Unsigned (hi:lo) / d with hi < d, all 32-bit unsigned: quotient and remainder into mulOut (lo, hi). */
function divU64(hi: number, lo: number, d: number): void {
  let rem = hi;
  const n1 = rem * 65536 + (lo >>> 16);
  const q1 = Math.floor(n1 / d);
  rem = n1 - q1 * d;
  const n0 = rem * 65536 + (lo & 0xffff);
  const q0 = Math.floor(n0 / d);
  rem = n0 - q0 * d;
  mulOut.lo = (q1 * 65536 + q0) | 0;
  mulOut.hi = rem | 0;
}

/** DIV / IDIV: #DE on a zero divisor or a quotient that does not fit (SDM Vol. 2 DIV, IDIV). Flags unchanged. */
export function divAcc(st: CpuState, s: number, src: number, signed: boolean): void {
  const r = st.regs;
  if (s === 0) {
    const d = signed ? (src << 24) >> 24 : src & 0xff;
    if (d === 0) raise(st, DE, NO_ERROR);
    const n = signed ? (r[EAX] << 16) >> 16 : r[EAX] & 0xffff;
    const q = Math.trunc(n / d);
    if (signed ? q > 127 || q < -128 : q > 255) raise(st, DE, NO_ERROR);
    const rem = n - q * d;
    r[EAX] = (r[EAX] & ~0xffff) | ((rem & 0xff) << 8) | (q & 0xff);
  } else if (s === 1) {
    const d = signed ? (src << 16) >> 16 : src & 0xffff;
    if (d === 0) raise(st, DE, NO_ERROR);
    const raw = ((r[EDX] & 0xffff) << 16) | (r[EAX] & 0xffff);
    const n = signed ? raw : raw >>> 0;
    const q = Math.trunc(n / d);
    if (signed ? q > 32767 || q < -32768 : q > 65535) raise(st, DE, NO_ERROR);
    const rem = n - q * d;
    r[EAX] = (r[EAX] & ~0xffff) | (q & 0xffff);
    r[EDX] = (r[EDX] & ~0xffff) | (rem & 0xffff);
  } else {
    divide64(st, src, signed);
  }
}

function divide64(st: CpuState, src: number, signed: boolean): void {
  const r = st.regs;
  if (src === 0) raise(st, DE, NO_ERROR);
  let hi = r[EDX] >>> 0;
  let lo = r[EAX] >>> 0;
  let d = src >>> 0;
  const negN = signed && (r[EDX] | 0) < 0;
  const negD = signed && (src | 0) < 0;
  if (negN) {
    // two's-complement negation of hi:lo
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  if (negD) d = -(src | 0) >>> 0;
  if (hi >= d) raise(st, DE, NO_ERROR);
  divU64(hi, lo, d);
  let q = mulOut.lo >>> 0;
  let rem = mulOut.hi >>> 0;
  if (signed) {
    const neg = negN !== negD;
    if (neg ? q > 0x80000000 : q > 0x7fffffff) raise(st, DE, NO_ERROR);
    if (neg) q = -q;
    if (negN) rem = -rem;
  }
  r[EAX] = q | 0;
  r[EDX] = rem | 0;
}

export { getCF };
