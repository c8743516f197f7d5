// The root task's side of a VMM over shared memory (DESIGN.md §2, §7): one
// SharedArrayBuffer per VM carries each exit to the VMM worker and its reply
// back, signalled with Atomics instead of a piscina task per exit. The VMM
// worker runs one long-lived task (vmm/sab-serve.ts) that sleeps in
// Atomics.wait; this thread never blocks: it notifies and then awaits
// Atomics.waitAsync, so the other VMs on it keep running.
//
// The worker is untrusted and may write anything into the buffer at any
// time, so the reply is validated (state, sequence number, length) and copied
// out before it is returned (DESIGN.md §4). Any failure of the worker
// (it threw, exited, ran out of heap, missed the deadline, broke the
// protocol) becomes a ChannelFault that hurts only this VM (DESIGN.md §6).
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { ChannelState, Ctl, DATA_OFFSET, DEFAULT_DATA_BYTES } from "../../proto/sab-channel.js";
import { ChannelFault } from "../kernel/channel.js";
import { vmmBundle } from "./vmm-bundle.js";
import type { VmmBootData, VmmFactory, VmmHostOptions, VmmPort } from "./vmm-host.js";
import { vmmWorkerArgv } from "./worker-argv.js";

/**
 * Wake-ups that find the request still unanswered. One is legitimate (the
 * notify of the previous reply can land after the next request was armed);
 * a worker that keeps notifying without answering is flooding this thread.
 */
const SPURIOUS_WAKE_LIMIT = 16;
/** Bytes of a thrown handler's message that are worth quoting. */
const THREW_MESSAGE_MAX = 512;

export interface VmmSabHostExtra {
  /** Size of the data area in bytes (default DEFAULT_DATA_BYTES). */
  dataBytes?: number;
  /** Worker entry module (default vmm/sab-worker-entry.mjs); tests substitute hostile VMMs. */
  workerFile?: string;
  /** Node options of the worker (default: the parent's, which under tsx include its loader). */
  execArgv?: string[];
}

const ENTRY = fileURLToPath(new URL("../../vmm/sab-worker-entry.mjs", import.meta.url));

type WaitResult =
  | { async: false; value: "not-equal" | "timed-out" }
  | { async: true; value: Promise<"ok" | "timed-out"> };
// Node 20 has Atomics.waitAsync; TypeScript's ES2022 library does not declare it.
const waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, ms: number): WaitResult })
  .waitAsync;

interface Queued {
  message: Uint8Array;
  resolve: (reply: Uint8Array) => void;
  reject: (e: unknown) => void;
}

interface Ended {
  kind: ChannelFault["kind"];
  why: string;
}

export class VmmSabHost implements VmmPort {
  readonly transport = "shared-memory channel + Atomics.wait/notify in a piscina worker";
  /** Told once when the worker dies on its own, fails, or is killed, with why. */
  onDeath: (why: string) => void = () => {};
  private readonly pool: Piscina<{ channel: SharedArrayBuffer }, unknown>;
  private readonly ctl: Int32Array;
  private readonly data: Uint8Array;
  private seq = 0;
  private busy = false;
  private readonly queue: Queued[] = [];
  /** Set once: the VMM died (onDeath told) or the channel was closed. */
  private ended: Ended | null = null;
  private stopped: Promise<void> | null = null;

  constructor(
    boot: VmmBootData,
    private readonly opts: VmmHostOptions,
    extra: VmmSabHostExtra = {},
  ) {
    const channel = new SharedArrayBuffer(DATA_OFFSET + (extra.dataBytes ?? DEFAULT_DATA_BYTES));
    this.ctl = new Int32Array(channel, 0, DATA_OFFSET / 4);
    this.data = new Uint8Array(channel, DATA_OFFSET);
    this.pool = new Piscina({
      filename: extra.workerFile ?? ENTRY,
      workerData: boot,
      execArgv: vmmWorkerArgv(extra.execArgv),
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      resourceLimits: { maxOldGenerationSizeMb: opts.heapMb },
    });
    this.pool.on("workerDestroy", () => setImmediate(() => this.workerGone("VMM worker exited")));
    this.pool.on("error", (e: Error) => this.workerGone(`VMM worker failed: ${e.message}`));
    // The serve loop lives as long as the VM: when it ends, by any means, the VMM is gone.
    this.pool.run({ channel }).then(
      (end) => this.workerGone(`VMM serve loop ended (${String(end)})`),
      (e: Error) => this.workerGone(`VMM worker died: ${e?.message ?? String(e)}`),
    );
  }

  call(message: Uint8Array): Promise<Uint8Array> {
    if (this.ended) return Promise.reject(this.fault());
    if (this.busy) return new Promise((resolve, reject) => this.queue.push({ message, resolve, reject }));
    return this.send(message);
  }

  /** One request at a time: the channel has one data area. */
  private async send(message: Uint8Array): Promise<Uint8Array> {
    this.busy = true;
    try {
      return await this.roundTrip(message);
    } finally {
      this.next();
    }
  }

  private next(): void {
    const q = this.queue.shift();
    if (!q) {
      this.busy = false;
      return;
    }
    this.send(q.message).then(q.resolve, q.reject);
  }

  private async roundTrip(message: Uint8Array): Promise<Uint8Array> {
    if (this.ended) throw this.fault();
    if (message.length > this.data.length) {
      // The kernel's own message: a bug on the trusted side, not the VMM's fault.
      throw new RangeError(`message of ${message.length} bytes exceeds the ${this.data.length}-byte channel`);
    }
    const ctl = this.ctl;
    this.seq = (this.seq + 1) | 0;
    const seq = this.seq;
    this.data.set(message);
    Atomics.store(ctl, Ctl.LENGTH, message.length);
    Atomics.store(ctl, Ctl.SEQ, seq);
    Atomics.store(ctl, Ctl.STATE, ChannelState.REQUEST);
    Atomics.notify(ctl, Ctl.STATE, 1);
    const deadline = performance.now() + this.opts.exitDeadlineMs;
    for (let wakes = 0; ; wakes++) {
      const left = deadline - performance.now();
      const w = left > 0 ? waitAsync(ctl, Ctl.STATE, ChannelState.REQUEST, left) : null;
      const outcome = w === null ? "timed-out" : w.async ? await w.value : w.value;
      if (this.ended) throw this.fault();
      if (outcome === "timed-out")
        throw this.fail("timeout", `VMM missed its ${this.opts.exitDeadlineMs} ms exit deadline`);
      const state = Atomics.load(ctl, Ctl.STATE);
      if (state !== ChannelState.REQUEST) return this.takeReply(state, seq);
      if (wakes >= SPURIOUS_WAKE_LIMIT) {
        throw this.fail("protocol", `VMM broke the channel protocol: woken ${wakes + 1} times without a reply`);
      }
    }
  }

  /** Validates what the worker left in the buffer and copies the reply out (DESIGN.md §4). */
  private takeReply(state: number, seq: number): Uint8Array {
    if (state === ChannelState.THREW) throw this.fail("threw", `VMM handler threw: ${this.thrownMessage()}`);
    if (state !== ChannelState.REPLY) {
      throw this.fail("protocol", `VMM broke the channel protocol: state word ${state} is not REPLY`);
    }
    const answered = Atomics.load(this.ctl, Ctl.REPLY_SEQ);
    if (answered !== seq) {
      throw this.fail(
        "protocol",
        `VMM broke the channel protocol: reply to sequence number ${answered}, expected ${seq}`,
      );
    }
    const length = Atomics.load(this.ctl, Ctl.LENGTH);
    if (length < 0 || length > this.data.length) {
      throw this.fail(
        "protocol",
        `VMM broke the channel protocol: reply length ${length} outside the ${this.data.length}-byte data area`,
      );
    }
    // slice() copies into a private ArrayBuffer: later writes by the worker cannot reach it.
    return this.data.slice(0, length);
  }

  private thrownMessage(): string {
    const length = Atomics.load(this.ctl, Ctl.LENGTH);
    const n = Math.min(Math.max(length, 0), this.data.length, THREW_MESSAGE_MAX);
    // TextDecoder refuses views of shared memory: decode a copy.
    return new TextDecoder().decode(this.data.slice(0, n));
  }

  /** The worker thread or its task ended while the VM still lived. */
  private workerGone(why: string): void {
    if (this.ended) return;
    // A handler that threw reports it in the buffer just before its task ends; keep the better reason.
    if (Atomics.load(this.ctl, Ctl.STATE) === ChannelState.THREW) {
      this.die("threw", `VMM handler threw: ${this.thrownMessage()}`);
    } else {
      this.die("died", why);
    }
  }

  private die(kind: Ended["kind"], why: string): void {
    if (this.ended) return;
    this.ended = { kind, why };
    this.wake();
    void this.stop();
    this.onDeath(why);
  }

  /** A fault found on this thread: the VMM is dead from now on and its worker is ended. */
  private fail(kind: Ended["kind"], why: string): ChannelFault {
    this.die(kind, why);
    return this.fault();
  }

  private fault(): ChannelFault {
    const e = this.ended ?? { kind: "died", why: "VMM channel ended" };
    return new ChannelFault(e.kind, e.why);
  }

  /** Tells a live serve loop to end and wakes a call waiting on this thread, which then sees `ended`. */
  private wake(): void {
    Atomics.store(this.ctl, Ctl.STATE, ChannelState.CLOSE);
    Atomics.notify(this.ctl, Ctl.STATE);
  }

  /** Terminates the worker thread and lets the pool start no other. */
  private stop(): Promise<void> {
    this.stopped ??= this.pool.destroy().catch(() => {});
    return this.stopped;
  }

  /** Fault injection: terminates the worker thread as a crash would. */
  async kill(): Promise<void> {
    this.die("died", "VMM worker killed");
    await this.stop();
  }

  /** Orderly end: the serve loop returns, the pool goes; later calls are refused. onDeath is not told. */
  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = { kind: "died", why: "VMM channel closed" };
      this.wake();
    }
    await this.stop();
  }
}

/** The default VMM host: a worker started from the VMM bundle when there is one (vmm-bundle.ts), else through tsx. */
export const sabVmmFactory: VmmFactory = (boot, opts) => new VmmSabHost(boot, opts, vmmBundle() ?? {});
