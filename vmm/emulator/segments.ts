// Segmentation for an emulated memory operand (SDM Vol. 3A §3.4, §5.3-5.5):
// the linear address is segment base + effective address, after the type
// and limit checks of protected mode. A violation raises #SS(0) for SS and
// #GP(0) for any other segment (SDM Vol. 2 "Protected Mode Exceptions" of
// each instruction); in real mode the same limit check raises the same
// vectors without an error code (real-mode delivery pushes none, §20.1.4).
// Privilege (DPL) checks happen at segment load, not at access, so none here.
import { type EmulationAbort, Vector } from "./fault.js";
import { AR_DB, AR_UNUSABLE, type RegisterFile, SS } from "./register-file.js";

export const ACCESS_READ = 0;
export const ACCESS_WRITE = 1;
export const ACCESS_EXEC = 2;

/** Descriptor type bits (SDM §3.4.5.1, Table 3-1). */
const TYPE_CODE = 0x8;
const TYPE_CODE_READABLE = 0x2;
const TYPE_DATA_WRITABLE = 0x2;
const TYPE_DATA_EXPAND_DOWN = 0x4;

/**
 * Linear address of `size` bytes at `offset` in segment `seg` for `access`;
 * throws `abort` filled with #GP(0)/#SS(0) on a type or limit violation.
 */
export function segmentLinear(
  regs: RegisterFile,
  seg: number,
  offset: number,
  size: number,
  access: number,
  abort: EmulationAbort,
): number {
  const s = regs.seg[seg];
  const pm = regs.protectedMode;
  if (regs.vm86) {
    // Virtual-8086 mode (§20.2, §20.1.1): base = selector * 16, a 64 KiB read/write segment, whatever the cache says.
    if (offset + size - 1 > 0xffff) throw violation(seg, pm, abort);
    return ((s.sel & 0xffff) * 16 + offset) >>> 0;
  }
  if (pm && !typeAllows(s.ar, access)) throw violation(seg, pm, abort);
  if (!withinLimit(s.ar, s.limit, offset, size, pm)) throw violation(seg, pm, abort);
  return (s.base + offset) >>> 0;
}

/** §5.4.1 / §3.4.5.1: an unusable (null) segment allows nothing; code is never writable and may be execute-only; data is always readable. */
function typeAllows(ar: number, access: number): boolean {
  if (ar & AR_UNUSABLE) return false;
  const type = ar & 0xf;
  const code = (type & TYPE_CODE) !== 0;
  if (access === ACCESS_WRITE) return !code && (type & TYPE_DATA_WRITABLE) !== 0;
  if (access === ACCESS_READ) return !code || (type & TYPE_CODE_READABLE) !== 0;
  return code;
}

/**
 * §5.3: expand-up segments allow offsets 0..limit; expand-down data segments
 * allow limit+1 .. 0xFFFF or 0xFFFFFFFF by the B flag. The whole access
 * (first to last byte) must fit. Real mode has no expand-down (the hidden
 * descriptor keeps whatever was loaded, so only the limit applies).
 */
function withinLimit(ar: number, limit: number, offset: number, size: number, descriptors: boolean): boolean {
  const last = offset + size - 1;
  const type = ar & 0xf;
  if (descriptors && !(type & TYPE_CODE) && type & TYPE_DATA_EXPAND_DOWN) {
    const upper = ar & AR_DB ? 0xffff_ffff : 0xffff;
    return offset > limit && last <= upper;
  }
  return last <= limit;
}

function violation(seg: number, pm: boolean, abort: EmulationAbort): EmulationAbort {
  return abort.fault(seg === SS ? Vector.SS : Vector.GP, pm, 0);
}
