// The Intel 82093AA I/O APIC as its datasheet describes it: memory-mapped
// IOREGSEL (offset 00h) and IOWIN (offset 10h) at 0xFEC00000; registers
// IOAPICID (00h), IOAPICVER (01h: version 11h, 24 redirection entries),
// IOAPICARB (02h), and the redirection table at 10h-3Fh, one 64-bit entry per
// input pin. Messages go to the local APIC(s) through an ApicMessageSink;
// level-triggered entries hold Remote IRR until an EOI for their vector comes
// back (eoi()).
//
// Pin levels are electrical (devices/irq.ts); the polarity bit says which
// level asserts the input. Pins 16-23 (PCI INTx, active low) idle high, as
// their pull-ups hold them; ISA pins 0-15 idle low.
import { type ApicMessageSink, DeliveryMode, type EoiListener } from "./apic-bus.js";
import type { IrqSink } from "./irq.js";
import type { MmioDevice, MmioSize } from "./mmio-device.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";

export const IOAPIC_BASE = 0xfec0_0000;
export const IOAPIC_PINS = 24;
export const IOAPIC_VERSION = 0x0017_0011;
const IOREGSEL = 0x00;
const IOWIN = 0x10;

/** Redirection entry bits (82093AA "I/O Redirection Table Registers"). */
export const RTE_VECTOR = 0xff;
export const RTE_LOGICAL = 1 << 11;
export const RTE_DELIVERY_STATUS = 1 << 12;
export const RTE_ACTIVE_LOW = 1 << 13;
export const RTE_REMOTE_IRR = 1 << 14;
export const RTE_LEVEL = 1 << 15;
export const RTE_MASKED = 1 << 16;
/** Writable low-dword bits: all but delivery status and Remote IRR; high dword: destination. */
const RTE_LOW_WRITABLE = 0x0001_afff;
const RTE_HIGH_WRITABLE = 0xff00_0000;

export interface IoApicOptions {
  /** Where interrupt messages go (the local APIC of a uniprocessor VM). */
  target: ApicMessageSink;
  /** IOAPICID bits 27:24 at reset. Default 1 (after local APIC 0). */
  id?: number;
  base?: number;
}

export class IoApic implements MmioDevice, IrqSink, EoiListener, Snapshotting {
  readonly name: string;
  readonly base: number;
  readonly size = 0x1000;
  private readonly target: ApicMessageSink;
  private regsel = 0;
  private id: number;
  private arbitration: number;
  private readonly low = new Uint32Array(IOAPIC_PINS).fill(RTE_MASKED);
  private readonly high = new Uint32Array(IOAPIC_PINS);
  /** Electrical levels of the input pins. */
  private levels = 0x00ff_0000;

  constructor(options: IoApicOptions) {
    this.target = options.target;
    this.base = options.base ?? IOAPIC_BASE;
    this.name = `ioapic@0x${this.base.toString(16)}`;
    this.id = (options.id ?? 1) & 0xf;
    this.arbitration = this.id;
  }

  mmioRead(offset: number, size: MmioSize): number {
    let v: number;
    if ((offset & ~3) === IOREGSEL) v = this.regsel;
    else if ((offset & ~3) === IOWIN) v = this.readRegister(this.regsel);
    else return 0;
    const shift = 8 * (offset & 3);
    return size === 4 ? v >>> 0 : (v >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  mmioWrite(offset: number, size: MmioSize, value: number): void {
    if ((offset & ~3) === IOREGSEL) {
      if ((offset & 3) === 0) this.regsel = value & 0xff;
    } else if (offset === IOWIN && size === 4) {
      this.writeRegister(this.regsel, value >>> 0);
    }
    // IOWIN is a 32-bit register: narrower writes are not defined and are dropped.
  }

  /** Drives input pin `line` (0-23) to `level`. */
  setIrq(line: number, level: boolean): void {
    if (line < 0 || line >= IOAPIC_PINS) return;
    const bit = 1 << line;
    const was = this.asserted(line);
    this.levels = level ? this.levels | bit : this.levels & ~bit;
    const now = this.asserted(line);
    if (this.low[line] & RTE_LEVEL) {
      if (now) this.deliverLevel(line);
    } else if (now && !was && !(this.low[line] & RTE_MASKED)) {
      this.send(line); // edge: a masked edge is lost
    }
  }

  /** EOI broadcast: clears Remote IRR of level entries with this vector; a still-asserted pin interrupts again. */
  eoi(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const e = this.low[pin];
      if (!(e & RTE_LEVEL) || !(e & RTE_REMOTE_IRR) || (e & RTE_VECTOR) !== vector) continue;
      this.low[pin] = e & ~RTE_REMOTE_IRR;
      if (this.asserted(pin)) this.deliverLevel(pin);
    }
  }

  private asserted(pin: number): boolean {
    const high = (this.levels >>> pin) & 1;
    return (this.low[pin] & RTE_ACTIVE_LOW ? high ^ 1 : high) === 1;
  }

  private deliverLevel(pin: number): void {
    const e = this.low[pin];
    if (e & (RTE_MASKED | RTE_REMOTE_IRR)) return;
    if (this.send(pin)) this.low[pin] |= RTE_REMOTE_IRR;
  }

  private send(pin: number): boolean {
    const e = this.low[pin];
    const mode = (e >>> 8) & 7;
    // Fixed and lowest priority carry the entry's trigger mode; the others are edge messages.
    const level = (e & RTE_LEVEL) !== 0 && (mode === DeliveryMode.FIXED || mode === DeliveryMode.LOWEST_PRIORITY);
    return this.target.deliverInterrupt(e & RTE_VECTOR, mode, (e & RTE_LOGICAL) !== 0, this.high[pin] >>> 24, level);
  }

  private readRegister(r: number): number {
    if (r === 0x00) return this.id << 24;
    if (r === 0x01) return IOAPIC_VERSION;
    if (r === 0x02) return this.arbitration << 24;
    if (r >= 0x10 && r < 0x10 + 2 * IOAPIC_PINS) {
      const pin = (r - 0x10) >>> 1;
      return r & 1 ? this.high[pin] : this.low[pin];
    }
    return 0;
  }

  private writeRegister(r: number, v: number): void {
    if (r === 0x00) {
      this.id = (v >>> 24) & 0xf;
      this.arbitration = this.id; // IOAPICARB is loaded from the ID when the ID is written
      return;
    }
    if (r < 0x10 || r >= 0x10 + 2 * IOAPIC_PINS) return; // version, arbitration: read-only
    const pin = (r - 0x10) >>> 1;
    if (r & 1) {
      this.high[pin] = v & RTE_HIGH_WRITABLE;
      return;
    }
    const keep = this.low[pin] & (RTE_DELIVERY_STATUS | RTE_REMOTE_IRR);
    this.low[pin] = ((v & RTE_LOW_WRITABLE) | keep) >>> 0;
    if (!(v & RTE_LEVEL)) this.low[pin] &= ~RTE_REMOTE_IRR; // Remote IRR has no meaning for edge entries
    // Unmasking (or reprogramming) a level entry whose pin is asserted delivers it.
    if (v & RTE_LEVEL && this.asserted(pin)) this.deliverLevel(pin);
  }

  save(): unknown {
    return {
      kind: "ioapic",
      version: 1,
      regsel: this.regsel,
      id: this.id,
      arbitration: this.arbitration,
      low: this.low.slice(),
      high: this.high.slice(),
      levels: this.levels,
    };
  }

  restore(state: unknown): void {
    const r = new SnapshotReader(state, "ioapic", 1);
    const regsel = r.uint("regsel", 8);
    const id = r.uint("id", 4);
    const arbitration = r.uint("arbitration", 4);
    const low = r.words("low", IOAPIC_PINS);
    const high = r.words("high", IOAPIC_PINS);
    const levels = r.uint("levels", IOAPIC_PINS);
    for (let i = 0; i < IOAPIC_PINS; i++) {
      if (low[i] & ~(RTE_LOW_WRITABLE | RTE_DELIVERY_STATUS | RTE_REMOTE_IRR) || high[i] & ~RTE_HIGH_WRITABLE) {
        throw r.fail(`redirection entry ${i} has reserved bits set`);
      }
    }
    Object.assign(this, { regsel, id, arbitration, levels });
    this.low.set(low);
    this.high.set(high);
  }
}
