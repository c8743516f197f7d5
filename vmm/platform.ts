// The PC platform a VM sees (DESIGN.md §1: device models live in the VMM):
// the devices of a PC/AT with a PIIX3-era chipset, wired as a PC wires them
// (IBM PC/AT Technical Reference; Intel 82371SB PIIX3 datasheet):
//   0x20/0xA0, 0x4D0  8259A master/slave pair with ELCR  -> the CPU's INTR
//   0x40-0x43, 0x61   8254 PIT, OUT0 on IRQ 0, port B
//   0x60, 0x64        8042 keyboard controller, IRQ 1/12; reset line -> VM reset
//   0x70-0x71         MC146818 RTC + CMOS (memory size filled in), IRQ 8
//   0x80              POST code latch
//   0xF4              debug-exit port: the guest ends its VM with a status
//   0x402             QEMU's debug console (SeaBIOS's log) -> the VM's console
//   0xCF8-0xCFF       PCI configuration mechanism #1, i440FX host bridge at 0:0.0;
//                     0xCF9 reset control -> VM reset
//   0x3F8-0x3FF       16550A UART (COM1), IRQ 4
// No local APIC or I/O APIC: the CPUID model (vmm/cpuid.ts) does not report
// an APIC, so an OS must not find one (SDM Vol. 3A §10.4.2: CPUID.01H:EDX[9]).
// All devices run on virtual time (DESIGN.md §5) through one clock that the
// VMM sets to each exit's virtual TSC.
import type { Clock } from "../devices/clock.js";
import { DebugExit } from "../devices/debug-exit.js";
import { DebugCon } from "../devices/debugcon.js";
import { createI440fxHostBridge, type I440fxPmc } from "../devices/i440fx.js";
import { I8042 } from "../devices/i8042.js";
import { I8254 } from "../devices/i8254.js";
import { I8259 } from "../devices/i8259.js";
import type { IrqSink } from "../devices/irq.js";
import { Mc146818 } from "../devices/mc146818.js";
import { PciHost } from "../devices/pci-host.js";
import { PostPort } from "../devices/post-port.js";
import { SnapshotError, SnapshotReader, type Snapshotting } from "../devices/snapshot.js";
import { earliestDeadline, type TimedDevice } from "../devices/timed.js";
import { COM1_IRQ, Uart16550 } from "../devices/uart16550.js";
import { attachFirmware } from "./boot/firmware.js";
import { MmioBus } from "./emulator/mmio-bus.js";
import type { GuestRam } from "./guest-ram.js";
import { IoBus } from "./io-bus.js";

/** PC COM1. */
export const COM1_BASE = 0x3f8;
/** COM1 as a PC BIOS leaves it: 8 data bits, no parity, 1 stop bit (LCR 0x03), 9600 baud (divisor 12). */
export const COM1_FIRMWARE = { lcr: 0x03, divisor: 12 };
/**
 * The RTC's wall clock at virtual TSC 0 unless the root task gives one:
 * 2024-01-01 00:00:00 UTC. A fixed value, never the host clock, so that two
 * runs of a VM read the same dates (DESIGN.md §5).
 */
export const DEFAULT_EPOCH_SECONDS = 1_704_067_200;

/** The platform's virtual clock: monotonic while the VM runs, loadable from a checkpoint. */
export class PlatformClock implements Clock {
  private t = 0;

  now(): number {
    return this.t;
  }

  /** Moves time to `tsc` (an exit's virtual TSC); time never runs backwards while a VM runs. */
  set(tsc: number): void {
    if (tsc > this.t) this.t = tsc;
  }

  /** Replaces the time with a checkpoint's (restore only). */
  load(tsc: number): void {
    this.t = tsc;
  }
}

export interface PlatformOptions {
  /** Guest RAM in bytes, for the CMOS memory-size bytes. */
  ramBytes: number;
  /** Each byte COM1 transmits (the guest console). */
  onTransmit: (byte: number) => void;
  /** RTC wall clock at virtual TSC `startTsc`, Unix seconds (default DEFAULT_EPOCH_SECONDS). */
  epochSeconds?: number;
  /** The virtual TSC the platform is powered on at (a reset happens mid-run). */
  startTsc?: number;
  /**
   * Placement irqchip: the 8259A pair and the 8254 (ports 20h/21h, A0h/A1h,
   * 4D0h/4D1h, 40h-43h, 61h) run in the hypervisor, so they are not on this
   * bus (a guest access must not reach two models), and the other devices
   * drive these lines instead (vmm/interrupts.ts IrqLineRecorder).
   */
  irqLines?: IrqSink;
  /** A firmware ROM: its device at 4 GiB and the PAM window over `ram` (vmm/boot/firmware.ts). */
  firmware?: { rom: Uint8Array; ram: GuestRam };
}

/** What a device asked of the VM as a whole during one exit. */
export interface PlatformRequests {
  /** The guest wrote to the debug-exit port: end the VM with this status. */
  exitStatus: number | null;
  /** The reset line was pulsed (8042 command FEh, PIIX3 reset control): the VM resets. */
  reset: boolean;
  /** Firmware boots: the PAM registers changed (or the platform powered on): the kernel must remap C0000h-FFFFFh. */
  memoryMap: boolean;
}

export class PcPlatform implements Snapshotting {
  readonly clock = new PlatformClock();
  readonly bus = new IoBus();
  /** Memory-mapped devices: none while the CPUID model has no APIC. */
  readonly mmio = new MmioBus();
  private readonly picModel: I8259 | null;
  private readonly pitModel: I8254 | null;
  readonly rtc: Mc146818;
  readonly kbc: I8042;
  readonly post: PostPort;
  readonly debugExit: DebugExit;
  readonly pci: PciHost;
  readonly hostBridge: I440fxPmc;
  readonly uart: Uart16550;
  /** The devices with timers, asked for deadlines and ticked after each exit. */
  private readonly timed: readonly TimedDevice[];
  readonly requests: PlatformRequests = { exitStatus: null, reset: false, memoryMap: false };

  constructor(options: PlatformOptions) {
    this.clock.set(options.startTsc ?? 0);
    const clock = this.clock;
    this.picModel = options.irqLines ? null : new I8259();
    const irq = options.irqLines ?? (this.picModel as I8259);
    this.pitModel = this.picModel ? new I8254({ clock, irq }) : null;
    this.rtc = new Mc146818({
      clock,
      irq,
      epochSeconds: options.epochSeconds ?? DEFAULT_EPOCH_SECONDS,
      ramBytes: options.ramBytes,
    });
    const reset = () => {
      this.requests.reset = true;
    };
    this.kbc = new I8042({ irq, onReset: reset });
    this.post = new PostPort();
    this.debugExit = new DebugExit({
      onExit: (status) => {
        this.requests.exitStatus = status;
      },
    });
    this.pci = new PciHost({ onReset: reset });
    this.hostBridge = createI440fxHostBridge();
    this.pci.attach(0, 0, this.hostBridge);
    if (options.firmware) {
      attachFirmware(options.firmware.rom, options.firmware.ram, this.mmio, this.hostBridge);
      this.hostBridge.onPamChange = () => {
        this.requests.memoryMap = true;
      };
      this.requests.memoryMap = true; // PAM at its reset value 00h: the PCI side everywhere
    }
    this.uart = new Uart16550({
      base: COM1_BASE,
      onTransmit: options.onTransmit,
      firmware: COM1_FIRMWARE,
      irq,
      irqNumber: COM1_IRQ,
    });
    const local = this.picModel && this.pitModel ? [this.picModel, this.pitModel] : [];
    const debugcon = new DebugCon(options.onTransmit);
    for (const d of [...local, this.rtc, this.kbc, this.post, this.debugExit, this.pci, this.uart, debugcon]) {
      this.bus.attach(d);
    }
    this.timed = this.pitModel ? [this.pitModel, this.rtc] : [this.rtc];
  }

  /** Whether the 8259A pair and the 8254 are here (placement split) rather than in the hypervisor. */
  get hasIrqchip(): boolean {
    return this.picModel !== null;
  }

  /** The 8259A pair; only in placement split. */
  get pic(): I8259 {
    if (this.picModel === null) throw new Error("the 8259A runs in the hypervisor (placement irqchip)");
    return this.picModel;
  }

  /** The 8254; only in placement split. */
  get pit(): I8254 {
    if (this.pitModel === null) throw new Error("the 8254 runs in the hypervisor (placement irqchip)");
    return this.pitModel;
  }

  /** Processes every timer event due by the clock's time (raises their IRQs). */
  tick(): void {
    const now = this.clock.now();
    for (const d of this.timed) d.tick(now);
  }

  /** The earliest device deadline (absolute virtual TSC), 0 if none. */
  nextDeadline(): number {
    return earliestDeadline(this.timed);
  }

  private parts(): [string, Snapshotting][] {
    const local: [string, Snapshotting][] =
      this.picModel && this.pitModel
        ? [
            ["pic", this.picModel],
            ["pit", this.pitModel],
          ]
        : [];
    return [
      ...local,
      ["rtc", this.rtc],
      ["kbc", this.kbc],
      ["post", this.post],
      ["debugExit", this.debugExit],
      ["pci", this.pci],
      ["uart", this.uart],
    ];
  }

  save(): unknown {
    const state: Record<string, unknown> = { kind: "pc-platform", version: 1, clock: this.clock.now() };
    for (const [key, dev] of this.parts()) state[key] = dev.save();
    return state;
  }

  /** Restores every device and the clock, or nothing: a part that refuses its state undoes the parts before it. */
  restore(state: unknown): void {
    const r = new SnapshotReader(state, "pc-platform", 1);
    const clock = r.count("clock");
    const done: [Snapshotting, unknown][] = [];
    try {
      for (const [key, dev] of this.parts()) {
        const old = dev.save();
        dev.restore(r.raw(key));
        done.push([dev, old]);
      }
    } catch (e) {
      for (const [dev, old] of done) dev.restore(old);
      throw e instanceof SnapshotError ? e : new SnapshotError(`pc-platform snapshot: ${(e as Error).message}`);
    }
    this.clock.load(clock);
    this.requests.exitStatus = null;
    this.requests.reset = false;
  }
}
