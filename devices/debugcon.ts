// QEMU's ISA debug console ("isa-debugcon"), at port 402h where SeaBIOS's
// QEMU build writes its log (SeaBIOS Kconfig DEBUG_IO, DEBUG_IO_PORT 0x402).
// Each byte written goes to the VM's console; a read returns the readback
// value E9h, QEMU's default, which is how firmware tells that the port is
// there before it logs to it (SeaBIOS qemu_debug_preinit compares with E9h).
// A byte-wide device: the bus splits a word write into its bytes, low first.
// No state, so nothing to snapshot.
import type { IoDevice, IoRange, IoSize } from "./io-device.js";

export const DEBUGCON_PORT = 0x402;
/** What a read returns: QEMU's isa-debugcon `readback` default. */
export const DEBUGCON_READBACK = 0xe9;

export class DebugCon implements IoDevice {
  readonly name: string;
  readonly ports: readonly IoRange[];
  readonly ioWidth = 1;

  constructor(
    private readonly onByte: (byte: number) => void,
    base = DEBUGCON_PORT,
  ) {
    this.name = `debugcon@0x${base.toString(16)}`;
    this.ports = [{ base, count: 1 }];
  }

  ioRead(_port: number, _size: IoSize): number {
    return DEBUGCON_READBACK;
  }

  ioWrite(_port: number, _size: IoSize, value: number): void {
    this.onByte(value & 0xff);
  }
}
