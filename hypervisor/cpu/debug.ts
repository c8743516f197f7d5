// Debug exceptions (SDM Vol. 3B ch. 17): single-step traps (EFLAGS.TF,
// §17.3.1.4), instruction breakpoints (DR0-DR3 with R/W = 00, fault class,
// suppressed by EFLAGS.RF, §17.3.1.1), data breakpoints (R/W = 01 write,
// 11 read/write; trap class after the access's instruction, §17.3.1.2),
// I/O breakpoints (R/W = 10 with CR4.DE, trap class, §17.2.4-17.2.5) for
// IN/OUT the processor carries out itself (system.ts), the MOV DR
// general-detect fault (DR7.GD, §17.2.4, raised in system.ts), and the
// VMCS "pending debug exceptions" field (Vol. 3C §24.4.2 Table 24-4): what
// VM exit saves there (§27.3.4) and what VM entry does with it (§26.6.3).
//
// The hot interpreter knows nothing of this: while TF or RF is set or DR7
// enables a breakpoint, the processor runs one instruction at a time
// through debugStep, which checks instruction breakpoints before, arms the
// memory watch for data breakpoints during, and raises the trap after the
// instruction. Not modelled: data breakpoints on implicit supervisor
// accesses (descriptor tables, TSS, interrupt frames), DEBUGCTL branch
// trapping, task-switch T-bit traps.
import { ACTIVITY_ACTIVE, INTERRUPTIBILITY_MOV_SS, INTR_TYPE_HW_EXCEPTION } from "../vmx/vmcs-fields.js";
import { DB } from "./fault.js";
import { RF, TF } from "./flags.js";
import { execute } from "./interpreter.js";
import { deliverEvent } from "./interrupts.js";
import { type CpuState, CR4_DE, CS, DR6_BS } from "./state.js";

/** Breakpoint n is enabled locally or globally (DR7 Ln/Gn). */
function enabled(dr7: number, n: number): boolean {
  return ((dr7 >> (2 * n)) & 3) !== 0;
}

/** R/W field of breakpoint n: 0 execute, 1 write, 2 I/O, 3 read/write. */
function rw(dr7: number, n: number): number {
  return (dr7 >>> (16 + 4 * n)) & 3;
}

/** LEN field of breakpoint n in bytes (00 = 1, 01 = 2, 11 = 4; 10 = 8, undefined on P6, taken as 8). */
function len(dr7: number, n: number): number {
  const l = (dr7 >>> (18 + 4 * n)) & 3;
  return l === 0 ? 1 : l === 1 ? 2 : l === 3 ? 4 : 8;
}

/** True if the processor must step one instruction at a time (TF, RF, or an enabled breakpoint). */
export function debugActive(st: CpuState): boolean {
  return (st.fl & (TF | RF)) !== 0 || (st.dr[7] & 0xff) !== 0 || st.dbgCarry !== 0;
}

/** Breakpoints enabled with R/W = 01 or 11 (data). */
function dataBreakpoints(dr7: number): boolean {
  for (let n = 0; n < 4; n++) if (enabled(dr7, n) && rw(dr7, n) & 1) return true;
  return false;
}

/** The memory watch: an access of n bytes at `lin` that overlaps a data breakpoint records its B bit. */
function watcher(st: CpuState): (lin: number, n: number, write: boolean) => void {
  return (lin, n, write) => {
    const dr7 = st.dr[7];
    for (let k = 0; k < 4; k++) {
      if (!enabled(dr7, k)) continue;
      const kind = rw(dr7, k);
      if (kind === 0 || kind === 2 || (kind === 1 && !write)) continue;
      const size = len(dr7, k);
      // §17.2.5: the breakpoint covers LEN bytes from DRn aligned down to LEN.
      const lo = (st.dr[k] & ~(size - 1)) >>> 0;
      const start = lin >>> 0;
      if (start < lo + size && lo < start + n) st.dbgPending |= 1 << k;
    }
  };
}

const watchers = new WeakMap<CpuState, (lin: number, n: number, write: boolean) => void>();

/**
 * Execute one instruction with debug semantics (see the file comment).
 * Returns with st.exitReason >= 0 on a VM exit, like execute().
 */
export function debugStep(st: CpuState): void {
  const dr7 = st.dr[7];
  if (!(st.fl & RF) && dr7 & 0xff && instructionBreakpoint(st, dr7)) return;
  // RF suppresses instruction breakpoints for one instruction; the processor clears it after the
  // instruction completes (§17.3.1.1). IRET loads it from its image, so clear it first.
  st.fl &= ~RF;
  const tf = (st.fl & TF) !== 0;
  const m = st.mem;
  const watch = dataBreakpoints(dr7);
  st.dbgPending = st.dbgCarry;
  st.dbgCarry = 0;
  const events = st.events;
  const before = st.count;
  const movSsBefore = st.interruptibility & INTERRUPTIBILITY_MOV_SS;
  if (watch) {
    let w = watchers.get(st);
    if (w === undefined) {
      w = watcher(st);
      watchers.set(st, w);
    }
    m.watcher = w;
    m.setWatch(true);
  }
  try {
    execute(st, before + 1);
  } finally {
    if (watch) m.setWatch(false);
  }
  if (st.exitReason >= 0 || st.count === before || st.events !== events) {
    // A VM exit, or the instruction ended in an exception or a software interrupt: no trap (§17.3.1.4).
    st.dbgPending = 0;
    return;
  }
  let bits = st.dbgPending & 0xf;
  if (tf) bits |= DR6_BS;
  st.dbgPending = 0;
  if (bits === 0) return;
  if (!movSsBefore && st.interruptibility & INTERRUPTIBILITY_MOV_SS) {
    // §6.8.3: debug traps of MOV SS / POP SS wait for the end of the next instruction.
    st.dbgCarry = bits & 0xf;
    return;
  }
  raiseDebugTrap(st, bits, st.eip);
}

/** §17.3.1.1: an enabled execute breakpoint at CS:EIP is a fault before the instruction runs. */
function instructionBreakpoint(st: CpuState, dr7: number): boolean {
  const lin = (st.segBase[CS] + st.eip) | 0;
  let hits = 0;
  for (let n = 0; n < 4; n++) if (enabled(dr7, n) && rw(dr7, n) === 0 && st.dr[n] === lin) hits |= 1 << n;
  if (hits === 0) return false;
  st.count++;
  raiseDebugTrap(st, hits, st.eip);
  if (st.exitReason >= 0) st.count--;
  return true;
}

/** Deliver #DB with DR6 bits `bits`, pushing `eip` (the faulting or the next instruction). */
export function raiseDebugTrap(st: CpuState, bits: number, eip: number): void {
  st.dbgPending = bits;
  st.ip0 = eip;
  deliverEvent(st, DB, INTR_TYPE_HW_EXCEPTION, -1, eip, true, false);
  st.dbgPending = 0;
}

/**
 * B0-B3 bits of the I/O breakpoints an access of `size` bytes to `port`
 * matches: R/W = 10 is an I/O breakpoint only with CR4.DE = 1 (§17.2.4);
 * DRn holds the port, LEN its width, aligned like a data breakpoint (§17.2.5).
 */
export function ioBreakpoints(st: CpuState, port: number, size: number): number {
  if (!(st.cr4 & CR4_DE)) return 0;
  const dr7 = st.dr[7];
  let hits = 0;
  for (let n = 0; n < 4; n++) {
    if (!enabled(dr7, n) || rw(dr7, n) !== 2) continue;
    const l = len(dr7, n);
    const lo = st.dr[n] & 0xffff & ~(l - 1);
    if (port < lo + l && lo < port + size) hits |= 1 << n;
  }
  return hits;
}

// Pending-debug-exceptions field (Table 24-4): B3-B0 in 3:0, enabled breakpoint in 12, BS in 14.
const PENDING_ENABLED_BP = 0x1000;
const PENDING_BS = 0x4000;

/**
 * §27.3.4: the field VM exit saves. Clear for every exit except one that is not
 * caused by a debug exception and happens under MOV-SS blocking of debug traps
 * (§6.8.3); then the causes held back: B3-B0 of matched breakpoints (st.dbgCarry)
 * with bit 12 (they were enabled in DR7), and BS when TF is set (the single-step
 * trap of the MOV SS; §26.3.1.5 also requires BS = TF under that blocking). The
 * processor keeps nothing: the next VM entry, perhaps of another VMCS, starts
 * from the field.
 */
export function savePendingDebug(st: CpuState, debugExit: boolean): number {
  const carry = st.dbgCarry & 0xf;
  st.dbgCarry = 0;
  if (debugExit || !(st.interruptibility & INTERRUPTIBILITY_MOV_SS)) return 0;
  return carry | (carry !== 0 ? PENDING_ENABLED_BP : 0) | (st.fl & TF ? PENDING_BS : 0);
}

/**
 * §26.6.3: VM entry with pending debug exceptions. Valid only with BS or bit 12
 * set. A vectoring entry (an injected event) loses them (the SDM's exception for
 * an injected INT3/INTO after MOV SS is not modelled); under MOV-SS blocking they
 * stay held until the next instruction completes; otherwise #DB is delivered
 * before the first guest instruction, with the priority of a trap on the
 * previous instruction, DR6 getting B3-B0 and BS (or a VM exit through the
 * exception bitmap).
 */
export function loadPendingDebug(st: CpuState, field: number, vectoring: boolean): void {
  st.dbgCarry = 0;
  if (!(field & (PENDING_BS | PENDING_ENABLED_BP)) || vectoring) return;
  const bits = field & (PENDING_BS | 0xf);
  if (st.interruptibility & INTERRUPTIBILITY_MOV_SS) {
    st.dbgCarry = bits & 0xf;
    return;
  }
  st.activity = ACTIVITY_ACTIVE;
  raiseDebugTrap(st, bits, st.eip);
}
