// One emulated physical processor in VMX operation: VMLAUNCH/VMRESUME of a
// VMCS runs the guest in VMX non-root operation until a VM exit (SDM Vol. 3C
// ch. 25-27). Entry: checks (entry-checks.ts), guest-state load (§26.3.2),
// event injection (§26.6); then the interpreter runs with the exit
// conditions of ch. 25 checked at instruction boundaries here and inside
// instructions in cpu/; exit: guest-state save (§27.3) and exit
// information (§27.2). The host timer is the instruction budget: when it
// runs out, an external-interrupt exit (the kernel always sets
// external-interrupt exiting).
import { debugActive, debugStep, loadPendingDebug, savePendingDebug } from "../cpu/debug.js";
import { execute } from "../cpu/interpreter.js";
import { deliverEvent } from "../cpu/interrupts.js";
import { Jit } from "../cpu/jit/jit.js";
import { GuestMemory } from "../cpu/memory.js";
import { CpuState } from "../cpu/state.js";
import type { X87State } from "../cpu/x87-state.js";
import type { Ept } from "../mmu/ept.js";
import type { HostMemory } from "../mmu/host-memory.js";
import { noteExitingInstruction, owedDebugTraps } from "./emulated-debug-traps.js";
import { checkControls, checkGuestState } from "./entry-checks.js";
import { EXIT_REASON_ENTRY_FAILURE, ExitReason } from "./exit-reason.js";
import { loadGuestState, saveGuestState } from "./guest-state.js";
import type { Vmcs } from "./vmcs.js";
import * as F from "./vmcs-fields.js";

const INTR_TYPE_OTHER = 7;

/** Debug registers that are neither VMCS fields nor constant: each vCPU keeps its own (DR4/5 alias DR6/7). */
const DEBUG_CONTEXT = [0, 1, 2, 3, 6] as const;

export class Processor {
  /** Virtual TSC of this physical processor: +1 per retired guest instruction. */
  tsc = 0;
  /** Instructions retired during the last enter() (the kernel charges them to the vCPU's virtual time). */
  retired = 0;
  /** Why the last VM entry failed (exit reason 33), or null. */
  entryFailure: string | null = null;
  /** The processor's architectural state (registers stay here between entries, as on hardware). */
  readonly state = new CpuState();
  readonly memory: GuestMemory;
  /** The EPT and its generation the TLB's combined mappings were made with (§28.4). */
  private tlbEpt: Ept | null = null;
  private tlbEptGeneration = -1;

  /** The JIT tier (cpu/jit/), or null to run interpreter-only. */
  jit: Jit | null = null;

  /** `jit`: compile hot code (default: on unless the environment has MOAT_JIT=0). */
  constructor(host: HostMemory, options: { jit?: boolean } = {}) {
    this.memory = new GuestMemory(this.state, host);
    this.state.mem = this.memory;
    this.setJit(options.jit ?? process.env.MOAT_JIT !== "0");
  }

  /** Switch the JIT tier on or off (compiled code is dropped when it goes off). */
  setJit(on: boolean): void {
    if (on === (this.jit !== null)) return;
    this.jit?.detach();
    this.jit = on ? new Jit(this.memory) : null;
  }

  /**
   * Load the registers a VM exit leaves in the processor (SDM §27.3: not in
   * the VMCS): GPRs (ESP excepted, it is in the VMCS), CR2, and DR0-DR3 and
   * DR6 (`dr`, indexed by register number; DR7 is a VMCS field), and the
   * vCPU's x87 context `fpu`, used in place (neither is in the VMCS).
   */
  loadContext(gpr: Uint32Array, cr2: number, dr?: Int32Array, fpu?: X87State): void {
    for (let n = 0; n < 8; n++) if (n !== 4) this.state.regs[n] = gpr[n];
    this.state.cr2 = cr2 | 0;
    if (dr) for (const n of DEBUG_CONTEXT) this.state.dr[n] = dr[n];
    if (fpu) this.state.fpu = fpu;
  }

  /** Save them; returns CR2. */
  saveContext(gpr: Uint32Array, dr?: Int32Array): number {
    for (let n = 0; n < 8; n++) if (n !== 4) gpr[n] = this.state.regs[n];
    if (dr) for (const n of DEBUG_CONTEXT) dr[n] = this.state.dr[n];
    return this.state.cr2 >>> 0;
  }

  /** INVEPT (all contexts): drop every cached guest-physical derived translation (§28.4.3.1). */
  invept(): void {
    this.memory.flushAll();
  }

  /** INVVPID single-context (§28.4.3.3 / Vol. 3A §4.10.4). */
  invvpid(vpid: number): void {
    this.memory.tlb.flushVpid(vpid);
    this.memory.codePage = -1;
  }

  /** VMLAUNCH/VMRESUME of `vmcs`; runs until a VM exit or `budget` retired instructions. Returns the exit reason. */
  enter(vmcs: Vmcs, budget: number): number {
    this.retired = 0;
    const failure = checkControls(vmcs) ?? checkGuestState(vmcs);
    this.entryFailure = failure;
    if (failure !== null) {
      // §26.3: a guest-state failure is a VM exit with reason 33 and bit 31 set; qualification 0.
      const reason = (ExitReason.ENTRY_FAIL_GUEST_STATE | EXIT_REASON_ENTRY_FAILURE) >>> 0;
      vmcs.write(F.VM_EXIT_REASON, reason);
      vmcs.write(F.EXIT_QUALIFICATION, 0);
      return reason;
    }
    vmcs.launched = true;
    this.jit?.newEpoch();
    const st = this.state;
    st.ctl.load(vmcs);
    loadGuestState(st, vmcs);
    this.selectTranslations(vmcs);
    clearExit(st);
    st.count = 0;
    st.tscAtEntry = this.tsc;
    const pin = st.ctl.pin;
    const timer = pin & F.PIN_PREEMPTION_TIMER ? vmcs.read(F.VMX_PREEMPTION_TIMER_VALUE) : Number.POSITIVE_INFINITY;
    const vectoring = (vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD) & F.INTR_INFO_VALID) !== 0;
    this.inject(vmcs);
    // §26.6.3: pending debug exceptions (cpu/debug.ts), after the injected event is (not) delivered.
    // Plus the traps owed by an exiting instruction the VMM completed (emulated-debug-traps.ts).
    const owed = owedDebugTraps(vmcs, st.eip, vectoring);
    if (st.exitReason < 0) loadPendingDebug(st, vmcs.read(F.GUEST_PENDING_DBG_EXCEPTIONS) | owed, vectoring);
    if (st.exitReason < 0) this.run(Math.max(0, Math.floor(budget)), timer);
    this.retired = st.count;
    this.tsc += st.count;
    if (pin & F.PIN_PREEMPTION_TIMER && vmcs.read(F.VM_EXIT_CONTROLS) & F.EXIT_SAVE_PREEMPTION_TIMER) {
      vmcs.write(F.VMX_PREEMPTION_TIMER_VALUE, Math.max(0, timer - st.count));
    }
    saveGuestState(st, vmcs);
    const debugExit = st.exitReason === ExitReason.EXCEPTION_NMI && (st.exitIntrInfo & 0xff) === 1;
    vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, savePendingDebug(st, debugExit)); // §27.3.4
    noteExitingInstruction(st, vmcs);
    writeExitInfo(st, vmcs);
    if (!(st.ctl.proc2 & F.SEC_ENABLE_VPID)) this.memory.flushVpid(); // §28.3.3.3 / Vol. 3A §4.10.4: VPID 0
    return st.exitReason;
  }

  /** TLB tag and EPT for this entry; without VPIDs, VM entry flushes VPID 0's translations (§28.1). */
  private selectTranslations(vmcs: Vmcs): void {
    const st = this.state;
    const m = this.memory;
    const ept = st.ctl.proc2 & F.SEC_ENABLE_EPT ? vmcs.ept : null;
    m.walker.ept = ept;
    if (ept !== this.tlbEpt || (ept !== null && ept.generation !== this.tlbEptGeneration)) {
      // A different or changed EPT: combined mappings are stale (the VMM would execute INVEPT).
      m.flushAll();
      this.tlbEpt = ept;
      this.tlbEptGeneration = ept?.generation ?? -1;
    }
    m.setMode(st.ctl.vpid, st.cpl === 3);
    if (!(st.ctl.proc2 & F.SEC_ENABLE_VPID)) m.flushVpid();
  }

  /** §26.6: deliver the VM-entry interruption and clear its valid bit (§27.2.? "cleared on every VM exit"). */
  private inject(vmcs: Vmcs): void {
    const info = vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD);
    if (!(info & F.INTR_INFO_VALID)) return;
    vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (info & ~F.INTR_INFO_VALID) >>> 0);
    const st = this.state;
    const vector = info & 0xff;
    const type = (info >>> 8) & 7;
    if (type === INTR_TYPE_OTHER) return; // MTF pending: no monitor-trap flag support yet
    const error = info & F.INTR_INFO_DELIVER_ERROR ? vmcs.read(F.VM_ENTRY_EXCEPTION_ERROR_CODE) | 0 : -1;
    const software =
      type === F.INTR_TYPE_SW_INTR || type === F.INTR_TYPE_PRIV_SW_EXCEPTION || type === F.INTR_TYPE_SW_EXCEPTION;
    const len = software ? vmcs.read(F.VM_ENTRY_INSTRUCTION_LEN) : 0;
    // §26.6.3 / 26.6.5: an injected event makes a halted processor active; an NMI blocks NMIs.
    st.activity = F.ACTIVITY_ACTIVE;
    if (type === F.INTR_TYPE_NMI) st.interruptibility |= F.INTERRUPTIBILITY_NMI;
    st.ip0 = st.eip;
    st.exitInsnLen = len;
    deliverEvent(st, vector, type, error, (st.eip + len) | 0, false, false);
    if (st.exitReason < 0) st.exitInsnLen = 0;
    else if (st.exitReason !== ExitReason.TRIPLE_FAULT && (st.idtVecInfo & F.INTR_INFO_VALID) === 0) {
      // The exit happened before delivery began (e.g. task gate): it still reports the injected event.
      st.idtVecInfo = info >>> 0;
      st.idtVecError = Math.max(error, 0);
    }
  }

  /** Run until a VM exit; `timer` is the preemption-timer value at entry (Infinity when inactive). */
  private run(budget: number, timer: number): void {
    const st = this.state;
    const ctl = st.ctl;
    const limit = Math.min(budget, timer);
    for (;;) {
      // Instruction boundary: exits by priority (§26.7 / §25.2): preemption timer, NMI window,
      // interrupt window, then the host timer (the budget).
      if (st.count >= timer) {
        exitAt(st, ExitReason.PREEMPTION_TIMER);
        return;
      }
      const blocking = st.interruptibility;
      if (ctl.proc & F.CPU_NMI_WINDOW_EXITING && !(blocking & (F.INTERRUPTIBILITY_NMI | F.INTERRUPTIBILITY_MOV_SS))) {
        exitAt(st, ExitReason.NMI_WINDOW);
        return;
      }
      if (
        ctl.proc & F.CPU_INTR_WINDOW_EXITING &&
        st.fl & 0x200 &&
        !(blocking & (F.INTERRUPTIBILITY_STI | F.INTERRUPTIBILITY_MOV_SS))
      ) {
        exitAt(st, ExitReason.INTERRUPT_WINDOW);
        return;
      }
      if (st.count >= budget) {
        exitAt(st, ExitReason.EXTERNAL_INTERRUPT);
        return;
      }
      if (st.activity === F.ACTIVITY_HLT) {
        // Halted: virtual time passes until the next event (budget end or timer expiry).
        st.count = limit;
        continue;
      }
      const shadow = blocking & (F.INTERRUPTIBILITY_STI | F.INTERRUPTIBILITY_MOV_SS);
      const before = st.count;
      // TF, RF or armed breakpoints: one instruction at a time with the debug checks (cpu/debug.ts).
      if (debugActive(st)) debugStep(st);
      else if (this.jit !== null && !shadow) this.jit.run(st, limit);
      else execute(st, shadow ? before + 1 : limit);
      if (st.exitReason >= 0) return;
      // POPF, IRET or MOV CR0 may have switched alignment checking (§6.15 interrupt 17).
      this.memory.updateAlignCheck();
      // STI / MOV SS blocking ends after the next instruction completes (§24.4.2, §6.8.3).
      if (shadow && st.count > before) st.interruptibility &= ~shadow;
    }
  }
}

function exitAt(st: CpuState, reason: number): void {
  st.exitReason = reason;
  st.exitQual = 0;
}

function clearExit(st: CpuState): void {
  st.exitReason = -1;
  st.exitQual = 0;
  st.exitLinear = 0;
  st.exitGpa = 0;
  st.exitInsnLen = 0;
  st.exitInsnInfo = 0;
  st.exitIntrInfo = 0;
  st.exitIntrError = 0;
  st.idtVecInfo = 0;
  st.idtVecError = 0;
}

/** §27.2: the exit-information fields. */
function writeExitInfo(st: CpuState, vmcs: Vmcs): void {
  vmcs.write(F.VM_EXIT_REASON, st.exitReason >>> 0);
  vmcs.write(F.EXIT_QUALIFICATION, st.exitQual >>> 0);
  vmcs.write(F.GUEST_LINEAR_ADDRESS, st.exitLinear >>> 0);
  vmcs.write(F.GUEST_PHYSICAL_ADDRESS, st.exitGpa);
  vmcs.write(F.VM_EXIT_INSTRUCTION_LEN, st.exitInsnLen);
  vmcs.write(F.VMX_INSTRUCTION_INFO, st.exitInsnInfo >>> 0);
  vmcs.write(F.VM_EXIT_INTR_INFO, st.exitIntrInfo >>> 0);
  vmcs.write(F.VM_EXIT_INTR_ERROR_CODE, st.exitIntrError >>> 0);
  vmcs.write(F.IDT_VECTORING_INFO_FIELD, st.idtVecInfo >>> 0);
  vmcs.write(F.IDT_VECTORING_ERROR_CODE, st.idtVecError >>> 0);
}
