// Moving the guest-state area of the VMCS into the processor at VM entry
// (SDM Vol. 3C §26.3.2) and back at VM exit (§27.3). General-purpose
// registers other than ESP and CR2 are not in the VMCS: they stay in the
// processor across exits (the kernel saves them, Processor.saveContext).
import { getFlags } from "../cpu/flags.js";
import { type CpuState, SS } from "../cpu/state.js";
import type { Vmcs } from "./vmcs.js";
import * as F from "./vmcs-fields.js";

/** VMCS encodings of ES, CS, SS, DS, FS, GS, LDTR, TR: selector, base, limit, access rights. */
const SEGS: readonly (readonly [number, number, number, number])[] = [
  [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES],
  [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES],
  [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
  [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
  [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES],
  [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES],
  [F.GUEST_LDTR_SELECTOR, F.GUEST_LDTR_BASE, F.GUEST_LDTR_LIMIT, F.GUEST_LDTR_AR_BYTES],
  [F.GUEST_TR_SELECTOR, F.GUEST_TR_BASE, F.GUEST_TR_LIMIT, F.GUEST_TR_AR_BYTES],
];

/** §26.3.2: load the guest state; CPL comes from SS.DPL (§26.3.2.2 note). */
export function loadGuestState(st: CpuState, vmcs: Vmcs): void {
  st.cr0 = vmcs.read(F.GUEST_CR0) | 0;
  st.cr3 = vmcs.read(F.GUEST_CR3) | 0;
  st.cr4 = vmcs.read(F.GUEST_CR4) | 0;
  st.dr[7] = vmcs.read(F.GUEST_DR7) | 0;
  st.regs[4] = vmcs.read(F.GUEST_RSP) | 0;
  st.eip = vmcs.read(F.GUEST_RIP) | 0;
  st.fl = (vmcs.read(F.GUEST_RFLAGS) | 2) & ~0x28;
  st.lop = 0;
  for (let n = 0; n < 8; n++) {
    const [sel, base, limit, ar] = SEGS[n];
    st.segSel[n] = vmcs.read(sel) & 0xffff;
    st.segBase[n] = vmcs.read(base) | 0;
    st.segLimit[n] = vmcs.read(limit) | 0;
    st.segAr[n] = vmcs.read(ar) & 0x1f0ff;
  }
  st.cpl = (st.segAr[SS] >> 5) & 3;
  st.gdtrBase = vmcs.read(F.GUEST_GDTR_BASE) | 0;
  st.gdtrLimit = vmcs.read(F.GUEST_GDTR_LIMIT) & 0xffff;
  st.idtrBase = vmcs.read(F.GUEST_IDTR_BASE) | 0;
  st.idtrLimit = vmcs.read(F.GUEST_IDTR_LIMIT) & 0xffff;
  st.sysenterCs = vmcs.read(F.GUEST_SYSENTER_CS) & 0xffff;
  st.sysenterEsp = vmcs.read(F.GUEST_SYSENTER_ESP) | 0;
  st.sysenterEip = vmcs.read(F.GUEST_SYSENTER_EIP) | 0;
  st.interruptibility = vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO) & 0xf;
  st.activity = vmcs.read(F.GUEST_ACTIVITY_STATE);
}

/** §27.3: save the guest state (fields hold unsigned values, App. B). */
export function saveGuestState(st: CpuState, vmcs: Vmcs): void {
  vmcs.write(F.GUEST_CR0, st.cr0 >>> 0);
  vmcs.write(F.GUEST_CR3, st.cr3 >>> 0);
  vmcs.write(F.GUEST_CR4, st.cr4 >>> 0);
  vmcs.write(F.GUEST_DR7, st.dr[7] >>> 0);
  vmcs.write(F.GUEST_RSP, st.regs[4] >>> 0);
  vmcs.write(F.GUEST_RIP, st.eip >>> 0);
  vmcs.write(F.GUEST_RFLAGS, getFlags(st) >>> 0);
  for (let n = 0; n < 8; n++) {
    const [sel, base, limit, ar] = SEGS[n];
    vmcs.write(sel, st.segSel[n] & 0xffff);
    vmcs.write(base, st.segBase[n] >>> 0);
    vmcs.write(limit, st.segLimit[n] >>> 0);
    vmcs.write(ar, st.segAr[n] >>> 0);
  }
  vmcs.write(F.GUEST_GDTR_BASE, st.gdtrBase >>> 0);
  vmcs.write(F.GUEST_GDTR_LIMIT, st.gdtrLimit & 0xffff);
  vmcs.write(F.GUEST_IDTR_BASE, st.idtrBase >>> 0);
  vmcs.write(F.GUEST_IDTR_LIMIT, st.idtrLimit & 0xffff);
  vmcs.write(F.GUEST_SYSENTER_CS, st.sysenterCs & 0xffff);
  vmcs.write(F.GUEST_SYSENTER_ESP, st.sysenterEsp >>> 0);
  vmcs.write(F.GUEST_SYSENTER_EIP, st.sysenterEip >>> 0);
  vmcs.write(F.GUEST_INTERRUPTIBILITY_INFO, st.interruptibility & 0xf);
  vmcs.write(F.GUEST_ACTIVITY_STATE, st.activity);
  vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0);
}
