// Integer instructions beyond ALU flags (those are checked against the host
// CPU in alu.test.ts). Oracle: the SDM Vol. 2 instruction pages (operation
// pseudocode) for each instruction named in the test; Vol. 1 §7.3.9 for
// REP prefixes. Programs run through Processor.enter on a flat guest.
import { describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import { testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";

const CODE = 0x1000;
const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const text = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

function run(code: number[], setup?: (m: ReturnType<typeof testMachine>) => void) {
  const m = testMachine();
  m.load(CODE, code);
  setup?.(m);
  const reason = m.run();
  const r = Array.from(m.cpu.state.regs, (v) => v >>> 0);
  const flags = m.vmcs.read(F.GUEST_RFLAGS);
  const word = (a: number) => new DataView(m.ram.buffer).getUint32(a, true);
  return { m, reason, r, flags, word };
}

describe("string instructions (MOVS, STOS, CMPS, SCAS with REP/REPE/REPNE)", () => {
  it("REP MOVSB copies ECX bytes forward and advances ESI/EDI", () => {
    const { r, m, reason } = run(
      [0xbe, ...le(0x2000), 0xbf, ...le(0x3000), 0xb9, ...le(5), 0xfc, 0xf3, 0xa4, 0xf4],
      (m) => m.load(0x2000, text("hello")),
    );
    expect(reason).toBe(ExitReason.HLT);
    expect(Array.from(m.ram.subarray(0x3000, 0x3005))).toEqual(text("hello"));
    expect([r[6], r[7], r[1]]).toEqual([0x2005, 0x3005, 0]);
  });

  it("STD; REP STOSD stores downwards", () => {
    const { r, word } = run([0xbf, ...le(0x3008), 0xb9, ...le(3), 0xb8, ...le(0xaabbccdd), 0xfd, 0xf3, 0xab, 0xf4]);
    expect([word(0x3000), word(0x3004), word(0x3008)]).toEqual([0xaabbccdd, 0xaabbccdd, 0xaabbccdd]);
    expect(r[7]).toBe(0x2ffc);
  });

  it("REPE CMPSB stops at the first difference with ZF = 0; REPNE SCASB stops at the match", () => {
    const c = run([0xbe, ...le(0x2000), 0xbf, ...le(0x3000), 0xb9, ...le(4), 0xf3, 0xa6, 0xf4], (m) => {
      m.load(0x2000, text("abXd"));
      m.load(0x3000, text("abcd"));
    });
    expect([c.r[1], c.r[6]]).toEqual([1, 0x2003]);
    expect(c.flags & 0x40).toBe(0);
    const s = run([0xbf, ...le(0x3000), 0xb9, ...le(10), 0x31, 0xc0, 0xf2, 0xae, 0xf4], (m) =>
      m.load(0x3000, [1, 2, 3, 0]),
    );
    expect([s.r[1], s.r[7]]).toEqual([6, 0x3004]);
    expect(s.flags & 0x40).toBe(0x40);
  });

  it("a REP interrupted by the budget keeps EIP at the instruction with ECX partly counted down, then finishes", () => {
    const m = testMachine();
    m.load(CODE, [0xb9, ...le(100), 0xbf, ...le(0x3000), 0xb0, 0x77, 0xf3, 0xaa, 0xf4]);
    expect(m.run(10)).toBe(ExitReason.EXTERNAL_INTERRUPT);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(CODE + 12);
    expect(m.cpu.state.regs[1]).toBe(100 - 7); // three instructions, then one iteration per budget unit
    expect(m.run()).toBe(ExitReason.HLT);
    expect(m.cpu.state.regs[1]).toBe(0);
    expect(m.ram.subarray(0x3000, 0x3064).every((b) => b === 0x77)).toBe(true);
    expect(m.ram[0x3064]).toBe(0);
  });
});

describe("stack and control transfer", () => {
  it("PUSHA stores EAX..EDI with the original ESP; POPA restores all but ESP", () => {
    const { r, word } = run([
      0xb8,
      ...le(1),
      0xb9,
      ...le(2),
      0xba,
      ...le(3),
      0xbb,
      ...le(4),
      0xbd,
      ...le(6),
      0xbe,
      ...le(7),
      0xbf,
      ...le(8),
      0x60,
      0x31,
      0xc0,
      0x31,
      0xff,
      0x61,
      0xf4,
    ]);
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => word(0x8000 - 4 - 4 * n))).toEqual([1, 2, 3, 4, 0x8000, 6, 7, 8]);
    expect(r).toEqual([1, 2, 3, 4, 0x8000, 6, 7, 8]);
  });

  it("CALL pushes the return address; RET imm16 pops it and releases the bytes", () => {
    // call +1 (to the RET 4 at CODE+6); hlt; ret 4
    const { r, m } = run([0xe8, ...le(1), 0xf4, 0xc2, 0x04, 0x00]);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(CODE + 5);
    expect(r[4]).toBe(0x8004);
  });

  it("ENTER 8, 0 builds a frame and LEAVE removes it", () => {
    const { r, word } = run([0xbd, ...le(0x1234), 0xc8, 0x08, 0x00, 0x00, 0x89, 0xe9, 0xc9, 0xf4]);
    expect(word(0x8000 - 4)).toBe(0x1234);
    expect(r[1]).toBe(0x8000 - 4); // EBP after ENTER, copied to ECX
    expect([r[5], r[4]]).toEqual([0x1234, 0x8000]);
  });

  it("LOOP decrements ECX and branches while nonzero; JECXZ branches on ECX = 0", () => {
    const { r } = run([0xb9, ...le(5), 0x31, 0xc0, 0x40, 0xe2, 0xfd, 0xe3, 0x01, 0x40, 0xf4]);
    expect(r[0]).toBe(5);
  });
});

describe("moves, conversions and exchanges", () => {
  it("MOVZX and MOVSX from byte and word", () => {
    const { r } = run([
      0xbb,
      ...le(0x80f0),
      0x0f,
      0xb6,
      0xc3,
      0x0f,
      0xbe,
      0xcb,
      0x0f,
      0xbf,
      0xd3,
      0x0f,
      0xb7,
      0xf3,
      0xf4,
    ]);
    expect([r[0], r[1], r[2], r[6]]).toEqual([0xf0, 0xfffffff0, 0xffff80f0, 0x80f0]);
  });

  it("SETcc and CMOVcc after CMP (signed less)", () => {
    const { r } = run([
      0xb8,
      ...le(1),
      0x31,
      0xdb,
      0xba,
      ...le(9),
      0x83,
      0xf8,
      0x02,
      0x0f,
      0x9c,
      0xc3,
      0x0f,
      0x4c,
      0xd0,
      0x0f,
      0x9f,
      0xc7,
      0xf4,
    ]);
    expect([r[3] & 0xff, r[2], (r[3] >>> 8) & 0xff]).toEqual([1, 1, 0]);
  });

  it("XCHG, BSWAP, XADD and CMPXCHG (both outcomes)", () => {
    const { r, word } = run(
      [
        0xb8,
        ...le(0x11223344),
        0xbb,
        ...le(5),
        0x93, // xchg eax, ebx
        0x0f,
        0xcb, // bswap ebx
        0x0f,
        0xc1,
        0xd8, // xadd eax, ebx: eax = 5 + 0x44332211, ebx = 5
        0xb9,
        ...le(7),
        0x89,
        0xc8,
        0xba,
        ...le(9), // ecx = 7, eax = 7, edx = 9
        0x0f,
        0xb1,
        0x15,
        ...le(0x2000), // cmpxchg [0x2000], edx: [0x2000] == 7 -> [0x2000] = 9
        0x0f,
        0xb1,
        0x15,
        ...le(0x2004), // cmpxchg [0x2004], edx: [0x2004] = 3 != 7 -> eax = 3
        0xf4,
      ],
      (m) => m.load(0x2000, [7, 0, 0, 0, 3, 0, 0, 0]),
    );
    expect(r[3]).toBe(5);
    expect(word(0x2000)).toBe(9);
    expect(word(0x2004)).toBe(3);
    expect(r[0]).toBe(3);
  });

  it("16-bit operand size writes only the low word; LEA with a scaled index", () => {
    const { r } = run([
      0xb8,
      ...le(0xffff0000),
      0x66,
      0xb8,
      0x34,
      0x12,
      0x66,
      0x83,
      0xc0,
      0xff, // mov ax, 0x1234; add ax, -1
      0xbb,
      ...le(0x100),
      0xb9,
      ...le(3),
      0x8d,
      0x74,
      0x8b,
      0x10,
      0xf4, // lea esi, [ebx + ecx*4 + 0x10]
    ]);
    expect(r[0]).toBe(0xffff1233);
    expect(r[6]).toBe(0x100 + 12 + 0x10);
  });
});

describe("faults of integer instructions", () => {
  it("IDIV with a quotient that does not fit raises #DE (Vol. 2 IDIV)", () => {
    const m = testMachine();
    m.load(CODE, [0xb8, ...le(0x80000000), 0x99, 0xbb, ...le(0xffffffff), 0xf7, 0xfb]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(CODE + 11);
    expect(m.cpu.state.regs[0] >>> 0).toBe(0x80000000);
  });

  it("a faulting store leaves the registers and flags of its instruction unchanged", () => {
    const m = testMachine();
    // stc; add [0x300000], eax  (unmapped: EPT violation)
    m.load(CODE, [0xf9, 0x01, 0x05, ...le(0x300000)]);
    expect(m.run()).toBe(ExitReason.EPT_VIOLATION);
    expect(m.vmcs.read(F.GUEST_RFLAGS) & 1).toBe(1);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(CODE + 1);
  });

  it("POPF at CPL 0 cannot set VM; RF is cleared (Vol. 2 POPF)", () => {
    const { flags } = run([0x68, ...le(0x30cd7), 0x9d, 0xf4]);
    expect(flags & 0x20000).toBe(0);
    expect(flags & 0x10000).toBe(0);
    expect(flags & 0xfff).toBe(0xcd7);
  });
});
