// Segment-limit checks (SDM Vol. 3A §5.3 "Limit checking"): an access of n
// bytes at offset `off` must lie within the segment: offsets 0..limit for
// an expand-up segment, limit+1..0xFFFF (B = 0) or 0xFFFFFFFF (B = 1) for an
// expand-down data segment. A violation is #SS(0) for SS and #GP(0) for
// the other segment registers, in protected and in real-address mode alike
// (Vol. 2 "Real-Address Mode Exceptions" of every instruction with a memory
// operand: "#GP if a memory operand effective address is outside the CS,
// DS, ES, FS, or GS segment limit; #SS ... outside the SS segment limit").
//
// The interpreter calls these only where a violation is possible (DESIGN.md
// §7: flat 32-bit code pays one comparison per memory operand): an operand
// within 7 bytes of an expand-up limit (the largest operand is 8 bytes), any
// operand of an expand-down segment (AR type bit 2, which also selects the
// rare conforming-code segments), stacks other than a flat 32-bit SS,
// string instructions on non-flat segments.
//
// Effective limit 4 GiB - 1: SDM 5.3 says an access that wraps past
// FFFFFFFFH "may or may not" fault (implementation-specific); we let it wrap.
import { GP, raise, SS as SS_VEC } from "./fault.js";
import { AR_DB, type CpuState, CR0_EM, CR0_TS, SS } from "./state.js";

/** True if n bytes at `off` (an unsigned offset) are outside segment `sr`. */
export function outsideSeg(st: CpuState, sr: number, off: number, n: number): boolean {
  const limit = st.segLimit[sr] >>> 0;
  const ar = st.segAr[sr];
  const end = off + n - 1;
  if ((ar & 0x1c) === 0x14) {
    // Expand-down data segment (S = 1, code = 0, E = 1).
    return off <= limit || end > (ar & AR_DB ? 0xffffffff : 0xffff);
  }
  return end > limit && limit !== 0xffffffff;
}

/** Segment `sr` is flat: expand-up (AR type bit 2 clear) with limit 4 GiB - 1, so no offset needs a check. */
export function flatSeg(st: CpuState, sr: number): boolean {
  return st.segLimit[sr] === -1 && (st.segAr[sr] & 4) === 0;
}

/** The interpreter's inline 32-bit PUSH/POP is valid: SS.B = 1 and SS flat; otherwise stack.ts checks every slot. */
export function fastStack(st: CpuState): boolean {
  return (st.segAr[SS] & AR_DB) !== 0 && flatSeg(st, SS);
}

/** Raise the limit fault for an access of n bytes at `off` in `sr` if it lies outside. */
export function checkSeg(st: CpuState, sr: number, off: number, n: number): void {
  if (outsideSeg(st, sr, off >>> 0, n)) raise(st, sr === SS ? SS_VEC : GP, 0);
}

/**
 * The interpreter's check for a memory operand at offset `off` (16- or 32-bit
 * addressing) of segment `sr` that lies near the limit or in an expand-down
 * segment: raise the limit fault if this instruction's operand is outside it.
 */
export function edgeCheck(st: CpuState, op: number, reg: number, o16: boolean, sr: number, off: number): void {
  // x87 with CR0.EM or TS: the #NM comes first (Vol. 3A §6.9: decode-class faults before memory faults).
  if (op >= 0xd8 && op <= 0xdf && st.cr0 & (CR0_EM | CR0_TS)) return;
  const n = memOperandSize(op, reg, o16 ? 2 : 4);
  if (n !== 0) checkSeg(st, sr, off, n);
}

/**
 * Bytes the memory operand of opcode `op` (0x000-0x1FF, ModR/M reg field
 * `reg`) accesses, 0 for none or for forms that are #UD anyway (so the
 * decode-time #UD keeps priority over the limit fault). `w` is the operand
 * size in bytes (2 or 4). Only instructions with a ModR/M memory operand.
 */
export function memOperandSize(op: number, reg: number, w: number): number {
  if (op < 0x40) return op & 1 ? w : 1;
  switch (op) {
    case 0x62:
      return 2 * w; // BOUND: both bounds
    case 0x63:
      return 2;
    case 0x80:
    case 0x82:
    case 0xc0:
    case 0xd0:
    case 0xd2:
    case 0xf6:
      return 1;
    case 0x84:
    case 0x86:
    case 0x88:
    case 0x8a:
      return 1;
    case 0x8c:
    case 0x8e:
      return reg > 5 || (op === 0x8e && reg === 1) ? 0 : 2;
    case 0x8d:
      return 0; // LEA computes the address only
    case 0x8f:
    case 0xc7:
      return reg === 0 ? w : 0;
    case 0xc6:
      return reg === 0 ? 1 : 0;
    case 0xc4:
    case 0xc5:
    case 0x1b2:
    case 0x1b4:
    case 0x1b5:
      return w + 2; // offset and selector
    case 0xfe:
      return reg < 2 ? 1 : 0;
    case 0xff:
      return reg === 7 ? 0 : reg === 3 || reg === 5 ? w + 2 : w;
    case 0x100:
      return 2;
    case 0x101:
      return reg < 4 ? 6 : reg === 7 ? 1 : 2;
    case 0x1b6:
    case 0x1be:
    case 0x1b0:
    case 0x1c0:
      return 1;
    case 0x1b7:
    case 0x1bf:
      return 2;
    case 0x1c7:
      return 8;
  }
  if (op >= 0xd8 && op <= 0xdf) return x87OperandSize(op, reg, w);
  if (op >= 0x190 && op <= 0x19f) return 1; // SETcc
  return w;
}

/**
 * Bytes of an x87 memory operand (Vol. 2 instruction pages; environment and
 * state images Vol. 1 §8.1.10: 14/28 and 94/108 bytes by operand size).
 * 0 for reserved forms (#UD first).
 */
function x87OperandSize(op: number, reg: number, w: number): number {
  switch (op) {
    case 0xd8:
    case 0xda:
      return 4;
    case 0xdc:
      return 8;
    case 0xde:
      return 2;
    case 0xd9:
      return reg === 0 || reg === 2 || reg === 3 ? 4 : reg === 4 || reg === 6 ? 7 * w : reg === 1 ? 0 : 2;
    case 0xdb:
      return reg === 0 || reg === 2 || reg === 3 ? 4 : reg === 5 || reg === 7 ? 10 : 0;
    case 0xdd:
      return reg === 0 || reg === 2 || reg === 3 ? 8 : reg === 4 || reg === 6 ? 7 * w + 80 : reg === 7 ? 2 : 0;
    default: // 0xdf
      return reg === 0 || reg === 2 || reg === 3 ? 2 : reg === 4 || reg === 6 ? 10 : reg === 5 || reg === 7 ? 8 : 0;
  }
}
