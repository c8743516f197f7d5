// Checks and applies a VMM's VmReply (DESIGN.md §2 step 6, §6). The VMM is
// untrusted: a reply that cannot be decoded, names groups a VMM may not set,
// or carries fields wider than their VMCS encodings is refused as a whole
// before anything is written. Guest-state values themselves are checked by
// VM entry (entry-checks.ts), exactly as hardware would check them.
import { type IGuestState, type IVmmCall, type IVmReply, VmReply } from "../../proto/index.js";
import { MTD_REPLY_ALLOWED, mtdNames } from "../../proto/mtd.js";
import * as F from "../vmx/vmcs-fields.js";
import type { IrqLineChange } from "./in-kernel-devices.js";
import { GROUPS, type GuestContext, writeField } from "./state-groups.js";

/** Console bytes one reply may carry: a UART at 115200 baud sends far less
 * between two exits; more is a flood. */
export const MAX_CONSOLE_BYTES = 64 * 1024;

/** ISA interrupt request lines a VMM may drive (IRQ 0-15 of the 8259A pair). */
export const MAX_IRQ = 15;
/**
 * IRQ line changes one reply may carry. Whatever a line did during one exit,
 * an 8259A input keeps only whether it saw a rising edge and its final level
 * (8259A datasheet, "Interrupt Sequence"), which a fall, a rise and a fall
 * express; so an honest VMM never needs more than three per line.
 */
export const MAX_IRQ_LINES = 3 * (MAX_IRQ + 1);

export interface ReplyEffects {
  deadline: number;
  consoleOut: Uint8Array;
  wantIntrWindow: boolean;
  wantNmiWindow: boolean;
  stop: boolean;
  stopReason: string;
  exitCode: number;
  /** The groups the reply wrote (its MTD) and whether it injected an event. */
  mtd: number;
  injected: boolean;
  /** The VMM's device-state checkpoint, opaque to the kernel (DESIGN.md §6), or null. */
  checkpoint: Uint8Array | null;
  /** Hypercalls the VMM makes with this reply; exit-dispatch.ts checks and rate-limits them. */
  calls: IVmmCall[];
  /** IRQ line changes for the interrupt controller in the hypervisor (placement irqchip), in order. */
  irqLines: IrqLineChange[];
  /** The VMM reset the platform: the device models in the hypervisor reset too. */
  irqchipReset: boolean;
}

export type ReplyResult = { ok: true; effects: ReplyEffects } | { ok: false; reason: string };

const refuse = (reason: string): ReplyResult => ({ ok: false, reason });

function decode(bytes: Uint8Array): IVmReply | string {
  try {
    return VmReply.decode(bytes);
  } catch (e) {
    return `malformed reply: ${(e as Error).message}`;
  }
}

/** Every group the MTD names must be present in the message. */
function missingGroup(mtd: number, s: IGuestState): string | null {
  for (const g of GROUPS) {
    if (!(mtd & g.mtd)) continue;
    for (const [key] of [...(g.segments ?? []), ...(g.tables ?? [])]) {
      if ((s as Record<string, unknown>)[key] == null) return `reply MTD names ${mtdNames(g.mtd)} but has no ${key}`;
    }
  }
  return null;
}

/** Checks a reply without side effects; returns the decoded reply or why it is refused. */
export function checkReply(bytes: Uint8Array): IVmReply | string {
  const r = decode(bytes);
  if (typeof r === "string") return r;
  const mtd = (r.mtd ?? 0) >>> 0;
  const bad = (mtd & ~MTD_REPLY_ALLOWED) >>> 0;
  if (bad) return `reply MTD names state a VMM may not set: ${mtdNames(bad) || `0x${bad.toString(16)}`}`;
  const state = r.state ?? {};
  const missing = missingGroup(mtd, state);
  if (missing) return missing;
  if (r.injectValid) {
    const e = r.inject ?? {};
    // The interruption-information field has 8 vector bits and 3 type bits (SDM §24.8.3).
    if ((e.vector ?? 0) > 0xff) return `injection vector ${e.vector} exceeds 255`;
    if ((e.type ?? 0) > 7) return `injection type ${e.type} exceeds 7`;
  }
  if ((r.consoleOut?.length ?? 0) > MAX_CONSOLE_BYTES)
    return `console output of ${r.consoleOut?.length} bytes in one reply`;
  if ((r.deadline ?? 0) < 0 || !Number.isSafeInteger(r.deadline ?? 0))
    return `deadline ${r.deadline} is not a TSC value`;
  const lines = r.irqLines ?? [];
  if (lines.length > MAX_IRQ_LINES) return `${lines.length} IRQ line changes in one reply (limit ${MAX_IRQ_LINES})`;
  for (const l of lines) {
    if ((l.irq ?? 0) > MAX_IRQ) return `IRQ line ${l.irq} is not an ISA line 0-${MAX_IRQ}`;
  }
  return r;
}

function applyState(ctx: GuestContext, mtd: number, s: IGuestState): void {
  const rec = s as Record<string, unknown>;
  for (const g of GROUPS) {
    if (!(mtd & g.mtd)) continue;
    for (const [key, f] of g.scalars ?? []) writeField(ctx, f, (rec[key] as number | undefined) ?? 0);
    for (const [key, sel, base, limit, ar] of g.segments ?? []) {
      const seg = rec[key] as { sel?: number; base?: number; limit?: number; ar?: number };
      ctx.vmcs.write(sel, (seg.sel ?? 0) & 0xffff);
      ctx.vmcs.write(base, (seg.base ?? 0) >>> 0);
      ctx.vmcs.write(limit, (seg.limit ?? 0) >>> 0);
      ctx.vmcs.write(ar, (seg.ar ?? 0) >>> 0);
    }
    for (const [key, base, limit] of g.tables ?? []) {
      const t = rec[key] as { base?: number; limit?: number };
      ctx.vmcs.write(base, (t.base ?? 0) >>> 0);
      ctx.vmcs.write(limit, (t.limit ?? 0) >>> 0);
    }
  }
}

/** The VM-entry interruption-information field for an injected event (SDM §24.8.3). */
function writeInjection(ctx: GuestContext, r: IVmReply): void {
  const e = r.inject ?? {};
  const info =
    F.INTR_INFO_VALID | ((e.type ?? 0) << 8) | (e.vector ?? 0) | (e.hasError ? F.INTR_INFO_DELIVER_ERROR : 0);
  ctx.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, info >>> 0);
  ctx.vmcs.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, (e.error ?? 0) >>> 0);
  // Software events need the length of the instruction that raised them (§26.6.1.1).
  ctx.vmcs.write(F.VM_ENTRY_INSTRUCTION_LEN, (r.state?.instLen ?? 0) >>> 0);
}

/** Applies a reply to the vCPU context; nothing is written if it is refused. */
export function applyReply(ctx: GuestContext, bytes: Uint8Array): ReplyResult {
  const r = checkReply(bytes);
  if (typeof r === "string") return refuse(r);
  const mtd = (r.mtd ?? 0) >>> 0;
  applyState(ctx, mtd, r.state ?? {});
  if (r.injectValid) writeInjection(ctx, r);
  return {
    ok: true,
    effects: {
      deadline: r.deadline ?? 0,
      consoleOut: r.consoleOut ?? new Uint8Array(0),
      wantIntrWindow: r.wantIntrWindow ?? false,
      wantNmiWindow: r.wantNmiWindow ?? false,
      stop: r.stop ?? false,
      stopReason: r.stopReason ?? "",
      exitCode: r.exitCode ?? 0,
      mtd,
      injected: r.injectValid ?? false,
      checkpoint: r.checkpoint && r.checkpoint.length > 0 ? r.checkpoint : null,
      calls: r.calls ?? [],
      irqLines: (r.irqLines ?? []).map((l) => ({ irq: l.irq ?? 0, level: l.level === true })),
      irqchipReset: r.irqchipReset === true,
    },
  };
}
