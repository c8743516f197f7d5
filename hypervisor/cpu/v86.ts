// Virtual-8086 mode without the VME extensions (SDM Vol. 3A §20.2-20.4;
// Vol. 2 IRET, INT n, PUSHF/POPF, CLI/STI). In V86 the processor runs at
// CPL 3 with real-mode-style segments (segments.ts loadRealSeg: base =
// selector * 16, limit 0xFFFF, access rights 0xF3) and 16-bit defaults;
// this file holds the three transitions that differ from both real and
// protected mode:
// - entering V86 by a 32-bit IRET at CPL 0 whose EFLAGS image has VM = 1
//   (Vol. 2 IRET RETURN-TO-VIRTUAL-8086-MODE);
// - leaving V86 for a ring-0 handler on any interrupt or exception (Vol. 2
//   INT n INTERRUPT-FROM-VIRTUAL-8086-MODE, §20.3.1.1, Figure 20-5 / 6-5):
//   the frame also holds GS, FS, DS, ES, which are then loaded with null;
// - the IOPL-sensitive instructions (§20.2.7): CLI, STI, PUSHF, POPF,
//   INT n, IRET raise #GP(0) when IOPL < 3 (CR4.VME is not offered, so the
//   virtual-interrupt variants of §20.3 and §20.4 do not apply).
import { INTERRUPTIBILITY_NMI } from "../vmx/vmcs-fields.js";
import { gp, raise, SS as SS_VEC, TS } from "./fault.js";
import { IF, IOPL, NT, RF, TF, VIF, VIP, VM, WRITABLE } from "./flags.js";
import { STATUS_BOUNDARY } from "./insn.js";
import { rd32 } from "./memory.js";
import {
  checkStackSeg,
  decode,
  desc,
  dplOf,
  loadCs,
  loadRealSeg,
  setCpl,
  setNull,
  setSeg,
  TYPE_CONFORMING,
} from "./segments.js";
import { AR_DB, type CpuState, CS, DS, ES, ESP, FS, GS, SS, TR } from "./state.js";

/** In virtual-8086 mode with IOPL < 3, an IOPL-sensitive instruction traps to the monitor (§20.2.7): #GP(0). */
export function v86IoplCheck(st: CpuState): void {
  if (st.fl & VM && (st.fl & IOPL) !== IOPL) gp(st, 0);
}

/**
 * EFLAGS bits IRET loads in virtual-8086 mode with IOPL = 3 (Vol. 2 IRET
 * RETURN-FROM-VIRTUAL-8086-MODE): IOPL, VM, VIF and VIP keep their values
 * (POPF keeps RF as well); a 16-bit operand loads FLAGS only.
 */
export function v86FlagsMask(o16: boolean): number {
  const mask = WRITABLE & ~(IOPL | VM | VIF | VIP);
  return o16 ? mask & 0xffff : mask;
}

/**
 * IRET at CPL 0, 32-bit operand size, with VM = 1 in the popped EFLAGS
 * image (Vol. 2 IRET RETURN-TO-VIRTUAL-8086-MODE, §20.2.6): after EIP, CS
 * and EFLAGS the stack holds ESP, SS, ES, DS, FS, GS (each a dword, the
 * selectors in its low word). All 24 further bytes must lie within the
 * stack (#SS(0)) and the new IP within the 64 KiB V86 code segment
 * (#GP(0), as the P6-era manual states; later manuals truncate EIP to 16
 * bits instead). Nothing changes before every slot has been read.
 */
export function iretToV86(st: CpuState, eip: number, cs: number, flags: number): number {
  const sp = stack32(st) ? st.regs[ESP] >>> 0 : st.regs[ESP] & 0xffff;
  const top = sp + 12;
  if (!withinStack(st.segLimit[SS], st.segAr[SS], top, 24)) raise(st, SS_VEC, 0);
  if (eip >>> 0 > 0xffff) gp(st, 0);
  const esp = stackDword(st, top, 0);
  const ss = stackDword(st, top, 1);
  const es = stackDword(st, top, 2);
  const ds = stackDword(st, top, 3);
  const fs = stackDword(st, top, 4);
  const gs = stackDword(st, top, 5);
  // EFLAGS first: with VM set, loadRealSeg gives every segment the V86 attributes.
  st.fl = (flags & WRITABLE) | 2;
  st.lop = 0;
  loadRealSeg(st, CS, cs);
  loadRealSeg(st, SS, ss);
  loadRealSeg(st, ES, es);
  loadRealSeg(st, DS, ds);
  loadRealSeg(st, FS, fs);
  loadRealSeg(st, GS, gs);
  setCpl(st, 3);
  st.regs[ESP] = esp;
  // Executing IRET ends NMI blocking (§6.7.1).
  st.interruptibility &= ~INTERRUPTIBILITY_NMI;
  st.eip = eip & 0xffff;
  return STATUS_BOUNDARY;
}

/**
 * An interrupt or exception in virtual-8086 mode through an interrupt or
 * trap gate (Vol. 2 INT n TRAP-OR-INTERRUPT-GATE with VM = 1, then
 * INTERRUPT-FROM-VIRTUAL-8086-MODE; §20.3.1.1). `desc` holds the gate's
 * code-segment descriptor, already checked to be a present code segment.
 * The handler must be a non-conforming DPL-0 segment (else #GP(selector +
 * EXT)); the stack comes from SS0:ESP0 of the TSS (#TS/#SS as for any
 * stack switch); the frame is GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP and
 * the error code, in dwords for a 32-bit gate (words for a 16-bit one).
 * Afterwards VM, TF, RF, NT are clear (IF too for an interrupt gate), CPL is
 * 0, and DS, ES, FS, GS hold null selectors. Nothing changes before every
 * check and every push has succeeded.
 */
export function v86Deliver(
  st: CpuState,
  sel: number,
  offset: number,
  gate32: boolean,
  trapGate: boolean,
  error: number,
  retEip: number,
  flags: number,
  ext: number,
): void {
  const csErr = (sel & 0xfffc) | ext;
  if (desc.ar & TYPE_CONFORMING || dplOf(desc.ar) !== 0) gp(st, csErr);
  const csLo = desc.lo;
  const csHi = desc.hi;
  const csAddr = desc.addr;
  const ip = gate32 ? offset : offset & 0xffff;
  const ipOutside = ip >>> 0 > desc.limit >>> 0;
  // SS0:ESP0 from the current TSS (§7.2.1 32-bit TSS: ESP0 at 4, SS0 at 8; §7.6 16-bit TSS: SP0 at 2, SS0 at 4).
  const tss = st.segBase[TR];
  const tss32 = (st.segAr[TR] & 8) !== 0;
  if (st.segLimit[TR] >>> 0 < (tss32 ? 9 : 5)) raise(st, TS, (st.segSel[TR] & 0xfffc) | ext);
  const newEsp = tss32 ? st.mem.readSys((tss + 4) | 0, 4) : st.mem.readSys((tss + 2) | 0, 2);
  const newSs = st.mem.readSys((tss + (tss32 ? 8 : 4)) | 0, 2);
  checkStackSeg(st, newSs, 0, true, ext);
  const ssBase = desc.base;
  const ssLimit = desc.limit;
  const ssAr = desc.ar;
  const w = gate32 ? 4 : 2;
  const size = (error >= 0 ? 10 : 9) * w;
  const sp = wrapSp(ssAr, newEsp);
  const bottom = wrapSp(ssAr, sp - size);
  if (!withinStack(ssLimit, ssAr, bottom, size)) raise(st, SS_VEC, (newSs & 0xfffc) | ext);
  if (ipOutside) gp(st, ext);
  const r = st.regs;
  const frame = frameValues;
  frame[0] = st.segSel[GS];
  frame[1] = st.segSel[FS];
  frame[2] = st.segSel[DS];
  frame[3] = st.segSel[ES];
  frame[4] = st.segSel[SS];
  frame[5] = r[ESP];
  frame[6] = flags;
  frame[7] = st.segSel[CS];
  frame[8] = retEip;
  frame[9] = error;
  const n = error >= 0 ? 10 : 9;
  for (let k = 0; k < n; k++) st.mem.writeSys((ssBase + wrapSp(ssAr, sp - (k + 1) * w)) | 0, w, frame[k]);
  // Commit.
  desc.base = ssBase;
  desc.limit = ssLimit;
  desc.ar = ssAr;
  setSeg(st, SS, newSs);
  r[ESP] = ssAr & AR_DB ? bottom : (newEsp & ~0xffff) | bottom;
  for (const sr of NULLED) setNull(st, sr, 0);
  decode(csLo, csHi);
  desc.addr = csAddr;
  loadCs(st, sel, 0);
  st.eip = ip;
  let f = flags & ~(VM | TF | RF | NT);
  if (!trapGate) f &= ~IF;
  st.fl = f;
  st.lop = 0;
}

const frameValues = new Int32Array(10);
const NULLED = [GS, FS, DS, ES];

/** The `n`-th dword above stack offset `top`. */
function stackDword(st: CpuState, top: number, n: number): number {
  return rd32(st.mem, (st.segBase[SS] + wrapSp(st.segAr[SS], top + 4 * n)) | 0);
}

function stack32(st: CpuState): boolean {
  return (st.segAr[SS] & AR_DB) !== 0;
}

/** A stack offset wrapped to the stack-pointer width of a segment with access rights `ar` (B flag). */
function wrapSp(ar: number, sp: number): number {
  return ar & AR_DB ? sp >>> 0 : sp & 0xffff;
}

/**
 * `n` bytes from offset `off` lie within a stack segment with `limit` and
 * access rights `ar` (§5.3: expand-up 0..limit; expand-down limit+1 up to
 * 0xFFFF or 0xFFFFFFFF by the B flag), without wrapping past the top.
 */
function withinStack(limit: number, ar: number, off: number, n: number): boolean {
  const end = off + n - 1;
  const top = ar & AR_DB ? 0xffffffff : 0xffff;
  if (end > top) return false;
  if ((ar & 0x1c) === 0x14) return off > limit >>> 0;
  return end <= limit >>> 0;
}
