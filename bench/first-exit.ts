// The startup exit of a VM waits for its VMM worker to boot (thread start,
// module load, image load): a once-per-VM cost that bench:boot measures on
// its own. Benchmarks of guest execution time it separately so that their
// rates can be given both over the guest's own run and end to end.
import type { VmmFactory } from "../hypervisor/root/vmm-host.js";
import { sabVmmFactory } from "../hypervisor/root/vmm-sab-host.js";

/** Host ms of the first exit's round trip (null until it returned). */
export interface FirstExit {
  ms: number | null;
}

/** The default VMM host (worker + shared-memory channel), timing its first exit into `first`. */
export function timingFirstExit(first: FirstExit, factory: VmmFactory = sabVmmFactory): VmmFactory {
  return (boot, opts) => {
    const port = factory(boot, opts);
    const call = port.call.bind(port);
    let calls = 0;
    port.call = async (message) => {
      if (calls++ > 0) return call(message);
      const t0 = performance.now();
      try {
        return await call(message);
      } finally {
        first.ms = performance.now() - t0;
      }
    };
    return port;
  };
}
