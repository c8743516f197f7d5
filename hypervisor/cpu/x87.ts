// The x87 FPU instructions, escape opcodes D8-DF (SDM Vol. 1 ch. 8, Vol. 2
// instruction pages, Vol. 2 Table A-7..A-22 "x87 FPU opcode maps").
//
// Model (documented, as the SDM leaves the precision to PC and this one
// does not follow it): values are IEEE doubles, so arithmetic rounds to 53
// bits whatever the precision control says; 80-bit loads round to double,
// 80-bit stores are exact encodings of the double. Rounding control applies
// to integer stores and FRNDINT; arithmetic always rounds to nearest.
// Exceptions: invalid operation (IE, with stack fault SF and C1), zero
// divide (ZE), overflow (OE, at the double range of arithmetic results);
// denormal, underflow and precision (PE) are not raised, and C1 never says
// "rounded up". A masked exception gives the SDM's masked response (QNaN real
// indefinite, integer indefinite, signed infinity); an unmasked one leaves
// the destination unchanged and sets ES and B, and the next waiting x87
// instruction raises #MF when CR0.NE = 1 (§8.7: with NE = 0 the external
// FERR#/IRQ 13 path is not modelled).
import { MF, NM, NO_ERROR, raise, ud } from "./fault.js";
import { CF, getFlags, PF, setFlags, ZF } from "./flags.js";
import { type Insn, nextEip, STATUS_CONTINUE } from "./insn.js";
import { probeWrite, rd16, rd32, wr16, wr32 } from "./memory.js";
import { type CpuState, CR0_EM, CR0_MP, CR0_NE, CR0_PE, CR0_TS, CS, DS, EAX } from "./state.js";
import {
  loadF32,
  loadF64,
  loadF80,
  loadI64,
  roundRc,
  scale2,
  storeF32,
  storeF64,
  storeF80,
  TWO32,
} from "./x87-format.js";
import type { X87State } from "./x87-state.js";

// Status word bits (§8.1.3).
export const SW_IE = 0x01;
export const SW_ZE = 0x04;
export const SW_OE = 0x08;
export const SW_SF = 0x40;
export const SW_ES = 0x80;
export const SW_C0 = 0x100;
export const SW_C1 = 0x200;
export const SW_C2 = 0x400;
export const SW_C3 = 0x4000;
export const SW_B = 0x8000;
const COND = SW_C0 | SW_C1 | SW_C2 | SW_C3;
const EXC = 0x3f;

/**
 * §4.8.3.7: the QNaN floating-point indefinite (negative, top fraction bit).
 * JS numbers do not keep a NaN's sign or payload, so every NaN is stored as
 * the indefinite (a NaN operand's payload is not propagated).
 */
const INDEFINITE = Number.NaN;

// ---- the register stack (§8.1.2) ----

function phys(f: X87State, i: number): number {
  return (f.top + i) & 7;
}

/**
 * Raise exception flag(s) `flag` (IE/ZE, plus SF for stack faults);
 * true when masked, so the caller stores the masked response (§8.5).
 */
function signal(f: X87State, flag: number): boolean {
  f.sw |= flag;
  if ((flag & EXC & ~SW_SF & ~f.cw) !== 0) {
    f.sw |= SW_ES | SW_B;
    return false;
  }
  return true;
}

/** ST(i), or the masked response to a stack underflow (§8.5.1.1: IE, SF, C1 = 0). */
function get(f: X87State, i: number): number {
  const p = phys(f, i);
  if (f.empty & (1 << p)) {
    f.sw &= ~SW_C1;
    signal(f, SW_IE | SW_SF);
    return INDEFINITE;
  }
  return f.r[p];
}

/** True when ST(i) is empty: a stack underflow (for instructions that must then store nothing). */
function underflow(f: X87State, i: number): boolean {
  if ((f.empty & (1 << phys(f, i))) === 0) return false;
  f.sw &= ~SW_C1;
  return !signal(f, SW_IE | SW_SF);
}

function set(f: X87State, i: number, v: number): void {
  const p = phys(f, i);
  f.r[p] = v;
  f.empty &= ~(1 << p);
}

/** Push: an occupied new top is a stack overflow (§8.5.1.1: IE, SF, C1 = 1; masked: indefinite). */
function push(f: X87State, v: number): void {
  const t = (f.top - 1) & 7;
  if ((f.empty & (1 << t)) === 0) {
    f.sw |= SW_C1;
    if (!signal(f, SW_IE | SW_SF)) return;
    v = INDEFINITE;
  }
  f.top = t;
  f.r[t] = v;
  f.empty &= ~(1 << t);
}

function pop(f: X87State): void {
  f.empty |= 1 << f.top;
  f.top = (f.top + 1) & 7;
}

/**
 * FIST/FISTP of `bytes` (2, 4, 8): out of range or NaN is IE, masked
 * response the integer indefinite (§4.8.3.7: the most negative value).
 * Returns false when nothing may be stored (unmasked IE).
 */
function storeInt(st: CpuState, f: X87State, lin: number, bytes: number, v: number): boolean {
  const n = roundRc(f.cw, v);
  const lim = 2 ** (bytes * 8 - 1);
  let out = n;
  if (!(n >= -lim && n < lim)) {
    if (!signal(f, SW_IE)) return false;
    out = -lim;
  }
  if (bytes === 2) wr16(st.mem, lin, out);
  else if (bytes === 4) wr32(st.mem, lin, out);
  else {
    probeWrite(st.mem, lin, 8);
    const hi = Math.floor(out / TWO32);
    wr32(st.mem, lin, out - hi * TWO32);
    wr32(st.mem, (lin + 4) | 0, hi);
  }
  return true;
}

/** FBLD: 18 packed BCD digits and a sign byte (§4.7). */
function loadBcd(st: CpuState, lin: number): number {
  let v = 0;
  for (let k = 8; k >= 0; k--) {
    const b = rd16(st.mem, (lin + k) | 0) & 0xff;
    v = v * 100 + (b >> 4) * 10 + (b & 15);
  }
  return rd16(st.mem, (lin + 9) | 0) & 0x80 ? -v : v;
}

/** FBSTP: out of range is IE, masked response the packed BCD indefinite (FFFFC000000000000000H). */
function storeBcd(st: CpuState, f: X87State, lin: number, v: number): boolean {
  const n = roundRc(f.cw, v);
  probeWrite(st.mem, lin, 10);
  if (!(Math.abs(n) < 1e18)) {
    if (!signal(f, SW_IE)) return false;
    for (let k = 0; k < 7; k++) wr16(st.mem, (lin + k) | 0, 0);
    wr16(st.mem, (lin + 7) | 0, 0xc000);
    wr16(st.mem, (lin + 8) | 0, 0xffff);
    return true;
  }
  let a = Math.abs(n);
  for (let k = 0; k < 9; k++) {
    const two = a % 100;
    a = Math.floor(a / 100);
    wr16(st.mem, (lin + k) | 0, (Math.floor(two / 10) << 4) | (two % 10));
  }
  wr16(st.mem, (lin + 9) | 0, n < 0 || Object.is(n, -0) ? 0x80 : 0);
  return true;
}

// ---- arithmetic (§8.3) ----

/** dst op src for the eight D8/DC/DA/DE arithmetic forms (reg field 0-7; 2/3 compare, handled by the caller). */
function arith(f: X87State, op: number, a: number, b: number): number {
  const v = arithExact(f, op, a, b);
  // Overflow (§8.5.4), at the double range this model computes in; a zero divide is not one.
  const divisor = op === 6 ? b : op === 7 ? a : 1;
  if (!Number.isFinite(v) && !Number.isNaN(v) && Number.isFinite(a) && Number.isFinite(b) && divisor !== 0)
    signal(f, SW_OE);
  return v;
}

function arithExact(f: X87State, op: number, a: number, b: number): number {
  switch (op) {
    case 0:
      if (a === -b && !Number.isFinite(a) && !Number.isNaN(a)) return invalid(f);
      return a + b;
    case 1:
      if ((a === 0 && !Number.isFinite(b) && !Number.isNaN(b)) || (b === 0 && !Number.isFinite(a) && !Number.isNaN(a)))
        return invalid(f);
      return a * b;
    case 4:
      if (a === b && !Number.isFinite(a) && !Number.isNaN(a)) return invalid(f);
      return a - b;
    case 5:
      if (a === b && !Number.isFinite(a) && !Number.isNaN(a)) return invalid(f);
      return b - a;
    case 6:
      return divide(f, a, b);
    default:
      return divide(f, b, a);
  }
}

/** §8.5.2-8.5.3: 0/0 and inf/inf are invalid; finite nonzero / 0 is a zero divide (masked: signed infinity). */
function divide(f: X87State, a: number, b: number): number {
  if (b === 0) {
    if (a === 0 || Number.isNaN(a)) return a === 0 ? invalid(f) : a;
    if (Number.isFinite(a)) {
      if (!signal(f, SW_ZE)) return Number.NaN;
      return a / b;
    }
  }
  if (!Number.isFinite(a) && !Number.isFinite(b) && !Number.isNaN(a) && !Number.isNaN(b)) return invalid(f);
  return a / b;
}

/** Flag an invalid operation; the masked response is the indefinite (unmasked: the caller's store is skipped via sw.ES). */
function invalid(f: X87State): number {
  signal(f, SW_IE);
  return INDEFINITE;
}

/** Whether the last operation left an unmasked exception (then the destination keeps its value, §8.6). */
function unmaskedNow(f: X87State, before: number): boolean {
  return (f.sw & SW_ES) !== 0 && (before & SW_ES) === 0;
}

/**
 * FCOM/FUCOM/FTST: C3 C2 C0 = 000 greater, 001 less, 100 equal, 111
 * unordered (Vol. 2 "FCOM" Table 3-21). FCOM with any NaN, FUCOM with an
 * SNaN (here: never, QNaNs only), is invalid.
 */
function compare(f: X87State, a: number, b: number, ordered: boolean): void {
  f.sw &= ~COND;
  if (Number.isNaN(a) || Number.isNaN(b)) {
    if (ordered && !signal(f, SW_IE)) return;
    f.sw |= SW_C3 | SW_C2 | SW_C0;
  } else if (a < b) f.sw |= SW_C0;
  else if (a === b) f.sw |= SW_C3;
}

/** FCOMI/FUCOMI: ZF PF CF like C3 C2 C0; OF, SF, AF cleared (Vol. 2 "FCOMI"). */
function compareFlags(st: CpuState, f: X87State, a: number, b: number, ordered: boolean): void {
  f.sw &= ~SW_C1;
  let v = 0;
  if (Number.isNaN(a) || Number.isNaN(b)) {
    if (ordered && !signal(f, SW_IE)) return;
    v = ZF | PF | CF;
  } else if (a < b) v = CF;
  else if (a === b) v = ZF;
  setFlags(st, v, 0x8d5);
}

/** FXAM (Vol. 2 "FXAM" Table 3-?): class in C3 C2 C0, sign in C1. */
function examine(f: X87State): void {
  const p = phys(f, 0);
  const v = f.r[p];
  f.sw &= ~COND;
  if (v < 0 || Object.is(v, -0)) f.sw |= SW_C1;
  if (f.empty & (1 << p)) f.sw |= SW_C3 | SW_C0;
  else if (Number.isNaN(v)) f.sw |= SW_C0;
  else if (!Number.isFinite(v)) f.sw |= SW_C2 | SW_C0;
  else if (v === 0) f.sw |= SW_C3;
  else f.sw |= SW_C2;
}

/** The tag word (§8.1.7): 00 valid, 01 zero, 10 special (NaN, infinity, denormal), 11 empty. */
export function tagWord(f: X87State): number {
  let tw = 0;
  for (let p = 0; p < 8; p++) {
    const v = f.r[p];
    let t = 0;
    if (f.empty & (1 << p)) t = 3;
    else if (v === 0) t = 1;
    else if (!Number.isFinite(v) || Math.abs(v) < 2 ** -16382) t = 2;
    tw |= t << (2 * p);
  }
  return tw;
}

export function statusWord(f: X87State): number {
  return (f.sw & ~0x3800) | (f.top << 11);
}

// ---- environment (§8.1.10, Figures 8-9..8-12) ----

/** FNSTENV/FNSAVE's environment: 28 bytes (32-bit operand size) or 14, protected-mode layout. */
function storeEnv(st: CpuState, f: X87State, i: Insn): number {
  const lin = i.ea;
  const w = i.o16 ? 2 : 4;
  probeWrite(st.mem, lin, 7 * w);
  const put = (k: number, v: number) =>
    w === 2 ? wr16(st.mem, (lin + 2 * k) | 0, v) : wr32(st.mem, (lin + 4 * k) | 0, v);
  const real = (st.cr0 & CR0_PE) === 0;
  put(0, f.cw | (w === 4 ? 0xffff0000 : 0));
  put(1, statusWord(f) | (w === 4 ? 0xffff0000 : 0));
  put(2, tagWord(f) | (w === 4 ? 0xffff0000 : 0));
  if (real) {
    // Real-address layout: 20-bit linear pointers split as the figure shows.
    put(3, f.fip & 0xffff);
    put(4, w === 4 ? ((f.fip >>> 16) << 12) | f.fop : ((f.fip >>> 16) << 12) | f.fop);
    put(5, f.fdp & 0xffff);
    put(6, (f.fdp >>> 16) << 12);
  } else {
    put(3, f.fip);
    put(4, w === 4 ? (f.fop << 16) | f.fcs : f.fcs);
    put(5, f.fdp);
    put(6, f.fds);
  }
  return 7 * w;
}

function loadEnv(st: CpuState, f: X87State, i: Insn): number {
  const lin = i.ea;
  const w = i.o16 ? 2 : 4;
  const get = (k: number) => (w === 2 ? rd16(st.mem, (lin + 2 * k) | 0) : rd32(st.mem, (lin + 4 * k) | 0));
  const cw = get(0) & 0xffff;
  const sw = get(1) & 0xffff;
  const tw = get(2) & 0xffff;
  const real = (st.cr0 & CR0_PE) === 0;
  const p3 = get(3);
  const p4 = get(4);
  const p5 = get(5);
  const p6 = get(6);
  f.cw = cw | 0x40;
  f.top = (sw >> 11) & 7;
  f.sw = sw & ~0x3800;
  // §8.1.7: FLDENV takes only "empty" from the tag word; the other tags follow from the values.
  f.empty = 0;
  for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) === 3) f.empty |= 1 << p;
  if (real) {
    f.fip = (p3 & 0xffff) | ((p4 >>> 12) << 16);
    f.fop = p4 & 0x7ff;
    f.fdp = (p5 & 0xffff) | ((p6 >>> 12) << 16);
  } else {
    f.fip = p3;
    f.fcs = p4 & 0xffff;
    f.fop = w === 4 ? (p4 >>> 16) & 0x7ff : 0;
    f.fdp = p5;
    f.fds = p6 & 0xffff;
  }
  // §8.6: loading a status word with unmasked exceptions flagged makes them pending.
  if ((f.sw & EXC & ~f.cw) !== 0) f.sw |= SW_ES | SW_B;
  else f.sw &= ~(SW_ES | SW_B);
  return 7 * w;
}

function save(st: CpuState, f: X87State, i: Insn): void {
  const n = 7 * (i.o16 ? 2 : 4);
  probeWrite(st.mem, i.ea, n + 80);
  storeEnv(st, f, i);
  for (let k = 0; k < 8; k++) {
    storeF80(st, (i.ea + n + 10 * k) | 0, f.r[phys(f, k)]);
  }
  f.init();
}

function restore(st: CpuState, f: X87State, i: Insn): void {
  const n = loadEnv(st, f, i);
  for (let k = 0; k < 8; k++) f.r[phys(f, k)] = loadF80(st, (i.ea + n + 10 * k) | 0);
}

// ---- dispatch ----

/** FNINIT, FNCLEX, FNSTCW, FNSTSW, FNSTENV, FNSAVE do not check for pending exceptions (§8.6 / Vol. 2 "FWAIT"). */
function noWait(op: number, modrm: number): boolean {
  const reg = (modrm >> 3) & 7;
  if (modrm < 0xc0) return (op === 0xd9 && (reg === 6 || reg === 7)) || (op === 0xdd && (reg === 6 || reg === 7));
  return (op === 0xdb && (modrm === 0xe2 || modrm === 0xe3)) || (op === 0xdf && modrm === 0xe0);
}

/** FWAIT (9B): #NM when CR0.MP and TS; a pending unmasked exception is #MF (Vol. 2 "WAIT/FWAIT"). */
export function fwait(st: CpuState): void {
  if ((st.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) raise(st, NM, NO_ERROR);
  pendingCheck(st);
}

function pendingCheck(st: CpuState): void {
  if (st.fpu.sw & SW_ES && st.cr0 & CR0_NE) raise(st, MF, NO_ERROR);
}

/** One x87 instruction (escape opcode `i.op` D8-DF, ModR/M in i.modrm, memory operand at i.ea). */
export function x87(st: CpuState, i: Insn): number {
  // §2.5 / Table 2-2: EM or TS make every escape opcode #NM.
  if (st.cr0 & (CR0_EM | CR0_TS)) raise(st, NM, NO_ERROR);
  const f = st.fpu;
  const op = i.op;
  const modrm = i.modrm;
  if (!noWait(op, modrm)) pendingCheck(st);
  // C1 is 0 after every non-control instruction unless it says otherwise (stack overflow, FXAM, FPREM):
  // this model never reports a rounded-up result in C1 (§8.1.3.3).
  const controlReg = (op === 0xdf && modrm === 0xe0) || (op === 0xdb && (modrm === 0xe2 || modrm === 0xe3));
  if (!controlReg && !isControl(op, modrm < 0xc0 ? i.reg : -1)) f.sw &= ~SW_C1;
  if (i.rmr >= 0) regForm(st, f, op, modrm);
  else {
    memForm(st, f, op, i);
    // §8.1.9: the data pointer of the last non-control instruction with a memory operand.
    if (!isControl(op, i.reg)) {
      f.fdp = i.off;
      f.fds = st.segSel[i.seg < 0 ? DS : i.seg] & 0xffff;
    }
  }
  if (!isControl(op, modrm < 0xc0 ? i.reg : -1) && !(op === 0xdb && (modrm === 0xe2 || modrm === 0xe3))) {
    f.fip = st.ip0;
    f.fcs = st.segSel[CS] & 0xffff;
    f.fop = ((op & 7) << 8) | modrm;
  }
  st.eip = nextEip(st, i);
  return STATUS_CONTINUE;
}

/** Control instructions (§8.1.8: they leave FIP/FDP/FOP alone): FLDCW, FNSTCW, FLDENV, FNSTENV, FRSTOR, FNSAVE, FNSTSW. */
function isControl(op: number, reg: number): boolean {
  return (op === 0xd9 && reg >= 4) || (op === 0xdd && (reg === 4 || reg === 6 || reg === 7));
}

function memForm(st: CpuState, f: X87State, op: number, i: Insn): void {
  const lin = i.ea;
  const reg = i.reg;
  switch (op) {
    case 0xd8:
      arithMem(f, reg, loadF32(st, lin));
      return;
    case 0xdc:
      arithMem(f, reg, loadF64(st, lin));
      return;
    case 0xda:
      arithMem(f, reg, rd32(st.mem, lin));
      return;
    case 0xde:
      arithMem(f, reg, (rd16(st.mem, lin) << 16) >> 16);
      return;
    case 0xd9:
      switch (reg) {
        case 0:
          push(f, loadF32(st, lin));
          return;
        case 2:
        case 3:
          if (underflow(f, 0)) return;
          storeF32(st, lin, get(f, 0));
          if (reg === 3) pop(f);
          return;
        case 4:
          loadEnv(st, f, i);
          return;
        case 5:
          // Bit 6 reads as 1 (reserved, Figure 8-6); unmasking a flagged exception makes it pending.
          f.cw = (rd16(st.mem, lin) & 0x1f7f) | 0x40;
          if ((f.sw & EXC & ~f.cw) !== 0) f.sw |= SW_ES | SW_B;
          else f.sw &= ~(SW_ES | SW_B);
          return;
        case 6:
          storeEnv(st, f, i);
          // FNSTENV masks all exceptions after saving (Vol. 2 "FSTENV").
          f.cw |= EXC;
          return;
        case 7:
          wr16(st.mem, lin, f.cw);
          return;
        default:
          ud(st);
          return;
      }
    case 0xdb:
      switch (reg) {
        case 0:
          push(f, rd32(st.mem, lin));
          return;
        case 2:
        case 3:
          if (underflow(f, 0)) return;
          if (storeInt(st, f, lin, 4, get(f, 0)) && reg === 3) pop(f);
          return;
        case 5:
          push(f, loadF80(st, lin));
          return;
        case 7:
          if (underflow(f, 0)) return;
          storeF80(st, lin, get(f, 0));
          pop(f);
          return;
        default:
          ud(st); // /1 FISTTP is SSE3; /4, /6 reserved
      }
    case 0xdd:
      switch (reg) {
        case 0:
          push(f, loadF64(st, lin));
          return;
        case 2:
        case 3:
          if (underflow(f, 0)) return;
          storeF64(st, lin, get(f, 0));
          if (reg === 3) pop(f);
          return;
        case 4:
          restore(st, f, i);
          return;
        case 6:
          save(st, f, i);
          return;
        case 7:
          wr16(st.mem, lin, statusWord(f));
          return;
        default:
          ud(st);
          return;
      }
    default: // 0xdf
      switch (reg) {
        case 0:
          push(f, (rd16(st.mem, lin) << 16) >> 16);
          return;
        case 2:
        case 3:
          if (underflow(f, 0)) return;
          if (storeInt(st, f, lin, 2, get(f, 0)) && reg === 3) pop(f);
          return;
        case 4:
          push(f, loadBcd(st, lin));
          return;
        case 5:
          push(f, loadI64(st, lin));
          return;
        case 6:
          if (underflow(f, 0)) return;
          if (storeBcd(st, f, lin, get(f, 0))) pop(f);
          return;
        case 7:
          if (underflow(f, 0)) return;
          if (storeInt(st, f, lin, 8, get(f, 0))) pop(f);
          return;
        default:
          ud(st);
          return;
      }
  }
}

/** ST(0) op= memory operand (reg 2 FCOM, 3 FCOMP). */
function arithMem(f: X87State, reg: number, m: number): void {
  const before = f.sw;
  const a = get(f, 0);
  if (reg === 2 || reg === 3) {
    compare(f, a, m, true);
    if (reg === 3) pop(f);
    return;
  }
  const v = arith(f, reg, a, m);
  if (!unmaskedNow(f, before)) set(f, 0, v);
}

function regForm(st: CpuState, f: X87State, op: number, modrm: number): void {
  const reg = (modrm >> 3) & 7;
  const n = modrm & 7;
  switch (op) {
    case 0xd8:
      if (reg === 2 || reg === 3) {
        compare(f, get(f, 0), get(f, n), true);
        if (reg === 3) pop(f);
        return;
      }
      arithReg(f, reg, 0, n);
      return;
    case 0xdc:
      // Destination ST(i); the /4-/7 forms name the operation reversed (Vol. 2 Table A-?: DC E0 is FSUBR ST(i), ST(0)).
      if (reg === 2 || reg === 3) {
        compare(f, get(f, 0), get(f, n), true);
        if (reg === 3) pop(f);
        return;
      }
      arithReg(f, reg >= 4 ? reg ^ 1 : reg, n, 0);
      return;
    case 0xde:
      if (reg === 3) {
        if (n !== 1) {
          ud(st);
          return;
        }
        compare(f, get(f, 0), get(f, 1), true);
        pop(f);
        pop(f);
        return;
      }
      if (reg === 2) {
        compare(f, get(f, 0), get(f, n), true);
        pop(f);
        return;
      }
      arithReg(f, reg >= 4 ? reg ^ 1 : reg, n, 0);
      pop(f);
      return;
    case 0xd9:
      d9Reg(st, f, modrm);
      return;
    case 0xda:
      if (modrm === 0xe9) {
        compare(f, get(f, 0), get(f, 1), false);
        pop(f);
        pop(f);
        return;
      }
      if (reg < 4) {
        fcmov(st, f, reg, false, n);
        return;
      }
      ud(st);
      return;
    case 0xdb:
      if (reg < 4) {
        fcmov(st, f, reg, true, n);
        return;
      }
      if (modrm === 0xe2) {
        f.sw &= ~(EXC | SW_SF | SW_ES | SW_B);
        return;
      }
      if (modrm === 0xe3) {
        f.init();
        return;
      }
      if (reg === 5 || reg === 6) {
        compareFlags(st, f, get(f, 0), get(f, n), reg === 6);
        return;
      }
      ud(st);
      return;
    case 0xdd:
      switch (reg) {
        case 0:
          f.empty |= 1 << phys(f, n);
          return;
        case 2:
        case 3:
          if (!underflow(f, 0)) set(f, n, get(f, 0));
          if (reg === 3) pop(f);
          return;
        case 4:
        case 5:
          compare(f, get(f, 0), get(f, n), false);
          if (reg === 5) pop(f);
          return;
        default:
          ud(st);
          return;
      }
    default: // 0xdf
      if (modrm === 0xe0) {
        st.regs[EAX] = (st.regs[EAX] & ~0xffff) | statusWord(f);
        return;
      }
      if (reg === 5 || reg === 6) {
        compareFlags(st, f, get(f, 0), get(f, n), reg === 6);
        pop(f);
        return;
      }
      if (reg === 0) {
        // FFREEP (DF C0+i): documented by AMD, present on Intel P6; free ST(i) and pop.
        f.empty |= 1 << phys(f, n);
        pop(f);
        return;
      }
      ud(st);
      return;
  }
}

/** dst = dst op src between stack registers: arith's a is ST(d), b is ST(s). */
function arithReg(f: X87State, reg: number, d: number, s: number): void {
  const before = f.sw;
  const v = arith(f, reg, get(f, d), get(f, s));
  if (!unmaskedNow(f, before)) set(f, d, v);
}

/** FCMOVcc (P6): B/E/BE/U, or their negations in DB (Vol. 2 "FCMOVcc"). */
function fcmov(st: CpuState, f: X87State, cc: number, negate: boolean, n: number): void {
  const fl = getFlags(st);
  const c = [fl & CF, fl & ZF, fl & (CF | ZF), fl & PF][cc] !== 0;
  if (underflow(f, n)) return;
  if (c !== negate) set(f, 0, get(f, n));
}

const CONSTANTS = [1, Math.log2(10), Math.LOG2E, Math.PI, Math.log10(2), Math.LN2, 0];

function d9Reg(st: CpuState, f: X87State, modrm: number): void {
  const n = modrm & 7;
  if (modrm < 0xc8) {
    push(f, get(f, n)); // FLD ST(i): read before the push
    return;
  }
  if (modrm < 0xd0) {
    // FXCH
    if (underflow(f, 0) || underflow(f, n)) return;
    const a = get(f, 0);
    set(f, 0, get(f, n));
    set(f, n, a);
    f.sw &= ~SW_C1;
    return;
  }
  if (modrm === 0xd0) return; // FNOP
  if (modrm >= 0xe8 && modrm <= 0xee) {
    push(f, CONSTANTS[modrm - 0xe8]);
    return;
  }
  if (modrm === 0xe5) {
    examine(f);
    return;
  }
  if (modrm === 0xf6) {
    f.top = (f.top - 1) & 7;
    return;
  }
  if (modrm === 0xf7) {
    f.top = (f.top + 1) & 7;
    return;
  }
  if (modrm < 0xe0 || modrm === 0xe2 || modrm === 0xe3 || modrm === 0xe6 || modrm === 0xe7 || modrm === 0xef) ud(st);
  if (underflow(f, 0)) return;
  const before = f.sw;
  const a = get(f, 0);
  f.sw &= ~SW_C1;
  let v: number;
  switch (modrm) {
    case 0xe0:
      v = -a;
      break;
    case 0xe1:
      v = Math.abs(a);
      break;
    case 0xe4:
      compare(f, a, 0, true);
      return;
    case 0xf0:
      v = 2 ** a - 1;
      break;
    case 0xf1:
    case 0xf9: {
      // FYL2X / FYL2XP1: ST(1) = ST(1) * log2(ST(0) [+ 1]), pop.
      const x = modrm === 0xf1 ? a : a + 1;
      const y = get(f, 1);
      const r = x < 0 ? invalid(f) : x === 0 ? divide(f, -y, 0) : y * Math.log2(x);
      if (!unmaskedNow(f, before)) set(f, 1, r);
      pop(f);
      return;
    }
    case 0xf2:
      // FPTAN: ST(0) = tan, then push 1.0; C2 = 0 (operand in range).
      f.sw &= ~SW_C2;
      set(f, 0, Math.tan(a));
      push(f, 1);
      return;
    case 0xf3: {
      const r = Math.atan2(get(f, 1), a);
      set(f, 1, r);
      pop(f);
      return;
    }
    case 0xf4: {
      // FXTRACT: ST(0) = exponent, push significand.
      if (a === 0) {
        if (!signal(f, SW_ZE)) return;
        set(f, 0, Number.NEGATIVE_INFINITY);
        push(f, a);
        return;
      }
      const e = Number.isFinite(a) ? Math.floor(Math.log2(Math.abs(a))) : Number.POSITIVE_INFINITY;
      let sig = Number.isFinite(a) ? a / 2 ** e : a;
      if (Math.abs(sig) >= 2) sig /= 2;
      else if (Math.abs(sig) < 1) sig *= 2;
      set(f, 0, Number.isFinite(a) ? Math.floor(Math.log2(Math.abs(a / sig))) : e);
      push(f, sig);
      return;
    }
    case 0xf5:
    case 0xf8:
      partialRemainder(f, a, modrm === 0xf5);
      return;
    case 0xfa:
      v = a < 0 ? invalid(f) : Math.sqrt(a);
      break;
    case 0xfb:
      f.sw &= ~SW_C2;
      set(f, 0, Math.sin(a));
      push(f, Math.cos(a));
      return;
    case 0xfc:
      v = roundRc(f.cw, a);
      break;
    case 0xfd: {
      const s = Math.trunc(get(f, 1));
      v = Number.isNaN(s) ? Number.NaN : scale2(a, s);
      break;
    }
    case 0xfe:
      f.sw &= ~SW_C2;
      v = Math.sin(a);
      break;
    default: // 0xff
      f.sw &= ~SW_C2;
      v = Math.cos(a);
      break;
  }
  if (!unmaskedNow(f, before)) set(f, 0, v);
}

/**
 * FPREM (truncating quotient) and FPREM1 (IEEE, nearest): ST(0) = remainder
 * of ST(0) / ST(1), complete in one step here (C2 = 0), the quotient's three
 * low bits in C0 (Q2), C3 (Q1), C1 (Q0) (Vol. 2 "FPREM").
 */
function partialRemainder(f: X87State, a: number, ieee: boolean): void {
  const b = get(f, 1);
  f.sw &= ~COND;
  if (Number.isNaN(a) || Number.isNaN(b) || !Number.isFinite(a) || b === 0) {
    if (signal(f, SW_IE)) set(f, 0, INDEFINITE);
    return;
  }
  if (!Number.isFinite(b)) return; // remainder is ST(0) itself, quotient 0
  let r = a % b; // exact (fmod)
  let q = Math.abs(Math.trunc((a - r) / b));
  if (ieee) {
    const half = Math.abs(b) / 2;
    if (Math.abs(r) > half || (Math.abs(r) === half && q % 2 === 1)) {
      r -= Math.sign(a) * Math.abs(b);
      q += 1;
    }
  }
  const ql = q % 8;
  if (ql & 4) f.sw |= SW_C0;
  if (ql & 2) f.sw |= SW_C3;
  if (ql & 1) f.sw |= SW_C1;
  set(f, 0, r === 0 ? a * 0 : r);
}
