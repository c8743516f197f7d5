// The checks VMLAUNCH/VMRESUME make before entering the guest (SDM Vol. 3C,
// 2022 numbering): §26.2 on the VM-execution, VM-exit and VM-entry control
// fields (a failure is VMfailValid with VM-instruction error 7) and §26.3.1 on
// the guest-state area (a failure is a VM exit with reason 33, "VM-entry
// failure due to invalid guest state"). Each check returns null or a short
// message naming the field, the rule and the SDM section.
//
// The processor is IA-32 only (no Intel 64): natural-width fields are 32 bits,
// there is no IA-32e mode guest, and the canonical-address checks do not
// apply. It has no host-state area (the host is the hypervisor itself), so
// the §26.2.2-26.2.4 host checks have nothing to check. What it reports in its
// VMX capability MSRs (SDM App. A) is exported below; these constants are the
// single source for an RDMSR of them.
//
// Not a VM-entry check: RIP against the CS limit. Entry succeeds and the
// first fetch faults with #GP in the guest, as on hardware.

import type { Vmcs } from "./vmcs.js";
import * as F from "./vmcs-fields.js";

/**
 * Allowed settings of one controls field (App. A.3-A.5): bits that must be 1
 * and bits that may be 1. IA32_VMX_BASIC[55] = 1 and the TRUE_*_CTLS MSRs
 * allow every "default1" control to be 0, so no bit must be 1; default1 bits
 * may be 1 (they have no function); every other unsupported bit must be 0.
 */
export interface ControlCaps {
  readonly must1: number;
  readonly may1: number;
}

const PIN_DEFAULT1 = 0x16; // bits 1, 2, 4 (App. A.3.1)
const PROC_DEFAULT1 = 0x0401e172; // bits 1, 4-6, 8, 13-16, 26 (App. A.3.2)
const EXIT_DEFAULT1 = 0x00036dff; // bits 0-8, 10, 11, 13, 14, 16, 17 (App. A.4)
const ENTRY_DEFAULT1 = 0x000011ff; // bits 0-8, 12 (App. A.5)

export const PINBASED_CAPS: ControlCaps = {
  must1: 0,
  may1: PIN_DEFAULT1 | F.PIN_EXTINT_EXITING | F.PIN_NMI_EXITING | F.PIN_VIRTUAL_NMIS | F.PIN_PREEMPTION_TIMER,
};
/** No CR8 exiting (bits 19, 20: Intel 64 only) and no TPR shadow (21). */
export const PROCBASED_CAPS: ControlCaps = {
  must1: 0,
  may1:
    (PROC_DEFAULT1 |
      F.CPU_INTR_WINDOW_EXITING |
      F.CPU_USE_TSC_OFFSETTING |
      F.CPU_HLT_EXITING |
      F.CPU_INVLPG_EXITING |
      F.CPU_MWAIT_EXITING |
      F.CPU_RDPMC_EXITING |
      F.CPU_RDTSC_EXITING |
      F.CPU_CR3_LOAD_EXITING |
      F.CPU_CR3_STORE_EXITING |
      F.CPU_NMI_WINDOW_EXITING |
      F.CPU_MOV_DR_EXITING |
      F.CPU_UNCOND_IO_EXITING |
      F.CPU_USE_IO_BITMAPS |
      F.CPU_MONITOR_TRAP_FLAG |
      F.CPU_USE_MSR_BITMAPS |
      F.CPU_MONITOR_EXITING |
      F.CPU_PAUSE_EXITING |
      F.CPU_ACTIVATE_SECONDARY) >>>
    0,
};
export const PROCBASED2_CAPS: ControlCaps = {
  must1: 0,
  may1:
    F.SEC_ENABLE_EPT | F.SEC_DESC_TABLE_EXITING | F.SEC_ENABLE_VPID | F.SEC_WBINVD_EXITING | F.SEC_UNRESTRICTED_GUEST,
};
/** No "host address-space size" (bit 9: Intel 64 only), no PAT/EFER/PERF_GLOBAL_CTRL controls. */
export const EXIT_CAPS: ControlCaps = {
  must1: 0,
  may1: EXIT_DEFAULT1 | F.EXIT_SAVE_DEBUG_CONTROLS | F.EXIT_ACK_INTR_ON_EXIT | F.EXIT_SAVE_PREEMPTION_TIMER,
};
/** No IA-32e mode guest (bit 9), no SMM (10, 11), no PERF_GLOBAL_CTRL/PAT/EFER loading (13-15). */
export const ENTRY_CAPS: ControlCaps = { must1: 0, may1: ENTRY_DEFAULT1 | F.ENTRY_LOAD_DEBUG_CONTROLS };

/**
 * IA32_VMX_CR0_FIXED0/1 (App. A.7). FIXED0 = PE | PG. Real processors also
 * fix NE to 1, forcing VMMs to shadow it and changing how x87 errors are
 * reported to an NE=0 guest (FERR#/IRQ 13 becomes #MF); this processor
 * implements NE=0 in VMX non-root operation, so it does not fix NE and
 * DOS-era guests run unmodified. FIXED1 = the CR0 bits a P6 has (PE MP EM TS
 * ET NE WP AM NW CD PG); every other bit must be 0. With "unrestricted guest"
 * PE and PG may be 0 (§26.3.1.1).
 */
export const VMX_CR0_FIXED0 = 0x80000001;
export const VMX_CR0_FIXED1 = 0xe005003f;
/**
 * IA32_VMX_CR4_FIXED0/1 (App. A.8). Real processors fix VMXE (bit 13) to 1;
 * this one offers no nested VMX and does not. FIXED1 = TSD DE PSE MCE PGE
 * PCE: no VME/PVI (virtual-8086 mode runs without the VME extensions,
 * cpu/v86.ts), no PAE (the guest paging unit has no PAE mode yet), no
 * OSFXSR/OSXMMEXCPT (no SSE on a P6 integer core).
 */
export const VMX_CR4_FIXED0 = 0;
export const VMX_CR4_FIXED1 = 0x1dc;
/** IA32_VMX_MISC (App. A.6): CR3-target values supported. Bit 30 (zero-length software-event injection) is 0. */
export const VMX_MAX_CR3_TARGETS = 4;
/** IA32_DEBUGCTL bits this processor has: LBR (0) and BTF (1); the rest are reserved (§26.3.1.1). */
export const DEBUGCTL_VALID = 0x3;
/** MAXPHYADDR for VMX structures (IA32_VMX_BASIC[48] = 0: 52-bit physical addresses). */
const PHYS_LIMIT = 2 ** 52;

/** VM-exit MSR-store/load and VM-entry MSR-load counts and addresses (App. B.2.1, B.3.1). */
export const VM_EXIT_MSR_STORE_ADDR = 0x2006;
export const VM_EXIT_MSR_LOAD_ADDR = 0x2008;
export const VM_ENTRY_MSR_LOAD_ADDR = 0x200a;
export const VM_EXIT_MSR_STORE_COUNT = 0x400e;
export const VM_EXIT_MSR_LOAD_COUNT = 0x4010;
export const VM_ENTRY_MSR_LOAD_COUNT = 0x4014;

const INTR_TYPE_OTHER = 7;

// ---------------------------------------------------------------------------
// §26.2: control fields
// ---------------------------------------------------------------------------

/** §26.2.1: null if the control fields allow VM entry, else why not (VMfailValid, error 7). */
export function checkControls(vmcs: Vmcs): string | null {
  return (
    checkControlWidths(vmcs) ?? checkExecutionControls(vmcs) ?? checkExitControls(vmcs) ?? checkEntryControls(vmcs)
  );
}

const CONTROL_FIELDS: readonly [string, number][] = [
  ["PIN_BASED_VM_EXEC_CONTROL", F.PIN_BASED_VM_EXEC_CONTROL],
  ["CPU_BASED_VM_EXEC_CONTROL", F.CPU_BASED_VM_EXEC_CONTROL],
  ["SECONDARY_VM_EXEC_CONTROL", F.SECONDARY_VM_EXEC_CONTROL],
  ["VM_EXIT_CONTROLS", F.VM_EXIT_CONTROLS],
  ["VM_ENTRY_CONTROLS", F.VM_ENTRY_CONTROLS],
  ["CR3_TARGET_COUNT", F.CR3_TARGET_COUNT],
  ["VPID", F.VPID],
  ["EPT_POINTER", F.EPT_POINTER],
  ["IO_BITMAP_A", F.IO_BITMAP_A],
  ["IO_BITMAP_B", F.IO_BITMAP_B],
  ["MSR_BITMAP", F.MSR_BITMAP],
  ["VM_ENTRY_INTR_INFO_FIELD", F.VM_ENTRY_INTR_INFO_FIELD],
  ["VM_ENTRY_EXCEPTION_ERROR_CODE", F.VM_ENTRY_EXCEPTION_ERROR_CODE],
  ["VM_ENTRY_INSTRUCTION_LEN", F.VM_ENTRY_INSTRUCTION_LEN],
  ["VM_EXIT_MSR_STORE_COUNT", VM_EXIT_MSR_STORE_COUNT],
  ["VM_EXIT_MSR_LOAD_COUNT", VM_EXIT_MSR_LOAD_COUNT],
  ["VM_ENTRY_MSR_LOAD_COUNT", VM_ENTRY_MSR_LOAD_COUNT],
];

/** Field values come from an untrusted VMM: each must be an integer that fits its field (App. B). */
function checkControlWidths(vmcs: Vmcs): string | null {
  for (const [name, enc] of CONTROL_FIELDS) {
    const r = fitsField(name, enc, vmcs.read(enc));
    if (r !== null) return r;
  }
  return null;
}

/** Secondary controls as the processor uses them: 0 unless "activate secondary controls" is 1 (§24.6.2). */
function secondary(vmcs: Vmcs): number {
  return vmcs.read(F.CPU_BASED_VM_EXEC_CONTROL) & F.CPU_ACTIVATE_SECONDARY ? vmcs.read(F.SECONDARY_VM_EXEC_CONTROL) : 0;
}

/** §26.2.1.1 */
function checkExecutionControls(vmcs: Vmcs): string | null {
  const S = "26.2.1.1";
  const pin = vmcs.read(F.PIN_BASED_VM_EXEC_CONTROL);
  const proc = vmcs.read(F.CPU_BASED_VM_EXEC_CONTROL);
  const proc2 = secondary(vmcs);
  const r =
    checkCaps("pin-based controls", pin, PINBASED_CAPS, S) ??
    checkCaps("primary processor-based controls", proc, PROCBASED_CAPS, S) ??
    (proc & F.CPU_ACTIVATE_SECONDARY
      ? checkCaps("secondary processor-based controls", proc2, PROCBASED2_CAPS, S)
      : null);
  if (r !== null) return r;
  if (vmcs.read(F.CR3_TARGET_COUNT) > VMX_MAX_CR3_TARGETS) {
    return fail(`CR3-target count ${vmcs.read(F.CR3_TARGET_COUNT)} exceeds ${VMX_MAX_CR3_TARGETS}`, S);
  }
  if (proc & F.CPU_USE_IO_BITMAPS) {
    const a = checkPageAddress("I/O bitmap A address", vmcs.read(F.IO_BITMAP_A), S);
    if (a !== null) return a;
    const b = checkPageAddress("I/O bitmap B address", vmcs.read(F.IO_BITMAP_B), S);
    if (b !== null) return b;
  }
  if (proc & F.CPU_USE_MSR_BITMAPS) {
    const m = checkPageAddress("MSR-bitmap address", vmcs.read(F.MSR_BITMAP), S);
    if (m !== null) return m;
  }
  if (!(pin & F.PIN_NMI_EXITING) && pin & F.PIN_VIRTUAL_NMIS) return fail("virtual NMIs set without NMI exiting", S);
  if (!(pin & F.PIN_VIRTUAL_NMIS) && proc & F.CPU_NMI_WINDOW_EXITING) {
    return fail("NMI-window exiting set without virtual NMIs", S);
  }
  if (proc2 & F.SEC_ENABLE_VPID && vmcs.read(F.VPID) === 0) return fail("VPID is 0 with enable VPID set", S);
  if (proc2 & F.SEC_ENABLE_EPT) {
    const e = checkEptp(vmcs);
    if (e !== null) return e;
  }
  if (proc2 & F.SEC_UNRESTRICTED_GUEST && !(proc2 & F.SEC_ENABLE_EPT)) {
    return fail("unrestricted guest set without enable EPT", S);
  }
  return null;
}

/**
 * §26.2.1.1, EPTP (Table 24-8): memory type UC (0) or WB (6); walk length
 * minus one (5:3) = 3; bit 6 (A/D) allowed; bits 11:7 and 63:52 reserved.
 * moat keeps the paging structures as an object (Vmcs.ept): it must exist,
 * and the EPTP's address bits, if given, must name its PML4 and bit 6 must
 * match its A/D setting.
 */
function checkEptp(vmcs: Vmcs): string | null {
  const S = "26.2.1.1";
  const eptp = vmcs.read(F.EPT_POINTER);
  const low = eptp % 4096;
  const mt = low & 7;
  if (mt !== 0 && mt !== 6) return fail(`EPTP: memory type ${mt} not supported (UC or WB only)`, S);
  if (((low >>> 3) & 7) !== 3) return fail(`EPTP: page-walk length ${((low >>> 3) & 7) + 1} is not 4`, S);
  if (low & 0xf80) return fail("EPTP: reserved bits 11:7 set", S);
  if (eptp >= PHYS_LIMIT) return fail("EPTP: bits beyond the physical-address width set", S);
  const ept = vmcs.ept;
  if (ept === null) return fail("EPTP: enable EPT set but no EPT paging structures", S);
  const address = eptp - low;
  if (address !== 0 && address !== ept.pml4) return fail("EPTP: address does not name the EPT PML4 table", S);
  if (((low >>> 6) & 1) !== (ept.accessDirty ? 1 : 0)) {
    return fail("EPTP: bit 6 (accessed/dirty) does not match the EPT's setting", S);
  }
  return null;
}

/** §26.2.1.2 */
function checkExitControls(vmcs: Vmcs): string | null {
  const S = "26.2.1.2";
  const exit = vmcs.read(F.VM_EXIT_CONTROLS);
  const r = checkCaps("VM-exit controls", exit, EXIT_CAPS, S);
  if (r !== null) return r;
  if (exit & F.EXIT_SAVE_PREEMPTION_TIMER && !(vmcs.read(F.PIN_BASED_VM_EXEC_CONTROL) & F.PIN_PREEMPTION_TIMER)) {
    return fail("save VMX-preemption timer value set without activate VMX-preemption timer", S);
  }
  return (
    checkMsrArea(vmcs, "VM-exit MSR-store", VM_EXIT_MSR_STORE_COUNT, VM_EXIT_MSR_STORE_ADDR, S) ??
    checkMsrArea(vmcs, "VM-exit MSR-load", VM_EXIT_MSR_LOAD_COUNT, VM_EXIT_MSR_LOAD_ADDR, S)
  );
}

/** §26.2.1.3 */
function checkEntryControls(vmcs: Vmcs): string | null {
  const S = "26.2.1.3";
  const r = checkCaps("VM-entry controls", vmcs.read(F.VM_ENTRY_CONTROLS), ENTRY_CAPS, S);
  return (
    r ??
    checkEntryEvent(vmcs) ??
    checkMsrArea(vmcs, "VM-entry MSR-load", VM_ENTRY_MSR_LOAD_COUNT, VM_ENTRY_MSR_LOAD_ADDR, S)
  );
}

/** §26.2.1.3: the VM-entry interruption-information field (§24.8.3) and what goes with it. */
function checkEntryEvent(vmcs: Vmcs): string | null {
  const S = "26.2.1.3";
  const info = vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD);
  if (!(info & F.INTR_INFO_VALID)) return null;
  const vector = info & 0xff;
  const type = (info >>> 8) & 7;
  if (type === 1) return fail("event injection: interruption type 1 is reserved", S);
  if (type === F.INTR_TYPE_NMI && vector !== 2) return fail(`event injection: NMI with vector ${vector}, not 2`, S);
  if (type === F.INTR_TYPE_HW_EXCEPTION && vector > 31) {
    return fail(`event injection: hardware exception with vector ${vector} > 31`, S);
  }
  if (type === INTR_TYPE_OTHER && vector !== 0)
    return fail(`event injection: other event with vector ${vector}, not 0`, S);
  const unrestricted = (secondary(vmcs) & F.SEC_UNRESTRICTED_GUEST) !== 0;
  const protectedMode = (vmcs.read(F.GUEST_CR0) & 1) !== 0;
  const needsCode = (!unrestricted || protectedMode) && type === F.INTR_TYPE_HW_EXCEPTION && hasErrorCode(vector);
  const delivers = (info & F.INTR_INFO_DELIVER_ERROR) !== 0;
  if (delivers !== needsCode) {
    return fail(
      `event injection: deliver-error-code ${delivers ? "set" : "clear"} for type ${type} vector ${vector}` +
        (unrestricted && !protectedMode ? " in real mode" : ""),
      S,
    );
  }
  if (info & 0x7ffff000) return fail("event injection: reserved bits 30:12 set", S);
  if (delivers && vmcs.read(F.VM_ENTRY_EXCEPTION_ERROR_CODE) > 0xffff) {
    return fail("event injection: error code bits 31:16 set", S);
  }
  const len = vmcs.read(F.VM_ENTRY_INSTRUCTION_LEN);
  if (
    (type === F.INTR_TYPE_SW_INTR || type === F.INTR_TYPE_PRIV_SW_EXCEPTION || type === F.INTR_TYPE_SW_EXCEPTION) &&
    (len < 1 || len > 15)
  ) {
    return fail(`event injection: instruction length ${len} not in 1-15 for a software event`, S);
  }
  return null;
}

/** #DF, #TS, #NP, #SS, #GP, #PF, #AC push an error code (§26.2.1.3; no #CP: no CET). */
function hasErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

/** moat's VMCS holds no MSR areas: their counts must be 0 (an SDM-valid nonzero count would be ignored otherwise). */
function checkMsrArea(vmcs: Vmcs, what: string, countField: number, addrField: number, section: string): string | null {
  const count = vmcs.read(countField);
  if (count === 0) return null;
  const addr = vmcs.read(addrField);
  if (addr % 16 !== 0) return fail(`${what} address not 16-byte aligned`, section);
  return fail(`${what} count ${count}: MSR areas are not supported by this processor`, section);
}

function checkCaps(name: string, value: number, caps: ControlCaps, section: string): string | null {
  const missing = caps.must1 & ~value;
  if (missing !== 0) return fail(`${name}: bit ${lowestBit(missing)} must be 1`, section);
  const extra = value & ~caps.may1;
  if (extra !== 0) return fail(`${name}: bit ${lowestBit(extra)} not supported`, section);
  return null;
}

function checkPageAddress(name: string, value: number, section: string): string | null {
  if (value % 4096 !== 0) return fail(`${name} not 4 KiB aligned`, section);
  if (value >= PHYS_LIMIT) return fail(`${name} beyond the physical-address width`, section);
  return null;
}

// ---------------------------------------------------------------------------
// §26.3.1: guest-state area
// ---------------------------------------------------------------------------

/** §26.3.1: null if the guest state allows VM entry, else why not (exit reason 33). */
export function checkGuestState(vmcs: Vmcs): string | null {
  return (
    checkGuestWidths(vmcs) ??
    checkControlRegisters(vmcs) ??
    checkSegments(vmcs) ??
    checkDescriptorTables(vmcs) ??
    checkRflags(vmcs) ??
    checkActivityState(vmcs) ??
    checkInterruptibility(vmcs) ??
    checkPendingDebug(vmcs) ??
    checkLinkPointer(vmcs)
  );
}

/** Every guest-state field of vmcs-fields.ts (encoding bits 11:10 = 2, App. B), by name. */
const GUEST_FIELDS: readonly [string, number][] = Object.entries(F).filter(
  (e): e is [string, number] => e[0].startsWith("GUEST_") && typeof e[1] === "number" && ((e[1] >>> 10) & 3) === 2,
);

function checkGuestWidths(vmcs: Vmcs): string | null {
  for (const [name, enc] of GUEST_FIELDS) {
    const r = fitsField(name, enc, vmcs.read(enc));
    if (r !== null) return r;
  }
  return null;
}

/**
 * A value fits its field: a non-negative integer below 2^16 or 2^32 by the
 * width in encoding bits 14:13 (natural width is 32 bits on an IA-32
 * processor, so e.g. DR7 bits 63:32 are 0 by construction), 64-bit fields
 * below 2^53 (App. B; vmcs-fields.ts).
 */
function fitsField(name: string, enc: number, value: number): string | null {
  const width = (enc >>> 13) & 3;
  const max = width === 0 ? 0xffff : width === 1 ? Number.MAX_SAFE_INTEGER : 0xffffffff;
  if (Number.isInteger(value) && value >= 0 && value <= max) return null;
  return `${name}: ${value} does not fit the field (${width === 0 ? 16 : width === 1 ? 64 : 32} bits, SDM App. B)`;
}

/** §26.3.1.1 */
function checkControlRegisters(vmcs: Vmcs): string | null {
  const S = "26.3.1.1";
  const unrestricted = (secondary(vmcs) & F.SEC_UNRESTRICTED_GUEST) !== 0;
  const cr0 = vmcs.read(F.GUEST_CR0);
  const fixed0 = unrestricted ? VMX_CR0_FIXED0 & ~0x80000001 : VMX_CR0_FIXED0;
  const r =
    checkFixed("CR0", cr0, fixed0, VMX_CR0_FIXED1, S) ??
    checkFixed("CR4", vmcs.read(F.GUEST_CR4), VMX_CR4_FIXED0, VMX_CR4_FIXED1, S);
  if (r !== null) return r;
  if (cr0 & 0x80000000 && !(cr0 & 1)) return fail("CR0: PG set without PE", S);
  if (vmcs.read(F.VM_ENTRY_CONTROLS) & F.ENTRY_LOAD_DEBUG_CONTROLS) {
    const debugctl = vmcs.read(F.GUEST_IA32_DEBUGCTL);
    if (debugctl & ~DEBUGCTL_VALID || debugctl > 0xffffffff) return fail("IA32_DEBUGCTL: reserved bits set", S);
  }
  return null;
}

function checkFixed(name: string, value: number, fixed0: number, fixed1: number, section: string): string | null {
  const clear = fixed0 & ~value;
  if (clear !== 0) return fail(`${name}: bit ${lowestBit(clear)} must be 1 (FIXED0)`, section);
  const set = value & ~fixed1;
  if (set !== 0) return fail(`${name}: bit ${lowestBit(set)} must be 0 (FIXED1)`, section);
  return null;
}

interface Segment {
  name: string;
  selector: number;
  base: number;
  limit: number;
  ar: number;
}

const UNUSABLE = 1 << 16;

function segment(vmcs: Vmcs, name: string, sel: number, base: number, limit: number, ar: number): Segment {
  return { name, selector: vmcs.read(sel), base: vmcs.read(base), limit: vmcs.read(limit), ar: vmcs.read(ar) };
}

const usable = (s: Segment) => (s.ar & UNUSABLE) === 0;
const type = (s: Segment) => s.ar & 0xf;
const dpl = (s: Segment) => (s.ar >>> 5) & 3;
const rpl = (s: Segment) => s.selector & 3;

/** §26.3.1.2: CS, SS, DS, ES, FS, GS, TR, LDTR. */
function checkSegments(vmcs: Vmcs): string | null {
  const cs = segment(vmcs, "CS", F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES);
  const ss = segment(vmcs, "SS", F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES);
  const data = [
    segment(vmcs, "DS", F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES),
    segment(vmcs, "ES", F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES),
    segment(vmcs, "FS", F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES),
    segment(vmcs, "GS", F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES),
  ];
  const tr = segment(vmcs, "TR", F.GUEST_TR_SELECTOR, F.GUEST_TR_BASE, F.GUEST_TR_LIMIT, F.GUEST_TR_AR_BYTES);
  const ldtr = segment(
    vmcs,
    "LDTR",
    F.GUEST_LDTR_SELECTOR,
    F.GUEST_LDTR_BASE,
    F.GUEST_LDTR_LIMIT,
    F.GUEST_LDTR_AR_BYTES,
  );
  const v86 = (vmcs.read(F.GUEST_RFLAGS) & (1 << 17)) !== 0;
  const unrestricted = (secondary(vmcs) & F.SEC_UNRESTRICTED_GUEST) !== 0;
  const pe = (vmcs.read(F.GUEST_CR0) & 1) !== 0;
  const r = v86 ? checkV86Segments([cs, ss, ...data]) : checkProtectedSegments(cs, ss, data, unrestricted, pe);
  return r ?? checkTr(tr) ?? checkLdtr(ldtr);
}

/** §26.3.1.2 in virtual-8086 mode: base = selector * 16, limit 0xFFFF, AR 0xF3. */
function checkV86Segments(segs: Segment[]): string | null {
  const S = "26.3.1.2";
  for (const s of segs) {
    if (s.base !== s.selector * 16) return fail(`${s.name}.base: not selector * 16 in virtual-8086 mode`, S);
    if (s.limit !== 0xffff) return fail(`${s.name}.limit: not 0xFFFF in virtual-8086 mode`, S);
    if (s.ar !== 0xf3) return fail(`${s.name}.AR: not 0xF3 in virtual-8086 mode`, S);
  }
  return null;
}

/** §26.3.1.2 outside virtual-8086 mode: selectors' RPL, types, DPL, S, P, reserved bits, G. */
function checkProtectedSegments(
  cs: Segment,
  ss: Segment,
  data: Segment[],
  unrestricted: boolean,
  pe: boolean,
): string | null {
  const S = "26.3.1.2";
  // Selectors.
  if (!unrestricted && rpl(ss) !== rpl(cs)) return fail("SS.selector: RPL differs from CS.RPL", S);
  // Types.
  const ct = type(cs);
  if (ct === 3) {
    if (!unrestricted) return fail("CS.AR: type 3 not allowed when not unrestricted guest", S);
  } else if (ct !== 9 && ct !== 11 && ct !== 13 && ct !== 15) {
    return fail(`CS.AR: type ${ct} is not an accessed code segment`, S);
  }
  if (usable(ss) && type(ss) !== 3 && type(ss) !== 7)
    return fail(`SS.AR: type ${type(ss)} is not read/write accessed data`, S);
  for (const d of data) {
    if (!usable(d)) continue;
    if (!(d.ar & 1)) return fail(`${d.name}.AR: type ${type(d)} not accessed`, S);
    if (d.ar & 8 && !(d.ar & 2)) return fail(`${d.name}.AR: type ${type(d)} is an execute-only code segment`, S);
  }
  // DPL.
  if (ct === 3 && dpl(cs) !== 0) return fail("CS.AR: DPL must be 0 with type 3", S);
  if ((ct === 9 || ct === 11) && dpl(cs) !== dpl(ss))
    return fail("CS.AR: DPL of a non-conforming CS differs from SS.DPL", S);
  if ((ct === 13 || ct === 15) && dpl(cs) > dpl(ss)) return fail("CS.AR: DPL of a conforming CS exceeds SS.DPL", S);
  if (!unrestricted && dpl(ss) !== rpl(ss)) return fail("SS.AR: DPL differs from SS.RPL", S);
  if ((ct === 3 || !pe) && dpl(ss) !== 0) return fail("SS.AR: DPL must be 0 with CS type 3 or CR0.PE = 0", S);
  if (!unrestricted) {
    for (const d of data) {
      if (usable(d) && type(d) <= 11 && dpl(d) < rpl(d)) return fail(`${d.name}.AR: DPL below the selector's RPL`, S);
    }
  }
  // S, P, reserved bits, granularity; CS always, the others if usable.
  for (const s of [cs, ss, ...data]) {
    if (s !== cs && !usable(s)) continue;
    const r = checkDescriptorBits(s, 1, S);
    if (r !== null) return r;
  }
  return null;
}

/** S (must be `sBit`), P = 1, bits 11:8 and 31:17 reserved, G consistent with the limit. */
function checkDescriptorBits(s: Segment, sBit: number, section: string): string | null {
  if (((s.ar >>> 4) & 1) !== sBit) return fail(`${s.name}.AR: S must be ${sBit}`, section);
  if (!(s.ar & 0x80)) return fail(`${s.name}.AR: P must be 1`, section);
  if (s.ar & 0xf00) return fail(`${s.name}.AR: reserved bits 11:8 set`, section);
  if (s.ar & 0xfffe0000) return fail(`${s.name}.AR: reserved bits 31:17 set`, section);
  const g = (s.ar & 0x8000) !== 0;
  if ((s.limit & 0xfff) !== 0xfff && g) return fail(`${s.name}.AR: G set with limit bits 11:0 not all ones`, section);
  if (s.limit > 0xfffff && !g) return fail(`${s.name}.AR: G clear with limit bits 31:20 not zero`, section);
  return null;
}

/** §26.3.1.2: TR must be usable, TI = 0, a busy 16-bit (3) or 32-bit (11) TSS. */
function checkTr(tr: Segment): string | null {
  const S = "26.3.1.2";
  if (tr.selector & 4) return fail("TR.selector: TI must be 0", S);
  if (type(tr) !== 3 && type(tr) !== 11) return fail(`TR.AR: type ${type(tr)} is not a busy TSS`, S);
  if (!usable(tr)) return fail("TR.AR: TR must be usable", S);
  return checkDescriptorBits(tr, 0, S);
}

/** §26.3.1.2: LDTR, if usable: TI = 0, type 2 (LDT). */
function checkLdtr(ldtr: Segment): string | null {
  const S = "26.3.1.2";
  if (!usable(ldtr)) return null;
  if (ldtr.selector & 4) return fail("LDTR.selector: TI must be 0", S);
  if (type(ldtr) !== 2) return fail(`LDTR.AR: type ${type(ldtr)} is not an LDT`, S);
  return checkDescriptorBits(ldtr, 0, S);
}

/** §26.3.1.3: GDTR and IDTR limits bits 31:16 are 0 (bases are 32-bit fields here). */
function checkDescriptorTables(vmcs: Vmcs): string | null {
  if (vmcs.read(F.GUEST_GDTR_LIMIT) > 0xffff) return fail("GDTR.limit: bits 31:16 set", "26.3.1.3");
  if (vmcs.read(F.GUEST_IDTR_LIMIT) > 0xffff) return fail("IDTR.limit: bits 31:16 set", "26.3.1.3");
  return null;
}

/** §26.3.1.4: RFLAGS reserved bits, VM only in protected mode, IF for an injected external interrupt. */
function checkRflags(vmcs: Vmcs): string | null {
  const S = "26.3.1.4";
  const rflags = vmcs.read(F.GUEST_RFLAGS);
  if (!(rflags & 2)) return fail("RFLAGS: bit 1 must be 1", S);
  const reserved = rflags & 0xffc08028;
  if (reserved) return fail(`RFLAGS: reserved bit ${lowestBit(reserved)} set`, S);
  if (rflags & (1 << 17) && !(vmcs.read(F.GUEST_CR0) & 1)) return fail("RFLAGS: VM set with CR0.PE = 0", S);
  const info = vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD);
  if (info & F.INTR_INFO_VALID && ((info >>> 8) & 7) === F.INTR_TYPE_EXT_INTR && !(rflags & 0x200)) {
    return fail("RFLAGS: IF clear while injecting an external interrupt", S);
  }
  return null;
}

/** §26.3.1.5: activity state and the events that may be injected into it. */
function checkActivityState(vmcs: Vmcs): string | null {
  const S = "26.3.1.5";
  const state = vmcs.read(F.GUEST_ACTIVITY_STATE);
  if (state > F.ACTIVITY_WAIT_SIPI) return fail(`activity state ${state} not supported`, S);
  if (state === F.ACTIVITY_HLT && ((vmcs.read(F.GUEST_SS_AR_BYTES) >>> 5) & 3) !== 0) {
    return fail("activity state HLT with SS.DPL not 0", S);
  }
  const blocking = vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO);
  if (state !== F.ACTIVITY_ACTIVE && blocking & (F.INTERRUPTIBILITY_STI | F.INTERRUPTIBILITY_MOV_SS)) {
    return fail("activity state not active with blocking by STI or MOV SS", S);
  }
  const info = vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD);
  if (!(info & F.INTR_INFO_VALID) || state === F.ACTIVITY_ACTIVE) return null;
  const t = (info >>> 8) & 7;
  const v = info & 0xff;
  const dbOrMc = t === F.INTR_TYPE_HW_EXCEPTION && (v === 1 || v === 18);
  const mc = t === F.INTR_TYPE_HW_EXCEPTION && v === 18;
  const ok =
    state === F.ACTIVITY_HLT
      ? t === F.INTR_TYPE_EXT_INTR || t === F.INTR_TYPE_NMI || t === INTR_TYPE_OTHER || dbOrMc
      : state === F.ACTIVITY_SHUTDOWN
        ? t === F.INTR_TYPE_NMI || mc
        : false;
  return ok ? null : fail(`activity state ${state} cannot receive an injected event of type ${t} vector ${v}`, S);
}

/** §26.3.1.5: interruptibility state (Table 24-3). */
function checkInterruptibility(vmcs: Vmcs): string | null {
  const S = "26.3.1.5";
  const b = vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO);
  if (b & ~0xf) return fail("interruptibility state: reserved bits 31:4 set", S);
  if (b & F.INTERRUPTIBILITY_STI && b & F.INTERRUPTIBILITY_MOV_SS) {
    return fail("interruptibility state: blocking by both STI and MOV SS", S);
  }
  if (b & F.INTERRUPTIBILITY_STI && !(vmcs.read(F.GUEST_RFLAGS) & 0x200)) {
    return fail("interruptibility state: blocking by STI with RFLAGS.IF = 0", S);
  }
  if (b & F.INTERRUPTIBILITY_SMI) return fail("interruptibility state: blocking by SMI outside SMM", S);
  const info = vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD);
  if (!(info & F.INTR_INFO_VALID)) return null;
  const t = (info >>> 8) & 7;
  if (t === F.INTR_TYPE_EXT_INTR && b & (F.INTERRUPTIBILITY_STI | F.INTERRUPTIBILITY_MOV_SS)) {
    return fail("interruptibility state: blocking by STI or MOV SS while injecting an external interrupt", S);
  }
  if (t === F.INTR_TYPE_NMI && b & F.INTERRUPTIBILITY_MOV_SS) {
    return fail("interruptibility state: blocking by MOV SS while injecting an NMI", S);
  }
  const virtualNmis = (vmcs.read(F.PIN_BASED_VM_EXEC_CONTROL) & F.PIN_VIRTUAL_NMIS) !== 0;
  if (t === F.INTR_TYPE_NMI && virtualNmis && b & F.INTERRUPTIBILITY_NMI) {
    return fail("interruptibility state: virtual-NMI blocking while injecting an NMI", S);
  }
  return null;
}

/**
 * §26.3.1.5: pending debug exceptions (Table 24-4): bits 3:0 B3-B0, 12
 * enabled breakpoint, 14 BS; the rest (11:4, 13, 15 and 31:16, no RTM) are
 * reserved. Under STI/MOV SS blocking or in HLT, BS must equal
 * RFLAGS.TF and not IA32_DEBUGCTL.BTF.
 */
function checkPendingDebug(vmcs: Vmcs): string | null {
  const S = "26.3.1.5";
  const pending = vmcs.read(F.GUEST_PENDING_DBG_EXCEPTIONS);
  const reserved = pending & ~0x500f;
  if (reserved) return fail(`pending debug exceptions: reserved bit ${lowestBit(reserved)} set`, S);
  const blocking = vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO) & (F.INTERRUPTIBILITY_STI | F.INTERRUPTIBILITY_MOV_SS);
  if (blocking === 0 && vmcs.read(F.GUEST_ACTIVITY_STATE) !== F.ACTIVITY_HLT) return null;
  const tf = (vmcs.read(F.GUEST_RFLAGS) & 0x100) !== 0;
  const btf = (vmcs.read(F.GUEST_IA32_DEBUGCTL) & 2) !== 0;
  const bs = (pending & 0x4000) !== 0;
  if (tf && !btf && !bs) return fail("pending debug exceptions: BS clear with RFLAGS.TF = 1 and BTF = 0", S);
  if ((!tf || btf) && bs) return fail("pending debug exceptions: BS set with RFLAGS.TF = 0 or BTF = 1", S);
  return null;
}

/**
 * §26.3.1.5: there is no VMCS shadowing, so the link pointer must be
 * FFFFFFFF_FFFFFFFFH. As a JavaScript number that value is not exact, so
 * the field may hold -1, 0xFFFFFFFF (the low half, as a 32-bit VMM's VMWRITE
 * of the full field leaves it), 2^53 - 1 or 2^64 (what the literal rounds to).
 */
function checkLinkPointer(vmcs: Vmcs): string | null {
  const v = vmcs.read(F.VMCS_LINK_POINTER);
  if (v === -1 || v === 0xffffffff || v === Number.MAX_SAFE_INTEGER || v === 2 ** 64) return null;
  return fail("VMCS link pointer: not FFFFFFFF_FFFFFFFFH (no VMCS shadowing)", "26.3.1.5");
}

function fail(message: string, section: string): string {
  return `${message} (SDM ${section})`;
}

function lowestBit(x: number): number {
  return 31 - Math.clz32(x & -x);
}
