// Virtual time as device models see it (DESIGN.md §5): an absolute count of
// virtual TSC ticks (proto/virtual-time.ts, nominal 100 MHz), never the host
// clock, so a VM's run is a pure function of its inputs. Devices with their
// own crystals (PIT 1.193182 MHz, RTC 32.768 kHz, the LAPIC bus clock)
// convert through an Oscillator, exactly and without drift.
import { VIRTUAL_TSC_HZ } from "../proto/virtual-time.js";

export { VIRTUAL_TSC_HZ } from "../proto/virtual-time.js";

export interface Clock {
  /** The current virtual TSC: an integer >= 0 that never decreases. */
  now(): number;
}

/** The VMM's clock: set to each exit's virtual TSC before devices run. */
export class VirtualClock implements Clock {
  private t = 0;

  now(): number {
    return this.t;
  }

  /** Moves time to `tsc`; time never runs backwards, so an older value is ignored. */
  set(tsc: number): void {
    if (tsc > this.t) this.t = tsc;
  }

  advance(ticks: number): void {
    this.t += ticks;
  }
}

const gcd = (a: number, b: number): number => {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
};

/**
 * A crystal of `hz` cycles per second driving a device, aligned to virtual
 * TSC 0: cycle k happens at tick ticksFor(k). Integer arithmetic on the
 * reduced ratio keeps every result exact (no float drift over long runs).
 */
export class Oscillator {
  /** cycles / ticks = num / den, reduced. */
  private readonly num: number;
  private readonly den: number;

  constructor(readonly hz: number) {
    if (!Number.isInteger(hz) || hz <= 0) throw new Error(`Oscillator: frequency ${hz} is not a positive integer`);
    const g = gcd(hz, VIRTUAL_TSC_HZ);
    this.num = hz / g;
    this.den = VIRTUAL_TSC_HZ / g;
    // Both products below stay under 2^53 when num * den does.
    if (this.num * this.den > Number.MAX_SAFE_INTEGER)
      throw new Error(`Oscillator: ${hz} Hz is not exactly convertible`);
  }

  /** Whole cycles completed in `ticks` ticks (floor). */
  cyclesIn(ticks: number): number {
    const q = Math.floor(ticks / this.den);
    const r = ticks - q * this.den;
    return q * this.num + Math.floor((r * this.num) / this.den);
  }

  /** The first tick count by which `cycles` cycles have completed (ceil): cyclesIn(ticksFor(n)) >= n. */
  ticksFor(cycles: number): number {
    const q = Math.floor(cycles / this.num);
    const r = cycles - q * this.num;
    return q * this.den + Math.ceil((r * this.den) / this.num);
  }
}

/** Ticks in `seconds` of virtual time. */
export const ticksFromSeconds = (seconds: number): number => Math.round(seconds * VIRTUAL_TSC_HZ);

/** Ticks in `us` microseconds of virtual time. */
export const ticksFromMicroseconds = (us: number): number => Math.round((us * VIRTUAL_TSC_HZ) / 1e6);
