// Which VMCS fields each MTD group moves (DESIGN.md §3, NOVA's UTCB layout
// mapped onto SDM Appendix B encodings). One table serves both directions:
// building a VmExit (vm-exit.ts) and applying a VmReply (vm-reply.ts).
import { Mtd } from "../../proto/mtd.js";
import type { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";

/** Registers a VM exit leaves in the processor, not in the VMCS (SDM
 * §27.3: general-purpose registers but RSP, and CR2). The kernel saves them
 * per vCPU; in the tables below they have pseudo-encodings above 0xFFFF,
 * which no VMCS field uses. GPR index order is the SDM's (EAX=0 .. EDI=7). */
export const gprField = (index: number): number => 0x1_0000 + index;
export const CR2_FIELD = 0x1_0008;

/** A vCPU's complete register context: its VMCS and what the kernel saves. */
export interface GuestContext {
  vmcs: Vmcs;
  gpr: Uint32Array;
  cr2: number;
}

export function readField(ctx: GuestContext, field: number): number {
  if (field < 0x1_0000) return ctx.vmcs.read(field);
  return field === CR2_FIELD ? ctx.cr2 : ctx.gpr[field - 0x1_0000];
}

export function writeField(ctx: GuestContext, field: number, value: number): void {
  if (field < 0x1_0000) ctx.vmcs.write(field, value >>> 0);
  else if (field === CR2_FIELD) ctx.cr2 = value >>> 0;
  else ctx.gpr[field - 0x1_0000] = value;
}

/** A plain 32-bit field of GuestState and its VMCS encoding. */
export type ScalarField = readonly [key: string, field: number];
/** A segment register: state key and its selector/base/limit/AR encodings. */
export type SegmentField = readonly [key: string, sel: number, base: number, limit: number, ar: number];
/** A descriptor-table register: state key and its base/limit encodings. */
export type TableField = readonly [key: string, base: number, limit: number];

export interface Group {
  mtd: number;
  scalars?: readonly ScalarField[];
  segments?: readonly SegmentField[];
  tables?: readonly TableField[];
}

const seg = (key: string, sel: number, base: number, limit: number, ar: number): SegmentField => [
  key,
  sel,
  base,
  limit,
  ar,
];

/** Register-file groups in MTD bit order. EIP's instruction length and the
 * INJ group are handled beside the table (they are not plain copies). */
export const GROUPS: readonly Group[] = [
  {
    mtd: Mtd.GPR_ACDB,
    scalars: [
      ["eax", gprField(0)],
      ["ecx", gprField(1)],
      ["edx", gprField(2)],
      ["ebx", gprField(3)],
    ],
  },
  {
    mtd: Mtd.GPR_BSD,
    scalars: [
      ["ebp", gprField(5)],
      ["esi", gprField(6)],
      ["edi", gprField(7)],
    ],
  },
  { mtd: Mtd.RSP, scalars: [["esp", F.GUEST_RSP]] },
  { mtd: Mtd.RIP_LEN, scalars: [["eip", F.GUEST_RIP]] },
  { mtd: Mtd.RFLAGS, scalars: [["eflags", F.GUEST_RFLAGS]] },
  {
    mtd: Mtd.DS_ES,
    segments: [
      seg("ds", F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES),
      seg("es", F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES),
    ],
  },
  {
    mtd: Mtd.FS_GS,
    segments: [
      seg("fs", F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES),
      seg("gs", F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES),
    ],
  },
  {
    mtd: Mtd.CS_SS,
    segments: [
      seg("cs", F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES),
      seg("ss", F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES),
    ],
  },
  { mtd: Mtd.TR, segments: [seg("tr", F.GUEST_TR_SELECTOR, F.GUEST_TR_BASE, F.GUEST_TR_LIMIT, F.GUEST_TR_AR_BYTES)] },
  {
    mtd: Mtd.LDTR,
    segments: [seg("ldtr", F.GUEST_LDTR_SELECTOR, F.GUEST_LDTR_BASE, F.GUEST_LDTR_LIMIT, F.GUEST_LDTR_AR_BYTES)],
  },
  { mtd: Mtd.GDTR, tables: [["gdtr", F.GUEST_GDTR_BASE, F.GUEST_GDTR_LIMIT]] },
  { mtd: Mtd.IDTR, tables: [["idtr", F.GUEST_IDTR_BASE, F.GUEST_IDTR_LIMIT]] },
  {
    mtd: Mtd.CR,
    scalars: [
      ["cr0", F.GUEST_CR0],
      ["cr2", CR2_FIELD],
      ["cr3", F.GUEST_CR3],
      ["cr4", F.GUEST_CR4],
    ],
  },
  { mtd: Mtd.DR, scalars: [["dr7", F.GUEST_DR7]] },
  {
    mtd: Mtd.SYSENTER,
    scalars: [
      ["sysenterCs", F.GUEST_SYSENTER_CS],
      ["sysenterEsp", F.GUEST_SYSENTER_ESP],
      ["sysenterEip", F.GUEST_SYSENTER_EIP],
    ],
  },
  {
    mtd: Mtd.STA,
    scalars: [
      ["intrState", F.GUEST_INTERRUPTIBILITY_INFO],
      ["actvState", F.GUEST_ACTIVITY_STATE],
    ],
  },
];
