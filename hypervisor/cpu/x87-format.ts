// The x87 data formats in memory (SDM Vol. 1 §4.2.1-4.2.2, Table 4-3;
// §8.2): single, double and double-extended real, and their conversion to
// and from the double each x87.ts register holds. A double-extended load
// rounds its 64-bit significand to 53 bits (to nearest); a store encodes the
// double exactly. Every NaN is written as the QNaN floating-point indefinite
// (§4.8.3.7), since a JS number keeps neither a NaN's sign nor its payload.
import { probeWrite, rd16, rd32, wr16, wr32 } from "./memory.js";
import type { CpuState } from "./state.js";

const scratch = new DataView(new ArrayBuffer(8));
export const TWO32 = 4294967296;

export function loadF32(st: CpuState, lin: number): number {
  scratch.setInt32(0, rd32(st.mem, lin), true);
  return scratch.getFloat32(0, true);
}

export function loadF64(st: CpuState, lin: number): number {
  scratch.setInt32(0, rd32(st.mem, lin), true);
  scratch.setInt32(4, rd32(st.mem, (lin + 4) | 0), true);
  return scratch.getFloat64(0, true);
}

/** Double-extended to double: exponent bias 16383, explicit integer bit (§4.2.2). */
export function f80ToNumber(lo: number, hi: number, se: number): number {
  const sign = se & 0x8000 ? -1 : 1;
  const e = se & 0x7fff;
  const m = (hi >>> 0) * TWO32 + (lo >>> 0);
  if (e === 0x7fff) return (hi & 0x7fffffff) === 0 && lo === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  if (m === 0) return sign * 0;
  return sign * scale2(m, (e === 0 ? 1 : e) - 16383 - 63);
}

/** m * 2^e without overflowing the intermediate power. */
export function scale2(m: number, e: number): number {
  while (e > 1000) {
    m *= 2 ** 1000;
    e -= 1000;
  }
  while (e < -1000) {
    m *= 2 ** -1000;
    e += 1000;
  }
  return m * 2 ** e;
}

/** The 80-bit encoding of a double into out[0] (low mantissa), out[1] (high mantissa), out[2] (sign and exponent). */
export function numberToF80(v: number, out: Int32Array): void {
  scratch.setFloat64(0, v, true);
  const lo = scratch.getUint32(0, true);
  const hi = scratch.getUint32(4, true);
  const sign = hi & 0x80000000 ? 0x8000 : 0;
  const e = (hi >>> 20) & 0x7ff;
  let fhi = hi & 0xfffff;
  let flo = lo;
  if (e === 0x7ff) {
    // Infinity: the integer bit only; any NaN: the indefinite, FFFF C0000000 00000000 (see INDEFINITE).
    const nan = fhi !== 0 || flo !== 0;
    out[1] = nan ? 0xc0000000 | 0 : 0x80000000 | 0;
    out[0] = 0;
    out[2] = nan ? 0xffff : sign | 0x7fff;
    return;
  }
  let exp = e - 1023 + 16383;
  if (e === 0) {
    if (fhi === 0 && flo === 0) {
      out[0] = out[1] = 0;
      out[2] = sign;
      return;
    }
    // A double denormal is a normal double-extended: shift its fraction up to the integer bit.
    exp = 1 - 1023 + 16383;
    while ((fhi & 0x100000) === 0) {
      fhi = (fhi << 1) | (flo >>> 31);
      flo = flo << 1;
      exp--;
    }
    fhi &= 0xfffff;
  }
  out[1] = 0x80000000 | (fhi << 11) | (flo >>> 21) | 0;
  out[0] = flo << 11;
  out[2] = sign | exp;
}

const f80 = new Int32Array(3);

export function loadF80(st: CpuState, lin: number): number {
  return f80ToNumber(rd32(st.mem, lin), rd32(st.mem, (lin + 4) | 0), rd16(st.mem, (lin + 8) | 0));
}

export function storeF80(st: CpuState, lin: number, v: number): void {
  probeWrite(st.mem, lin, 10);
  numberToF80(v, f80);
  wr32(st.mem, lin, f80[0]);
  wr32(st.mem, (lin + 4) | 0, f80[1]);
  wr16(st.mem, (lin + 8) | 0, f80[2]);
}

export function storeF32(st: CpuState, lin: number, v: number): void {
  scratch.setFloat32(0, v, true);
  wr32(st.mem, lin, Number.isNaN(v) ? 0xffc00000 : scratch.getInt32(0, true));
}

export function storeF64(st: CpuState, lin: number, v: number): void {
  probeWrite(st.mem, lin, 8);
  scratch.setFloat64(0, v, true);
  wr32(st.mem, lin, Number.isNaN(v) ? 0 : scratch.getInt32(0, true));
  wr32(st.mem, (lin + 4) | 0, Number.isNaN(v) ? 0xfff80000 : scratch.getInt32(4, true));
}

export function loadI64(st: CpuState, lin: number): number {
  return rd32(st.mem, (lin + 4) | 0) * TWO32 + (rd32(st.mem, lin) >>> 0);
}

/** Round to an integer by the control word's RC field (§4.8.4, Table 4-8). */
export function roundRc(cw: number, v: number): number {
  switch ((cw >> 10) & 3) {
    case 0: {
      // Round to nearest, ties to even.
      const fl = Math.floor(v);
      const d = v - fl;
      if (d > 0.5) return fl + 1;
      if (d < 0.5) return fl;
      return fl % 2 === 0 ? fl : fl + 1;
    }
    case 1:
      return Math.floor(v);
    case 2:
      return Math.ceil(v);
    default:
      return Math.trunc(v);
  }
}
