// Interrupt request lines between device models and interrupt controllers
// (PIC, I/O APIC). A line carries a level: the electrical level of the wire
// at the controller's input (ISA convention: high = request). A level
// device (RTC IRQF, i8042 OBF, a level-triggered PCI line) holds the line; an
// edge device (the PIT's rate generator) pulses it: high, then low, at the
// instant of the edge, so an edge-sensitive input latches exactly one request.

export interface IrqSink {
  /** Drives input `line` of the receiver to `level`. Repeating the current level is not an edge. */
  setIrq(line: number, level: boolean): void;
}

/** One rising edge on `line`, for devices whose output is a pulse. */
export function pulseIrq(sink: IrqSink, line: number): void {
  sink.setIrq(line, true);
  sink.setIrq(line, false);
}

/** A sink that drops every request: for a device whose interrupt output is not wired. */
export const UNCONNECTED_IRQ: IrqSink = { setIrq: () => {} };
