// A device model the VMM does not import: still part of every VM's VMM side.
export const picVector = (irq: number): number => 0x20 + irq;
