// A device with timers in virtual time (DESIGN.md §5). The VMM asks every
// timed device for its next deadline, returns the earliest with its reply
// (the kernel arms the VMX-preemption timer for it), and calls tick() when
// virtual time has reached it. Devices also catch up lazily on register
// access, so tick() is what makes interrupts on time, not what keeps state.

export interface TimedDevice {
  /** Absolute virtual TSC of the next event that changes an interrupt line; 0 = none. */
  nextDeadline(): number;
  /** Processes every event due at or before `now` (absolute virtual TSC). */
  tick(now: number): void;
}

/** The earliest non-zero deadline of `devices`, 0 if none has one. */
export function earliestDeadline(devices: readonly TimedDevice[]): number {
  let best = 0;
  for (let i = 0; i < devices.length; i++) {
    const d = devices[i].nextDeadline();
    if (d !== 0 && (best === 0 || d < best)) best = d;
  }
  return best;
}
