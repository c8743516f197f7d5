// Opcode-map facts the interpreter needs before it executes (SDM Vol. 2
// App. A, one-byte and two-byte opcode maps): which opcodes are prefixes,
// which take a ModR/M byte, and how long an instruction is. Opcodes are
// numbered 0x000-0x0FF (one byte) and 0x100-0x1FF (0F xx).

/** Legacy prefixes (Vol. 2 §2.1.1). */
export const PREFIX = new Uint8Array(256);
for (const b of [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3]) PREFIX[b] = 1;

function ranges(...spans: [number, number][]): number[] {
  const out: number[] = [];
  for (const [a, b] of spans) for (let i = a; i <= b; i++) out.push(i);
  return out;
}

/** 1 if the opcode has a ModR/M byte. */
export const MODRM = new Uint8Array(512);
for (const op of [
  ...ranges([0x00, 0x03], [0x08, 0x0b], [0x10, 0x13], [0x18, 0x1b], [0x20, 0x23], [0x28, 0x2b], [0x30, 0x33]),
  ...ranges([0x38, 0x3b], [0x62, 0x63], [0x80, 0x8f], [0xc0, 0xc1], [0xc4, 0xc7], [0xd0, 0xd3], [0xd8, 0xdf]),
  0x69,
  0x6b,
  0xf6,
  0xf7,
  0xfe,
  0xff,
]) {
  MODRM[op] = 1;
}
for (const op of ranges(
  [0x00, 0x03],
  [0x0d, 0x0d],
  [0x10, 0x2f],
  [0x40, 0x76],
  [0x78, 0x7f],
  [0x90, 0x9f],
  [0xa3, 0xa5],
  [0xab, 0xaf],
  [0xb0, 0xbf],
  [0xc0, 0xc7],
  [0xd0, 0xff],
)) {
  MODRM[0x100 | op] = 1;
}

// Immediate sizes: I8 one byte, IZ word/dword by operand size, I16 two bytes,
// I16_8 ENTER, AP far pointer, MO moffs (address size), GRP3 F6/F7 (/0 /1 only).
const I8 = 1;
const IZ = 2;
const I16 = 3;
const I16_8 = 4;
const AP = 5;
const MO = 6;
const GRP3 = 7;
const IMM = new Uint8Array(512);
for (const op of [0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x6a, 0x6b, 0x80, 0x82, 0x83, 0xa8, 0xc0, 0xc1]) {
  IMM[op] = I8;
}
for (const op of [0xc6, 0xcd, 0xd4, 0xd5, 0xeb, ...ranges([0x70, 0x7f], [0xb0, 0xb7], [0xe0, 0xe7])]) IMM[op] = I8;
for (const op of [0x05, 0x0d, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x68, 0x69, 0x81, 0xa9, 0xc7, 0xe8, 0xe9]) {
  IMM[op] = IZ;
}
for (const op of ranges([0xb8, 0xbf])) IMM[op] = IZ;
IMM[0xc2] = I16;
IMM[0xca] = I16;
IMM[0xc8] = I16_8;
IMM[0x9a] = AP;
IMM[0xea] = AP;
for (const op of ranges([0xa0, 0xa3])) IMM[op] = MO;
IMM[0xf6] = GRP3;
IMM[0xf7] = GRP3;
for (const op of [0x170, 0x171, 0x172, 0x173, 0x1a4, 0x1ac, 0x1ba, 0x1c2, 0x1c4, 0x1c5, 0x1c6]) IMM[op] = I8;
for (const op of ranges([0x180, 0x18f])) IMM[op] = IZ;

/**
 * Length of the instruction at bytes[at..] (at most 15 are looked at), for
 * a code segment with 16-bit defaults if `code16`. Used where an instruction
 * crosses into a page that cannot be fetched: the fault is raised only if
 * the instruction really extends there. Returns 16 for an over-long one.
 */
export function insnLength(bytes: Uint8Array, at: number, code16: boolean): number {
  let p = at;
  let o16 = code16;
  let a16 = code16;
  let n = 0;
  while (PREFIX[bytes[p]] && n < 15) {
    if (bytes[p] === 0x66) o16 = !code16;
    if (bytes[p] === 0x67) a16 = !code16;
    p++;
    n++;
  }
  if (n >= 15) return 16;
  let op = bytes[p++];
  if (op === 0x0f) op = 0x100 | bytes[p++];
  let reg = 0;
  if (MODRM[op]) {
    const modrm = bytes[p++];
    const mod = modrm >> 6;
    const rm = modrm & 7;
    reg = (modrm >> 3) & 7;
    if (mod !== 3) {
      if (a16) {
        if (mod === 1) p += 1;
        else if (mod === 2 || rm === 6) p += 2;
      } else {
        if (rm === 4) {
          const sib = bytes[p++];
          if ((sib & 7) === 5 && mod === 0) p += 4;
        }
        if (mod === 1) p += 1;
        else if (mod === 2 || (mod === 0 && rm === 5)) p += 4;
      }
    }
  }
  const z = o16 ? 2 : 4;
  switch (IMM[op]) {
    case I8:
      p += 1;
      break;
    case IZ:
      p += z;
      break;
    case I16:
      p += 2;
      break;
    case I16_8:
      p += 3;
      break;
    case AP:
      p += z + 2;
      break;
    case MO:
      p += a16 ? 2 : 4;
      break;
    case GRP3:
      if (reg < 2) p += op === 0xf6 ? 1 : z;
      break;
  }
  const len = p - at;
  return len > 15 ? 16 : len;
}
