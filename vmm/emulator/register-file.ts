// The guest state an emulated instruction reads and writes: the eight GPRs in
// ModR/M order, EIP, EFLAGS, the six segment registers as VMX keeps them
// (selector, base, byte-granular limit, access rights, SDM Vol. 3C §24.4.1)
// and CR0-CR4. Loaded from a VmExit's GuestState; the handler writes back
// only the MTD groups whose values changed.
import type { IGuestState, ISegment } from "../../proto/index.js";

/** GPR numbers as ModR/M encodes them (SDM Vol. 2A Table 2-1). */
export const EAX = 0;
export const ECX = 1;
export const EDX = 2;
export const EBX = 3;
export const ESP = 4;
export const EBP = 5;
export const ESI = 6;
export const EDI = 7;

/** Segment register numbers as the Sreg field and VMX instruction information encode them (Table 27-8). */
export const ES = 0;
export const CS = 1;
export const SS = 2;
export const DS = 3;
export const FS = 4;
export const GS = 5;
export const SEGMENT_NAMES = ["es", "cs", "ss", "ds", "fs", "gs"] as const;

export const CR0_PE = 0x1;
export const CR0_WP = 0x1_0000;
export const CR0_PG = 0x8000_0000;
export const CR4_PSE = 0x10;
export const EFLAGS_DF = 0x400;
export const EFLAGS_VM = 0x2_0000;

/** VMCS access-rights bits (SDM Table 24-2). */
export const AR_DB = 1 << 14;
export const AR_UNUSABLE = 1 << 16;

export class SegmentCache {
  sel = 0;
  base = 0;
  limit = 0;
  ar = 0;

  load(s: ISegment | null | undefined): void {
    this.sel = (s?.sel ?? 0) >>> 0;
    this.base = (s?.base ?? 0) >>> 0;
    this.limit = (s?.limit ?? 0) >>> 0;
    this.ar = (s?.ar ?? 0) >>> 0;
  }
}

export class RegisterFile {
  readonly gpr = new Uint32Array(8);
  eip = 0;
  eflags = 0x2;
  readonly seg: readonly SegmentCache[] = Array.from({ length: 6 }, () => new SegmentCache());
  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;

  load(s: IGuestState): void {
    const g = this.gpr;
    g[EAX] = s.eax ?? 0;
    g[ECX] = s.ecx ?? 0;
    g[EDX] = s.edx ?? 0;
    g[EBX] = s.ebx ?? 0;
    g[ESP] = s.esp ?? 0;
    g[EBP] = s.ebp ?? 0;
    g[ESI] = s.esi ?? 0;
    g[EDI] = s.edi ?? 0;
    this.eip = (s.eip ?? 0) >>> 0;
    this.eflags = (s.eflags ?? 0x2) >>> 0;
    for (let i = 0; i < 6; i++) this.seg[i].load(s[SEGMENT_NAMES[i]]);
    this.cr0 = (s.cr0 ?? 0) >>> 0;
    this.cr2 = (s.cr2 ?? 0) >>> 0;
    this.cr3 = (s.cr3 ?? 0) >>> 0;
    this.cr4 = (s.cr4 ?? 0) >>> 0;
  }

  /** CR0.PE = 1: protected mode, including virtual-8086 mode (SDM Vol. 3A §2.2). */
  get protectedMode(): boolean {
    return (this.cr0 & CR0_PE) !== 0;
  }

  get vm86(): boolean {
    return this.protectedMode && (this.eflags & EFLAGS_VM) !== 0;
  }

  /** CPL is SS.DPL in protected mode (SDM §5.5; VMX keeps it there, §26.3.1.2), 3 in virtual-8086 mode, 0 in real mode. */
  get cpl(): number {
    if (!this.protectedMode) return 0;
    if (this.vm86) return 3;
    return (this.seg[SS].ar >>> 5) & 3;
  }

  /** Default operand and address size from CS.D (SDM §3.4.5); always 16 in virtual-8086 mode. */
  get code32(): boolean {
    return !this.vm86 && (this.seg[CS].ar & AR_DB) !== 0;
  }

  get pagingEnabled(): boolean {
    return (this.cr0 & CR0_PG) !== 0 && (this.cr0 & CR0_PE) !== 0;
  }

  /** Reads an 8-bit register: AL..BL are numbers 0-3, AH..BH 4-7 (Table 2-1). */
  reg8(n: number): number {
    return n < 4 ? this.gpr[n] & 0xff : (this.gpr[n - 4] >>> 8) & 0xff;
  }

  setReg8(n: number, v: number): void {
    if (n < 4) this.gpr[n] = (this.gpr[n] & ~0xff) | (v & 0xff);
    else this.gpr[n - 4] = (this.gpr[n - 4] & ~0xff00) | ((v & 0xff) << 8);
  }

  /** A register of `size` bytes; the 16-bit one is the low half. */
  reg(n: number, size: number): number {
    if (size === 1) return this.reg8(n);
    return size === 2 ? this.gpr[n] & 0xffff : this.gpr[n];
  }

  /** Writes a register; 8- and 16-bit writes keep the other bits (SDM Vol. 1 §3.4.1.1). */
  setReg(n: number, size: number, v: number): void {
    if (size === 1) this.setReg8(n, v);
    else if (size === 2) this.gpr[n] = (this.gpr[n] & ~0xffff) | (v & 0xffff);
    else this.gpr[n] = v;
  }
}
