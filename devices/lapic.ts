// The local APIC in xAPIC mode, as Intel SDM Vol. 3A chapter 10 describes it:
// the 4 KiB register page at 0xFEE00000 (Table 10-1), priorities TPR/PPR
// (§10.8.3), IRR/ISR/TMR (§10.8.4), EOI (§10.8.5), spurious interrupts and
// the software enable in SVR (§10.9, §10.4.7.2), the error status register
// (§10.5.3), the LVT (§10.5.1), the timer (§10.5.4), logical destinations
// (§10.6.2.2) and the ICR (§10.6.1). Version 0x00050014: a Pentium 4 class
// APIC with six LVT entries (timer, thermal, performance, LINT0, LINT1, error).
//
// The CPU side is hasInterrupt()/acknowledge() (INTR and the INTA cycle) and
// hasNmi()/acknowledgeNmi(). An 8259A reaches the CPU through LINT0 in
// ExtINT mode (or directly while the APIC is hardware-disabled).
//
// Model choices (documented, not in the SDM):
// - Register accesses narrower than 32 bits: reads return the bytes of the
//   32-bit register; writes are dropped (the SDM only defines 32-bit ones).
// - A software-disabled APIC does not accept fixed or lowest-priority
//   messages (returns false to the sender); NMI and ExtINT still go through.
// - One processor: an IPI reaches this APIC if its destination matches it;
//   INIT, SIPI and SMI have no effect; APR and RRD read 0.
// - ExtINT is delivered before fixed interrupts (it bypasses the IRR).
// - The timer counts a bus clock of `timerHz` (default 100 MHz, the virtual TSC).
import { type ApicMessageSink, DeliveryMode, type EoiListener, type ExtIntController } from "./apic-bus.js";
import { type Clock, Oscillator, VIRTUAL_TSC_HZ } from "./clock.js";
import type { MmioDevice, MmioSize } from "./mmio-device.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";
import type { TimedDevice } from "./timed.js";

export const LAPIC_BASE = 0xfee0_0000;
export const LAPIC_VERSION = 0x0005_0014;

/** Register offsets (SDM Table 10-1). */
export const ApicReg = {
  ID: 0x020,
  VERSION: 0x030,
  TPR: 0x080,
  APR: 0x090,
  PPR: 0x0a0,
  EOI: 0x0b0,
  RRD: 0x0c0,
  LDR: 0x0d0,
  DFR: 0x0e0,
  SVR: 0x0f0,
  ISR: 0x100,
  TMR: 0x180,
  IRR: 0x200,
  ESR: 0x280,
  ICR_LOW: 0x300,
  ICR_HIGH: 0x310,
  LVT_TIMER: 0x320,
  LVT_THERMAL: 0x330,
  LVT_PERF: 0x340,
  LVT_LINT0: 0x350,
  LVT_LINT1: 0x360,
  LVT_ERROR: 0x370,
  TIMER_INITIAL: 0x380,
  TIMER_CURRENT: 0x390,
  TIMER_DIVIDE: 0x3e0,
} as const;

export const SVR_ENABLE = 1 << 8;
export const LVT_MASKED = 1 << 16;
export const LVT_TIMER_PERIODIC = 1 << 17;
const LVT_LEVEL = 1 << 15;
const LVT_REMOTE_IRR = 1 << 14;
const LVT_ACTIVE_LOW = 1 << 13;
/** ESR bits (SDM Figure 10-9). */
export const ESR_SEND_ILLEGAL_VECTOR = 1 << 5;
export const ESR_RECEIVE_ILLEGAL_VECTOR = 1 << 6;
export const ESR_ILLEGAL_REGISTER = 1 << 7;

/** LVT indices (timer, thermal 1, performance 2, LINT0, LINT1, error) and their writable bits (SDM Figure 10-8). */
const LVT_TIMER = 0;
const LVT_LINT0 = 3;
const LVT_LINT1 = 4;
const LVT_ERROR = 5;
const LVT_WRITABLE = [0x0003_00ff, 0x0001_07ff, 0x0001_07ff, 0x0001_a7ff, 0x0001_a7ff, 0x0001_00ff] as const;
/** Divide configuration bits 3, 1:0 -> divisor (SDM Figure 10-10). */
const DIVISORS = [2, 4, 8, 16, 32, 64, 128, 1] as const;

export interface LapicOptions {
  clock: Clock;
  /** APIC ID (bits 31:24 of the ID register). Default 0. */
  id?: number;
  /** The 8259A pair on LINT0 (ExtINT). */
  pic?: ExtIntController;
  /** The timer's input clock in Hz (before the divider). Default: the virtual TSC rate. */
  timerHz?: number;
  /**
   * Start as firmware leaves the bootstrap processor in virtual wire mode
   * (MP Specification 1.4 §3.6.2.2): APIC software-enabled, LINT0 ExtINT,
   * LINT1 NMI. Default true: a VM has no BIOS to do it. False: the reset state.
   */
  virtualWire?: boolean;
}

export class Lapic implements MmioDevice, ApicMessageSink, TimedDevice, Snapshotting {
  readonly name = "lapic";
  readonly base = LAPIC_BASE;
  readonly size = 0x1000;
  /** Receives EOI broadcasts for level-triggered vectors (the I/O APIC). */
  eoiListener: EoiListener | null = null;
  private readonly clock: Clock;
  private readonly pic: ExtIntController | null;
  private readonly osc: Oscillator;

  private id: number;
  private tpr = 0;
  private ldr = 0;
  private dfr = 0xffff_ffff;
  private svr = 0xff;
  private readonly isr = new Uint32Array(8);
  private readonly tmr = new Uint32Array(8);
  private readonly irr = new Uint32Array(8);
  private esr = 0;
  private esrPending = 0;
  private icrLow = 0;
  private icrHigh = 0;
  private readonly lvt = new Uint32Array(6).fill(LVT_MASKED);
  /** IA32_APIC_BASE bit 11. */
  private hardwareEnabled = true;
  private nmiPending = false;
  private extIntPending = false;
  /** LINT0/LINT1 pin levels. */
  private lintLevels = 0;
  /** Timer: initial count, divide configuration, and the counting anchor. */
  private timerInitial = 0;
  private timerDivide = 0;
  private timerRunning = false;
  private timerAnchor = 0;
  /** The current count at timerAnchor. */
  private timerAnchorCount = 0;
  /** Expirations since the anchor already delivered. */
  private timerFired = 0;

  constructor(options: LapicOptions) {
    this.clock = options.clock;
    this.pic = options.pic ?? null;
    this.osc = new Oscillator(options.timerHz ?? VIRTUAL_TSC_HZ);
    this.id = (options.id ?? 0) & 0xff;
    if (options.virtualWire ?? true) {
      this.svr = SVR_ENABLE | 0xff;
      this.lvt[LVT_LINT0] = DeliveryMode.EXTINT << 8;
      this.lvt[LVT_LINT1] = DeliveryMode.NMI << 8;
    }
  }

  // ---- CPU side ----

  /** INTR: an interrupt the processor would take now (if its IF allows). */
  hasInterrupt(): boolean {
    this.settleTimer(this.clock.now());
    if (this.extIntReady()) return true;
    return this.softwareEnabled() && this.deliverableVector() >= 0;
  }

  /** INTA: returns the vector and moves it from IRR to ISR (SDM §10.8.4); spurious vector if nothing is left (§10.9). */
  acknowledge(): number {
    if (this.extIntReady()) {
      this.extIntPending = false;
      return this.pic!.acknowledge();
    }
    const v = this.softwareEnabled() ? this.deliverableVector() : -1;
    if (v < 0) return this.svr & 0xff;
    clearBit(this.irr, v);
    setBit(this.isr, v);
    return v;
  }

  hasNmi(): boolean {
    return this.nmiPending;
  }

  acknowledgeNmi(): boolean {
    const was = this.nmiPending;
    this.nmiPending = false;
    return was;
  }

  /** IA32_APIC_BASE bit 11 (the VMM's MSR model calls this): disabled, the APIC passes the 8259A's INTR through. */
  setHardwareEnabled(on: boolean): void {
    this.hardwareEnabled = on;
  }

  /** Drives the LINT0 (0) or LINT1 (1) pin. */
  setLint(pin: 0 | 1, level: boolean): void {
    const bit = 1 << pin;
    const entry = this.lvt[LVT_LINT0 + pin];
    const was = this.lintAsserted(pin);
    this.lintLevels = level ? this.lintLevels | bit : this.lintLevels & ~bit;
    const now = this.lintAsserted(pin);
    if (!now || entry & LVT_MASKED) return;
    const levelTriggered = (entry & LVT_LEVEL) !== 0 && ((entry >>> 8) & 7) === DeliveryMode.FIXED;
    if (levelTriggered) {
      if (!(entry & LVT_REMOTE_IRR)) {
        this.lvt[LVT_LINT0 + pin] |= LVT_REMOTE_IRR;
        this.localInterrupt(LVT_LINT0 + pin, true);
      }
    } else if (!was) {
      this.localInterrupt(LVT_LINT0 + pin, false);
    }
  }

  // ---- APIC bus ----

  deliverInterrupt(vector: number, deliveryMode: number, logical: boolean, dest: number, level: boolean): boolean {
    if (!this.hardwareEnabled || !this.matches(logical, dest)) return false;
    return this.accept(vector, deliveryMode, level);
  }

  /** Does destination `dest` (physical ID, or logical MDA under DFR's model) name this APIC? (SDM §10.6.2) */
  matches(logical: boolean, dest: number): boolean {
    if (dest === 0xff) return true; // broadcast
    if (!logical) return dest === this.id;
    const ldr = this.ldr >>> 24;
    if (this.dfr >>> 28 === 0xf) return (ldr & dest) !== 0; // flat model
    return dest >>> 4 === ldr >>> 4 && (dest & ldr & 0xf) !== 0; // cluster model
  }

  private accept(vector: number, mode: number, level: boolean): boolean {
    switch (mode) {
      case DeliveryMode.FIXED:
      case DeliveryMode.LOWEST_PRIORITY:
        if (!this.softwareEnabled()) return false;
        this.acceptFixed(vector, level);
        return true;
      case DeliveryMode.NMI:
        this.nmiPending = true;
        return true;
      case DeliveryMode.EXTINT:
        this.extIntPending = true;
        return true;
      default:
        return true; // SMI, INIT, SIPI: no effect on a single processor
    }
  }

  /** Sets the IRR bit, and TMR for a level-triggered interrupt (SDM §10.8.4); vectors 0-15 are illegal. */
  private acceptFixed(vector: number, level: boolean): void {
    if (vector < 16) {
      this.error(ESR_RECEIVE_ILLEGAL_VECTOR);
      return;
    }
    setBit(this.irr, vector);
    if (level) setBit(this.tmr, vector);
    else clearBit(this.tmr, vector);
  }

  // ---- MMIO ----

  mmioRead(offset: number, size: MmioSize): number {
    const v = this.readRegister(offset & 0xff0);
    if ((offset & 0xf) >= 4) return 0;
    const shift = 8 * (offset & 3);
    return size === 4 ? v >>> 0 : (v >>> shift) & (size === 1 ? 0xff : 0xffff);
  }

  mmioWrite(offset: number, size: MmioSize, value: number): void {
    if (size !== 4 || (offset & 0xf) !== 0) return;
    this.writeRegister(offset & 0xff0, value >>> 0);
  }

  private readRegister(r: number): number {
    if (r >= ApicReg.ISR && r < ApicReg.ISR + 0x80) return this.isr[(r - ApicReg.ISR) >>> 4];
    if (r >= ApicReg.TMR && r < ApicReg.TMR + 0x80) return this.tmr[(r - ApicReg.TMR) >>> 4];
    if (r >= ApicReg.IRR && r < ApicReg.IRR + 0x80) return this.irr[(r - ApicReg.IRR) >>> 4];
    if (r >= ApicReg.LVT_TIMER && r <= ApicReg.LVT_ERROR) return this.lvt[(r - ApicReg.LVT_TIMER) >>> 4];
    switch (r) {
      case ApicReg.ID:
        return (this.id << 24) >>> 0;
      case ApicReg.VERSION:
        return LAPIC_VERSION;
      case ApicReg.TPR:
        return this.tpr;
      case ApicReg.APR:
      case ApicReg.EOI:
      case ApicReg.RRD:
        return 0;
      case ApicReg.PPR:
        return this.ppr();
      case ApicReg.LDR:
        return this.ldr;
      case ApicReg.DFR:
        return this.dfr;
      case ApicReg.SVR:
        return this.svr;
      case ApicReg.ESR:
        return this.esr;
      case ApicReg.ICR_LOW:
        return this.icrLow; // delivery status (bit 12) is always idle: delivery is instantaneous
      case ApicReg.ICR_HIGH:
        return this.icrHigh;
      case ApicReg.TIMER_INITIAL:
        return this.timerInitial;
      case ApicReg.TIMER_CURRENT:
        return this.currentCount(this.clock.now());
      case ApicReg.TIMER_DIVIDE:
        return this.timerDivide;
    }
    this.error(ESR_ILLEGAL_REGISTER);
    return 0;
  }

  private writeRegister(r: number, v: number): void {
    if (r >= ApicReg.LVT_TIMER && r <= ApicReg.LVT_ERROR) {
      this.writeLvt((r - ApicReg.LVT_TIMER) >>> 4, v);
      return;
    }
    switch (r) {
      case ApicReg.ID:
        this.id = v >>> 24;
        return;
      case ApicReg.TPR:
        this.tpr = v & 0xff;
        return;
      case ApicReg.EOI:
        this.endOfInterrupt();
        return;
      case ApicReg.LDR:
        this.ldr = (v & 0xff00_0000) >>> 0;
        return;
      case ApicReg.DFR:
        this.dfr = (v | 0x0fff_ffff) >>> 0; // bits 27:0 are reserved, read as 1
        return;
      case ApicReg.SVR:
        this.writeSvr(v);
        return;
      case ApicReg.ESR:
        // A write latches the errors seen since the previous write and starts over (§10.5.3).
        this.esr = this.esrPending;
        this.esrPending = 0;
        return;
      case ApicReg.ICR_LOW:
        this.icrLow = v & 0x000c_cfff;
        this.sendIpi();
        return;
      case ApicReg.ICR_HIGH:
        this.icrHigh = (v & 0xff00_0000) >>> 0;
        return;
      case ApicReg.TIMER_INITIAL:
        this.startTimer(v);
        return;
      case ApicReg.TIMER_DIVIDE:
        this.writeDivide(v & 0xb);
        return;
      case ApicReg.VERSION:
      case ApicReg.APR:
      case ApicReg.PPR:
      case ApicReg.RRD:
      case ApicReg.TIMER_CURRENT:
        return; // read-only
    }
    if (r >= ApicReg.ISR && r < ApicReg.IRR + 0x80) return; // ISR, TMR, IRR: read-only
    this.error(ESR_ILLEGAL_REGISTER);
  }

  private softwareEnabled(): boolean {
    return this.hardwareEnabled && (this.svr & SVR_ENABLE) !== 0;
  }

  /** Software disable sets every LVT mask, and they stay set until it is enabled again (§10.4.7.2). */
  private writeSvr(v: number): void {
    this.svr = v & 0x3ff;
    if (!(v & SVR_ENABLE)) for (let i = 0; i < 6; i++) this.lvt[i] |= LVT_MASKED;
  }

  private writeLvt(i: number, v: number): void {
    this.settleTimer(this.clock.now());
    const keep = this.lvt[i] & LVT_REMOTE_IRR;
    let next = (v & LVT_WRITABLE[i]) | keep;
    if (!(this.svr & SVR_ENABLE)) next |= LVT_MASKED;
    this.lvt[i] = next >>> 0;
  }

  /** PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4]:0 (§10.8.3.1). */
  private ppr(): number {
    const isrv = highestBit(this.isr);
    const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
    return (this.tpr & 0xf0) >= isrClass ? this.tpr : isrClass;
  }

  /** The highest IRR vector if its priority class is above PPR's, else -1. */
  private deliverableVector(): number {
    const v = highestBit(this.irr);
    return v >= 0 && v >>> 4 > this.ppr() >>> 4 ? v : -1;
  }

  private extIntReady(): boolean {
    if (!this.pic) return false;
    if (!this.hardwareEnabled) return this.pic.hasInterrupt(); // LINT0 is the processor's INTR pin
    const lint0 = this.lvt[LVT_LINT0];
    const viaLint0 = !(lint0 & LVT_MASKED) && ((lint0 >>> 8) & 7) === DeliveryMode.EXTINT;
    return (viaLint0 || this.extIntPending) && this.pic.hasInterrupt();
  }

  /** EOI: clears the highest ISR bit; a level-triggered vector is broadcast to the I/O APICs (§10.8.5). */
  private endOfInterrupt(): void {
    const v = highestBit(this.isr);
    if (v < 0) return;
    clearBit(this.isr, v);
    if (!testBit(this.tmr, v)) return;
    this.eoiListener?.eoi(v);
    for (let pin = 0; pin < 2; pin++) {
      const entry = this.lvt[LVT_LINT0 + pin];
      if (entry & LVT_REMOTE_IRR && (entry & 0xff) === v) {
        this.lvt[LVT_LINT0 + pin] = entry & ~LVT_REMOTE_IRR;
        if (this.lintAsserted(pin as 0 | 1)) this.setLint(pin as 0 | 1, ((this.lintLevels >>> pin) & 1) === 1);
      }
    }
  }

  private lintAsserted(pin: 0 | 1): boolean {
    const high = (this.lintLevels >>> pin) & 1;
    return (this.lvt[LVT_LINT0 + pin] & LVT_ACTIVE_LOW ? high ^ 1 : high) === 1;
  }

  /** An interrupt from LVT entry `i`, if unmasked, in its delivery mode. */
  private localInterrupt(i: number, level: boolean): void {
    const entry = this.lvt[i];
    if (entry & LVT_MASKED) return;
    const mode = i === LVT_TIMER || i === LVT_ERROR ? DeliveryMode.FIXED : (entry >>> 8) & 7;
    if (mode === DeliveryMode.FIXED) this.acceptFixed(entry & 0xff, level);
    else this.accept(entry & 0xff, mode, false);
  }

  /** Logs an error in the ESR and raises the LVT error interrupt (§10.5.3). */
  private error(bits: number): void {
    this.esrPending |= bits;
    const entry = this.lvt[LVT_ERROR];
    if (!(entry & LVT_MASKED) && (entry & 0xff) >= 16) this.acceptFixed(entry & 0xff, false);
  }

  /** ICR low written: send the IPI (§10.6.1). Only this processor exists. */
  private sendIpi(): void {
    const icr = this.icrLow;
    const vector = icr & 0xff;
    const mode = (icr >>> 8) & 7;
    const shorthand = (icr >>> 18) & 3;
    if ((mode === DeliveryMode.FIXED || mode === DeliveryMode.LOWEST_PRIORITY) && vector < 16) {
      this.error(ESR_SEND_ILLEGAL_VECTOR);
      return;
    }
    const toSelf =
      shorthand === 1 ||
      shorthand === 2 ||
      (shorthand === 0 && this.matches((icr & (1 << 11)) !== 0, this.icrHigh >>> 24));
    if (!toSelf) return; // all-excluding-self, or another processor: nobody
    if (mode === DeliveryMode.FIXED || mode === DeliveryMode.LOWEST_PRIORITY) this.acceptFixed(vector, false);
    else if (mode === DeliveryMode.NMI) this.nmiPending = true;
  }

  // ---- timer (§10.5.4) ----

  private divisor(): number {
    return DIVISORS[(this.timerDivide & 3) | ((this.timerDivide >>> 1) & 4)];
  }

  /** Whole counts since the anchor at virtual time `now`. */
  private countsSince(now: number): number {
    return Math.floor(this.osc.cyclesIn(now - this.timerAnchor) / this.divisor());
  }

  private periodic(): boolean {
    return (this.lvt[LVT_TIMER] & LVT_TIMER_PERIODIC) !== 0;
  }

  /** Expirations since the anchor by counts elapsed `e`. */
  private expirations(e: number): number {
    if (e < this.timerAnchorCount) return 0;
    if (!this.periodic()) return 1;
    return 1 + Math.floor((e - this.timerAnchorCount) / this.timerInitial);
  }

  private currentCount(now: number): number {
    if (!this.timerRunning) return 0;
    const e = this.countsSince(now);
    if (e < this.timerAnchorCount) return this.timerAnchorCount - e;
    if (!this.periodic()) return 0;
    return this.timerInitial - ((e - this.timerAnchorCount) % this.timerInitial);
  }

  /** Writing the initial count starts (or, with 0, stops) the timer. */
  private startTimer(v: number): void {
    this.timerInitial = v;
    this.timerRunning = v !== 0;
    this.timerAnchor = this.clock.now();
    this.timerAnchorCount = v;
    this.timerFired = 0;
  }

  /** A new divisor applies from now: the current count continues at the new rate. */
  private writeDivide(v: number): void {
    const now = this.clock.now();
    this.settleTimer(now);
    if (this.timerRunning) {
      const current = this.currentCount(now);
      const expired = !this.periodic() && current === 0;
      this.timerDivide = v;
      this.timerAnchor = now;
      this.timerAnchorCount = expired ? 0 : current;
      this.timerFired = expired ? 1 : 0;
      return;
    }
    this.timerDivide = v;
  }

  private settleTimer(now: number): void {
    if (!this.timerRunning) return;
    const n = this.expirations(this.countsSince(now));
    if (n > this.timerFired) {
      this.timerFired = n; // several missed periods are one interrupt, as IRR holds one bit
      this.localInterrupt(LVT_TIMER, false);
    }
  }

  nextDeadline(): number {
    if (!this.timerRunning || this.lvt[LVT_TIMER] & LVT_MASKED) return 0;
    if (!this.periodic() && this.timerFired > 0) return 0;
    const counts =
      this.timerFired === 0 ? this.timerAnchorCount : this.timerAnchorCount + this.timerFired * this.timerInitial;
    return this.timerAnchor + this.osc.ticksFor(counts * this.divisor());
  }

  tick(now: number): void {
    this.settleTimer(now);
  }

  // ---- snapshot ----

  save(): unknown {
    return {
      kind: "lapic",
      version: 1,
      id: this.id,
      tpr: this.tpr,
      ldr: this.ldr,
      dfr: this.dfr,
      svr: this.svr,
      isr: this.isr.slice(),
      tmr: this.tmr.slice(),
      irr: this.irr.slice(),
      esr: this.esr,
      esrPending: this.esrPending,
      icrLow: this.icrLow,
      icrHigh: this.icrHigh,
      lvt: this.lvt.slice(),
      hardwareEnabled: this.hardwareEnabled,
      nmiPending: this.nmiPending,
      extIntPending: this.extIntPending,
      lintLevels: this.lintLevels,
      timerInitial: this.timerInitial,
      timerDivide: this.timerDivide,
      timerRunning: this.timerRunning,
      timerAnchor: this.timerAnchor,
      timerAnchorCount: this.timerAnchorCount,
      timerFired: this.timerFired,
    };
  }

  restore(state: unknown): void {
    const r = new SnapshotReader(state, "lapic", 1);
    const s = {
      id: r.uint("id", 8),
      tpr: r.uint("tpr", 8),
      ldr: r.uint("ldr", 32) & 0xff00_0000,
      dfr: (r.uint("dfr", 32) | 0x0fff_ffff) >>> 0,
      svr: r.uint("svr", 10),
      esr: r.uint("esr", 8),
      esrPending: r.uint("esrPending", 8),
      icrLow: r.uint("icrLow", 32) & 0x000c_cfff,
      icrHigh: r.uint("icrHigh", 32) & 0xff00_0000,
      hardwareEnabled: r.bool("hardwareEnabled"),
      nmiPending: r.bool("nmiPending"),
      extIntPending: r.bool("extIntPending"),
      lintLevels: r.uint("lintLevels", 2),
      timerInitial: r.uint("timerInitial", 32),
      timerDivide: r.uint("timerDivide", 4) & 0xb,
      timerRunning: r.bool("timerRunning"),
      timerAnchor: r.count("timerAnchor"),
      timerAnchorCount: r.uint("timerAnchorCount", 32),
      timerFired: r.count("timerFired"),
    };
    const isr = r.words("isr", 8);
    const tmr = r.words("tmr", 8);
    const irr = r.words("irr", 8);
    const lvt = r.words("lvt", 6);
    for (let i = 0; i < 6; i++) {
      if (lvt[i] & ~(LVT_WRITABLE[i] | LVT_REMOTE_IRR)) throw r.fail(`LVT entry ${i} has reserved bits set`);
    }
    if (s.timerRunning && s.timerInitial === 0) throw r.fail("timer running with initial count 0");
    Object.assign(this, s);
    this.isr.set(isr);
    this.tmr.set(tmr);
    this.irr.set(irr);
    this.lvt.set(lvt);
  }
}

function setBit(bits: Uint32Array, v: number): void {
  bits[v >>> 5] |= 1 << (v & 31);
}

function clearBit(bits: Uint32Array, v: number): void {
  bits[v >>> 5] &= ~(1 << (v & 31));
}

function testBit(bits: Uint32Array, v: number): boolean {
  return ((bits[v >>> 5] >>> (v & 31)) & 1) === 1;
}

/** The highest set bit of a 256-bit register, or -1. */
function highestBit(bits: Uint32Array): number {
  for (let w = 7; w >= 0; w--) if (bits[w] !== 0) return w * 32 + 31 - Math.clz32(bits[w]);
  return -1;
}
