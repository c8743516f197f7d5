// Oracle: SDM Vol. 2A "CPUID—CPU Identification": leaf 0 vendor string in
// EBX, EDX, ECX order; leaf 1 EAX signature layout (Figure 3-6) and EDX
// feature-bit positions (Table 3-11); the rule for inputs above the maximum
// basic leaf. Bit positions are restated here from the SDM table, not taken
// from vmm/cpuid.ts.
import { describe, expect, it } from "vitest";
import { cpuid } from "./cpuid.js";

function ascii(...regs: number[]): string {
  return String.fromCharCode(...regs.flatMap((r) => [r & 0xff, (r >>> 8) & 0xff, (r >>> 16) & 0xff, r >>> 24]));
}

describe("CPUID model", () => {
  it("leaf 0: max leaf 2 and vendor GenuineIntel in EBX, EDX, ECX", () => {
    const r = cpuid(0);
    expect(r.eax).toBe(2);
    expect(ascii(r.ebx, r.edx, r.ecx)).toBe("GenuineIntel");
  });

  it("leaf 1: family 6, model 3 (Pentium II), type 0 in the signature fields", () => {
    const { eax } = cpuid(1);
    expect((eax >>> 8) & 0xf).toBe(6);
    expect((eax >>> 4) & 0xf).toBe(3);
    expect((eax >>> 12) & 0x3).toBe(0);
    expect(eax >>> 16).toBe(0); // extended model/family are 0 below family 15
  });

  it("leaf 1 EDX: FPU(0) TSC(4) MSR(5) CX8(8) SEP(11) CMOV(15) PSE(3) PGE(13) set; VME(1) PAE(6) APIC(9) clear", () => {
    const { edx, ecx } = cpuid(1);
    for (const bit of [0, 3, 4, 5, 8, 11, 13, 15]) expect((edx >>> bit) & 1, `bit ${bit}`).toBe(1);
    for (const bit of [1, 6, 7, 9, 14, 16, 17, 23, 24, 25, 26]) expect((edx >>> bit) & 1, `bit ${bit}`).toBe(0);
    expect(ecx).toBe(0);
  });

  it("leaf 2: AL = 1 (one call) and bit 31 clear in every register (valid descriptors)", () => {
    const r = cpuid(2);
    expect(r.eax & 0xff).toBe(1);
    for (const v of [r.eax, r.ebx, r.ecx, r.edx]) expect(v >>> 31).toBe(0);
  });

  it("inputs above the maximum (basic 3, extended 0x80000000) return the highest basic leaf's data", () => {
    expect(cpuid(3)).toEqual(cpuid(2));
    expect(cpuid(0x8000_0000)).toEqual(cpuid(2));
    expect(cpuid(0xffff_ffff)).toEqual(cpuid(2));
  });
});
