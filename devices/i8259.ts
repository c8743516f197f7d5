// The PC's pair of Intel 8259A programmable interrupt controllers, as the
// 8259A datasheet (Intel 231468) describes them: master at 0x20/0x21, slave
// at 0xA0/0xA1 with its INT output on the master's IR2, and the PIIX edge/
// level control registers ELCR1/ELCR2 at 0x4D0/0x4D1 (Intel 82371SB PIIX3
// datasheet, "ELCR1/ELCR2 - Edge/Level Control Registers").
//
// Model choices (documented, not in the datasheet):
// - Device models deliver edges as instantaneous pulses (devices/irq.ts), so
//   an edge-triggered IR latches its request in IRR until INTA even if the
//   line has already dropped; a real 8259A also wants the line held until
//   the first INTA and otherwise answers with IR7.
// - ICW1 clears IRR (the datasheet's "edge sense circuit is reset") and
//   also ISR, so a re-initialised PIC starts with nothing in service.
// - Input line 2 of the IrqSink is not wired (the cascade owns master IR2,
//   as on the PC/AT, where ISA IRQ2 is IRQ9).
import type { IoDevice, IoRange, IoSize } from "./io-device.js";
import type { IrqSink } from "./irq.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";

/** The master IR input the slave's INT drives. */
const CASCADE_IR = 2;
/** ELCR bits that PIIX3 reserves as 0 (edge): IRQ 0, 1, 2 (ELCR1) and IRQ 8, 13 (ELCR2). */
const ELCR_MASTER_MASK = 0xf8;
const ELCR_SLAVE_MASK = 0xde;

/** Initialization sequence position: the ICW expected next on A0 = 1 (0 = initialised). */
const READY = 0;
const WANT_ICW2 = 2;
const WANT_ICW3 = 3;
const WANT_ICW4 = 4;
const INIT_STEPS = [READY, WANT_ICW2, WANT_ICW3, WANT_ICW4] as const;

/** One 8259A. */
class Pic {
  imr = 0;
  /** Edge-latched requests (edge-triggered lines only). */
  irr = 0;
  isr = 0;
  /** Current levels of the IR inputs. */
  lines = 0;
  elcr = 0;
  /** ICW1 LTIM: all inputs level-triggered. */
  ltim = false;
  single = false;
  icw4Needed = false;
  initStep = READY;
  vectorBase = 0;
  icw3 = 0;
  autoEoi = false;
  specialFullyNested = false;
  rotateOnAutoEoi = false;
  specialMask = false;
  readIsr = false;
  poll = false;
  /** The IR with the highest priority; rotation moves it (datasheet "Rotation"). */
  highestPriority = 0;

  constructor(
    readonly isMaster: boolean,
    readonly elcrMask: number,
  ) {}

  private levelMask(): number {
    return this.ltim ? 0xff : this.elcr;
  }

  /** IRR as the datasheet defines it: latched edges, and the live level of level-triggered inputs. */
  irrValue(): number {
    const level = this.levelMask();
    return (this.irr & ~level) | (this.lines & level);
  }

  setInput(ir: number, level: boolean): void {
    const bit = 1 << ir;
    if (level) {
      if (!(this.lines & bit) && !(this.levelMask() & bit)) this.irr |= bit; // low-to-high transition
      this.lines |= bit;
    } else {
      this.lines &= ~bit;
    }
  }

  /** The IR in `bits` with the highest priority, or -1. */
  private highest(bits: number): number {
    for (let i = 0; i < 8; i++) {
      const ir = (this.highestPriority + i) & 7;
      if (bits & (1 << ir)) return ir;
    }
    return -1;
  }

  /** Priority rank of `ir`: 0 is highest. */
  private rank(ir: number): number {
    return (ir - this.highestPriority) & 7;
  }

  /**
   * The IR the priority resolver would present on INT, or -1: the highest
   * unmasked request, if it outranks every in-service level that counts.
   * Special mask mode: masked levels in service do not block others.
   * Special fully nested mode (master): the cascade in service does not block
   * the slave's higher-priority requests.
   */
  pending(): number {
    const ir = this.highest(this.irrValue() & ~this.imr);
    if (ir < 0) return -1;
    let inService = this.isr;
    if (this.specialMask) inService &= ~this.imr;
    if (this.specialFullyNested && this.isMaster) inService &= ~this.icw3;
    const current = this.highest(inService);
    return current >= 0 && this.rank(current) <= this.rank(ir) ? -1 : ir;
  }

  /** INTA for `ir`: IRR edge latch cleared; ISR set unless auto-EOI. */
  acknowledge(ir: number): void {
    const bit = 1 << ir;
    if (!(this.levelMask() & bit)) this.irr &= ~bit;
    if (!this.autoEoi) this.isr |= bit;
    else if (this.rotateOnAutoEoi) this.highestPriority = (ir + 1) & 7;
  }

  isCascade(ir: number): boolean {
    return this.isMaster && !this.single && (this.icw3 & (1 << ir)) !== 0;
  }

  read(a0: number): number {
    if (this.poll) {
      this.poll = false;
      return this.pollWord();
    }
    if (a0) return this.imr;
    return this.readIsr ? this.isr : this.irrValue();
  }

  /** Poll command: the read acts as INTA; bit 7 = interrupt, bits 2:0 = its level. */
  private pollWord(): number {
    const ir = this.pending();
    if (ir < 0) return 0;
    this.acknowledge(ir);
    return 0x80 | ir;
  }

  write(a0: number, v: number): void {
    if (!a0) {
      if (v & 0x10) this.icw1(v);
      else if (v & 0x08) this.ocw3(v);
      else this.ocw2(v);
      return;
    }
    switch (this.initStep) {
      case WANT_ICW2:
        this.vectorBase = v & 0xf8; // 8086 mode: T7-T3
        this.initStep = this.single ? this.afterIcw3() : WANT_ICW3;
        return;
      case WANT_ICW3:
        this.icw3 = v;
        this.initStep = this.afterIcw3();
        return;
      case WANT_ICW4:
        this.autoEoi = (v & 0x02) !== 0;
        this.specialFullyNested = (v & 0x10) !== 0;
        this.initStep = READY;
        return;
      default:
        this.imr = v; // OCW1
    }
  }

  private afterIcw3(): number {
    return this.icw4Needed ? WANT_ICW4 : READY;
  }

  /** ICW1 resets the chip as the datasheet's "Initialization Command Words" lists. */
  private icw1(v: number): void {
    this.icw4Needed = (v & 0x01) !== 0;
    this.single = (v & 0x02) !== 0;
    this.ltim = (v & 0x08) !== 0;
    this.irr = 0;
    this.isr = 0;
    this.imr = 0;
    this.highestPriority = 0;
    this.specialMask = false;
    this.readIsr = false;
    this.poll = false;
    this.rotateOnAutoEoi = false;
    if (!this.icw4Needed) {
      this.autoEoi = false;
      this.specialFullyNested = false;
    }
    this.initStep = WANT_ICW2;
  }

  /** OCW2: R, SL, EOI in bits 7:5, level L in bits 2:0. */
  private ocw2(v: number): void {
    const level = v & 7;
    switch (v >>> 5) {
      case 0: // rotate in automatic EOI mode (clear)
        this.rotateOnAutoEoi = false;
        return;
      case 4: // rotate in automatic EOI mode (set)
        this.rotateOnAutoEoi = true;
        return;
      case 1: // non-specific EOI
      case 5: {
        // rotate on non-specific EOI
        const ir = this.highest(this.isr);
        if (ir < 0) return;
        this.isr &= ~(1 << ir);
        if (v >>> 5 === 5) this.highestPriority = (ir + 1) & 7;
        return;
      }
      case 3: // specific EOI
        this.isr &= ~(1 << level);
        return;
      case 7: // rotate on specific EOI
        this.isr &= ~(1 << level);
        this.highestPriority = (level + 1) & 7;
        return;
      case 6: // set priority: L becomes the lowest
        this.highestPriority = (level + 1) & 7;
        return;
      // case 2: no operation
    }
  }

  /** OCW3: ESMM/SMM bits 6:5, P bit 2, RR/RIS bits 1:0. */
  private ocw3(v: number): void {
    if (v & 0x04) this.poll = true;
    if (v & 0x02) this.readIsr = (v & 0x01) !== 0;
    if (v & 0x40) this.specialMask = (v & 0x20) !== 0;
  }

  save(): Record<string, unknown> {
    return {
      kind: "8259a",
      version: 1,
      imr: this.imr,
      irr: this.irr,
      isr: this.isr,
      lines: this.lines,
      elcr: this.elcr,
      ltim: this.ltim,
      single: this.single,
      icw4Needed: this.icw4Needed,
      initStep: this.initStep,
      vectorBase: this.vectorBase,
      icw3: this.icw3,
      autoEoi: this.autoEoi,
      specialFullyNested: this.specialFullyNested,
      rotateOnAutoEoi: this.rotateOnAutoEoi,
      specialMask: this.specialMask,
      readIsr: this.readIsr,
      poll: this.poll,
      highestPriority: this.highestPriority,
    };
  }

  /** Validates `r` completely and returns a function that applies it. */
  static check(r: SnapshotReader, elcrMask: number): (pic: Pic) => void {
    const s = {
      imr: r.uint("imr", 8),
      irr: r.uint("irr", 8),
      isr: r.uint("isr", 8),
      lines: r.uint("lines", 8),
      elcr: r.uint("elcr", 8) & elcrMask,
      ltim: r.bool("ltim"),
      single: r.bool("single"),
      icw4Needed: r.bool("icw4Needed"),
      initStep: r.oneOf("initStep", INIT_STEPS),
      vectorBase: r.uint("vectorBase", 8) & 0xf8,
      icw3: r.uint("icw3", 8),
      autoEoi: r.bool("autoEoi"),
      specialFullyNested: r.bool("specialFullyNested"),
      rotateOnAutoEoi: r.bool("rotateOnAutoEoi"),
      specialMask: r.bool("specialMask"),
      readIsr: r.bool("readIsr"),
      poll: r.bool("poll"),
      highestPriority: r.int("highestPriority", 0, 7),
    };
    return (pic) => Object.assign(pic, s);
  }
}

export interface I8259Options {
  /** Initial ELCR1/ELCR2 (as firmware leaves them; PCI interrupt lines level-triggered). Default 0: all edge. */
  elcr?: number;
}

/** The master/slave pair with the PIIX ELCR; the CPU's INTR/INTA interface is hasInterrupt()/acknowledge(). */
export class I8259 implements IoDevice, IrqSink, Snapshotting {
  readonly name = "i8259";
  readonly ports: readonly IoRange[] = [
    { base: 0x20, count: 2 },
    { base: 0xa0, count: 2 },
    { base: 0x4d0, count: 2 },
  ];
  readonly ioWidth = 1;
  private readonly master = new Pic(true, ELCR_MASTER_MASK);
  private readonly slave = new Pic(false, ELCR_SLAVE_MASK);

  constructor(options: I8259Options = {}) {
    const elcr = options.elcr ?? 0;
    this.master.elcr = elcr & ELCR_MASTER_MASK;
    this.slave.elcr = (elcr >>> 8) & ELCR_SLAVE_MASK;
  }

  /** Drives ISA IRQ `line` (0-15; 2 is the cascade and not an input). */
  setIrq(line: number, level: boolean): void {
    if (line < 0 || line > 15 || line === CASCADE_IR) return;
    if (line < 8) this.master.setInput(line, level);
    else this.slave.setInput(line - 8, level);
    this.updateCascade();
  }

  /** The master's INT output: the CPU's INTR pin. */
  hasInterrupt(): boolean {
    return this.master.pending() >= 0;
  }

  /**
   * The INTA cycle: returns the vector and moves the request from IRR to ISR
   * (datasheet "Interrupt Sequence", 8086 mode). With no request left at
   * INTA (a level line dropped), a PIC answers with its IR7 vector and sets
   * no ISR bit: the spurious IRQ 7, or IRQ 15 with the master's IR2 in service.
   */
  acknowledge(): number {
    const ir = this.master.pending();
    if (ir < 0) return this.master.vectorBase | 7;
    this.master.acknowledge(ir);
    let vector: number;
    if (this.master.isCascade(ir)) {
      const sir = this.slave.pending();
      if (sir < 0) vector = this.slave.vectorBase | 7;
      else {
        this.slave.acknowledge(sir);
        vector = this.slave.vectorBase | sir;
      }
    } else {
      vector = this.master.vectorBase | ir;
    }
    this.updateCascade();
    return vector;
  }

  ioRead(port: number, _size: IoSize): number {
    let v: number;
    switch (port) {
      case 0x20:
      case 0x21:
        v = this.master.read(port & 1);
        break;
      case 0xa0:
      case 0xa1:
        v = this.slave.read(port & 1);
        break;
      case 0x4d0:
        return this.master.elcr;
      case 0x4d1:
        return this.slave.elcr;
      default:
        return 0xff;
    }
    this.updateCascade(); // a poll read acts as INTA
    return v;
  }

  ioWrite(port: number, _size: IoSize, value: number): void {
    value &= 0xff;
    switch (port) {
      case 0x20:
      case 0x21:
        this.master.write(port & 1, value);
        break;
      case 0xa0:
      case 0xa1:
        this.slave.write(port & 1, value);
        break;
      case 0x4d0:
        this.master.elcr = value & ELCR_MASTER_MASK;
        break;
      case 0x4d1:
        this.slave.elcr = value & ELCR_SLAVE_MASK;
        break;
    }
    this.updateCascade();
  }

  /** The slave's INT output is the level on master IR2. */
  private updateCascade(): void {
    this.master.setInput(CASCADE_IR, this.slave.pending() >= 0);
  }

  save(): unknown {
    return { kind: "i8259", version: 1, master: this.master.save(), slave: this.slave.save() };
  }

  restore(state: unknown): void {
    const r = new SnapshotReader(state, "i8259", 1);
    const applyMaster = Pic.check(r.child("master", "8259a", 1), ELCR_MASTER_MASK);
    const applySlave = Pic.check(r.child("slave", "8259a", 1), ELCR_SLAVE_MASK);
    applyMaster(this.master);
    applySlave(this.slave);
  }
}
