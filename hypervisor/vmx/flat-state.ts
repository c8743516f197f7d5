// A valid flat 32-bit protected-mode guest state (SDM Vol. 3C §26.3.1
// checks pass): CPL 0, 4 GiB code and data segments at base 0, paging off,
// interrupts off, a 32-bit TSS and an LDTR marked unusable. The values the
// kernel, the VMM and the tests start guests with.

import type { Vmcs } from "./vmcs.js";
import * as F from "./vmcs-fields.js";

/** Selectors of the flat layout: GDT entry 1 code, 2 data, 3 TSS (with RPL 0). */
export const FLAT_CS = 0x08;
export const FLAT_DS = 0x10;
export const FLAT_TR = 0x18;
/** Access rights (VMX format): 32-bit code execute/read accessed (type 11), data read/write accessed (3), G and D/B set. */
export const FLAT_CODE_AR = 0xc09b;
export const FLAT_DATA_AR = 0xc093;
/** Busy 32-bit TSS, present (type 11). */
export const FLAT_TSS_AR = 0x8b;
export const AR_UNUSABLE = 0x10000;
/** CR0 = PE | ET | NE (PG off). */
export const FLAT_CR0 = 0x31;

export interface FlatState {
  eip: number;
  esp: number;
  eflags?: number;
  cr0?: number;
  cr3?: number;
  cr4?: number;
  gdtrBase?: number;
  gdtrLimit?: number;
  idtrBase?: number;
  idtrLimit?: number;
  trBase?: number;
  trLimit?: number;
}

export function writeFlatGuestState(vmcs: Vmcs, s: FlatState): void {
  vmcs.write(F.GUEST_CR0, s.cr0 ?? FLAT_CR0);
  vmcs.write(F.GUEST_CR3, s.cr3 ?? 0);
  vmcs.write(F.GUEST_CR4, s.cr4 ?? 0);
  vmcs.write(F.GUEST_DR7, 0x400);
  vmcs.write(F.GUEST_RIP, s.eip >>> 0);
  vmcs.write(F.GUEST_RSP, s.esp >>> 0);
  vmcs.write(F.GUEST_RFLAGS, s.eflags ?? 2);
  const segs: [number, number, number, number, number, number][] = [
    [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES, FLAT_CS, FLAT_CODE_AR],
    [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES, FLAT_DS, FLAT_DATA_AR],
    [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES, FLAT_DS, FLAT_DATA_AR],
    [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES, FLAT_DS, FLAT_DATA_AR],
    [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES, FLAT_DS, FLAT_DATA_AR],
    [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES, FLAT_DS, FLAT_DATA_AR],
  ];
  for (const [sel, base, limit, ar, selector, rights] of segs) {
    vmcs.write(sel, selector);
    vmcs.write(base, 0);
    vmcs.write(limit, 0xffffffff);
    vmcs.write(ar, rights);
  }
  vmcs.write(F.GUEST_LDTR_SELECTOR, 0);
  vmcs.write(F.GUEST_LDTR_BASE, 0);
  vmcs.write(F.GUEST_LDTR_LIMIT, 0);
  vmcs.write(F.GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
  vmcs.write(F.GUEST_TR_SELECTOR, FLAT_TR);
  vmcs.write(F.GUEST_TR_BASE, s.trBase ?? 0);
  vmcs.write(F.GUEST_TR_LIMIT, s.trLimit ?? 0x67);
  vmcs.write(F.GUEST_TR_AR_BYTES, FLAT_TSS_AR);
  vmcs.write(F.GUEST_GDTR_BASE, s.gdtrBase ?? 0);
  vmcs.write(F.GUEST_GDTR_LIMIT, s.gdtrLimit ?? 0);
  vmcs.write(F.GUEST_IDTR_BASE, s.idtrBase ?? 0);
  vmcs.write(F.GUEST_IDTR_LIMIT, s.idtrLimit ?? 0);
  vmcs.write(F.GUEST_SYSENTER_CS, 0);
  vmcs.write(F.GUEST_SYSENTER_ESP, 0);
  vmcs.write(F.GUEST_SYSENTER_EIP, 0);
  vmcs.write(F.GUEST_INTERRUPTIBILITY_INFO, 0);
  vmcs.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_ACTIVE);
  vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0);
  vmcs.write(F.VMCS_LINK_POINTER, Number.MAX_SAFE_INTEGER);
}

/** Real-address-mode segment registers and pointers (CR0.PE = 0; needs SEC_UNRESTRICTED_GUEST, §26.3.1.1). */
export interface RealModeState {
  cs: number;
  ip: number;
  ss: number;
  sp: number;
  ds: number;
  es: number;
  fs?: number;
  gs?: number;
  flags?: number;
  /** CR0 with PE = 0 (default: ET only). */
  cr0?: number;
}

/** Access rights of a real-mode segment (§26.3.1.2 with unrestricted guest): present, DPL 0, accessed code (CS) or read/write data. */
export const REAL_CODE_AR = 0x9b;
export const REAL_DATA_AR = 0x93;
/** CR0 of a real-mode guest: ET (the P6 hardwires it), PE = PG = 0. */
export const REAL_CR0 = 0x10;

/**
 * A real-address-mode guest state (SDM Vol. 3A §20.1; Vol. 3C §26.3.1.2 as
 * relaxed for unrestricted guests): each segment's base is selector << 4
 * with a 64 KiB limit and 16-bit defaults (D/B = 0, G = 0), CS and SS with
 * DPL 0; the IDTR is the reset IVT (base 0, limit 0x3FF, §9.1.1 Table 9-1);
 * a busy TSS and an unusable LDTR as VM entry requires.
 */
export function writeRealModeGuestState(vmcs: Vmcs, s: RealModeState): void {
  vmcs.write(F.GUEST_CR0, s.cr0 ?? REAL_CR0);
  vmcs.write(F.GUEST_CR3, 0);
  vmcs.write(F.GUEST_CR4, 0);
  vmcs.write(F.GUEST_DR7, 0x400);
  vmcs.write(F.GUEST_RIP, s.ip & 0xffff);
  vmcs.write(F.GUEST_RSP, s.sp & 0xffff);
  vmcs.write(F.GUEST_RFLAGS, ((s.flags ?? 0) & 0x7fd7) | 2);
  const segs: [number, number, number, number, number, number][] = [
    [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES, s.cs, REAL_CODE_AR],
    [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES, s.ss, REAL_DATA_AR],
    [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES, s.ds, REAL_DATA_AR],
    [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES, s.es, REAL_DATA_AR],
    [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES, s.fs ?? 0, REAL_DATA_AR],
    [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES, s.gs ?? 0, REAL_DATA_AR],
  ];
  for (const [sel, base, limit, ar, selector, rights] of segs) {
    vmcs.write(sel, selector & 0xffff);
    vmcs.write(base, (selector & 0xffff) * 16);
    vmcs.write(limit, 0xffff);
    vmcs.write(ar, rights);
  }
  vmcs.write(F.GUEST_LDTR_SELECTOR, 0);
  vmcs.write(F.GUEST_LDTR_BASE, 0);
  vmcs.write(F.GUEST_LDTR_LIMIT, 0xffff);
  vmcs.write(F.GUEST_LDTR_AR_BYTES, AR_UNUSABLE);
  vmcs.write(F.GUEST_TR_SELECTOR, 0);
  vmcs.write(F.GUEST_TR_BASE, 0);
  vmcs.write(F.GUEST_TR_LIMIT, 0xffff);
  vmcs.write(F.GUEST_TR_AR_BYTES, FLAT_TSS_AR);
  vmcs.write(F.GUEST_GDTR_BASE, 0);
  vmcs.write(F.GUEST_GDTR_LIMIT, 0xffff);
  vmcs.write(F.GUEST_IDTR_BASE, 0);
  vmcs.write(F.GUEST_IDTR_LIMIT, 0x3ff);
  vmcs.write(F.GUEST_SYSENTER_CS, 0);
  vmcs.write(F.GUEST_SYSENTER_ESP, 0);
  vmcs.write(F.GUEST_SYSENTER_EIP, 0);
  vmcs.write(F.GUEST_INTERRUPTIBILITY_INFO, 0);
  vmcs.write(F.GUEST_ACTIVITY_STATE, F.ACTIVITY_ACTIVE);
  vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0);
  vmcs.write(F.VMCS_LINK_POINTER, Number.MAX_SAFE_INTEGER);
}
