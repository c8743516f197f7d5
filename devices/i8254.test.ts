// Oracle: Intel 8254 / 82C54 Programmable Interval Timer datasheet (231164,
// 231244): "Control Word Format" (SC, RW, M, BCD), "Counter Latch Command",
// "Read-Back Command" and "Status Byte", "Mode Definitions" (modes 0-5: OUT
// levels, "loaded on the next CLK pulse", "N+1 CLK pulses", mode 3 odd/even
// counts), "Minimum and Maximum Initial Counts" (0 = 2^16 or 10^4), "Read
// Operations" (LSB then MSB); Intel 82371SB PIIX3 datasheet, port 61h bits
// (gate 2, speaker, refresh toggle, OUT2). Times: CLK = 1.193182 MHz against
// the 100 MHz virtual TSC, so CLK cycle k happens at ceil(k * 1e8 / 1193182).
import { describe, expect, it } from "vitest";
import { VirtualClock } from "./clock.js";
import { I8254 } from "./i8254.js";
import { I8259 } from "./i8259.js";
import type { IrqSink } from "./irq.js";
import { SnapshotError } from "./snapshot.js";

const tickOfCycle = (k: number) => Math.ceil((k * 1e8) / 1_193_182);

function pit() {
  const clock = new VirtualClock();
  const events: [number, boolean][] = [];
  const irq: IrqSink = { setIrq: (line, level) => events.push([line, level]) };
  const p = new I8254({ clock, irq });
  const wr = (port: number, v: number) => p.ioWrite(port, 1, v);
  const rd = (port: number) => p.ioRead(port, 1);
  const at = (cycle: number) => clock.set(tickOfCycle(cycle));
  const word = (port: number) => rd(port) | (rd(port) << 8);
  const latch0 = () => {
    wr(0x43, 0x00);
    return word(0x40);
  };
  return { p, clock, events, wr, rd, at, word, latch0 };
}

describe("mode 2, rate generator (Linux's periodic tick: 0x34, LSB then MSB)", () => {
  it("IRQ 0 rises N CLK cycles after the load, i.e. at cycle N + 1 after the write, then every N", () => {
    const { p, events, wr } = pit();
    wr(0x43, 0x34);
    wr(0x40, 11932 & 0xff);
    wr(0x40, 11932 >> 8);
    expect(p.nextDeadline()).toBe(tickOfCycle(11933));
    p.tick(tickOfCycle(11933) - 1);
    expect(events).toEqual([]);
    p.tick(tickOfCycle(11933));
    expect(events).toEqual([
      [0, true],
      [0, false],
    ]);
    expect(p.nextDeadline()).toBe(tickOfCycle(11933 + 11932));
  });

  it("the count is loaded on the next CLK and then decrements once per CLK", () => {
    const { wr, at, latch0 } = pit();
    wr(0x43, 0x34);
    wr(0x40, 0x00);
    wr(0x40, 0x10); // N = 0x1000, written at cycle 0
    at(1);
    expect(latch0()).toBe(0x1000);
    at(101);
    expect(latch0()).toBe(0x1000 - 100);
  });

  it("OUT is low for one CLK when the count reaches 1, and the count reloads to N", () => {
    const { p, wr, at, latch0 } = pit();
    wr(0x43, 0x34);
    wr(0x40, 5);
    wr(0x40, 0);
    at(5); // count = 1
    expect(p.out(0)).toBe(false);
    expect(latch0()).toBe(1);
    at(6);
    expect(p.out(0)).toBe(true);
    expect(latch0()).toBe(5);
  });

  it("a count written while counting takes effect at the end of the current period", () => {
    const { wr, at, latch0 } = pit();
    wr(0x43, 0x34);
    wr(0x40, 100);
    wr(0x40, 0);
    at(31);
    wr(0x40, 50);
    wr(0x40, 0);
    at(61);
    expect(latch0()).toBe(40); // still the old sequence
    at(101);
    expect(latch0()).toBe(50); // period ended at cycle 101: new count loaded
  });

  it("missed periods are coalesced into one edge: an edge-triggered input latches one request", () => {
    const { p, events, wr } = pit();
    wr(0x43, 0x34);
    wr(0x40, 100);
    wr(0x40, 0);
    p.tick(tickOfCycle(1 + 1000));
    expect(events.length).toBe(2);
    expect(p.nextDeadline()).toBe(tickOfCycle(1 + 1100));
  });
});

describe("mode 0, interrupt on terminal count (Linux's one-shot: 0x30)", () => {
  it("OUT goes low on the control word and high N + 1 CLK pulses after the count is written; IRQ 0 follows it", () => {
    const { p, events, wr, at } = pit();
    at(10);
    wr(0x43, 0x30);
    expect(p.out(0)).toBe(false);
    wr(0x40, 100);
    wr(0x40, 0);
    expect(p.nextDeadline()).toBe(tickOfCycle(111));
    at(110);
    expect(p.out(0)).toBe(false);
    at(111);
    p.tick(tickOfCycle(111));
    expect(p.out(0)).toBe(true);
    expect(events).toEqual([[0, true]]);
    expect(p.nextDeadline()).toBe(0); // OUT stays high: no further edge
  });

  it("the counter wraps to 0xFFFF after terminal count and OUT stays high", () => {
    const { p, wr, at, latch0 } = pit();
    wr(0x43, 0x30);
    wr(0x40, 3);
    wr(0x40, 0);
    at(1 + 5);
    expect(latch0()).toBe(0xfffe);
    expect(p.out(0)).toBe(true);
  });

  it("a new mode 0 control word sets OUT (and IRQ 0) low again", () => {
    const { p, events, wr } = pit();
    wr(0x43, 0x30);
    wr(0x40, 1);
    wr(0x40, 0);
    p.tick(tickOfCycle(2));
    wr(0x43, 0x30);
    expect(events).toEqual([
      [0, true],
      [0, false],
    ]);
  });

  it("writing the first byte of a two-byte count sets OUT low at once", () => {
    const { p, wr, at } = pit();
    wr(0x43, 0x30);
    wr(0x40, 1);
    wr(0x40, 0);
    at(5);
    expect(p.out(0)).toBe(true);
    wr(0x40, 7);
    expect(p.out(0)).toBe(false);
  });

  it("an initial count of 0 is 2^16 in binary", () => {
    const { p, wr, at } = pit();
    wr(0x43, 0x30);
    wr(0x40, 0);
    wr(0x40, 0);
    at(1 + 65535);
    expect(p.out(0)).toBe(false);
    at(1 + 65536);
    expect(p.out(0)).toBe(true);
  });
});

describe("access modes, latches and BCD", () => {
  it("RW = LSB only: a single byte is the count (MSB 0) and reads return the LSB", () => {
    const { wr, rd, at } = pit();
    wr(0x43, 0x10); // counter 0, LSB, mode 0
    wr(0x40, 0x20);
    at(1 + 4);
    expect(rd(0x40)).toBe(0x1c);
    expect(rd(0x40)).toBe(0x1c);
  });

  it("RW = MSB only: a single byte is the count's MSB (LSB 0)", () => {
    const { wr, rd, at } = pit();
    wr(0x43, 0x20);
    wr(0x40, 0x02); // count 0x200
    at(1 + 1);
    wr(0x43, 0x00);
    expect(rd(0x40)).toBe(0x01); // latched 0x1FF, MSB only
  });

  it("a latched count holds until both bytes are read, and a second latch before that is ignored", () => {
    const { wr, rd, at, word } = pit();
    wr(0x43, 0x34);
    wr(0x40, 0x00);
    wr(0x40, 0x40);
    at(1 + 0x10);
    wr(0x43, 0x00);
    at(1 + 0x20);
    wr(0x43, 0x00); // ignored
    expect(rd(0x40)).toBe(0xf0);
    at(1 + 0x30);
    expect(rd(0x40)).toBe(0x3f); // MSB of the first latch
    expect(word(0x40)).toBe(0x4000 - 0x30); // unlatched: live count
  });

  it("BCD counting: 0x0100 counts 100 decades and reads back in BCD", () => {
    const { wr, at, latch0 } = pit();
    wr(0x43, 0x31);
    wr(0x40, 0x00);
    wr(0x40, 0x01);
    at(1 + 10);
    expect(latch0()).toBe(0x0090);
    at(1 + 105);
    expect(latch0()).toBe(0x9995); // wrapped through 0000 to 9999
  });

  it("an initial count of 0 is 10^4 in BCD", () => {
    const { p, wr, at } = pit();
    wr(0x43, 0x31);
    wr(0x40, 0);
    wr(0x40, 0);
    at(1 + 9999);
    expect(p.out(0)).toBe(false);
    at(1 + 10000);
    expect(p.out(0)).toBe(true);
  });
});

describe("read-back command and status byte", () => {
  it("status = OUT, NULL COUNT, RW, M, BCD; NULL COUNT clears once the count is loaded", () => {
    const { wr, rd, at } = pit();
    wr(0x43, 0x34);
    wr(0x40, 10);
    wr(0x40, 0);
    wr(0x43, 0xe2); // read-back: status only, counter 0
    expect(rd(0x40)).toBe(0x80 | 0x40 | 0x30 | (2 << 1));
    at(1);
    wr(0x43, 0xe2);
    expect(rd(0x40)).toBe(0xb4);
  });

  it("with count and status both latched, the first read is the status, then the count", () => {
    const { wr, rd, at } = pit();
    wr(0x61, 0x01); // GATE2 high
    wr(0x43, 0xb0); // counter 2, both bytes, mode 0
    wr(0x42, 0x34);
    wr(0x42, 0x12);
    at(1 + 4);
    wr(0x43, 0xc8); // latch count and status of counter 2
    expect(rd(0x42)).toBe(0x30); // OUT low, loaded, RW 3, mode 0, binary
    expect(rd(0x42)).toBe(0x30);
    expect(rd(0x42)).toBe(0x12);
  });

  it("the status of a mode 6 control word reports M = 110 and behaves as mode 2", () => {
    const { wr, rd, at, latch0 } = pit();
    wr(0x43, 0x3c);
    wr(0x40, 4);
    wr(0x40, 0);
    at(1 + 4);
    expect(latch0()).toBe(4);
    wr(0x43, 0xe2);
    expect(rd(0x40) & 0x0e).toBe(0x0c);
  });
});

describe("mode 3, square wave", () => {
  it("even N: OUT high for N/2 and low for N/2 CLKs, counting down by two", () => {
    const { p, wr, at, latch0 } = pit();
    wr(0x43, 0x36);
    wr(0x40, 10);
    wr(0x40, 0);
    const outs: boolean[] = [];
    const counts: number[] = [];
    for (let k = 1; k <= 10; k++) {
      at(k);
      outs.push(p.out(0));
      counts.push(latch0());
    }
    expect(outs).toEqual([true, true, true, true, true, false, false, false, false, false]);
    expect(counts).toEqual([10, 8, 6, 4, 2, 10, 8, 6, 4, 2]);
  });

  it("odd N: OUT high for (N + 1)/2 and low for (N - 1)/2 CLKs", () => {
    const { p, wr, at } = pit();
    wr(0x43, 0x36);
    wr(0x40, 5);
    wr(0x40, 0);
    const outs: boolean[] = [];
    for (let k = 1; k <= 10; k++) {
      at(k);
      outs.push(p.out(0));
    }
    expect(outs).toEqual([true, true, true, false, false, true, true, true, false, false]);
  });
});

describe("counter 2 and port 61h", () => {
  it("Linux's PIT calibration: gate on, mode 0 with 0xFFFF; OUT2 (bit 5) rises after 0xFFFF + 1 CLKs", () => {
    const { wr, rd, at } = pit();
    wr(0x61, (rd(0x61) & ~0x02) | 0x01);
    wr(0x43, 0xb0);
    wr(0x42, 0xff);
    wr(0x42, 0xff);
    at(0xffff);
    expect(rd(0x61) & 0x20).toBe(0);
    at(0xffff + 1);
    expect(rd(0x61) & 0x20).toBe(0x20);
  });

  it("GATE low suspends counting in mode 0 and GATE high resumes it", () => {
    const { wr, rd, at, word } = pit();
    wr(0x61, 0x01);
    wr(0x43, 0xb0);
    wr(0x42, 0x00);
    wr(0x42, 0x10);
    at(1 + 0x100);
    wr(0x61, 0x00);
    at(1 + 0x300);
    expect(word(0x42)).toBe(0x0f00);
    wr(0x61, 0x01);
    at(1 + 0x400);
    expect(word(0x42)).toBe(0x0e00);
    expect(rd(0x61) & 0x01).toBe(0x01);
  });

  it("mode 1: the GATE rising edge triggers the one-shot; OUT is low from the next CLK until terminal count", () => {
    const { p, wr, at } = pit();
    wr(0x43, 0xb2);
    wr(0x42, 10);
    wr(0x42, 0);
    at(50);
    expect(p.out(2)).toBe(true); // not triggered yet
    wr(0x61, 0x01); // trigger at cycle 50
    at(51);
    expect(p.out(2)).toBe(false);
    at(60);
    expect(p.out(2)).toBe(false);
    at(61);
    expect(p.out(2)).toBe(true);
  });

  it("bits 0-3 read back as written; bits 6-7 read 0; bit 4 toggles with the refresh clock", () => {
    const { wr, rd, at } = pit();
    wr(0x61, 0xff);
    at(0);
    expect(rd(0x61) & 0xcf).toBe(0x0f);
    const seen = new Set<number>();
    for (let k = 0; k < 60; k += 6) {
      at(k);
      seen.add(rd(0x61) & 0x10);
    }
    expect([...seen].sort()).toEqual([0, 0x10]);
  });
});

describe("mode 4, software triggered strobe", () => {
  it("OUT strobes low for one CLK N + 1 CLK pulses after the write; IRQ 0 gets one edge", () => {
    const { p, events, wr, at } = pit();
    wr(0x43, 0x38);
    wr(0x40, 20);
    wr(0x40, 0);
    at(20);
    expect(p.out(0)).toBe(true);
    at(21);
    expect(p.out(0)).toBe(false);
    at(22);
    expect(p.out(0)).toBe(true);
    p.tick(tickOfCycle(30));
    expect(events).toEqual([
      [0, true],
      [0, false],
    ]);
    expect(p.nextDeadline()).toBe(0);
  });
});

describe("snapshot", () => {
  it("a restored PIT continues counting and interrupting where the saved one was", () => {
    const a = pit();
    a.wr(0x43, 0x34);
    a.wr(0x40, 0x9c);
    a.wr(0x40, 0x2e);
    a.at(5000);
    a.wr(0x43, 0x00); // a latch in flight
    const b = pit();
    b.at(5000);
    b.p.restore(structuredClone(a.p.save()));
    expect(b.word(0x40)).toBe(a.word(0x40));
    expect(b.p.nextDeadline()).toBe(a.p.nextDeadline());
  });

  it("rejects a malformed snapshot without changing state", () => {
    const a = pit();
    const s = a.p.save() as { counters: { access: number }[] };
    s.counters[1].access = 0;
    expect(() => a.p.restore(s)).toThrow(SnapshotError);
    expect(() => a.p.restore({ kind: "i8254", version: 1, port61: 0, counters: [] })).toThrow(/counters/);
  });
});

describe("with an 8259A on IRQ 0", () => {
  it("each mode 2 period is one edge the PIC latches: one vector 20h per period, after EOI", () => {
    const clock = new VirtualClock();
    const pic = new I8259();
    for (const [port, v] of [
      [0x20, 0x11],
      [0x21, 0x20],
      [0x21, 0x04],
      [0x21, 0x01],
    ])
      pic.ioWrite(port, 1, v);
    const p = new I8254({ clock, irq: pic });
    p.ioWrite(0x43, 1, 0x34);
    p.ioWrite(0x40, 1, 100);
    p.ioWrite(0x40, 1, 0);
    for (let period = 1; period <= 3; period++) {
      const t = p.nextDeadline();
      expect(t).toBe(tickOfCycle(1 + 100 * period));
      clock.set(t);
      p.tick(t);
      expect(pic.acknowledge()).toBe(0x20);
      expect(pic.hasInterrupt()).toBe(false);
      pic.ioWrite(0x20, 1, 0x20);
    }
  });
});
