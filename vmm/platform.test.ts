// Oracle: the PC/AT's wiring (IBM PC/AT Technical Reference: PIT counter 0
// on IRQ 0, COM1 at 0x3F8 on IRQ 4, the RTC at 0x70/0x71, the 8042 at
// 0x60/0x64, POST port 0x80), the 8259A datasheet (ICW2 = vector base, an
// OCW3 IRR read), the 8254 datasheet (mode 2: one OUT pulse every N CLK
// cycles of 1.193182 MHz), the PC16550D datasheet (IER ETBEI raises a THRE
// interrupt; INTR reaches the bus through OUT2), the 8042 command FEh (pulse
// the reset line), the PIIX3 reset control register 0xCF9 (RCPU), the
// MC146818 CMOS memory-size bytes 0x17/0x18 (extended KiB above 1 MiB) and
// the i440FX host bridge identity 8086:1237 at bus 0 device 0.
import { describe, expect, it } from "vitest";
import { PcPlatform } from "./platform.js";
import { PIC_INIT_20_28 } from "./testing/pic-init.js";

function platform(ram = 16 << 20) {
  const out: number[] = [];
  const p = new PcPlatform({ ramBytes: ram, onTransmit: (b) => out.push(b) });
  const wr = (port: number, v: number, size: 1 | 2 | 4 = 1) => p.bus.write(port, size, v);
  const rd = (port: number, size: 1 | 2 | 4 = 1) => p.bus.read(port, size);
  // Master at 0x20, slave at 0x28, everything unmasked.
  for (const [port, v] of PIC_INIT_20_28) wr(port, v);
  return { p, out, wr, rd };
}

describe("PcPlatform wiring", () => {
  it("PIT counter 0 in mode 2 raises IRQ 0 at its deadline; the PIC answers vector 0x20", () => {
    const { p, wr } = platform();
    wr(0x43, 0x34);
    wr(0x40, 11932 & 0xff);
    wr(0x40, 11932 >> 8);
    const deadline = p.nextDeadline();
    // 8254 mode 2: the count loads on the CLK pulse after the write, OUT goes low at count 1 and
    // rises one CLK later: the first rising edge is N + 1 cycles after the write (cycle 0 here),
    // at 100 MHz virtual TSC the first tick by which that cycle has happened.
    expect(deadline).toBe(Math.ceil(((11932 + 1) * 100_000_000) / 1_193_182));
    p.clock.set(deadline - 1);
    p.tick();
    expect(p.pic.hasInterrupt()).toBe(false);
    p.clock.set(deadline);
    p.tick();
    expect(p.pic.hasInterrupt()).toBe(true);
    expect(p.pic.acknowledge()).toBe(0x20);
  });

  it("COM1 at 0x3F8 transmits and, with OUT2 and ETBEI, raises IRQ 4 (vector 0x24) until IIR is read", () => {
    const { p, out, wr, rd } = platform();
    wr(0x3f8, 0x41);
    expect(out).toEqual([0x41]);
    wr(0x3fc, 0x08); // MCR OUT2
    wr(0x3f9, 0x02); // IER ETBEI
    expect(p.pic.hasInterrupt()).toBe(true);
    expect(p.pic.acknowledge()).toBe(0x24);
    wr(0x20, 0x20); // EOI
    expect(rd(0x3fa) & 0x0f).toBe(0x02); // IIR: THRE, which the read clears
    wr(0x3f8, 0x42); // THRE again: a new rising edge on IRQ 4
    expect(p.pic.hasInterrupt()).toBe(true);
  });

  it("the RTC's CMOS holds the extended memory size: 15360 KiB above 1 MiB of 16 MiB", () => {
    const { wr, rd } = platform();
    wr(0x70, 0x17);
    const lo = rd(0x71);
    wr(0x70, 0x18);
    expect(lo | (rd(0x71) << 8)).toBe(15360);
  });

  it("the debug-exit port records the guest's status (value << 1) | 1", () => {
    const { p, wr } = platform();
    wr(0xf4, 3, 4);
    expect(p.requests.exitStatus).toBe(7);
  });

  it("8042 command FEh and PIIX3 reset control RCPU request a reset", () => {
    const a = platform();
    a.wr(0x64, 0xfe);
    expect(a.p.requests.reset).toBe(true);
    const b = platform();
    b.wr(0xcf9, 0x04);
    expect(b.p.requests.reset).toBe(true);
  });

  it("the PCI host bridge at 0:0.0 is an i440FX (vendor 8086, device 1237); POST port 0x80 reads back", () => {
    const { wr, rd } = platform();
    wr(0xcf8, 0x8000_0000, 4);
    expect(rd(0xcfc, 4)).toBe(0x1237_8086);
    wr(0x80, 0x5a);
    expect(rd(0x80)).toBe(0x5a);
  });

  it("has no APIC: nothing answers at the local APIC's 0xFEE00000 (CPUID reports none)", () => {
    expect(platform().p.mmio.find(0xfee0_0000)).toBeNull();
  });
});

describe("PcPlatform save/restore", () => {
  it("a restored platform continues exactly as the saved one: same deadline, same pending vector", () => {
    const a = platform();
    a.wr(0x43, 0x34);
    a.wr(0x40, 0x00);
    a.wr(0x40, 0x10);
    a.p.clock.set(12345);
    a.wr(0x21, 0xfe); // mask all but IRQ 0
    const saved = a.p.save();
    const b = platform();
    b.p.restore(saved);
    expect(b.p.save()).toEqual(saved);
    expect(b.p.clock.now()).toBe(12345);
    expect(b.p.nextDeadline()).toBe(a.p.nextDeadline());
    for (const x of [a.p, b.p]) {
      x.clock.set(x.nextDeadline());
      x.tick();
    }
    expect(b.p.pic.acknowledge()).toBe(a.p.pic.acknowledge());
  });

  it("refuses a bad part and leaves every device as it was", () => {
    const a = platform();
    a.wr(0x80, 0x11);
    const before = a.p.save() as Record<string, unknown>;
    const bad = {
      ...before,
      post: { kind: "post-port", version: 1, last: 0x22 },
      uart: { kind: "uart16550", version: 9 },
    };
    expect(() => a.p.restore(bad)).toThrow(/uart16550 snapshot: version 9, expected 1/);
    expect(a.p.save()).toEqual(before);
  });
});
