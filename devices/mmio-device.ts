// A device model decoding a range of guest-physical addresses (the LAPIC at
// 0xFEE00000, the I/O APIC at 0xFEC00000). The VMM reaches it from an EPT
// violation on that range and its instruction emulator.

/** Width of one memory access in bytes. */
export type MmioSize = 1 | 2 | 4;

export interface MmioDevice {
  /** Short name for diagnostics ("ioapic@0xfec00000"). */
  readonly name: string;
  /** Guest-physical base address and length in bytes of the decoded range. */
  readonly base: number;
  readonly size: number;
  /** Reads `size` bytes at `offset` from base; returns the value zero-extended. */
  mmioRead(offset: number, size: MmioSize): number;
  /** Writes the low `size` bytes of `value` at `offset` from base. */
  mmioWrite(offset: number, size: MmioSize, value: number): void;
}
