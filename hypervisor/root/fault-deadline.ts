// Hang detection for one VMM (DESIGN.md §6: "every exit has a deadline;
// past it the worker is terminated"). A fresh worker's first exit also pays
// for starting the thread and loading the VMM's modules (hundreds of
// milliseconds, more while other workers start on a busy host), so it gets
// a boot deadline; every later exit gets the exit deadline, which can then
// be short enough for a fault campaign. A deadline counts time in which the
// hypervisor thread was able to notice a reply: see `expire`. The transport
// underneath keeps its own deadline (set to the boot deadline) as a backstop.
import { availableParallelism, loadavg } from "node:os";
import { type Channel, ChannelFault } from "../kernel/channel.js";
import type { VmmPort } from "./vmm-host.js";

/**
 * More runnable threads than twice the host's CPUs over the last minute: a
 * VMM thread may then wait longer for a CPU than it works, so a wall-clock
 * deadline says little about the VMM.
 */
export function hostOverloaded(): boolean {
  return loadavg()[0] > 2 * availableParallelism();
}

export class DeadlineChannel implements Channel {
  readonly transport: string;
  private calls = 0;

  constructor(
    readonly port: VmmPort,
    private readonly exitDeadlineMs: number,
    private readonly bootDeadlineMs: number,
    private readonly overloaded: () => boolean = hostOverloaded,
  ) {
    this.transport = port.transport;
  }

  call(message: Uint8Array): Promise<Uint8Array> {
    const ms = this.calls++ === 0 ? this.bootDeadlineMs : this.exitDeadlineMs;
    return new Promise((resolve, reject) => {
      let due = performance.now() + ms;
      let extended = false;
      const expire = () => {
        // A timer that fires late means this thread could not listen for the reply (it ran
        // another vCPU's slice, or the host did not schedule it): a reply may already wait
        // behind this callback. On an overloaded host the VMM's own thread may not have run
        // either. In both cases the VMM gets one more deadline measured from now; a hung
        // VMM is still found, at most one deadline later.
        if (!extended && (performance.now() - due > ms / 2 || this.overloaded())) {
          extended = true;
          due = performance.now() + ms;
          timer = setTimeout(expire, ms);
          return;
        }
        // The worker may be spinning: only terminating its thread stops it.
        void this.port.kill().catch(() => {});
        reject(new ChannelFault("timeout", `VMM missed its ${ms} ms exit deadline`));
      };
      let timer = setTimeout(expire, ms);
      this.port.call(message).then(
        (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        (e) => {
          clearTimeout(timer);
          reject(e);
        },
      );
    });
  }
}
