// Exit qualification of an I/O-instruction exit (SDM Vol. 3C Table 27-5).
import type { IoSize } from "../devices/io-device.js";

export interface IoAccess {
  /** Access size: bits 2:0 hold size - 1 (0, 1 or 3). */
  size: IoSize;
  /** Bit 3: 1 = IN, 0 = OUT. */
  isIn: boolean;
  /** Bit 4: INS/OUTS. */
  isString: boolean;
  /** Bit 5: REP prefixed. */
  isRep: boolean;
  /** Bit 6: 1 = immediate port operand, 0 = DX. */
  immediate: boolean;
  /** Bits 31:16. */
  port: number;
}

/** Decodes the qualification; null when bits 2:0 hold a size the SDM does not define (only 0, 1, 3 occur). */
export function decodeIoQualification(qual: number): IoAccess | null {
  const code = qual & 7;
  if (code !== 0 && code !== 1 && code !== 3) return null;
  return {
    size: (code + 1) as IoSize,
    isIn: (qual & 0x8) !== 0,
    isString: (qual & 0x10) !== 0,
    isRep: (qual & 0x20) !== 0,
    immediate: (qual & 0x40) !== 0,
    port: qual >>> 16,
  };
}
