// LAR, LSL, VERR, VERW, ARPL, SYSENTER/SYSEXIT, CMPXCHG8B and ICEBP run
// through Processor.enter. Oracle: SDM Vol. 2 pseudocode of each instruction
// (LAR/LSL "valid descriptor types" tables, VERR/VERW, ARPL, SYSENTER,
// SYSEXIT, CMPXCHG8B, INT1) and Vol. 3A §5.10 (pointer validation), §6.12.1.1
// (INT1 skips the gate DPL check), Vol. 3C §27.2.5 (instruction length for
// privileged software exceptions). Expected descriptor words are written
// from the §3.4.5 layout, not read back from the implementation.
import { describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import {
  GDT,
  gate,
  get32,
  iretToRing3,
  KCODE,
  protectedModeTables,
  put32,
  put64,
  segment,
  setGate,
  UCODE,
  UDATA,
} from "../vmx/test-descriptors.js";
import { realModeTestMachine, type TestMachine, testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";

const CODE = 0x1000;
const USER = 0x3000;
const ZF = 0x40;
const VMCALL = [0x0f, 0x01, 0xc1];
const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const movAx = (v: number) => [0x66, 0xb8, v & 0xff, (v >> 8) & 0xff];
const ring3 = (flags: number) => iretToRing3(USER, flags);
const toRing3 = ring3(2);

// Extra GDT entries (§3.4.5 layout, §3.5 system types).
const RO_DATA = 0x30; // data, read-only, DPL 0, byte limit 0x1234
const XO_CODE = 0x38; // execute-only code, DPL 0
const CONF_CODE = 0x40; // conforming readable code, DPL 0, G = 1 limit 0x12 -> 0x12fff
const CALL_GATE = 0x48; // 32-bit call gate (type 0xC), DPL 3
const INT_GATE = 0x50; // interrupt gate (type 0xE) in the GDT: not valid for LAR
const DATA3 = 0x58; // read/write data, DPL 3
const BEYOND = 0x80; // outside the GDT limit

function pm(code: number[]): TestMachine {
  const m = testMachine();
  protectedModeTables(m);
  put64(m, GDT + RO_DATA, segment(0x20000, 0x1234, 0x1, 0));
  put64(m, GDT + XO_CODE, segment(0, 0xffffffff, 0x8, 0));
  put64(m, GDT + CONF_CODE, [0x0012, 0x00809e00]); // limit 0x12, type 0xE, S, P, G = 1, D = 0
  put64(m, GDT + CALL_GATE, gate(KCODE, 0x4000, 3, 0xc));
  put64(m, GDT + INT_GATE, gate(KCODE, 0x4000, 0, 0xe));
  put64(m, GDT + DATA3, segment(0, 0xffffffff, 0x3, 3));
  m.vmcs.write(F.GUEST_GDTR_LIMIT, 0x5f);
  m.load(CODE, code);
  return m;
}

/** Run `body` with RFLAGS.ZF = `zfBefore`, expect the VMCALL at its end; returns EBX and ZF. */
function run(body: number[], zfBefore: boolean, setup?: (m: TestMachine) => void) {
  const m = pm([...body, ...VMCALL]);
  m.vmcs.write(F.GUEST_RFLAGS, zfBefore ? 0x42 : 2);
  m.cpu.state.regs[3] = 0x5a5a5a5a;
  setup?.(m);
  expect(m.run()).toBe(ExitReason.VMCALL);
  return { ebx: m.cpu.state.regs[3] >>> 0, zf: (m.vmcs.read(F.GUEST_RFLAGS) & ZF) !== 0, m };
}

const LAR_EBX_AX = [0x0f, 0x02, 0xd8];
const LSL_EBX_AX = [0x0f, 0x03, 0xd8];
const VERR_AX = [0x0f, 0x00, 0xe0];
const VERW_AX = [0x0f, 0x00, 0xe8];

describe("LAR (Vol. 2 LAR)", () => {
  it("loads the second descriptor doubleword masked by 00FxFF00H (bits 19:16 as 0) and sets ZF", () => {
    // Ring-0 flat code: type 0xB, S, DPL 0, P, limit 19:16 = F, D, G -> high word 00CF9B00H.
    expect(run([...movAx(KCODE), ...LAR_EBX_AX], false)).toMatchObject({ ebx: 0x00c09b00, zf: true });
  });

  it("with a 16-bit operand loads only bits 15:0 and leaves the upper half of the register", () => {
    expect(run([...movAx(KCODE), 0x66, ...LAR_EBX_AX], false)).toMatchObject({ ebx: 0x5a5a9b00, zf: true });
  });

  it("null selector, a selector beyond the GDT limit and an interrupt gate clear ZF and leave the destination", () => {
    for (const sel of [0, 3, BEYOND, INT_GATE]) {
      expect(run([...movAx(sel), ...LAR_EBX_AX], true)).toMatchObject({ ebx: 0x5a5a5a5a, zf: false });
    }
  });

  it("accepts a call gate (type 0xC) visible at DPL 3", () => {
    // Call gate high word: offset 31:16 = 0, P, DPL 3, type 0xC -> 0000EC00H.
    expect(run([...movAx(CALL_GATE | 3), ...LAR_EBX_AX], false)).toMatchObject({ ebx: 0x0000ec00, zf: true });
  });

  it("fails when RPL > DPL, except for conforming code", () => {
    expect(run([...movAx(RO_DATA | 3), ...LAR_EBX_AX], true).zf).toBe(false);
    // Conforming code: type 0xE, S, DPL 0, P, G -> 00809E00H after the mask.
    expect(run([...movAx(CONF_CODE | 3), ...LAR_EBX_AX], false)).toMatchObject({ ebx: 0x00809e00, zf: true });
  });

  it("at CPL 3 fails for a DPL-0 data segment and succeeds for a DPL-3 one", () => {
    for (const [sel, ok] of [
      [RO_DATA, false],
      [DATA3 | 3, true],
    ] as const) {
      const m = pm(toRing3);
      m.load(USER, [...movAx(sel), ...LAR_EBX_AX, ...VMCALL]);
      m.vmcs.write(F.GUEST_RFLAGS, ok ? 2 : 0x42);
      expect(m.run()).toBe(ExitReason.VMCALL);
      expect(m.vmcs.read(F.GUEST_CS_SELECTOR)).toBe(UCODE);
      expect((m.vmcs.read(F.GUEST_RFLAGS) & ZF) !== 0).toBe(ok);
    }
  });
});

describe("LSL (Vol. 2 LSL)", () => {
  it("loads the byte-granular limit, scaled by 4 KiB when G = 1", () => {
    expect(run([...movAx(RO_DATA), ...LSL_EBX_AX], false)).toMatchObject({ ebx: 0x1234, zf: true });
    expect(run([...movAx(CONF_CODE), ...LSL_EBX_AX], false)).toMatchObject({ ebx: 0x12fff, zf: true });
    expect(run([...movAx(KCODE), ...LSL_EBX_AX], false)).toMatchObject({ ebx: 0xffffffff, zf: true });
  });

  it("accepts a TSS but no gate", () => {
    expect(run([...movAx(0x18), ...LSL_EBX_AX], false)).toMatchObject({ ebx: 0x67, zf: true });
    expect(run([...movAx(CALL_GATE), ...LSL_EBX_AX], true)).toMatchObject({ ebx: 0x5a5a5a5a, zf: false });
  });

  it("takes its selector from memory", () => {
    // lsl ebx, [0x2000]
    const r = run([0x0f, 0x03, 0x1d, ...le(0x2000)], false, (m) => put32(m, 0x2000, RO_DATA));
    expect(r).toMatchObject({ ebx: 0x1234, zf: true });
  });
});

describe("VERR / VERW (Vol. 2 VERR/VERW)", () => {
  const cases: [string, number[], number, boolean][] = [
    ["VERR readable code", VERR_AX, KCODE, true],
    ["VERR execute-only code", VERR_AX, XO_CODE, false],
    ["VERR read-only data", VERR_AX, RO_DATA, true],
    ["VERR conforming readable code with RPL 3", VERR_AX, CONF_CODE | 3, true],
    ["VERR DPL-0 data with RPL 3", VERR_AX, RO_DATA | 3, false],
    ["VERR a system descriptor (TSS)", VERR_AX, 0x18, false],
    ["VERR null selector", VERR_AX, 0, false],
    ["VERW read/write data", VERW_AX, 0x10, true],
    ["VERW read-only data", VERW_AX, RO_DATA, false],
    ["VERW code", VERW_AX, KCODE, false],
    ["VERW DPL-0 data with RPL 3", VERW_AX, 0x13, false],
    ["VERW DPL-3 data with RPL 3", VERW_AX, DATA3 | 3, true],
  ];
  for (const [name, insn, sel, ok] of cases) {
    it(`${name}: ZF = ${ok ? 1 : 0}`, () => {
      expect(run([...movAx(sel), ...insn], !ok).zf).toBe(ok);
    });
  }
});

describe("ARPL (Vol. 2 ARPL)", () => {
  it("raises the destination RPL to the source RPL and sets ZF", () => {
    // mov ax, 0x10; mov cx, 3; arpl ax, cx; movzx ebx, ax
    const r = run([...movAx(0x10), 0x66, 0xb9, 3, 0, 0x63, 0xc8, 0x0f, 0xb7, 0xd8], false);
    expect(r).toMatchObject({ ebx: 0x13, zf: true });
  });

  it("leaves a destination whose RPL is not lower and clears ZF", () => {
    const r = run([...movAx(0x13), 0x66, 0xb9, 1, 0, 0x63, 0xc8, 0x0f, 0xb7, 0xd8], true);
    expect(r).toMatchObject({ ebx: 0x13, zf: false });
  });

  it("writes a memory destination", () => {
    // mov cx, 2; arpl [0x2000], cx
    const r = run([0x66, 0xb9, 2, 0, 0x63, 0x0d, ...le(0x2000)], false, (m) => put32(m, 0x2000, 0xabcd0028));
    expect(get32(r.m, 0x2000)).toBe(0xabcd002a);
    expect(r.zf).toBe(true);
  });
});

describe("real-address mode: LAR, LSL, VERR, VERW and ARPL are #UD", () => {
  for (const insn of [LAR_EBX_AX, LSL_EBX_AX, VERR_AX, VERW_AX, [0x63, 0xc8]]) {
    it(`${insn.map((b) => b.toString(16)).join(" ")}`, () => {
      const m = realModeTestMachine({ cs: 0, ip: CODE, ss: 0, sp: 0x8000, ds: 0, es: 0 });
      m.load(CODE, insn);
      m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 6);
      expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
      expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000306);
    });
  }
});

describe("SYSENTER / SYSEXIT (Vol. 2 SYSENTER, SYSEXIT)", () => {
  const SYS_CS = 0x10; // CS = 10H, SS = 18H; SYSEXIT: CS = 23H, SS = 2BH (UCODE/UDATA)
  function sysMachine(user: number[], kernel: number[]) {
    const m = pm(ring3(0x202));
    m.load(USER, user);
    m.load(0x4000, kernel);
    m.vmcs.write(F.GUEST_SYSENTER_CS, SYS_CS);
    m.vmcs.write(F.GUEST_SYSENTER_ESP, 0x9800);
    m.vmcs.write(F.GUEST_SYSENTER_EIP, 0x4000);
    return m;
  }

  it("SYSENTER from ring 3 loads flat ring-0 CS/SS from IA32_SYSENTER_CS, ESP/EIP from the MSRs, clears IF", () => {
    const m = sysMachine([0x0f, 0x34], VMCALL);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(0x4000);
    expect(m.vmcs.read(F.GUEST_RSP)).toBe(0x9800);
    expect(m.vmcs.read(F.GUEST_CS_SELECTOR)).toBe(SYS_CS);
    expect(m.vmcs.read(F.GUEST_SS_SELECTOR)).toBe(SYS_CS + 8);
    // CS: type 0xB, S, DPL 0, P, D, G; SS: type 3 (VMX access-rights format, §24.4.1).
    expect(m.vmcs.read(F.GUEST_CS_AR_BYTES)).toBe(0xc09b);
    expect(m.vmcs.read(F.GUEST_SS_AR_BYTES)).toBe(0xc093);
    expect(m.vmcs.read(F.GUEST_RFLAGS) & 0x200).toBe(0);
  });

  it("SYSEXIT returns to ring 3 at EDX with ESP = ECX, CS = SYSENTER_CS + 16 | 3, SS = + 24 | 3", () => {
    // kernel: mov ecx, 0x6000; mov edx, USER + 2; sysexit
    const m = sysMachine([0x0f, 0x34, ...VMCALL], [0xb9, ...le(0x6000), 0xba, ...le(USER + 2), 0x0f, 0x35]);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(USER + 2);
    expect(m.vmcs.read(F.GUEST_RSP)).toBe(0x6000);
    expect(m.vmcs.read(F.GUEST_CS_SELECTOR)).toBe(UCODE);
    expect(m.vmcs.read(F.GUEST_SS_SELECTOR)).toBe(UDATA);
    expect(m.vmcs.read(F.GUEST_CS_AR_BYTES)).toBe(0xc0fb);
    expect(m.vmcs.read(F.GUEST_SS_AR_BYTES)).toBe(0xc0f3);
  });

  function expectGp0(m: TestMachine) {
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 13);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000b0d);
    expect(m.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(0);
  }

  it("#GP(0): SYSENTER with IA32_SYSENTER_CS[15:2] = 0", () => {
    const m = sysMachine([0x0f, 0x34], VMCALL);
    m.vmcs.write(F.GUEST_SYSENTER_CS, 3);
    expectGp0(m);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(USER);
  });

  it("#GP(0): SYSEXIT at CPL 3", () => {
    expectGp0(sysMachine([0x0f, 0x35], VMCALL));
  });

  it("#GP(0): SYSENTER in real-address mode", () => {
    const m = realModeTestMachine({ cs: 0, ip: CODE, ss: 0, sp: 0x8000, ds: 0, es: 0 });
    m.load(CODE, [0x0f, 0x34]);
    m.vmcs.write(F.GUEST_SYSENTER_CS, SYS_CS);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 13);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    // Real-address mode delivers no error code (§20.1.4): vector 13, type 3, no error-code bit.
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x8000030d);
  });
});

describe("CMPXCHG8B m64 (Vol. 2 CMPXCHG8B)", () => {
  const CX8 = [0x0f, 0xc7, 0x0d, ...le(0x2000)]; // cmpxchg8b [0x2000]
  function cx8(memLo: number, memHi: number, zfBefore: boolean) {
    return run(CX8, zfBefore, (m) => {
      put32(m, 0x2000, memLo);
      put32(m, 0x2004, memHi);
      const r = m.cpu.state.regs;
      r[0] = 0x11111111; // EAX
      r[2] = 0x22222222; // EDX
      r[3] = 0x33333333; // EBX
      r[1] = 0x44444444; // ECX
    });
  }

  it("EDX:EAX = m64: stores ECX:EBX and sets ZF", () => {
    const { m, zf } = cx8(0x11111111, 0x22222222, false);
    expect(zf).toBe(true);
    expect([get32(m, 0x2000), get32(m, 0x2004)]).toEqual([0x33333333, 0x44444444]);
  });

  it("EDX:EAX != m64: loads m64 into EDX:EAX, memory unchanged, ZF cleared", () => {
    const { m, zf } = cx8(0x11111111, 0x22222223, true);
    expect(zf).toBe(false);
    expect([m.cpu.state.regs[0] >>> 0, m.cpu.state.regs[2] >>> 0]).toEqual([0x11111111, 0x22222223]);
    expect([get32(m, 0x2000), get32(m, 0x2004)]).toEqual([0x11111111, 0x22222223]);
  });

  it("a register operand is #UD", () => {
    const m = pm([0x0f, 0xc7, 0xc8]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 6);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000306);
  });
});

describe("ICEBP / INT1 (F1, Vol. 2 INT n/INTO/INT3/INT1)", () => {
  it("delivers #DB through a DPL-0 gate even at CPL 3 (no gate DPL check, §6.12.1.1), pushing the next EIP", () => {
    const m = pm(toRing3);
    setGate(m, 1, gate(KCODE, 0x4000, 0));
    m.load(USER, [0x90, 0xf1]);
    m.load(0x4000, VMCALL);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(0x4000);
    expect(get32(m, m.vmcs.read(F.GUEST_RSP))).toBe(USER + 2);
  });

  it("with #DB in the exception bitmap exits as a privileged software exception (type 5) with length 1", () => {
    const m = pm([0x90, 0xf1]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000501);
    expect(m.vmcs.read(F.VM_EXIT_INSTRUCTION_LEN)).toBe(1);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(CODE + 1);
  });
});
