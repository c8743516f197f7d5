// Virtual time (DESIGN.md §5), shared by the kernel and the VMM's device
// models: the virtual TSC advances by one per retired guest instruction, and
// the virtual processor is defined to run at a nominal 100 MHz, so one TSC
// tick is 10 ns of guest time. Device models convert their own clocks
// (the PIT's 1.193182 MHz, the RTC's 32.768 kHz) from and to these ticks.
export const VIRTUAL_TSC_HZ = 100_000_000;

/** Virtual TSC ticks in `ns` nanoseconds of guest time. */
export const ticksFromNs = (ns: number): number => Math.round((ns * VIRTUAL_TSC_HZ) / 1e9);
