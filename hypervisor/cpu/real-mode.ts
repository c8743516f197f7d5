// Control transfers that change CS in real-address mode (SDM Vol. 3A
// §20.1; Vol. 2 JMP, CALL, RET, IRET and INT n "real-address mode"
// operation): CS is loaded as a paragraph number without a descriptor,
// and interrupts and exceptions go through the interrupt vector table at
// IDTR.base (4-byte CS:IP entries, §20.1.4) with a 16-bit FLAGS/CS/IP frame.
import { INTERRUPTIBILITY_NMI } from "../vmx/vmcs-fields.js";
import { gp, raise, SS as SS_VEC } from "./fault.js";
import { AC, getFlags, IF, IOPL, TF, VM } from "./flags.js";
import { type Insn, nextEip, STATUS_BOUNDARY, STATUS_CONTINUE } from "./insn.js";
import { outsideSeg } from "./limits.js";
import { loadRealSeg } from "./segments.js";
import { getSp, peek, setSp, spPlus, stackWrite } from "./stack.js";
import { type CpuState, CS, SS } from "./state.js";
import { v86FlagsMask } from "./v86.js";

/** The new IP must lie within CS (Vol. 2 JMP/CALL/RET real-address mode: #GP). */
function checkIp(st: CpuState, ip: number): void {
  if (ip >>> 0 > st.segLimit[CS] >>> 0) gp(st, 0);
}

/** Far JMP/CALL (EA, 9A, FF /3, FF /5) in real-address or virtual-8086 mode. */
export function realFarTransfer(st: CpuState, i: Insn, call: boolean, sel: number, off: number): number {
  const ip = i.o16 ? off & 0xffff : off;
  checkIp(st, ip);
  if (call) {
    // Both slots are written before SP moves: a fault leaves the state as it was.
    const w = i.o16 ? 2 : 4;
    const sp = getSp(st);
    stackWrite(st, spPlus(st, sp, -w), w, st.segSel[CS]);
    stackWrite(st, spPlus(st, sp, -2 * w), w, nextEip(st, i));
    setSp(st, spPlus(st, sp, -2 * w));
  }
  loadRealSeg(st, CS, sel);
  st.eip = ip;
  return STATUS_CONTINUE;
}

/** Far RET (CA, CB): IP, then CS, then release `release` bytes of parameters. */
export function realFarRet(st: CpuState, i: Insn, release: number): number {
  const w = i.o16 ? 2 : 4;
  const ip = peek(st, w, 0);
  const sel = peek(st, w, 1) & 0xffff;
  checkIp(st, ip);
  setSp(st, spPlus(st, getSp(st), 2 * w + release));
  loadRealSeg(st, CS, sel);
  st.eip = ip;
  return STATUS_CONTINUE;
}

/** FLAGS bits a real-mode IRET/POPF loads (Vol. 2 IRET: all of FLAGS but the reserved bits 1, 3, 5, 15). */
const REAL_FLAGS16 = 0x7fd5;
/** A 32-bit IRET also loads AC and ID, keeping VM, VIF, VIP (Vol. 2 IRET: AND 257FD5H, EFLAGS AND 1A0000H). */
const REAL_FLAGS32 = 0x257fd5;

/** IRET in real-address mode: IP, CS, FLAGS (Vol. 2 IRET, "REAL-ADDRESS-MODE"). */
export function realIret(st: CpuState, i: Insn): number {
  if (st.fl & VM && (st.fl & IOPL) !== IOPL) gp(st, 0); // virtual-8086 mode, IOPL < 3
  const w = i.o16 ? 2 : 4;
  const ip = peek(st, w, 0);
  const sel = peek(st, w, 1) & 0xffff;
  const image = peek(st, w, 2);
  checkIp(st, ip);
  // Virtual-8086 mode keeps IOPL, VM, VIF, VIP (Vol. 2 IRET RETURN-FROM-VIRTUAL-8086-MODE).
  const mask = st.fl & VM ? v86FlagsMask(i.o16) : i.o16 ? REAL_FLAGS16 : REAL_FLAGS32;
  setSp(st, spPlus(st, getSp(st), 3 * w));
  loadRealSeg(st, CS, sel);
  st.fl = (getFlags(st) & ~mask) | (image & mask) | 2;
  st.lop = 0;
  // Executing IRET ends NMI blocking (§6.7.1).
  st.interruptibility &= ~INTERRUPTIBILITY_NMI;
  st.eip = ip;
  return STATUS_BOUNDARY;
}

/**
 * Deliver interrupt or exception `vector` through the IVT (§20.1.4; Vol. 2
 * INT n "REAL-ADDRESS-MODE"): #GP if the entry lies beyond IDTR.limit, #SS
 * if the 6-byte frame does not fit the stack (checked before anything is
 * written), then push FLAGS, CS, IP (`retIp`); clear IF, TF and AC; load
 * CS:IP from the entry. Real-mode exceptions push no error code.
 */
export function realDeliver(st: CpuState, vector: number, retIp: number): void {
  if (vector * 4 + 3 > st.idtrLimit >>> 0) gp(st, 0);
  const entry = (st.idtrBase + vector * 4) | 0;
  const ip = st.mem.readSys(entry, 2);
  const sel = st.mem.readSys((entry + 2) | 0, 2);
  const sp = getSp(st);
  const a = spPlus(st, sp, -2);
  const b = spPlus(st, sp, -4);
  const c = spPlus(st, sp, -6);
  if (outsideSeg(st, SS, a, 2) || outsideSeg(st, SS, b, 2) || outsideSeg(st, SS, c, 2)) raise(st, SS_VEC, 0);
  const flags = getFlags(st);
  stackWrite(st, a, 2, flags);
  stackWrite(st, b, 2, st.segSel[CS]);
  stackWrite(st, c, 2, retIp);
  setSp(st, c);
  loadRealSeg(st, CS, sel);
  st.fl = flags & ~(IF | TF | AC);
  st.lop = 0;
  st.eip = ip;
}
