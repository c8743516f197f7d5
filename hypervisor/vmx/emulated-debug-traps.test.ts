// Debug traps owed by an instruction that exited and was completed by the
// VMM. Oracle: SDM Vol. 3C §25.1 (instruction exits are fault-like: the
// instruction, and so its TF trap or I/O breakpoint, does not happen),
// §26.6.3 (pending debug exceptions are delivered after VM entry before any
// instruction, as a trap of the previous instruction, through the exception
// bitmap as a #DB exit with the DR6 bits in the qualification, Table 27-1),
// Vol. 3B §17.3.1.4 (single-step trap: BS), §17.2.4 (I/O breakpoints, CR4.DE).
import { describe, expect, it } from "vitest";
import { ExitReason } from "./exit-reason.js";
import { type TestMachine, testMachine } from "./test-machine.js";
import * as F from "./vmcs-fields.js";

const CODE = 0x1000;
const CPUID = [0x0f, 0xa2];
const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

function machine(code: number[]): TestMachine {
  const m = testMachine();
  m.load(CODE, code);
  m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 1);
  return m;
}

/** What a VMM does to complete the instruction that exited: EIP past it. */
function complete(m: TestMachine): void {
  m.vmcs.write(F.GUEST_RIP, m.vmcs.read(F.GUEST_RIP) + m.vmcs.read(F.VM_EXIT_INSTRUCTION_LEN));
}

describe("traps of an exiting instruction the VMM completed", () => {
  it("TF over CPUID: the completed CPUID is followed by a #DB with BS before the next instruction", () => {
    const m = machine([...CPUID, 0x90, 0x90]);
    m.vmcs.write(F.GUEST_RFLAGS, 0x102);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(m.vmcs.read(F.GUEST_RIP)).toBe(CODE);
    complete(m);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO) & 0xff).toBe(1);
    expect([m.vmcs.read(F.GUEST_RIP), m.vmcs.read(F.EXIT_QUALIFICATION)]).toEqual([CODE + 2, 0x4000]);
  });

  it("nothing is owed when the VMM leaves EIP on the instruction (it will run again) or injects an event", () => {
    const again = machine([...CPUID, 0x90]);
    again.vmcs.write(F.GUEST_RFLAGS, 0x102);
    expect(again.run()).toBe(ExitReason.CPUID);
    expect(again.run()).toBe(ExitReason.CPUID); // re-executed: exits again, no #DB first
    const injected = machine([...CPUID, 0x90]);
    injected.vmcs.write(F.GUEST_RFLAGS, 0x102);
    expect(injected.run()).toBe(ExitReason.CPUID);
    complete(injected);
    // Inject #UD (hardware exception 6): with no IDT the delivery shuts down, but no #DB comes first.
    injected.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (F.INTR_INFO_VALID | (3 << 8) | 6) >>> 0);
    expect(injected.run()).not.toBe(ExitReason.EXCEPTION_NMI);
  });

  it("without TF nothing is owed", () => {
    const m = machine([...CPUID, 0x0f, 0x01, 0xc1]);
    expect(m.run()).toBe(ExitReason.CPUID);
    complete(m);
    expect(m.run()).toBe(ExitReason.VMCALL);
  });

  it("an I/O breakpoint on the port of an OUT that exited (CR4.DE, R/W 10) traps after it with its B bit", () => {
    // mov eax, cr4; or eax, 8; mov cr4, eax; mov eax, 0x80; mov dr3, eax; mov eax, L3 | RW3 = 10; mov dr7, eax; out 0x80, al
    const arm = [0x0f, 0x20, 0xe0, 0x83, 0xc8, 0x08, 0x0f, 0x22, 0xe0, 0xb8, ...le(0x80), 0x0f, 0x23, 0xd8];
    const dr7 = [0xb8, ...le((1 << 6) | (2 << 28)), 0x0f, 0x23, 0xf8];
    const m = machine([...arm, ...dr7, 0xe6, 0x80, 0x90]);
    expect(m.run()).toBe(ExitReason.IO_INSTRUCTION);
    complete(m);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    const out = CODE + arm.length + dr7.length;
    expect([m.vmcs.read(F.GUEST_RIP), m.vmcs.read(F.EXIT_QUALIFICATION)]).toEqual([out + 2, 8]);
  });
});
