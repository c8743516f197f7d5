// Scheduling context (NOVA specification §"Scheduling context"): a priority
// and a time quantum, bound for life to a global EC or vCPU. The scheduler
// charges the time it runs to `time`, which sc_ctrl reports.
import { KObject, ObjType } from "./capability.js";
import type { Ec } from "./ec.js";

/** Priorities are 1..255 (8 bits; 0 is invalid). */
export const MAX_PRIORITY = 255;

export class Sc extends KObject {
  readonly type = ObjType.SC;
  /** Accumulated execution time, in the scheduler's units (virtual ticks). */
  time = 0;

  constructor(
    readonly ec: Ec,
    readonly priority: number,
    /** Time slice: microseconds or virtual ticks, > 0. */
    readonly quantum: number,
  ) {
    super();
  }

  /** Charge `ticks` of execution to this SC. */
  account(ticks: number): void {
    this.time += ticks;
  }
}
