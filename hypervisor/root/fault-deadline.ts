// Hang detection for one VMM (DESIGN.md §6: "every exit has a deadline;
// past it the worker is terminated"). A fresh worker's first exit also pays
// for starting the thread and loading the VMM's modules (hundreds of
// milliseconds, more while other workers start on a busy host), so it gets
// a boot deadline; every later exit gets the exit deadline, which can then
// be short enough for a fault campaign. The transport underneath keeps its
// own deadline (set to the boot deadline) as a backstop.
import { type Channel, ChannelFault } from "../kernel/channel.js";
import type { VmmPort } from "./vmm-host.js";

export class DeadlineChannel implements Channel {
  readonly transport: string;
  private calls = 0;

  constructor(
    readonly port: VmmPort,
    private readonly exitDeadlineMs: number,
    private readonly bootDeadlineMs: number,
  ) {
    this.transport = port.transport;
  }

  call(message: Uint8Array): Promise<Uint8Array> {
    const ms = this.calls++ === 0 ? this.bootDeadlineMs : this.exitDeadlineMs;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // The worker may be spinning: only terminating its thread stops it.
        void this.port.kill().catch(() => {});
        reject(new ChannelFault("timeout", `VMM missed its ${ms} ms exit deadline`));
      }, ms);
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
