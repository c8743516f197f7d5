// Alignment checking, run through Processor.enter. Oracle: SDM Vol. 3A §6.15
// "Interrupt 17—Alignment Check Exception (#AC)" (checked only when CR0.AM = 1,
// EFLAGS.AC = 1 and CPL = 3; a word must be 2-aligned and a doubleword
// 4-aligned; error code 0; a fault: saved EIP is the faulting instruction;
// instruction fetches and implicit supervisor accesses are not checked) and
// Table 2-2 / §2.5 (CR0.AM).
import { describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import { iretToRing3, protectedModeTables, UDATA } from "../vmx/test-descriptors.js";
import { type TestMachine, testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";

const USER = 0x3000;
const CR0_AM = 1 << 18;
const EFLAGS_AC = 1 << 18;
const VMCALL = [0x0f, 0x01, 0xc1];
/** mov eax, [0x5001] (a doubleword at an odd address) */
const MISALIGNED_DWORD = [0xa1, 0x01, 0x50, 0, 0];

function machine(user: number[], opts: { am: boolean; ac: boolean }): TestMachine {
  const m = testMachine();
  protectedModeTables(m);
  if (opts.am) m.vmcs.write(F.GUEST_CR0, m.vmcs.read(F.GUEST_CR0) | CR0_AM);
  m.load(0x1000, iretToRing3(USER, 2 | (opts.ac ? EFLAGS_AC : 0)));
  // push UDATA; pop ds: the IRET to ring 3 nulled DS (it held a DPL-0 segment).
  m.load(USER, [0x6a, UDATA, 0x1f, ...user]);
  m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 17);
  return m;
}

function expectAc(m: TestMachine, eip: number) {
  expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
  expect(m.vmcs.read(F.VM_EXIT_INTR_INFO) & 0xff).toBe(17);
  expect(m.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(0);
  expect(m.vmcs.read(F.GUEST_RIP)).toBe(eip);
}

describe("#AC: misaligned data accesses at CPL 3 with CR0.AM and EFLAGS.AC (§6.15 interrupt 17)", () => {
  it("a doubleword load at an odd address faults with error code 0, EIP on the load", () => {
    expectAc(machine([...MISALIGNED_DWORD, ...VMCALL], { am: true, ac: true }), USER + 3);
  });

  it("a misaligned push (ESP = 2 mod 4) faults: stack accesses are data accesses", () => {
    // sub esp, 2; push eax
    expectAc(machine([0x83, 0xec, 0x02, 0x50, ...VMCALL], { am: true, ac: true }), USER + 6);
  });

  it("a word at an even address and a byte anywhere do not fault", () => {
    // mov ax, [0x5002]; mov al, [0x5003]; vmcall
    const m = machine([0x66, 0xa1, 0x02, 0x50, 0, 0, 0xa0, 0x03, 0x50, 0, 0, ...VMCALL], { am: true, ac: true });
    expect(m.run()).toBe(ExitReason.VMCALL);
  });

  it("no check without EFLAGS.AC, without CR0.AM, or at CPL 0", () => {
    expect(machine([...MISALIGNED_DWORD, ...VMCALL], { am: true, ac: false }).run()).toBe(ExitReason.VMCALL);
    expect(machine([...MISALIGNED_DWORD, ...VMCALL], { am: false, ac: true }).run()).toBe(ExitReason.VMCALL);
    const ring0 = testMachine();
    ring0.vmcs.write(F.GUEST_CR0, ring0.vmcs.read(F.GUEST_CR0) | CR0_AM);
    ring0.vmcs.write(F.GUEST_RFLAGS, 2 | EFLAGS_AC);
    ring0.vmcs.write(F.EXCEPTION_BITMAP, 1 << 17);
    ring0.load(0x1000, [...MISALIGNED_DWORD, ...VMCALL]);
    expect(ring0.run()).toBe(ExitReason.VMCALL);
  });

  it("POPF that sets AC at CPL 3 turns checking on for the next instruction", () => {
    // pushfd; or dword [esp], 0x40000; popfd; mov eax, [0x5001]
    const code = [0x9c, 0x81, 0x0c, 0x24, 0x00, 0x00, 0x04, 0x00, 0x9d, ...MISALIGNED_DWORD, ...VMCALL];
    expectAc(machine(code, { am: true, ac: false }), USER + 12);
  });
});
