// The architectural state of one emulated IA-32 logical processor while it
// runs a guest (SDM Vol. 3A ch. 2-3), plus the per-instruction scratch the
// interpreter and its helpers share. Registers live in typed arrays so the
// interpreter can keep a local reference to them; EFLAGS is lazy (flags.ts).
import { VmxControls } from "../vmx/controls.js";
import type { GuestMemory } from "./memory.js";
import { X87State } from "./x87-state.js";

// Segment register numbers as instructions encode them (SDM Vol. 2 Table 3-?? sreg field), then LDTR, TR.
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;
export const LDTR = 6;
export const TR = 7;

// General registers in ModR/M order.
export const EAX = 0;
export const ECX = 1;
export const EDX = 2;
export const EBX = 3;
export const ESP = 4;
export const EBP = 5;
export const ESI = 6;
export const EDI = 7;

// CR0 / CR4 bits (SDM Vol. 3A §2.5).
export const CR0_PE = 1;
export const CR0_MP = 2;
export const CR0_EM = 4;
export const CR0_TS = 8;
export const CR0_ET = 0x10;
export const CR0_NE = 0x20;
export const CR0_WP = 0x10000;
export const CR0_AM = 0x40000;
export const CR0_NW = 0x20000000;
export const CR0_CD = 0x40000000;
export const CR0_PG = 0x80000000 | 0;
export const CR4_VME = 1;
export const CR4_PVI = 2;
export const CR4_TSD = 4;
export const CR4_DE = 8;
export const CR4_PSE = 0x10;
export const CR4_PAE = 0x20;
export const CR4_MCE = 0x40;
export const CR4_PGE = 0x80;
export const CR4_PCE = 0x100;
export const CR4_OSFXSR = 0x200;
export const CR4_OSXMMEXCPT = 0x400;
export const CR4_VMXE = 0x2000;

// Debug-register bits (SDM Vol. 3B §17.2.3-17.2.4): DR6.BD, DR6.BS, DR7.GD.
export const DR6_BD = 0x2000;
export const DR6_BS = 0x4000;
export const DR7_GD = 0x2000;

// Segment access rights in the VMX format (SDM Vol. 3C §24.4.1, Table 24-2):
// descriptor bits 40-47 in 7:0, 52-55 in 15:12, "unusable" in bit 16.
export const AR_TYPE = 0xf;
export const AR_S = 0x10;
export const AR_DPL_SHIFT = 5;
export const AR_P = 0x80;
export const AR_DB = 0x4000;
export const AR_G = 0x8000;
export const AR_UNUSABLE = 0x10000;

export class CpuState {
  readonly regs = new Int32Array(8);
  eip = 0;
  // Lazy EFLAGS (flags.ts).
  fl = 2;
  lop = 0;
  lres = 0;
  la = 0;
  lb = 0;

  /** Hidden segment state (selector, base, limit, VMX access rights), indexed ES..GS, LDTR, TR. */
  readonly segSel = new Int32Array(8);
  readonly segBase = new Int32Array(8);
  readonly segLimit = new Int32Array(8);
  readonly segAr = new Int32Array(8);
  cpl = 0;

  cr0 = CR0_PE | CR0_ET;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  /** DR0-DR7 (DR4/DR5 are not stored: they alias DR6/DR7 when CR4.DE = 0). */
  readonly dr = new Int32Array(8);
  gdtrBase = 0;
  gdtrLimit = 0;
  idtrBase = 0;
  idtrLimit = 0;
  sysenterCs = 0;
  sysenterEsp = 0;
  sysenterEip = 0;
  /** Interruptibility state in the VMCS format (§24.4.2): STI / MOV-SS / NMI blocking. */
  interruptibility = 0;
  /** Activity state (§24.4.2): active or HLT. */
  activity = 0;

  // ---- per instruction ----
  /** EIP of the instruction being executed. */
  ip0 = 0;
  /** Index in the fetch buffer of the instruction's first byte, and the decode position. */
  p0 = 0;
  dp = 0;
  /** Default segment of the last 16-bit ModR/M address (SS for BP-based forms). */
  la16Seg = 3;
  /** Iterations the last REP string step performed. */
  iters = 0;
  /** Instructions retired in the current VM entry. */
  count = 0;
  /** TSC of the physical processor at VM entry (tsc + count is "now"). */
  tscAtEntry = 0;

  // ---- debug exceptions (debug.ts) ----
  /** DR6 bits (B0-B3, BD, BS) of the #DB being raised; DR6 receives them on delivery, a VM exit reports them. */
  dbgPending = 0;
  /** Data-breakpoint hits held back by MOV-SS blocking until the next instruction completes (§6.8.3). */
  dbgCarry = 0;
  /** Events delivered through the IDT/IVT so far (tells a debug step whether its instruction ended in one). */
  events = 0;

  // ---- a pending guest exception (fault.ts) ----
  excVector = 0;
  excError = -1;
  /** Linear address for CR2 when excVector is #PF. */
  excCr2 = 0;

  // ---- a pending VM exit (§27.2), exitReason < 0: none ----
  exitReason = -1;
  exitQual = 0;
  exitLinear = 0;
  exitGpa = 0;
  exitInsnLen = 0;
  exitInsnInfo = 0;
  exitIntrInfo = 0;
  exitIntrError = 0;
  idtVecInfo = 0;
  idtVecError = 0;

  /** The x87 FPU (x87.ts); the kernel may swap in each vCPU's own. */
  fpu = new X87State();

  /** The VM-execution controls of the running VMCS. */
  readonly ctl = new VmxControls();
  /** Linear-memory access (TLB, paging, EPT); set by the processor. */
  mem!: GuestMemory;

  /** Code segment with D = 0: 16-bit default operand and address size. */
  get code16(): boolean {
    return (this.segAr[CS] & AR_DB) === 0;
  }
}
