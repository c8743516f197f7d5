// Decoding for the JIT tier (DESIGN.md §7): the instructions it translates,
// in 32-bit flat protected mode (CS.D = 1, segment bases 0), SDM Vol. 2
// ch. 2 (ModR/M and SIB, Tables 2-2 and 2-3). Anything else decodes as
// `null` and stays with the interpreter. Addresses are expressions over the
// register array `r`, for the generated JavaScript.
import { MODRM } from "../decode.js";

/** One decoded instruction of the translated subset. */
export interface Insn32 {
  /** Offset of the first byte in the page, and the length in bytes. */
  off: number;
  len: number;
  /** Opcode: 0x000-0x0FF, 0x100-0x1FF for 0F xx. */
  op: number;
  /** ModR/M reg field, register of a mod = 3 operand (-1 for memory). */
  reg: number;
  rmr: number;
  /** JavaScript expression of the linear address of a memory operand ("" for none). */
  ea: string;
  /** First immediate (sign-extended where the SDM says so), and a second one (ENTER-like forms: RET imm16). */
  imm: number;
  /** 66 prefix present (only NOPs and string instructions accept it). */
  o16: boolean;
  /** String instructions: 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep: number;
}

/** MOVS, CMPS, STOS, LODS, SCAS (A4-A7, AA-AF). */
export function isString(op: number): boolean {
  return (op >= 0xa4 && op <= 0xa7) || (op >= 0xaa && op <= 0xaf);
}

/** Prefixes that are no-ops in flat mode: ES, CS, SS, DS segment overrides (bases are 0). */
function flatSegPrefix(b: number): boolean {
  return b === 0x26 || b === 0x2e || b === 0x36 || b === 0x3e;
}

/** Immediate size in bytes after ModR/M for the translated opcodes (operand size 32), -1 if not translated. */
function immSize(op: number, reg: number): number {
  if (op < 0x40) {
    const form = op & 7;
    return form < 4 ? 0 : form === 4 ? 1 : form === 5 ? 4 : -1;
  }
  if (op >= 0x40 && op <= 0x5f) return 0;
  if (op >= 0x70 && op <= 0x7f) return 1;
  if (op >= 0x180 && op <= 0x18f) return 4;
  if ((op >= 0x190 && op <= 0x19f) || (op >= 0x140 && op <= 0x14f)) return 0;
  if (op >= 0x1c8 && op <= 0x1cf) return 0;
  if (op >= 0xb0 && op <= 0xb7) return 1;
  if (op >= 0xb8 && op <= 0xbf) return 4;
  if (op >= 0x91 && op <= 0x97) return 0;
  switch (op) {
    case 0x68:
    case 0x69:
    case 0x81:
    case 0xa9:
    case 0xc7:
    case 0xe8:
    case 0xe9:
    case 0xa0:
    case 0xa1:
    case 0xa2:
    case 0xa3:
      return 4;
    case 0x6a:
    case 0x6b:
    case 0x80:
    case 0x83:
    case 0xa8:
    case 0xc0:
    case 0xc1:
    case 0xc6:
    case 0xeb:
      return 1;
    case 0xc2:
      return 2;
    case 0x84:
    case 0x85:
    case 0x86:
    case 0x87:
    case 0x88:
    case 0x89:
    case 0x8a:
    case 0x8b:
    case 0x8d:
    case 0x90:
    case 0x98:
    case 0x99:
    case 0xc3:
    case 0xc9:
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3:
    case 0xf8:
    case 0xf9:
    case 0xf5:
    case 0xfc:
    case 0xfd:
    case 0x1af:
    case 0x1b6:
    case 0x1b7:
    case 0x1be:
    case 0x1bf:
    case 0x11f:
      return 0;
    case 0xf6:
      return reg < 2 ? 1 : 0;
    case 0xf7:
      return reg < 2 ? 4 : 0;
    case 0xfe:
      return reg < 2 ? 0 : -1;
    case 0xff:
      return reg === 0 || reg === 1 || reg === 2 || reg === 4 || reg === 6 ? 0 : -1;
    default:
      return -1;
  }
}

/**
 * Decode the instruction at `off` of the page whose first byte is bytes[base].
 * Returns null if it is not in the translated subset or does not end inside
 * the page (the interpreter fetches across pages).
 */
export function decode32(bytes: Uint8Array, base: number, off: number): Insn32 | null {
  let p = off;
  const at = (i: number): number => (i < 4096 ? bytes[base + i] : -1);
  let o16 = false;
  let rep = 0;
  let b = at(p);
  for (let n = 0; n < 2 && (b === 0x66 || b === 0xf3 || b === 0xf2 || flatSegPrefix(b)); n++) {
    if (b === 0x66) o16 = true;
    else if (b === 0xf3) rep = 1;
    else if (b === 0xf2) rep = 2;
    b = at(++p);
  }
  if (b < 0) return null;
  let op = b;
  p++;
  if (op === 0x0f) {
    const b2 = at(p++);
    if (b2 < 0) return null;
    op = 0x100 | b2;
  }
  if (isString(op)) return p > 4096 ? null : { off, len: p - off, op, reg: 0, rmr: -1, ea: "", imm: 0, o16, rep };
  if ((o16 && op !== 0x90 && op !== 0x11f) || rep !== 0) return null;
  let reg = 0;
  let rmr = -1;
  let ea = "";
  if (MODRM[op]) {
    const modrm = at(p++);
    if (modrm < 0) return null;
    reg = (modrm >> 3) & 7;
    const mod = modrm >> 6;
    const rm = modrm & 7;
    if (mod === 3) rmr = rm;
    else {
      const parts: string[] = [];
      let disp = 0;
      if (rm === 4) {
        const sib = at(p++);
        if (sib < 0) return null;
        const sbase = sib & 7;
        const idx = (sib >> 3) & 7;
        const scale = sib >> 6;
        if (sbase === 5 && mod === 0) {
          const d = le32(at, p);
          if (d === null) return null;
          disp = d;
          p += 4;
        } else parts.push(`r[${sbase}]`);
        if (idx !== 4) parts.push(scale ? `(r[${idx}] << ${scale})` : `r[${idx}]`);
      } else if (rm === 5 && mod === 0) {
        const d = le32(at, p);
        if (d === null) return null;
        disp = d;
        p += 4;
      } else parts.push(`r[${rm}]`);
      if (mod === 1) {
        const d = at(p++);
        if (d < 0) return null;
        disp = (disp + ((d << 24) >> 24)) | 0;
      } else if (mod === 2) {
        const d = le32(at, p);
        if (d === null) return null;
        disp = (disp + d) | 0;
        p += 4;
      }
      if (disp !== 0 || parts.length === 0) parts.push(`${disp}`);
      ea = parts.length === 1 && parts[0]!.startsWith("r[") ? parts[0]! : `((${parts.join(" + ")}) | 0)`;
    }
  }
  const n = immSize(op, reg);
  if (n < 0) return null;
  // Forms this tier leaves to the interpreter: LEA/... of a register (#UD), C6/C7 with reg != 0 (#UD).
  if (op === 0x8d && rmr >= 0) return null;
  if ((op === 0xc6 || op === 0xc7) && reg !== 0) return null;
  let imm = 0;
  if (n === 1) {
    const v = at(p);
    if (v < 0) return null;
    imm = (v << 24) >> 24;
  } else if (n === 2) {
    const lo = at(p);
    const hi = at(p + 1);
    if (lo < 0 || hi < 0) return null;
    imm = lo | (hi << 8);
  } else if (n === 4) {
    const v = le32(at, p);
    if (v === null) return null;
    imm = v;
  }
  p += n;
  if (p > 4096) return null;
  return { off, len: p - off, op, reg, rmr, ea, imm, o16, rep };
}

function le32(at: (i: number) => number, p: number): number | null {
  const a = at(p);
  const b = at(p + 1);
  const c = at(p + 2);
  const d = at(p + 3);
  if (d < 0 || a < 0 || b < 0 || c < 0) return null;
  return a | (b << 8) | (c << 16) | (d << 24);
}
