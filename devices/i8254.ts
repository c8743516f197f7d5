// The PC's Intel 8254 programmable interval timer, as the 8254/82C54
// datasheet (Intel 231164 / 231244) describes it: counters 0-2 at 0x40-0x42,
// control word and read-back command at 0x43, a 1.193182 MHz CLK on every
// counter. PC wiring: counter 0's OUT is IRQ 0; counters 0 and 1 have GATE
// tied high; counter 2's GATE and OUT are bits 0 and 5 of system control
// port B at 0x61 (Intel 82371SB PIIX3 datasheet, "NMI Status and Control
// Register", 61h), which this model also decodes.
//
// Time is virtual (DESIGN.md §5): CLK cycle k happens at virtual TSC
// Oscillator.ticksFor(k). A counter keeps the cycle at which its count was
// loaded and computes count and OUT from elapsed cycles when asked; the
// only events are IRQ 0 edges, which nextDeadline()/tick() schedule.
//
// Model choices (documented, not in the datasheet):
// - IRQ 0 carries OUT0's rising edges: in modes 0 and 1 the line follows
//   OUT (high from terminal count until a new count or control word); in
//   modes 2-5 each rising edge of OUT is a pulse (devices/irq.ts). A PC's
//   IRQ 0 is edge-triggered, so the PIC and I/O APIC see the same requests.
// - In mode 3 a count written while counting takes effect at the end of the
//   current period, not half-period. A count of 1 in modes 2 and 3 (illegal
//   per the datasheet) acts as 2.
// - Port 61h bit 4 (refresh toggle) flips every 18 CLK cycles (15.09 us),
//   the refresh rate a PC BIOS programs into counter 1, whatever counter 1
//   is programmed to.
import { type Clock, Oscillator } from "./clock.js";
import type { IoDevice, IoRange, IoSize } from "./io-device.js";
import { type IrqSink, pulseIrq } from "./irq.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";
import type { TimedDevice } from "./timed.js";

/** The PC's PIT input clock (datasheet: CLK up to 10 MHz; PC: 14.31818 MHz / 12). */
export const PIT_HZ = 1_193_182;
export const PIT_IRQ = 0;
/** Port 61h bits (PIIX3 "NMI Status and Control Register"). */
export const PORT61_GATE2 = 0x01;
export const PORT61_SPEAKER = 0x02;
export const PORT61_REFRESH = 0x10;
export const PORT61_OUT2 = 0x20;
/** Port 61h read/write bits: gate 2, speaker data, SERR# and IOCHK# NMI enables. */
const PORT61_RW = 0x0f;
const REFRESH_CYCLES = 18;

/** Access modes (control word RW1:RW0). */
const RW_LSB = 1;
const RW_MSB = 2;
const RW_WORD = 3;

const toBcd = (v: number): number =>
  (v % 10) | ((Math.floor(v / 10) % 10) << 4) | ((Math.floor(v / 100) % 10) << 8) | ((Math.floor(v / 1000) % 10) << 12);
const fromBcd = (v: number): number =>
  (v & 0xf) + ((v >>> 4) & 0xf) * 10 + ((v >>> 8) & 0xf) * 100 + ((v >>> 12) & 0xf) * 1000;

/** One counter. `c` arguments are absolute CLK cycle numbers. */
class Counter {
  /** Control word mode bits M2-M0 as written (status byte) and the mode they select (6, 7 = 2, 3). */
  modeBits = 0;
  mode = 0;
  access = RW_WORD;
  bcd = false;
  gate = true;
  /** A count is in the counting element (CE). */
  loaded = false;
  /** The count in effect (1..65536, or 1..10000 in BCD). */
  n = 0x10000;
  /** The cycle at which CE held n; elapsed e = c - start. */
  start = 0;
  /** Counting suspended by GATE low (modes 0, 2, 3, 4): e is frozen at `frozen`. */
  suspended = false;
  frozen = 0;
  /** A count written while counting that takes effect later (modes 1, 2, 3, 5); 0 = none. */
  pendingN = 0;
  /** Modes 2 and 3: the cycle at which pendingN takes over. */
  pendingAt = 0;
  /** Count register written but not yet in CE (status NULL COUNT). */
  nullCount = true;
  /** The CE value while nothing counts. */
  idleValue = 0;
  /** Two-byte write in progress: the LSB. */
  writeHigh = false;
  lsb = 0;
  /** Two-byte live read in progress. */
  readHigh = false;
  latchedCount = 0;
  /** Latched count bytes still to read (0 = not latched). */
  latchedBytes = 0;
  latchedStatus = -1;
  /** Rising edges of OUT already reported since `start` (modes 2-5); OUT level reported (modes 0, 1). */
  edgesReported = 0;
  outReported = false;

  private wrap(): number {
    return this.bcd ? 10000 : 0x10000;
  }

  /** Elapsed CLK cycles since the load, or -1 before it. */
  elapsed(c: number): number {
    if (!this.loaded) return -1;
    if (this.suspended) return this.frozen;
    return c >= this.start ? c - this.start : -1;
  }

  /** OUT at cycle c (datasheet "Mode Definitions"). */
  out(c: number): boolean {
    const e = this.elapsed(c);
    switch (this.mode) {
      case 0:
        return e >= this.n;
      case 1:
        return e < 0 || e >= this.n;
      case 2:
        return this.suspended || e < 0 || e % this.period() !== this.period() - 1;
      case 3:
        return this.suspended || e < 0 || e % this.period() < (this.period() + 1) >>> 1;
      default:
        return e !== this.n;
    }
  }

  private period(): number {
    return Math.max(this.n, 2);
  }

  /** The CE contents at cycle c as the guest reads them (BCD-coded in BCD mode). */
  value(c: number): number {
    const e = this.elapsed(c);
    let v: number;
    if (e < 0) v = this.loaded ? this.n : this.idleValue;
    else if (this.mode === 2) v = this.period() - (e % this.period());
    else if (this.mode === 3) v = this.squareWaveValue(e);
    else v = (((this.n - e) % this.wrap()) + this.wrap()) % this.wrap();
    v %= this.wrap();
    return this.bcd ? toBcd(v) : v;
  }

  /**
   * Mode 3 counts by two: an even N loads N and counts N, N-2, .., 2 in each
   * half; an odd N loads N-1 and OUT stays high one clock past the expiry,
   * (N+1)/2 clocks high and (N-1)/2 low.
   */
  private squareWaveValue(e: number): number {
    const n = this.period();
    const p = e % n;
    if ((n & 1) === 0) return n - 2 * (p % (n >>> 1));
    const high = (n + 1) >>> 1;
    return n - 1 - 2 * (p < high ? p : p - high);
  }

  /** Rising edges of OUT between the load and cycle c (modes 2-5). */
  private edgesAt(c: number): number {
    const e = this.elapsed(c);
    if (e <= 0) return 0;
    if (this.mode === 2 || this.mode === 3) return Math.floor(e / this.period());
    return e > this.n ? 1 : 0; // modes 4, 5: OUT low for the clock at count 0, high again after it
  }

  /** The cycle of the next IRQ-relevant edge of OUT, or -1. */
  nextEdge(): number {
    if (!this.loaded || this.suspended) return -1;
    switch (this.mode) {
      case 0:
      case 1:
        return this.outReported ? -1 : this.start + this.n;
      case 2:
      case 3: {
        const next = this.start + (this.edgesReported + 1) * this.period();
        return this.pendingN && this.pendingAt < next ? this.pendingAt : next;
      }
      default:
        return this.edgesReported > 0 ? -1 : this.start + this.n + 1;
    }
  }

  /** Brings the counter to cycle c, reporting OUT edges to `irq` (null: not wired). */
  settle(c: number, irq: IrqSink | null, line: number): void {
    if (this.pendingAt && this.pendingN && c >= this.pendingAt && (this.mode === 2 || this.mode === 3)) {
      this.report(this.pendingAt, irq, line);
      this.start = this.pendingAt;
      this.n = this.pendingN;
      this.pendingN = 0;
      this.pendingAt = 0;
      this.edgesReported = 0;
    }
    if (this.nullCount && this.loaded && !this.pendingN && c >= this.start) this.nullCount = false;
    this.report(c, irq, line);
  }

  private report(c: number, irq: IrqSink | null, line: number): void {
    if (this.mode <= 1) {
      const out = this.loaded && this.out(c);
      if (out !== this.outReported) {
        this.outReported = out;
        irq?.setIrq(line, out);
      }
      return;
    }
    const edges = this.edgesAt(c);
    if (edges > this.edgesReported) {
      this.edgesReported = edges;
      if (irq) pulseIrq(irq, line);
    }
  }

  /** OUT falls (control word, new count in mode 0): a level line follows it. */
  private dropOut(irq: IrqSink | null, line: number): void {
    if (this.outReported) {
      this.outReported = false;
      irq?.setIrq(line, false);
    }
  }

  /** Control word with RW != 0: all control logic reset, OUT to its initial state. */
  control(c: number, v: number, irq: IrqSink | null, line: number): void {
    this.idleValue = this.value(c) & 0xffff;
    this.access = (v >>> 4) & 3;
    this.modeBits = (v >>> 1) & 7;
    this.mode = this.modeBits > 5 ? this.modeBits - 4 : this.modeBits;
    this.bcd = (v & 1) !== 0;
    this.loaded = false;
    this.suspended = false;
    this.pendingN = 0;
    this.pendingAt = 0;
    this.nullCount = true;
    this.writeHigh = false;
    this.readHigh = false;
    this.latchedBytes = 0;
    this.latchedStatus = -1;
    this.edgesReported = 0;
    this.dropOut(irq, line);
  }

  write(c: number, v: number, irq: IrqSink | null, line: number): void {
    if (this.access === RW_LSB) this.loadCount(c, v, irq, line);
    else if (this.access === RW_MSB) this.loadCount(c, v << 8, irq, line);
    else if (!this.writeHigh) {
      this.lsb = v;
      this.writeHigh = true;
      if (this.mode === 0) {
        // Mode 0: writing the first byte stops counting and sets OUT low at once.
        this.idleValue = this.value(c);
        this.loaded = false;
        this.dropOut(irq, line);
      }
    } else {
      this.writeHigh = false;
      this.loadCount(c, this.lsb | (v << 8), irq, line);
    }
  }

  /** A complete count written to CR; it reaches CE on the next CLK (or later, per mode). */
  private loadCount(c: number, raw: number, irq: IrqSink | null, line: number): void {
    const count = this.bcd ? fromBcd(raw) : raw;
    const n = count === 0 ? this.wrap() : count;
    this.nullCount = true;
    switch (this.mode) {
      case 1:
      case 5:
        this.pendingN = n; // used at the next trigger
        if (!this.loaded) this.n = n;
        return;
      case 2:
      case 3:
        if (this.loaded && !this.suspended) {
          // Not until the end of the current period.
          this.pendingN = n;
          const e = Math.max(0, c - this.start);
          this.pendingAt = this.start + (Math.floor(e / this.period()) + 1) * this.period();
          return;
        }
        break;
      case 0:
        this.dropOut(irq, line);
        break;
    }
    this.n = n;
    this.start = c + 1;
    this.loaded = true;
    this.suspended = this.gateBlocks();
    this.frozen = 0;
    this.edgesReported = 0;
    this.pendingN = 0;
    this.pendingAt = 0;
  }

  /** GATE low disables counting in modes 0, 2, 3, 4. */
  private gateBlocks(): boolean {
    return !this.gate && this.mode !== 1 && this.mode !== 5;
  }

  setGate(c: number, high: boolean, irq: IrqSink | null, line: number): void {
    if (high === this.gate) return;
    this.gate = high;
    if (!high) {
      if (this.loaded && this.gateBlocks() && !this.suspended) {
        this.frozen = Math.max(0, c - this.start);
        this.suspended = true;
      }
      return;
    }
    // Rising edge: a trigger in modes 1, 2, 3, 5; modes 0 and 4 resume.
    if (this.mode === 0 || this.mode === 4) {
      if (this.suspended) {
        this.start = c - this.frozen;
        this.suspended = false;
      }
      return;
    }
    if (this.mode === 1 || this.mode === 5) {
      if (!this.pendingN && !this.loaded) return; // no count written yet
      if (this.pendingN) this.n = this.pendingN;
      this.pendingN = 0;
    } else if (!this.loaded) {
      return;
    } else if (this.pendingN) {
      this.n = this.pendingN; // a trigger after a new count loads it
      this.pendingN = 0;
      this.pendingAt = 0;
    }
    this.loaded = true;
    this.suspended = false;
    this.start = c + 1; // reloaded on the next CLK
    this.edgesReported = 0;
    this.dropOut(irq, line);
  }

  latchCount(c: number): void {
    if (this.latchedBytes) return; // a second latch before the read is ignored
    this.latchedCount = this.value(c);
    this.latchedBytes = this.access === RW_WORD ? 2 : 1;
  }

  /** Read-back status byte: OUT, NULL COUNT, RW1:RW0, M2:M0, BCD. */
  latchStatus(c: number): void {
    if (this.latchedStatus >= 0) return;
    this.latchedStatus =
      (this.out(c) ? 0x80 : 0) | (this.nullCount ? 0x40 : 0) | (this.access << 4) | (this.modeBits << 1) | +this.bcd;
  }

  read(c: number): number {
    if (this.latchedStatus >= 0) {
      const s = this.latchedStatus;
      this.latchedStatus = -1;
      return s;
    }
    if (this.latchedBytes) {
      this.latchedBytes--;
      return this.selectByte(this.latchedCount, this.latchedBytes === 0);
    }
    const v = this.value(c);
    if (this.access !== RW_WORD) return this.selectByte(v, true);
    this.readHigh = !this.readHigh;
    return this.readHigh ? v & 0xff : (v >>> 8) & 0xff;
  }

  /** The byte a read returns: RW = LSB or MSB only, or for RW = both, LSB first (`last` = the MSB). */
  private selectByte(v: number, last: boolean): number {
    if (this.access === RW_LSB) return v & 0xff;
    if (this.access === RW_MSB) return (v >>> 8) & 0xff;
    return last ? (v >>> 8) & 0xff : v & 0xff;
  }

  save(): Record<string, unknown> {
    const { modeBits, access, bcd, gate, loaded, n, start, suspended, frozen, pendingN, pendingAt } = this;
    const { nullCount, idleValue, writeHigh, lsb, readHigh, latchedCount, latchedBytes, latchedStatus } = this;
    const { edgesReported, outReported } = this;
    return {
      kind: "8254-counter",
      version: 1,
      ...{ modeBits, access, bcd, gate, loaded, n, start, suspended, frozen, pendingN, pendingAt },
      ...{ nullCount, idleValue, writeHigh, lsb, readHigh, latchedCount, latchedBytes, latchedStatus },
      ...{ edgesReported, outReported },
    };
  }

  static check(r: SnapshotReader): (counter: Counter) => void {
    const modeBits = r.uint("modeBits", 3);
    const s = {
      modeBits,
      mode: modeBits > 5 ? modeBits - 4 : modeBits,
      access: r.int("access", RW_LSB, RW_WORD),
      bcd: r.bool("bcd"),
      gate: r.bool("gate"),
      loaded: r.bool("loaded"),
      n: r.int("n", 1, 0x10000),
      start: r.count("start"),
      suspended: r.bool("suspended"),
      frozen: r.count("frozen"),
      pendingN: r.int("pendingN", 0, 0x10000),
      pendingAt: r.count("pendingAt"),
      nullCount: r.bool("nullCount"),
      idleValue: r.uint("idleValue", 16),
      writeHigh: r.bool("writeHigh"),
      lsb: r.uint("lsb", 8),
      readHigh: r.bool("readHigh"),
      latchedCount: r.uint("latchedCount", 16),
      latchedBytes: r.int("latchedBytes", 0, 2),
      latchedStatus: r.int("latchedStatus", -1, 0xff),
      edgesReported: r.count("edgesReported"),
      outReported: r.bool("outReported"),
    };
    return (counter) => Object.assign(counter, s);
  }
}

export interface I8254Options {
  clock: Clock;
  /** Receives IRQ 0 (counter 0's OUT). */
  irq: IrqSink;
}

export class I8254 implements IoDevice, TimedDevice, Snapshotting {
  readonly name = "i8254";
  readonly ports: readonly IoRange[] = [
    { base: 0x40, count: 4 },
    { base: 0x61, count: 1 },
  ];
  readonly ioWidth = 1;
  private readonly clock: Clock;
  private readonly irq: IrqSink;
  private readonly osc = new Oscillator(PIT_HZ);
  private readonly counters = [new Counter(), new Counter(), new Counter()] as const;
  /** Port 61h read/write bits. */
  private port61 = 0;

  constructor(options: I8254Options) {
    this.clock = options.clock;
    this.irq = options.irq;
    this.counters[2].gate = false; // port 61h bit 0 is 0 after reset
  }

  ioRead(port: number, _size: IoSize): number {
    const c = this.settle(this.clock.now());
    if (port === 0x61) return this.readPort61(c);
    if (port === 0x43) return 0xff; // the control word register is write-only
    return this.counters[port - 0x40].read(c);
  }

  ioWrite(port: number, _size: IoSize, value: number): void {
    const c = this.settle(this.clock.now());
    value &= 0xff;
    if (port === 0x61) {
      this.port61 = value & PORT61_RW;
      this.counters[2].setGate(c, (value & PORT61_GATE2) !== 0, null, 0);
    } else if (port === 0x43) {
      this.writeControl(c, value);
    } else {
      this.counters[port - 0x40].write(c, value, this.irqOf(port - 0x40), PIT_IRQ);
    }
  }

  nextDeadline(): number {
    const edge = this.counters[0].nextEdge();
    return edge < 0 ? 0 : Math.max(1, this.osc.ticksFor(edge));
  }

  tick(now: number): void {
    this.settle(now);
  }

  /** OUT of counter `i` now (for tests and diagnostics). */
  out(i: 0 | 1 | 2): boolean {
    return this.counters[i].out(this.settle(this.clock.now()));
  }

  private irqOf(i: number): IrqSink | null {
    return i === 0 ? this.irq : null;
  }

  /** Brings every counter to `now`; returns the current CLK cycle. */
  private settle(now: number): number {
    const c = this.osc.cyclesIn(now);
    this.counters[0].settle(c, this.irq, PIT_IRQ);
    this.counters[1].settle(c, null, 0);
    this.counters[2].settle(c, null, 0);
    return c;
  }

  private writeControl(c: number, v: number): void {
    const sc = v >>> 6;
    if (sc === 3) {
      this.readBack(c, v);
      return;
    }
    const counter = this.counters[sc];
    if ((v & 0x30) === 0) counter.latchCount(c);
    else counter.control(c, v, this.irqOf(sc), PIT_IRQ);
  }

  /** Read-back command: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits 3:1 select counters 2:0. */
  private readBack(c: number, v: number): void {
    for (let i = 0; i < 3; i++) {
      if (!(v & (2 << i))) continue;
      if (!(v & 0x20)) this.counters[i].latchCount(c);
      if (!(v & 0x10)) this.counters[i].latchStatus(c);
    }
  }

  private readPort61(c: number): number {
    const refresh = Math.floor(c / REFRESH_CYCLES) & 1 ? PORT61_REFRESH : 0;
    return this.port61 | refresh | (this.counters[2].out(c) ? PORT61_OUT2 : 0);
  }

  save(): unknown {
    return { kind: "i8254", version: 1, port61: this.port61, counters: this.counters.map((x) => x.save()) };
  }

  restore(state: unknown): void {
    const r = new SnapshotReader(state, "i8254", 1);
    const port61 = r.uint("port61", 8) & PORT61_RW;
    const apply = r.children("counters", 3, "8254-counter", 1).map((c) => Counter.check(c));
    this.port61 = port61;
    apply.forEach((f, i) => {
      f(this.counters[i]);
    });
  }
}
