// Interrupt messages between I/O APICs and local APICs (the xAPIC system
// bus messages of SDM Vol. 3A §10.6 and the 82093AA redirection entries):
// a message carries a vector, a delivery mode, a destination (physical APIC
// ID or logical MDA) and the trigger mode. Passed as arguments, not objects,
// so delivery allocates nothing.

/** Delivery modes (SDM Vol. 3A Table 10-1 "ICR", 82093AA redirection table bits 10:8). */
export const DeliveryMode = {
  FIXED: 0,
  LOWEST_PRIORITY: 1,
  SMI: 2,
  NMI: 4,
  INIT: 5,
  STARTUP: 6,
  EXTINT: 7,
} as const;

/** What an interrupt message is delivered to: a local APIC, or a bus fanning out to several. */
export interface ApicMessageSink {
  /**
   * Delivers one interrupt message; returns true if a local APIC accepted it
   * (an I/O APIC sets Remote IRR of a level-triggered entry only then).
   * `logical`: destination mode (0 physical, 1 logical); `dest`: the 8-bit
   * destination field; `level`: trigger mode is level.
   */
  deliverInterrupt(vector: number, deliveryMode: number, logical: boolean, dest: number, level: boolean): boolean;
}

/** Receives the EOI a local APIC broadcasts for a level-triggered vector (SDM §10.8.5). */
export interface EoiListener {
  eoi(vector: number): void;
}

/** The 8259A side of ExtINT: the local APIC runs the INTA cycle through it. */
export interface ExtIntController {
  hasInterrupt(): boolean;
  acknowledge(): number;
}
