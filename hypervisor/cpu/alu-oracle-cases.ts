// Test support for the host-CPU oracle of the ALU (alu.test.ts for the
// interpreter, jit/alu-jit.test.ts for compiled code): the oracle programs
// alu-oracle.c / alu-oracle32.c run each instruction natively and print
// its inputs, EAX, EDX and EFLAGS; this module builds and parses them, holds
// the guest encoding of each instruction and says which flags and results
// the SDM defines (Vol. 2 "Flags Affected"), so that both tests compare the
// same things the same way.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { le32 } from "../vmx/test-descriptors.js";
import { AF, ARITH as ALL, CF, OF, PF, SF, ZF } from "./flags.js";

/** One oracle line: instruction, inputs (EAX, EBX, ECX, EDX, EFLAGS) and the host's EAX, EDX, EFLAGS after it. */
export interface OracleCase {
  name: string;
  a: number;
  b: number;
  c: number;
  d: number;
  fin: number;
  eax: number;
  edx: number;
  flags: number;
}

/** SF ZF PF CF. */
const SZPC = SF | ZF | PF | CF;

/** Guest encodings (operands: EAX/AL/AX destination, EBX source, CL count). */
export const ENC: Readonly<Record<string, readonly number[]>> = {
  add32: [0x01, 0xd8],
  adc32: [0x11, 0xd8],
  sub32: [0x29, 0xd8],
  sbb32: [0x19, 0xd8],
  and32: [0x21, 0xd8],
  or32: [0x09, 0xd8],
  xor32: [0x31, 0xd8],
  cmp32: [0x39, 0xd8],
  add8: [0x00, 0xd8],
  adc8: [0x10, 0xd8],
  sub8: [0x28, 0xd8],
  sbb8: [0x18, 0xd8],
  cmp8: [0x38, 0xd8],
  add16: [0x66, 0x01, 0xd8],
  sub16: [0x66, 0x29, 0xd8],
  inc32: [0x40],
  dec32: [0x48],
  neg32: [0xf7, 0xd8],
  inc8: [0xfe, 0xc0],
  dec16: [0x66, 0x48],
  shl32: [0xd3, 0xe0],
  shr32: [0xd3, 0xe8],
  sar32: [0xd3, 0xf8],
  rol32: [0xd3, 0xc0],
  ror32: [0xd3, 0xc8],
  rcl32: [0xd3, 0xd0],
  rcr32: [0xd3, 0xd8],
  shl8: [0xd2, 0xe0],
  shr8: [0xd2, 0xe8],
  sar8: [0xd2, 0xf8],
  rol8: [0xd2, 0xc0],
  rcr8: [0xd2, 0xd8],
  shl16: [0x66, 0xd3, 0xe0],
  imul32: [0x0f, 0xaf, 0xc3],
  imul16: [0x66, 0x0f, 0xaf, 0xc3],
  mul32: [0xf7, 0xe3],
  imul1_32: [0xf7, 0xeb],
  mul8: [0xf6, 0xe3],
  div32: [0xf7, 0xf3],
  idiv32: [0xf7, 0xfb],
  bsf32: [0x0f, 0xbc, 0xc3],
  bsr32: [0x0f, 0xbd, 0xc3],
  shld32: [0x0f, 0xa5, 0xd8],
  shrd32: [0x0f, 0xad, 0xd8],
  bt32: [0x0f, 0xa3, 0xd8],
  btc32: [0x0f, 0xbb, 0xd8],
  bts32: [0x0f, 0xab, 0xd8],
  btr32: [0x0f, 0xb3, 0xd8],
  cdq: [0x99],
  cwde: [0x98],
  shl32i1: [0xd1, 0xe0],
  sar32i1: [0xd1, 0xf8],
  rcl32i1: [0xd1, 0xd0],
  rcr32i1: [0xd1, 0xd8],
  shr16: [0x66, 0xd3, 0xe8],
  sar16: [0x66, 0xd3, 0xf8],
  rol16: [0x66, 0xd3, 0xc0],
  ror16: [0x66, 0xd3, 0xc8],
  rcl16: [0x66, 0xd3, 0xd0],
  rcr16: [0x66, 0xd3, 0xd8],
  ror8: [0xd2, 0xc8],
  rcl8: [0xd2, 0xd0],
  shld16: [0x66, 0x0f, 0xa5, 0xd8],
  shrd16: [0x66, 0x0f, 0xad, 0xd8],
  shld32i: [0x0f, 0xa4, 0xd8, 7],
  shrd32i: [0x0f, 0xac, 0xd8, 25],
  mul16: [0x66, 0xf7, 0xe3],
  imul1_16: [0x66, 0xf7, 0xeb],
  imul1_8: [0xf6, 0xeb],
  imul3_32: [0x6b, 0xc3, 0xf9],
  imul3_32i: [0x69, 0xc3, 0x45, 0x23, 0x01, 0x00],
  imul3_16: [0x66, 0x69, 0xc3, 0xd4, 0xfe],
  div8: [0xf6, 0xf3],
  div16: [0x66, 0xf7, 0xf3],
  idiv8: [0xf6, 0xfb],
  idiv16: [0x66, 0xf7, 0xfb],
  bsf16: [0x66, 0x0f, 0xbc, 0xc3],
  bsr16: [0x66, 0x0f, 0xbd, 0xc3],
  bt16: [0x66, 0x0f, 0xa3, 0xd8],
  bts16: [0x66, 0x0f, 0xab, 0xd8],
  btr16: [0x66, 0x0f, 0xb3, 0xd8],
  btc16: [0x66, 0x0f, 0xbb, 0xd8],
  bt32i: [0x0f, 0xba, 0xe0, 13],
  btc32i: [0x0f, 0xba, 0xf8, 31],
  daa: [0x27],
  das: [0x2f],
  aaa: [0x37],
  aas: [0x3f],
  aam10: [0xd4, 10],
  aam7: [0xd4, 7],
  aad10: [0xd5, 10],
  aad7: [0xd5, 7],
};

/**
 * Builds and runs the oracle: alu-oracle.c natively, and with `bcd`
 * alu-oracle32.c as well (the BCD instructions need 32-bit mode: -m32,
 * freestanding). Returns every case it printed.
 */
export function runAluOracle(bcd: boolean): OracleCase[] {
  const dir = mkdtempSync(join(tmpdir(), "moat-alu-"));
  const exe = join(dir, "alu-oracle");
  execFileSync("gcc", ["-O0", "-o", exe, join(import.meta.dirname, "alu-oracle.c")]);
  let out = execFileSync(exe, { maxBuffer: 64 << 20 }).toString();
  if (bcd) {
    const exe32 = join(dir, "alu-oracle32");
    const flags32 = ["-m32", "-O0", "-ffreestanding", "-nostdlib", "-static", "-fno-pic", "-no-pie"];
    execFileSync("gcc", [...flags32, "-fno-stack-protector", "-o", exe32, join(import.meta.dirname, "alu-oracle32.c")]);
    out += execFileSync(exe32, { maxBuffer: 64 << 20 }).toString();
  }
  return out
    .trim()
    .split("\n")
    .map((line) => {
      const [name, ...hex] = line.split(" ");
      const [a, b, c, d, fin, eax, edx, flags] = hex.map((h) => Number.parseInt(h, 16));
      return { name, a, b, c, d, fin, eax, edx, flags };
    });
}

/** Guest code that loads a case's inputs: MOV EAX/EBX/ECX/EDX, imm32; PUSH fin; POPFD. */
export function loadInputs(k: OracleCase): number[] {
  return [0xb8, ...le32(k.a), 0xbb, ...le32(k.b), 0xb9, ...le32(k.c), 0xba, ...le32(k.d), 0x68, ...le32(k.fin), 0x9d];
}

/** Guest code that stores EAX at `at` and EDX at `at + 4` (MOV moffs32, EAX; MOV [disp32], EDX). */
export function storeEaxEdx(at: number): number[] {
  return [0xa3, ...le32(at), 0x89, 0x15, ...le32(at + 4)];
}

/** Guest code after the instruction: PUSHFD; POP ESI; then EAX, EDX, EFLAGS to `at`, `at + 4`, `at + 8`. */
export function storeResults(at: number): number[] {
  return [0x9c, 0x5e, ...storeEaxEdx(at), 0x89, 0x35, ...le32(at + 8)];
}

/** Shift count of a case: fixed by the encoding for the immediate forms, else CL masked to 5 bits. */
function shiftCount(k: OracleCase): number {
  if (k.name.endsWith("i1")) return 1;
  if (k.name === "shld32i") return 7;
  if (k.name === "shrd32i") return 25;
  return k.c & 0x1f;
}

/**
 * Undefined results (not compared): SHLD/SHRD with a 16-bit operand and a
 * count above 16, BSF/BSR of 0 (Vol. 2 SHLD, SHRD, BSF, BSR).
 */
export function undefinedResult(k: OracleCase): boolean {
  if (/^sh[lr]d16/.test(k.name)) return shiftCount(k) > 16;
  if (/^bs[fr]/.test(k.name)) return (k.b & (k.name.endsWith("16") ? 0xffff : -1)) === 0;
  return false;
}

/** Instructions whose EDX result the SDM defines (the high half or remainder, or CDQ's sign). */
export function definesEdx(name: string): boolean {
  return /^(mul|imul1|div|idiv|cdq)/.test(name);
}

/** Flags the SDM defines for this case (the rest are "undefined" and not compared). */
export function definedFlags(k: OracleCase): number {
  const n = k.name;
  const bits = n.endsWith("8") ? 8 : n.endsWith("16") ? 16 : 32;
  const cnt = shiftCount(k);
  if (undefinedResult(k)) return 0;
  if (/^(daa|das)$/.test(n)) return ALL & ~OF;
  if (/^(aaa|aas)$/.test(n)) return CF | AF;
  if (/^(aam|aad)/.test(n)) return SZPC & ~CF;
  if (/^(add|adc|sub|sbb|cmp|inc|dec|neg)/.test(n)) return ALL;
  if (/^(and|or|xor)/.test(n)) return ALL & ~AF;
  if (/^(shl|shr|sar)/.test(n)) {
    if (cnt === 0) return ALL;
    return (cnt < bits || n.startsWith("sar") ? SZPC : SZPC & ~CF) | (cnt === 1 ? OF : 0);
  }
  if (/^(rol|ror|rcl|rcr)/.test(n)) return cnt === 0 ? ALL : CF | (cnt === 1 ? OF : 0);
  if (/^(shld|shrd)/.test(n)) return cnt === 0 ? ALL : SZPC | (cnt === 1 ? OF : 0);
  if (/^(imul|mul)/.test(n)) return CF | OF;
  if (/^(div|idiv)/.test(n)) return 0;
  if (/^(bsf|bsr)/.test(n)) return ZF;
  if (/^bt/.test(n)) return CF;
  return ALL; // cdq, cwde leave flags alone
}

export const hex = (v: number) => (v >>> 0).toString(16);

/** A case's instruction and inputs, for a mismatch message. */
export function describeCase(k: OracleCase): string {
  return `${k.name} a=${hex(k.a)} b=${hex(k.b)} c=${hex(k.c)} d=${hex(k.d)} fin=${hex(k.fin)}`;
}
