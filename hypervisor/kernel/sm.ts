// Semaphore (NOVA specification §"Semaphore"): a counter and a FIFO queue of
// blocked ECs. up wakes the first waiter or counts; down takes a count or
// blocks, optionally until an absolute deadline; down with `zero` takes the
// whole count at once.
import { KObject, ObjType } from "./capability.js";
import type { Ec } from "./ec.js";

export class Sm extends KObject {
  readonly type = ObjType.SM;
  readonly waiters: Ec[] = [];

  constructor(public counter: number) {
    super();
  }

  /** Take from the counter if it is non-zero; false means the EC must block. */
  tryDown(zero: boolean): boolean {
    if (this.counter === 0) return false;
    this.counter = zero ? 0 : this.counter - 1;
    return true;
  }

  /** Drop `ec` from the queue (on timeout or its destruction). */
  dequeue(ec: Ec): void {
    const i = this.waiters.indexOf(ec);
    if (i >= 0) this.waiters.splice(i, 1);
  }
}
