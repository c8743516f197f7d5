// Delivery of device interrupts to the vCPU (DESIGN.md §2 "Asynchronous
// events"), run after every exit's handler. The VMM plays the part of the
// processor's INTR pin and INTA cycle, with the VMX event-injection rules:
// - An event whose delivery the exit interrupted (IDT-vectoring information
//   valid, SDM Vol. 3C §27.2.4) is lost unless the VMM re-injects it: it
//   goes first, and a new interrupt waits for an interrupt window.
// - A maskable external interrupt is taken only with EFLAGS.IF = 1 and no
//   blocking by STI or by MOV SS (SDM Vol. 3A §6.8.1, §6.8.3; Vol. 3C
//   §24.4.2 Table 24-3), and one reply injects at most one event (§24.8.3).
//   Otherwise the VMM asks for an interrupt-window exit (§25.2 "interrupt-
//   window exiting"), which happens at the first instruction boundary where
//   the guest can take it; the interrupt stays pending in the controller.
// - Injection wakes a halted vCPU (§26.6.3 / §26.6.5): the reply sets the
//   activity state to active.
import type { IEvent } from "../proto/index.js";
import { Mtd } from "../proto/mtd.js";
import { EventType, type ReplyBuilder } from "./reply.js";

/** The processor side of an interrupt controller (the 8259A pair; a LAPIC later): INTR and INTA. */
export interface InterruptSource {
  hasInterrupt(): boolean;
  /** The INTA cycle: the vector, with the request moved to in-service. */
  acknowledge(): number;
}

/** Counters kept across exits (part of the VMM's checkpoint). */
export interface InterruptStats {
  /** External interrupts injected. */
  injected: number;
  /** Interrupt-window exits requested because the guest could not take an interrupt. */
  windows: number;
  /** IDT-vectoring events re-injected. */
  reinjected: number;
}

export const EFLAGS_IF = 1 << 9;
/** Interruptibility state bits 0 and 1 (SDM Table 24-3). */
const BLOCKING_BY_STI = 1 << 0;
const BLOCKING_BY_MOV_SS = 1 << 1;
/** Activity states (SDM §24.4.2). */
export const ACTIVITY_ACTIVE = 0;
export const ACTIVITY_HLT = 1;
/** IDT-vectoring information (SDM Table 24-16): vector 7:0, type 10:8, error code valid 11, valid 31. */
const VECTORING_VALID = 0x8000_0000;
const VECTORING_ERROR_VALID = 1 << 11;

export function newInterruptStats(): InterruptStats {
  return { injected: 0, windows: 0, reinjected: 0 };
}

/** After the handler: re-inject an interrupted event, then inject or ask for a window for `source`. */
export function deliverInterrupts(reply: ReplyBuilder, source: InterruptSource, stats: InterruptStats): void {
  if (reply.stopped) return;
  if (reinjectVectoring(reply)) stats.reinjected++;
  if (!source.hasInterrupt()) return;
  if (canTakeInterrupt(reply)) {
    injectExternal(reply, source.acknowledge());
    stats.injected++;
  } else {
    reply.msg.wantIntrWindow = true;
    stats.windows++;
  }
}

/**
 * Whether the guest, as this reply leaves it, can take a maskable interrupt
 * now: no event already being injected, IF = 1, no STI / MOV SS blocking.
 * An exit without RFLAGS and STA cannot tell, so the answer is no and the
 * processor decides at the window.
 */
export function canTakeInterrupt(reply: ReplyBuilder): boolean {
  if (reply.msg.injectValid) return false;
  if (!reply.exitHas(Mtd.RFLAGS | Mtd.STA)) return false;
  const out = reply.msg.state;
  const eflags = out.eflags ?? reply.in.eflags ?? 0;
  const intr = out.intrState ?? reply.in.intrState ?? 0;
  return (eflags & EFLAGS_IF) !== 0 && (intr & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) === 0;
}

/** Injects external interrupt `vector` (type 0, SDM §24.8.3) and makes a halted vCPU active. */
export function injectExternal(reply: ReplyBuilder, vector: number): void {
  setInjection(reply, { vector: vector & 0xff, type: EventType.EXTERNAL, hasError: false, error: 0 });
  const activity = reply.msg.state.actvState ?? reply.in.actvState ?? ACTIVITY_ACTIVE;
  if (activity === ACTIVITY_HLT && reply.exitHas(Mtd.STA)) reply.setActivity(ACTIVITY_ACTIVE);
}

/**
 * Re-injects the event the exit interrupted (SDM §27.2.4: the VMM "can
 * re-inject" it from the IDT-vectoring fields; unless it does, the event is
 * lost). A software event needs its instruction length again (§26.6.1.1),
 * which is the exit's. Returns whether it injected; a handler that already
 * injected its own event keeps it.
 */
export function reinjectVectoring(reply: ReplyBuilder): boolean {
  const info = reply.in.idtVectInfo ?? 0;
  if (!reply.exitHas(Mtd.INJ) || (info & VECTORING_VALID) === 0 || reply.msg.injectValid) return false;
  const type = (info >>> 8) & 7;
  const hasError = (info & VECTORING_ERROR_VALID) !== 0;
  setInjection(reply, { vector: info & 0xff, type, hasError, error: hasError ? (reply.in.idtVectError ?? 0) : 0 });
  const software =
    type === EventType.SW_INTERRUPT || type === EventType.PRIV_SW_EXCEPTION || type === EventType.SW_EXCEPTION;
  if (software && reply.exitHas(Mtd.RIP_LEN)) {
    const len = reply.exit.instLen ?? 0;
    if (reply.msg.state.eip === undefined) reply.setState(Mtd.RIP_LEN, { eip: reply.in.eip ?? 0, instLen: len });
    else reply.msg.state.instLen = len;
  }
  return true;
}

function setInjection(reply: ReplyBuilder, event: IEvent): void {
  reply.msg.inject = event;
  reply.msg.injectValid = true;
  reply.setState(Mtd.INJ, {});
}

/** One change of an ISA interrupt line, as VmReply.irq_lines carries it. */
export interface IrqLineChange {
  irq: number;
  level: boolean;
}

/**
 * Placement irqchip: the 8259A runs in the hypervisor, so the devices left
 * in the VMM (UART IRQ 4, RTC IRQ 8, 8042 IRQ 1/12) drive this recorder, and
 * each reply carries what their lines did (as KVM_IRQ_LINE). Per line it
 * keeps only what an 8259A input can tell apart (datasheet, "Interrupt
 * Sequence"): whether a rising edge happened and the final level. A
 * sequence with a fall followed by a rise always holds an edge, so it is
 * sent as [low, high] or [low, high, low]; shorter ones go as they are
 * (repeats dropped): never more than three changes per line.
 */
export class IrqLineRecorder {
  /** Levels set since the last take(), per line, in order; lines in order of first change. */
  private readonly levels = new Map<number, boolean[]>();

  setIrq(line: number, level: boolean): void {
    const seq = this.levels.get(line);
    if (seq === undefined) this.levels.set(line, [level]);
    else if (seq[seq.length - 1] !== level) seq.push(level);
  }

  /** The changes since the last take(), and forgets them. */
  take(): IrqLineChange[] {
    const out: IrqLineChange[] = [];
    for (const [irq, seq] of this.levels) {
      const final = seq[seq.length - 1];
      const kept = seq.length <= 2 ? seq : final ? [false, true] : [false, true, false];
      for (const level of kept) out.push({ irq, level });
    }
    this.levels.clear();
    return out;
  }

  /** Drops what was recorded (the platform was reset: those lines went to the old controller). */
  clear(): void {
    this.levels.clear();
  }
}
