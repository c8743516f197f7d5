// Oracle: the host CPU. Every instruction below is assembled for the guest
// by the system's `as --32` and also run natively by a C program (built with
// the system gcc in beforeAll; 32-bit operations in 64-bit mode compute and
// flag exactly as in 32-bit mode) on the same memory, registers and input
// EFLAGS. The emulator must leave the same memory, EAX, EBX and the flags
// the SDM defines for the instruction (Vol. 2 "Flags Affected"): AF is
// undefined after AND/OR/XOR/TEST, and only CF is defined after BT* (ZF is
// "unaffected"), so those bits are masked; MOV/XCHG/MOVZX change no flags.
// LOCK #UD: SDM Vol. 2A "LOCK".
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Vector } from "./fault.js";
import { EMU_DONE, EMU_FAULT, EMU_STOP } from "./outcome.js";
import { EAX, EBX, ESI } from "./register-file.js";
import { type FlatEmulator, flatEmulator, resetFlat, runAt } from "./testing/flat-emulator.js";
import { assemble } from "./testing/gnu-as.js";

const ALL = 0x8d5;
const NO_AF = 0x8c5;
const BT_FLAGS = 0x41;
/** Non-arithmetic EFLAGS bits 11:0 but IF, which user-mode POPF on the host cannot clear: must come back unchanged. */
const OTHER = 0xfff & ~ALL & ~0x200;

interface Case {
  guest: string;
  mask: number;
  bt?: boolean;
}

const cases: Case[] = [];
for (const op of ["add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"]) {
  const mask = op === "and" || op === "or" || op === "xor" ? NO_AF : ALL;
  for (const form of [
    "l %ebx,(%esi)",
    "l (%esi),%eax",
    "b %bl,(%esi)",
    "b %bh,(%esi)",
    "b (%esi),%ah",
    "w %bx,(%esi)",
    "w (%esi),%ax",
    "l $0x7f,(%esi)",
    "l $-0x80,(%esi)",
    "l $0x80000000,(%esi)",
    "w $-1,(%esi)",
    "w $0x1234,(%esi)",
    "b $0x80,(%esi)",
  ]) {
    cases.push({ guest: op + form, mask });
  }
}
for (const g of [
  "testl %ebx,(%esi)",
  "testb %bl,(%esi)",
  "testw %bx,(%esi)",
  "testl $0x80000001,(%esi)",
  "testw $0x8000,(%esi)",
  "testb $0x81,(%esi)",
]) {
  cases.push({ guest: g, mask: NO_AF });
}
for (const g of [
  "xchgl %eax,(%esi)",
  "xchgb %al,(%esi)",
  "xchgb %bh,(%esi)",
  "xchgw %ax,(%esi)",
  "movl %ebx,(%esi)",
  "movb %bh,(%esi)",
  "movw %bx,(%esi)",
  "movl (%esi),%eax",
  "movw (%esi),%ax",
  "movb (%esi),%ah",
  "movl $0x12345678,(%esi)",
  "movw $0xabcd,(%esi)",
  "movb $0x99,(%esi)",
  "movzbl (%esi),%eax",
  "movzwl (%esi),%eax",
  "movsbl (%esi),%eax",
  "movswl (%esi),%eax",
  "movsbw (%esi),%ax",
  "movzbw (%esi),%ax",
]) {
  cases.push({ guest: g, mask: ALL });
}
for (const g of [
  "btl %ebx,(%esi)",
  "btsl %ebx,(%esi)",
  "btrl %ebx,(%esi)",
  "btcl %ebx,(%esi)",
  "btw %bx,(%esi)",
  "btsw %bx,(%esi)",
  "btsl $37,(%esi)",
  "btrw $17,(%esi)",
  "btcl $31,(%esi)",
  "btl $0,(%esi)",
]) {
  cases.push({ guest: g, mask: BT_FLAGS, bt: true });
}

/** The C oracle: each case's instruction on a 16-byte buffer whose second dword is the operand (%rdi + 4). */
function oracleSource(): string {
  const defs = cases.map((c, k) => {
    const host = c.guest.replace("(%esi)", "4(%rdi)").replaceAll("%", "%%");
    return `static void f${k}(unsigned *buf, unsigned *a, unsigned *b, unsigned long *fl) {
  unsigned ra = *a, rb = *b; unsigned long f = *fl;
  __asm__ volatile("pushq %[f]\\n\\tpopfq\\n\\t${host}\\n\\tpushfq\\n\\tpopq %[f]"
                   : "+a"(ra), "+b"(rb), [f] "+r"(f) : "D"(buf) : "cc", "memory");
  *a = ra; *b = rb; *fl = f;
}`;
  });
  return `#include <stdio.h>
typedef void (*fn)(unsigned *, unsigned *, unsigned *, unsigned long *);
${defs.join("\n")}
static const fn F[] = {${cases.map((_, k) => `f${k}`).join(", ")}};
static const int BT[] = {${cases.map((c) => (c.bt ? 1 : 0)).join(", ")}};
static const unsigned V[] = {0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x12345678, 0xdeadbeef, 0x0f0f0f0f};
static const int OFF[] = {0, 1, 5, 15, 16, 17, 31, 32, 33, 63, 95, -1, -16, -17, -32};
static const unsigned long FIN[] = {0x2, 0x3, 0x8d7};
int main(void) {
  for (unsigned k = 0; k < sizeof F / sizeof F[0]; k++) {
    int nv = BT[k] ? sizeof OFF / sizeof OFF[0] : sizeof V / sizeof V[0];
    for (int vi = 0; vi < nv; vi++)
      for (unsigned mi = 0; mi < sizeof V / sizeof V[0]; mi += BT[k] ? 3 : 1)
        for (unsigned fi = 0; fi < 3; fi++) {
          unsigned m = V[mi];
          unsigned buf[4] = {~m, m, m * 0x9e3779b1u, m ^ 0xa5a5a5a5u}, in[4];
          unsigned a = BT[k] ? 0x11111111u : V[vi];
          unsigned b = BT[k] ? (unsigned)OFF[vi] : ~V[vi] ^ 0x13579bdfu;
          unsigned long fl = FIN[fi];
          for (int i = 0; i < 4; i++) in[i] = buf[i];
          printf("%u %x %x %lx %x %x %x %x", k, a, b, fl, in[0], in[1], in[2], in[3]);
          F[k](buf, &a, &b, &fl);
          printf(" %x %x %lx %x %x %x %x\\n", a, b, fl & 0xfff, buf[0], buf[1], buf[2], buf[3]);
        }
  }
  return 0;
}
`;
}

const CODE = 0x1000;
const DATA = 0x2000;
let lines: number[][] = [];
let code: Uint8Array[] = [];

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "moat-emu-oracle-"));
  writeFileSync(join(dir, "oracle.c"), oracleSource());
  execFileSync("gcc", ["-O1", "-mno-red-zone", "-o", join(dir, "oracle"), join(dir, "oracle.c")]);
  const out = execFileSync(join(dir, "oracle"), { encoding: "utf8", maxBuffer: 64 << 20 });
  lines = out
    .trim()
    .split("\n")
    .map((l) => l.split(" ").map((h, i) => (i === 0 ? Number(h) : Number.parseInt(h, 16))));
  code = assemble(cases.map((c) => c.guest)).map((a) => a.bytes);
});

/** Runs one oracle line in the emulator; returns [eax, ebx, flags & mask, ...buffer] for both sides. */
function compare(f: FlatEmulator, line: number[]): { host: number[]; emu: number[]; status: number } {
  const [k, a, b, fin, m0, m1, m2, m3, ha, hb, hfl, h0, h1, h2, h3] = line;
  const mask = cases[k].mask;
  resetFlat(f.emu);
  const r = f.emu.regs;
  r.gpr[EAX] = a;
  r.gpr[EBX] = b;
  r.gpr[ESI] = DATA + 4;
  r.eflags = fin;
  const view = new DataView(f.ram.bytes.buffer);
  for (const [i, v] of [m0, m1, m2, m3].entries()) view.setUint32(DATA + 4 * i, v, true);
  const status = runAt(f, CODE, code[k]);
  const mem = [0, 1, 2, 3].map((i) => view.getUint32(DATA + 4 * i, true));
  return {
    status,
    host: [ha, hb, hfl & mask, hfl & OTHER, h0, h1, h2, h3],
    emu: [r.gpr[EAX], r.gpr[EBX], r.eflags & mask, r.eflags & OTHER, ...mem],
  };
}

describe("executor semantics against the host CPU", () => {
  it("the oracle ran every case", () => {
    expect(new Set(lines.map((l) => l[0])).size).toBe(cases.length);
  });

  cases.forEach((c, k) => {
    it(`${c.guest}: memory, EAX, EBX and defined flags as the host CPU leaves them; EIP past the instruction`, () => {
      const f = flatEmulator();
      const mine = lines.filter((l) => l[0] === k);
      expect(mine.length).toBeGreaterThan(0);
      for (const line of mine) {
        const { host, emu, status } = compare(f, line);
        expect({ status, emu, eip: f.emu.regs.eip }, line.map((v) => v.toString(16)).join(" ")).toEqual({
          status: EMU_DONE,
          emu: host,
          eip: CODE + code[k].length,
        });
      }
    });
  });
});

describe("executor: LOCK and the opcode set", () => {
  // GNU as refuses LOCK on MOV and CMP (SDM: #UD), so that prefix is added by hand.
  const [mov, cmp, lockOr, notMem] = assemble([
    "movl %eax,(%esi)",
    "cmpl %eax,(%esi)",
    "lock orl $1,(%esi)",
    "notl (%esi)",
  ]).map((a) => a.bytes);
  const lockMov = Uint8Array.of(0xf0, ...mov);
  const lockCmp = Uint8Array.of(0xf0, ...cmp);

  it("LOCK on MOV or CMP is #UD (no error code) and EIP stays", () => {
    for (const bytes of [lockMov, lockCmp]) {
      const f = flatEmulator();
      f.emu.regs.gpr[ESI] = DATA;
      expect(runAt(f, CODE, bytes)).toBe(EMU_FAULT);
      expect([f.emu.abort.vector, f.emu.abort.hasError, f.emu.regs.eip]).toEqual([Vector.UD, false, CODE]);
    }
  });

  it("LOCK OR on memory is carried out", () => {
    const f = flatEmulator();
    f.emu.regs.gpr[ESI] = DATA;
    expect(runAt(f, CODE, lockOr)).toBe(EMU_DONE);
    expect(f.ram.read32(DATA)).toBe(1);
  });

  it("an instruction outside the set stops with its opcode and CS:EIP", () => {
    const f = flatEmulator();
    f.emu.regs.gpr[ESI] = DATA;
    expect(runAt(f, CODE, notMem)).toBe(EMU_STOP);
    expect(f.emu.abort.reason).toBe("emulator: unsupported instruction 0xf7 at 0x8:0x1000 (bytes f7 16)");
  });
});
