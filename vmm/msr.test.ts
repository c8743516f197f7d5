// Oracle: SDM Vol. 4 Table 2-2 (MSR addresses), Vol. 3A §11.11.1 (MTRRcap
// layout), §11.11.2 (MTRRdefType, variable-range register layouts),
// Table 11-8 (memory type encodings; 2, 3 and 7+ reserved) and the WRMSR/
// RDMSR rule that reserved MSRs and reserved bits raise #GP(0).
import { describe, expect, it } from "vitest";
import { Msr, MsrFile, sysenterField } from "./msr.js";

describe("MsrFile", () => {
  it("IA32_TIME_STAMP_COUNTER (0x10) reads the virtual TSC as EDX:EAX", () => {
    expect(new MsrFile().read(0x10, 0x1_2345_6789)).toEqual({ lo: 0x2345_6789, hi: 1 });
  });

  it("MTRRcap (0xFE): 8 variable ranges (bits 7:0), fixed ranges (bit 8), WC (bit 10); read-only", () => {
    const m = new MsrFile();
    const cap = m.read(0xfe, 0)!;
    expect(cap.lo & 0xff).toBe(8);
    expect((cap.lo >>> 8) & 1).toBe(1);
    expect((cap.lo >>> 10) & 1).toBe(1);
    expect(m.write(0xfe, 0, 0)).toBe(false);
  });

  it("variable MTRRs 0x200-0x20F store and return legal values", () => {
    const m = new MsrFile();
    expect(m.write(0x200, 0x0010_0006, 0)).toBe(true); // base 1 MiB, WB
    expect(m.write(0x201, 0xfff0_0800, 0)).toBe(true); // 1 MiB mask, valid
    expect(m.read(0x200, 0)).toEqual({ lo: 0x0010_0006, hi: 0 });
    expect(m.read(0x201, 0)).toEqual({ lo: 0xfff0_0800, hi: 0 });
    expect(m.read(0x20e, 0)).toEqual({ lo: 0, hi: 0 });
  });

  it("reserved memory types (2, 3, 7) and reserved bits in MTRRs raise #GP", () => {
    const m = new MsrFile();
    expect(m.write(0x200, 0x2, 0)).toBe(false);
    expect(m.write(0x200, 0x7, 0)).toBe(false);
    expect(m.write(0x200, 0x106, 0)).toBe(false); // bits 11:8 reserved in PhysBase
    expect(m.write(0x201, 0x400, 0)).toBe(false); // bits 10:0 reserved in PhysMask
    expect(m.write(0x201, 0x8000_0800, 0xf)).toBe(true); // bits 35:32 are PhysMask (36-bit MAXPHYADDR, §11.11.2.3)
    expect(m.write(0x201, 0x8000_0800, 0x10)).toBe(false); // bits 63:36 reserved
    expect(m.write(0x200, 0x6, 0x10)).toBe(false); // bit 36: above MAXPHYADDR 36
    expect(m.write(0x2ff, 0x3, 0)).toBe(false); // MTRRdefType type 3
    expect(m.write(0x2ff, 0x1000, 0)).toBe(false); // MTRRdefType bit 12 reserved
    expect(m.write(0x250, 0x0606_0603, 0x0606_0606)).toBe(false); // one fixed-range byte of type 3
  });

  it("fixed-range MTRRs and MTRRdefType store and return legal values", () => {
    const m = new MsrFile();
    expect(m.write(0x250, 0x0606_0606, 0x0000_0101)).toBe(true);
    expect(m.write(0x26f, 0x0504_0100, 0x0605_0401)).toBe(true);
    expect(m.write(0x2ff, 0xc06, 0)).toBe(true); // E, FE, default WB
    expect(m.read(0x250, 0)).toEqual({ lo: 0x0606_0606, hi: 0x0000_0101 });
    expect(m.read(0x2ff, 0)).toEqual({ lo: 0xc06, hi: 0 });
  });

  it("IA32_APIC_BASE (0x1B) is absent since CPUID reports no APIC, and unknown MSRs raise #GP", () => {
    const m = new MsrFile();
    expect(m.read(0x1b, 0)).toBeNull();
    expect(m.write(0x1b, 0xfee0_0900, 0)).toBe(false);
    expect(m.read(0xc000_0080, 0)).toBeNull();
    expect(m.write(0x3a, 0, 0)).toBe(false);
  });

  it("IA32_PLATFORM_ID (0x17) reads and refuses writes; IA32_BIOS_SIGN_ID (0x8B) accepts the write of 0", () => {
    const m = new MsrFile();
    expect(m.read(0x17, 0)).not.toBeNull();
    expect(m.write(0x17, 0, 0)).toBe(false);
    expect(m.write(0x8b, 0, 0)).toBe(true);
    expect(m.read(0x8b, 0)?.lo).toBe(0);
  });

  it("IA32_MISC_ENABLE (0x1A0) stores and returns", () => {
    const m = new MsrFile();
    expect(m.write(Msr.MISC_ENABLE, 0x8, 0x4)).toBe(true);
    expect(m.read(0x1a0, 0)).toEqual({ lo: 0x8, hi: 0x4 });
  });

  it("SYSENTER_CS/ESP/EIP (0x174-0x176) are guest state, not in the file", () => {
    expect([0x174, 0x175, 0x176].map(sysenterField)).toEqual(["sysenterCs", "sysenterEsp", "sysenterEip"]);
    expect(sysenterField(0x177)).toBeNull();
    expect(new MsrFile().read(0x174, 0)).toBeNull();
  });
});
