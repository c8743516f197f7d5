// Far transfers, software interrupts and returns in protected mode (SDM
// Vol. 2 JMP, CALL, RET, INT n/INTO/INT3, IRET; Vol. 3A §5.8 privilege
// checks). Supported: far JMP/CALL to a code segment at the same privilege
// or through a call gate (call-gate.ts), far RET and IRET to the same or an
// outer privilege, INT through interrupt and trap gates (interrupts.ts),
// IRET to virtual-8086 mode (v86.ts).
// Task switches (a TSS or task-gate selector, IRET with NT) are VM exits in
// VMX non-root operation (§25.1.2). In real-address mode
// (real-mode.ts) far transfers load CS as a paragraph number.
import {
  INTERRUPTIBILITY_NMI,
  INTR_TYPE_PRIV_SW_EXCEPTION,
  INTR_TYPE_SW_EXCEPTION,
  INTR_TYPE_SW_INTR,
} from "../vmx/vmcs-fields.js";
import { callGate, isCallGate } from "./call-gate.js";
import { BP, DB, gp, NP, OFV, raise, ud } from "./fault.js";
import { getFlags, OF, RF, VM } from "./flags.js";
import {
  type Insn,
  imm8,
  imm16,
  immZ,
  insnLen,
  nextEip,
  STATUS_BOUNDARY,
  STATUS_CONTINUE,
  STATUS_EXIT,
} from "./insn.js";
import { deliverEvent } from "./interrupts.js";
import { rd16, rd32, wrS } from "./memory.js";
import { realFarRet, realFarTransfer, realIret } from "./real-mode.js";
import {
  checkCodeSeg,
  checkStackSeg,
  decode,
  desc,
  loadCs,
  nullInaccessibleSegs,
  readDescriptor,
  realSegs,
  setSeg,
} from "./segments.js";
import { AR_S, type CpuState, CR0_PE, CS, ESP, SS, TR } from "./state.js";
import { flagsWritable } from "./system.js";
import { iretToV86, v86IoplCheck } from "./v86.js";

const R_TASK_SWITCH = 9;

/** Read the n-th stack slot above ESP without popping (so a fault leaves ESP unchanged). */
function peek(st: CpuState, o16: boolean, n: number, base = st.regs[ESP]): number {
  const lin = (base + n * (o16 ? 2 : 4) + st.segBase[SS]) | 0;
  return o16 ? rd16(st.mem, lin) : rd32(st.mem, lin);
}

/** Task switch requested by JMP (2), CALL (0) or IRET (1): Table 27-2 qualification. */
function taskSwitch(st: CpuState, i: Insn, sel: number, source: number): number {
  st.exitReason = R_TASK_SWITCH;
  st.exitQual = ((sel & 0xffff) | (source << 30)) >>> 0;
  st.exitInsnLen = insnLen(st, i);
  st.eip = st.ip0;
  return STATUS_EXIT;
}

/** A far JMP/CALL target that is a system descriptor: call gate (call-gate.ts), task switch exit, else #GP. */
function systemTarget(st: CpuState, i: Insn, sel: number, source: number): number {
  if (!readDescriptor(st, sel)) gp(st, sel & 0xfffc);
  const type = desc.ar & 0xf;
  if (isCallGate(type)) return callGate(st, i, sel, source === 0);
  if (type !== 5 && type !== 9 && type !== 1) return gp(st, sel & 0xfffc);
  // Vol. 3A §8.3 steps 2-3 and JMP/CALL "task gate"/"TSS": the privilege and present checks of
  // the gate or TSS descriptor are faults, which have priority over the VM exit (Vol. 3C §25.1.1).
  const dpl = (desc.ar >> 5) & 3;
  if (Math.max(st.cpl, sel & 3) > dpl) gp(st, sel & 0xfffc);
  if (!(desc.ar & 0x80)) raise(st, NP, sel & 0xfffc);
  // Through a task gate, the switch goes to the TSS the gate names: that selector is the qualification (Table 27-2).
  return taskSwitch(st, i, type === 5 ? desc.lo >>> 16 : sel, source);
}

function isSystem(st: CpuState, sel: number): boolean {
  return (sel & 0xfffc) !== 0 && readDescriptor(st, sel) && !(desc.ar & AR_S);
}

/** EA ptr16:32 / FF /5 m16:32 (call = false), 9A / FF /3 (call = true). */
export function farTransfer(st: CpuState, i: Insn, call: boolean): number {
  let off: number;
  let sel: number;
  if (i.op === 0xea || i.op === 0x9a) {
    off = immZ(i);
    sel = imm16(i);
  } else {
    if (i.rmr >= 0) ud(st); // FF /3 and FF /5 take a memory operand only (Vol. 2 App. A: Ep)
    const m = st.mem;
    off = i.o16 ? rd16(m, i.ea) : rd32(m, i.ea);
    sel = rd16(m, (i.ea + (i.o16 ? 2 : 4)) | 0);
  }
  if (realSegs(st)) return realFarTransfer(st, i, call, sel, off);
  if (isSystem(st, sel)) return systemTarget(st, i, sel, call ? 0 : 2);
  checkCodeSeg(st, sel, false, 0);
  if (call) {
    // Both pushes before ESP changes: a fault leaves the state as it was.
    const r = st.regs;
    const w = i.o16 ? 2 : 4;
    const ssb = st.segBase[SS];
    wrS(st.mem, i.o16 ? 1 : 2, (r[ESP] - w + ssb) | 0, st.segSel[CS]);
    wrS(st.mem, i.o16 ? 1 : 2, (r[ESP] - 2 * w + ssb) | 0, nextEip(st, i));
    r[ESP] = (r[ESP] - 2 * w) | 0;
  }
  loadCs(st, sel, st.cpl);
  st.eip = i.o16 ? off & 0xffff : off;
  return STATUS_CONTINUE;
}

/** CA/CB: far RET to the same or an outer privilege level (Vol. 2 RET). */
export function farRet(st: CpuState, i: Insn): number {
  const o16 = i.o16;
  const release = i.op === 0xca ? imm16(i) : 0;
  if (realSegs(st)) return realFarRet(st, i, release);
  const eip = peek(st, o16, 0);
  const sel = peek(st, o16, 1) & 0xffff;
  checkCodeSeg(st, sel, true, 0);
  const rpl = sel & 3;
  const csLo = desc.lo;
  const csHi = desc.hi;
  const csAddr = desc.addr;
  const w = o16 ? 2 : 4;
  if (rpl > st.cpl) {
    const esp = peek(st, o16, 2, (st.regs[ESP] + release) | 0);
    const ss = peek(st, o16, 3, (st.regs[ESP] + release) | 0) & 0xffff;
    checkStackSeg(st, ss, rpl, false, 0);
    const ssLo = desc.lo;
    const ssHi = desc.hi;
    decode(csLo, csHi);
    desc.addr = csAddr;
    loadCs(st, sel, rpl);
    decode(ssLo, ssHi);
    setSeg(st, SS, ss);
    st.regs[ESP] = (esp + release) | 0;
    nullInaccessibleSegs(st);
  } else {
    decode(csLo, csHi);
    desc.addr = csAddr;
    loadCs(st, sel, st.cpl);
    st.regs[ESP] = (st.regs[ESP] + 2 * w + release) | 0;
  }
  st.eip = o16 ? eip & 0xffff : eip;
  return STATUS_CONTINUE;
}

/** IRET in protected mode (Vol. 2 IRET: return to the same or an outer level; NT -> task return). */
export function iret(st: CpuState, i: Insn): number {
  const o16 = i.o16;
  if (realSegs(st)) return realIret(st, i);
  // Executing IRET ends NMI blocking (§6.7.1; with virtual NMIs, virtual-NMI blocking, §25.3).
  if (st.fl & 0x4000) {
    const back = st.mem.readSys(st.segBase[TR], 2);
    return taskSwitch(st, i, back, 1);
  }
  const eip = peek(st, o16, 0);
  const sel = peek(st, o16, 1) & 0xffff;
  const flags = peek(st, o16, 2);
  if (!o16 && flags & VM && st.cpl === 0) return iretToV86(st, eip, sel, flags);
  checkCodeSeg(st, sel, true, 0);
  const rpl = sel & 3;
  const csLo = desc.lo;
  const csHi = desc.hi;
  const csAddr = desc.addr;
  // A 32-bit IRET also loads RF from the image (Vol. 2 IRET; §17.3.1.1: how a #DB handler skips a breakpoint).
  const mask = flagsWritable(st, o16) | (o16 ? 0 : RF);
  const newFlags = (getFlags(st) & ~mask) | (flags & mask) | 2;
  if (rpl > st.cpl) {
    const esp = peek(st, o16, 3);
    const ss = peek(st, o16, 4) & 0xffff;
    checkStackSeg(st, ss, rpl, false, 0);
    const ssLo = desc.lo;
    const ssHi = desc.hi;
    decode(csLo, csHi);
    desc.addr = csAddr;
    loadCs(st, sel, rpl);
    decode(ssLo, ssHi);
    setSeg(st, SS, ss);
    st.regs[ESP] = esp;
    nullInaccessibleSegs(st);
  } else {
    decode(csLo, csHi);
    desc.addr = csAddr;
    loadCs(st, sel, st.cpl);
    st.regs[ESP] = (st.regs[ESP] + (o16 ? 6 : 12)) | 0;
  }
  st.fl = newFlags;
  st.lop = 0;
  st.interruptibility &= ~INTERRUPTIBILITY_NMI;
  st.eip = o16 ? eip & 0xffff : eip;
  return STATUS_BOUNDARY;
}

/** INT n, INT3, INTO, INT1: delivered as software interrupt / exception (§6.4.2; VMX types 4, 6, 5). */
export function softInt(st: CpuState, i: Insn): number {
  let vector: number;
  let type: number;
  switch (i.op) {
    case 0xcd:
      v86IoplCheck(st); // INT n is IOPL-sensitive in virtual-8086 mode (§20.2.7); INT3, INTO, INT1 are not
      vector = imm8(i);
      type = INTR_TYPE_SW_INTR;
      break;
    case 0xcc:
      vector = BP;
      type = INTR_TYPE_SW_EXCEPTION;
      break;
    case 0xce:
      if (!(getFlags(st) & OF)) {
        st.eip = nextEip(st, i);
        return STATUS_CONTINUE;
      }
      vector = OFV;
      type = INTR_TYPE_SW_EXCEPTION;
      break;
    default:
      vector = DB;
      type = INTR_TYPE_PRIV_SW_EXCEPTION;
      break;
  }
  // If delivery exits, the exit reports this instruction and its length (§27.2.4, §27.2.5).
  st.exitInsnLen = insnLen(st, i);
  deliverEvent(st, vector, type, -1, nextEip(st, i), true, false);
  if (st.exitReason >= 0) {
    st.eip = st.ip0;
    return STATUS_EXIT;
  }
  st.exitInsnLen = 0;
  return STATUS_BOUNDARY;
}

/**
 * SYSENTER / SYSEXIT (Vol. 2; flat segments derived from IA32_SYSENTER_CS):
 * #GP(0) in real-address mode, with IA32_SYSENTER_CS[15:2] = 0, and for
 * SYSEXIT at CPL != 0 (virtual-8086 mode runs at CPL 3).
 */
export function sysenter(st: CpuState, enter: boolean): number {
  const cs = st.sysenterCs & 0xfffc;
  if (cs === 0 || !(st.cr0 & CR0_PE) || (!enter && (st.cpl !== 0 || st.fl & VM))) gp(st, 0);
  const r = st.regs;
  const cpl = enter ? 0 : 3;
  const codeAr = 0xc09b | (cpl << 5);
  const dataAr = 0xc093 | (cpl << 5);
  desc.base = 0;
  desc.limit = -1;
  desc.ar = codeAr;
  setSeg(st, CS, enter ? cs : (cs + 16) | 3);
  desc.ar = dataAr;
  setSeg(st, SS, enter ? cs + 8 : (cs + 24) | 3);
  st.mem.setMode(st.mem.vpid, cpl === 3);
  st.cpl = cpl;
  if (enter) {
    st.fl = getFlags(st) & ~(VM | 0x200 | 0x10000);
    st.lop = 0;
    r[ESP] = st.sysenterEsp;
    st.eip = st.sysenterEip;
  } else {
    r[ESP] = r[1];
    st.eip = r[2];
  }
  return STATUS_BOUNDARY;
}
