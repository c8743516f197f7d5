// Oracle: DESIGN.md §4 (memory objects placed in one host-physical space, 4 KiB
// aligned, never overlapping) and SDM Vol. 1 §1.3.1 (IA-32 is little-endian:
// the byte at the lowest address is the least significant).
import { describe, expect, it } from "vitest";
import { HOST_PHYS_LIMIT, HostMemory, readPhys8, readPhys32, writePhys32 } from "./host-memory.js";

describe("HostMemory placement", () => {
  it("places regions one after another at 4 KiB-aligned bases", () => {
    const host = new HostMemory();
    expect(host.add(new Uint8Array(0x1800))).toBe(0);
    expect(host.add(new Uint8Array(0x1000))).toBe(0x2000);
    expect(host.regions.map((r) => [r.base, r.size, r.index])).toEqual([
      [0, 0x1800, 0],
      [0x2000, 0x1000, 1],
    ]);
  });

  it("accepts an explicit base and continues above the highest region", () => {
    const host = new HostMemory();
    expect(host.add(new Uint8Array(0x1000), 0x10_0000)).toBe(0x10_0000);
    expect(host.add(new Uint8Array(0x1000))).toBe(0x10_1000);
  });

  it("rejects overlapping, misaligned, empty and out-of-range placements with RangeError", () => {
    const host = new HostMemory();
    host.add(new Uint8Array(0x1001), 0x4000); // occupies 0x4000-0x5fff after rounding
    expect(() => host.add(new Uint8Array(0x1000), 0x5000)).toThrow(RangeError);
    expect(() => host.add(new Uint8Array(0x1000), 0x3800)).toThrow(RangeError);
    expect(() => host.add(new Uint8Array(0x1000), 0x3000 + 0x10)).toThrow(RangeError);
    expect(() => host.add(new Uint8Array(0))).toThrow(RangeError);
    expect(() => host.add(new Uint8Array(0x1000), HOST_PHYS_LIMIT)).toThrow(RangeError);
    expect(host.add(new Uint8Array(0x1000), 0x3000)).toBe(0x3000);
  });
});

describe("HostMemory.find", () => {
  it("returns the region holding an address, or null between and beyond regions", () => {
    const host = new HostMemory();
    host.add(new Uint8Array(0x800), 0x1000);
    host.add(new Uint8Array(0x1000), 0x8000);
    expect(host.find(0x1000)?.index).toBe(0);
    expect(host.find(0x17ff)?.index).toBe(0);
    expect(host.find(0x1800)).toBe(null); // rounded-up tail is reserved, not memory
    expect(host.find(0x8fff)?.index).toBe(1);
    expect(host.find(0x9000)).toBe(null);
    expect(host.find(0xfff)).toBe(null);
  });
});

describe("physical access helpers", () => {
  it("read and write 32-bit values little-endian, aligned or not", () => {
    const host = new HostMemory();
    const bytes = new Uint8Array(new SharedArrayBuffer(0x1000));
    host.add(bytes, 0x2000);
    writePhys32(host, 0x2004, 0x11223344);
    expect([...bytes.subarray(4, 8)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    bytes.set([0xaa, 0xbb, 0xcc, 0xdd], 9);
    expect(readPhys32(host, 0x2009)).toBe(0xddccbbaa);
    expect(readPhys32(host, 0x2004)).toBe(0x11223344);
  });

  it("reads 0xFF where no memory is (open bus) and drops writes there", () => {
    const host = new HostMemory();
    const bytes = new Uint8Array(0x1000);
    host.add(bytes, 0);
    bytes[0xffe] = 0x12;
    bytes[0xfff] = 0x34;
    expect(readPhys32(host, 0xffe)).toBe(0xffff3412);
    expect(readPhys8(host, 0x5000)).toBe(0xff);
    writePhys32(host, 0xffe, 0);
    expect(bytes[0xfff]).toBe(0);
  });

  it("offers a 32-bit view only when the memory is 4-byte aligned in its buffer", () => {
    const host = new HostMemory();
    const buf = new ArrayBuffer(0x2004);
    host.add(new Uint8Array(buf, 0, 0x1000));
    host.add(new Uint8Array(buf, 0x1001, 0x1000));
    expect(host.regions[0].words).not.toBe(null);
    expect(host.regions[1].words).toBe(null);
  });
});
