// IA-32 instruction decoding for the opcodes an MMIO or port-string access
// uses (SDM Vol. 2A Chapter 2 and App. A opcode maps): legacy prefixes
// (§2.1.1: operand size 66, address size 67, REP F2/F3, LOCK F0, segment
// overrides), one- and two-byte (0F) opcodes, ModR/M, SIB and displacement
// in 32-bit (Table 2-2, 2-3) and 16-bit (Table 2-1) addressing, immediates
// and moffs. Opcodes outside the set decode as UNSUPPORTED; the executor
// names them in its stop reason.
//
// decode() reads a buffer padded with zeros past `avail` and never fails on
// the padding: if the instruction turned out longer than the bytes that
// were real, it answers NEED_MORE and the caller fetches the next page.
import { DS, EBP, EBX, EDI, ESI, ESP, SS } from "./register-file.js";

export const DECODE_OK = 0;
/** The instruction continues past the fetched bytes (the next page). */
export const DECODE_NEED_MORE = 1;
/** More than 15 bytes: #GP(0) (SDM Vol. 2A §2.3.11). */
export const DECODE_TOO_LONG = 2;
export const DECODE_UNSUPPORTED = 3;

/** Architectural maximum instruction length. */
export const MAX_INSN = 15;
/** Decode-buffer size: 15 bytes plus zero padding that a runaway parse can read. */
export const INSN_BUFFER = 32;

// Table entries: bit 0 has ModR/M; bits 3:1 immediate kind.
const M = 1;
const I8 = 1 << 1;
const IZ = 2 << 1;
const MOFFS = 3 << 1;
/** F6/F7: an immediate for /0 and /1 (TEST) only. */
const GRP3 = 4 << 1;
const IMM_KIND = 7 << 1;
/** An opcode with neither ModR/M nor immediate (the string instructions). */
const PLAIN = 1 << 4;

const TABLE = new Uint8Array(512);
for (const base of [0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38]) for (let i = 0; i < 4; i++) TABLE[base + i] = M;
TABLE[0x80] = M | I8;
TABLE[0x81] = M | IZ;
TABLE[0x82] = M | I8;
TABLE[0x83] = M | I8;
for (let op = 0x84; op <= 0x8b; op++) TABLE[op] = M;
for (let op = 0xa0; op <= 0xa3; op++) TABLE[op] = MOFFS;
for (const op of [0xa4, 0xa5, 0xaa, 0xab, 0xac, 0xad]) TABLE[op] = PLAIN;
TABLE[0xc6] = M | I8;
TABLE[0xc7] = M | IZ;
TABLE[0xf6] = M | GRP3;
TABLE[0xf7] = M | GRP3;
for (const op of [0xa3, 0xab, 0xb3, 0xbb, 0xb6, 0xb7, 0xbe, 0xbf]) TABLE[0x100 | op] = M;
TABLE[0x1ba] = M | I8;

/** 16-bit ModR/M r/m 0-7 (Table 2-1): base and index registers. */
const BASE16 = [EBX, EBX, EBP, EBP, ESI, EDI, EBP, EBX];
const INDEX16 = [ESI, EDI, ESI, EDI, -1, -1, -1, -1];

export class Insn {
  len = 0;
  /** 0x000-0x0FF one-byte opcodes, 0x100-0x1FF 0F xx. */
  op = 0;
  o16 = false;
  a16 = false;
  /** 0, 0xF2 (REPNE) or 0xF3 (REP/REPE), the last one given. */
  rep = 0;
  lock = false;
  /** Segment override (register-file.ts numbering), or -1. */
  seg = -1;
  mod = 0;
  reg = 0;
  rm = 0;
  /** True when the instruction has a memory operand (ModR/M mod != 3, or moffs). */
  mem = false;
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** Default segment of the memory operand: SS for EBP/ESP (BP) bases, else DS (§3.7.4). */
  defaultSeg = DS;
  imm = 0;
  immSize = 0;

  /** The segment of the memory operand: the override, else the default. */
  get segment(): number {
    return this.seg >= 0 ? this.seg : this.defaultSeg;
  }
}

/** Segment-override prefix byte -> segment number (ES CS SS DS FS GS), else -1. */
const SEGMENT_PREFIX = new Int8Array(256).fill(-1);
[0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65].forEach((b, seg) => {
  SEGMENT_PREFIX[b] = seg;
});

/** Decodes `buf` (zero-padded to INSN_BUFFER, `avail` bytes real) in a 32-bit (`code32`) or 16-bit code segment. */
export function decode(i: Insn, buf: Uint8Array, avail: number, code32: boolean): number {
  reset(i, code32);
  let p = prefixes(i, buf, code32);
  if (p > MAX_INSN) return finish(i, p, avail, DECODE_TOO_LONG);
  let op = buf[p++];
  if (op === 0x0f) op = 0x100 | buf[p++];
  i.op = op;
  const entry = TABLE[op];
  if (entry === 0) return finish(i, p, avail, DECODE_UNSUPPORTED);
  if (entry === PLAIN) return finish(i, p, avail, DECODE_OK);
  if (entry & M) p = modrm(i, buf, p);
  p = immediate(i, buf, p, entry & IMM_KIND);
  return finish(i, p, avail, DECODE_OK);
}

function reset(i: Insn, code32: boolean): void {
  i.o16 = !code32;
  i.a16 = !code32;
  i.rep = 0;
  i.lock = false;
  i.seg = -1;
  i.mod = i.reg = i.rm = 0;
  i.mem = false;
  i.base = i.index = -1;
  i.scale = 0;
  i.disp = 0;
  i.defaultSeg = DS;
  i.imm = 0;
  i.immSize = 0;
}

/** Legacy prefixes in any order, any number (§2.1.1); 66 and 67 select the size other than the default, however often given. Stops past 15 bytes. */
function prefixes(i: Insn, buf: Uint8Array, code32: boolean): number {
  let p = 0;
  for (; p <= MAX_INSN; p++) {
    const b = buf[p];
    if (b === 0x66) i.o16 = code32;
    else if (b === 0x67) i.a16 = code32;
    else if (b === 0xf2 || b === 0xf3) i.rep = b;
    else if (b === 0xf0) i.lock = true;
    else if (SEGMENT_PREFIX[b] >= 0) i.seg = SEGMENT_PREFIX[b];
    else break;
  }
  return p;
}

function modrm(i: Insn, buf: Uint8Array, p: number): number {
  const b = buf[p++];
  i.mod = b >>> 6;
  i.reg = (b >>> 3) & 7;
  i.rm = b & 7;
  if (i.mod === 3) return p;
  i.mem = true;
  return i.a16 ? address16(i, buf, p) : address32(i, buf, p);
}

/** Table 2-1: [BX+SI] .. [BX], [disp16] for mod 0 r/m 6; BP-based forms default to SS. */
function address16(i: Insn, buf: Uint8Array, p: number): number {
  if (i.mod === 0 && i.rm === 6) {
    i.disp = buf[p] | (buf[p + 1] << 8);
    return p + 2;
  }
  i.base = BASE16[i.rm];
  i.index = INDEX16[i.rm];
  if (i.base === EBP) i.defaultSeg = SS;
  if (i.mod === 1) {
    i.disp = (buf[p] << 24) >> 24;
    return p + 1;
  }
  if (i.mod === 2) {
    i.disp = buf[p] | (buf[p + 1] << 8);
    return p + 2;
  }
  return p;
}

/** Tables 2-2 and 2-3: SIB when r/m = 4, disp32 alone for mod 0 r/m 5 (or SIB base 5); ESP/EBP bases default to SS. */
function address32(i: Insn, buf: Uint8Array, p: number): number {
  let base = i.rm;
  if (base === 4) {
    const sib = buf[p++];
    i.scale = sib >>> 6;
    const index = (sib >>> 3) & 7;
    i.index = index === ESP ? -1 : index;
    base = sib & 7;
  }
  if (i.mod === 0 && base === EBP) {
    i.disp = read32(buf, p);
    return p + 4;
  }
  i.base = base;
  if (base === ESP || base === EBP) i.defaultSeg = SS;
  if (i.mod === 1) {
    i.disp = (buf[p] << 24) >> 24;
    return p + 1;
  }
  if (i.mod === 2) {
    i.disp = read32(buf, p);
    return p + 4;
  }
  return p;
}

function immediate(i: Insn, buf: Uint8Array, p: number, kind: number): number {
  let size = 0;
  if (kind === I8) size = 1;
  else if (kind === IZ) size = i.o16 ? 2 : 4;
  else if (kind === GRP3 && i.reg < 2) size = (i.op & 1) === 0 ? 1 : i.o16 ? 2 : 4;
  else if (kind === MOFFS) {
    // moffs is an address: its size follows the address size (§2.2, "moffs").
    i.mem = true;
    i.disp = i.a16 ? buf[p] | (buf[p + 1] << 8) : read32(buf, p);
    return p + (i.a16 ? 2 : 4);
  }
  i.immSize = size;
  if (size === 1) i.imm = buf[p];
  else if (size === 2) i.imm = buf[p] | (buf[p + 1] << 8);
  else if (size === 4) i.imm = read32(buf, p);
  return p + size;
}

function finish(i: Insn, p: number, avail: number, status: number): number {
  i.len = p;
  if (p > avail && avail < MAX_INSN) return DECODE_NEED_MORE;
  if (p > MAX_INSN) return DECODE_TOO_LONG;
  return status;
}

function read32(buf: Uint8Array, p: number): number {
  return (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
}
