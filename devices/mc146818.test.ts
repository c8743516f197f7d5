// Oracle: Motorola MC146818A datasheet: "Address Map" (registers 0-13, RAM
// 14-63, 114 bytes in the PC's 128-byte part), "Time, Calendar and Alarm Data
// Modes" (BCD and binary, 12-hour with bit 7 = PM, day of week 1-7 with
// Sunday = 1, alarm "don't care" codes 11xxxxxx), Register A (UIP, DV2-DV0,
// RS3-RS0 and the "Periodic Interrupt Rate" table for a 32.768 kHz time base),
// Register B (SET clears UIE, PIE/AIE/UIE, DM, 24/12), Register C (IRQF =
// PF.PIE + AF.AIE + UF.UIE, read clears), Register D (VRT), "Update Cycle"
// (UIP high 244 us before an update, update cycle 1984 us; first update 500 ms
// after the divider leaves reset). Gregorian dates: JavaScript's Date (UTC).
// CMOS layout: IBM PC/AT Technical Reference (0x15-0x18 base/extended memory
// in KB, 0x2E-0x2F checksum of 0x10-0x2D, 0x30-0x31, 0x32 century),
// 0x34-0x35 = RAM above 16 MiB in 64 KiB units (AMI BIOS convention).
import { describe, expect, it } from "vitest";
import { VirtualClock } from "./clock.js";
import type { IrqSink } from "./irq.js";
import { Mc146818 } from "./mc146818.js";
import { SnapshotError } from "./snapshot.js";

const SECOND = 100_000_000;
/** Virtual tick at which `cycles` 32.768 kHz cycles have elapsed. */
const tickOf32k = (cycles: number) => Math.ceil((cycles * 1e8) / 32768);
const bcd = (v: number) => ((v / 10) << 4) | (v % 10);

function rtc(epochSeconds = 1_700_000_000, ramBytes = 64 * 1024 * 1024) {
  const clock = new VirtualClock();
  const levels: boolean[] = [];
  const irq: IrqSink = {
    setIrq: (line, level) => {
      expect(line).toBe(8);
      levels.push(level);
    },
  };
  const r = new Mc146818({ clock, irq, epochSeconds, ramBytes });
  const rd = (i: number) => {
    r.ioWrite(0x70, 1, i);
    return r.ioRead(0x71, 1);
  };
  const wr = (i: number, v: number) => {
    r.ioWrite(0x70, 1, i);
    r.ioWrite(0x71, 1, v);
  };
  const time = () => [0, 2, 4, 6, 7, 8, 9].map(rd);
  return { r, clock, levels, rd, wr, time };
}

/** Registers 0,2,4,6,7,8,9 in BCD for a Unix time, from JavaScript's Date. */
function expectedBcd(unix: number): number[] {
  const d = new Date(unix * 1000);
  return [
    d.getUTCSeconds(),
    d.getUTCMinutes(),
    d.getUTCHours(),
    d.getUTCDay() + 1,
    d.getUTCDate(),
    d.getUTCMonth() + 1,
    d.getUTCFullYear() % 100,
  ].map(bcd);
}

describe("time base from the epoch option", () => {
  it("starts at the epoch in BCD, 24-hour mode: 1700000000 is Tuesday 2023-11-14 22:13:20 UTC", () => {
    const { time, rd } = rtc();
    expect(time()).toEqual(expectedBcd(1_700_000_000));
    expect(time()).toEqual([0x20, 0x13, 0x22, 0x03, 0x14, 0x11, 0x23]);
    expect(rd(0x32)).toBe(0x20); // century
  });

  it("advances one second per second of virtual time, not host time", () => {
    const { clock, time } = rtc();
    clock.set(SECOND - 1);
    expect(time()).toEqual(expectedBcd(1_700_000_000));
    clock.set(SECOND);
    expect(time()).toEqual(expectedBcd(1_700_000_001));
    clock.set(3725 * SECOND);
    expect(time()).toEqual(expectedBcd(1_700_003_725));
  });

  for (const [what, unix] of [
    ["midnight, month and year (2023-12-31 23:59:59)", 1_704_067_199],
    ["into 29 February of a leap year (2024-02-28 23:59:59)", 1_709_164_799],
    ["out of February in a common year (2023-02-28 23:59:59)", 1_677_628_799],
    ["over 400 days", 1_700_000_000],
  ] as const) {
    it(`the calendar rolls over ${what}`, () => {
      const { clock, time } = rtc(unix);
      const step = what.startsWith("over") ? 400 * 86400 + 17 : 1;
      clock.set(step * SECOND);
      expect(time()).toEqual(expectedBcd(unix + step));
    });
  }
});

describe("data modes (register B DM and 24/12)", () => {
  it("binary mode: the registers count in binary", () => {
    const { clock, wr, rd, time } = rtc();
    wr(0x0b, 0x80 | 0x04 | 0x02); // SET, binary, 24 h
    for (const [i, v] of [
      [0, 58],
      [2, 59],
      [4, 23],
      [6, 7],
      [7, 31],
      [8, 12],
      [9, 99],
    ])
      wr(i, v);
    wr(0x0b, 0x06);
    clock.set(2 * SECOND);
    expect(time()).toEqual([0, 0, 0, 1, 1, 1, 0]); // Saturday 31-12-99 23:59:58 + 2 s
    expect(rd(0x0b)).toBe(0x06);
  });

  it("12-hour mode: 11:59:59 PM (0x91) becomes 12:00:00 AM (0x12), and 11:59:59 AM becomes 12 PM (0x92)", () => {
    const { clock, wr, rd } = rtc();
    wr(0x0b, 0x80); // SET, BCD, 12 h
    wr(4, 0x91);
    wr(2, 0x59);
    wr(0, 0x59);
    wr(0x0b, 0x00);
    clock.set(SECOND);
    expect([rd(4), rd(2), rd(0)]).toEqual([0x12, 0x00, 0x00]);
    wr(0x0b, 0x80);
    wr(4, 0x11);
    wr(2, 0x59);
    wr(0, 0x59);
    wr(0x0b, 0x00);
    clock.set(2 * SECOND);
    expect(rd(4)).toBe(0x92);
  });
});

describe("register A: update in progress, divider, periodic rate", () => {
  it("UIP is 1 from 244 us before an update until the 1984 us update cycle ends, else 0", () => {
    const { clock, rd } = rtc();
    clock.set(SECOND - 3000 * 100); // 3 ms before the first update
    expect(rd(0x0a) & 0x80).toBe(0);
    clock.set(SECOND - 2000 * 100); // 2 ms before
    expect(rd(0x0a) & 0x80).toBe(0x80);
    clock.set(SECOND + 100);
    expect(rd(0x0a) & 0x80).toBe(0);
  });

  it("reads back as the BIOS leaves it (0x26), and bit 7 is read-only", () => {
    const { rd, wr } = rtc();
    expect(rd(0x0a)).toBe(0x26);
    wr(0x0a, 0xa6);
    expect(rd(0x0a)).toBe(0x26);
  });

  it("the divider held in reset (DV = 11x) stops the clock; leaving reset, the first update comes 500 ms later", () => {
    const { clock, wr, rd } = rtc();
    wr(0x0a, 0x70);
    clock.set(5 * SECOND);
    expect(rd(0)).toBe(0x20);
    wr(0x0a, 0x26);
    clock.set(5 * SECOND + tickOf32k(16384) - 1);
    expect(rd(0)).toBe(0x20);
    clock.set(5 * SECOND + tickOf32k(16384));
    expect(rd(0)).toBe(0x21);
  });
});

describe("interrupts (registers B and C, IRQ 8)", () => {
  it("periodic interrupt at RS = 6 (976.5625 us = 32 cycles): IRQF | PF, IRQ 8 high until C is read", () => {
    const { r, clock, levels, wr, rd } = rtc();
    wr(0x0b, 0x42); // PIE, 24 h, BCD
    expect(r.nextDeadline()).toBe(tickOf32k(32));
    clock.set(tickOf32k(32));
    r.tick(clock.now());
    expect(levels).toEqual([true]);
    expect(r.nextDeadline()).toBe(0); // the line is already high
    expect(rd(0x0c)).toBe(0xc0);
    expect(levels).toEqual([true, false]);
    expect(rd(0x0c)).toBe(0x00); // reading cleared it
  });

  it("periodic rates 1 and 2 repeat rates 8 and 9 (3.90625 ms and 7.8125 ms)", () => {
    const a = rtc();
    a.wr(0x0a, 0x21);
    a.wr(0x0b, 0x42);
    expect(a.r.nextDeadline()).toBe(tickOf32k(128));
    const b = rtc();
    b.wr(0x0a, 0x2f); // 500 ms
    b.wr(0x0b, 0x42);
    expect(b.r.nextDeadline()).toBe(tickOf32k(16384));
  });

  it("update-ended interrupt: UF and IRQF at each update when UIE is set", () => {
    const { r, clock, wr, rd } = rtc();
    wr(0x0b, 0x12);
    expect(r.nextDeadline()).toBe(SECOND);
    clock.set(SECOND);
    r.tick(SECOND);
    expect(rd(0x0c)).toBe(0xd0); // IRQF | UF, and PF: the 1024 Hz rate runs, PIE or not
  });

  it("flags are set without their enables, but IRQF and IRQ 8 stay low", () => {
    const { clock, levels, rd } = rtc();
    clock.set(SECOND + 1);
    expect(rd(0x0c)).toBe(0x50); // PF (rate 6 runs) and UF, no IRQF
    expect(levels).toEqual([]);
  });

  it("enabling PIE while PF is set raises IRQF at once (IRQF = PF.PIE + AF.AIE + UF.UIE)", () => {
    const { clock, levels, wr } = rtc();
    clock.set(tickOf32k(40));
    wr(0x0b, 0x42);
    expect(levels).toEqual([true]);
  });

  it("alarm: AF when the time matches the alarm registers", () => {
    const { r, clock, wr, rd } = rtc(); // 22:13:20
    wr(1, 0x22);
    wr(3, 0x13);
    wr(5, 0x22);
    wr(0x0b, 0x22); // AIE
    clock.set(SECOND);
    r.tick(SECOND);
    expect(rd(0x0c) & 0xa0).toBe(0);
    clock.set(2 * SECOND);
    r.tick(2 * SECOND);
    expect(rd(0x0c) & ~0x40).toBe(0xb0); // IRQF | AF | UF (PF aside)
  });

  it("alarm 'don't care' codes (0xC0-0xFF) in all three bytes give an alarm every second", () => {
    const { clock, wr, rd } = rtc();
    wr(1, 0xc0);
    wr(3, 0xff);
    wr(5, 0xc5);
    clock.set(SECOND);
    expect(rd(0x0c) & 0x20).toBe(0x20);
    clock.set(2 * SECOND);
    expect(rd(0x0c) & 0x20).toBe(0x20);
  });

  it("an alarm passed while nobody looked is still flagged", () => {
    const { clock, wr, rd } = rtc(); // 22:13:20
    wr(1, 0x00);
    wr(3, 0x30);
    wr(5, 0x23);
    clock.set(7200 * SECOND);
    expect(rd(0x0c) & 0x20).toBe(0x20);
  });
});

describe("register B SET and register D", () => {
  it("SET stops updates so the time can be written, and clears UIE", () => {
    const { clock, wr, rd } = rtc();
    wr(0x0b, 0x12);
    wr(0x0b, 0x92);
    expect(rd(0x0b)).toBe(0x82);
    wr(0, 0x45);
    clock.set(3 * SECOND);
    expect(rd(0)).toBe(0x45);
    expect(rd(0x0a) & 0x80).toBe(0);
    wr(0x0b, 0x02);
    clock.set(4 * SECOND);
    expect(rd(0)).toBe(0x46);
  });

  it("register D reads VRT = 1; writes to C and D are ignored", () => {
    const { wr, rd } = rtc();
    wr(0x0d, 0x00);
    wr(0x0c, 0xff);
    expect(rd(0x0d)).toBe(0x80);
    expect(rd(0x0c)).toBe(0x00);
  });
});

describe("ports and CMOS RAM", () => {
  it("port 0x70 bit 7 masks NMI; bits 6:0 select the register", () => {
    const { r, rd } = rtc();
    r.ioWrite(0x70, 1, 0x8d);
    expect(r.nmiDisabled).toBe(true);
    expect(r.ioRead(0x71, 1)).toBe(0x80); // register D
    rd(0x0d);
    expect(r.nmiDisabled).toBe(false);
  });

  it("the 114 bytes at 0x0E-0x7F are plain RAM", () => {
    const { wr, rd } = rtc();
    for (let i = 0x0e; i < 0x80; i++) wr(i, (i * 7) & 0xff);
    for (let i = 0x0e; i < 0x80; i++) expect(rd(i)).toBe((i * 7) & 0xff);
  });

  it("memory-size bytes for 32 MiB: base 640 KB, extended 31744 KB, 256 x 64 KiB above 16 MiB", () => {
    const { rd } = rtc(1_700_000_000, 32 * 1024 * 1024);
    expect(rd(0x15) | (rd(0x16) << 8)).toBe(640);
    expect(rd(0x17) | (rd(0x18) << 8)).toBe(31744);
    expect(rd(0x30) | (rd(0x31) << 8)).toBe(31744);
    expect(rd(0x34) | (rd(0x35) << 8)).toBe(256);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += rd(i);
    expect((rd(0x2e) << 8) | rd(0x2f)).toBe(sum);
  });

  it("extended memory saturates at 0xFFFF KB (above 64 MiB) while 0x34-0x35 keeps counting", () => {
    const { rd } = rtc(1_700_000_000, 256 * 1024 * 1024);
    expect(rd(0x17) | (rd(0x18) << 8)).toBe(0xffff);
    expect(rd(0x34) | (rd(0x35) << 8)).toBe((240 * 1024 * 1024) / 65536);
  });
});

describe("snapshot", () => {
  it("a restored RTC keeps time, flags and RAM", () => {
    const a = rtc();
    a.wr(0x40, 0x5a);
    a.wr(0x0b, 0x52);
    a.clock.set(5 * SECOND + 7);
    a.r.tick(a.clock.now());
    const b = rtc(0);
    b.clock.set(5 * SECOND + 7);
    b.r.restore(structuredClone(a.r.save()));
    expect(b.time()).toEqual(a.time());
    expect(b.rd(0x40)).toBe(0x5a);
    expect(b.rd(0x0c)).toBe(a.rd(0x0c));
  });

  it("rejects a snapshot with a short CMOS array", () => {
    const a = rtc();
    const s = a.r.save() as { cmos: Uint8Array };
    s.cmos = new Uint8Array(64);
    expect(() => a.r.restore(s)).toThrow(SnapshotError);
    expect(() => a.r.restore(s)).toThrow(/cmos/);
  });
});
