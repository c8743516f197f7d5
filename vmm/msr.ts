// The model-specific registers of the VM's P6-class processor (vmm/cpuid.ts),
// with addresses and layouts from SDM Vol. 4 (Table 2-2 architectural MSRs,
// the P6 family table) and Vol. 3A §11.11 (MTRRs). RDMSR/WRMSR of any MSR
// not listed here raise #GP(0), as the SDM says for reserved MSR addresses.
//
//   0x10   IA32_TIME_STAMP_COUNTER  read: the virtual TSC at the exit.
//          Writes are accepted and ignored for now: the reply cannot carry a
//          TSC offset yet, and virtual time (DESIGN.md §5) is the kernel's.
//   0x17   IA32_PLATFORM_ID         read-only: 0 (platform ID bits 52:50 = 0).
//   0x1B   IA32_APIC_BASE           absent: CPUID reports no APIC, so #GP.
//   0x8B   IA32_BIOS_SIGN_ID        read: EDX = microcode revision 0 (none
//          loaded); writes accepted (software writes 0 before CPUID(1)).
//   0xFE   IA32_MTRRCAP             read-only: VCNT 8, FIX, WC.
//   0x174-0x176 IA32_SYSENTER_CS/ESP/EIP: guest state (MTD SYSENTER), kept
//          by the handler, not here (sysenterField).
//   0x1A0  IA32_MISC_ENABLE         stored and returned; no bit has an effect.
//   0x200-0x20F MTRRphysBase/Mask 0-7, 0x250, 0x258-0x259, 0x268-0x26F
//          fixed-range MTRRs, 0x2FF MTRRdefType: stored and returned;
//          reserved bits and undefined memory types raise #GP (SDM §11.11).

import { SnapshotReader } from "../devices/snapshot.js";

export const Msr = {
  TSC: 0x10,
  PLATFORM_ID: 0x17,
  APIC_BASE: 0x1b,
  BIOS_SIGN_ID: 0x8b,
  MTRRCAP: 0xfe,
  SYSENTER_CS: 0x174,
  SYSENTER_ESP: 0x175,
  SYSENTER_EIP: 0x176,
  MISC_ENABLE: 0x1a0,
  MTRR_PHYSBASE0: 0x200,
  MTRR_PHYSMASK7: 0x20f,
  MTRR_FIX64K_00000: 0x250,
  MTRR_FIX16K_80000: 0x258,
  MTRR_FIX16K_A0000: 0x259,
  MTRR_FIX4K_C0000: 0x268,
  MTRR_FIX4K_F8000: 0x26f,
  MTRR_DEF_TYPE: 0x2ff,
} as const;

/** MTRRcap: VCNT = 8 variable ranges (bits 7:0), FIX (bit 8), WC (bit 10). */
export const MTRRCAP_VALUE = 0x508;
/** IA32_MISC_ENABLE at power-up: bit 0 fast-strings enable (its documented default). */
export const MISC_ENABLE_RESET = 0x1;
export const MICROCODE_REVISION = 0;

/** Memory types MTRRs may hold: UC 0, WC 1, WT 4, WP 5, WB 6 (SDM Table 11-8). */
function validMemoryType(t: number): boolean {
  return t === 0 || t === 1 || t === 4 || t === 5 || t === 6;
}

/** An MSR value as EDX:EAX. */
export interface MsrValue {
  lo: number;
  hi: number;
}

export type SysenterField = "sysenterCs" | "sysenterEsp" | "sysenterEip";

/** The guest-state field holding a SYSENTER MSR, or null for other MSRs. */
export function sysenterField(index: number): SysenterField | null {
  if (index === Msr.SYSENTER_CS) return "sysenterCs";
  if (index === Msr.SYSENTER_ESP) return "sysenterEsp";
  if (index === Msr.SYSENTER_EIP) return "sysenterEip";
  return null;
}

function isMtrr(index: number): boolean {
  return (
    (index >= Msr.MTRR_PHYSBASE0 && index <= Msr.MTRR_PHYSMASK7) ||
    index === Msr.MTRR_FIX64K_00000 ||
    index === Msr.MTRR_FIX16K_80000 ||
    index === Msr.MTRR_FIX16K_A0000 ||
    (index >= Msr.MTRR_FIX4K_C0000 && index <= Msr.MTRR_FIX4K_F8000) ||
    index === Msr.MTRR_DEF_TYPE
  );
}

/**
 * Whether a WRMSR value is legal for an MTRR (SDM §11.11.2): without CPUID
 * leaf 80000008H "the processor supports 36-bit physical address size, then
 * bit PhysMask consists of bits 35:12, and bits 63:36 are reserved"
 * (§11.11.2.3, Figure 11-7), PhysBase likewise; firmware writes them so
 * (SeaBIOS's mtrr_setup: a 36-bit mask for the PCI hole).
 */
function validMtrrWrite(index: number, lo: number, hi: number): boolean {
  if (index === Msr.MTRR_DEF_TYPE) return hi === 0 && (lo & ~0xcff) === 0 && validMemoryType(lo & 0xff);
  if (index >= Msr.MTRR_PHYSBASE0 && index <= Msr.MTRR_PHYSMASK7) {
    if ((hi & ~0xf) !== 0) return false; // bits 63:36
    if ((index & 1) === 0) return (lo & 0xf00) === 0 && validMemoryType(lo & 0xff); // PhysBase
    return (lo & 0x7ff) === 0; // PhysMask: bits 10:0 reserved, bit 11 valid
  }
  for (let i = 0; i < 4; i++) {
    if (!validMemoryType((lo >>> (8 * i)) & 0xff) || !validMemoryType((hi >>> (8 * i)) & 0xff)) return false;
  }
  return true;
}

const MSR_SNAPSHOT = "msr-file";

/** The per-VM MSR file of everything that is not guest state. */
export class MsrFile {
  private readonly stored = new Map<number, MsrValue>();

  constructor() {
    this.stored.set(Msr.MISC_ENABLE, { lo: MISC_ENABLE_RESET, hi: 0 });
  }

  /** RDMSR; null means #GP(0). `tsc` is the virtual TSC at the exit. */
  read(index: number, tsc: number): MsrValue | null {
    switch (index) {
      case Msr.TSC:
        return { lo: tsc >>> 0, hi: Math.floor(tsc / 0x1_0000_0000) >>> 0 };
      case Msr.PLATFORM_ID:
        return { lo: 0, hi: 0 };
      case Msr.BIOS_SIGN_ID:
        return { lo: 0, hi: MICROCODE_REVISION };
      case Msr.MTRRCAP:
        return { lo: MTRRCAP_VALUE, hi: 0 };
      case Msr.MISC_ENABLE:
        return this.stored.get(index)!;
    }
    if (isMtrr(index)) return this.stored.get(index) ?? { lo: 0, hi: 0 };
    return null;
  }

  /** WRMSR; false means #GP(0). */
  write(index: number, lo: number, hi: number): boolean {
    switch (index) {
      case Msr.TSC:
      case Msr.BIOS_SIGN_ID:
        return true;
      case Msr.MISC_ENABLE:
        this.stored.set(index, { lo: lo >>> 0, hi: hi >>> 0 });
        return true;
    }
    if (!isMtrr(index) || !validMtrrWrite(index, lo, hi)) return false;
    this.stored.set(index, { lo: lo >>> 0, hi: hi >>> 0 });
    return true;
  }

  /** The stored MSRs as [index, lo, hi] triples in index order (a checkpoint; deterministic). */
  save(): unknown {
    const msrs = [...this.stored.entries()].sort((a, b) => a[0] - b[0]).map(([i, v]) => [i, v.lo, v.hi]);
    return { kind: MSR_SNAPSHOT, version: 1, msrs };
  }

  /** Replaces the stored MSRs; every entry must be one a WRMSR could have stored. Throws SnapshotError, state unchanged. */
  restore(state: unknown): void {
    const r = new SnapshotReader(state, MSR_SNAPSHOT, 1);
    const raw = r.raw("msrs");
    if (!Array.isArray(raw)) throw r.fail("field msrs must be an array of [index, lo, hi]");
    const next = new Map<number, MsrValue>();
    for (const e of raw) {
      const ok =
        Array.isArray(e) && e.length === 3 && e.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff_ffff);
      if (!ok) throw r.fail(`entry ${JSON.stringify(e)} is not [index, lo, hi] of 32-bit integers`);
      const [index, lo, hi] = e as number[];
      const storable = index === Msr.MISC_ENABLE || (isMtrr(index) && validMtrrWrite(index, lo, hi));
      if (!storable) throw r.fail(`MSR 0x${index.toString(16)} = ${hi}:${lo} is not a value WRMSR stores`);
      next.set(index, { lo, hi });
    }
    if (!next.has(Msr.MISC_ENABLE)) throw r.fail("IA32_MISC_ENABLE is missing");
    this.stored.clear();
    for (const [i, v] of next) this.stored.set(i, v);
  }
}
