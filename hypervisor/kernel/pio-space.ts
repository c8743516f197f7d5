// I/O port space of a PD (NOVA specification §"I/O space"): one access right
// per port. Port capabilities are always delegated to the same port number in
// the receiver (the hotspot does not move them), as in NOVA.
import { CrdType } from "./crd.js";
import { RangeSpace } from "./range-space.js";

export class PioSpace extends RangeSpace {
  constructor() {
    super(CrdType.PIO);
  }

  /** True if the PD may access `port`. */
  allowed(port: number): boolean {
    const n = this.find(port);
    return n !== null && (n.rights & 1) !== 0;
  }
}
