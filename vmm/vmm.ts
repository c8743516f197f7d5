// moat's VMM: the untrusted per-VM component (DESIGN.md §1, §2). It answers
// one encoded VmExit with one encoded VmReply and talks to nothing else: no
// host files, sockets or console (guest console bytes leave in the reply).

import { Uart16550 } from "../devices/uart16550.js";
import { EXIT_REASON_ENTRY_FAILURE, ExitReason, exitReasonName } from "../proto/exit-reason.js";
import { type IVmExit, type IVmReply, VmExit, VmReply } from "../proto/index.js";
import { mtdNames } from "../proto/mtd.js";
import { REQUIRED_MTD } from "../proto/portal-mtd.js";
import { ConsoleBuffer } from "./console-buffer.js";
import { GuestRam } from "./guest-ram.js";
import { handleCpuid } from "./handlers/cpuid.js";
import { handleHlt } from "./handlers/hlt.js";
import { handleIoInstruction } from "./handlers/io-instruction.js";
import { handleRdmsr, handleWrmsr } from "./handlers/msr-access.js";
import { handleStartup } from "./handlers/startup.js";
import { handleEntryFailure, handleEptViolation, handleTripleFault, handleUnknown } from "./handlers/stops.js";
import { handleVmcall } from "./handlers/vmcall.js";
import { IoBus } from "./io-bus.js";
import { MsrFile } from "./msr.js";
import { ReplyBuilder } from "./reply.js";
import type { ExitHandler, VmmBoot, VmmContext } from "./vmm-context.js";

export type { VmmBoot } from "./vmm-context.js";

/** PC COM1. */
export const COM1_BASE = 0x3f8;
/** COM1 as a PC BIOS leaves it: 8 data bits, no parity, 1 stop bit (LCR 0x03), 9600 baud (divisor 12). */
export const COM1_FIRMWARE = { lcr: 0x03, divisor: 12 };

const nothing: ExitHandler = () => {};

const HANDLERS: Readonly<Record<number, ExitHandler>> = {
  [ExitReason.STARTUP]: handleStartup,
  [ExitReason.RECALL]: nothing, // later issues: inject pending device interrupts
  [ExitReason.TRIPLE_FAULT]: handleTripleFault,
  [ExitReason.CPUID]: handleCpuid,
  [ExitReason.HLT]: handleHlt,
  [ExitReason.VMCALL]: handleVmcall,
  [ExitReason.IO_INSTRUCTION]: handleIoInstruction,
  [ExitReason.RDMSR]: handleRdmsr,
  [ExitReason.WRMSR]: handleWrmsr,
  [ExitReason.EPT_VIOLATION]: handleEptViolation,
};

export class Vmm {
  private readonly ctx: VmmContext;
  /** COM1, the guest's console. */
  readonly uart: Uart16550;

  constructor(boot: VmmBoot) {
    const console = new ConsoleBuffer();
    this.uart = new Uart16550({ base: COM1_BASE, onTransmit: (b) => console.push(b), firmware: COM1_FIRMWARE });
    const bus = new IoBus();
    bus.attach(this.uart);
    this.ctx = { boot, ram: new GuestRam(boot.ram), bus, msrs: new MsrFile(), console };
  }

  /** Handles one encoded VmExit (proto/index.ts) and returns the encoded VmReply. Throws only on a bug. */
  handle(exit: Uint8Array): Uint8Array {
    return VmReply.encode(this.handleExit(VmExit.decode(exit))).finish();
  }

  /** The same on decoded messages. */
  handleExit(exit: IVmExit): IVmReply {
    const reply = new ReplyBuilder(exit);
    const reason = (exit.reason ?? 0) >>> 0;
    if (reason & EXIT_REASON_ENTRY_FAILURE) {
      handleEntryFailure(exit, reply);
    } else {
      const handler = HANDLERS[reason];
      const missing = ((REQUIRED_MTD[reason] ?? 0) & ~(exit.mtd ?? 0)) >>> 0;
      if (!handler) handleUnknown(exit, reply);
      else if (missing) reply.stop(missingGroups(reason, missing), 1);
      else handler(exit, reply, this.ctx);
    }
    return reply.finish(this.ctx.console.size > 0 ? this.ctx.console.take() : null);
  }
}

function missingGroups(reason: number, missing: number): string {
  return `VMM: exit reason ${reason} (${exitReasonName(reason)}) arrived without MTD groups ${mtdNames(missing)}`;
}
