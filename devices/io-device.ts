// The interface a device model implements to sit on the VMM's I/O-port bus
// (vmm/io-bus.ts). Devices live inside the untrusted VMM (DESIGN.md §1) and
// see only port accesses; they never touch host resources.

/** Width of one port access in bytes: IN/OUT with AL, AX or EAX. */
export type IoSize = 1 | 2 | 4;

/** A contiguous range of ports a device decodes. */
export interface IoRange {
  readonly base: number;
  readonly count: number;
}

export interface IoDevice {
  /** Short name for diagnostics ("uart16550@0x3f8"). */
  readonly name: string;
  readonly ports: readonly IoRange[];
  /**
   * Widest access the device decodes at once. The bus splits wider accesses
   * into consecutive narrower ones, little-endian, as an ISA bus splits a
   * 16-bit cycle to an 8-bit device into two byte cycles.
   */
  readonly ioWidth: IoSize;
  /** Reads `size` (<= ioWidth) bytes at `port`; returns the value zero-extended. */
  ioRead(port: number, size: IoSize): number;
  /** Writes the low `size` (<= ioWidth) bytes of `value` at `port`. */
  ioWrite(port: number, size: IoSize, value: number): void;
}
