// The PC/AT keyboard controller (Intel 8042 running the IBM AT keyboard
// controller firmware, as the IBM PC/AT Technical Reference "Keyboard
// Controller" section and the PS/2 Hardware Interface Technical Reference
// describe it), with a PS/2 keyboard on its first port and a PS/2 mouse on
// the auxiliary port. Data port 0x60, status/command port 0x64; output
// buffer full raises IRQ 1 (keyboard byte) or IRQ 12 (auxiliary byte) when
// the command byte enables it. The output port carries A20 (bit 1) and the
// system reset line (bit 0, active low).
//
// Model choices (documented, not in the references):
// - The controller and devices answer at once: IBF never reads 1 and a
//   command's reply is in the output buffer when the OUT returns.
// - Scan-code translation (command byte bit 6) is not applied to key bytes:
//   keyPress() takes bytes exactly as the guest is to read them. Only the
//   keyboard's identify reply is translated (83h -> 41h), as the 8042 would.
// - Sending a byte to the keyboard clears the "disable keyboard" bit of the
//   command byte, as AT-compatible controllers do.
import type { IoDevice, IoRange, IoSize } from "./io-device.js";
import type { IrqSink } from "./irq.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";

export const KBD_IRQ = 1;
export const AUX_IRQ = 12;

/** Status register (port 64h read). */
export const STATUS_OBF = 0x01;
export const STATUS_IBF = 0x02;
export const STATUS_SYS = 0x04;
export const STATUS_CMD = 0x08;
export const STATUS_UNLOCKED = 0x10;
export const STATUS_AUX = 0x20;

/** Command byte (controller RAM byte 0). */
export const CCB_KBD_INT = 0x01;
export const CCB_AUX_INT = 0x02;
export const CCB_SYS = 0x04;
export const CCB_KBD_DISABLE = 0x10;
export const CCB_AUX_DISABLE = 0x20;
export const CCB_XLAT = 0x40;

/** Output port bits. */
export const OUT_RESET = 0x01;
export const OUT_A20 = 0x02;
const OUT_KBD_OBF = 0x10;
const OUT_AUX_OBF = 0x20;

/** Keyboard and mouse replies. */
const ACK = 0xfa;
const RESEND = 0xfe;
const BAT_OK = 0xaa;

const QUEUE = 16;
/** Where a byte in the output buffer came from. */
const FROM_KBD = 0;
const FROM_AUX = 1;

/** A byte FIFO that drops what does not fit (a device's own small buffer). */
class ByteQueue {
  readonly data = new Uint8Array(QUEUE);
  readonly from = new Uint8Array(QUEUE);
  head = 0;
  count = 0;

  push(b: number, from: number): void {
    if (this.count === QUEUE) return;
    const i = (this.head + this.count) % QUEUE;
    this.data[i] = b;
    this.from[i] = from;
    this.count++;
  }

  clear(): void {
    this.count = 0;
  }

  /** Contents oldest first, each byte | from << 8. */
  save(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const at = (this.head + i) % QUEUE;
      out.push(this.data[at] | (this.from[at] << 8));
    }
    return out;
  }

  load(items: readonly number[]): void {
    this.head = 0;
    this.count = items.length;
    for (let i = 0; i < items.length; i++) {
      this.data[i] = items[i] & 0xff;
      this.from[i] = items[i] >>> 8;
    }
  }
}

export interface I8042Options {
  irq: IrqSink;
  /** The reset line pulsed (command FEh, or output port bit 0 written 0): the platform resets. */
  onReset: () => void;
  /** A20 gate changes (output port bit 1). */
  onA20?: (enabled: boolean) => void;
  /** A20 at power-on; default enabled (a VM booted without a BIOS runs with A20 on). */
  a20?: boolean;
}

export class I8042 implements IoDevice, Snapshotting {
  readonly name = "i8042";
  readonly ports: readonly IoRange[] = [
    { base: 0x60, count: 1 },
    { base: 0x64, count: 1 },
  ];
  readonly ioWidth = 1;
  private readonly irq: IrqSink;
  private readonly onReset: () => void;
  private readonly onA20: ((enabled: boolean) => void) | undefined;

  /** Controller RAM: byte 0 is the command byte (bytes 20h-3Fh / 60h-7Fh commands). */
  private readonly ram = new Uint8Array(32);
  private outputPort: number;
  private lastWasCommand = false;
  /** Controller command waiting for its data byte on port 60h (0 = none). */
  private pendingCommand = 0;
  /** The output buffer. */
  private obf = false;
  private obData = 0;
  private obFrom = FROM_KBD;
  /** Controller replies first, then each device's own buffer. */
  private readonly replies = new ByteQueue();
  private readonly kbdQueue = new ByteQueue();
  private readonly auxQueue = new ByteQueue();
  private kbdLine = false;
  private auxLine = false;

  /** Keyboard: command waiting for its parameter (EDh, F0h, F3h), scanning, last byte sent (for FEh). */
  private kbdExpect = 0;
  private kbdScanning = true;
  private kbdLast = 0;
  private kbdLeds = 0;
  private kbdTypematic = 0x2b;
  /** Mouse: command waiting for a parameter (E8h, F3h), reporting, resolution, sample rate, scaling 2:1. */
  private auxExpect = 0;
  private auxReporting = false;
  private auxResolution = 2;
  private auxRate = 100;
  private auxScaling2 = false;

  constructor(options: I8042Options) {
    this.irq = options.irq;
    this.onReset = options.onReset;
    this.onA20 = options.onA20;
    this.outputPort = OUT_RESET | (options.a20 === false ? 0 : OUT_A20);
    // As the AT BIOS leaves it: interrupts on, system flag set, translation on.
    this.ram[0] = CCB_KBD_INT | CCB_AUX_INT | CCB_SYS | CCB_XLAT;
  }

  /** The A20 gate (output port bit 1). */
  get a20(): boolean {
    return (this.outputPort & OUT_A20) !== 0;
  }

  /** A byte from the keyboard (a make or break code as the guest reads it). */
  keyPress(scancode: number): void {
    if (!this.kbdScanning) return;
    this.fromKeyboard(scancode & 0xff);
    this.refill();
  }

  ioRead(port: number, _size: IoSize): number {
    if (port === 0x64) return this.status();
    const v = this.obData;
    this.obf = false;
    this.updateLines(); // the line drops, so the next byte is a new edge for an edge-triggered IRQ
    this.refill();
    return v;
  }

  ioWrite(port: number, _size: IoSize, value: number): void {
    value &= 0xff;
    if (port === 0x64) {
      this.lastWasCommand = true;
      this.command(value);
    } else {
      this.lastWasCommand = false;
      this.data(value);
    }
    this.refill();
  }

  private status(): number {
    return (
      (this.obf ? STATUS_OBF : 0) |
      (this.ram[0] & CCB_SYS ? STATUS_SYS : 0) |
      (this.lastWasCommand ? STATUS_CMD : 0) |
      STATUS_UNLOCKED |
      (this.obf && this.obFrom === FROM_AUX ? STATUS_AUX : 0)
    );
  }

  /** Controller commands (port 64h). */
  private command(c: number): void {
    this.pendingCommand = 0;
    if (c >= 0x20 && c <= 0x3f) {
      this.reply(this.ram[c - 0x20], FROM_KBD);
      return;
    }
    if ((c >= 0x60 && c <= 0x7f) || c === 0xd1 || c === 0xd2 || c === 0xd3 || c === 0xd4) {
      this.pendingCommand = c;
      return;
    }
    if (c >= 0xf0) {
      this.pulse(~c & 0x0f);
      return;
    }
    switch (c) {
      case 0xa7:
        this.ram[0] |= CCB_AUX_DISABLE;
        return;
      case 0xa8:
        this.ram[0] &= ~CCB_AUX_DISABLE;
        return;
      case 0xa9: // auxiliary interface test: 00 = no error
      case 0xab: // keyboard interface test
        this.reply(0x00, FROM_KBD);
        return;
      case 0xaa: // controller self-test
        this.reply(0x55, FROM_KBD);
        return;
      case 0xad:
        this.ram[0] |= CCB_KBD_DISABLE;
        return;
      case 0xae:
        this.ram[0] &= ~CCB_KBD_DISABLE;
        return;
      case 0xc0: // input port: keyboard not inhibited (bit 7)
        this.reply(0x80, FROM_KBD);
        return;
      case 0xd0:
        this.reply(this.readOutputPort(), FROM_KBD);
        return;
      case 0xe0: // test inputs T0, T1
        this.reply(0x00, FROM_KBD);
        return;
    }
    // Other commands are vendor extensions: ignored.
  }

  /** A data byte (port 60h): a pending command's parameter, or a byte for the keyboard. */
  private data(v: number): void {
    const c = this.pendingCommand;
    this.pendingCommand = 0;
    if (c >= 0x60 && c <= 0x7f) {
      this.ram[c - 0x60] = v;
      return;
    }
    switch (c) {
      case 0xd1:
        this.writeOutputPort(v);
        return;
      case 0xd2:
        this.reply(v, FROM_KBD);
        return;
      case 0xd3:
        this.reply(v, FROM_AUX);
        return;
      case 0xd4:
        this.toMouse(v);
        return;
    }
    this.ram[0] &= ~CCB_KBD_DISABLE;
    this.toKeyboard(v);
  }

  private readOutputPort(): number {
    const obf = this.obf ? (this.obFrom === FROM_AUX ? OUT_AUX_OBF : OUT_KBD_OBF) : 0;
    return (this.outputPort & (OUT_RESET | OUT_A20)) | obf;
  }

  private writeOutputPort(v: number): void {
    const a20Before = this.a20;
    this.outputPort = v & (OUT_RESET | OUT_A20);
    if (this.a20 !== a20Before) this.onA20?.(this.a20);
    if (!(v & OUT_RESET)) {
      this.outputPort |= OUT_RESET; // the reset restarts the controller with the line released
      this.onReset();
    }
  }

  /** Commands F0h-FFh pulse the output port bits whose bit in the low nibble is 0; bit 0 is reset. */
  private pulse(bits: number): void {
    if (bits & OUT_RESET) this.onReset();
  }

  private reply(b: number, from: number): void {
    this.replies.push(b, from);
  }

  private fromKeyboard(b: number): void {
    this.kbdLast = b;
    this.kbdQueue.push(b, FROM_KBD);
  }

  private fromMouse(b: number): void {
    this.auxQueue.push(b, FROM_AUX);
  }

  /** PS/2 keyboard commands (IBM PS/2 Hardware Interface Technical Reference, "Keyboard Commands"). */
  private toKeyboard(v: number): void {
    if (this.kbdExpect) {
      const cmd = this.kbdExpect;
      this.kbdExpect = 0;
      if (cmd === 0xed) this.kbdLeds = v & 7;
      else if (cmd === 0xf3) this.kbdTypematic = v & 0x7f;
      this.fromKeyboard(ACK);
      if (cmd === 0xf0 && v === 0) this.fromKeyboard(0x02); // current scan-code set: 2
      return;
    }
    switch (v) {
      case 0xed: // set LEDs
      case 0xf0: // select / query scan-code set
      case 0xf3: // typematic rate and delay
        this.kbdExpect = v;
        this.fromKeyboard(ACK);
        return;
      case 0xee: // echo
        this.fromKeyboard(0xee);
        return;
      case 0xf2: // identify: MF2 keyboard AB 83 (AB 41 through translation)
        this.fromKeyboard(ACK);
        this.fromKeyboard(0xab);
        this.fromKeyboard(this.ram[0] & CCB_XLAT ? 0x41 : 0x83);
        return;
      case 0xf4:
        this.kbdScanning = true;
        this.fromKeyboard(ACK);
        return;
      case 0xf5: // default disable
      case 0xf6: // set default
        this.kbdScanning = v === 0xf6;
        this.kbdLeds = 0;
        this.kbdTypematic = 0x2b;
        this.fromKeyboard(ACK);
        return;
      case 0xfe: // resend
        this.kbdQueue.push(this.kbdLast, FROM_KBD);
        return;
      case 0xff: // reset: ACK, then basic assurance test passed
        this.kbdQueue.clear();
        this.kbdScanning = true;
        this.kbdLeds = 0;
        this.kbdTypematic = 0x2b;
        this.fromKeyboard(ACK);
        this.fromKeyboard(BAT_OK);
        return;
      default:
        this.fromKeyboard(RESEND);
    }
  }

  /** PS/2 mouse commands (IBM PS/2 Hardware Interface Technical Reference, "Pointing Device Commands"). */
  private toMouse(v: number): void {
    if (this.auxExpect) {
      if (this.auxExpect === 0xe8) this.auxResolution = v & 3;
      else this.auxRate = v;
      this.auxExpect = 0;
      this.fromMouse(ACK);
      return;
    }
    switch (v) {
      case 0xe6:
      case 0xe7:
        this.auxScaling2 = v === 0xe7;
        this.fromMouse(ACK);
        return;
      case 0xe8: // set resolution
      case 0xf3: // set sample rate
        this.auxExpect = v;
        this.fromMouse(ACK);
        return;
      case 0xe9: // status request: ACK, status, resolution, rate
        this.fromMouse(ACK);
        this.fromMouse((this.auxReporting ? 0x20 : 0) | (this.auxScaling2 ? 0x10 : 0));
        this.fromMouse(this.auxResolution);
        this.fromMouse(this.auxRate);
        return;
      case 0xea: // stream mode
      case 0xf0: // remote mode
        this.fromMouse(ACK);
        return;
      case 0xeb: // read data: no movement, no buttons
        this.fromMouse(ACK);
        this.fromMouse(0x08);
        this.fromMouse(0x00);
        this.fromMouse(0x00);
        return;
      case 0xf2: // identify: standard PS/2 mouse
        this.fromMouse(ACK);
        this.fromMouse(0x00);
        return;
      case 0xf4:
      case 0xf5:
        this.auxReporting = v === 0xf4;
        this.fromMouse(ACK);
        return;
      case 0xf6:
        this.mouseDefaults();
        this.fromMouse(ACK);
        return;
      case 0xff: // reset: ACK, BAT passed, ID 00
        this.mouseDefaults();
        this.auxQueue.clear();
        this.fromMouse(ACK);
        this.fromMouse(BAT_OK);
        this.fromMouse(0x00);
        return;
      default:
        this.fromMouse(RESEND);
    }
  }

  private mouseDefaults(): void {
    this.auxReporting = false;
    this.auxResolution = 2;
    this.auxRate = 100;
    this.auxScaling2 = false;
  }

  /** Moves the next byte into an empty output buffer and drives IRQ 1 / IRQ 12. */
  private refill(): void {
    if (!this.obf) {
      const q =
        this.replies.count > 0
          ? this.replies
          : this.kbdQueue.count > 0 && !(this.ram[0] & CCB_KBD_DISABLE)
            ? this.kbdQueue
            : this.auxQueue.count > 0 && !(this.ram[0] & CCB_AUX_DISABLE)
              ? this.auxQueue
              : null;
      if (q) {
        this.obData = q.data[q.head];
        this.obFrom = q.from[q.head];
        q.head = (q.head + 1) % QUEUE;
        q.count--;
        this.obf = true;
      }
    }
    this.updateLines();
  }

  private updateLines(): void {
    const kbd = this.obf && this.obFrom === FROM_KBD && (this.ram[0] & CCB_KBD_INT) !== 0;
    const aux = this.obf && this.obFrom === FROM_AUX && (this.ram[0] & CCB_AUX_INT) !== 0;
    if (kbd !== this.kbdLine) {
      this.kbdLine = kbd;
      this.irq.setIrq(KBD_IRQ, kbd);
    }
    if (aux !== this.auxLine) {
      this.auxLine = aux;
      this.irq.setIrq(AUX_IRQ, aux);
    }
  }

  save(): unknown {
    return {
      kind: "i8042",
      version: 1,
      ram: this.ram.slice(),
      outputPort: this.outputPort,
      lastWasCommand: this.lastWasCommand,
      pendingCommand: this.pendingCommand,
      obf: this.obf,
      obData: this.obData,
      obFrom: this.obFrom,
      replies: this.replies.save(),
      kbdQueue: this.kbdQueue.save(),
      auxQueue: this.auxQueue.save(),
      kbdLine: this.kbdLine,
      auxLine: this.auxLine,
      kbdExpect: this.kbdExpect,
      kbdScanning: this.kbdScanning,
      kbdLast: this.kbdLast,
      kbdLeds: this.kbdLeds,
      kbdTypematic: this.kbdTypematic,
      auxExpect: this.auxExpect,
      auxReporting: this.auxReporting,
      auxResolution: this.auxResolution,
      auxRate: this.auxRate,
      auxScaling2: this.auxScaling2,
    };
  }

  restore(state: unknown): void {
    const r = new SnapshotReader(state, "i8042", 1);
    const s = {
      ram: r.bytes("ram", 32),
      outputPort: r.uint("outputPort", 8) & (OUT_RESET | OUT_A20),
      lastWasCommand: r.bool("lastWasCommand"),
      pendingCommand: r.uint("pendingCommand", 8),
      obf: r.bool("obf"),
      obData: r.uint("obData", 8),
      obFrom: r.int("obFrom", FROM_KBD, FROM_AUX),
      kbdLine: r.bool("kbdLine"),
      auxLine: r.bool("auxLine"),
      kbdExpect: r.oneOf("kbdExpect", [0, 0xed, 0xf0, 0xf3]),
      kbdScanning: r.bool("kbdScanning"),
      kbdLast: r.uint("kbdLast", 8),
      kbdLeds: r.uint("kbdLeds", 3),
      kbdTypematic: r.uint("kbdTypematic", 7),
      auxExpect: r.oneOf("auxExpect", [0, 0xe8, 0xf3]),
      auxReporting: r.bool("auxReporting"),
      auxResolution: r.uint("auxResolution", 2),
      auxRate: r.uint("auxRate", 8),
      auxScaling2: r.bool("auxScaling2"),
    };
    const maxItem = (FROM_AUX << 8) | 0xff;
    const replies = r.list("replies", QUEUE, maxItem);
    const kbdQueue = r.list("kbdQueue", QUEUE, maxItem);
    const auxQueue = r.list("auxQueue", QUEUE, maxItem);
    const { ram, ...rest } = s;
    this.ram.set(ram);
    Object.assign(this, rest);
    this.replies.load(replies);
    this.kbdQueue.load(kbdQueue);
    this.auxQueue.load(auxQueue);
  }
}
