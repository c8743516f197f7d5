// Test support for the shared-memory channel (vmm/sab-serve.test.ts,
// hypervisor/root/vmm-sab-host.test.ts): a stand-in VMM worker whose
// behaviour workerData.behavior selects, from a well-behaved echo through
// the real serve loop to hostile workers that break the channel protocol on
// purpose (DESIGN.md §6: a VMM may lie, hang, throw or exit). Not used by moat.
import { workerData } from "piscina";
import { ChannelState, Ctl, DATA_OFFSET } from "../../proto/sab-channel.js";
import { type ServeTask, serveChannel } from "../sab-serve.js";

export type TestBehavior =
  | "count-echo"
  | "slow"
  | "hang"
  | "throw"
  | "exit"
  | "oom"
  | "bogus-length"
  | "wrong-seq"
  | "wrong-state"
  | "notify-flood"
  | "scribble";

export interface TestVmmData {
  behavior: TestBehavior;
  /** Requests answered correctly before a hostile behaviour starts. */
  good?: number;
  /** "slow": how long each request takes. */
  sleepMs?: number;
  /** "bogus-length": the length word to write. */
  length?: number;
}

const nap = new Int32Array(new SharedArrayBuffer(4));
function sleep(ms: number): void {
  Atomics.wait(nap, 0, 0, ms);
}

/** 4-byte little-endian count of requests so far, then the request: shows order and that nothing was lost. */
function countEcho(): (request: Uint8Array) => Uint8Array {
  let count = 0;
  return (request) => {
    const reply = new Uint8Array(4 + request.length);
    new DataView(reply.buffer).setUint32(0, ++count, true);
    reply.set(request, 4);
    return reply;
  };
}

function reply(ctl: Int32Array, data: Uint8Array, seq: number, bytes: Uint8Array, length = bytes.length): void {
  data.set(bytes);
  Atomics.store(ctl, Ctl.LENGTH, length);
  Atomics.store(ctl, Ctl.REPLY_SEQ, seq);
  Atomics.store(ctl, Ctl.STATE, ChannelState.REPLY);
  Atomics.notify(ctl, Ctl.STATE);
}

/** How a hostile worker answers one request, writing the shared buffer directly. */
type Misbehave = (ctl: Int32Array, data: Uint8Array, seq: number) => void;

const HOSTILE: Partial<Record<TestBehavior, (d: TestVmmData) => Misbehave>> = {
  "bogus-length": (d) => (ctl, data, seq) => reply(ctl, data, seq, new Uint8Array(4), d.length ?? data.length + 1),
  "wrong-seq": () => (ctl, data, seq) => reply(ctl, data, seq - 1, new Uint8Array(4)),
  "wrong-state": () => (ctl) => {
    Atomics.store(ctl, Ctl.STATE, 0x1234);
    Atomics.notify(ctl, Ctl.STATE);
  },
  "notify-flood": () => (ctl) => {
    while (Atomics.load(ctl, Ctl.STATE) === ChannelState.REQUEST) {
      Atomics.notify(ctl, Ctl.STATE);
      sleep(1);
    }
  },
  // A correct reply, then the data area is overwritten once the kernel has had time to read it.
  scribble: () => (ctl, data, seq) => {
    reply(ctl, data, seq, Uint8Array.of(1, 2, 3));
    sleep(50);
    data.fill(0xee);
  },
};

/** The protocol loop of vmm/sab-serve.ts written out, so that the answer can be replaced by a hostile one. */
function serveHostile(channel: SharedArrayBuffer, d: TestVmmData, misbehave: Misbehave): string {
  const ctl = new Int32Array(channel, 0, DATA_OFFSET / 4);
  const data = new Uint8Array(channel, DATA_OFFSET);
  const echo = countEcho();
  for (let served = 0; ; ) {
    const state = Atomics.load(ctl, Ctl.STATE);
    if (state === ChannelState.CLOSE) return "closed";
    if (state !== ChannelState.REQUEST) {
      Atomics.wait(ctl, Ctl.STATE, state);
      continue;
    }
    const seq = Atomics.load(ctl, Ctl.SEQ);
    const request = data.slice(0, Atomics.load(ctl, Ctl.LENGTH));
    if (served++ < (d.good ?? 0)) reply(ctl, data, seq, echo(request));
    else misbehave(ctl, data, seq);
  }
}

const hoard: unknown[] = [];

const HANDLERS: Partial<Record<TestBehavior, (d: TestVmmData) => (request: Uint8Array) => Uint8Array>> = {
  "count-echo": () => countEcho(),
  slow: (d) => {
    const echo = countEcho();
    return (request) => {
      sleep(d.sleepMs ?? 100);
      return echo(request);
    };
  },
  hang: () => () => {
    for (;;) sleep(1_000);
  },
  throw: () => () => {
    throw new Error("device model exploded");
  },
  exit: () => () => process.exit(7),
  oom: () => () => {
    for (;;) hoard.push(new Array(1 << 16).fill({ leak: hoard.length }));
  },
};

export default function serveTestVmm(task: ServeTask): string {
  const d = workerData as TestVmmData;
  const hostile = HOSTILE[d.behavior];
  if (hostile) return serveHostile(task.channel, d, hostile(d));
  const handler = HANDLERS[d.behavior];
  if (!handler) throw new Error(`unknown test behaviour ${d.behavior}`);
  return serveChannel(task.channel, handler(d));
}
