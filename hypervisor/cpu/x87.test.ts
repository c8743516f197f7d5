// x87 FPU instructions (x87.ts). Oracle: the host CPU. Each case is a short
// AT&T snippet that works on a 64-byte data area through a base register B;
// the same text is assembled for the guest (as --32, B = %ebx, run through
// Processor.enter on a flat guest) and compiled into a native program (gcc,
// B = %rbx, x87 behaves the same in 64-bit mode) that prints the area after
// the snippet ran on the host's own FPU. Both areas must be equal, byte for
// byte. Every snippet first sets PC = double precision (control word 027FH),
// the precision this model computes in (x87.ts), so rounding agrees.
// The remaining cases check SDM facts the host cannot show: #NM with CR0.TS
// (Vol. 3A §2.5 Table 2-2) and the 80-bit format (Vol. 1 §4.2.2 Table 4-3).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import { testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";
import { f80ToNumber, numberToF80 } from "./x87-format.js";
import { X87State } from "./x87-state.js";

const DATA = 0x2000;
const AREA = 64;

/** Input doubles at 0, 8, 16, 24 (the rest of the area is zero). */
interface Case {
  name: string;
  input: number[];
  asm: string;
}

const PREFIX = "fninit; fldcw 56(B);";
/** 027FH at offset 56: all exceptions masked, double precision, round to nearest. */
const CW_OFFSET = 56;

const CASES: Case[] = [
  {
    name: "FNINIT state: FNSTCW/FNSTSW/FNSTENV show CW 037F, SW 0, TW FFFF",
    input: [],
    asm: "fninit; fnstcw 0(B); fnstsw 2(B); fnstenv 4(B); movl $0, 16(B); movl $0, 20(B); movl $0, 24(B); movl $0, 28(B)",
  },
  {
    name: "FLD/FDIVP/FSTPT: 1/3 in double-extended format",
    input: [1, 3],
    asm: `${PREFIX} fldl 0(B); fldl 8(B); fdivrp; fstpt 32(B); fnstsw 48(B)`,
  },
  {
    name: "FADD, FSUB, FMUL, FSUBR, FDIVR with m32, m64 and ST(i) operands",
    input: [1.5, -2.25, 1e300, 7],
    asm: `${PREFIX} fldl 0(B); faddl 8(B); fmull 24(B); fldl 16(B); fmul %st(0), %st(0); fsubr %st(1), %st(0); fstpl 32(B); fsubrl 0(B); fdivrl 24(B); fstpl 40(B); fnstsw 48(B)`,
  },
  {
    name: "FISTP in each rounding mode (RC 00-11) of 2.5 and -3.5",
    input: [2.5, -3.5],
    asm: `${PREFIX} fldl 0(B); fistl 32(B); fldl 8(B); fistpl 36(B); movw $0x67f, 60(B); fldcw 60(B); fistl 40(B); fldl 8(B); fistps 44(B); movw $0xa7f, 60(B); fldcw 60(B); fistl 46(B); fldl 8(B); fistpll 50(B); movw $0xe7f, 60(B); fldcw 60(B); fistpl 28(B); fstp %st(0)`,
  },
  {
    name: "FIST of a value out of range stores the integer indefinite and sets IE",
    input: [1e10],
    asm: `${PREFIX} fldl 0(B); fistps 32(B); fldl 0(B); fistpl 36(B); fnstsw 40(B)`,
  },
  {
    name: "FCOM/FCOMP/FUCOMPP set C3 C2 C0 for greater, less, equal",
    input: [1, 2, 2],
    asm: `${PREFIX} fldl 0(B); fcoml 8(B); fnstsw 32(B); fldl 16(B); fcomp %st(1); fnstsw 34(B); fldl 8(B); fcoml 16(B); fnstsw 36(B); fucompp; fnstsw 38(B); fldz; ftst; fnstsw 40(B); fstp %st(0)`,
  },
  {
    name: "FCOMI/FUCOMIP set ZF PF CF",
    input: [1, 2],
    asm: `${PREFIX} fldl 8(B); fldl 0(B); fcomi %st(1), %st; setc 32(B); setz 33(B); setp 34(B); fxch; fucomip %st(1), %st; setc 35(B); setz 36(B); setp 37(B); fstp %st(0)`,
  },
  {
    name: "FXAM classifies zero, negative infinity, a normal number and an empty register",
    input: [0, -Infinity, 3],
    asm: `${PREFIX} fxam; fnstsw 32(B); fldl 0(B); fxam; fnstsw 34(B); fldl 8(B); fxam; fnstsw 36(B); fldl 16(B); fchs; fxam; fnstsw 38(B); fstpl 40(B); fstp %st(0); fstp %st(0)`,
  },
  {
    name: "FSQRT, FABS, FCHS, FRNDINT, FSCALE, FPREM, FPREM1",
    input: [2, -10.5, 3, 2.5],
    asm: `${PREFIX} fldl 0(B); fsqrt; fstpl 32(B); fldl 16(B); fldl 8(B); fprem; fnstsw 48(B); fstpl 40(B); fldl 8(B); fprem1; fnstsw 50(B); fabs; fldl 24(B); frndint; fscale; faddp; fchs; fstpl 24(B); fstp %st(0)`,
  },
  {
    name: "constants FLD1, FLDZ, FLDPI, FLDL2E, FLDLN2 stored as doubles",
    input: [],
    asm: `${PREFIX} fld1; fstpl 0(B); fldz; fstpl 8(B); fldpi; fstpl 16(B); fldl2e; fstpl 24(B); fldln2; fstpl 32(B)`,
  },
  {
    name: "integer loads FILD m16, m32, m64 and FIADD/FIMUL",
    input: [],
    asm: `${PREFIX} movw $-7, 0(B); movl $100000, 2(B); movl $0, 6(B); movl $1, 10(B); filds 0(B); fildl 2(B); fmulp; fildll 6(B); faddp; fiaddl 2(B); fimuls 0(B); fstpl 16(B)`,
  },
  {
    name: "a ninth push overflows the stack: IE, SF, C1 and the indefinite",
    input: [],
    asm: `${PREFIX} fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1; fld1; fnstsw 32(B); fstpl 40(B); fnstsw 34(B)`,
  },
  {
    name: "popping an empty stack underflows: IE, SF, C1 = 0; FNCLEX clears the flags",
    input: [],
    asm: `${PREFIX} fstpl 40(B); fnstsw 32(B); fnclex; fnstsw 34(B)`,
  },
  {
    name: "division by zero (masked) gives infinity and ZE; 0/0 gives the indefinite and IE",
    input: [1, 0],
    asm: `${PREFIX} fldl 0(B); fdivl 8(B); fstpl 32(B); fnstsw 48(B); fldl 8(B); fdivl 8(B); fstpl 40(B); fnstsw 50(B)`,
  },
  {
    name: "FBSTP and FBLD: packed BCD",
    input: [-123456789],
    asm: `${PREFIX} fldl 0(B); fbstp 32(B); fbld 32(B); fstpl 48(B)`,
  },
  {
    name: "FSTP m32 rounds to single precision; FLD m80 of 1.0 and FSTP to ST(i)",
    input: [1 / 3],
    asm: `${PREFIX} fldl 0(B); fstps 32(B); movl $0, 40(B); movl $0x80000000, 44(B); movw $0x3fff, 48(B); fldt 40(B); fld1; fstp %st(1); fstpl 16(B)`,
  },
  {
    name: "FNSAVE stores the environment and the stack, then reinitializes; FRSTOR loads it back",
    input: [5],
    asm: `${PREFIX} fldl 0(B); fld1; fnsave -160(B); fnstcw 32(B); frstor -160(B); faddp; fstpl 40(B); fnstcw 34(B)`,
  },
  {
    name: "FCMOVcc copies ST(i) when the flags say so",
    input: [1, 2],
    asm: `${PREFIX} fldl 8(B); fldl 0(B); stc; fcmovnb %st(1), %st; fstl 32(B); fcmovb %st(1), %st; fstpl 40(B); fstp %st(0)`,
  },
];

/** The model does not raise PE (x87.ts): each stored status word has it cleared, on both sides. */
function withoutPe(asm: string): string {
  return asm.replace(/fnstsw (\d+)\(B\)/g, "fnstsw $1(B); andw $$0xffdf, $1(B)");
}

function guestBytes(dir: string, c: Case): number[] {
  const s = join(dir, "g.s");
  const o = join(dir, "g.o");
  const b = join(dir, "g.bin");
  writeFileSync(s, `.code32\n${withoutPe(c.asm).replaceAll("B)", "%ebx)").replaceAll(";", "\n")}\nhlt\n`);
  execFileSync("as", ["--32", "-o", o, s]);
  execFileSync("objcopy", ["-O", "binary", "-j", ".text", o, b]);
  return Array.from(readFileSync(b));
}

function inputArea(c: Case): Uint8Array {
  const a = new Uint8Array(AREA);
  const v = new DataView(a.buffer);
  for (const [k, x] of c.input.entries()) v.setFloat64(8 * k, x, true);
  v.setUint16(CW_OFFSET, 0x027f, true);
  return a;
}

/** The native oracle: one function per case, each printing the area in hex on its own line. */
function oracleSource(): string {
  const fns = CASES.map((c, k) => {
    const body = withoutPe(c.asm).replaceAll("%", "%%").replaceAll("B)", "%%rbx)").replaceAll(";", "\\n\\t");
    const init = Array.from(inputArea(c)).join(",");
    return `static void case${k}(void) {
  static unsigned char save[512] __attribute__((aligned(16)));
  static unsigned char area[160 + ${AREA}] __attribute__((aligned(16)));
  static const unsigned char init[${AREA}] = {${init}};
  memcpy(area + 160, init, ${AREA});
  __asm__ volatile("fnsave (%0)\\n\\tmov %1, %%rbx\\n\\t${body}\\n\\tfrstor (%0)" : : "r"(save), "r"(area + 160) : "rbx", "memory", "cc");
  for (int i = 0; i < ${AREA}; i++) printf("%02x", area[160 + i]);
  printf("\\n");
}`;
  });
  return `#include <stdio.h>\n#include <string.h>\n${fns.join("\n")}\nint main(void) {\n${CASES.map((_, k) => `  case${k}();`).join("\n")}\n  return 0;\n}\n`;
}

let host: string[] = [];
let guest: number[][] = [];

beforeAll(() => {
  const dir = mkdtempSync(join(tmpdir(), "moat-x87-"));
  writeFileSync(join(dir, "oracle.c"), oracleSource());
  execFileSync("gcc", ["-O0", "-o", join(dir, "oracle"), join(dir, "oracle.c")]);
  host = execFileSync(join(dir, "oracle")).toString().trim().split("\n");
  guest = CASES.map((c) => guestBytes(dir, c));
});

function runGuest(k: number): { reason: number; area: string } {
  const m = testMachine();
  m.load(0x1000, [0xbb, DATA & 0xff, DATA >> 8, 0, 0, ...guest[k]]); // mov $DATA, %ebx
  m.load(DATA, inputArea(CASES[k]));
  const reason = m.run();
  const area = Array.from(m.ram.subarray(DATA, DATA + AREA), (b) => b.toString(16).padStart(2, "0")).join("");
  return { reason, area };
}

describe("x87 instructions against the host FPU", () => {
  it.each(CASES.map((c, k) => [c.name, k] as const))("%s", (_name, k) => {
    const g = runGuest(k);
    expect(g.reason).toBe(ExitReason.HLT);
    expect(g.area).toBe(host[k]);
  });
});

describe("x87 rules the host cannot show", () => {
  it("each vCPU's FPU context is its own: loadContext swaps it in, another context stays untouched (DESIGN.md §6)", () => {
    const m = testMachine();
    const mine = new X87State();
    const other = new X87State();
    m.load(0x1000, [0xd9, 0xe8, 0xf4]); // fld1; hlt
    m.cpu.loadContext(new Uint32Array(8), 0, undefined, mine);
    expect(m.run()).toBe(ExitReason.HLT);
    expect([mine.top, mine.empty, mine.r[7]]).toEqual([7, 0x7f, 1]);
    expect([other.top, other.empty]).toEqual([0, 0xff]);
  });

  it("CR0.TS makes an escape opcode #NM, delivered through the IDT (Vol. 3A §2.5 Table 2-2)", () => {
    const m = testMachine(0x200000, { cr0: 0x11 | 0x8 });
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 7);
    m.load(0x1000, [0xd9, 0xe8, 0xf4]); // fld1; hlt
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO) & 0xff).toBe(7);
  });

  it("double-extended encodings (Vol. 1 §4.2.2 Table 4-3): 1.0 is 3FFF 80000000 00000000, -2.5 is C000 A0000000 00000000", () => {
    const out = new Int32Array(3);
    numberToF80(1, out);
    expect([out[2] & 0xffff, out[1] >>> 0, out[0]]).toEqual([0x3fff, 0x80000000, 0]);
    numberToF80(-2.5, out);
    expect([out[2] & 0xffff, out[1] >>> 0, out[0]]).toEqual([0xc000, 0xa0000000, 0]);
    expect(f80ToNumber(0, 0x80000000 | 0, 0x3fff)).toBe(1);
    expect(f80ToNumber(0, 0x80000000 | 0, 0xffff)).toBe(Number.NEGATIVE_INFINITY);
    numberToF80(2 ** -1074, out); // the smallest double denormal is a normal double-extended
    expect([out[2] & 0xffff, out[1] >>> 0, out[0]]).toEqual([16383 - 1074, 0x80000000, 0]);
  });
});
