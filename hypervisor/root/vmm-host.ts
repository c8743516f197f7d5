// The root task's side of a VMM: one dedicated piscina worker thread per VM
// (NOVA's VMM is a user-level PD; here its isolation is the worker's heap).
// It implements the kernel's Channel: an exit goes out as bytes, the reply
// comes back as bytes, and any failure of the worker (it threw, exited, ran
// out of heap, or missed the exit's deadline) becomes a ChannelFault that
// hurts only this VM.
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";
import { type Channel, ChannelFault } from "../kernel/channel.js";
import { vmmWorkerArgv } from "./worker-argv.js";

export interface VmmBootData {
  vm: number;
  ram: SharedArrayBuffer;
  /** ELF or flat image; empty when `kernel` is given. */
  image: Uint8Array;
  format: "elf" | "flat";
  loadAddress?: number;
  entry?: number;
  cmdline?: string;
  /** Linux bzImage and initrd (vmm/boot/linux.ts). */
  kernel?: Uint8Array;
  initrd?: Uint8Array;
  /** Multiboot modules (vmm/boot/multiboot-info.ts). */
  modules?: { bytes: Uint8Array; cmdline: string }[];
  /** A firmware ROM (vmm/boot/firmware.ts). */
  firmware?: Uint8Array;
}

export interface VmmHostOptions {
  /** Host milliseconds a VMM may take for one exit before it is declared hung. */
  exitDeadlineMs: number;
  /** Heap limit of the worker, so that a leak kills only this VMM. */
  heapMb: number;
}

/** What the root task needs of a VMM, whatever carries its messages. */
export interface VmmPort extends Channel {
  onDeath: (why: string) => void;
  kill(): Promise<void>;
  close(): Promise<void>;
}

export type VmmFactory = (boot: VmmBootData, opts: VmmHostOptions) => VmmPort;

const ENTRY = fileURLToPath(new URL("../../vmm/worker-entry.mjs", import.meta.url));

export class VmmHost implements VmmPort {
  readonly transport = "piscina worker thread (MessagePort, structured clone)";
  private readonly pool: Piscina<Uint8Array, Uint8Array>;
  private dead: string | null = null;
  /** Told once when the worker dies on its own or is killed, with why. */
  onDeath: (why: string) => void = () => {};
  private closing = false;

  constructor(
    boot: VmmBootData,
    private readonly opts: VmmHostOptions,
  ) {
    this.pool = new Piscina({
      execArgv: vmmWorkerArgv(),
      filename: ENTRY,
      workerData: boot,
      minThreads: 1,
      maxThreads: 1,
      concurrentTasksPerWorker: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      resourceLimits: { maxOldGenerationSizeMb: opts.heapMb },
    });
    // A worker that goes away takes the VMM's state with it: piscina would
    // start a fresh, empty one, so the VMM counts as dead from then on.
    this.pool.on("workerDestroy", () => {
      if (!this.closing) this.die("VMM worker exited");
    });
    this.pool.on("error", (e: Error) => this.die(`VMM worker failed: ${e.message}`));
  }

  private die(why: string): void {
    if (this.dead) return;
    this.dead = why;
    this.onDeath(why);
  }

  async call(message: Uint8Array): Promise<Uint8Array> {
    if (this.dead) throw new ChannelFault("died", this.dead);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.opts.exitDeadlineMs);
    try {
      return await this.pool.run(message, { signal: abort.signal });
    } catch (e) {
      throw this.fault(e as Error, abort.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }

  private fault(e: Error, timedOut: boolean): ChannelFault {
    if (timedOut) {
      this.die(`VMM missed its ${this.opts.exitDeadlineMs} ms exit deadline`);
      return new ChannelFault("timeout", this.dead!);
    }
    const msg = e.message ?? String(e);
    if (/worker exited|terminated|ERR_WORKER_OUT_OF_MEMORY|out of memory/i.test(msg) || this.dead) {
      this.die(`VMM worker died: ${msg}`);
      return new ChannelFault("died", this.dead!);
    }
    // The handler threw: its state may be inconsistent, so it is not used again.
    this.die(`VMM handler threw: ${msg}`);
    return new ChannelFault("threw", this.dead!);
  }

  /** Fault injection: terminates the worker thread as a crash would. */
  async kill(): Promise<void> {
    this.die("VMM worker killed");
    await Promise.all(this.pool.threads.map((t) => t.terminate()));
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.pool.destroy();
  }
}

export const piscinaVmmFactory: VmmFactory = (boot, opts) => new VmmHost(boot, opts);
