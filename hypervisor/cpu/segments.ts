// Protected-mode segment descriptors (SDM Vol. 3A §3.4.5, §5.2-5.8): reading
// them from the GDT/LDT, loading segment registers with the checks and the
// error codes MOV/POP to a segment register, far transfers and interrupt
// delivery make (#GP/#NP/#SS/#TS with the selector as error code).
import { gp, NP, raise, SS as SS_VEC, TS } from "./fault.js";
import { VM } from "./flags.js";
import {
  AR_DB,
  AR_DPL_SHIFT,
  AR_P,
  AR_S,
  AR_UNUSABLE,
  type CpuState,
  CR0_PE,
  CS,
  DS,
  ES,
  FS,
  GS,
  LDTR,
  SS,
} from "./state.js";

/** The last descriptor read: raw words and the decoded hidden-register values. */
export const desc = { lo: 0, hi: 0, base: 0, limit: 0, ar: 0, addr: 0 };

/** Type field bits (descriptor bits 43:40) for code/data segments. */
export const TYPE_ACCESSED = 1;
export const TYPE_WRITABLE = 2; // data
export const TYPE_READABLE = 2; // code
export const TYPE_CONFORMING = 4; // code
export const TYPE_CODE = 8;

export function dplOf(ar: number): number {
  return (ar >> AR_DPL_SHIFT) & 3;
}

/** Decode a descriptor's two words into desc.base/limit/ar (VMX access-rights format). */
export function decode(lo: number, hi: number): void {
  desc.lo = lo;
  desc.hi = hi;
  desc.base = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000);
  let limit = (lo & 0xffff) | (hi & 0xf0000);
  if (hi & 0x800000) limit = (limit << 12) | 0xfff;
  desc.limit = limit;
  desc.ar = (hi >>> 8) & 0xf0ff;
}

/**
 * Read the descriptor `sel` names into `desc`. Returns false if the
 * selector's index lies beyond the GDT/LDT limit (or the LDT is unusable).
 */
export function readDescriptor(st: CpuState, sel: number): boolean {
  let base: number;
  let limit: number;
  if (sel & 4) {
    if (st.segAr[LDTR] & AR_UNUSABLE) return false;
    base = st.segBase[LDTR];
    limit = st.segLimit[LDTR];
  } else {
    base = st.gdtrBase;
    limit = st.gdtrLimit;
  }
  const index = sel & 0xfff8;
  if (index + 7 > limit >>> 0) return false;
  const addr = (base + index) | 0;
  desc.addr = addr;
  decode(st.mem.readSys(addr, 4), st.mem.readSys((addr + 4) | 0, 4));
  return true;
}

/** Set the accessed bit of the descriptor just read (§3.4.5.1), as the processor does on a load. */
export function markAccessed(st: CpuState): void {
  if ((desc.hi & 0x100) === 0) {
    desc.hi |= 0x100;
    st.mem.writeSys((desc.addr + 4) | 0, 4, desc.hi);
    desc.ar |= TYPE_ACCESSED;
  }
}

/** Install hidden state: selector `sel` with the decoded `desc`. */
export function setSeg(st: CpuState, sr: number, sel: number): void {
  st.segSel[sr] = sel & 0xffff;
  st.segBase[sr] = desc.base;
  st.segLimit[sr] = desc.limit;
  st.segAr[sr] = desc.ar;
}

/** Load a null selector into a data segment register (usable again only after a real load). */
export function setNull(st: CpuState, sr: number, sel: number): void {
  st.segSel[sr] = sel & 0xffff;
  st.segBase[sr] = 0;
  st.segLimit[sr] = 0;
  st.segAr[sr] = AR_UNUSABLE;
}

/** Real-address mode (CR0.PE = 0) or virtual-8086 mode: selectors are paragraph numbers (Vol. 3A §20.1.1, §20.2). */
export function realSegs(st: CpuState): boolean {
  return (st.cr0 & CR0_PE) === 0 || (st.fl & VM) !== 0;
}

/** Access rights of a virtual-8086 segment (§26.3.1.2: present, DPL 3, read/write accessed data). */
const V86_AR = 0xf3;
/** A real-mode segment that was unusable (null in protected mode) becomes a 64 KiB read/write data segment. */
const REAL_AR = 0x93;

/**
 * Load a segment register in real-address or virtual-8086 mode: base =
 * selector * 16, no descriptor and no checks (§20.1.1). In real mode the
 * limit and attributes stay as they were (which is how a segment keeps a
 * limit set in protected mode, "big real mode"); in virtual-8086 mode they
 * are a 64 KiB DPL-3 segment.
 */
export function loadRealSeg(st: CpuState, sr: number, sel: number): void {
  sel &= 0xffff;
  st.segSel[sr] = sel;
  st.segBase[sr] = sel << 4;
  if (st.fl & VM) {
    st.segLimit[sr] = 0xffff;
    st.segAr[sr] = V86_AR;
  } else if (st.segAr[sr] & AR_UNUSABLE) {
    st.segLimit[sr] = 0xffff;
    st.segAr[sr] = REAL_AR;
  }
}

/** MOV/POP to SS, DS, ES, FS, GS (SDM Vol. 2 MOV, POP: protected-mode checks and faults). */
export function loadDataSeg(st: CpuState, sr: number, sel: number): void {
  sel &= 0xffff;
  if (realSegs(st)) {
    loadRealSeg(st, sr, sel);
    return;
  }
  const rpl = sel & 3;
  const cpl = st.cpl;
  if ((sel & 0xfffc) === 0) {
    if (sr === SS) gp(st, 0);
    setNull(st, sr, sel);
    return;
  }
  if (!readDescriptor(st, sel)) gp(st, sel & 0xfffc);
  const ar = desc.ar;
  const type = ar & 0xf;
  const dpl = dplOf(ar);
  if (sr === SS) {
    if (rpl !== cpl || dpl !== cpl || !(ar & AR_S) || type & TYPE_CODE || !(type & TYPE_WRITABLE)) {
      gp(st, sel & 0xfffc);
    }
    if (!(ar & AR_P)) raise(st, SS_VEC, sel & 0xfffc);
  } else {
    if (!(ar & AR_S) || (type & TYPE_CODE && !(type & TYPE_READABLE))) gp(st, sel & 0xfffc);
    const conformingCode = (type & (TYPE_CODE | TYPE_CONFORMING)) === (TYPE_CODE | TYPE_CONFORMING);
    if (!conformingCode && (rpl > dpl || cpl > dpl)) gp(st, sel & 0xfffc);
    if (!(ar & AR_P)) raise(st, NP, sel & 0xfffc);
  }
  markAccessed(st);
  setSeg(st, sr, sel);
}

/**
 * Checks for a far JMP/CALL/RET target code segment at the same or (for
 * RET/IRET) an outer privilege (§5.8.1-5.8.2, Vol. 2 JMP/RET). `rplCpl` is
 * the privilege the transfer runs at afterwards. Leaves desc set.
 */
export function checkCodeSeg(st: CpuState, sel: number, forReturn: boolean, ext: number): void {
  if ((sel & 0xfffc) === 0) gp(st, ext);
  if (!readDescriptor(st, sel)) gp(st, (sel & 0xfffc) | ext);
  const ar = desc.ar;
  const type = ar & 0xf;
  if (!(ar & AR_S) || !(type & TYPE_CODE)) gp(st, (sel & 0xfffc) | ext);
  const dpl = dplOf(ar);
  const rpl = sel & 3;
  const conforming = (type & TYPE_CONFORMING) !== 0;
  if (forReturn) {
    if (rpl < st.cpl) gp(st, sel & 0xfffc);
    if (conforming ? dpl > rpl : dpl !== rpl) gp(st, sel & 0xfffc);
  } else if (conforming ? dpl > st.cpl : rpl > st.cpl || dpl !== st.cpl) {
    gp(st, sel & 0xfffc);
  }
  if (!(ar & AR_P)) raise(st, NP, (sel & 0xfffc) | ext);
}

/** The code segment of an interrupt or trap gate (Vol. 2 INT n): any code segment with DPL <= CPL. */
export function checkHandlerSeg(st: CpuState, sel: number, ext: number): void {
  if ((sel & 0xfffc) === 0) gp(st, ext);
  if (!readDescriptor(st, sel)) gp(st, (sel & 0xfffc) | ext);
  const ar = desc.ar;
  if (!(ar & AR_S) || !(ar & TYPE_CODE) || dplOf(ar) > st.cpl) gp(st, (sel & 0xfffc) | ext);
  if (!(ar & AR_P)) raise(st, NP, (sel & 0xfffc) | ext);
}

/** Load CS with the checked `desc`, selector RPL forced to `cpl`, and switch the privilege level. */
export function loadCs(st: CpuState, sel: number, cpl: number): void {
  markAccessed(st);
  setSeg(st, CS, (sel & 0xfffc) | cpl);
  setCpl(st, cpl);
}

/** CPL changes the TLB key (user vs supervisor) and SS.DPL/CS.RPL follow it. */
export function setCpl(st: CpuState, cpl: number): void {
  if (st.cpl === cpl) return;
  st.cpl = cpl;
  st.mem.setMode(st.mem.vpid, cpl === 3);
}

/**
 * Check a new stack segment for an inter-privilege transfer (§6.12.1, Vol. 2
 * INT/RET): faults are #TS (interrupts, `ts` = true) or #GP (RET).
 */
export function checkStackSeg(st: CpuState, sel: number, cpl: number, ts: boolean, ext: number): void {
  const vec = ts ? TS : 13;
  if ((sel & 0xfffc) === 0) raise(st, vec, ext);
  if (!readDescriptor(st, sel)) raise(st, vec, (sel & 0xfffc) | ext);
  const ar = desc.ar;
  const type = ar & 0xf;
  if ((sel & 3) !== cpl || dplOf(ar) !== cpl || !(ar & AR_S) || type & TYPE_CODE || !(type & TYPE_WRITABLE)) {
    raise(st, vec, (sel & 0xfffc) | ext);
  }
  if (!(ar & AR_P)) raise(st, SS_VEC, (sel & 0xfffc) | ext);
}

/**
 * After a return to an outer privilege level, data segment registers the
 * new CPL may not use are loaded with null (Vol. 2 RET, IRET).
 */
export function nullInaccessibleSegs(st: CpuState): void {
  for (const sr of [ES, DS, FS, GS]) {
    const ar = st.segAr[sr];
    if (ar & AR_UNUSABLE) continue;
    const conformingCode = (ar & (TYPE_CODE | TYPE_CONFORMING)) === (TYPE_CODE | TYPE_CONFORMING);
    if (!conformingCode && dplOf(ar) < st.cpl) setNull(st, sr, 0);
  }
}

/** Stack-pointer width of SS (B flag): 32-bit or 16-bit. */
export function stack32(st: CpuState): boolean {
  return (st.segAr[SS] & AR_DB) !== 0;
}
