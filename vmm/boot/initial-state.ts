// The vCPU state a guest starts in: 32-bit protected mode with flat
// segments and paging off, the machine state of the Multiboot Specification
// §3.2 and of Linux's 32-bit boot protocol (boot.rst), expressed as VMCS
// guest-state values (SDM Vol. 3C §24.4.1).
import type { IGuestState } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { INSTRUCTION_STATE_GROUPS } from "../../proto/portal-mtd.js";

/** Access rights in VMCS format (SDM Table 24-2): G=1 D/B=1 P=1 DPL 0 S=1. */
const AR_CODE_32 = 0xc09b; // type 11: execute/read, accessed
const AR_DATA_32 = 0xc093; // type 3: read/write, accessed
const AR_TSS_BUSY_32 = 0x008b; // S=0 type 11: busy 32-bit TSS, as VM entry requires of TR
const AR_UNUSABLE = 0x1_0000; // bit 16: segment unusable
const CR0_PE = 1 << 0;
const CR0_ET = 1 << 4; // hard-wired to 1 on P6 (SDM §2.5)
const EFLAGS_RESERVED_1 = 1 << 1;
const DR7_RESET = 0x400; // SDM §17.2.4: bit 10 reads as 1

/** The groups the startup reply names. */
export const INITIAL_STATE_MTD =
  INSTRUCTION_STATE_GROUPS | Mtd.TR | Mtd.LDTR | Mtd.GDTR | Mtd.IDTR | Mtd.DR | Mtd.SYSENTER | Mtd.STA;

export interface InitialRegisters {
  entry: number;
  /** Initial stack pointer: the first push stores just below it. */
  esp: number;
  eax: number;
  ebx: number;
  esi?: number;
  /** Selectors of the flat code and data segments (default 0x08 / 0x10). */
  codeSel?: number;
  dataSel?: number;
  /** GDTR and IDTR (default base 0, limit 0xFFFF). */
  gdtr?: { base: number; limit: number };
  idtr?: { base: number; limit: number };
}

export function initialState(r: InitialRegisters): IGuestState {
  const dataSel = r.dataSel ?? 0x10;
  const data = () => ({ sel: dataSel, base: 0, limit: 0xffff_ffff, ar: AR_DATA_32 });
  return {
    eax: r.eax >>> 0,
    ebx: r.ebx >>> 0,
    ecx: 0,
    edx: 0,
    ebp: 0,
    esi: (r.esi ?? 0) >>> 0,
    edi: 0,
    esp: r.esp >>> 0,
    eip: r.entry >>> 0,
    instLen: 0,
    eflags: EFLAGS_RESERVED_1,
    cs: { sel: r.codeSel ?? 0x08, base: 0, limit: 0xffff_ffff, ar: AR_CODE_32 },
    ds: data(),
    es: data(),
    fs: data(),
    gs: data(),
    ss: data(),
    tr: { sel: 0, base: 0, limit: 0xffff, ar: AR_TSS_BUSY_32 },
    ldtr: { sel: 0, base: 0, limit: 0, ar: AR_UNUSABLE },
    gdtr: { ...(r.gdtr ?? { base: 0, limit: 0xffff }) },
    idtr: { ...(r.idtr ?? { base: 0, limit: 0xffff }) },
    cr0: CR0_PE | CR0_ET,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    dr7: DR7_RESET,
    sysenterCs: 0,
    sysenterEsp: 0,
    sysenterEip: 0,
    intrState: 0,
    actvState: 0,
  };
}
