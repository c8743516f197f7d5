// Oracle: Intel 82093AA I/O Advanced Programmable Interrupt Controller
// datasheet (290566): "Register Description" (IOREGSEL at FEC0_0000h, IOWIN
// at FEC0_0010h; IOAPICID bits 27:24, IOAPICVER 0x00170011 = version 11h and
// maximum redirection entry 17h, IOAPICARB loaded from the ID), "I/O
// Redirection Table Registers" (bit layout, delivery status and Remote IRR
// read-only, mask set at reset, polarity, trigger mode, Remote IRR set when a
// local APIC accepts a level interrupt and cleared by the EOI with a matching
// vector, masked edge interrupts ignored).
import { describe, expect, it } from "vitest";
import type { ApicMessageSink } from "./apic-bus.js";
import { VirtualClock } from "./clock.js";
import { IoApic } from "./ioapic.js";
import { Lapic } from "./lapic.js";
import { SnapshotError } from "./snapshot.js";

type Msg = [vector: number, mode: number, logical: boolean, dest: number, level: boolean];

function ioapic(accept = true) {
  const msgs: Msg[] = [];
  const target: ApicMessageSink = {
    deliverInterrupt: (...m) => {
      msgs.push(m);
      return accept;
    },
  };
  const io = new IoApic({ target });
  const rd = (reg: number) => {
    io.mmioWrite(0x00, 4, reg);
    return io.mmioRead(0x10, 4);
  };
  const wr = (reg: number, v: number) => {
    io.mmioWrite(0x00, 4, reg);
    io.mmioWrite(0x10, 4, v);
  };
  const route = (pin: number, low: number, dest = 0) => {
    wr(0x11 + 2 * pin, dest << 24);
    wr(0x10 + 2 * pin, low);
  };
  return { io, msgs, rd, wr, route };
}

describe("identification registers", () => {
  it("IOAPICVER is 0x00170011: version 11h, 24 redirection entries", () => {
    const { rd } = ioapic();
    expect(rd(0x01)).toBe(0x0017_0011);
  });

  it("IOAPICID bits 27:24 are read/write; IOAPICARB takes the ID when it is written", () => {
    const { rd, wr } = ioapic();
    wr(0x00, 0xffff_ffff);
    expect(rd(0x00)).toBe(0x0f00_0000);
    expect(rd(0x02)).toBe(0x0f00_0000);
    wr(0x02, 0); // read-only
    expect(rd(0x02)).toBe(0x0f00_0000);
  });

  it("IOREGSEL reads back; IOWIN is byte-readable", () => {
    const { io } = ioapic();
    io.mmioWrite(0x00, 4, 0x01);
    expect(io.mmioRead(0x00, 4)).toBe(0x01);
    expect(io.mmioRead(0x12, 1)).toBe(0x17);
  });
});

describe("redirection table", () => {
  it("every entry is masked at reset", () => {
    const { rd } = ioapic();
    for (let pin = 0; pin < 24; pin++) expect(rd(0x10 + 2 * pin) & 0x10000).toBe(0x10000);
  });

  it("delivery status and Remote IRR are read-only; the high dword holds only the destination", () => {
    const { rd, wr } = ioapic();
    wr(0x10, 0xffff_ffff);
    wr(0x11, 0xffff_ffff);
    expect(rd(0x10)).toBe(0x0001_afff);
    expect(rd(0x11)).toBe(0xff00_0000);
  });

  it("an edge entry sends one message per rising edge: vector, delivery mode, destination mode and destination", () => {
    const { io, msgs, route } = ioapic();
    route(4, 0x0000_0934, 0x03); // vector 34h, lowest priority, logical
    io.setIrq(4, true);
    io.setIrq(4, true);
    io.setIrq(4, false);
    io.setIrq(4, true);
    expect(msgs).toEqual([
      [0x34, 1, true, 0x03, false],
      [0x34, 1, true, 0x03, false],
    ]);
  });

  it("an edge on a masked entry is lost, not held", () => {
    const { io, msgs, route } = ioapic();
    route(1, 0x0001_0031);
    io.setIrq(1, true);
    route(1, 0x0000_0031);
    expect(msgs).toEqual([]);
  });

  it("level: Remote IRR holds off further messages until the EOI for its vector", () => {
    const { io, msgs, rd, route } = ioapic();
    route(9, 0x0000_8041); // level, active high, vector 41h
    io.setIrq(9, true);
    expect(rd(0x10 + 18) & 0x4000).toBe(0x4000);
    io.setIrq(9, false);
    io.setIrq(9, true);
    expect(msgs.length).toBe(1);
    io.eoi(0x42); // another vector: no effect
    expect(rd(0x10 + 18) & 0x4000).toBe(0x4000);
    io.eoi(0x41); // pin still asserted: delivered again
    expect(msgs).toEqual([
      [0x41, 0, false, 0, true],
      [0x41, 0, false, 0, true],
    ]);
    io.setIrq(9, false);
    io.eoi(0x41);
    expect(rd(0x10 + 18) & 0x4000).toBe(0);
    expect(msgs.length).toBe(2);
  });

  it("active-low polarity: a PCI pin (16-23) idles high and asserts when driven low", () => {
    const { io, msgs, route } = ioapic();
    route(16, 0x0000_a050); // level, active low, vector 50h
    expect(msgs).toEqual([]);
    io.setIrq(16, false);
    expect(msgs).toEqual([[0x50, 0, false, 0, true]]);
  });

  it("unmasking a level entry whose pin is asserted delivers it", () => {
    const { io, msgs, route } = ioapic();
    route(10, 0x0001_8060);
    io.setIrq(10, true);
    expect(msgs).toEqual([]);
    route(10, 0x0000_8060);
    expect(msgs).toEqual([[0x60, 0, false, 0, true]]);
  });

  it("Remote IRR is set only when a local APIC accepts the message", () => {
    const { io, rd, route } = ioapic(false);
    route(11, 0x0000_8061, 0x05);
    io.setIrq(11, true);
    expect(rd(0x10 + 22) & 0x4000).toBe(0);
  });
});

describe("with a local APIC", () => {
  it("a level interrupt travels to the LAPIC, and the LAPIC's EOI clears Remote IRR", () => {
    const lapic = new Lapic({ clock: new VirtualClock() });
    const io = new IoApic({ target: lapic });
    lapic.eoiListener = io;
    io.mmioWrite(0, 4, 0x10 + 2 * 5);
    io.mmioWrite(0x10, 4, 0x0000_8045);
    io.setIrq(5, true);
    expect(lapic.hasInterrupt()).toBe(true);
    expect(lapic.acknowledge()).toBe(0x45);
    io.setIrq(5, false);
    lapic.mmioWrite(0xb0, 4, 0);
    expect(io.mmioRead(0x10, 4) & 0x4000).toBe(0);
  });
});

describe("snapshot", () => {
  it("restores the table, Remote IRR and pin levels", () => {
    const a = ioapic();
    a.route(9, 0x0000_8041, 2);
    a.io.setIrq(9, true);
    const b = ioapic();
    b.io.restore(structuredClone(a.io.save()));
    expect(b.rd(0x10 + 18)).toBe(a.rd(0x10 + 18));
    expect(b.rd(0x11 + 18)).toBe(0x0200_0000);
    b.io.eoi(0x41);
    expect(b.msgs).toEqual([[0x41, 0, false, 2, true]]);
  });

  it("refuses reserved bits in a redirection entry", () => {
    const a = ioapic();
    const s = a.io.save() as { high: Uint32Array };
    s.high[3] = 1;
    expect(() => a.io.restore(s)).toThrow(SnapshotError);
  });
});
