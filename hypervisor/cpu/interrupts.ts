// Delivery of interrupts and exceptions in protected mode (SDM Vol. 3A
// §6.10-6.15) as seen from VMX non-root operation (Vol. 3C §25.2, §27.2.4):
// an exception whose bit is set in the exception bitmap becomes a VM exit
// instead of being delivered; a fault while delivering an event becomes a
// double fault (Table 6-5) or a triple fault (a VM exit, reason 2); a VM
// exit during delivery records the event in the IDT-vectoring information.
import {
  INTR_INFO_DELIVER_ERROR,
  INTR_INFO_VALID,
  INTR_TYPE_EXT_INTR,
  INTR_TYPE_HW_EXCEPTION,
  INTR_TYPE_NMI,
  INTR_TYPE_PRIV_SW_EXCEPTION,
  INTR_TYPE_SW_EXCEPTION,
  INTR_TYPE_SW_INTR,
} from "../vmx/vmcs-fields.js";
import { DB, DE, DF, exitNow, FAULT, FAULT_EXIT, GP, gp, NP, PF, raise, TS } from "./fault.js";
import { getFlags, IF, NT, RF, TF, VM } from "./flags.js";
import { wrS } from "./memory.js";
import { realDeliver } from "./real-mode.js";
import { checkHandlerSeg, checkStackSeg, decode, desc, dplOf, loadCs, setSeg, TYPE_CONFORMING } from "./segments.js";
import { AR_DB, type CpuState, CR0_PE, CS, ESP, SS, TR } from "./state.js";
import { v86Deliver } from "./v86.js";

const EXIT_EXCEPTION = 0;
const EXIT_TRIPLE_FAULT = 2;
const EXIT_TASK_SWITCH = 9;

/** Contributory exceptions (Table 6-4): #DE, #TS, #NP, #SS, #GP. */
function contributory(v: number): boolean {
  return v === DE || (v >= TS && v <= GP);
}

function isException(type: number): boolean {
  return type === INTR_TYPE_HW_EXCEPTION || type === INTR_TYPE_SW_EXCEPTION || type === INTR_TYPE_PRIV_SW_EXCEPTION;
}

/** The exception the interpreter caught (st.excVector/excError), reported with EIP at the faulting instruction. */
export function deliverFault(st: CpuState): void {
  deliverEvent(st, st.excVector, INTR_TYPE_HW_EXCEPTION, st.excError, st.eip, true, true);
}

/**
 * Deliver event `vector` of VMX interruption type `type` with error code
 * `error` (-1: none); `retEip` is the EIP to push. `checkBitmap` is false
 * for VM-entry injection (§26.6.1: injected events are not subject to the
 * exception bitmap). `fromFault`: a #PF with st.excCr2 to load into CR2.
 * On return, either EIP is at the handler or st.exitReason is set.
 */
export function deliverEvent(
  st: CpuState,
  vector: number,
  type: number,
  error: number,
  retEip: number,
  checkBitmap: boolean,
  fromFault: boolean,
): void {
  let vecInfo = 0;
  let vecError = 0;
  // Real-address mode: exceptions push no error code and report none (§20.1.4; §27.2.2 for the exit).
  const real = (st.cr0 & CR0_PE) === 0;
  for (;;) {
    if (real) error = -1;
    if (checkBitmap && isException(type) && st.ctl.exceptionExits(vector, error)) {
      exceptionExit(st, vector, type, error);
      st.idtVecInfo = vecInfo;
      st.idtVecError = vecError;
      return;
    }
    checkBitmap = true;
    st.events++;
    try {
      if (vector === PF && fromFault) st.cr2 = st.excCr2;
      idtDeliver(st, vector, type, error, retEip);
      if (vector === DB && type === INTR_TYPE_HW_EXCEPTION) debugDelivered(st);
      return;
    } catch (e) {
      if (e !== FAULT) throw e;
      const info = INTR_INFO_VALID | vector | (type << 8) | (error >= 0 ? INTR_INFO_DELIVER_ERROR : 0);
      if (FAULT.kind === FAULT_EXIT) {
        st.idtVecInfo = info;
        st.idtVecError = Math.max(error, 0);
        return;
      }
      const second = st.excVector;
      const firstClass = type === INTR_TYPE_HW_EXCEPTION ? vector : -1;
      if (firstClass === DF && (contributory(second) || second === PF)) {
        // §6.15 interrupt 8: a fault while delivering #DF shuts the processor down; in VMX, a VM exit.
        st.exitReason = EXIT_TRIPLE_FAULT;
        st.exitQual = 0;
        return;
      }
      vecInfo = info;
      vecError = Math.max(error, 0);
      if (
        (contributory(firstClass) && contributory(second)) ||
        (firstClass === PF && (second === PF || contributory(second)))
      ) {
        vector = DF;
        error = 0;
      } else {
        vector = second;
        error = st.excError;
      }
      type = INTR_TYPE_HW_EXCEPTION;
      fromFault = true;
      retEip = st.eip;
    }
  }
}

/** §27.2.2: VM-exit interruption information for an exception that exits. */
function exceptionExit(st: CpuState, vector: number, type: number, error: number): void {
  st.exitReason = EXIT_EXCEPTION;
  st.exitIntrInfo = INTR_INFO_VALID | vector | (type << 8) | (error >= 0 ? INTR_INFO_DELIVER_ERROR : 0);
  st.exitIntrError = Math.max(error, 0);
  // §27.2.1: #PF exits report the faulting linear address (CR2 is not loaded); #DB the DR6 bits.
  // A #DB exit leaves DR6 unchanged and reports the bits it would have set (B0-B3, BD, BS; Table 27-1).
  st.exitQual = vector === PF ? st.excCr2 >>> 0 : vector === DB ? st.dbgPending & 0x600f : 0;
  st.dbgPending = 0;
}

/**
 * #DB delivered through the IDT (not exiting): DR6 receives the pending
 * bits (§17.2.3: the processor sets them and never clears the others); a
 * general-detect fault clears DR7.GD so the handler can use the debug
 * registers (§17.2.4).
 */
function debugDelivered(st: CpuState): void {
  const bits = st.dbgPending;
  st.dbgPending = 0;
  st.dr[6] |= bits;
  if (bits & 0x2000) st.dr[7] &= ~0x2000;
}

/** Push `v` of `size` bytes below `esp` on the stack at `ssBase`; returns the new ESP. */
function push(st: CpuState, ssBase: number, esp: number, size: number, v: number, user: boolean): number {
  esp = (esp - size) | 0;
  const lin = (ssBase + esp) | 0;
  // A handler at CPL 3 pushes with user rights (§5.5: only supervisor-mode accesses may touch supervisor pages).
  if (user) wrS(st.mem, size === 4 ? 2 : 1, lin, v);
  else st.mem.writeSys(lin, size, v);
  return esp;
}

/** Delivery through the IDT (§6.12, Vol. 2 INT n pseudocode); in real-address mode through the IVT. */
function idtDeliver(st: CpuState, vector: number, type: number, error: number, retEip: number): void {
  if ((st.cr0 & CR0_PE) === 0) {
    realDeliver(st, vector, retEip & 0xffff);
    return;
  }
  const ext = type === INTR_TYPE_EXT_INTR || type === INTR_TYPE_NMI || type === INTR_TYPE_HW_EXCEPTION ? 1 : 0;
  const gateErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > st.idtrLimit >>> 0) gp(st, gateErr);
  const gaddr = (st.idtrBase + vector * 8) | 0;
  const lo = st.mem.readSys(gaddr, 4);
  const hi = st.mem.readSys((gaddr + 4) | 0, 4);
  const gtype = (hi >> 8) & 0x1f;
  const software = type === INTR_TYPE_SW_INTR || type === INTR_TYPE_SW_EXCEPTION;
  if (gtype === 0x05) {
    // Task gate: task switches always exit in VMX non-root (§25.1.2); qualification Table 27-2, source 3.
    st.exitReason = EXIT_TASK_SWITCH;
    st.exitQual = ((lo >>> 16) | (3 << 30)) >>> 0;
    exitNow();
  }
  if (gtype !== 0x0e && gtype !== 0x0f && gtype !== 0x06 && gtype !== 0x07) gp(st, gateErr);
  if (software && ((hi >> 13) & 3) < st.cpl) gp(st, vector * 8 + 2);
  if (!(hi & 0x8000)) raise(st, NP, gateErr);
  const sel = lo >>> 16;
  const offset = (lo & 0xffff) | (hi & 0xffff0000);
  checkHandlerSeg(st, sel, ext);
  if (st.fl & VM) {
    // From virtual-8086 mode: only to ring 0, with the data segments in the frame (v86.ts).
    v86Deliver(st, sel, offset, (gtype & 8) !== 0, (gtype & 1) !== 0, error, retEip, getFlags(st), ext);
    return;
  }
  const dpl = dplOf(desc.ar);
  const conforming = (desc.ar & TYPE_CONFORMING) !== 0;
  const newCpl = conforming ? st.cpl : dpl;
  const gsize = gtype & 8 ? 4 : 2;
  const csLo = desc.lo;
  const csHi = desc.hi;
  const csAddr = desc.addr;
  const flags = getFlags(st);
  let ssBase = st.segBase[SS];
  let esp = st.regs[ESP];
  let newSs = -1;
  const user = newCpl === 3;
  if (newCpl < st.cpl) {
    // Inter-privilege: stack from the TSS (§7.2.1, 32-bit TSS: ESPn at 4 + 8n, SSn at 8 + 8n).
    const tss = st.segBase[TR];
    const tssLimit = st.segLimit[TR] >>> 0;
    if (8 * newCpl + 9 > tssLimit) raise(st, TS, (st.segSel[TR] & 0xfffc) | ext);
    const newEsp = st.mem.readSys((tss + 4 + 8 * newCpl) | 0, 4);
    newSs = st.mem.readSys((tss + 8 + 8 * newCpl) | 0, 2);
    checkStackSeg(st, newSs, newCpl, true, ext);
    ssBase = desc.base;
    const ssLimit = desc.limit;
    const ssAr = desc.ar;
    esp = push(st, ssBase, newEsp, gsize, st.segSel[SS], user);
    esp = push(st, ssBase, esp, gsize, st.regs[ESP], user);
    esp = push(st, ssBase, esp, gsize, flags, user);
    esp = push(st, ssBase, esp, gsize, st.segSel[CS], user);
    esp = push(st, ssBase, esp, gsize, retEip, user);
    if (error >= 0) esp = push(st, ssBase, esp, gsize, error, user);
    desc.base = ssBase;
    desc.limit = ssLimit;
    desc.ar = ssAr;
    setSeg(st, SS, newSs);
  } else {
    if (!conforming && dpl > st.cpl) gp(st, (sel & 0xfffc) | ext);
    esp = push(st, ssBase, esp, gsize, flags, user);
    esp = push(st, ssBase, esp, gsize, st.segSel[CS], user);
    esp = push(st, ssBase, esp, gsize, retEip, user);
    if (error >= 0) esp = push(st, ssBase, esp, gsize, error, user);
  }
  // Commit (nothing above changed registers except SS on the privilege change, which cannot fault after).
  st.regs[ESP] = (st.segAr[SS] & AR_DB) === 0 ? (st.regs[ESP] & ~0xffff) | (esp & 0xffff) : esp;
  decode(csLo, csHi);
  desc.addr = csAddr;
  loadCs(st, sel, newCpl);
  st.eip = gsize === 4 ? offset : offset & 0xffff;
  // §6.12.1.3: TF, NT, RF, VM cleared; interrupt gates also clear IF.
  let f = flags & ~(TF | NT | RF | VM);
  if ((gtype & 1) === 0) f &= ~IF;
  st.fl = f;
  st.lop = 0;
}
