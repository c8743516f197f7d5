// The VMM's end of the shared-memory channel (DESIGN.md §2 steps 4-5, §7):
// the root task gives this VM's worker one SharedArrayBuffer and runs ONE
// piscina task that never returns while the VM lives. The task sleeps in
// Atomics.wait on the state word, hands each request's bytes to the VMM,
// writes the reply bytes back and wakes the kernel with Atomics.notify. It
// decodes nothing itself: the bytes are the protobuf VmExit / VmReply.
//
// The layout is proto/sab-channel.ts, shared with the root task.
import { workerData } from "piscina";
import { ChannelState, Ctl, DATA_OFFSET } from "../proto/sab-channel.js";
import type { ServedVmmBoot } from "./fault-serve.js";

export type ServeEnd = "closed" | "threw";

/** The task piscina runs once per VM: `{ channel }` is the VM's channel buffer. */
export interface ServeTask {
  channel: SharedArrayBuffer;
}

/**
 * Serves requests on `channel` with `handle` until the kernel writes CLOSE
 * (returns "closed") or the handler throws (reports it as THREW, returns
 * "threw": a VMM whose handler threw may be inconsistent, so it stops).
 */
export function serveChannel(channel: SharedArrayBuffer, handle: (request: Uint8Array) => Uint8Array): ServeEnd {
  const ctl = new Int32Array(channel, 0, DATA_OFFSET / 4);
  const data = new Uint8Array(channel, DATA_OFFSET);
  for (;;) {
    const state = Atomics.load(ctl, Ctl.STATE);
    if (state === ChannelState.CLOSE) return "closed";
    if (state !== ChannelState.REQUEST) {
      Atomics.wait(ctl, Ctl.STATE, state);
      continue;
    }
    const seq = Atomics.load(ctl, Ctl.SEQ);
    const length = Atomics.load(ctl, Ctl.LENGTH);
    let reply: Uint8Array;
    try {
      // A private copy: the handler may keep the bytes, the next request reuses the area.
      reply = handle(data.slice(0, Math.min(Math.max(length, 0), data.length)));
      if (reply.length > data.length) {
        throw new RangeError(`reply of ${reply.length} bytes exceeds the ${data.length}-byte data area`);
      }
    } catch (e) {
      answer(ctl, data, seq, ChannelState.THREW, new TextEncoder().encode(describe(e)));
      return "threw";
    }
    answer(ctl, data, seq, ChannelState.REPLY, reply);
  }
}

function answer(ctl: Int32Array, data: Uint8Array, seq: number, state: number, bytes: Uint8Array): void {
  const n = Math.min(bytes.length, data.length);
  data.set(n === bytes.length ? bytes : bytes.subarray(0, n));
  Atomics.store(ctl, Ctl.LENGTH, n);
  Atomics.store(ctl, Ctl.REPLY_SEQ, seq);
  // The state word last: the kernel reads length and data only after seeing it.
  Atomics.store(ctl, Ctl.STATE, state);
  Atomics.notify(ctl, Ctl.STATE);
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** Piscina's task function (vmm/sab-worker-entry.mjs): this VM's Vmm behind its channel. */
export default async function serveVmm(task: ServeTask): Promise<ServeEnd> {
  // Loaded here, not at the top, so that serveChannel alone stays free of the VMM (test stand-ins use it).
  const { serveVmmExits } = await import("./fault-serve.js");
  return serveChannel(task.channel, serveVmmExits(workerData as ServedVmmBoot));
}
