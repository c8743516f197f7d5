// Oracle: the host CPU. alu-oracle.c (built with the system gcc in beforeAll)
// executes each instruction natively for a grid of edge operands and input
// flags plus 2,000 seeded random cases per instruction, and prints EAX, EDX
// and EFLAGS; alu-oracle32.c does the same for the BCD instructions (which
// need 32-bit mode: built -m32, freestanding). The same instruction then runs
// in the guest and must give the same results and the same *defined* flags
// (SDM Vol. 2 "Flags Affected" of each instruction). Undefined flags and
// undefined results (BSF/BSR of 0, SHLD/SHRD 16-bit with a count > 16) are
// masked, so the comparison does not depend on the host vendor: this
// processor's own choice for them is documented in alu.ts / bcd.ts.
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import { testMachine } from "../vmx/test-machine.js";

interface Case {
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

const CF = 0x1;
const ZF = 0x40;
const OF = 0x800;
const ALL = 0x8d5;
const SZPC = 0xc5; // SF ZF PF CF

/** Guest encodings (operands: EAX/AL/AX destination, EBX source, CL count). */
const ENC: Record<string, number[]> = {
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

/** Shift count of a case: fixed by the encoding for the immediate forms, else CL masked to 5 bits. */
function shiftCount(k: Case): number {
  if (k.name.endsWith("i1")) return 1;
  if (k.name === "shld32i") return 7;
  if (k.name === "shrd32i") return 25;
  return k.c & 0x1f;
}

/** SHLD/SHRD with a 16-bit operand and a count above 16: result and flags undefined (Vol. 2 SHLD/SHRD). */
function undefinedResult(k: Case): boolean {
  if (/^sh[lr]d16/.test(k.name)) return shiftCount(k) > 16;
  if (/^bs[fr]/.test(k.name)) return (k.b & (k.name.endsWith("16") ? 0xffff : -1)) === 0;
  return false;
}

/** Flags the SDM defines for this case (the rest are "undefined" and not compared). */
function definedFlags(k: Case): number {
  const n = k.name;
  const bits = n.endsWith("8") ? 8 : n.endsWith("16") ? 16 : 32;
  const cnt = shiftCount(k);
  if (undefinedResult(k)) return 0;
  if (/^(daa|das)$/.test(n)) return ALL & ~OF;
  if (/^(aaa|aas)$/.test(n)) return CF | 0x10;
  if (/^(aam|aad)/.test(n)) return SZPC & ~CF;
  if (/^(add|adc|sub|sbb|cmp|inc|dec|neg)/.test(n)) return ALL;
  if (/^(and|or|xor)/.test(n)) return ALL & ~0x10;
  if (/^(shl|shr|sar)/.test(n)) {
    if (cnt === 0) return ALL;
    return (cnt < bits || n.startsWith("sar") ? SZPC : SZPC & ~CF) | (cnt === 1 ? OF : 0);
  }
  if (/^(rol|ror|rcl|rcr)/.test(n)) {
    if (cnt === 0) return ALL;
    return CF | (cnt === 1 ? OF : 0);
  }
  if (/^(shld|shrd)/.test(n)) return cnt === 0 ? ALL : SZPC | (cnt === 1 ? OF : 0);
  if (/^(imul|mul)/.test(n)) return CF | OF;
  if (/^(div|idiv)/.test(n)) return 0;
  if (/^(bsf|bsr)/.test(n)) return ZF;
  if (/^bt/.test(n)) return CF;
  return ALL; // cdq, cwde leave flags alone
}

const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

let cases: Case[] = [];

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "moat-alu-"));
  const exe = join(dir, "alu-oracle");
  const exe32 = join(dir, "alu-oracle32");
  execFileSync("gcc", ["-O0", "-o", exe, join(import.meta.dirname, "alu-oracle.c")]);
  const flags32 = ["-m32", "-O0", "-ffreestanding", "-nostdlib", "-static", "-fno-pic", "-no-pie"];
  execFileSync("gcc", [...flags32, "-fno-stack-protector", "-o", exe32, join(import.meta.dirname, "alu-oracle32.c")]);
  const out =
    execFileSync(exe, { maxBuffer: 64 << 20 }).toString() + execFileSync(exe32, { maxBuffer: 64 << 20 }).toString();
  cases = out
    .trim()
    .split("\n")
    .map((line) => {
      const [name, ...hex] = line.split(" ");
      const [a, b, c, d, fin, eax, edx, flags] = hex.map((h) => Number.parseInt(h, 16));
      return { name, a, b, c, d, fin, eax, edx, flags };
    });
});

/** Run every case in one guest program that stores EAX, EDX, EFLAGS to a results table. */
function runInGuest(list: Case[]): Uint32Array {
  const results = 0x10000;
  const code = 0x100000;
  const m = testMachine(0x400000, { eip: code, esp: 0x8000 });
  const bytes: number[] = [];
  list.forEach((k, n) => {
    const at = results + 12 * n;
    bytes.push(0xb8, ...le(k.a), 0xbb, ...le(k.b), 0xb9, ...le(k.c), 0xba, ...le(k.d));
    bytes.push(0x68, ...le(k.fin), 0x9d, ...ENC[k.name], 0x9c, 0x5e); // push fin; popfd; insn; pushfd; pop esi
    bytes.push(0xa3, ...le(at), 0x89, 0x15, ...le(at + 4), 0x89, 0x35, ...le(at + 8));
  });
  bytes.push(0xf4);
  m.load(code, bytes);
  expect(m.run(100_000_000)).toBe(ExitReason.HLT);
  return new Uint32Array(m.ram.buffer, results, 3 * list.length);
}

describe("ALU results and flags match the host CPU", () => {
  it("covers every oracle case", () => {
    expect(cases.length).toBeGreaterThan(250_000);
    for (const k of cases) expect(ENC[k.name], k.name).toBeDefined();
  });

  it.each(Object.keys(ENC))("%s", (name) => {
    const list = cases.filter((k) => k.name === name);
    expect(list.length).toBeGreaterThan(0);
    const got = runInGuest(list);
    const bad: string[] = [];
    list.forEach((k, n) => {
      const eax = got[3 * n];
      const edx = got[3 * n + 1];
      const flags = got[3 * n + 2];
      const mask = definedFlags(k);
      const checkEax = !undefinedResult(k);
      const checkEdx = /^(mul|imul1|div|idiv|cdq)/.test(name);
      if ((checkEax && eax !== k.eax) || (checkEdx && edx !== k.edx) || ((flags ^ k.flags) & mask) !== 0) {
        const h = (v: number) => (v >>> 0).toString(16);
        bad.push(
          `${name} a=${h(k.a)} b=${h(k.b)} c=${h(k.c)} d=${h(k.d)} fin=${h(k.fin)}: ` +
            `eax ${h(eax)}/${h(k.eax)} edx ${h(edx)}/${h(k.edx)} flags ${h(flags & mask)}/${h(k.flags & mask)}`,
        );
      }
    });
    expect(bad.slice(0, 10)).toEqual([]);
  });
});
