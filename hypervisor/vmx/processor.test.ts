// VMX non-root operation of the emulated processor. Oracle: the Intel SDM
// Vol. 3C — ch. 25 (which instructions and events exit), ch. 26 (VM entry,
// event injection), ch. 27 (exit reasons, qualifications, instruction
// length/information, IDT-vectoring information) — and Vol. 3A ch. 6
// (interrupt delivery, double/triple fault). Expected values are written
// from the cited section, not taken from the implementation.
import { describe, expect, it } from "vitest";
import { EPT_READ } from "../mmu/ept.js";
import { ExitReason } from "./exit-reason.js";
import {
  ESP0,
  ESP3,
  gate,
  get32,
  KCODE,
  protectedModeTables,
  put32,
  setGate,
  UCODE,
  UDATA,
} from "./test-descriptors.js";
import { testMachine } from "./test-machine.js";
import * as F from "./vmcs-fields.js";

const CODE = 0x1000;
const le = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];

function machine(code: number[]) {
  const m = testMachine();
  m.load(CODE, code);
  return m;
}

function setProc(m: ReturnType<typeof testMachine>, bits: number, on = true) {
  const v = m.vmcs.read(F.CPU_BASED_VM_EXEC_CONTROL);
  m.vmcs.write(F.CPU_BASED_VM_EXEC_CONTROL, (on ? v | bits : v & ~bits) >>> 0);
}

function setProc2(m: ReturnType<typeof testMachine>, bits: number) {
  m.vmcs.write(F.SECONDARY_VM_EXEC_CONTROL, (m.vmcs.read(F.SECONDARY_VM_EXEC_CONTROL) | bits) >>> 0);
}

const rip = (m: ReturnType<typeof testMachine>) => m.vmcs.read(F.GUEST_RIP);
const qual = (m: ReturnType<typeof testMachine>) => m.vmcs.read(F.EXIT_QUALIFICATION);
const len = (m: ReturnType<typeof testMachine>) => m.vmcs.read(F.VM_EXIT_INSTRUCTION_LEN);
const regs = (m: ReturnType<typeof testMachine>) => m.cpu.state.regs;

describe("VM entry (SDM §26.3)", () => {
  it("fails with exit reason 33 | 0x80000000 on invalid guest state and runs nothing", () => {
    const m = machine([0x90]);
    m.vmcs.write(F.GUEST_CR0, 0x11); // PG and PE are VMX-fixed to 1 without unrestricted guest
    m.vmcs.write(F.SECONDARY_VM_EXEC_CONTROL, F.SEC_ENABLE_EPT);
    expect(m.run()).toBe(0x80000021);
    expect(qual(m)).toBe(0);
    expect(m.cpu.retired).toBe(0);
    expect(m.cpu.entryFailure).toMatch(/CR0/);
  });
});

describe("instruction-caused exits leave EIP at the instruction with its length (§27.2.5)", () => {
  it("CPUID exits unconditionally (§25.1.2, reason 10)", () => {
    const m = machine([0x90, 0x0f, 0xa2]);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(rip(m)).toBe(CODE + 1);
    expect(len(m)).toBe(2);
    expect(m.cpu.retired).toBe(1);
  });

  it("HLT exits with HLT exiting (reason 12)", () => {
    const m = machine([0xf4]);
    expect(m.run()).toBe(ExitReason.HLT);
    expect(len(m)).toBe(1);
  });

  it("HLT without HLT exiting enters the HLT activity state until the budget ends", () => {
    const m = machine([0x90, 0xf4, 0x90]);
    setProc(m, F.CPU_HLT_EXITING, false);
    expect(m.run(500)).toBe(ExitReason.EXTERNAL_INTERRUPT);
    expect(m.vmcs.read(F.GUEST_ACTIVITY_STATE)).toBe(F.ACTIVITY_HLT);
    expect(rip(m)).toBe(CODE + 2);
    expect(m.cpu.retired).toBe(500);
  });

  it("VMCALL exits (reason 18) and the other VMX instructions exit with their reasons", () => {
    expect(machine([0x0f, 0x01, 0xc1]).run()).toBe(ExitReason.VMCALL);
    expect(machine([0x0f, 0x01, 0xc2]).run()).toBe(ExitReason.VMLAUNCH);
    expect(machine([0x0f, 0x01, 0xc3]).run()).toBe(ExitReason.VMRESUME);
    expect(machine([0x0f, 0x01, 0xc4]).run()).toBe(ExitReason.VMXOFF);
    // VMPTRLD [0x2000]: Table 27-13: address size 32 (bit 7), DS (3 << 15), no index (22), no base (27); qual = disp
    const m = machine([0x0f, 0xc7, 0x35, ...le(0x2000)]);
    expect(m.run()).toBe(ExitReason.VMPTRLD);
    expect(m.vmcs.read(F.VMX_INSTRUCTION_INFO)).toBe((1 << 7) | (3 << 15) | (1 << 22) | (1 << 27));
    expect(qual(m)).toBe(0x2000);
    expect(len(m)).toBe(7);
    expect(machine([0x66, 0x0f, 0xc7, 0x30]).run()).toBe(ExitReason.VMCLEAR);
    expect(machine([0xf3, 0x0f, 0xc7, 0x30]).run()).toBe(ExitReason.VMXON);
    // VMREAD eax, ebx (0F 78 /r, mod 3): Table 27-14 register operand: bit 10, reg1 = EAX (6:3), reg2 = EBX (31:28)
    const r = machine([0x0f, 0x78, 0xd8]);
    expect(r.run()).toBe(ExitReason.VMREAD);
    expect(r.vmcs.read(F.VMX_INSTRUCTION_INFO)).toBe(((1 << 10) | (0 << 3) | (3 << 28)) >>> 0);
  });

  it("INVD exits unconditionally (reason 13); WBINVD (54) and PAUSE (40) only with their controls", () => {
    expect(machine([0x0f, 0x08]).run()).toBe(ExitReason.INVD);
    const w = machine([0x0f, 0x09, 0xf3, 0x90, 0xf4]);
    expect(w.run()).toBe(ExitReason.HLT);
    setProc2(w, F.SEC_WBINVD_EXITING);
    setProc(w, F.CPU_PAUSE_EXITING);
    w.vmcs.write(F.GUEST_RIP, CODE);
    expect(w.run()).toBe(ExitReason.WBINVD);
    w.vmcs.write(F.GUEST_RIP, CODE + 2);
    expect(w.run()).toBe(ExitReason.PAUSE);
    expect(len(w)).toBe(2);
  });
});

describe("I/O instructions (§25.1.3, Table 27-5, Table 27-8)", () => {
  it("IN AL, imm8: size 1, direction in, immediate operand, port", () => {
    const m = machine([0xe4, 0x60]);
    expect(m.run()).toBe(ExitReason.IO_INSTRUCTION);
    expect(qual(m)).toBe(0 | 8 | 0x40 | (0x60 << 16));
    expect(len(m)).toBe(2);
  });

  it("OUT DX, EAX: size 4, direction out, DX operand", () => {
    const m = machine([0x66, 0xba, 0xf8, 0x03, 0xef]);
    expect(m.run()).toBe(ExitReason.IO_INSTRUCTION);
    expect(qual(m)).toBe(3 | (0x3f8 << 16));
    expect(rip(m)).toBe(CODE + 4);
  });

  it("REP OUTSB: string and REP bits, linear address of DS:ESI, 32-bit address size and DS segment", () => {
    const m = machine([0xbe, ...le(0x2000), 0x66, 0xba, 0xf8, 0x03, 0xf3, 0x6e]);
    expect(m.run()).toBe(ExitReason.IO_INSTRUCTION);
    expect(qual(m)).toBe(0 | 0x10 | 0x20 | (0x3f8 << 16));
    expect(m.vmcs.read(F.GUEST_LINEAR_ADDRESS)).toBe(0x2000);
    expect(m.vmcs.read(F.VMX_INSTRUCTION_INFO)).toBe((1 << 7) | (3 << 15));
    expect(len(m)).toBe(2);
  });

  it("INSW: size 2, in, string; ES:EDI", () => {
    const m = machine([0xbf, ...le(0x3000), 0x66, 0x6d]);
    expect(m.run()).toBe(ExitReason.IO_INSTRUCTION);
    expect(qual(m)).toBe(1 | 8 | 0x10);
    expect(m.vmcs.read(F.GUEST_LINEAR_ADDRESS)).toBe(0x3000);
  });

  it("with I/O bitmaps, exits only if a bit of any accessed port is set", () => {
    const m = machine([0xe6, 0x70, 0x66, 0xe7, 0x70, 0xf4]);
    setProc(m, F.CPU_UNCOND_IO_EXITING, false);
    setProc(m, F.CPU_USE_IO_BITMAPS);
    m.vmcs.ioBitmap[0x71 >>> 3] |= 1 << (0x71 & 7);
    expect(m.run()).toBe(ExitReason.IO_INSTRUCTION); // OUT 0x70, AL passes; OUT 0x70, AX touches 0x71
    expect(rip(m)).toBe(CODE + 2);
    expect(qual(m)).toBe(1 | 0x40 | (0x70 << 16));
  });
});

describe("the budget, interrupt window and preemption timer", () => {
  it("ends with an external-interrupt exit after exactly `budget` instructions; TSC advances by them", () => {
    const m = machine([0xeb, 0xfe]);
    const tsc = m.cpu.tsc;
    expect(m.run(1234)).toBe(ExitReason.EXTERNAL_INTERRUPT);
    expect(m.cpu.retired).toBe(1234);
    expect(m.cpu.tsc - tsc).toBe(1234);
    expect(rip(m)).toBe(CODE);
  });

  it("interrupt-window exiting with IF = 1 exits before any instruction (§26.7.5)", () => {
    const m = machine([0x90]);
    setProc(m, F.CPU_INTR_WINDOW_EXITING);
    m.vmcs.write(F.GUEST_RFLAGS, 0x202);
    expect(m.run()).toBe(ExitReason.INTERRUPT_WINDOW);
    expect(m.cpu.retired).toBe(0);
  });

  it("STI blocking delays the interrupt window by one instruction (§24.4.2)", () => {
    const m = machine([0x90, 0xfb, 0x90, 0x90]);
    setProc(m, F.CPU_INTR_WINDOW_EXITING);
    expect(m.run()).toBe(ExitReason.INTERRUPT_WINDOW);
    expect(rip(m)).toBe(CODE + 3);
    expect(m.cpu.retired).toBe(3);
    expect(m.vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO)).toBe(0);
  });

  it("an exit right after STI saves STI blocking in the interruptibility state", () => {
    const m = machine([0xfb, 0x0f, 0xa2]);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(m.vmcs.read(F.GUEST_INTERRUPTIBILITY_INFO)).toBe(F.INTERRUPTIBILITY_STI);
  });

  it("the VMX-preemption timer counts retired instructions and its value is saved (§25.5.1)", () => {
    const m = machine([0xeb, 0xfe]);
    m.vmcs.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_EXTINT_EXITING | F.PIN_PREEMPTION_TIMER);
    m.vmcs.write(F.VM_EXIT_CONTROLS, F.EXIT_SAVE_PREEMPTION_TIMER);
    m.vmcs.write(F.VMX_PREEMPTION_TIMER_VALUE, 5);
    expect(m.run(1000)).toBe(ExitReason.PREEMPTION_TIMER);
    expect(m.cpu.retired).toBe(5);
    expect(m.vmcs.read(F.VMX_PREEMPTION_TIMER_VALUE)).toBe(0);
    // a zero timer exits before the first instruction
    expect(m.run(1000)).toBe(ExitReason.PREEMPTION_TIMER);
    expect(m.cpu.retired).toBe(0);
  });
});

describe("MSR accesses (§25.1.3 MSR bitmaps)", () => {
  it("exit without MSR bitmaps", () => {
    expect(machine([0xb9, ...le(0x174), 0x0f, 0x32]).run()).toBe(ExitReason.RDMSR);
    expect(machine([0xb9, ...le(0x174), 0x0f, 0x30]).run()).toBe(ExitReason.WRMSR);
  });

  it("with bitmaps: SYSENTER MSRs go to the guest state; set bits and MSRs outside both ranges exit", () => {
    const m = machine([
      0xb9,
      ...le(0x174),
      0xb8,
      ...le(0x1234),
      0x31,
      0xd2,
      0x0f,
      0x30, // wrmsr SYSENTER_CS = 0x1234
      0x0f,
      0x32, // rdmsr: EAX = 0x1234 again
      0xb9,
      ...le(0x10),
      0x0f,
      0x32, // rdmsr TSC: read bit set -> exit
    ]);
    setProc(m, F.CPU_USE_MSR_BITMAPS);
    m.vmcs.msrBitmap[0x10 >>> 3] |= 1 << (0x10 & 7);
    expect(m.run()).toBe(ExitReason.RDMSR);
    expect(rip(m)).toBe(CODE + 21);
    expect(m.vmcs.read(F.GUEST_SYSENTER_CS)).toBe(0x1234);
    expect(regs(m)[0]).toBe(0x1234);
    const out = machine([0xb9, ...le(0x40000000), 0x0f, 0x32]);
    setProc(out, F.CPU_USE_MSR_BITMAPS);
    expect(out.run()).toBe(ExitReason.RDMSR);
  });
});

describe("control and debug registers (§25.1.3, §25.3, Table 27-3)", () => {
  it("MOV from CR0 reads host-owned bits from the read shadow", () => {
    const m = machine([0x0f, 0x20, 0xc0, 0xf4]);
    m.vmcs.write(F.CR0_GUEST_HOST_MASK, 0x20); // NE owned by the host
    m.vmcs.write(F.CR0_READ_SHADOW, 0x00);
    expect(m.run()).toBe(ExitReason.HLT);
    expect(regs(m)[0] >>> 0).toBe(0x11);
  });

  it("MOV to CR0 exits when a host-owned bit differs from the shadow: qualification CR 0, type 0, GPR", () => {
    const m = machine([0xbb, ...le(0x31), 0x0f, 0x22, 0xc3]);
    m.vmcs.write(F.CR0_GUEST_HOST_MASK, 0x20);
    m.vmcs.write(F.CR0_READ_SHADOW, 0x00);
    expect(m.run()).toBe(ExitReason.CR_ACCESS);
    expect(qual(m)).toBe(0 | (0 << 4) | (3 << 8));
    expect(len(m)).toBe(3);
  });

  it("MOV to CR0 that matches the shadow changes only guest-owned bits", () => {
    const m = machine([0xbb, ...le(0x10), 0x0f, 0x22, 0xc3, 0xf4]);
    m.vmcs.write(F.CR0_GUEST_HOST_MASK, 0x20);
    m.vmcs.write(F.CR0_READ_SHADOW, 0x00);
    expect(m.run()).toBe(ExitReason.HLT);
    expect(m.vmcs.read(F.GUEST_CR0)).toBe(0x30); // PE cleared (guest-owned), NE kept (host-owned)
  });

  it("CR3-load exiting, except for a CR3-target value", () => {
    const m = machine([0xb8, ...le(0x5000), 0x0f, 0x22, 0xd8, 0xb8, ...le(0x6000), 0x0f, 0x22, 0xd8]);
    setProc(m, F.CPU_CR3_LOAD_EXITING);
    m.vmcs.write(F.CR3_TARGET_COUNT, 1);
    m.vmcs.write(0x6008, 0x5000);
    expect(m.run()).toBe(ExitReason.CR_ACCESS);
    expect(rip(m)).toBe(CODE + 13);
    expect(qual(m)).toBe(3);
    expect(m.vmcs.read(F.GUEST_CR3)).toBe(0x5000);
  });

  it("CLTS exits when TS is host-owned and set in the shadow (type 2); LMSW reports its source (type 3)", () => {
    const c = machine([0x0f, 0x06]);
    c.vmcs.write(F.CR0_GUEST_HOST_MASK, 8);
    c.vmcs.write(F.CR0_READ_SHADOW, 8);
    expect(c.run()).toBe(ExitReason.CR_ACCESS);
    expect(qual(c)).toBe(2 << 4);
    const l = machine([0xb8, ...le(0x0b), 0x0f, 0x01, 0xf0]);
    l.vmcs.write(F.CR0_GUEST_HOST_MASK, 8);
    l.vmcs.write(F.CR0_READ_SHADOW, 0);
    expect(l.run()).toBe(ExitReason.CR_ACCESS);
    expect(qual(l)).toBe((3 << 4) | (0x0b << 16));
  });

  it("MOV DR exits with MOV-DR exiting (Table 27-4); INVLPG with its linear address (Table 27-1)", () => {
    const d = machine([0x0f, 0x23, 0xfb]);
    setProc(d, F.CPU_MOV_DR_EXITING);
    expect(d.run()).toBe(ExitReason.DR_ACCESS);
    expect(qual(d)).toBe(7 | (3 << 8));
    const i = machine([0xb8, ...le(0x123456), 0x0f, 0x01, 0x78, 0x10]);
    setProc(i, F.CPU_INVLPG_EXITING);
    expect(i.run()).toBe(ExitReason.INVLPG);
    expect(qual(i)).toBe(0x123466);
  });

  it("RDTSC exits with RDTSC exiting; otherwise returns TSC + TSC_OFFSET (§25.3)", () => {
    const e = machine([0x0f, 0x31]);
    setProc(e, F.CPU_RDTSC_EXITING);
    expect(e.run()).toBe(ExitReason.RDTSC);
    const m = machine([0x90, 0x90, 0x0f, 0x31, 0xf4]);
    setProc(m, F.CPU_USE_TSC_OFFSETTING);
    m.vmcs.write(F.TSC_OFFSET, 0x100000000 + 7);
    const before = m.cpu.tsc;
    expect(m.run()).toBe(ExitReason.HLT);
    expect(regs(m)[0]).toBe(before + 2 + 7); // two instructions retired before RDTSC
    expect(regs(m)[2]).toBe(1);
  });
});

describe("exceptions and the exception bitmap (§25.2, §27.2.2)", () => {
  it("#UD with its bitmap bit exits with interruption info (vector 6, type 3), EIP at UD2", () => {
    const m = machine([0x90, 0x0f, 0x0b]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 6);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000306);
    expect(rip(m)).toBe(CODE + 1);
    expect(m.cpu.retired).toBe(1);
  });

  it("#DE from DIV by zero exits with vector 0; INT3 exits as a software exception with its length", () => {
    const m = machine([0x31, 0xdb, 0xf7, 0xf3]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000300);
    expect(rip(m)).toBe(CODE + 2);
    const b = machine([0xcc]);
    b.vmcs.write(F.EXCEPTION_BITMAP, 1 << 3);
    expect(b.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(b.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000603);
    expect(len(b)).toBe(1);
    expect(rip(b)).toBe(CODE);
  });

  it("an unmodelled opcode raises #UD, not a host error", () => {
    const m = machine([0x0f, 0xff]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 6);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000306);
  });

  it("a fault while delivering #GP through a missing IDT becomes #DF, then a triple fault (exit 2, §6.15)", () => {
    const m = machine([0x0f, 0x0b]);
    m.vmcs.write(F.GUEST_IDTR_LIMIT, 0);
    expect(m.run()).toBe(ExitReason.TRIPLE_FAULT);
    expect(rip(m)).toBe(CODE);
  });
});

describe("EPT violations (§28.2.3, Table 27-7)", () => {
  it("a write to an unmapped guest-physical address: qualification, GPA and linear address", () => {
    const m = machine([0xa3, ...le(0x300010)]);
    expect(m.run()).toBe(ExitReason.EPT_VIOLATION);
    expect(qual(m)).toBe(0x2 | 0x80 | 0x100);
    expect(m.vmcs.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(0x300010);
    expect(m.vmcs.read(F.GUEST_LINEAR_ADDRESS)).toBe(0x300010);
    expect(rip(m)).toBe(CODE);
  });

  it("a write to a read-only EPT page reports the page's rights in bits 5:3", () => {
    const m = machine([0xa3, ...le(0x5004)]);
    m.ept.protect(0x5000, 0x1000, EPT_READ);
    expect(m.run()).toBe(ExitReason.EPT_VIOLATION);
    expect(qual(m)).toBe(0x2 | (EPT_READ << 3) | 0x80 | 0x100);
  });

  it("an instruction fetch from a non-executable page sets bit 2", () => {
    const m = machine([0xe9, ...le(0x5000 - CODE - 5)]);
    m.ept.protect(0x5000, 0x1000, EPT_READ);
    expect(m.run()).toBe(ExitReason.EPT_VIOLATION);
    expect(qual(m)).toBe(0x4 | (EPT_READ << 3) | 0x80 | 0x100);
    expect(rip(m)).toBe(0x5000);
  });

  it("an instruction ending exactly at the end of mapped memory does not fault on the next page", () => {
    const m = testMachine(0x2000, { eip: 0x1ffe, esp: 0x1000 });
    m.load(0x1ffe, [0x0f, 0xa2]);
    expect(m.run()).toBe(ExitReason.CPUID);
    const n = testMachine(0x2000, { eip: 0x1fff, esp: 0x1000 });
    n.load(0x1fff, [0x0f]);
    expect(n.run()).toBe(ExitReason.EPT_VIOLATION);
    expect(n.vmcs.read(F.GUEST_PHYSICAL_ADDRESS)).toBe(0x2000);
  });
});

describe("interrupt delivery through the IDT (Vol. 3A §6.12) and event injection (§26.6)", () => {
  function pm(code: number[]) {
    const m = machine(code);
    protectedModeTables(m);
    return m;
  }

  it("INT n pushes EFLAGS, CS, return EIP and clears IF through an interrupt gate", () => {
    const m = pm([0xfb, 0xcd, 0x30]);
    setGate(m, 0x30, gate(KCODE, 0x4000, 0));
    m.load(0x4000, [0xf4]);
    expect(m.run()).toBe(ExitReason.HLT);
    expect(rip(m)).toBe(0x4000);
    const esp = m.vmcs.read(F.GUEST_RSP);
    expect(esp).toBe(0x8000 - 12);
    expect(get32(m, esp)).toBe(CODE + 3);
    expect(get32(m, esp + 4)).toBe(KCODE);
    expect(get32(m, esp + 8) & 0x200).toBe(0x200);
    expect(m.vmcs.read(F.GUEST_RFLAGS) & 0x200).toBe(0);
  });

  it("injects an external interrupt: the frame's EIP is the guest RIP, the valid bit is cleared", () => {
    const m = pm([0x90]);
    setGate(m, 0x20, gate(KCODE, 0x4000, 0));
    m.load(0x4000, [0x0f, 0x01, 0xc1]);
    m.vmcs.write(F.GUEST_RFLAGS, 0x202);
    m.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (F.INTR_INFO_VALID | 0x20) >>> 0);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(m.vmcs.read(F.VM_ENTRY_INTR_INFO_FIELD) & F.INTR_INFO_VALID).toBe(0);
    expect(get32(m, m.vmcs.read(F.GUEST_RSP))).toBe(CODE);
  });

  it("injects a hardware exception with its error code and a software interrupt past its length", () => {
    const m = pm([0x90]);
    setGate(m, 13, gate(KCODE, 0x4000, 0));
    setGate(m, 0x40, gate(KCODE, 0x4000, 0));
    m.load(0x4000, [0xf4]);
    m.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (F.INTR_INFO_VALID | F.INTR_INFO_DELIVER_ERROR | (3 << 8) | 13) >>> 0);
    m.vmcs.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, 0x1234);
    expect(m.run()).toBe(ExitReason.HLT);
    expect(get32(m, m.vmcs.read(F.GUEST_RSP))).toBe(0x1234);
    expect(get32(m, m.vmcs.read(F.GUEST_RSP) + 4)).toBe(CODE);
    const s = pm([0x90]);
    setGate(s, 0x40, gate(KCODE, 0x4000, 0));
    s.load(0x4000, [0xf4]);
    s.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (F.INTR_INFO_VALID | (4 << 8) | 0x40) >>> 0);
    s.vmcs.write(F.VM_ENTRY_INSTRUCTION_LEN, 2);
    expect(s.run()).toBe(ExitReason.HLT);
    expect(get32(s, s.vmcs.read(F.GUEST_RSP))).toBe(CODE + 2);
  });

  it("a VM exit during delivery of an injected event records it as IDT-vectoring information (§27.2.4)", () => {
    const m = pm([0x90]);
    setGate(m, 0x20, gate(KCODE, 0x4000, 0));
    m.vmcs.write(F.GUEST_RSP, 0x300000); // the frame would go to unmapped guest-physical memory
    m.vmcs.write(F.GUEST_RFLAGS, 0x202);
    const info = (F.INTR_INFO_VALID | 0x20) >>> 0;
    m.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, info);
    expect(m.run()).toBe(ExitReason.EPT_VIOLATION);
    expect(m.vmcs.read(F.IDT_VECTORING_INFO_FIELD)).toBe(info);
    expect(rip(m)).toBe(CODE);
  });

  it("#GP in delivery of #GP (gate not present -> #NP) becomes #DF with error code 0 (Table 6-5)", () => {
    const m = pm([0x66, 0xb8, 0x40, 0x00, 0x8e, 0xd8]); // mov ax, 0x40; mov ds, ax: beyond the GDT limit -> #GP(0x40)
    setGate(m, 13, gate(KCODE, 0x4100, 0, 0xe, false));
    setGate(m, 8, gate(KCODE, 0x4000, 0));
    m.load(0x4000, [0xf4]);
    expect(m.run()).toBe(ExitReason.HLT);
    expect(rip(m)).toBe(0x4000);
    expect(get32(m, m.vmcs.read(F.GUEST_RSP))).toBe(0);
    expect(get32(m, m.vmcs.read(F.GUEST_RSP) + 4)).toBe(CODE + 4);
  });

  it("a #GP error code names the selector (MOV DS beyond the GDT limit, Vol. 2 MOV)", () => {
    const m = pm([0x66, 0xb8, 0x40, 0x00, 0x8e, 0xd8]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 13);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000b0d);
    expect(m.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(0x40);
  });

  it("IRET to ring 3, then INT through a DPL-3 gate switches to the TSS ring-0 stack (§6.12.1)", () => {
    const user = 0x3000;
    const m = pm([
      0x68,
      ...le(UDATA),
      0x68,
      ...le(ESP3),
      0x68,
      ...le(0x202),
      0x68,
      ...le(UCODE),
      0x68,
      ...le(user),
      0xcf,
    ]);
    setGate(m, 0x80, gate(KCODE, 0x4000, 3));
    m.load(user, [0x90, 0xcd, 0x80]);
    m.load(0x4000, [0x0f, 0x01, 0xc1]);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(m.vmcs.read(F.GUEST_CS_SELECTOR)).toBe(KCODE);
    expect(m.vmcs.read(F.GUEST_SS_SELECTOR)).toBe(0x10);
    const esp = m.vmcs.read(F.GUEST_RSP);
    expect(esp).toBe(ESP0 - 20);
    expect([0, 4, 8, 12, 16].map((o) => get32(m, esp + o))).toEqual([user + 3, UCODE, 0x202, ESP3, UDATA]);
    expect(m.vmcs.read(F.GUEST_RFLAGS) & 0x200).toBe(0);
  });

  it("ring 3: VMCALL exits at any CPL; HLT and a DPL-0 gate raise #GP (error 0, vector*8+2)", () => {
    const user = 0x3000;
    const enter3 = [
      0x68,
      ...le(UDATA),
      0x68,
      ...le(ESP3),
      0x68,
      ...le(0x2),
      0x68,
      ...le(UCODE),
      0x68,
      ...le(user),
      0xcf,
    ];
    const v = pm(enter3);
    v.load(user, [0x0f, 0x01, 0xc1]);
    expect(v.run()).toBe(ExitReason.VMCALL);
    expect(v.vmcs.read(F.GUEST_CS_SELECTOR)).toBe(UCODE);
    const h = pm(enter3);
    h.load(user, [0xf4]);
    h.vmcs.write(F.EXCEPTION_BITMAP, 1 << 13);
    expect(h.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(h.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(0);
    const g = pm(enter3);
    setGate(g, 0x30, gate(KCODE, 0x4000, 0));
    g.load(user, [0xcd, 0x30]);
    g.vmcs.write(F.EXCEPTION_BITMAP, 1 << 13);
    expect(g.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(g.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(0x30 * 8 + 2);
  });

  it("IRET from the ring-0 handler returns to ring 3 with the user stack", () => {
    const user = 0x3000;
    const m = pm([
      0x68,
      ...le(UDATA),
      0x68,
      ...le(ESP3),
      0x68,
      ...le(0x2),
      0x68,
      ...le(UCODE),
      0x68,
      ...le(user),
      0xcf,
    ]);
    setGate(m, 0x80, gate(KCODE, 0x4000, 3));
    m.load(user, [0xcd, 0x80, 0x0f, 0x01, 0xc1]);
    m.load(0x4000, [0xcf]);
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(rip(m)).toBe(user + 2);
    expect(m.vmcs.read(F.GUEST_CS_SELECTOR)).toBe(UCODE);
    expect(m.vmcs.read(F.GUEST_RSP)).toBe(ESP3);
    expect((m.vmcs.read(F.GUEST_SS_AR_BYTES) >> 5) & 3).toBe(3);
  });
});

describe("guest paging through the TLB (Vol. 3A §4.3, §4.7, §4.10)", () => {
  const PD = 0x20000;
  const PT = 0x21000;
  /** Identity-map the first 4 MiB with 4 KiB pages (present, writable, user), PG on. */
  function paged(code: number[]) {
    const m = machine(code);
    protectedModeTables(m);
    put32(m, PD, PT | 7);
    for (let i = 0; i < 1024; i++) put32(m, PT + 4 * i, (i << 12) | 7);
    m.vmcs.write(F.GUEST_CR3, PD);
    m.vmcs.write(F.GUEST_CR0, 0x80010031);
    return m;
  }

  it("a #PF exits with the faulting linear address as qualification and CR2 unchanged (§27.1)", () => {
    const m = paged([0xa3, ...le(0x5000)]);
    put32(m, PT + 4 * 5, 0);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 14);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_INFO)).toBe(0x80000b0e);
    expect(m.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(2); // write to a non-present page at CPL 0
    expect(qual(m)).toBe(0x5000);
    expect(m.cpu.state.cr2).toBe(0);
  });

  it("PFEC mask/match filter #PF exits; a delivered #PF loads CR2 and pushes the error code", () => {
    const m = paged([0xa1, ...le(0x5000)]);
    put32(m, PT + 4 * 5, 0);
    setGate(m, 14, gate(KCODE, 0x4000, 0));
    m.load(0x4000, [0xf4]);
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 14);
    m.vmcs.write(F.PAGE_FAULT_ERROR_CODE_MASK, 1);
    m.vmcs.write(F.PAGE_FAULT_ERROR_CODE_MATCH, 1); // only protection faults (P = 1) exit
    expect(m.run()).toBe(ExitReason.HLT);
    expect(m.cpu.state.cr2).toBe(0x5000);
    expect(get32(m, m.vmcs.read(F.GUEST_RSP))).toBe(0);
    expect(get32(m, m.vmcs.read(F.GUEST_RSP) + 4)).toBe(CODE);
  });

  it("INVLPG makes a changed PTE visible; without it the TLB keeps the old translation (§4.10.4)", () => {
    // mov eax,[0x5000]; mov [PT+5*4], 0x6007; mov ebx,[0x5000]; invlpg [0x5000]; mov ecx,[0x5000]; hlt
    const m = paged([
      0xa1,
      ...le(0x5000),
      0xc7,
      0x05,
      ...le(PT + 20),
      ...le(0x6007),
      0x8b,
      0x1d,
      ...le(0x5000),
      0x0f,
      0x01,
      0x3d,
      ...le(0x5000),
      0x8b,
      0x0d,
      ...le(0x5000),
      0xf4,
    ]);
    put32(m, 0x5000, 0x55555555);
    put32(m, 0x6000, 0x66666666);
    expect(m.run()).toBe(ExitReason.HLT);
    expect(regs(m)[0] >>> 0).toBe(0x55555555);
    expect(regs(m)[3] >>> 0).toBe(0x55555555);
    expect(regs(m)[1] >>> 0).toBe(0x66666666);
  });

  it("a write through a read-only PTE at CPL 0 faults only when CR0.WP = 1 (§4.6)", () => {
    const m = paged([0xa3, ...le(0x5000), 0xf4]);
    put32(m, PT + 4 * 5, 0x5005); // present, user, read-only
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 14);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(m.vmcs.read(F.VM_EXIT_INTR_ERROR_CODE)).toBe(3);
    const n = paged([0xa3, ...le(0x5000), 0xf4]);
    put32(n, PT + 4 * 5, 0x5005);
    n.vmcs.write(F.GUEST_CR0, 0x80000031);
    expect(n.run()).toBe(ExitReason.HLT);
  });

  it("stores into the page being executed are seen by the next fetch (self-modifying code)", () => {
    // mov byte [CODE+7], 0xf4 (HLT over the CPUID); nop; cpuid
    const m = machine([0xc6, 0x05, ...le(CODE + 8), 0xf4, 0x90, 0x0f, 0xa2]);
    expect(m.run()).toBe(ExitReason.HLT);
    expect(rip(m)).toBe(CODE + 8);
  });
});

describe("a guest that faults forever still ends at the budget", () => {
  it("a #UD handler that raises #UD again runs until the budget ends (exception delivery counts)", () => {
    const m = testMachine();
    protectedModeTables(m);
    setGate(m, 6, gate(KCODE, 0x0f00, 0));
    m.load(0x0f00, [0x0f, 0x0b]); // the #UD handler raises #UD itself
    m.load(CODE, [0x0f, 0x0b]);
    expect(m.run(1000)).toBe(ExitReason.EXTERNAL_INTERRUPT);
    expect(m.cpu.retired).toBe(1000);
  });
});

// SDM Vol. 3C §27.3: a VM exit saves neither the GPRs (ESP aside) nor CR2 nor DR0-DR3/DR6 into the VMCS,
// so a processor shared by vCPUs must have them switched by software (the kernel keeps them per vCPU).
describe("debug registers belong to the vCPU, not to the processor it shares", () => {
  it("DR0 written by one vCPU is not seen by another, and comes back when the first runs again", () => {
    const m = testMachine();
    // mov eax, 0x1234; mov dr0, eax; vmcall ; then at 0x1100: mov eax, dr0; vmcall
    m.load(0x1000, [0xb8, 0x34, 0x12, 0, 0, 0x0f, 0x23, 0xc0, 0x0f, 0x01, 0xc1]);
    m.load(0x1100, [0x0f, 0x21, 0xc0, 0x0f, 0x01, 0xc1]);
    const a = { gpr: new Uint32Array(8), dr: new Int32Array(8) };
    const b = { gpr: new Uint32Array(8), dr: new Int32Array(8) };
    m.cpu.loadContext(a.gpr, 0, a.dr);
    expect(m.run()).toBe(ExitReason.VMCALL);
    m.cpu.saveContext(a.gpr, a.dr);
    expect(a.dr[0]).toBe(0x1234);
    b.gpr[0] = 0xdead;
    m.cpu.loadContext(b.gpr, 0, b.dr);
    m.vmcs.write(F.GUEST_RIP, 0x1100);
    expect(m.run()).toBe(ExitReason.VMCALL);
    m.cpu.saveContext(b.gpr, b.dr);
    expect(b.gpr[0]).toBe(0);
    m.cpu.loadContext(a.gpr, 0, a.dr);
    m.vmcs.write(F.GUEST_RIP, 0x1100);
    expect(m.run()).toBe(ExitReason.VMCALL);
    m.cpu.saveContext(a.gpr, a.dr);
    expect(a.gpr[0]).toBe(0x1234);
  });
});
