// The PC's real-time clock and CMOS RAM: a Motorola MC146818A as its
// datasheet describes it (registers 0-13: time, alarm, registers A-D; 114
// bytes of RAM at 14-127 in the PC's 128-byte part), index port 0x70 with the
// NMI mask in bit 7 and data port 0x71 (IBM PC/AT Technical Reference), IRQ 8.
//
// Time is virtual (DESIGN.md §5): the clock starts at `epochSeconds` and its
// 32.768 kHz divider chain runs on virtual TSC ticks, so two runs of a VM
// read the same times. Nothing here looks at the host clock.
//
// Model choices (documented, not in the datasheet):
// - An update adds elapsed seconds through calendar arithmetic on the
//   registers as the current data mode reads them; registers holding values
//   the chip would never produce are normalised by the first update. Leap
//   years are the chip's: every year divisible by 4 (right for 2000-2099).
// - Daylight saving (DSE) is stored but does not change the time.
// - The square-wave output (SQWE) has no pin to drive.
// - Divider values other than 010 (32.768 kHz) and 11x (reset) stop the clock:
//   the PC's crystal is 32.768 kHz, so other time bases would count wrongly.
import { type Clock, Oscillator } from "./clock.js";
import type { IoDevice, IoRange, IoSize } from "./io-device.js";
import type { IrqSink } from "./irq.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";
import type { TimedDevice } from "./timed.js";

export const RTC_IRQ = 8;
export const RTC_HZ = 32_768;

/** Register indices (datasheet "Address Map"). */
export const RtcReg = {
  SECONDS: 0,
  SECONDS_ALARM: 1,
  MINUTES: 2,
  MINUTES_ALARM: 3,
  HOURS: 4,
  HOURS_ALARM: 5,
  DAY_OF_WEEK: 6,
  DATE: 7,
  MONTH: 8,
  YEAR: 9,
  A: 10,
  B: 11,
  C: 12,
  D: 13,
} as const;

export const REG_A_UIP = 0x80;
export const REG_B_SET = 0x80;
export const REG_B_PIE = 0x40;
export const REG_B_AIE = 0x20;
export const REG_B_UIE = 0x10;
export const REG_B_DM_BINARY = 0x04;
export const REG_B_24H = 0x02;
export const REG_C_IRQF = 0x80;
export const REG_C_PF = 0x40;
export const REG_C_AF = 0x20;
export const REG_C_UF = 0x10;
export const REG_D_VRT = 0x80;

/** PC CMOS layout (IBM PC/AT Technical Reference "CMOS RAM Address Map"; 0x34-0x35 as AMI/SeaBIOS use it). */
export const CmosAddr = {
  BASE_MEMORY_LO: 0x15,
  BASE_MEMORY_HI: 0x16,
  EXT_MEMORY_LO: 0x17,
  EXT_MEMORY_HI: 0x18,
  CHECKSUM_HI: 0x2e,
  CHECKSUM_LO: 0x2f,
  EXT_MEMORY2_LO: 0x30,
  EXT_MEMORY2_HI: 0x31,
  CENTURY: 0x32,
  HIGH_MEMORY_LO: 0x34,
  HIGH_MEMORY_HI: 0x35,
} as const;

/** One second of the 32.768 kHz chain; update-in-progress window: tBUC 244 us + update cycle 1984 us = 73 cycles. */
const SECOND = RTC_HZ;
const UIP_CYCLES = 73;
/** After the divider leaves reset the first update comes half a second later (datasheet, register A DV bits). */
const FIRST_UPDATE_AFTER_RESET = SECOND / 2;
const DV_MASK = 0x70;
const DV_32K = 0x20;
const DAY = 86_400;
/** Days in the chip's 100-year calendar (25 leap years). */
const CENTURY_DAYS = 36_525;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] as const;

const bcd = (v: number): number => ((Math.floor(v / 10) % 10) << 4) | (v % 10);
const unbcd = (v: number): number => (v >>> 4) * 10 + (v & 0xf);

export interface Mc146818Options {
  clock: Clock;
  irq: IrqSink;
  /** Wall-clock time at construction, Unix seconds (UTC). */
  epochSeconds: number;
  /** Guest RAM in bytes, for the CMOS memory-size bytes. */
  ramBytes: number;
}

export class Mc146818 implements IoDevice, TimedDevice, Snapshotting {
  readonly name = "mc146818";
  readonly ports: readonly IoRange[] = [{ base: 0x70, count: 2 }];
  readonly ioWidth = 1;
  private readonly clock: Clock;
  private readonly irq: IrqSink;
  private readonly osc = new Oscillator(RTC_HZ);
  /** Registers 0-13 and RAM 14-127; register A bit 7, C and D are computed. */
  private cmos = new Uint8Array(128);
  private index = 0;
  private nmiMasked = false;
  /** Divider chain: running from virtual tick `anchor`; updates at cycle firstUpdate + k seconds. */
  private running = true;
  private anchor = 0;
  private firstUpdate = SECOND;
  /** Chain cycles (since anchor) already processed. */
  private lastCycle = 0;
  private flags = 0;
  private line = false;

  constructor(options: Mc146818Options) {
    this.clock = options.clock;
    this.irq = options.irq;
    this.anchor = this.clock.now();
    this.cmos[RtcReg.A] = DV_32K | 0x06; // as a PC BIOS leaves it: 32.768 kHz, 1024 Hz periodic rate
    this.cmos[RtcReg.B] = REG_B_24H; // BCD, 24-hour
    this.setWallClock(options.epochSeconds);
    this.fillMemorySize(options.ramBytes);
  }

  /** NMI disabled by port 0x70 bit 7 (for the VMM's NMI routing). */
  get nmiDisabled(): boolean {
    return this.nmiMasked;
  }

  ioRead(port: number, _size: IoSize): number {
    if (port === 0x70) return 0xff; // the index register is write-only
    return this.readRegister(this.index);
  }

  ioWrite(port: number, _size: IoSize, value: number): void {
    value &= 0xff;
    if (port === 0x70) {
      this.index = value & 0x7f;
      this.nmiMasked = (value & 0x80) !== 0;
    } else {
      this.writeRegister(this.index, value);
    }
  }

  nextDeadline(): number {
    if (this.line) return 0; // IRQF already set: nothing changes the line until register C is read
    // From the last processed cycle: an event already due gives a deadline in the past, so the VMM ticks at once.
    const c = this.lastCycle;
    let next = Number.POSITIVE_INFINITY;
    const b = this.cmos[RtcReg.B];
    if (b & REG_B_PIE) {
      const p = this.periodCycles();
      if (p) next = (Math.floor(c / p) + 1) * p;
    }
    if (b & (REG_B_UIE | REG_B_AIE) && !(b & REG_B_SET) && this.running) next = Math.min(next, this.nextUpdate(c));
    return next === Number.POSITIVE_INFINITY ? 0 : this.anchor + this.osc.ticksFor(next);
  }

  tick(now: number): void {
    this.settle(now);
  }

  private readRegister(i: number): number {
    if (i <= RtcReg.D) this.settle(this.clock.now());
    switch (i) {
      case RtcReg.A:
        return this.cmos[RtcReg.A] | (this.updateInProgress() ? REG_A_UIP : 0);
      case RtcReg.C: {
        // Reading C clears all its flags and releases IRQ 8.
        const c = this.flags | (this.irqf() ? REG_C_IRQF : 0);
        this.flags = 0;
        this.updateLine();
        return c;
      }
      case RtcReg.D:
        return REG_D_VRT;
      default:
        return this.cmos[i];
    }
  }

  private writeRegister(i: number, v: number): void {
    if (i <= RtcReg.D) this.settle(this.clock.now());
    switch (i) {
      case RtcReg.A:
        this.writeA(v & 0x7f);
        return;
      case RtcReg.B:
        // SET going high stops updates and clears UIE (datasheet, register B bits 7 and 4).
        this.cmos[RtcReg.B] = v & REG_B_SET ? v & ~REG_B_UIE : v;
        this.updateLine();
        return;
      case RtcReg.C:
      case RtcReg.D:
        return; // read-only
      default:
        this.cmos[i] = v;
    }
  }

  private writeA(v: number): void {
    const dv = v & DV_MASK;
    const run = dv === DV_32K;
    if (run && !this.running) {
      // Leaving reset: the chain restarts now, the first update half a second later.
      this.anchor = this.clock.now();
      this.lastCycle = 0;
      this.firstUpdate = FIRST_UPDATE_AFTER_RESET;
    }
    this.running = run;
    this.cmos[RtcReg.A] = v;
  }

  /** Updates completed by chain cycle c. */
  private updatesBy(c: number): number {
    return c < this.firstUpdate ? 0 : Math.floor((c - this.firstUpdate) / SECOND) + 1;
  }

  private nextUpdate(c: number): number {
    return this.firstUpdate + this.updatesBy(c) * SECOND;
  }

  /** Periodic interrupt period in chain cycles (register A RS3-RS0; 1 and 2 repeat 8 and 9); 0 = none. */
  private periodCycles(): number {
    if (!this.running) return 0;
    const rs = this.cmos[RtcReg.A] & 0x0f;
    if (rs === 0) return 0;
    return 1 << ((rs <= 2 ? rs + 7 : rs) - 1);
  }

  /** UIP: set from 244 us before an update until the update cycle (1984 us) ends; never while SET. */
  private updateInProgress(): boolean {
    if (!this.running || this.cmos[RtcReg.B] & REG_B_SET) return false;
    return this.nextUpdate(this.lastCycle) - this.lastCycle <= UIP_CYCLES;
  }

  /** Runs the divider chain to `now`: periodic flags, update cycles, alarms. */
  private settle(now: number): void {
    if (!this.running) return;
    const c = this.osc.cyclesIn(now - this.anchor);
    if (c <= this.lastCycle) return;
    const p = this.periodCycles();
    if (p && Math.floor(c / p) > Math.floor(this.lastCycle / p)) this.flags |= REG_C_PF;
    const updates = this.updatesBy(c) - this.updatesBy(this.lastCycle);
    if (updates > 0 && !(this.cmos[RtcReg.B] & REG_B_SET)) this.update(updates);
    this.lastCycle = c;
    this.updateLine();
  }

  /** `n` update cycles: the time advances n seconds; UF, and AF if the alarm matched on the way. */
  private update(n: number): void {
    const before = this.secondOfDay();
    this.advance(n);
    this.flags |= REG_C_UF;
    if (this.alarmMatchedAfter(before, n)) this.flags |= REG_C_AF;
  }

  private binary(): boolean {
    return (this.cmos[RtcReg.B] & REG_B_DM_BINARY) !== 0;
  }

  private decode(v: number): number {
    return this.binary() ? v : unbcd(v);
  }

  private encode(v: number): number {
    return this.binary() ? v : bcd(v);
  }

  /** Hours register to 0-23 (12-hour mode: 1-12 with bit 7 = PM). */
  private decodeHours(v: number): number {
    if (this.cmos[RtcReg.B] & REG_B_24H) return this.decode(v);
    return (this.decode(v & 0x7f) % 12) + (v & 0x80 ? 12 : 0);
  }

  private encodeHours(h: number): number {
    if (this.cmos[RtcReg.B] & REG_B_24H) return this.encode(h);
    return this.encode(h % 12 || 12) | (h >= 12 ? 0x80 : 0);
  }

  private secondOfDay(): number {
    const r = this.cmos;
    return (
      this.decodeHours(r[RtcReg.HOURS]) * 3600 + this.decode(r[RtcReg.MINUTES]) * 60 + this.decode(r[RtcReg.SECONDS])
    );
  }

  /** Adds n seconds to the time and calendar registers. */
  private advance(n: number): void {
    const r = this.cmos;
    const total = this.secondOfDay() + n;
    const days = Math.floor(total / DAY);
    const tod = total - days * DAY;
    r[RtcReg.SECONDS] = this.encode(tod % 60);
    r[RtcReg.MINUTES] = this.encode(Math.floor(tod / 60) % 60);
    r[RtcReg.HOURS] = this.encodeHours(Math.floor(tod / 3600));
    if (days === 0) return;
    const dow = this.decode(r[RtcReg.DAY_OF_WEEK]);
    r[RtcReg.DAY_OF_WEEK] = this.encode(((((dow - 1 + days) % 7) + 7) % 7) + 1);
    const year = this.decode(r[RtcReg.YEAR]) % 100;
    const month = Math.min(12, Math.max(1, this.decode(r[RtcReg.MONTH])));
    const day = Math.max(1, this.decode(r[RtcReg.DATE]));
    const dayNumber = (centuryDay(year, month, day) + days) % CENTURY_DAYS;
    this.setDate(dayNumber);
  }

  /** Sets year, month and date from a day number of the chip's century (0 = 1 January of year 00). */
  private setDate(dayNumber: number): void {
    let year = Math.floor(dayNumber / 1461) * 4;
    let rest = dayNumber % 1461;
    for (let len = 366; rest >= len; len = 365) {
      rest -= len;
      year++;
    }
    let month = 1;
    for (let len = monthDays(year, 1); rest >= len; len = monthDays(year, month)) {
      rest -= len;
      month++;
    }
    this.cmos[RtcReg.YEAR] = this.encode(year);
    this.cmos[RtcReg.MONTH] = this.encode(month);
    this.cmos[RtcReg.DATE] = this.encode(rest + 1);
  }

  /** Did the alarm match any of the n seconds after second-of-day `before`? Alarm bytes 11xxxxxx match anything. */
  private alarmMatchedAfter(before: number, n: number): boolean {
    const r = this.cmos;
    const s = dontCare(r[RtcReg.SECONDS_ALARM]) ? -1 : this.decode(r[RtcReg.SECONDS_ALARM]);
    const m = dontCare(r[RtcReg.MINUTES_ALARM]) ? -1 : this.decode(r[RtcReg.MINUTES_ALARM]);
    const h = dontCare(r[RtcReg.HOURS_ALARM]) ? -1 : this.decodeHours(r[RtcReg.HOURS_ALARM]);
    const span = Math.min(n, DAY);
    for (let i = 1; i <= span; i++) {
      const tod = (before + i) % DAY;
      if (
        (s < 0 || tod % 60 === s) &&
        (m < 0 || Math.floor(tod / 60) % 60 === m) &&
        (h < 0 || Math.floor(tod / 3600) === h)
      ) {
        return true;
      }
    }
    return false;
  }

  private irqf(): boolean {
    return (this.flags & this.cmos[RtcReg.B] & (REG_C_PF | REG_C_AF | REG_C_UF)) !== 0;
  }

  /** IRQ 8 is IRQF: held until register C is read. */
  private updateLine(): void {
    const level = this.irqf();
    if (level !== this.line) {
      this.line = level;
      this.irq.setIrq(RTC_IRQ, level);
    }
  }

  private setWallClock(epochSeconds: number): void {
    if (!Number.isSafeInteger(epochSeconds) || epochSeconds < 0) {
      throw new Error(`mc146818: epochSeconds ${epochSeconds} is not a non-negative integer`);
    }
    const days = Math.floor(epochSeconds / DAY);
    const tod = epochSeconds % DAY;
    const { year, month, day } = civilFromUnixDays(days);
    const r = this.cmos;
    r[RtcReg.SECONDS] = this.encode(tod % 60);
    r[RtcReg.MINUTES] = this.encode(Math.floor(tod / 60) % 60);
    r[RtcReg.HOURS] = this.encodeHours(Math.floor(tod / 3600));
    r[RtcReg.DAY_OF_WEEK] = ((days + 4) % 7) + 1; // 1 January 1970 was a Thursday; Sunday = 1
    r[RtcReg.DATE] = this.encode(day);
    r[RtcReg.MONTH] = this.encode(month);
    r[RtcReg.YEAR] = this.encode(year % 100);
    r[CmosAddr.CENTURY] = bcd(Math.floor(year / 100));
  }

  /** Memory-size bytes a PC BIOS stores, and the checksum over 0x10-0x2D. */
  private fillMemorySize(ramBytes: number): void {
    if (!Number.isSafeInteger(ramBytes) || ramBytes < 0) throw new Error(`mc146818: ramBytes ${ramBytes} is invalid`);
    const r = this.cmos;
    const kb = Math.floor(ramBytes / 1024);
    const base = Math.min(640, kb);
    const ext = Math.min(0xffff, Math.max(0, kb - 1024));
    const high = Math.min(0xffff, Math.max(0, Math.floor((ramBytes - 16 * 1024 * 1024) / 65536)));
    const put16 = (lo: number, v: number) => {
      r[lo] = v & 0xff;
      r[lo + 1] = v >>> 8;
    };
    put16(CmosAddr.BASE_MEMORY_LO, base);
    put16(CmosAddr.EXT_MEMORY_LO, ext);
    put16(CmosAddr.EXT_MEMORY2_LO, ext);
    put16(CmosAddr.HIGH_MEMORY_LO, high);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += r[i];
    r[CmosAddr.CHECKSUM_HI] = (sum >>> 8) & 0xff;
    r[CmosAddr.CHECKSUM_LO] = sum & 0xff;
  }

  save(): unknown {
    return {
      kind: "mc146818",
      version: 1,
      cmos: this.cmos.slice(),
      index: this.index,
      nmiMasked: this.nmiMasked,
      running: this.running,
      anchor: this.anchor,
      firstUpdate: this.firstUpdate,
      lastCycle: this.lastCycle,
      flags: this.flags,
      line: this.line,
    };
  }

  restore(state: unknown): void {
    const r = new SnapshotReader(state, "mc146818", 1);
    const s = {
      cmos: r.bytes("cmos", 128),
      index: r.uint("index", 7),
      nmiMasked: r.bool("nmiMasked"),
      running: r.bool("running"),
      anchor: r.count("anchor"),
      firstUpdate: r.int("firstUpdate", 0, SECOND),
      lastCycle: r.count("lastCycle"),
      flags: r.uint("flags", 8) & (REG_C_PF | REG_C_AF | REG_C_UF),
      line: r.bool("line"),
    };
    Object.assign(this, s);
  }
}

/** Alarm bytes 11xxxxxx match any value (datasheet "Alarm" don't-care code). */
function dontCare(v: number): boolean {
  return (v & 0xc0) === 0xc0;
}

function isLeap(year: number): boolean {
  return year % 4 === 0;
}

function monthDays(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1];
}

/** Day number within the chip's century of year/month/day (year 0-99). */
function centuryDay(year: number, month: number, day: number): number {
  let n = year * 365 + Math.ceil(year / 4);
  for (let m = 1; m < month; m++) n += monthDays(year, m);
  return n + day - 1;
}

/** Gregorian date of a day count since 1 January 1970. */
function civilFromUnixDays(days: number): { year: number; month: number; day: number } {
  const gregorianLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  let year = 1970;
  for (let len = 365; days >= len; len = gregorianLeap(year) ? 366 : 365) {
    days -= len;
    year++;
  }
  let month = 1;
  const len = (m: number) => (m === 2 && gregorianLeap(year) ? 29 : MONTH_DAYS[m - 1]);
  while (days >= len(month)) days -= len(month++);
  return { year, month, day: days + 1 };
}
