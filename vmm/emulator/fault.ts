// How an emulated instruction ends early: a guest exception to inject (the
// guest did something the SDM answers with a fault) or a stop (the VMM met
// something it cannot carry out). Both travel as ONE preallocated plain
// object per emulator, thrown and caught by identity, so a guest page fault
// costs no allocation and no stack capture (DESIGN.md §7).

/** Exception vectors the emulator raises (SDM Vol. 3A §6.3.1, Table 6-1). */
export const Vector = { UD: 6, SS: 12, GP: 13, PF: 14 } as const;

export const ABORT_FAULT = 1;
export const ABORT_STOP = 2;

export class EmulationAbort {
  /** ABORT_FAULT or ABORT_STOP. */
  kind = 0;
  vector = 0;
  /** False where no error code is delivered: real mode (SDM §20.1.4) and #UD. */
  hasError = false;
  error = 0;
  /** The faulting linear address for #PF (CR2, SDM §4.7); -1 otherwise. */
  cr2 = -1;
  /** One-line reason for a stop. */
  reason = "";

  /** Fills in a fault and returns this object, for `throw abort.fault(...)`. */
  fault(vector: number, hasError: boolean, error: number, cr2 = -1): EmulationAbort {
    this.kind = ABORT_FAULT;
    this.vector = vector;
    this.hasError = hasError;
    this.error = error >>> 0;
    this.cr2 = cr2;
    this.reason = "";
    return this;
  }

  stop(reason: string): EmulationAbort {
    this.kind = ABORT_STOP;
    this.reason = reason;
    this.cr2 = -1;
    return this;
  }
}
