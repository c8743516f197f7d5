// Debug exceptions through Processor.enter. Oracle: SDM Vol. 3B ch. 17
// (§17.2.3 DR6, §17.2.4 DR7 and general detect, §17.2.5 breakpoint address
// and length, §17.3.1.1 instruction breakpoints are faults suppressed by
// RF, §17.3.1.2 data breakpoints are traps, §17.3.1.4 single-step trap not
// taken after the instruction that sets TF), Vol. 3A §6.8.3 (MOV SS),
// Vol. 3C §27.1 / Table 27-1 (a #DB VM exit reports the DR6 bits in the
// exit qualification and leaves DR6 unchanged), Vol. 2 MOV DR; §17.2.4-17.2.5
// I/O breakpoints; Vol. 3C §24.4.2 Table 24-4, §27.3.4 (what VM exit saves in
// the pending debug exceptions field), §26.6.3 (what VM entry does with it),
// §26.3.1.5 (its entry checks).
import { describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import { gate, get32, KCODE, protectedModeTables, put32, setGate } from "../vmx/test-descriptors.js";
import { type TestMachine, testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";

const CODE = 0x1000;
const HANDLER = 0x4000;
const VMCALL = [0x0f, 0x01, 0xc1];
const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
const movEax = (v: number) => [0xb8, ...le(v)];
const MOV_DR0_EAX = [0x0f, 0x23, 0xc0];
const MOV_DR1_EAX = [0x0f, 0x23, 0xc8];
const MOV_DR6_EAX = [0x0f, 0x23, 0xf0];
const MOV_DR7_EAX = [0x0f, 0x23, 0xf8];
const MOV_EAX_DR6 = [0x0f, 0x21, 0xf0];
const MOV_EBX_DR7 = [0x0f, 0x21, 0xfb];
/** pushfd; or dword [esp], 0x100; popfd: sets TF. */
const SET_TF = [0x9c, 0x81, 0x0c, 0x24, 0x00, 0x01, 0x00, 0x00, 0x9d];
const DB_EXIT_INFO = 0x80000301; // vector 1, hardware exception (type 3), valid

function machine(code: number[], handler: number[] = [...MOV_EAX_DR6, ...VMCALL]): TestMachine {
  const m = testMachine();
  protectedModeTables(m);
  setGate(m, 1, gate(KCODE, HANDLER, 0));
  m.load(CODE, code);
  m.load(HANDLER, handler);
  return m;
}

const read = (m: TestMachine, f: number) => m.vmcs.read(f);
const eax = (m: TestMachine) => m.cpu.state.regs[0] >>> 0;

function expectDbExit(m: TestMachine, rip: number, qual: number) {
  m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
  expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
  expect(read(m, F.VM_EXIT_INTR_INFO)).toBe(DB_EXIT_INFO);
  expect(read(m, F.GUEST_RIP)).toBe(rip);
  expect(read(m, F.EXIT_QUALIFICATION)).toBe(qual);
}

describe("single-step trap (EFLAGS.TF, §17.3.1.4)", () => {
  it("is not taken after the POPF that sets TF, but after the next instruction, with DR6.BS", () => {
    // mov eax, 0; mov dr6, eax (DR6 reads back with its reserved bits: FFFF0FF0H); set TF; nop
    const m = machine([...movEax(0), ...MOV_DR6_EAX, ...SET_TF, 0x90]);
    expect(m.run()).toBe(ExitReason.VMCALL);
    const esp = read(m, F.GUEST_RSP);
    expect(get32(m, esp)).toBe(CODE + 5 + 3 + 9 + 1);
    expect(get32(m, esp + 8) & 0x100).toBe(0x100); // the pushed EFLAGS still has TF
    expect(read(m, F.GUEST_RFLAGS) & 0x100).toBe(0); // the handler runs with TF clear
    expect(eax(m)).toBe(0xffff4ff0);
  });

  it("with #DB in the exception bitmap exits after the instruction: qualification BS, DR6 unchanged", () => {
    const m = machine([0x90, 0x90]);
    m.vmcs.write(F.GUEST_RFLAGS, 0x102);
    expectDbExit(m, CODE + 1, 0x4000);
    expect(m.cpu.state.dr[6]).toBe(0);
  });

  it("traps after each iteration of a REP string instruction, EIP staying on it", () => {
    // mov ecx, 3; mov esi, 0x2000; mov edi, 0x2100; rep movsb
    const m = machine([0xb9, ...le(3), 0xbe, ...le(0x2000), 0xbf, ...le(0x2100), 0xf3, 0xa4]);
    m.vmcs.write(F.GUEST_RFLAGS, 0x102);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
    for (let k = 0; k < 3; k++) expect(m.run()).toBe(ExitReason.EXCEPTION_NMI); // after each MOV
    expect(read(m, F.GUEST_RIP)).toBe(CODE + 15);
    for (const left of [2, 1]) {
      expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
      expect([read(m, F.GUEST_RIP), m.cpu.state.regs[1]]).toEqual([CODE + 15, left]);
    }
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect([read(m, F.GUEST_RIP), m.cpu.state.regs[1]]).toEqual([CODE + 17, 0]);
    expect(read(m, F.EXIT_QUALIFICATION)).toBe(0x4000);
  });

  it("after MOV SS is held until the next instruction completes (§6.8.3): one trap after both", () => {
    // mov ax, 0x10; mov ss, ax; nop
    const m = machine([0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd0, 0x90]);
    m.vmcs.write(F.GUEST_RFLAGS, 0x102);
    expectDbExit(m, CODE + 4, 0x4000);
    expectDbExit(m, CODE + 7, 0x4000);
  });

  it("is not taken after INT n (delivery clears TF) nor after a faulting instruction", () => {
    const i = machine([0xcd, 0x30], VMCALL);
    setGate(i, 0x30, gate(KCODE, HANDLER, 0));
    i.vmcs.write(F.GUEST_RFLAGS, 0x102);
    expect(i.run()).toBe(ExitReason.VMCALL);
    const u = machine([0x0f, 0x0b], VMCALL);
    setGate(u, 6, gate(KCODE, HANDLER, 0));
    u.vmcs.write(F.GUEST_RFLAGS, 0x102);
    expect(u.run()).toBe(ExitReason.VMCALL);
    expect(read(u, F.GUEST_RIP)).toBe(HANDLER);
  });
});

describe("instruction breakpoints (DR0-DR3, R/W = 00, §17.3.1.1)", () => {
  // mov eax, target; mov dr0, eax; mov eax, 1 (L0); mov dr7, eax; target: nop; vmcall
  const arm = (target: number) => [...movEax(target), ...MOV_DR0_EAX, ...movEax(1), ...MOV_DR7_EAX];
  const TARGET = CODE + 16;

  it("fault before the instruction executes: EIP at it, qualification B0", () => {
    const m = machine([...arm(TARGET), 0x90, ...VMCALL]);
    expectDbExit(m, TARGET, 1);
  });

  it("the handler returns with RF set in the image: the instruction then runs once without a fault", () => {
    // handler: inc ebx; or dword [esp + 8], 0x10000 (RF); iret
    const handler = [0x43, 0x81, 0x4c, 0x24, 0x08, 0x00, 0x00, 0x01, 0x00, 0xcf];
    const m = machine([...arm(TARGET), 0x90, ...VMCALL], handler);
    m.cpu.state.regs[3] = 0;
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(read(m, F.GUEST_RIP)).toBe(TARGET + 1);
    expect(m.cpu.state.regs[3]).toBe(1);
    expect(m.cpu.state.dr[6] & 0xf).toBe(1);
    expect(read(m, F.GUEST_RFLAGS) & 0x10000).toBe(0); // RF cleared after the instruction completed
  });
});

describe("data breakpoints (R/W = 01 write, 11 read/write, §17.3.1.2, §17.2.5)", () => {
  // DR1 = 0x2000, L1, LEN1 = 11 (4 bytes), R/W1 as given.
  const arm = (rw: number) => [
    ...movEax(0x2000),
    ...MOV_DR1_EAX,
    ...movEax(4 | (rw << 20) | (3 << 22)),
    ...MOV_DR7_EAX,
  ];
  const AFTER_ARM = CODE + 16;

  it("a write overlapping the 4-byte range traps after the instruction with B1", () => {
    // mov [0x2003], al (A2 moffs32)
    const m = machine([...arm(1), 0xa2, ...le(0x2003), 0x90]);
    expectDbExit(m, AFTER_ARM + 5, 2);
    expect(m.cpu.state.dr[6]).toBe(0);
  });

  it("a read does not trigger a write breakpoint; an access outside the range does not trigger", () => {
    // mov eax, [0x2000]; mov [0x2004], eax; vmcall
    const m = machine([...arm(1), 0xa1, ...le(0x2000), 0xa3, ...le(0x2004), ...VMCALL]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
    expect(m.run()).toBe(ExitReason.VMCALL);
  });

  it("R/W = 11 traps on a read; delivered through the IDT it sets DR6.B1", () => {
    const m = machine([...movEax(0), ...MOV_DR6_EAX, ...arm(3), 0xa1, ...le(0x2002), 0x90]);
    put32(m, 0x2000, 0x12345678);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(get32(m, read(m, F.GUEST_RSP))).toBe(CODE + 8 + 16 + 5);
    expect(eax(m)).toBe(0xffff0ff2);
  });
});

describe("MOV DR with DR7.GD (general detect, §17.2.4)", () => {
  it("is a #DB fault with DR6.BD; delivery clears GD so the handler can read DR6 and DR7", () => {
    const m = machine([...MOV_EAX_DR6], [...MOV_EAX_DR6, ...MOV_EBX_DR7, ...VMCALL]);
    m.vmcs.write(F.GUEST_DR7, 0x2400);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(get32(m, read(m, F.GUEST_RSP))).toBe(CODE);
    expect(eax(m) & 0x2000).toBe(0x2000);
    expect(m.cpu.state.regs[3] & 0x2000).toBe(0);
  });

  it("with #DB in the exception bitmap exits with qualification BD and EIP at the MOV", () => {
    const m = machine([0x90, ...MOV_DR0_EAX]);
    m.vmcs.write(F.GUEST_DR7, 0x2400);
    expectDbExit(m, CODE + 1, 0x2000);
    expect(read(m, F.GUEST_DR7)).toBe(0x2400);
  });
});

describe("I/O breakpoints (R/W = 10 with CR4.DE, §17.2.4-17.2.5) on an OUT the processor executes", () => {
  // mov eax, cr4; or eax, 8 (DE); mov cr4, eax; DR2 = 0x80 (L2, R/W2 = 10, LEN2 = 00); out 0x80, al; nop
  const CR4_DE_ON = [0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x08, 0x0f, 0x22, 0xe0];
  const ARM = [...movEax(0x80), 0x0f, 0x23, 0xd0, ...movEax((1 << 4) | (2 << 24)), ...MOV_DR7_EAX];
  const OUT = [0xe6, 0x80, 0x90];
  /** I/O let through (no unconditional I/O exiting, no bitmaps): the processor itself carries out the OUT. */
  const passIo = (m: TestMachine) =>
    m.vmcs.write(F.CPU_BASED_VM_EXEC_CONTROL, (read(m, F.CPU_BASED_VM_EXEC_CONTROL) & ~F.CPU_UNCOND_IO_EXITING) >>> 0);

  it("traps after the OUT with B2 when CR4.DE is set", () => {
    const m = machine([...CR4_DE_ON, ...ARM, ...OUT]);
    passIo(m);
    expectDbExit(m, CODE + CR4_DE_ON.length + ARM.length + 2, 4);
  });

  it("is no breakpoint without CR4.DE (R/W = 10 is then undefined; we take it as none)", () => {
    const m = machine([...ARM, ...OUT.slice(0, 2), ...VMCALL]);
    passIo(m);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
    expect(m.run()).toBe(ExitReason.VMCALL);
  });

  it("a port outside DR2..DR2+LEN-1 does not match", () => {
    const m = machine([...CR4_DE_ON, ...ARM, 0xe6, 0x81, ...VMCALL]);
    passIo(m);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
    expect(m.run()).toBe(ExitReason.VMCALL);
  });
});

describe("the pending debug exceptions field (Table 24-4)", () => {
  it("§26.6.3: BS pending at VM entry is a #DB before the first instruction (exits through the bitmap)", () => {
    const m = machine([0x90, 0x90]);
    m.vmcs.write(F.GUEST_RFLAGS, 0x102);
    m.vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0x4000);
    expectDbExit(m, CODE, 0x4000);
    expect(read(m, F.GUEST_PENDING_DBG_EXCEPTIONS)).toBe(0);
  });

  it("§26.6.3: delivered through the IDT it pushes the entry EIP and sets DR6.B1 (bit 12 makes it valid)", () => {
    const m = machine([0x90, 0x90]);
    m.vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0x1002);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(get32(m, read(m, F.GUEST_RSP))).toBe(CODE);
    expect(eax(m) & 0xe00f).toBe(2);
  });

  it("§26.6.3: B bits without BS or bit 12 are not valid pending debug exceptions: nothing is delivered", () => {
    const m = machine([...VMCALL]);
    m.vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0x2 & 0xf);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
    expect(m.run()).toBe(ExitReason.VMCALL);
  });

  it("§26.6.3: under MOV-SS blocking they are held until the next instruction completes", () => {
    const m = machine([0x90, 0x90]);
    m.vmcs.write(F.GUEST_INTERRUPTIBILITY_INFO, F.INTERRUPTIBILITY_MOV_SS);
    m.vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0x1001);
    expectDbExit(m, CODE + 1, 1);
  });

  it("§27.3.4: saved clear by an exit that is not under MOV-SS blocking", () => {
    const m = machine([0x90, 0x90, 0x90]);
    m.vmcs.write(F.GUEST_PENDING_DBG_EXCEPTIONS, 0);
    expect(m.run(1)).toBe(ExitReason.EXTERNAL_INTERRUPT);
    expect(read(m, F.GUEST_PENDING_DBG_EXCEPTIONS)).toBe(0);
  });

  it("§27.3.4: an exit right after POP SS hit a data breakpoint saves B0 and bit 12; the next entry delivers it after one instruction", () => {
    // push 0x10; DR0 = 0x7ffc (the pushed slot), L0, R/W0 = 11, LEN0 = 11; pop ss; nop; nop
    const code = [0x6a, 0x10, ...movEax(0x7ffc), ...MOV_DR0_EAX, ...movEax(1 | (3 << 16) | (3 << 18)), ...MOV_DR7_EAX];
    const m = machine([...code, 0x17, 0x90, 0x90]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
    expect(m.run(6)).toBe(ExitReason.EXTERNAL_INTERRUPT); // budget ends after POP SS: the trap is held (§6.8.3)
    expect(read(m, F.GUEST_RIP)).toBe(CODE + code.length + 1);
    expect(read(m, F.GUEST_INTERRUPTIBILITY_INFO) & F.INTERRUPTIBILITY_MOV_SS).toBe(F.INTERRUPTIBILITY_MOV_SS);
    expect(read(m, F.GUEST_PENDING_DBG_EXCEPTIONS)).toBe(0x1001);
    expect(m.cpu.state.dbgCarry).toBe(0); // nothing stays in the processor between entries
    expectDbExit(m, CODE + code.length + 2, 1);
  });

  it("§27.3.4 / §26.3.1.5: with TF set the saved value has BS, so the next VM entry passes its checks", () => {
    // mov ax, 0x10; mov ss, ax with TF: the budget ends between MOV SS and the next instruction
    const m = machine([0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd0, 0x90, 0x90]);
    m.vmcs.write(F.GUEST_RFLAGS, 0x102);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
    expectDbExit(m, CODE + 4, 0x4000);
    expect(m.run(1)).toBe(ExitReason.EXTERNAL_INTERRUPT);
    expect(read(m, F.GUEST_PENDING_DBG_EXCEPTIONS)).toBe(0x4000);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI); // not an entry failure
    expect([read(m, F.GUEST_RIP), read(m, F.EXIT_QUALIFICATION)]).toEqual([CODE + 7, 0x4000]);
  });
});
