// The processor the guest is told it runs on: a P6-class Intel part
// (Pentium II "Klamath", family 6 model 3), reporting exactly the features
// moat's processor implements (DESIGN.md §7). Leaf layouts follow SDM
// Vol. 2A "CPUID—CPU Identification", Tables 3-8 (information returned),
// 3-10/3-11 (feature flags in EDX/ECX) and 3-12 (leaf 2 descriptors).

export interface CpuidResult {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** Highest basic leaf: 0 (vendor), 1 (signature, features), 2 (cache/TLB descriptors). */
export const CPUID_MAX_LEAF = 2;

/** "GenuineIntel" as EBX, EDX, ECX spell it (leaf 0). */
export const VENDOR_EBX = 0x756e6547; // "Genu"
export const VENDOR_EDX = 0x49656e69; // "ineI"
export const VENDOR_ECX = 0x6c65746e; // "ntel"

/**
 * Leaf 1 EAX, the processor signature (SDM Figure 3-6): stepping 3:0,
 * model 7:4, family 11:8, type 13:12 (0 = original OEM). Family 6 model 3
 * stepping 4 is a Pentium II. Model >= 3 also tells software that SEP is
 * real: Pentium Pro (model 1) set the bit without implementing SYSENTER,
 * and OSes ignore SEP when family 6, model < 3 and stepping < 3.
 */
export const CPU_FAMILY = 6;
export const CPU_MODEL = 3;
export const CPU_STEPPING = 4;
export const CPU_SIGNATURE = (CPU_FAMILY << 8) | (CPU_MODEL << 4) | CPU_STEPPING;

/** Leaf 1 EDX feature flags (SDM Table 3-11). */
export const Feature = {
  FPU: 1 << 0,
  VME: 1 << 1,
  DE: 1 << 2,
  PSE: 1 << 3,
  TSC: 1 << 4,
  MSR: 1 << 5,
  PAE: 1 << 6,
  MCE: 1 << 7,
  CX8: 1 << 8,
  APIC: 1 << 9,
  SEP: 1 << 11,
  MTRR: 1 << 12,
  PGE: 1 << 13,
  MCA: 1 << 14,
  CMOV: 1 << 15,
  PAT: 1 << 16,
  PSE36: 1 << 17,
  MMX: 1 << 23,
  FXSR: 1 << 24,
} as const;

/**
 * What we claim, and why. A claimed feature software may rely on without
 * checking anything else, so everything not yet implemented stays off:
 * - DE: CR4.DE (DR4/DR5 references #UD) and I/O breakpoints: part of the P6
 *   debug architecture the processor models.
 * - PSE: 4 MiB pages through CR4.PSE (DESIGN.md §4: PSE paging).
 * - TSC: RDTSC and the time-stamp counter (virtual TSC, DESIGN.md §5).
 * - MSR: RDMSR/WRMSR (vmm/msr.ts answers them).
 * - CX8: CMPXCHG8B (DESIGN.md §7).
 * - SEP: SYSENTER/SYSEXIT and their three MSRs.
 * - MTRR: MTRRcap, the variable and fixed MTRRs and MTRRdefType read back
 *   as written (vmm/msr.ts); memory types have no effect in the VM.
 * - PGE: global pages through CR4.PGE.
 * - FPU: the x87 (hypervisor/cpu/x87.ts; arithmetic in double precision,
 *   documented there), with FNSAVE/FRSTOR, #MF through CR0.NE.
 * - CMOV: CMOVcc, and FCMOVcc with the FPU.
 * Off: VME (the
 * virtual-8086 extensions, CR4.VME/PVI, are not implemented; plain V86
 * mode needs no CPUID bit), PAE and PSE-36 (2-level paging only), MCE/MCA
 * (no machine checks), APIC (no local APIC yet), PAT, MMX, FXSR.
 */
export const CPU_FEATURES_EDX =
  Feature.FPU |
  Feature.DE |
  Feature.PSE |
  Feature.TSC |
  Feature.MSR |
  Feature.CX8 |
  Feature.SEP |
  Feature.MTRR |
  Feature.PGE |
  Feature.CMOV;

/**
 * Leaf 2: AL = 1 (one CPUID(2) call returns all descriptors) and every other
 * byte the null descriptor 0x00: the VM promises no particular cache or TLB
 * geometry (SDM Table 3-12; bit 31 of each register clear = valid bytes).
 */
const LEAF2_EAX = 0x0000_0001;

/** CPUID for input EAX = `leaf`. ECX is not an input on this model (no sub-leaves). */
export function cpuid(leaf: number): CpuidResult {
  // SDM: "If a value entered for CPUID.EAX is higher than the maximum input
  // value for basic or extended function for that processor then the data
  // for the highest basic information leaf is returned." This model has no
  // extended leaves (0x80000000 reports leaf 2, so EAX < 0x80000000 tells
  // software so), hence every leaf above 2 answers as leaf 2.
  switch (leaf >>> 0) {
    case 0:
      return { eax: CPUID_MAX_LEAF, ebx: VENDOR_EBX, ecx: VENDOR_ECX, edx: VENDOR_EDX };
    case 1:
      // EBX: brand index, CLFLUSH size, logical count, APIC ID: all 0 on P6.
      return { eax: CPU_SIGNATURE, ebx: 0, ecx: 0, edx: CPU_FEATURES_EDX };
    default:
      return { eax: LEAF2_EAX, ebx: 0, ecx: 0, edx: 0 };
  }
}
