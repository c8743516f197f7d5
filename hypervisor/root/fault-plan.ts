// The faults moat's injector can order a VMM to commit (DESIGN.md §6,
// vmm/fault-hooks.ts commits them), what each models, and how the kernel
// must find it. Every kind is detected at the exit it was injected at.
import type { IFaultOrder } from "../../proto/index.js";
import type { FaultDetector } from "../kernel/exit-dispatch.js";

export const FAULT_KINDS = [
  "throw",
  "exit",
  "loop",
  "heap",
  "malformed",
  "bad-mtd",
  "bad-cr0",
  "bad-eip",
  "bad-rflags",
  "bad-inject",
  "bad-gpa",
  "slow",
  "bitflip",
  "flood",
] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** `detectors`: how the kernel may find each kind (a heap filling up may stall in GC past the deadline before it dies). */
export const FAULT_INFO: Readonly<Record<FaultKind, { what: string; detectors: readonly FaultDetector[] }>> = {
  throw: { what: "the exit handler throws", detectors: ["threw"] },
  exit: { what: "the VMM worker thread exits", detectors: ["died"] },
  loop: { what: "the handler loops forever", detectors: ["timeout"] },
  heap: { what: "the VMM exhausts its heap", detectors: ["died", "timeout"] },
  malformed: { what: "the reply is not protobuf", detectors: ["refused"] },
  "bad-mtd": { what: "the reply MTD names state a VMM may not set (QUAL)", detectors: ["refused"] },
  "bad-cr0": { what: "the reply sets CR0.PG without PE", detectors: ["refused"] },
  "bad-eip": { what: "the reply sets EIP beyond the CS limit", detectors: ["refused"] },
  "bad-rflags": { what: "the reply sets reserved RFLAGS bits", detectors: ["refused"] },
  "bad-inject": { what: "the reply injects an invalid vector or type", detectors: ["refused"] },
  "bad-gpa": { what: "the reply delegates guest-physical pages outside the VM", detectors: ["refused"] },
  slow: { what: "the reply comes after the exit deadline", detectors: ["timeout"] },
  bitflip: { what: "bits of the sealed reply flip in transit", detectors: ["refused"] },
  flood: { what: "the reply carries a flood of recall hypercalls", detectors: ["flood"] },
};

export class FaultKindError extends Error {}

export function parseFaultKind(s: string): FaultKind {
  if ((FAULT_KINDS as readonly string[]).includes(s)) return s as FaultKind;
  throw new FaultKindError(`unknown fault kind "${s}" (known: ${FAULT_KINDS.join(", ")})`);
}

/** The order for the VMM's hook; a slow reply waits past the exit deadline. */
export function faultOrder(kind: FaultKind, seed: number, exitDeadlineMs: number): IFaultOrder {
  const order: IFaultOrder = { kind, seed: seed >>> 0 };
  // Past the deadline and its one extension on an overloaded host (fault-deadline.ts), with room to spare.
  if (kind === "slow") order.delayMs = Math.min(3 * exitDeadlineMs + 100, 0xffff_ffff);
  return order;
}

/** A seeded generator (mulberry32): campaigns and random injections repeat from their seed. */
export class Rng {
  private a: number;

  constructor(seed: number) {
    this.a = seed >>> 0;
  }

  /** A float in [0, 1). */
  next(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }

  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j], items[i]];
    }
    return items;
  }
}
