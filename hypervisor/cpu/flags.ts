// EFLAGS (SDM Vol. 1 §3.4.3) with lazy evaluation of the six arithmetic
// flags: an ALU instruction records its kind, operand size, operands and
// result in CpuState (lop, la, lb, lres); the flags are computed only when
// something reads them (Jcc, SETcc, PUSHF, ADC, ...). lop = 0 means the
// arithmetic flags in `fl` are current.
//
// Undefined flags follow this model (documented per DESIGN.md §7): logic ops
// clear AF; shifts and rotates by more than one set OF as the last one-bit
// step would (from CF and the result's top bits, as the 80286 does); MUL/IMUL
// leave SF/ZF/PF from the low half of the result and clear AF.
import type { CpuState } from "./state.js";

export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const TF = 0x100;
export const IF = 0x200;
export const DF = 0x400;
export const OF = 0x800;
export const IOPL = 0x3000;
export const NT = 0x4000;
export const RF = 0x10000;
export const VM = 0x20000;
export const AC = 0x40000;
export const VIF = 0x80000;
export const VIP = 0x100000;
export const ID = 0x200000;
export const ARITH = CF | PF | AF | ZF | SF | OF;
/** Bits a P6 lets software change; bit 1 reads as one (§3.4.3). */
export const WRITABLE = ARITH | TF | IF | DF | IOPL | NT | RF | VM | AC | VIF | VIP | ID;

// Lazy operation kinds; lop = kind << 2 | size (0 = byte, 1 = word, 2 = dword).
export const K_ADD = 1;
export const K_SUB = 2;
export const K_LOGIC = 3;
/** INC/DEC keep CF: its value before the instruction is held in lb. */
export const K_INC = 4;
export const K_DEC = 5;

export const MASK = [0xff, 0xffff, -1, 0];
export const SIGN = [0x80, 0x8000, 0x80000000 | 0, 0];

/** PARITY[b] = PF for a result whose low byte is b (set when the number of ones is even). */
export const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let ones = 0;
  for (let v = i; v !== 0; v >>= 1) ones += v & 1;
  PARITY[i] = ones & 1 ? 0 : PF;
}

/** The carry flag, without computing the others. */
export function getCF(st: CpuState): number {
  const op = st.lop;
  switch (op >> 2) {
    case 0:
      return st.fl & CF;
    case K_ADD: {
      const m = MASK[op & 3];
      return (st.lres & m) >>> 0 < (st.la & m) >>> 0 ? 1 : 0;
    }
    case K_SUB: {
      const m = MASK[op & 3];
      return (st.la & m) >>> 0 < (st.lb & m) >>> 0 ? 1 : 0;
    }
    case K_LOGIC:
      return 0;
    default:
      return st.lb & CF;
  }
}

/** The full EFLAGS value (bit 1 set). */
export function getFlags(st: CpuState): number {
  const op = st.lop;
  if (op === 0) return st.fl | 2;
  const size = op & 3;
  const m = MASK[size];
  const s = SIGN[size];
  const r = st.lres & m;
  const a = st.la;
  const b = st.lb;
  let f = (st.fl & ~ARITH) | 2 | PARITY[r & 0xff];
  if (r === 0) f |= ZF;
  if (r & s) f |= SF;
  switch (op >> 2) {
    case K_ADD:
      if (r >>> 0 < (a & m) >>> 0) f |= CF;
      if ((a ^ r) & (b ^ r) & s) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case K_SUB:
      if ((a & m) >>> 0 < (b & m) >>> 0) f |= CF;
      if ((a ^ b) & (a ^ r) & s) f |= OF;
      f |= (a ^ b ^ r) & AF;
      break;
    case K_INC:
      f |= b & CF;
      if (r === s) f |= OF;
      if ((r & 0xf) === 0) f |= AF;
      break;
    case K_DEC:
      f |= b & CF;
      if (r === ((s - 1) & m)) f |= OF;
      if ((r & 0xf) === 0xf) f |= AF;
      break;
  }
  st.fl = f;
  st.lop = 0;
  return f;
}

/** Replace EFLAGS bits selected by `mask` (the caller applies privilege rules). */
export function setFlags(st: CpuState, value: number, mask: number): void {
  st.fl = (getFlags(st) & ~mask) | (value & mask) | 2;
}

/** Condition code cc (the low nibble of Jcc/SETcc/CMOVcc, SDM Vol. 1 App. B). */
export function testCC(st: CpuState, cc: number): boolean {
  const op = st.lop;
  let t: boolean;
  if (op !== 0 && (cc & 0xc) === 4 && (cc & 0xe) !== 6) {
    // ZF (4/5) from the result alone
    t = (st.lres & MASK[op & 3]) === 0;
  } else if (op !== 0 && (cc & 0xe) === 8) {
    t = (st.lres & SIGN[op & 3]) !== 0;
  } else if (op !== 0 && (cc & 0xe) === 2) {
    t = getCF(st) !== 0;
  } else {
    const f = getFlags(st);
    switch (cc >> 1) {
      case 0:
        t = (f & OF) !== 0;
        break;
      case 1:
        t = (f & CF) !== 0;
        break;
      case 2:
        t = (f & ZF) !== 0;
        break;
      case 3:
        t = (f & (CF | ZF)) !== 0;
        break;
      case 4:
        t = (f & SF) !== 0;
        break;
      case 5:
        t = (f & PF) !== 0;
        break;
      case 6:
        t = ((f & SF) !== 0) !== ((f & OF) !== 0);
        break;
      default:
        t = (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0);
        break;
    }
  }
  return (cc & 1) === 0 ? t : !t;
}
