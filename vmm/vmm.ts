// moat's VMM: the untrusted per-VM component (DESIGN.md §1, §2). It answers
// one encoded VmExit with one encoded VmReply and talks to nothing else: no
// host files, sockets or console (guest console bytes leave in the reply).
//
// Every exit runs the same frame around its handler (DESIGN.md §2, §5):
//   1. the platform's clock moves to the exit's virtual TSC;
//   2. the handler for the exit reason fills the reply;
//   3. timed devices process what is due (their IRQs reach the PIC);
//   4. what devices asked of the VM: the debug-exit port stops it, the reset
//      line reboots it;
//   5. interrupt delivery (vmm/interrupts.ts): inject or ask for a window;
//   6. the earliest device deadline goes back for the preemption timer.

import { SnapshotReader } from "../devices/snapshot.js";
import { EXIT_REASON_ENTRY_FAILURE, ExitReason, exitReasonName } from "../proto/exit-reason.js";
import { type IVmExit, type IVmReply, VmExit, VmReply } from "../proto/index.js";
import { Mtd, mtdNames } from "../proto/mtd.js";
import { REQUIRED_MTD } from "../proto/portal-mtd.js";
import { biosWindowCalls } from "./boot/firmware.js";
import { ConsoleBuffer } from "./console-buffer.js";
import { ConsoleInput } from "./console-input.js";
import { handleIoInstructionWithStrings, handleMmioEptViolation } from "./emulator/handlers.js";
import { handleTaskSwitch } from "./emulator/task-switch.js";
import { GuestRam } from "./guest-ram.js";
import { handleCpuid } from "./handlers/cpuid.js";
import { handleHlt } from "./handlers/hlt.js";
import { handleRdmsr, handleWrmsr } from "./handlers/msr-access.js";
import { handleStartup } from "./handlers/startup.js";
import { handleEntryFailure, handleTripleFault, handleUnknown } from "./handlers/stops.js";
import { handleVmcall } from "./handlers/vmcall.js";
import { deliverInterrupts, type InterruptStats, IrqLineRecorder, newInterruptStats } from "./interrupts.js";
import { MsrFile } from "./msr.js";
import { PcPlatform } from "./platform.js";
import { ReplyBuilder } from "./reply.js";
import type { ExitHandler, VmmBoot, VmmContext } from "./vmm-context.js";

export { COM1_BASE, COM1_FIRMWARE } from "./platform.js";
export type { VmmBoot } from "./vmm-context.js";

/** Exits whose whole work is the interrupt delivery every exit gets. */
const nothing: ExitHandler = () => {};

const HANDLERS: Readonly<Record<number, ExitHandler>> = {
  [ExitReason.STARTUP]: handleStartup,
  [ExitReason.RECALL]: nothing,
  [ExitReason.INTERRUPT_WINDOW]: nothing,
  [ExitReason.PREEMPTION_TIMER]: nothing,
  [ExitReason.TRIPLE_FAULT]: handleTripleFault,
  [ExitReason.CPUID]: handleCpuid,
  [ExitReason.HLT]: handleHlt,
  [ExitReason.VMCALL]: handleVmcall,
  [ExitReason.IO_INSTRUCTION]: handleIoInstructionWithStrings,
  [ExitReason.RDMSR]: handleRdmsr,
  [ExitReason.WRMSR]: handleWrmsr,
  [ExitReason.EPT_VIOLATION]: handleMmioEptViolation,
  [ExitReason.TASK_SWITCH]: handleTaskSwitch,
};

/**
 * The VMM's boot data. `irqchip`: placement irqchip, the 8259A pair and the
 * 8254 run in the hypervisor (hypervisor/in-kernel/); this VMM leaves their
 * ports alone, reports its devices' IRQ lines with each reply and delivers no
 * interrupts itself.
 */
export type PlacedVmmBoot = VmmBoot & { irqchip?: boolean };

export class Vmm {
  private ctx: VmmContext;
  private pc: PcPlatform;
  private readonly console = new ConsoleBuffer();
  /** Console input not yet taken by COM1's receiver. */
  private readonly input = new ConsoleInput();
  private readonly interrupts: InterruptStats = newInterruptStats();
  /** Guest resets so far (the reset line, vmm/platform.ts). */
  private resets = 0;
  /** Placement irqchip: the IRQ lines of this exit, for the hypervisor's 8259A; null in split. */
  private readonly lines: IrqLineRecorder | null;
  /** Placement irqchip: the platform was reset during this exit. */
  private resetThisExit = false;

  constructor(private readonly boot: PlacedVmmBoot) {
    this.lines = boot.irqchip ? new IrqLineRecorder() : null;
    [this.ctx, this.pc] = this.powerOn(0, new MsrFile());
  }

  /** A fresh platform (every device in its power-on state) at virtual TSC `tsc`. */
  private powerOn(tsc: number, msrs: MsrFile): [VmmContext, PcPlatform] {
    const { boot, console } = this;
    const ram = new GuestRam(boot.ram);
    const platform = new PcPlatform({
      ramBytes: ram.size,
      onTransmit: (b) => console.push(b),
      epochSeconds: boot.epochSeconds,
      startTsc: tsc,
      irqLines: this.lines ?? undefined,
      firmware: boot.firmware && { rom: boot.firmware, ram },
    });
    return [{ boot, ram, bus: platform.bus, mmio: platform.mmio, msrs, console }, platform];
  }

  /** COM1, the guest's console (console input arrives here). */
  get uart() {
    return this.pc.uart;
  }

  /** The PC platform's devices. */
  get platform(): PcPlatform {
    return this.pc;
  }

  /** Handles one encoded VmExit (proto/index.ts) and returns the encoded VmReply. Throws only on a bug. */
  handle(exit: Uint8Array): Uint8Array {
    return VmReply.encode(this.handleExit(VmExit.decode(exit))).finish();
  }

  /** The same on decoded messages. */
  handleExit(exit: IVmExit): IVmReply {
    const reply = new ReplyBuilder(exit);
    const platform = this.pc;
    if (reply.exitHas(Mtd.TSC)) platform.clock.set(Number(exit.tsc ?? 0));
    if (exit.consoleIn?.length) this.input.append(exit.consoleIn);
    this.dispatch(exit, reply);
    this.feedUart();
    platform.tick();
    this.platformRequests(exit, reply);
    this.remapBiosWindow(reply);
    if (this.lines === null) deliverInterrupts(reply, this.pc.pic, this.interrupts);
    else this.reportLines(reply);
    if (!reply.stopped) reply.msg.deadline = this.pc.nextDeadline();
    return reply.finish(this.console.size > 0 ? this.console.take() : null);
  }

  /** Firmware boots: after a PAM write (or power-on) the kernel maps C0000h-FFFFFh as the PMC now decodes it. */
  private remapBiosWindow(reply: ReplyBuilder): void {
    const req = this.pc.requests; // after platformRequests: a reset may have powered on a new platform
    if (!req.memoryMap || reply.stopped) return;
    req.memoryMap = false;
    reply.msg.calls = [...(reply.msg.calls ?? []), ...biosWindowCalls(this.pc.hostBridge)];
  }

  /** Placement irqchip: the hypervisor's 8259A gets this exit's line changes (and a reset) with the reply. */
  private reportLines(reply: ReplyBuilder): void {
    const lines = (this.lines as IrqLineRecorder).take();
    if (lines.length > 0) reply.msg.irqLines = lines;
    if (this.resetThisExit) reply.msg.irqchipReset = true;
    this.resetThisExit = false;
  }

  /** Queued console input into COM1 while its receiver has room (no overrun; the UART raises IRQ 4). */
  private feedUart(): void {
    if (this.input.size === 0) return;
    const uart = this.pc.uart;
    this.input.drainInto(
      () => uart.rxRoom,
      (b) => uart.receive(b),
    );
  }

  private dispatch(exit: IVmExit, reply: ReplyBuilder): void {
    const reason = (exit.reason ?? 0) >>> 0;
    if (reason & EXIT_REASON_ENTRY_FAILURE) {
      handleEntryFailure(exit, reply);
      return;
    }
    const handler = HANDLERS[reason];
    const missing = ((REQUIRED_MTD[reason] ?? 0) & ~(exit.mtd ?? 0)) >>> 0;
    if (!handler) handleUnknown(exit, reply);
    else if (missing) reply.stop(missingGroups(reason, missing), 1);
    else handler(exit, reply, this.ctx);
  }

  /** The debug-exit port ends the VM with its status; the reset line reboots the guest. */
  private platformRequests(exit: IVmExit, reply: ReplyBuilder): void {
    const req = this.pc.requests;
    if (req.exitStatus !== null && !reply.stopped) {
      const status = req.exitStatus;
      reply.stop(`guest exit through the debug-exit port with status ${status}`, status | 0);
    } else if (req.reset && !reply.stopped) {
      this.reset(exit, reply);
    }
    req.exitStatus = null;
    req.reset = false;
  }

  /**
   * A platform reset (the 8042's or the PIIX3's reset line): every device
   * returns to its power-on state, MSRs too, and the boot loader runs again
   * as at startup, whose reply sets every guest-state group. RAM keeps its
   * contents, as a PC's does across a reset.
   */
  private reset(exit: IVmExit, reply: ReplyBuilder): void {
    this.resets++;
    this.lines?.clear();
    this.resetThisExit = this.lines !== null;
    [this.ctx, this.pc] = this.powerOn(this.pc.clock.now(), new MsrFile());
    handleStartup(exit, reply, this.ctx);
    reply.msg.wantIntrWindow = false;
  }

  /** The VMM's device-state checkpoint (DESIGN.md §6, policy `restart`): devices, MSRs, console output and input, interrupt counters. */
  save(): unknown {
    const pending = this.console.take();
    for (const b of pending) this.console.push(b);
    return {
      kind: "vmm",
      version: 2,
      platform: this.pc.save(),
      msrs: this.ctx.msrs.save(),
      console: pending,
      input: this.input.pending(),
      interrupts: { kind: "interrupt-stats", version: 1, ...this.interrupts },
      resets: this.resets,
    };
  }

  /** Restores a save() result; throws SnapshotError naming the bad field, with nothing changed. */
  restore(state: unknown): void {
    const r = new SnapshotReader(state, "vmm", 2);
    const irq = r.child("interrupts", "interrupt-stats", 1);
    const stats = {
      injected: irq.count("injected"),
      windows: irq.count("windows"),
      reinjected: irq.count("reinjected"),
    };
    const resets = r.count("resets");
    const consoleRaw = r.raw("console");
    if (!(consoleRaw instanceof Uint8Array)) throw r.fail("field console must be a Uint8Array");
    const inputRaw = r.raw("input");
    if (!(inputRaw instanceof Uint8Array)) throw r.fail("field input must be a Uint8Array");
    const msrs = new MsrFile();
    msrs.restore(r.raw("msrs"));
    const [ctx, pc] = this.powerOn(0, msrs);
    pc.restore(r.raw("platform"));
    this.ctx = ctx;
    this.pc = pc;
    Object.assign(this.interrupts, stats);
    this.resets = resets;
    this.console.take();
    for (const b of consoleRaw) this.console.push(b);
    this.input.reset(inputRaw);
  }
}

function missingGroups(reason: number, missing: number): string {
  return `VMM: exit reason ${reason} (${exitReasonName(reason)}) arrived without MTD groups ${mtdNames(missing)}`;
}
