// Checks on an instruction's prefixes that the interpreter makes only when
// they can matter (a LOCK prefix, or several prefixes): LOCK is allowed only
// on the read-modify-write instructions with a memory destination (SDM
// Vol. 2 LOCK: "An undefined opcode exception will also be generated if the
// LOCK prefix is used with any instruction not in the above list", and if
// the destination is a register); an instruction longer than 15 bytes is
// #GP(0) (Vol. 2 §2.3.11, Vol. 3A §6.15 interrupt 13).
import { insnLength } from "./decode.js";
import { gp, ud } from "./fault.js";
import type { CpuState } from "./state.js";

/** May `op` (0x000-0x1FF) with ModR/M reg field `reg` and a memory destination carry LOCK? */
export function lockable(op: number, reg: number): boolean {
  if (op < 0x40) return (op & 7) < 2 && (op & 0x38) !== 0x38; // ADD OR ADC SBB AND SUB XOR Eb/Ev,G (not CMP)
  switch (op) {
    case 0x80:
    case 0x81:
    case 0x82:
    case 0x83:
      return reg !== 7; // not CMP
    case 0x86:
    case 0x87:
      return true; // XCHG
    case 0xf6:
    case 0xf7:
      return reg === 2 || reg === 3; // NOT NEG
    case 0xfe:
    case 0xff:
      return reg < 2; // INC DEC
    case 0x1ab:
    case 0x1b3:
    case 0x1bb:
      return true; // BTS BTR BTC
    case 0x1ba:
      return reg >= 5;
    case 0x1b0:
    case 0x1b1:
    case 0x1c0:
    case 0x1c1:
      return true; // CMPXCHG XADD
    case 0x1c7:
      return reg === 1; // CMPXCHG8B
  }
  return false;
}

/**
 * The prefixes of the instruction at buf[p0..] end before buf[p]'s opcode
 * byte's successor (buf[p - 1] is the opcode or 0F).
 */
export function prefixChecks(
  st: CpuState,
  buf: Uint8Array,
  p0: number,
  p: number,
  lock: boolean,
  code16: boolean,
): void {
  if (p - p0 > 4 && insnLength(buf, p0, code16) > 15) gp(st, 0);
  if (!lock) return;
  let op = buf[p - 1];
  let q = p;
  if (op === 0x0f) op = 0x100 | buf[q++];
  const modrm = buf[q];
  if (modrm >= 0xc0 || !lockable(op, (modrm >> 3) & 7)) ud(st);
}
