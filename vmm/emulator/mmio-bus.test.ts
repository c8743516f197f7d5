// Oracle: the device interface of devices/mmio-device.ts (a device decodes
// [base, base + size)) and the 32-bit guest-physical space of a P6 with
// MAXPHYADDR 32 (SDM Vol. 3A §4.1.4): ranges must fit in it and not overlap.
import { describe, expect, it } from "vitest";
import { MmioBus } from "./mmio-bus.js";
import { FakeMmio } from "./testing/fake-mmio.js";

describe("MMIO bus", () => {
  const bus = new MmioBus();
  const lapic = new FakeMmio("lapic", 0xfee0_0000, 0x1000);
  const ioapic = new FakeMmio("ioapic", 0xfec0_0000, 0x20);
  bus.attach(lapic);
  bus.attach(ioapic);

  it("finds the device whose range holds the address, first and last byte included", () => {
    expect(bus.find(0xfee0_0000)).toBe(lapic);
    expect(bus.find(0xfee0_0fff)).toBe(lapic);
    expect(bus.find(0xfec0_001f)).toBe(ioapic);
    expect(bus.find(0xfee0_0000)).toBe(lapic);
  });

  it("answers null just outside each range", () => {
    expect(bus.find(0xfedf_ffff)).toBeNull();
    expect(bus.find(0xfee0_1000)).toBeNull();
    expect(bus.find(0xfec0_0020)).toBeNull();
    expect(bus.find(0)).toBeNull();
  });

  it("nextBase is the lowest device base above an address, 2^32 past the last one", () => {
    expect(bus.nextBase(0)).toBe(0xfec0_0000);
    expect(bus.nextBase(0xfec0_0000)).toBe(0xfee0_0000);
    expect(bus.nextBase(0xfee0_0000)).toBe(2 ** 32);
  });

  it("refuses overlapping, empty and beyond-4-GiB ranges with a message naming both devices", () => {
    expect(() => bus.attach(new FakeMmio("dup", 0xfee0_0800, 0x1000))).toThrow(/dup .* overlaps lapic/);
    expect(() => bus.attach(new FakeMmio("empty", 0x1000, 0))).toThrow(/empty/);
    expect(() => bus.attach(new FakeMmio("high", 0xffff_f000, 0x2000))).toThrow(/high/);
  });
});
