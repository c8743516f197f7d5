// Results and arithmetic flags of the ALU operations the emulator carries
// out on memory operands, computed eagerly (an emulated instruction's flags
// go straight back into the reply's RFLAGS). Flag definitions: SDM Vol. 1
// §3.4.3.1 and the "Flags Affected" of ADD, ADC, SUB, SBB, CMP, AND, OR,
// XOR, TEST in Vol. 2. The one flag those leave undefined, AF after a
// logical operation, follows the model of hypervisor/cpu/flags.ts: cleared.

export const CF = 0x1;
export const PF = 0x4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const OF = 0x800;
export const ARITH_FLAGS = CF | PF | AF | ZF | SF | OF;

/** The ALU operation numbers of opcode bits 5:3 and group-1 /r (SDM Vol. 2 App. A, Table A-6). */
export const ADD = 0;
export const OR = 1;
export const ADC = 2;
export const SBB = 3;
export const AND = 4;
export const SUB = 5;
export const XOR = 6;
export const CMP = 7;
/** TEST computes as AND and writes nothing back. */
export const TEST = 8;

const MASK = [0, 0xff, 0xffff, 0, 0xffff_ffff];
const SIGN = [0, 0x80, 0x8000, 0, 0x8000_0000];

/** PF: set when the low byte of the result has an even number of one bits. */
const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  PARITY[i] = n & 1 ? 0 : PF;
}

export class Alu {
  /** EFLAGS after the last operation (the arithmetic flags replaced, all other bits kept). */
  flags = 0;

  /** a OP b in `size` bytes with input `eflags`; returns the result and sets `flags`. */
  run(op: number, a: number, b: number, size: number, eflags: number): number {
    const mask = MASK[size];
    a = (a & mask) >>> 0;
    b = (b & mask) >>> 0;
    const carry = eflags & CF;
    let r: number;
    let f: number;
    switch (op) {
      case ADD:
      case ADC: {
        const c = op === ADC ? carry : 0;
        const wide = a + b + c;
        r = wide & mask;
        f = (wide > mask ? CF : 0) | (SIGN[size] & (a ^ r) & (b ^ r) ? OF : 0) | ((a ^ b ^ r) & AF);
        break;
      }
      case SUB:
      case CMP:
      case SBB: {
        const c = op === SBB ? carry : 0;
        r = (a - b - c) & mask;
        f = (a < b + c ? CF : 0) | (SIGN[size] & (a ^ b) & (a ^ r) ? OF : 0) | ((a ^ b ^ r) & AF);
        break;
      }
      case OR:
        r = (a | b) & mask;
        f = 0;
        break;
      case XOR:
        r = (a ^ b) & mask;
        f = 0;
        break;
      default: // AND, TEST
        r = a & b & mask;
        f = 0;
    }
    r >>>= 0;
    f |= PARITY[r & 0xff] | (r === 0 ? ZF : 0) | (r & SIGN[size] ? SF : 0);
    this.flags = ((eflags & ~ARITH_FLAGS) | f) >>> 0;
    return r;
  }
}
