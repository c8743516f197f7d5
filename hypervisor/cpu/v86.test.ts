// Virtual-8086 mode (no VME), run through Processor.enter. Oracle: the SDM —
// Vol. 3A §20.2 (V86 execution environment, §20.2.7 IOPL-sensitive
// instructions, §20.2.8.1 I/O-permission bitmap), §20.3.1.1 and Figure 20-5
// (interrupts and exceptions to a protected-mode handler, the stack frame),
// §6.13 (error codes), §4.7 (#PF error code U bit); Vol. 2 IRET
// (RETURN-TO-VIRTUAL-8086-MODE, RETURN-FROM-VIRTUAL-8086-MODE), INT n
// (INTERRUPT-FROM-VIRTUAL-8086-MODE), PUSHF/POPF, CLI/STI, IN/OUT and the
// "Virtual-8086 Mode Exceptions" of SLDT/STR/LLDT/LTR/LAR/LSL/VERR/VERW/ARPL
// (#UD) and LGDT/MOV CR/HLT (#GP(0)); Vol. 3C §26.3.1.2/§26.3.2 (VM entry
// with RFLAGS.VM = 1), §27.3 (VM exit saves the V86 state).
import { describe, expect, it } from "vitest";
import { EXIT_REASON_ENTRY_FAILURE, ExitReason } from "../vmx/exit-reason.js";
import {
  ESP0,
  GDT,
  gate,
  get32,
  iretToRing3,
  KCODE,
  KDATA,
  le32,
  protectedModeTables,
  push32,
  put32,
  put64,
  segment,
  setGate,
  system,
  TSS,
  UCODE,
} from "../vmx/test-descriptors.js";
import { type TestMachine, testMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";

const KERNEL = 0x1000;
const HANDLER = 0x5000;
// V86 segments: code at 0x2000, stack top at 0x4000, data at 0x6000, extra at 0x7000.
const VCS = 0x200;
const VSS = 0x300;
const VSP = 0x1000;
const VDS = 0x600;
const VES = 0x700;
const VFS = 0x710;
const VGS = 0x720;
const VM = 1 << 17;
const IOPL3 = 3 << 12;
const IF = 1 << 9;
/** Each V86 segment register's VMCS fields (selector, base, limit, access rights) and the selector the tests give it. */
const V86_SEGMENTS: readonly [number, number, number, number, number][] = [
  [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES, VCS],
  [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES, VSS],
  [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES, VDS],
  [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES, VES],
  [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES, VFS],
  [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES, VGS],
];

const VMCALL = [0x0f, 0x01, 0xc1];
const CPUID = [0x0f, 0xa2];

/** Ring-0 code: IRET (32-bit, CPL 0) with a V86 frame (Vol. 2 IRET, Figure 20-5 order from the top). */
function iretToV86(eflags: number, ip = 0): number[] {
  return [VGS, VFS, VDS, VES, VSS, VSP, eflags, VCS, ip].flatMap(push32).concat([0xcf]);
}

/** I/O permission bitmap in the TSS (Vol. 1 §19.5.2): every port 0-0x3FF denied except `allowed`. */
const IOMAP = 0x68;
const TSS_LIMIT = IOMAP + 0x80;
function ioBitmap(m: TestMachine, allowed: number[]): void {
  for (let b = 0; b <= 0x80; b++) m.ram[TSS + IOMAP + b] = 0xff;
  for (const p of allowed) m.ram[TSS + IOMAP + (p >> 3)] &= ~(1 << (p & 7));
  put32(m, TSS + 0x64, IOMAP << 16);
  put64(m, GDT + 0x18, system(TSS, TSS_LIMIT, 0xb));
  m.vmcs.write(F.GUEST_TR_LIMIT, TSS_LIMIT);
}

/**
 * A machine whose ring-0 code enters V86 at VCS:0 with `eflags` (VM added)
 * running `v86code`; every IDT vector goes through a DPL-3 interrupt gate to
 * the ring-0 HANDLER, which runs `handler` (VMCALL by default).
 */
function machine(eflags: number, v86code: number[], handler: number[] = VMCALL): TestMachine {
  const m = testMachine();
  protectedModeTables(m);
  ioBitmap(m, [0x3f8]);
  for (let v = 0; v < 256; v++) setGate(m, v, gate(KCODE, HANDLER, 3));
  m.load(KERNEL, iretToV86(eflags | VM | 2));
  m.load(VCS * 16, v86code);
  m.load(HANDLER, handler);
  return m;
}

const read = (m: TestMachine, f: number) => m.vmcs.read(f);

/** Run expecting exception `vector` as a VM exit (exception bitmap) with `error` (-1: none) at V86 IP `ip`. */
function expectFault(m: TestMachine, vector: number, error: number, ip: number): void {
  m.vmcs.write(F.EXCEPTION_BITMAP, 1 << vector);
  expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
  const info = read(m, F.VM_EXIT_INTR_INFO);
  expect(info & 0xff).toBe(vector);
  if (error < 0) expect(info & F.INTR_INFO_DELIVER_ERROR).toBe(0);
  else expect(read(m, F.VM_EXIT_INTR_ERROR_CODE)).toBe(error);
  expect(read(m, F.GUEST_RFLAGS) & VM).toBe(VM);
  expect(read(m, F.GUEST_RIP)).toBe(ip);
}

describe("entering virtual-8086 mode by IRET (Vol. 2 IRET RETURN-TO-VIRTUAL-8086-MODE, §20.2.6)", () => {
  it("pops EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS; segments get base = selector * 16, limit 0xFFFF, AR 0xF3; CPL 3", () => {
    const m = machine(0, CPUID);
    expect(m.run()).toBe(ExitReason.CPUID);
    // §27.3: the VM exit saves the V86 state; §26.3.1.2 lists exactly these values for V86 segments.
    expect(read(m, F.GUEST_RFLAGS)).toBe(VM | 2);
    expect(read(m, F.GUEST_RIP)).toBe(0);
    expect(read(m, F.GUEST_RSP)).toBe(VSP);
    for (const [sel, base, limit, ar, v] of V86_SEGMENTS) {
      expect([read(m, sel), read(m, base), read(m, limit), read(m, ar)]).toEqual([v, v * 16, 0xffff, 0xf3]);
    }
    expect(m.cpu.state.cpl).toBe(3);
    // The saved state is itself a valid V86 guest state: VM entry accepts it and resumes (§26.3.1.2).
    m.vmcs.write(F.GUEST_RIP, 2);
    m.load(VCS * 16 + 2, CPUID);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(read(m, F.GUEST_RIP)).toBe(2);
  });

  it("an IRET at CPL 3 ignores VM in the EFLAGS image: it stays in protected mode (Vol. 2 IRET, §20.2.6)", () => {
    const m = testMachine();
    protectedModeTables(m);
    m.load(KERNEL, iretToRing3(0x3000));
    m.load(0x3000, [...push32(VM | 2), ...push32(UCODE), ...push32(0x3100), 0xcf]);
    m.load(0x3100, CPUID);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(read(m, F.GUEST_RFLAGS) & VM).toBe(0);
    expect([read(m, F.GUEST_CS_SELECTOR), read(m, F.GUEST_RIP)]).toEqual([UCODE, 0x3100]);
  });

  it("IRET to V86 needs 24 more bytes of stack within the SS limit: else #SS(0), nothing changed", () => {
    const m = machine(0, CPUID);
    // After the pushes, switch to a stack segment whose limit 0x7FFE cuts the last byte of the GS slot.
    put64(m, GDT + 0x30, segment(0, 0x7ffe, 0x3, 0));
    m.vmcs.write(F.GUEST_GDTR_LIMIT, 0x37);
    const pushes = iretToV86(VM | 2).slice(0, -1);
    m.load(KERNEL, [...pushes, 0x66, 0xb8, 0x30, 0x00, 0x8e, 0xd0, 0xcf]); // mov ax,0x30; mov ss,ax; iret
    m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 12);
    expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
    expect(read(m, F.VM_EXIT_INTR_INFO) & 0xff).toBe(12);
    expect(read(m, F.VM_EXIT_INTR_ERROR_CODE)).toBe(0);
    expect(read(m, F.GUEST_RFLAGS) & VM).toBe(0);
    expect(read(m, F.GUEST_CS_SELECTOR)).toBe(KCODE);
    expect(read(m, F.GUEST_RSP)).toBe(0x8000 - 36);
    // With the limit at 0x7FFF the same frame fits.
    const fresh = machine(0, CPUID);
    put64(fresh, GDT + 0x30, segment(0, 0x7fff, 0x3, 0));
    fresh.vmcs.write(F.GUEST_GDTR_LIMIT, 0x37);
    fresh.load(KERNEL, [...pushes, 0x66, 0xb8, 0x30, 0x00, 0x8e, 0xd0, 0xcf]);
    expect(fresh.run()).toBe(ExitReason.CPUID);
  });
});

describe("V86 execution (§20.2.1-20.2.5)", () => {
  it("16-bit default operand size, DS-relative data, MOV/POP Sreg and far JMP load base = selector * 16", () => {
    const code = [
      ...[0xb8, 0x34, 0x12], // mov ax,0x1234 (a 16-bit immediate: 32-bit code would take 4 bytes)
      ...[0x03, 0x06, 0x10, 0x00], // add ax,[0x10]        DS:0x10 = linear 0x6010
      ...[0xa3, 0x20, 0x00], // mov [0x20],ax
      ...[0xbb, 0x00, 0x08], // mov bx,0x800
      ...[0x53, 0x07], // push bx; pop es             ES = 0x800 (base 0x8000)
      ...[0x26, 0xa3, 0x04, 0x00], // mov es:[4],ax
      ...[0xea, 0x00, 0x01, 0x10, 0x02], // jmp 0x210:0x100  (linear 0x2200)
    ];
    const m = machine(0, code);
    m.ram[0x6010] = 0x11;
    m.ram[0x6011] = 0x11;
    m.load(0x2200, CPUID);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(m.ram[0x6020] | (m.ram[0x6021] << 8)).toBe(0x2345);
    expect(m.ram[0x8004] | (m.ram[0x8005] << 8)).toBe(0x2345);
    expect([read(m, F.GUEST_ES_SELECTOR), read(m, F.GUEST_ES_BASE), read(m, F.GUEST_ES_AR_BYTES)]).toEqual([
      0x800, 0x8000, 0xf3,
    ]);
    expect([read(m, F.GUEST_CS_SELECTOR), read(m, F.GUEST_CS_BASE), read(m, F.GUEST_RIP)]).toEqual([
      0x210, 0x2100, 0x100,
    ]);
    expect(read(m, F.GUEST_CS_AR_BYTES)).toBe(0xf3);
    expect(read(m, F.GUEST_RSP)).toBe(VSP); // the push and pop moved SP by 2 each
  });

  it("a word at offset 0xFFFF of a V86 segment is #GP(0) (64 KiB limit, Vol. 2 MOV Virtual-8086 Mode Exceptions)", () => {
    const m = machine(0, [0x8b, 0x06, 0xff, 0xff]); // mov ax,[0xffff]
    expectFault(m, 13, 0, 0);
  });

  it("runs at CPL 3 for paging: a read of a supervisor page is #PF with U = 1 (§20.2.3, §4.7)", () => {
    const m = machine(0, [0xa0, 0x08, 0x00]); // mov al,[0x8]  -> linear 0x6008
    const PD = 0x10000;
    const PT = 0x11000;
    put32(m, PD, PT | 7);
    for (let n = 0; n < 512; n++) put32(m, PT + 4 * n, (n << 12) | 7);
    put32(m, PT + 4 * 6, 0x6000 | 3); // present, writable, supervisor
    m.vmcs.write(F.GUEST_CR3, PD);
    m.vmcs.write(F.GUEST_CR0, 0x80000031);
    expectFault(m, 14, 5, 0); // P = 1 (protection), W = 0, U = 1
    expect(read(m, F.EXIT_QUALIFICATION)).toBe(0x6008);
  });
});

describe("interrupts and exceptions leave V86 for ring 0 (§20.3.1.1, Vol. 2 INT n INTERRUPT-FROM-VIRTUAL-8086-MODE)", () => {
  it("#GP from CLI at IOPL 0: ring-0 stack from the TSS, frame GS FS DS ES SS ESP EFLAGS CS EIP error, data segments null", () => {
    const m = machine(IF, [0x90, 0xfa]); // nop; cli
    expect(m.run()).toBe(ExitReason.VMCALL);
    expect(read(m, F.GUEST_RIP)).toBe(HANDLER);
    expect(read(m, F.GUEST_CS_SELECTOR)).toBe(KCODE);
    expect(m.cpu.state.cpl).toBe(0);
    expect(read(m, F.GUEST_SS_SELECTOR)).toBe(KDATA);
    const esp = read(m, F.GUEST_RSP);
    expect(esp).toBe(ESP0 - 40);
    const frame = Array.from({ length: 10 }, (_, k) => get32(m, esp + 4 * k));
    // error, EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS (Figure 20-5 "with error code").
    expect(frame).toEqual([0, 1, VCS, VM | IF | 2, VSP, VSS, VES, VDS, VFS, VGS]);
    for (const [sel, ar] of [
      [F.GUEST_DS_SELECTOR, F.GUEST_DS_AR_BYTES],
      [F.GUEST_ES_SELECTOR, F.GUEST_ES_AR_BYTES],
      [F.GUEST_FS_SELECTOR, F.GUEST_FS_AR_BYTES],
      [F.GUEST_GS_SELECTOR, F.GUEST_GS_AR_BYTES],
    ]) {
      expect(read(m, sel)).toBe(0);
      expect(read(m, ar) & 0x10000).toBe(0x10000); // unusable (null)
    }
    // VM, TF, RF, NT cleared; IF cleared by the interrupt gate.
    expect(read(m, F.GUEST_RFLAGS)).toBe(2);
  });

  it("a handler code segment with DPL 3 is #GP(selector) (Vol. 2 INT n TRAP-OR-INTERRUPT-GATE, VM = 1)", () => {
    const m = machine(IOPL3 | IF, [0xcd, 0x40]); // int 0x40
    setGate(m, 0x40, gate(0x20, HANDLER, 3, 0xf)); // 32-bit trap gate to the ring-3 code segment
    expectFault(m, 13, 0x20, 0);
  });

  it("a trap gate to ring 0 keeps IF set and pushes no error code for INT n (36-byte frame)", () => {
    const m = machine(IOPL3 | IF, [0xcd, 0x40]);
    setGate(m, 0x40, gate(KCODE, HANDLER, 3, 0xf));
    expect(m.run()).toBe(ExitReason.VMCALL);
    const esp = read(m, F.GUEST_RSP);
    expect(esp).toBe(ESP0 - 36);
    expect(get32(m, esp)).toBe(2); // EIP after INT 0x40
    expect(get32(m, esp + 8)).toBe(VM | IOPL3 | IF | 2);
    expect(read(m, F.GUEST_RFLAGS)).toBe(IOPL3 | IF | 2);
  });

  it("INT n at IOPL 3 through a gate with DPL < 3 is #GP(vector * 8 + 2) (Vol. 2 INT n)", () => {
    const m = machine(IOPL3, [0xcd, 0x40]);
    setGate(m, 0x40, gate(KCODE, HANDLER, 0));
    expectFault(m, 13, 0x40 * 8 + 2, 0);
  });

  it("an SS0 in the TSS that is not a DPL-0 writable data segment is #TS(SS0) (INTERRUPT-FROM-VIRTUAL-8086-MODE)", () => {
    const m = machine(IOPL3, [0xcd, 0x40]); // int 0x40 (software: EXT = 0)
    put32(m, TSS + 8, 0x20); // SS0 = the ring-3 code segment
    expectFault(m, 10, 0x20, 0);
  });

  it("a ring-0 stack without room for the 36-byte frame is #SS(SS0) (INTERRUPT-FROM-VIRTUAL-8086-MODE)", () => {
    const m = machine(IOPL3, [0xcd, 0x40]); // int 0x40 (software: EXT = 0)
    put64(m, GDT + 0x30, segment(0, 0xfff, 0x3, 0)); // SS0: ring-0 data, limit 0xFFF
    m.vmcs.write(F.GUEST_GDTR_LIMIT, 0x37);
    put32(m, TSS + 8, 0x30);
    put32(m, TSS + 4, 0x20); // ESP0 = 0x20: the frame would wrap below offset 0
    expectFault(m, 12, 0x30, 0);
    expect(read(m, F.GUEST_SS_SELECTOR)).toBe(VSS);
  });

  it("IRET from the ring-0 monitor returns to V86 at the instruction after the one it emulated", () => {
    // Monitor: drop the error code, step over the 1-byte CLI, IRET (32-bit, CPL 0, VM = 1 in the image).
    const monitor = [0x83, 0xc4, 0x04, 0xff, 0x04, 0x24, 0xcf];
    const m = machine(0, [0xfa, ...CPUID], monitor);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(read(m, F.GUEST_RIP)).toBe(1);
    expect(read(m, F.GUEST_RFLAGS) & VM).toBe(VM);
    expect(read(m, F.GUEST_DS_SELECTOR)).toBe(VDS);
    expect(read(m, F.GUEST_GS_BASE)).toBe(VGS * 16);
    expect(read(m, F.GUEST_RSP)).toBe(VSP);
    expect(m.cpu.state.cpl).toBe(3);
  });
});

describe("IOPL-sensitive instructions (§20.2.7, no VME)", () => {
  const sensitive: [string, number[]][] = [
    ["CLI", [0xfa]],
    ["STI", [0xfb]],
    ["PUSHF", [0x9c]],
    ["POPF", [0x9d]],
    ["INT n", [0xcd, 0x21]],
    ["IRET", [0xcf]],
  ];
  for (const [name, code] of sensitive) {
    it(`${name} at IOPL < 3 is #GP(0)`, () => {
      expectFault(machine(2 << 12, code), 13, 0, 0);
    });
  }

  it("at IOPL 3: CLI, STI, PUSHF, POPF run as in real mode, and POPF does not change IOPL", () => {
    const code = [
      0xfa, // cli
      0x9c, // pushf                -> FLAGS with IOPL 3 (VM and RF are not in the 16-bit image)
      0x31,
      0xc0,
      0x50,
      0x9d, // xor ax,ax; push ax; popf     -> IOPL stays 3
      0xfb, // sti
      0x66,
      0x68,
      0,
      0,
      0,
      0,
      0x66,
      0x9d, // push dword 0; popfd   -> IOPL, VM stay; IF cleared
      ...CPUID,
    ];
    const m = machine(IOPL3 | IF, code);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(m.ram[VSS * 16 + VSP - 2] | (m.ram[VSS * 16 + VSP - 1] << 8)).toBe(IOPL3 | 2);
    expect(read(m, F.GUEST_RFLAGS)).toBe(VM | IOPL3 | 2);
  });

  it("IRET at IOPL 3 pops IP, CS, FLAGS and keeps IOPL (Vol. 2 IRET RETURN-FROM-VIRTUAL-8086-MODE)", () => {
    // push 0 (FLAGS); push 0x210 (CS); push 0x100 (IP); iret
    const m = machine(IOPL3, [0x6a, 0x00, 0x68, 0x10, 0x02, 0x68, 0x00, 0x01, 0xcf]);
    m.load(0x2200, CPUID);
    expect(m.run()).toBe(ExitReason.CPUID);
    expect([read(m, F.GUEST_CS_SELECTOR), read(m, F.GUEST_CS_BASE), read(m, F.GUEST_RIP)]).toEqual([
      0x210, 0x2100, 0x100,
    ]);
    expect(read(m, F.GUEST_RFLAGS)).toBe(VM | IOPL3 | 2);
  });

  it("INT3 and INTO are not IOPL-sensitive: at IOPL 0 they go through the IDT to ring 0 (§20.3.1.1)", () => {
    for (const code of [[0xcc], [0xb0, 0x7f, 0x04, 0x01, 0xce]]) {
      // int3 | mov al,0x7f; add al,1 (OF = 1); into
      const m = machine(0, code);
      expect(m.run()).toBe(ExitReason.VMCALL);
      const esp = read(m, F.GUEST_RSP);
      expect(esp).toBe(ESP0 - 36);
      expect(get32(m, esp)).toBe(code.length); // trap: EIP after the instruction
    }
  });
});

describe("I/O in V86 always consults the TSS I/O permission bitmap (§20.2.8.1)", () => {
  it("a port the bitmap allows reaches the VMM (I/O exit) even at IOPL 0", () => {
    const m = machine(0, [0xba, 0xf8, 0x03, 0xee]); // mov dx,0x3f8; out dx,al
    expect(m.run()).toBe(ExitReason.IO_INSTRUCTION);
    expect(read(m, F.EXIT_QUALIFICATION) >>> 16).toBe(0x3f8);
  });

  it("a port the bitmap denies is #GP(0) even at IOPL 3 (IN, OUT, and a word OUT that covers a denied port)", () => {
    expectFault(machine(IOPL3, [0xe6, 0x80]), 13, 0, 0); // out 0x80,al
    expectFault(machine(IOPL3, [0xe4, 0x80]), 13, 0, 0); // in al,0x80
    expectFault(machine(IOPL3, [0xba, 0xf7, 0x03, 0xef]), 13, 0, 3); // mov dx,0x3f7; out dx,ax (0x3f7 denied)
    expectFault(machine(IOPL3, [0xba, 0x80, 0x00, 0x6e]), 13, 0, 3); // mov dx,0x80; outsb
  });
});

describe("instructions V86 does not allow", () => {
  const ud: [string, number[]][] = [
    ["SLDT", [0x0f, 0x00, 0xc0]],
    ["STR", [0x0f, 0x00, 0xc8]],
    ["LLDT", [0x0f, 0x00, 0xd0]],
    ["LTR", [0x0f, 0x00, 0xd8]],
    ["VERR", [0x0f, 0x00, 0xe0]],
    ["VERW", [0x0f, 0x00, 0xe8]],
    ["LAR", [0x0f, 0x02, 0xc3]],
    ["LSL", [0x0f, 0x03, 0xc3]],
    ["ARPL", [0x63, 0xc3]],
  ];
  for (const [name, code] of ud) {
    it(`${name} is #UD (Vol. 2 ${name}: not recognized in virtual-8086 mode)`, () => {
      expectFault(machine(IOPL3, code), 6, -1, 0);
    });
  }
  const priv: [string, number[]][] = [
    ["LGDT", [0x0f, 0x01, 0x17]],
    ["LIDT", [0x0f, 0x01, 0x1f]],
    ["MOV CR0", [0x0f, 0x22, 0xc0]],
    ["MOV from CR0", [0x0f, 0x20, 0xc0]],
    ["HLT", [0xf4]],
    ["LMSW", [0x0f, 0x01, 0xf0]],
    ["CLTS", [0x0f, 0x06]],
    ["INVLPG", [0x0f, 0x01, 0x3f]],
  ];
  for (const [name, code] of priv) {
    it(`${name} is #GP(0) at CPL 3 even with IOPL 3`, () => {
      expectFault(machine(IOPL3, code), 13, 0, 0);
    });
  }
});

/** A VMCS guest state in V86 at VCS:ip (Vol. 3C §26.3.1.2: base = selector * 16, limit 0xFFFF, AR 0xF3). */
function v86GuestState(m: TestMachine, eflags: number, ip = 0): void {
  const v = m.vmcs;
  for (const [sel, base, limit, ar, s] of V86_SEGMENTS) {
    v.write(sel, s);
    v.write(base, s * 16);
    v.write(limit, 0xffff);
    v.write(ar, 0xf3);
  }
  v.write(F.GUEST_RFLAGS, eflags | VM | 2);
  v.write(F.GUEST_RIP, ip);
  v.write(F.GUEST_RSP, VSP);
}

describe("VM entry into V86 (Vol. 3C §26.3.1.2, §26.3.2, §26.6)", () => {
  it("a guest state with RFLAGS.VM = 1 and V86 segments runs 16-bit code at CPL 3", () => {
    const m = testMachine();
    protectedModeTables(m);
    v86GuestState(m, 0);
    m.load(VCS * 16, [0xb8, 0x34, 0x12, 0x50, ...CPUID]); // mov ax,0x1234; push ax; cpuid
    expect(m.run()).toBe(ExitReason.CPUID);
    expect(read(m, F.GUEST_RIP)).toBe(4);
    expect(read(m, F.GUEST_RSP)).toBe(VSP - 2);
    expect(m.ram[VSS * 16 + VSP - 2]).toBe(0x34);
    expect(m.cpu.state.cpl).toBe(3);
    // And a V86 state whose CS is not base = selector * 16 fails entry (reason 33).
    m.vmcs.write(F.GUEST_CS_BASE, 0);
    expect(m.run()).toBe((ExitReason.ENTRY_FAIL_GUEST_STATE | EXIT_REASON_ENTRY_FAILURE) >>> 0);
  });

  it("an external interrupt injected into V86 goes through the IDT to ring 0 with the V86 frame", () => {
    const m = testMachine();
    protectedModeTables(m);
    v86GuestState(m, IF, 0x10);
    setGate(m, 0x30, gate(KCODE, HANDLER, 0)); // hardware interrupts ignore the gate DPL
    m.load(HANDLER, VMCALL);
    m.vmcs.write(F.VM_ENTRY_INTR_INFO_FIELD, (F.INTR_INFO_VALID | 0x30) >>> 0); // type 0: external interrupt
    expect(m.run()).toBe(ExitReason.VMCALL);
    const esp = read(m, F.GUEST_RSP);
    expect(esp).toBe(ESP0 - 36);
    const frame = Array.from({ length: 9 }, (_, k) => get32(m, esp + 4 * k));
    expect(frame).toEqual([0x10, VCS, VM | IF | 2, VSP, VSS, VES, VDS, VFS, VGS]);
    expect(read(m, F.GUEST_RFLAGS)).toBe(2);
    expect(read(m, F.GUEST_DS_SELECTOR)).toBe(0);
  });
});

describe("no VME (CPUID.1:EDX.VME = 0, vmm/cpuid.ts)", () => {
  it("MOV to CR4 setting VME or PVI is #GP(0): reserved bits (Vol. 2 MOV CR, §2.5)", () => {
    for (const bit of [1, 2]) {
      const m = testMachine();
      m.load(KERNEL, [0xb8, ...le32(bit), 0x0f, 0x22, 0xe0]); // mov eax,bit; mov cr4,eax
      m.vmcs.write(F.EXCEPTION_BITMAP, 1 << 13);
      expect(m.run()).toBe(ExitReason.EXCEPTION_NMI);
      expect(read(m, F.VM_EXIT_INTR_ERROR_CODE)).toBe(0);
      expect(read(m, F.GUEST_RIP)).toBe(KERNEL + 5);
    }
  });

  it("VM entry with CR4.VME = 1 fails: IA32_VMX_CR4_FIXED1 bit 0 is 0 (App. A.8, §26.3.1.1)", () => {
    const m = testMachine();
    m.vmcs.write(F.GUEST_CR4, 1);
    expect(m.run()).toBe((ExitReason.ENTRY_FAIL_GUEST_STATE | EXIT_REASON_ENTRY_FAILURE) >>> 0);
  });
});
