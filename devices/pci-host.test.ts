// Oracle: PCI Local Bus Specification 2.1 §3.7.4.1 (configuration mechanism
// #1: CONFIG_ADDRESS layout, enable bit, only dword accesses to 0xCF8 latch
// it, CONFIG_DATA byte lanes) and §6.1 (a read of a non-existent function
// returns all ones: vendor FFFFh); Intel 82441FX datasheet (VID 8086h, DID
// 1237h, class 060000h, header type 00h, PCICMD 0006h, PCISTS 0280h, PAM
// registers 59h-5Fh); Intel 82371SB PIIX3 datasheet (Reset Control at CF9h).
import { describe, expect, it } from "vitest";
import { createI440fxHostBridge } from "./i440fx.js";
import { PciHost } from "./pci-host.js";
import { SnapshotError } from "./snapshot.js";

function host() {
  const resets: number[] = [];
  const h = new PciHost({ onReset: () => resets.push(1) });
  h.attach(0, 0, createI440fxHostBridge());
  const addr = (bus: number, dev: number, fn: number, reg: number) =>
    h.ioWrite(0xcf8, 4, (0x8000_0000 | (bus << 16) | (dev << 11) | (fn << 8) | reg) >>> 0);
  const cfg = (dev: number, fn: number, reg: number, size: 1 | 2 | 4 = 4, bus = 0) => {
    addr(bus, dev, fn, reg & 0xfc);
    return h.ioRead(0xcfc + (reg & 3), size);
  };
  return { h, addr, cfg, resets };
}

describe("configuration mechanism #1", () => {
  it("CONFIG_ADDRESS reads back as written, reserved bits 30:24 and 1:0 as 0", () => {
    const { h } = host();
    h.ioWrite(0xcf8, 4, 0xffff_ffff);
    expect(h.ioRead(0xcf8, 4)).toBe(0x80ff_fffc);
  });

  it("bus 0 device 0 is the i440FX: vendor 8086h, device 1237h in one dword", () => {
    const { cfg } = host();
    expect(cfg(0, 0, 0x00)).toBe(0x1237_8086);
  });

  it("byte and word accesses at 0xCFC + n reach register + n", () => {
    const { cfg } = host();
    expect(cfg(0, 0, 0x00, 2)).toBe(0x8086);
    expect(cfg(0, 0, 0x02, 2)).toBe(0x1237);
    expect(cfg(0, 0, 0x01, 1)).toBe(0x80);
    expect(cfg(0, 0, 0x03, 1)).toBe(0x12);
    expect(cfg(0, 0, 0x0b, 1)).toBe(0x06); // base class: bridge
  });

  it("class code 060000h (host bridge), header type 00h, command 0006h, status 0280h", () => {
    const { cfg } = host();
    expect(cfg(0, 0, 0x08) >>> 8).toBe(0x060000);
    expect(cfg(0, 0, 0x0e, 1)).toBe(0x00);
    expect(cfg(0, 0, 0x04)).toBe(0x0280_0006);
  });

  it("every other slot, function and bus reads all ones (vendor FFFFh: no device)", () => {
    const { cfg } = host();
    expect(cfg(1, 0, 0)).toBe(0xffff_ffff);
    expect(cfg(31, 7, 0x3c)).toBe(0xffff_ffff);
    expect(cfg(0, 1, 0)).toBe(0xffff_ffff);
    expect(cfg(0, 0, 0, 4, 1)).toBe(0xffff_ffff);
    expect(cfg(5, 0, 0, 2)).toBe(0xffff);
  });

  it("with the enable bit clear, CONFIG_DATA is not decoded: reads float", () => {
    const { h } = host();
    h.ioWrite(0xcf8, 4, 0x0000_0000);
    expect(h.ioRead(0xcfc, 4)).toBe(0xffff_ffff);
  });

  it("byte and word accesses to 0xCF8 do not change CONFIG_ADDRESS", () => {
    const { h, addr } = host();
    addr(0, 0, 0, 0);
    h.ioWrite(0xcf8, 1, 0x00);
    h.ioWrite(0xcfa, 2, 0x1234);
    expect(h.ioRead(0xcf8, 4)).toBe(0x8000_0000);
    expect(h.ioRead(0xcf8, 1)).toBe(0xff);
  });

  it("writes to read-only fields (IDs, class, header type, status bits) are ignored", () => {
    const { h, addr, cfg } = host();
    addr(0, 0, 0, 0x00);
    h.ioWrite(0xcfc, 4, 0);
    addr(0, 0, 0, 0x08);
    h.ioWrite(0xcfc, 4, 0);
    addr(0, 0, 0, 0x0c);
    h.ioWrite(0xcfc, 4, 0xffff_ffff);
    expect(cfg(0, 0, 0x00)).toBe(0x1237_8086);
    expect(cfg(0, 0, 0x08) >>> 8).toBe(0x060000);
    expect(cfg(0, 0, 0x0c)).toBe(0x0000_f800); // only the latency timer's bits 7:3 took the write
  });

  it("the PAM registers (59h-5Fh) take firmware's writes of their enable bits", () => {
    const { h, addr, cfg } = host();
    addr(0, 0, 0, 0x58);
    h.ioWrite(0xcfd, 1, 0xff); // PAM0
    h.ioWrite(0xcfe, 2, 0xffff); // PAM1, PAM2
    expect(cfg(0, 0, 0x58)).toBe(0x3333_3000);
  });

  it("a write to the Reset Control register (CF9h) with RCPU set resets the platform", () => {
    const { h, resets } = host();
    h.ioWrite(0xcf9, 1, 0x02);
    expect(resets).toEqual([]);
    expect(h.ioRead(0xcf9, 1)).toBe(0x02);
    h.ioWrite(0xcf9, 1, 0x06);
    expect(resets).toEqual([1]);
  });

  it("attaching twice to a slot or outside 0-31.0-7 is refused", () => {
    const { h } = host();
    expect(() => h.attach(0, 0, createI440fxHostBridge())).toThrow(/taken/);
    expect(() => h.attach(32, 0, createI440fxHostBridge())).toThrow(/no slot/);
  });
});

describe("snapshot", () => {
  it("restores CONFIG_ADDRESS and the bridge's writable registers", () => {
    const a = host();
    a.addr(0, 0, 0, 0x5c);
    a.h.ioWrite(0xcfc, 4, 0x3333_3333);
    const b = host();
    b.h.restore(structuredClone(a.h.save()));
    expect(b.h.ioRead(0xcf8, 4)).toBe(0x8000_005c);
    expect(b.h.ioRead(0xcfc, 4)).toBe(0x3333_3333);
  });

  it("refuses a snapshot naming slots that are not attached, and changes nothing", () => {
    const a = host();
    const s = a.h.save() as { functions: { devfn: number }[] };
    s.functions[0].devfn = 8;
    a.addr(0, 0, 0, 0);
    expect(() => a.h.restore(s)).toThrow(SnapshotError);
    expect(a.h.ioRead(0xcf8, 4)).toBe(0x8000_0000);
  });
});
