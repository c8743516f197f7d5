// Oracle: exact rational arithmetic with BigInt (cycles = floor(ticks * hz /
// 100 MHz), ticks = ceil(cycles * 100 MHz / hz)), the definition of a crystal
// of hz cycles per second against the 100 MHz virtual TSC of proto/virtual-time.ts.
import { describe, expect, it } from "vitest";
import { Oscillator, ticksFromMicroseconds, ticksFromSeconds, VirtualClock } from "./clock.js";

const TSC = 100_000_000n;
const floorCycles = (ticks: number, hz: number) => Number((BigInt(ticks) * BigInt(hz)) / TSC);
const ceilTicks = (cycles: number, hz: number) => Number((BigInt(cycles) * TSC + BigInt(hz) - 1n) / BigInt(hz));

describe("Oscillator", () => {
  for (const hz of [1_193_182, 32_768, 100_000_000, 25_000_000, 14_318_180]) {
    it(`${hz} Hz: cyclesIn and ticksFor are exact, even after years of virtual time`, () => {
      const osc = new Oscillator(hz);
      for (const ticks of [0, 1, 83, 84, 99_999_999, 100_000_000, 123_456_789_012, 3_155_760_000_000_000]) {
        expect(osc.cyclesIn(ticks)).toBe(floorCycles(ticks, hz));
      }
      for (const cycles of [0, 1, 11_932, 65_536, 32_768, 987_654_321_987]) {
        expect(osc.ticksFor(cycles)).toBe(ceilTicks(cycles, hz));
      }
    });
  }

  it("ticksFor(n) is the first tick at which n cycles have completed", () => {
    const osc = new Oscillator(1_193_182);
    for (const n of [1, 2, 18, 11_933, 65_537]) {
      const t = osc.ticksFor(n);
      expect(osc.cyclesIn(t)).toBeGreaterThanOrEqual(n);
      expect(osc.cyclesIn(t - 1)).toBeLessThan(n);
    }
  });

  it("rejects a frequency that is not a positive integer", () => {
    expect(() => new Oscillator(0)).toThrow(/positive integer/);
    expect(() => new Oscillator(1.5)).toThrow(/positive integer/);
  });
});

describe("VirtualClock and conversions", () => {
  it("never runs backwards", () => {
    const c = new VirtualClock();
    c.set(500);
    c.set(100);
    expect(c.now()).toBe(500);
    c.advance(10);
    expect(c.now()).toBe(510);
  });

  it("1 s is 100,000,000 ticks and 1 us is 100 ticks at the nominal 100 MHz", () => {
    expect(ticksFromSeconds(1)).toBe(100_000_000);
    expect(ticksFromMicroseconds(244)).toBe(24_400);
  });
});
