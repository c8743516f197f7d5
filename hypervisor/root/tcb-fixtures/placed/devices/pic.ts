// 8259A: IRQ n arrives at vector base + n.
export const picVector = (irq: number): number => 0x20 + irq;
