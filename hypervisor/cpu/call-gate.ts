// Far CALL and JMP through a call gate (SDM Vol. 3A §5.8.3-5.8.5, Vol. 2
// CALL "CALL-GATE", "MORE-PRIVILEGE", "SAME-PRIVILEGE" and JMP pseudocode).
// The gate names the target code segment and entry point; the offset in the
// instruction is ignored. A CALL to a non-conforming segment of higher
// privilege switches to the stack the TSS names for that level (§5.8.5),
// pushes the caller's SS:ESP, copies the gate's parameter count of words or
// doublewords from the caller's stack and then the return CS:EIP. The
// return is farRet (control-transfer.ts) popping SS:ESP at the outer level.
import { gp, NP, raise, SS as SS_VEC, TS } from "./fault.js";
import { type Insn, nextEip, STATUS_CONTINUE } from "./insn.js";
import { rdS, wrS } from "./memory.js";
import {
  checkStackSeg,
  decode,
  desc,
  dplOf,
  loadCs,
  readDescriptor,
  setSeg,
  TYPE_CODE,
  TYPE_CONFORMING,
} from "./segments.js";
import { AR_DB, AR_P, AR_S, type CpuState, CS, ESP, SS, TR } from "./state.js";

/** System-descriptor types of call gates (§3.5): 16-bit and 32-bit. */
export function isCallGate(type: number): boolean {
  return type === 0x4 || type === 0xc;
}

/**
 * CALL/JMP through the call gate `gateSel`, whose descriptor is in `desc`
 * (readDescriptor was done by the caller). Nothing changes before the last
 * check passes, so a fault leaves the caller's state intact.
 */
export function callGate(st: CpuState, i: Insn, gateSel: number, call: boolean): number {
  const gLo = desc.lo;
  const gHi = desc.hi;
  const gateDpl = dplOf(desc.ar);
  if (gateDpl < st.cpl || gateDpl < (gateSel & 3)) gp(st, gateSel & 0xfffc);
  if (!(desc.ar & AR_P)) raise(st, NP, gateSel & 0xfffc);
  const size = desc.ar & 8 ? 4 : 2;
  const sel = gLo >>> 16;
  const offset = size === 4 ? (gLo & 0xffff) | (gHi & 0xffff0000) : gLo & 0xffff;
  const params = gHi & 0x1f;
  // Target code segment (Vol. 2 CALL: #GP(0) for null, #GP(selector) otherwise, #NP if not present).
  if ((sel & 0xfffc) === 0) gp(st, 0);
  if (!readDescriptor(st, sel)) gp(st, sel & 0xfffc);
  const ar = desc.ar;
  const dpl = dplOf(ar);
  const conforming = (ar & TYPE_CONFORMING) !== 0;
  if (!(ar & AR_S) || !(ar & TYPE_CODE) || dpl > st.cpl) gp(st, sel & 0xfffc);
  // JMP through a gate never changes privilege: a non-conforming target must have DPL = CPL.
  if (!call && !conforming && dpl !== st.cpl) gp(st, sel & 0xfffc);
  if (!(ar & AR_P)) raise(st, NP, sel & 0xfffc);
  const csLo = desc.lo;
  const csHi = desc.hi;
  const csAddr = desc.addr;
  const ret = nextEip(st, i);
  if (call && !conforming && dpl < st.cpl) {
    morePrivilege(st, dpl, size, params, ret);
  } else if (call) {
    // SAME-PRIVILEGE: push CS and the return EIP with the gate's size on the current stack.
    const r = st.regs;
    const s = size === 4 ? 2 : 1;
    const ssb = st.segBase[SS];
    wrS(st.mem, s, (r[ESP] - size + ssb) | 0, st.segSel[CS]);
    wrS(st.mem, s, (r[ESP] - 2 * size + ssb) | 0, ret);
    r[ESP] = (r[ESP] - 2 * size) | 0;
  }
  decode(csLo, csHi);
  desc.addr = csAddr;
  loadCs(st, sel, conforming ? st.cpl : dpl);
  st.eip = offset;
  return STATUS_CONTINUE;
}

/** Stack pointer and selector for privilege level `dpl` from the current TSS (§7.2.1 32-bit, §7.6 16-bit). */
const tssStack = { esp: 0, ss: 0 };

function readTssStack(st: CpuState, dpl: number): void {
  const tss = st.segBase[TR];
  const limit = st.segLimit[TR] >>> 0;
  const wide = (st.segAr[TR] & 8) !== 0;
  const at = wide ? 4 + 8 * dpl : 2 + 4 * dpl;
  const last = wide ? at + 5 : at + 3;
  if (last > limit) raise(st, TS, st.segSel[TR] & 0xfffc);
  tssStack.esp = wide ? st.mem.readSys((tss + at) | 0, 4) : st.mem.readSys((tss + at) | 0, 2);
  tssStack.ss = st.mem.readSys((tss + at + (wide ? 4 : 2)) | 0, 2);
}

/** True if `n` bytes below `top` fit in the stack segment just decoded into desc (expand-up or expand-down). */
function roomOnStack(top: number, n: number): boolean {
  const limit = desc.limit >>> 0;
  const low = (top >>> 0) - n;
  if (low < 0) return false;
  if ((desc.ar & 0x1c) === 0x14) return low > limit && top - 1 <= (desc.ar & AR_DB ? 0xffffffff : 0xffff);
  return top - 1 <= limit;
}

/**
 * MORE-PRIVILEGE (Vol. 2 CALL): new SS:ESP from the TSS for level `dpl`,
 * #TS/#SS checks on it, then push old SS, old ESP, `params` entries copied
 * from the old stack (keeping their order) and CS:EIP, all with the gate size.
 */
function morePrivilege(st: CpuState, dpl: number, size: number, params: number, ret: number): void {
  const r = st.regs;
  readTssStack(st, dpl);
  const newSs = tssStack.ss;
  let esp = tssStack.esp;
  checkStackSeg(st, newSs, dpl, true, 0);
  if (!roomOnStack(esp, (4 + params) * size)) raise(st, SS_VEC, newSs & 0xfffc);
  const ssLo = desc.lo;
  const ssHi = desc.hi;
  const ssBase = desc.base;
  const s = size === 4 ? 2 : 1;
  const oldSsBase = st.segBase[SS];
  const oldEsp = r[ESP];
  const old16 = (st.segAr[SS] & AR_DB) === 0;
  const put = (v: number) => {
    esp = (esp - size) | 0;
    st.mem.writeSys((ssBase + esp) | 0, size, v);
  };
  put(st.segSel[SS]);
  put(oldEsp);
  for (let n = params - 1; n >= 0; n--) {
    const off = old16 ? (oldEsp + n * size) & 0xffff : (oldEsp + n * size) | 0;
    put(rdS(st.mem, s, (oldSsBase + off) | 0));
  }
  put(st.segSel[CS]);
  put(ret);
  decode(ssLo, ssHi);
  setSeg(st, SS, (newSs & 0xfffc) | dpl);
  r[ESP] = esp;
}
