// Oracle: SDM Vol. 1 §1.3.1 (IA-32 is little-endian: the byte at the lowest
// address is the least significant), the PCI Local Bus Specification §3.3.3.1
// (a master-aborted read returns all ones, a write is dropped) for addresses
// nothing claims, and devices/mmio-device.ts (offsets from the device base).
import { describe, expect, it } from "vitest";
import { GuestRam } from "../guest-ram.js";
import { GuestPhysical } from "./guest-physical.js";
import { MmioBus } from "./mmio-bus.js";
import { FakeMmio } from "./testing/fake-mmio.js";

const RAM = 0x10000;

function setup() {
  const ram = new GuestRam(new SharedArrayBuffer(RAM));
  const bus = new MmioBus();
  const dev = new FakeMmio("dev", 0xfee0_0000, 0x10);
  const low = new FakeMmio("low", RAM, 0x10); // right after RAM
  bus.attach(dev);
  bus.attach(low);
  const reports: [number, boolean][] = [];
  const phys = new GuestPhysical(ram, bus, (gpa, write) => reports.push([gpa, write]));
  return { ram, dev, low, phys, reports };
}

describe("guest-physical routing", () => {
  it("RAM reads and writes are little-endian", () => {
    const { ram, phys } = setup();
    phys.write(0x100, 4, 0x1122_3344);
    expect([...ram.bytes.subarray(0x100, 0x104)]).toEqual([0x44, 0x33, 0x22, 0x11]);
    expect(phys.read(0x101, 2)).toBe(0x2233);
  });

  it("a device access gets the offset from its base and the access size", () => {
    const { dev, phys } = setup();
    phys.write(0xfee0_0004, 4, 0xdead_beef);
    expect(dev.log).toEqual([{ write: true, offset: 4, size: 4, value: 0xdead_beef }]);
    expect(phys.read(0xfee0_0004, 4)).toBe(0xdead_beef);
  });

  it("an access from RAM's last bytes into the device after it is split byte by byte, each where it belongs", () => {
    const { ram, low, phys } = setup();
    phys.write(RAM - 2, 4, 0xaabb_ccdd);
    expect([ram.bytes[RAM - 2], ram.bytes[RAM - 1]]).toEqual([0xdd, 0xcc]);
    expect(low.log.map((a) => [a.offset, a.size, a.value])).toEqual([
      [0, 1, 0xbb],
      [1, 1, 0xaa],
    ]);
    expect(phys.read(RAM - 2, 4)).toBe(0xaabb_ccdd);
  });

  it("an access past a device's end reads all ones for the unclaimed bytes", () => {
    const { dev, phys } = setup();
    dev.bytes[0xf] = 0x5a;
    expect(phys.read(0xfee0_000f, 2)).toBe(0xff5a);
  });

  it("unclaimed addresses read all ones at every size, drop writes, and are reported once per page", () => {
    const { phys, reports } = setup();
    expect(phys.read(0x8000_0000, 1)).toBe(0xff);
    expect(phys.read(0x8000_0000, 2)).toBe(0xffff);
    expect(phys.read(0x8000_0004, 4)).toBe(0xffff_ffff);
    phys.write(0x8000_0008, 4, 0);
    phys.write(0x8000_1000, 4, 0);
    expect(phys.read(0x8000_0008, 4)).toBe(0xffff_ffff);
    expect(reports).toEqual([
      [0x8000_0000, false],
      [0x8000_1000, true],
    ]);
    expect(phys.unclaimed).toBe(6);
  });
});
