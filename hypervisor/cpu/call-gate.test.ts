// Far CALL/JMP through call gates and far RET to an outer privilege level,
// run through Processor.enter. Oracle: SDM Vol. 3A §5.8.3-5.8.6 (call-gate
// checks, stack switching, parameter copy, returning from a called
// procedure), §7.2.1 (TSS SSn:ESPn), and Vol. 2 CALL/JMP/RET pseudocode
// (CALL-GATE, MORE-PRIVILEGE, SAME-PRIVILEGE, RETURN-TO-OUTER-PRIVILEGE-LEVEL
// with the data-segment nulling, and the #GP/#NP/#TS error codes).
import { describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import {
  ESP0,
  ESP3,
  GDT,
  gate,
  get32,
  iretToRing3,
  KCODE,
  KDATA,
  protectedModeTables,
  push32,
  put32,
  put64,
  TSS,
  UCODE,
  UDATA,
} from "../vmx/test-descriptors.js";
import { type TestMachine, testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";

const CODE = 0x1000;
const USER = 0x3000;
const HANDLER = 0x4000;
const VMCALL = [0x0f, 0x01, 0xc1];
/** 9A: CALL ptr16:32 (the offset is ignored for a gate). */
const callFar = (sel: number) => [0x9a, 0, 0, 0, 0, sel & 0xff, sel >> 8];
const jmpFar = (sel: number) => [0xea, 0, 0, 0, 0, sel & 0xff, sel >> 8];

// Gates in the GDT (§5.8.3 layout: selector, offset, DPL, type, parameter count in bits 4:0 of byte 4).
const GATE32_DPL3 = 0x30; // 32-bit gate to KCODE:HANDLER, DPL 3, 2 parameters
const GATE16_DPL3 = 0x38; // 16-bit gate to KCODE:HANDLER, DPL 3, 1 parameter
const GATE32_DPL0 = 0x40; // 32-bit gate to KCODE:HANDLER, DPL 0
const GATE_ABSENT = 0x48; // not present, DPL 3
const GATE_USER = 0x50; // 32-bit gate to UCODE:USER+0x100, DPL 3

function withCount([lo, hi]: [number, number], n: number): [number, number] {
  return [lo, (hi | n) >>> 0];
}

function machine(code: number[], user: number[] = [], handler: number[] = VMCALL): TestMachine {
  const m = testMachine();
  protectedModeTables(m);
  put64(m, GDT + GATE32_DPL3, withCount(gate(KCODE, HANDLER, 3, 0xc), 2));
  put64(m, GDT + GATE16_DPL3, withCount(gate(KCODE, HANDLER, 3, 0x4), 1));
  put64(m, GDT + GATE32_DPL0, gate(KCODE, HANDLER, 0, 0xc));
  put64(m, GDT + GATE_ABSENT, gate(KCODE, HANDLER, 3, 0xc, false));
  put64(m, GDT + GATE_USER, gate(UCODE, USER + 0x100, 3, 0xc));
  m.vmcs.write(F.GUEST_GDTR_LIMIT, 0x57);
  m.load(CODE, code);
  m.load(USER, user);
  m.load(HANDLER, handler);
  return m;
}

const read = (m: TestMachine, f: number) => m.vmcs.read(f);
const stack = (m: TestMachine, n: number) => {
  const esp = read(m, F.GUEST_RSP);
  return Array.from({ length: n }, (_, k) => get32(m, esp + 4 * k));
};

function expectFault(m: TestMachine, vector: number, error: number) {
  m.vmcs.write(F.EXCEPTION_BITMAP, 1 << vector);
  expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
  expect(read(m, F.VM_EXIT_INTR_INFO) & 0xff).toBe(vector);
  expect(read(m, F.VM_EXIT_INTR_ERROR_CODE)).toBe(error);
}

describe("CALL through a call gate to an inner privilege level (§5.8.5, Vol. 2 CALL MORE-PRIVILEGE)", () => {
  const user = [...push32(0x11111111), ...push32(0x22222222), ...callFar(GATE32_DPL3 | 3), ...VMCALL];
  const retAddr = USER + 17;

  it("switches to SS0:ESP0 from the TSS and pushes SS, ESP, the parameters in order, CS and EIP", () => {
    const m = machine(iretToRing3(USER), user);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(read(m, F.GUEST_RIP)).toBe(HANDLER);
    expect(read(m, F.GUEST_CS_SELECTOR)).toBe(KCODE);
    expect(read(m, F.GUEST_SS_SELECTOR)).toBe(KDATA);
    expect(read(m, F.GUEST_RSP)).toBe(ESP0 - 24);
    expect(stack(m, 6)).toEqual([retAddr, UCODE, 0x22222222, 0x11111111, ESP3 - 8, UDATA]);
  });

  it("a 16-bit gate pushes words and copies its word parameter", () => {
    // push word 0x1234 (66 68 iw), call far gate16
    const m = machine(iretToRing3(USER), [0x66, 0x68, 0x34, 0x12, ...callFar(GATE16_DPL3 | 3)]);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(read(m, F.GUEST_RSP)).toBe(ESP0 - 10);
    const esp = read(m, F.GUEST_RSP);
    const w = (k: number) => get32(m, esp + 2 * k) & 0xffff;
    expect([0, 1, 2, 3, 4].map(w)).toEqual([USER + 11, UCODE, 0x1234, (ESP3 - 2) & 0xffff, UDATA]);
  });

  it("RET 8 returns to ring 3: pops CS:EIP, releases the parameters on both stacks, pops SS:ESP", () => {
    // handler: mov ax, KDATA; mov ds, ax; mov es, ax; mov ax, UDATA; mov fs, ax; retf 8
    const handler = [0x66, 0xb8, KDATA, 0, 0x8e, 0xd8, 0x8e, 0xc0, 0x66, 0xb8, UDATA, 0, 0x8e, 0xe0, 0xca, 8, 0];
    const m = machine(iretToRing3(USER), user, handler);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(read(m, F.GUEST_RIP)).toBe(retAddr);
    expect(read(m, F.GUEST_CS_SELECTOR)).toBe(UCODE);
    expect(read(m, F.GUEST_SS_SELECTOR)).toBe(UDATA);
    expect(read(m, F.GUEST_RSP)).toBe(ESP3);
    // DS and ES held DPL-0 data: null after the return to CPL 3; FS (DPL 3) stays.
    expect(read(m, F.GUEST_DS_SELECTOR)).toBe(0);
    expect(read(m, F.GUEST_ES_SELECTOR)).toBe(0);
    expect(read(m, F.GUEST_DS_AR_BYTES) & 0x10000).toBe(0x10000);
    expect(read(m, F.GUEST_FS_SELECTOR)).toBe(UDATA);
  });

  it("#TS(SS selector) when the TSS names a stack segment whose RPL/DPL is not the new CPL", () => {
    const m = machine(iretToRing3(USER), user);
    put32(m, TSS + 8, UDATA);
    expectFault(m, 10, UDATA & 0xfffc);
    expect(read(m, F.GUEST_CS_SELECTOR)).toBe(UCODE);
  });
});

describe("CALL and JMP through a call gate at the same privilege (Vol. 2 CALL SAME-PRIVILEGE, JMP)", () => {
  it("CALL from ring 0 pushes CS and EIP on the current stack and enters at the gate's offset", () => {
    const m = machine(callFar(GATE32_DPL0));
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(read(m, F.GUEST_RIP)).toBe(HANDLER);
    expect(read(m, F.GUEST_RSP)).toBe(0x8000 - 8);
    expect(stack(m, 2)).toEqual([CODE + 7, KCODE]);
  });

  it("CALL from ring 3 through a gate to ring-3 code stays on the ring-3 stack", () => {
    const m = machine(iretToRing3(USER), callFar(GATE_USER | 3));
    m.load(USER + 0x100, VMCALL);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(read(m, F.GUEST_RIP)).toBe(USER + 0x100);
    expect(read(m, F.GUEST_SS_SELECTOR)).toBe(UDATA);
    expect(stack(m, 2)).toEqual([USER + 7, UCODE]);
  });

  it("JMP through a gate pushes nothing", () => {
    const m = machine(jmpFar(GATE32_DPL0));
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(read(m, F.GUEST_RIP)).toBe(HANDLER);
    expect(read(m, F.GUEST_RSP)).toBe(0x8000);
  });

  it("JMP through a gate to more privileged non-conforming code is #GP(code selector)", () => {
    const m = machine(iretToRing3(USER), jmpFar(GATE32_DPL3 | 3));
    expectFault(m, 13, KCODE);
  });
});

describe("call-gate checks (Vol. 2 CALL: #GP/#NP error codes)", () => {
  it("gate DPL < CPL: #GP(gate selector)", () => {
    expectFault(machine(iretToRing3(USER), callFar(GATE32_DPL0 | 3)), 13, GATE32_DPL0);
  });

  it("gate DPL < RPL at CPL 0: #GP(gate selector)", () => {
    expectFault(machine(callFar(GATE32_DPL0 | 3)), 13, GATE32_DPL0);
  });

  it("gate not present: #NP(gate selector), nothing pushed", () => {
    const m = machine(callFar(GATE_ABSENT));
    expectFault(m, 11, GATE_ABSENT);
    expect(read(m, F.GUEST_RIP)).toBe(CODE);
  });
});

// Vol. 3C §25.1.2 (task switches always exit), §25.1.1 (privilege-based faults come first), Table 27-2
// (qualification: TSS selector in 15:0, source in 31:30: 0 CALL, 2 JMP), Vol. 3A §8.3 steps 2-3
// (max(CPL, RPL) <= DPL of the TSS descriptor or task gate, else #GP(selector); not present: #NP(selector)).
describe("JMP/CALL to a TSS or a task gate: the checks, then the task-switch VM exit", () => {
  const TSS2 = 0x30; // available 32-bit TSS, DPL 0
  const TGATE3 = 0x38; // task gate, DPL 3, to TSS2
  const TGATE0 = 0x40; // task gate, DPL 0, to TSS2
  const TGATE_ABSENT = 0x48; // task gate, DPL 3, not present
  function tasks(code: number[], user: number[] = []): TestMachine {
    const m = testMachine();
    protectedModeTables(m);
    put64(m, GDT + TSS2, [0x0a00_0067, 0x0000_8900]);
    const taskGate = (dpl: number, present: boolean): [number, number] => [
      (TSS2 << 16) >>> 0,
      ((present ? 0x8000 : 0) | (dpl << 13) | 0x500) >>> 0,
    ];
    put64(m, GDT + TGATE3, taskGate(3, true));
    put64(m, GDT + TGATE0, taskGate(0, true));
    put64(m, GDT + TGATE_ABSENT, taskGate(3, false));
    m.vmcs.write(F.GUEST_GDTR_LIMIT, 0x4f);
    m.load(CODE, code);
    m.load(USER, user);
    return m;
  }
  const qual = (m: TestMachine) => read(m, F.EXIT_QUALIFICATION);

  it("JMP to a TSS exits with that selector and source 2, EIP left on the JMP", () => {
    const m = tasks(jmpFar(TSS2));
    expect(m.run()).toBe(ExitReason.TASK_SWITCH);
    expect(qual(m)).toBe((TSS2 | (2 << 30)) >>> 0);
    expect(read(m, F.GUEST_RIP)).toBe(CODE);
  });

  it("CALL through a task gate exits with the TSS selector the gate names, source 0", () => {
    const m = tasks(iretToRing3(USER), callFar(TGATE3 | 3));
    expect(m.run()).toBe(ExitReason.TASK_SWITCH);
    expect(qual(m)).toBe(TSS2);
  });

  it("#GP(gate selector) before any exit when CPL 3 calls a DPL-0 task gate", () => {
    const m = tasks(iretToRing3(USER), callFar(TGATE0 | 3));
    expectFault(m, 13, TGATE0);
  });

  it("#GP(TSS selector) when CPL 3 jumps straight to a DPL-0 TSS", () => {
    const m = tasks(iretToRing3(USER), jmpFar(TSS2 | 3));
    expectFault(m, 13, TSS2);
  });

  it("#NP(gate selector) for a task gate that is not present", () => {
    const m = tasks(iretToRing3(USER), jmpFar(TGATE_ABSENT | 3));
    expectFault(m, 11, TGATE_ABSENT);
  });
});
