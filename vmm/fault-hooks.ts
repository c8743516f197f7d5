// The VMM side of the fault injector (DESIGN.md §6): when the root task's
// injector attaches a FaultOrder to an exit (VmExit.fault), this VMM commits
// that fault while handling the exit, as a buggy or hostile VMM would. Three
// stages, in the order a real failure would happen:
//   before handling: the worker dies, hangs, runs out of heap, or is slow;
//   after handling:  the reply lies (state it may not set, state that fails
//                    VM entry, a bad injection, a GPA outside the VM, a
//                    hypercall flood), consistently: its checksum is valid;
//   after sealing:   the reply's bytes are damaged on their way (bit flips),
//                    which the CRC-32 trailer exposes.
// The kinds' names are listed with what the kernel must detect in
// hypervisor/root/fault-plan.ts. A VMM started without hooks ignores orders.
import type { IFaultOrder, IVmExit, IVmmCall, IVmReply } from "../proto/index.js";
import { Mtd } from "../proto/mtd.js";

/** VmmCall ops (moat.proto). */
export const VmmCallOp = { RECALL: 1, DELEGATE: 2 } as const;

/** Hypercalls in a flood: far above any per-reply limit a kernel would set. */
const FLOOD_CALLS = 256;
/** Chunks the heap hog allocates: 8 MB of doubles each, so a small heap fills in a few steps. */
const HOG_CHUNK = 1 << 20;

/** A deterministic generator for the hook's choices (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Kinds that strike before the VMM handles the exit; returns normally only for `slow`. */
export function commitBefore(order: IFaultOrder): void {
  switch (order.kind) {
    case "throw":
      throw new Error("injected fault: the exit handler threw");
    case "exit":
      // In a worker thread, process.exit ends the thread only (Node worker_threads).
      process.exit(70);
      break;
    case "loop":
      for (;;) {
        // Spins until the kernel's exit deadline terminates this worker.
      }
    case "heap": {
      const hog: number[][] = [];
      for (;;) hog.push(new Array<number>(HOG_CHUNK).fill(hog.length + 0.5));
    }
    case "slow":
      // Blocks this thread (a VMM busy elsewhere); the reply follows, too late.
      Atomics.wait(sleeper, 0, 0, order.delayMs ?? 0);
      return;
  }
}

/** Rewrites a handled reply into the lie `order` names; `ramBytes` is the VM's RAM size. */
export function lie(order: IFaultOrder, reply: IVmReply, exit: IVmExit, ramBytes: number): void {
  const next = rng(order.seed ?? 0);
  reply.state ??= {};
  const state = reply.state;
  const mtd = reply.mtd ?? 0;
  switch (order.kind) {
    case "bad-mtd":
      // QUAL is exit information, read-only to a VMM (SDM §24.9; proto/mtd.ts).
      reply.mtd = (mtd | Mtd.QUAL) >>> 0;
      return;
    case "bad-cr0": {
      // CR0.PG without CR0.PE fails VM entry even for an unrestricted guest (SDM §26.3.1.1).
      const s = exit.state ?? {};
      state.cr0 = ((s.cr0 ?? 0) | 0x8000_0000) & ~1;
      state.cr2 = s.cr2 ?? 0;
      state.cr3 = s.cr3 ?? 0;
      state.cr4 = s.cr4 ?? 0;
      reply.mtd = (mtd | Mtd.CR) >>> 0;
      return;
    }
    case "bad-eip":
      // A 64 KiB code segment and an EIP past its end.
      state.cs = { sel: 0x08, base: 0, limit: 0xffff, ar: 0x409b };
      state.ss = { sel: 0x10, base: 0, limit: 0xffff, ar: 0x4093 };
      state.eip = 0x1_0000 + Math.floor(next() * 0x1_0000);
      state.instLen = exit.instLen ?? 0;
      reply.mtd = (mtd | Mtd.CS_SS | Mtd.RIP_LEN) >>> 0;
      return;
    case "bad-rflags":
      // RFLAGS bit 1 must be 1 and bits 3, 5, 15, 22-31 must be 0 (SDM §26.3.1.4).
      state.eflags = (((exit.state?.eflags ?? 2) | (1 << 15)) & ~2) >>> 0;
      reply.mtd = (mtd | Mtd.RFLAGS) >>> 0;
      return;
    case "bad-inject":
      badInjection(reply, Math.floor(next() * 4), next);
      return;
    case "bad-gpa": {
      // The VMM delegates pages past the end of its VM's RAM: it owns none there.
      const beyond = Math.ceil(ramBytes / 4096) + Math.floor(next() * 0x1000);
      reply.calls = [{ op: VmmCallOp.DELEGATE, gpa: beyond * 4096, pages: 1, rights: 1 }];
      return;
    }
    case "flood": {
      const calls: IVmmCall[] = [];
      for (let i = 0; i < FLOOD_CALLS; i++) calls.push({ op: VmmCallOp.RECALL });
      reply.calls = calls;
      return;
    }
  }
}

/** One of the four ways an injection is invalid (SDM §24.8.3, §26.2.1.3). */
function badInjection(reply: IVmReply, which: number, next: () => number): void {
  const pick = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const event = [
    { vector: pick(32, 255), type: 3 }, // a hardware exception above 31
    { vector: pick(3, 255), type: 2 }, // an NMI whose vector is not 2
    { vector: pick(0, 255), type: 1 }, // the reserved interruption type
    { vector: pick(256, 0xffff), type: 0 }, // a vector that does not fit 8 bits
  ][which];
  reply.inject = { vector: event.vector, type: event.type, hasError: false, error: 0 };
  reply.injectValid = true;
  reply.mtd = ((reply.mtd ?? 0) | Mtd.INJ) >>> 0;
}

/** A body that is not protobuf: a varint whose continuation bit runs past the end. */
export function malformed(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 2);
  out.set(body);
  out[body.length] = 0x08; // field 1, varint
  out[body.length + 1] = 0x80; // continuation, then nothing
  return out;
}

/** Flips 1-3 bits of `sealed` at positions drawn from `seed` (damage after sealing). */
export function flipBits(sealed: Uint8Array, seed: number): Uint8Array {
  const next = rng(seed);
  const out = sealed.slice();
  const n = Math.min(1 + Math.floor(next() * 3), out.length * 8);
  // Distinct bits: two flips of one bit would cancel out and damage nothing.
  const bits = new Set<number>();
  while (bits.size < n) bits.add(Math.floor(next() * out.length * 8));
  for (const bit of bits) out[bit >>> 3] ^= 1 << (bit & 7);
  return out;
}
