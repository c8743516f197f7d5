// Oracle: GNU as and objdump. Each source line is assembled by the system's
// `as --32` and split by `objdump -d`; the decoder must find the length
// objdump found and the operands the source line names (registers, base,
// index, scale, displacement, immediate, prefixes). Cases without an
// assembler (too long, truncated) follow SDM Vol. 2A §2.3.11 (15-byte limit).
import { describe, expect, it } from "vitest";
import {
  DECODE_NEED_MORE,
  DECODE_OK,
  DECODE_TOO_LONG,
  DECODE_UNSUPPORTED,
  decode,
  INSN_BUFFER,
  Insn,
} from "./decoder.js";
import { DS, EAX, EBP, EBX, ECX, EDI, EDX, ES, ESI, ESP, FS, GS, SS } from "./register-file.js";
import { assemble } from "./testing/gnu-as.js";

type Expect = Partial<
  Pick<Insn, "op" | "o16" | "a16" | "rep" | "lock" | "reg" | "base" | "index" | "scale" | "mem">
> & {
  disp?: number;
  imm?: number;
  segment?: number;
};

function run(bytes: Uint8Array, code32: boolean, avail = bytes.length): { i: Insn; status: number } {
  const buf = new Uint8Array(INSN_BUFFER);
  buf.set(bytes.subarray(0, avail));
  const i = new Insn();
  return { i, status: decode(i, buf, avail, code32) };
}

function check(i: Insn, e: Expect): void {
  const got: Record<string, unknown> = {};
  for (const k of Object.keys(e)) {
    if (k === "segment") got[k] = i.segment;
    else if (k === "disp") got[k] = i.disp | 0;
    else if (k === "imm") got[k] = i.imm >>> 0;
    else got[k] = i[k as keyof Insn];
  }
  expect(got).toEqual(Object.fromEntries(Object.entries(e).map(([k, v]) => [k, k === "disp" ? (v as number) | 0 : v])));
}

const CASES32: [string, Expect][] = [
  ["mov %eax,0xfee000b0", { op: 0xa3, mem: true, base: -1, index: -1, disp: 0xfee000b0, segment: DS }],
  ["mov 0xfee00020,%eax", { op: 0xa1, mem: true, disp: 0xfee00020 }],
  ["mov %al,%gs:0x1000", { op: 0xa2, disp: 0x1000, segment: GS }],
  ["mov %ebx,0xfec00010", { op: 0x89, reg: EBX, base: -1, index: -1, disp: 0xfec00010 }],
  ["mov %ecx,(%eax)", { op: 0x89, reg: ECX, base: EAX, index: -1, disp: 0, segment: DS }],
  ["movb %dl,0x10(%esi)", { op: 0x88, reg: EDX, base: ESI, disp: 0x10 }],
  ["movw %ax,-4(%ebp)", { op: 0x89, o16: true, reg: EAX, base: EBP, disp: -4, segment: SS }],
  ["mov 0x12345678(%ebx,%esi,4),%edi", { op: 0x8b, reg: EDI, base: EBX, index: ESI, scale: 2, disp: 0x12345678 }],
  ["mov (%esp),%eax", { op: 0x8b, reg: EAX, base: ESP, index: -1, segment: SS }],
  ["mov 0x0(,%ecx,8),%edx", { op: 0x8b, reg: EDX, base: -1, index: ECX, scale: 3, disp: 0 }],
  ["mov 0x8(%ebp,%eax,2),%ecx", { base: EBP, index: EAX, scale: 1, disp: 8, segment: SS }],
  ["mov %ds:0x8(%ebp),%ecx", { base: EBP, disp: 8, segment: DS }],
  ["movl $0x12345678,0x300(%edx)", { op: 0xc7, reg: 0, base: EDX, disp: 0x300, imm: 0x12345678 }],
  ["movb $0x5a,(%ecx)", { op: 0xc6, base: ECX, imm: 0x5a }],
  ["movw $0x1234,%fs:(%eax)", { op: 0xc7, o16: true, base: EAX, imm: 0x1234, segment: FS }],
  ["movzbl 0x1(%eax),%ecx", { op: 0x1b6, reg: ECX, base: EAX, disp: 1 }],
  ["movzwl (%eax),%edx", { op: 0x1b7, reg: EDX, base: EAX }],
  ["movsbw (%ebx),%ax", { op: 0x1be, o16: true, reg: EAX, base: EBX }],
  ["movswl 0x7fffffff(%edi),%esi", { op: 0x1bf, reg: ESI, base: EDI, disp: 0x7fffffff }],
  ["andl $0xfffffffe,0x10(%ebx)", { op: 0x83, reg: 4, base: EBX, disp: 0x10, imm: 0xfe }],
  ["orl $0x100,0x10(%ebx)", { op: 0x81, reg: 1, imm: 0x100 }],
  ["xorb $0x1,(%eax)", { op: 0x80, reg: 6, imm: 1 }],
  ["addw $0x10,(%eax)", { op: 0x83, o16: true, reg: 0, imm: 0x10 }],
  ["subw $0x1234,(%eax)", { op: 0x81, o16: true, reg: 5, imm: 0x1234 }],
  ["adc %eax,(%ebx)", { op: 0x11, reg: EAX, base: EBX }],
  ["sbb (%ebx),%dh", { op: 0x1a, reg: 6, base: EBX }],
  ["sub %eax,(%ebx)", { op: 0x29, reg: EAX, base: EBX }],
  ["cmp (%ebx),%ecx", { op: 0x3b, reg: ECX, base: EBX }],
  ["cmpb $0x7f,-0x80(%esi)", { op: 0x80, reg: 7, base: ESI, disp: -0x80, imm: 0x7f }],
  ["testl $0x80,0x4(%eax)", { op: 0xf7, reg: 0, disp: 4, imm: 0x80 }],
  ["testb $0x1,(%eax)", { op: 0xf6, reg: 0, imm: 1 }],
  ["testw $0x8000,(%eax)", { op: 0xf7, o16: true, imm: 0x8000 }],
  ["test %eax,(%ecx)", { op: 0x85, reg: EAX, base: ECX }],
  ["xchg %eax,(%ebx)", { op: 0x87, reg: EAX, base: EBX }],
  ["xchg %cl,0x4(%edx)", { op: 0x86, reg: ECX, base: EDX, disp: 4 }],
  ["lock orl $0,(%esp)", { op: 0x83, lock: true, reg: 1, base: ESP, imm: 0 }],
  ["bt %eax,(%ebx)", { op: 0x1a3, reg: EAX, base: EBX }],
  ["btsl $5,(%ebx)", { op: 0x1ba, reg: 5, base: EBX, imm: 5 }],
  ["btr %ecx,0x8(%edx)", { op: 0x1b3, reg: ECX, base: EDX, disp: 8 }],
  ["btcw $15,(%eax)", { op: 0x1ba, o16: true, reg: 7, imm: 15 }],
  ["rep movsl", { op: 0xa5, rep: 0xf3 }],
  ["rep stosb", { op: 0xaa, rep: 0xf3 }],
  ["repnz lodsb", { op: 0xac, rep: 0xf2 }],
  ["lodsw", { op: 0xad, o16: true, rep: 0 }],
  ["movsb %fs:(%esi),%es:(%edi)", { op: 0xa4, segment: FS }],
  ["rep movsw (%si),%es:(%di)", { op: 0xa5, o16: true, a16: true, rep: 0xf3 }],
  ["mov %ax,(%bx,%si)", { op: 0x89, o16: true, a16: true, reg: EAX, base: EBX, index: ESI, segment: DS }],
  ["mov 0x10(%bp),%eax", { op: 0x8b, a16: true, base: EBP, disp: 0x10, segment: SS }],
  ["mov %es:-0x2(%bp,%di),%dl", { op: 0x8a, a16: true, base: EBP, index: EDI, disp: -2, segment: ES }],
];

const CASES16: [string, Expect][] = [
  ["mov %ax,0x1234", { op: 0xa3, o16: true, a16: true, disp: 0x1234 }],
  ["mov %bx,(%si)", { op: 0x89, o16: true, a16: true, reg: EBX, base: ESI, index: -1 }],
  ["movl %eax,(%bx,%di)", { op: 0x89, o16: false, a16: true, base: EBX, index: EDI }],
  ["mov 0x1234,%cx", { op: 0x8b, reg: ECX, base: -1, index: -1, disp: 0x1234 }],
  ["mov %dl,-2(%bp,%di)", { op: 0x88, reg: EDX, base: EBP, index: EDI, disp: -2, segment: SS }],
  ["mov %eax,(%esi)", { op: 0x89, o16: false, a16: false, base: ESI }],
  ["mov 0x1000(%bx),%ax", { a16: true, base: EBX, disp: 0x1000 }],
  ["movw $0xbeef,%ss:0x8(%di)", { op: 0xc7, base: EDI, disp: 8, imm: 0xbeef, segment: SS }],
  ["rep stosl", { op: 0xab, o16: false, a16: true, rep: 0xf3 }],
];

describe("decoder against GNU as / objdump", () => {
  for (const [mode, cases] of [
    [32, CASES32],
    [16, CASES16],
  ] as const) {
    const assembled = assemble(
      cases.map((c) => c[0]),
      mode,
    );
    cases.forEach(([source, expected], k) => {
      it(`${mode}-bit \`${source}\`: objdump's length and the source's operands`, () => {
        const { bytes } = assembled[k];
        const { i, status } = run(bytes, mode === 32);
        expect(status).toBe(DECODE_OK);
        expect(i.len).toBe(bytes.length);
        check(i, expected);
      });
    });
  }
});

describe("decoder limits (SDM Vol. 2A §2.3.11)", () => {
  const [mov] = assemble(["movl $0x12345678,0x300(%edx)"]);

  it("answers NEED_MORE while the instruction runs past the fetched bytes, at every cut", () => {
    for (let avail = 0; avail < mov.bytes.length; avail++) {
      expect(run(mov.bytes, true, avail).status).toBe(DECODE_NEED_MORE);
    }
  });

  it("a 16-byte instruction (14 redundant 66 prefixes + 89 08) is too long: #GP", () => {
    const bytes = Uint8Array.from([...Array(14).fill(0x66), 0x89, 0x08]);
    expect(run(bytes, true, 15).status).toBe(DECODE_TOO_LONG);
  });

  it("15 bytes (13 prefixes + 89 08) is still an instruction, and repeated 66 keeps 16-bit operands", () => {
    const bytes = Uint8Array.from([...Array(13).fill(0x66), 0x89, 0x08]);
    const { i, status } = run(bytes, true);
    expect(status).toBe(DECODE_OK);
    expect([i.len, i.o16]).toEqual([15, true]);
  });

  it("opcodes outside the set (CPUID, INC r/m, CMPS) decode as UNSUPPORTED with the opcode", () => {
    const [cpuid, inc, cmps] = assemble(["cpuid", "incl (%eax)", "cmpsb"]);
    expect([run(cpuid.bytes, true).status, run(cpuid.bytes, true).i.op]).toEqual([DECODE_UNSUPPORTED, 0x1a2]);
    expect(run(inc.bytes, true).status).toBe(DECODE_UNSUPPORTED);
    expect(run(cmps.bytes, true).status).toBe(DECODE_UNSUPPORTED);
  });
});
