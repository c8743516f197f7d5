// A 16550A UART as the National Semiconductor PC16550D datasheet describes
// it: registers at base+0..7 (datasheet table "Summary of Registers"),
// interrupt priorities of table "Interrupt Control Functions", reset values
// of table "UART Reset Configuration". PC COM1 sits at 0x3F8.
//
// Virtual-line choices (documented, not in the datasheet):
// - The serial line runs in zero virtual time: a THR write is shifted out at
//   once, so LSR.THRE and LSR.TEMT are always 1 and a THRE interrupt follows
//   every THR write; for the same reason the FIFO character-timeout (4
//   character times without activity) is taken as already elapsed.
// - Outside loopback the line has a terminal attached: CTS, DSR and DCD are
//   asserted, RI is not. Parity, framing and break errors never happen.
// - `irqLine` is the INTR pin gated by OUT2, as PC/AT serial adapters wire
//   it; in loopback OUT2's pin is forced inactive, so the IRQ is off. With
//   an `irq` sink the UART drives that level onto its ISA line after every
//   register access and received character (a level, as the ISA bus holds
//   it until the cause is serviced; the PIC latches its rising edge).
import type { IoDevice, IoRange, IoSize } from "./io-device.js";
import type { IrqSink } from "./irq.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";

/** Register offsets from the base port (DLAB selects DLL/DLM at 0 and 1). */
export const UartReg = { RBR_THR_DLL: 0, IER_DLM: 1, IIR_FCR: 2, LCR: 3, MCR: 4, LSR: 5, MSR: 6, SCR: 7 } as const;

export const IER_ERBFI = 0x01; // received data available
export const IER_ETBEI = 0x02; // THR empty
export const IER_ELSI = 0x04; // receiver line status
export const IER_EDSSI = 0x08; // modem status

export const IIR_NONE = 0x01;
export const IIR_LINE_STATUS = 0x06;
export const IIR_RX_DATA = 0x04;
export const IIR_CHAR_TIMEOUT = 0x0c;
export const IIR_THRE = 0x02;
export const IIR_MODEM_STATUS = 0x00;
export const IIR_FIFOS_ENABLED = 0xc0;

export const FCR_ENABLE = 0x01;
export const FCR_RX_RESET = 0x02;
export const FCR_TX_RESET = 0x04;

export const LCR_DLAB = 0x80;

export const MCR_DTR = 0x01;
export const MCR_RTS = 0x02;
export const MCR_OUT1 = 0x04;
export const MCR_OUT2 = 0x08;
export const MCR_LOOP = 0x10;

export const LSR_DR = 0x01;
export const LSR_OE = 0x02;
export const LSR_THRE = 0x20;
export const LSR_TEMT = 0x40;

export const MSR_DCTS = 0x01;
export const MSR_DDSR = 0x02;
export const MSR_TERI = 0x04;
export const MSR_DDCD = 0x08;
export const MSR_CTS = 0x10;
export const MSR_DSR = 0x20;
export const MSR_RI = 0x40;
export const MSR_DCD = 0x80;

/** Modem inputs of the attached virtual terminal. */
const LINE_INPUTS = MSR_CTS | MSR_DSR | MSR_DCD;
const FIFO_DEPTH = 16;
/** RCVR trigger levels selected by FCR bits 7:6. */
const RX_TRIGGER = [1, 4, 8, 14] as const;

export interface Uart16550Options {
  base?: number;
  /** Receives each character the transmitter sends on the line (not in loopback). */
  onTransmit: (byte: number) => void;
  /**
   * Line settings left by firmware, for a VM that has none: LCR and divisor
   * latch as a PC BIOS programs COM1 before the OS runs. Without it the
   * UART starts in its reset state (LCR = 0: 5-bit characters).
   */
  firmware?: { lcr: number; divisor: number };
  /** Where the IRQ line goes (PC COM1: ISA IRQ 4), and its number there. */
  irq?: IrqSink;
  irqNumber?: number;
}

/** The PC's COM1 IRQ. */
export const COM1_IRQ = 4;

export class Uart16550 implements IoDevice, Snapshotting {
  readonly name: string;
  readonly ports: readonly IoRange[];
  readonly ioWidth = 1;
  private readonly base: number;
  private readonly onTransmit: (byte: number) => void;
  private readonly irq: IrqSink | null;
  private readonly irqNumber: number;
  /** The level last driven onto the IRQ line. */
  private lineLevel = false;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private fifoEnabled = false;
  private rxTrigger = 1;
  /** LSR error bits (OE) latched until LSR is read. */
  private lineErrors = 0;
  /** MSR delta bits 3:0, cleared by an MSR read. */
  private modemDeltas = 0;
  private modemInputs = LINE_INPUTS;
  private threPending = false;
  /** The receiver buffer: 16-entry ring in FIFO mode, 1 entry (RBR) otherwise. */
  private readonly rx = new Uint8Array(FIFO_DEPTH);
  private rxHead = 0;
  private rxCount = 0;
  /** RBR contents: the last character taken from the receiver. */
  private rbr = 0;

  constructor(options: Uart16550Options) {
    this.base = options.base ?? 0x3f8;
    this.onTransmit = options.onTransmit;
    this.name = `uart16550@0x${this.base.toString(16)}`;
    this.ports = [{ base: this.base, count: 8 }];
    this.irq = options.irq ?? null;
    this.irqNumber = options.irqNumber ?? COM1_IRQ;
    if (options.firmware) {
      this.lcr = options.firmware.lcr & 0xff;
      this.dll = options.firmware.divisor & 0xff;
      this.dlm = (options.firmware.divisor >>> 8) & 0xff;
    }
  }

  /** The PC's IRQ line from this UART (INTR gated by OUT2; see the header). */
  get irqLine(): boolean {
    return (this.interruptId() & IIR_NONE) === 0 && (this.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
  }

  /** A character arriving on the serial input (console input); ignored in loopback, where RX is disconnected. */
  receive(byte: number): void {
    if ((this.mcr & MCR_LOOP) === 0) this.receiveChar(byte);
    this.updateIrq();
  }

  /**
   * Characters the serial input may send now without an overrun: free
   * receiver entries (16 in FIFO mode, the RBR otherwise) while the guest
   * asserts RTS (MCR bit 1, hardware flow control); none in loopback, where
   * the input is disconnected.
   */
  get rxRoom(): number {
    if ((this.mcr & (MCR_RTS | MCR_LOOP)) !== MCR_RTS) return 0;
    return (this.fifoEnabled ? FIFO_DEPTH : 1) - this.rxCount;
  }

  ioRead(port: number, size: IoSize): number {
    const v = this.readRegister(port, size);
    this.updateIrq(); // reading IIR, RBR, LSR or MSR can clear the cause
    return v;
  }

  ioWrite(port: number, size: IoSize, value: number): void {
    this.writeRegister(port, size, value);
    this.updateIrq();
  }

  /** Drives the IRQ line when its level changed (devices/irq.ts: repeating a level is no edge). */
  private updateIrq(): void {
    if (this.irq === null) return;
    const level = this.irqLine;
    if (level === this.lineLevel) return;
    this.lineLevel = level;
    this.irq.setIrq(this.irqNumber, level);
  }

  private readRegister(port: number, _size: IoSize): number {
    switch (port - this.base) {
      case UartReg.RBR_THR_DLL:
        return this.lcr & LCR_DLAB ? this.dll : this.readRbr();
      case UartReg.IER_DLM:
        return this.lcr & LCR_DLAB ? this.dlm : this.ier;
      case UartReg.IIR_FCR:
        return this.readIir();
      case UartReg.LCR:
        return this.lcr;
      case UartReg.MCR:
        return this.mcr;
      case UartReg.LSR:
        return this.readLsr();
      case UartReg.MSR:
        return this.readMsr();
      case UartReg.SCR:
        return this.scr;
      default:
        return 0xff;
    }
  }

  private writeRegister(port: number, _size: IoSize, value: number): void {
    value &= 0xff;
    switch (port - this.base) {
      case UartReg.RBR_THR_DLL:
        if (this.lcr & LCR_DLAB) this.dll = value;
        else this.writeThr(value);
        return;
      case UartReg.IER_DLM:
        if (this.lcr & LCR_DLAB) this.dlm = value;
        else this.writeIer(value);
        return;
      case UartReg.IIR_FCR:
        this.writeFcr(value);
        return;
      case UartReg.LCR:
        this.lcr = value;
        return;
      case UartReg.MCR:
        this.mcr = value & 0x1f; // bits 7:5 are always 0
        this.updateModemInputs();
        return;
      case UartReg.SCR:
        this.scr = value;
        return;
      // LSR and MSR are read-only here: writes have no defined effect.
    }
  }

  /** Highest-priority pending interrupt, IIR bits 3:0 (table "Interrupt Control Functions"). */
  private interruptId(): number {
    if (this.ier & IER_ELSI && this.lineErrors) return IIR_LINE_STATUS;
    if (this.ier & IER_ERBFI && this.rxCount > 0) {
      if (!this.fifoEnabled || this.rxCount >= this.rxTrigger) return IIR_RX_DATA;
      return IIR_CHAR_TIMEOUT;
    }
    if (this.ier & IER_ETBEI && this.threPending) return IIR_THRE;
    if (this.ier & IER_EDSSI && this.modemDeltas) return IIR_MODEM_STATUS;
    return IIR_NONE;
  }

  /** Reading IIR clears a THRE interrupt when THRE is what it reports. */
  private readIir(): number {
    const id = this.interruptId();
    if (id === IIR_THRE) this.threPending = false;
    return id | (this.fifoEnabled ? IIR_FIFOS_ENABLED : 0);
  }

  private readRbr(): number {
    if (this.rxCount > 0) {
      this.rbr = this.rx[this.rxHead];
      this.rxHead = (this.rxHead + 1) % FIFO_DEPTH;
      this.rxCount--;
    }
    return this.rbr;
  }

  /** LSR; reading it clears the error bits 4:1. THRE and TEMT: always empty (see header). */
  private readLsr(): number {
    const lsr = (this.rxCount > 0 ? LSR_DR : 0) | this.lineErrors | LSR_THRE | LSR_TEMT;
    this.lineErrors = 0;
    return lsr;
  }

  private readMsr(): number {
    const msr = this.modemInputs | this.modemDeltas;
    this.modemDeltas = 0;
    return msr;
  }

  private writeThr(value: number): void {
    const ch = value & this.wordMask();
    if (this.mcr & MCR_LOOP) this.receiveChar(ch);
    else this.onTransmit(ch);
    // The write cleared the THRE interrupt; the character left THR at once,
    // which raises it again.
    this.threPending = true;
  }

  private writeIer(value: number): void {
    // Enabling ETBEI while THR is empty (always, here) raises THRE.
    if (value & IER_ETBEI && !(this.ier & IER_ETBEI)) this.threPending = true;
    this.ier = value & 0x0f; // bits 7:4 are always 0
  }

  private writeFcr(value: number): void {
    const enable = (value & FCR_ENABLE) !== 0;
    if (enable !== this.fifoEnabled) this.clearRx(); // changing FCR0 clears both FIFOs
    this.fifoEnabled = enable;
    if (!enable) return; // other bits are programmed only together with FCR0 = 1
    if (value & FCR_RX_RESET) this.clearRx();
    // FCR_TX_RESET: the transmit FIFO is always empty here.
    this.rxTrigger = RX_TRIGGER[value >>> 6];
  }

  private receiveChar(byte: number): void {
    const ch = byte & this.wordMask();
    const capacity = this.fifoEnabled ? FIFO_DEPTH : 1;
    if (this.rxCount === capacity) {
      this.lineErrors |= LSR_OE;
      // Non-FIFO mode: the new character overwrites RBR. FIFO mode: it stays
      // in the shift register and is lost.
      if (!this.fifoEnabled) this.rx[this.rxHead] = ch;
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % FIFO_DEPTH] = ch;
    this.rxCount++;
  }

  private clearRx(): void {
    this.rxHead = 0;
    this.rxCount = 0;
  }

  /** Word length from LCR bits 1:0 (5..8 bits); unused high bits read as 0. */
  private wordMask(): number {
    return (1 << (5 + (this.lcr & 3))) - 1;
  }

  /** Modem inputs: external in normal mode, the MCR outputs in loopback. */
  private updateModemInputs(): void {
    const next =
      this.mcr & MCR_LOOP
        ? (this.mcr & MCR_RTS ? MSR_CTS : 0) |
          (this.mcr & MCR_DTR ? MSR_DSR : 0) |
          (this.mcr & MCR_OUT1 ? MSR_RI : 0) |
          (this.mcr & MCR_OUT2 ? MSR_DCD : 0)
        : LINE_INPUTS;
    const changed = this.modemInputs ^ next;
    if (changed & MSR_CTS) this.modemDeltas |= MSR_DCTS;
    if (changed & MSR_DSR) this.modemDeltas |= MSR_DDSR;
    if (changed & MSR_DCD) this.modemDeltas |= MSR_DDCD;
    if (changed & MSR_RI && !(next & MSR_RI)) this.modemDeltas |= MSR_TERI; // trailing edge only
    this.modemInputs = next;
  }

  save(): unknown {
    return {
      kind: "uart16550",
      version: 1,
      ier: this.ier,
      lcr: this.lcr,
      mcr: this.mcr,
      scr: this.scr,
      dll: this.dll,
      dlm: this.dlm,
      fifoEnabled: this.fifoEnabled,
      rxTrigger: this.rxTrigger,
      lineErrors: this.lineErrors,
      modemDeltas: this.modemDeltas,
      modemInputs: this.modemInputs,
      threPending: this.threPending,
      rx: this.rx.slice(),
      rxHead: this.rxHead,
      rxCount: this.rxCount,
      rbr: this.rbr,
      lineLevel: this.lineLevel,
    };
  }

  restore(state: unknown): void {
    const r = new SnapshotReader(state, "uart16550", 1);
    const s = {
      ier: r.uint("ier", 4),
      lcr: r.uint("lcr", 8),
      mcr: r.uint("mcr", 5),
      scr: r.uint("scr", 8),
      dll: r.uint("dll", 8),
      dlm: r.uint("dlm", 8),
      fifoEnabled: r.bool("fifoEnabled"),
      rxTrigger: r.oneOf("rxTrigger", RX_TRIGGER),
      lineErrors: r.oneOf("lineErrors", [0, LSR_OE]),
      modemDeltas: r.uint("modemDeltas", 4),
      modemInputs: r.int("modemInputs", 0, 0xf0),
      threPending: r.bool("threPending"),
      rxHead: r.int("rxHead", 0, FIFO_DEPTH - 1),
      rxCount: r.int("rxCount", 0, FIFO_DEPTH),
      rbr: r.uint("rbr", 8),
      lineLevel: r.bool("lineLevel"),
    };
    if ((s.modemInputs & 0x0f) !== 0) throw r.fail(`modemInputs ${s.modemInputs} has delta bits 3:0 set`);
    if (!s.fifoEnabled && s.rxCount > 1) throw r.fail(`rxCount ${s.rxCount} exceeds the 1-byte RBR without FIFO`);
    const rx = r.bytes("rx", FIFO_DEPTH);
    this.rx.set(rx);
    Object.assign(this, s);
  }
}
