// Segment-limit checks with 32-bit addressing in non-flat segments.
// Oracle: SDM Vol. 3A §5.3 "Limit Checking" (expand-up: offsets 0..limit;
// expand-down: limit+1..FFFFFFFFH with B = 1, limit+1..FFFFH with B = 0;
// a violation is #GP(0), or #SS(0) through SS) and the "Protected Mode
// Exceptions" of the Vol. 2 pages of MOV, PUSH, POP, STOS, MOVS, XLAT ("#GP(0)
// if a memory operand effective address is outside the CS, DS, ES, FS, or GS
// segment limit", "#SS(0) ... outside the SS segment limit"). A fault leaves
// EIP on the instruction and the registers unchanged (§6.5 faults).
import { describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import { type TestMachine, testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";

const CODE = 0x1000;
const GP = 13;
const SS = 12;
const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
// Access rights (Table 24-2): P, S, DPL 0, G = 1, B = 1; type 3 read/write, type 7 read/write expand-down.
const AR_RW = 0xc093;
const AR_RW_DOWN = 0xc097;
const AR_RW_DOWN_B0 = 0x8097;

/** mov eax, [disp32] (8B 05) and mov [disp32], eax (89 05): 32-bit ModR/M addressing through DS. */
const loadAbs = (a: number) => [0x8b, 0x05, ...le(a)];
const movEdi = (v: number) => [0xbf, ...le(v)];
const movEcx = (v: number) => [0xb9, ...le(v)];
const movEsp = (v: number) => [0xbc, ...le(v)];
const HLT = [0xf4];

const FIELDS = {
  DS: [F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
  ES: [F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES],
  SS: [F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
} as const;

function machine(code: number[], segs: { base: number; limit: number; ar: number; field: "DS" | "ES" | "SS" }[]) {
  const m = testMachine();
  m.load(CODE, code);
  for (const s of segs) {
    const [base, limit, ar] = FIELDS[s.field];
    m.vmcs.write(base, s.base);
    m.vmcs.write(limit, s.limit);
    m.vmcs.write(ar, s.ar);
  }
  return m;
}

/** Run to the fault `vector` (intercepted through the exception bitmap); returns the faulting EIP. */
function fault(m: TestMachine, vector: number): number {
  m.vmcs.write(F.EXCEPTION_BITMAP, (1 << GP) | (1 << SS));
  expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
  expect(m.vmcs.read(F.VM_EXIT_INTR_INFO) & 0xff).toBe(vector);
  expect(m.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(0);
  return m.vmcs.read(F.GUEST_RIP);
}

const ds = (limit: number, ar = AR_RW, base = 0) => ({ field: "DS" as const, base, limit, ar });

describe("expand-up data segment with a limit below 4 GiB (§5.3)", () => {
  it("a doubleword at limit - 3 is inside; at limit - 1 it is #GP(0) at the MOV", () => {
    const ok = machine([...loadAbs(0x2ffc), ...HLT], [ds(0x2fff)]);
    ok.load(0x2ffc, le(0x12345678));
    expect(ok.run()).toBe(ExitReason.HLT);
    expect(ok.cpu.state.regs[0] >>> 0).toBe(0x12345678);
    expect(fault(machine([...loadAbs(0x2ffe), ...HLT], [ds(0x2fff)]), GP)).toBe(CODE);
  });

  it("a byte at the limit is inside, a byte one past it is #GP(0)", () => {
    // mov al, [disp32] (8A 05)
    expect(machine([0x8a, 0x05, ...le(0x2fff), ...HLT], [ds(0x2fff)]).run()).toBe(ExitReason.HLT);
    expect(fault(machine([0x8a, 0x05, ...le(0x3000), ...HLT], [ds(0x2fff)]), GP)).toBe(CODE);
  });

  it("base + index*scale addressing is checked on the effective address, before the segment base is added", () => {
    // mov ebx, 0x1000; mov eax, [ebx + ebx*2] -> offset 0x3000 > limit 0x2fff (base 0x100 makes the linear address legal)
    const code = [0xbb, ...le(0x1000), 0x8b, 0x04, 0x5b, ...HLT];
    expect(fault(machine(code, [ds(0x2fff, AR_RW, 0x100)]), GP)).toBe(CODE + 5);
  });

  it("MOV with a 32-bit moffs (A1) beyond the limit is #GP(0)", () => {
    expect(fault(machine([0xa1, ...le(0x2ffd), ...HLT], [ds(0x2fff)]), GP)).toBe(CODE);
  });

  it("XLAT with [EBX + AL] beyond the limit is #GP(0) (Vol. 2 XLAT)", () => {
    const code = [0xbb, ...le(0x2ff0), 0xb0, 0x10, 0xd7, ...HLT];
    expect(fault(machine(code, [ds(0x2fff)]), GP)).toBe(CODE + 7);
  });

  it("a read-modify-write (ADD [m32], EAX) at limit - 2 is #GP(0) and memory stays unchanged", () => {
    const m = machine([0x01, 0x05, ...le(0x2ffd), ...HLT], [ds(0x2fff)]);
    m.load(0x2ffd, [1, 2, 3]);
    expect(fault(m, GP)).toBe(CODE);
    expect(Array.from(m.ram.subarray(0x2ffd, 0x3000))).toEqual([1, 2, 3]);
  });
});

describe("expand-down data segment (§5.3: offsets limit+1 up to FFFFFFFFH when B = 1, FFFFH when B = 0)", () => {
  it("B = 1: an offset at or below the limit is #GP(0), limit + 1 and FFFFFFFCH are inside", () => {
    const seg = [ds(0x0fff, AR_RW_DOWN, 0x2000)];
    expect(fault(machine([...loadAbs(0xffc), ...HLT], seg), GP)).toBe(CODE);
    // A doubleword starting one byte below limit + 1 straddles the lower bound.
    expect(fault(machine([...loadAbs(0xfff), ...HLT], seg), GP)).toBe(CODE);
    const ok = machine([...loadAbs(0x1000), 0x89, 0xc3, ...loadAbs(0xfffffffc), ...HLT], seg);
    ok.load(0x3000, le(0xaabbccdd));
    ok.load(0x1ffc, le(0x11223344)); // base 0x2000 + FFFFFFFCH wraps to 0x1ffc
    expect(ok.run()).toBe(ExitReason.HLT);
    expect(ok.cpu.state.regs[3] >>> 0).toBe(0xaabbccdd);
    expect(ok.cpu.state.regs[0] >>> 0).toBe(0x11223344);
  });

  it("B = 0: the upper bound is FFFFH even with 32-bit addressing", () => {
    const seg = [ds(0x0fff, AR_RW_DOWN_B0, 0x2000)];
    expect(machine([...loadAbs(0xfffc), ...HLT], seg).run()).toBe(ExitReason.HLT);
    expect(fault(machine([...loadAbs(0xfffe), ...HLT], seg), GP)).toBe(CODE);
    expect(fault(machine([...loadAbs(0x10000), ...HLT], seg), GP)).toBe(CODE);
  });
});

describe("stack segment limits with a 32-bit SS (B = 1): #SS(0)", () => {
  const ss = (limit: number, ar = 0xc093) => ({ field: "SS" as const, base: 0, limit, ar });

  it("an [ESP]-based operand beyond the SS limit is #SS(0)", () => {
    // mov esp, 0x7ffe; mov eax, [esp]
    expect(fault(machine([...movEsp(0x7ffe), 0x8b, 0x04, 0x24, ...HLT], [ss(0x7fff)]), SS)).toBe(CODE + 5);
  });

  it("an EBP-based operand defaults to SS and faults with #SS(0)", () => {
    // mov ebp, 0x8000; mov eax, [ebp+0]
    expect(fault(machine([0xbd, ...le(0x8000), 0x8b, 0x45, 0x00, ...HLT], [ss(0x7fff)]), SS)).toBe(CODE + 5);
  });

  it("PUSH whose slot lies beyond the limit is #SS(0) with ESP unchanged (Vol. 2 PUSH)", () => {
    // Expand-up SS, limit 0x7fff: ESP = 0x8002 puts the pushed doubleword at 0x7ffe..0x8001.
    const m = machine([...movEsp(0x8002), 0x50, ...HLT], [ss(0x7fff)]);
    expect(fault(m, SS)).toBe(CODE + 5);
    expect(m.vmcs.read(F.GUEST_RSP)).toBe(0x8002);
  });

  it("PUSH below the lower bound of an expand-down 32-bit stack is #SS(0); above it succeeds", () => {
    const down = [ss(0x6fff, AR_RW_DOWN)];
    const m = machine([...movEsp(0x7002), 0x50, ...HLT], down);
    expect(fault(m, SS)).toBe(CODE + 5);
    expect(m.vmcs.read(F.GUEST_RSP)).toBe(0x7002);
    const ok = machine([...movEsp(0x7004), 0x6a, 0x2a, ...HLT], down);
    expect(ok.run()).toBe(ExitReason.HLT);
    expect(ok.vmcs.read(F.GUEST_RSP)).toBe(0x7000);
    expect(Array.from(ok.ram.subarray(0x7000, 0x7004))).toEqual([0x2a, 0, 0, 0]);
  });

  it("POP and RET reading beyond the limit are #SS(0)", () => {
    expect(fault(machine([...movEsp(0x7ffe), 0x58, ...HLT], [ss(0x7fff)]), SS)).toBe(CODE + 5);
    expect(fault(machine([...movEsp(0x7ffe), 0xc3], [ss(0x7fff)]), SS)).toBe(CODE + 5);
  });

  it("CALL pushing its return address beyond the limit is #SS(0) (Vol. 2 CALL)", () => {
    expect(fault(machine([...movEsp(0x8002), 0xe8, ...le(0), ...HLT], [ss(0x7fff)]), SS)).toBe(CODE + 5);
  });
});

describe("string instructions with 32-bit addressing (Vol. 2 STOS/MOVS: #GP(0) outside the limit)", () => {
  const es = (limit: number) => ({ field: "ES" as const, base: 0, limit, ar: AR_RW });

  it("STOSD whose doubleword crosses the ES limit is #GP(0) with EDI unchanged", () => {
    const m = machine([...movEdi(0x2ffe), 0xab, ...HLT], [es(0x2fff)]);
    expect(fault(m, GP)).toBe(CODE + 5);
    expect(m.cpu.state.regs[7]).toBe(0x2ffe);
  });

  it("REP MOVSB stops with #GP(0) at the first element past the limit; earlier elements are done", () => {
    // esi = 0x2000, edi = 0x2ffc, ecx = 8: four bytes fit below ES.limit 0x2fff.
    const code = [0xbe, ...le(0x2000), ...movEdi(0x2ffc), ...movEcx(8), 0xf3, 0xa4, ...HLT];
    const m = machine(code, [es(0x2fff)]);
    m.load(0x2000, [1, 2, 3, 4, 5, 6, 7, 8]);
    expect(fault(m, GP)).toBe(CODE + 15);
    expect(Array.from(m.ram.subarray(0x2ffc, 0x3000))).toEqual([1, 2, 3, 4]);
    expect([m.cpu.state.regs[7], m.cpu.state.regs[1], m.ram[0x3000]]).toEqual([0x3000, 4, 0]);
  });

  it("LODSD from a DS source past its limit is #GP(0)", () => {
    expect(fault(machine([0xbe, ...le(0x2ffd), 0xad, ...HLT], [ds(0x2fff)]), GP)).toBe(CODE + 5);
  });
});

describe("flat segments", () => {
  it("a flat 32-bit guest reaches memory anywhere below the limit without faults", () => {
    const m = machine([...loadAbs(0x1ffffc), 0x50, 0x58, ...HLT], []);
    expect(m.run()).toBe(ExitReason.HLT);
  });
});
