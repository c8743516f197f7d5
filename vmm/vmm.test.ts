// Oracle: the Intel SDM. Vol. 3C §27.2.1 and Table 27-5 (I/O exit
// qualification), §27.2.5 (VM-exit instruction length: EIP + length is the
// next instruction), §24.4.1 and Table 24-2 (segment access-rights format),
// §24.4.2 (interruptibility and activity states), §24.8.3 (event injection:
// type 3 hardware exception), Vol. 2 (CPUID, RDMSR/WRMSR: #GP(0) on a
// reserved MSR, a fault that leaves EIP on the instruction; IN: only AL/AX
// change for 8/16-bit sizes), Vol. 3A §9.1.1 (CR0 = PE|ET values) and the
// Multiboot Specification §3.2 (EAX = 0x2BADB002). Messages are built and
// read with proto/index.ts, as the kernel does.
import { describe, expect, it } from "vitest";
import { ExitReason } from "../proto/exit-reason.js";
import { Mtd } from "../proto/mtd.js";
import { encodeExit, makeVmm, ring0State, roundTrip } from "./testing/exit-messages.js";
import { PIC_INIT_20_28 } from "./testing/pic-init.js";

/** VMCS access rights from their SDM Table 24-2 fields. */
function ar(f: { type: number; s: number; dpl: number; p: number; db: number; g: number; unusable?: number }): number {
  return f.type | (f.s << 4) | (f.dpl << 5) | (f.p << 7) | (f.db << 14) | (f.g << 15) | ((f.unusable ?? 0) << 16);
}

/** An I/O qualification per SDM Table 27-5. */
function ioQual(port: number, size: 1 | 2 | 4, isIn: boolean, string = false): number {
  return ((port << 16) | (string ? 0x10 : 0) | (isIn ? 0x08 : 0) | (size - 1)) >>> 0;
}

const EIP = 0x10_0040;

describe("startup (254)", () => {
  const image = Uint8Array.of(0xfa, 0xf4);
  const vmm = makeVmm(16 << 20, { image, format: "flat" });
  const reply = roundTrip(vmm, ExitReason.STARTUP);
  const s = reply.state!;

  it("answers in 32-bit protected mode, paging off: CR0 = PE | ET, CR3 = CR4 = 0", () => {
    expect(s.cr0).toBe((1 << 0) | (1 << 4));
    expect(s.cr3).toBe(0);
    expect(s.cr4).toBe(0);
    expect(reply.stop).toBe(false);
  });

  it("flat segments: CS 0x08 execute/read code, DPL 0, 32-bit, 4 GiB; DS/ES/SS/FS/GS 0x10 read/write data", () => {
    const code = ar({ type: 11, s: 1, dpl: 0, p: 1, db: 1, g: 1 });
    const data = ar({ type: 3, s: 1, dpl: 0, p: 1, db: 1, g: 1 });
    expect(s.cs).toEqual({ sel: 0x08, base: 0, limit: 0xffff_ffff, ar: code });
    for (const seg of [s.ds, s.es, s.ss, s.fs, s.gs])
      expect(seg).toEqual({ sel: 0x10, base: 0, limit: 0xffff_ffff, ar: data });
  });

  it("TR is a busy 32-bit TSS (type 11, S = 0) and LDTR is unusable (bit 16)", () => {
    expect(s.tr).toEqual({ sel: 0, base: 0, limit: 0xffff, ar: ar({ type: 11, s: 0, dpl: 0, p: 1, db: 0, g: 0 }) });
    expect(s.ldtr!.ar).toBe(1 << 16);
  });

  it("EIP = the flat image's load address, ESP = top of RAM, EFLAGS = 0x2, EAX = 0x2BADB002", () => {
    expect(s.eip).toBe(0x100000);
    expect(s.esp).toBe(16 << 20);
    expect(s.eflags).toBe(0x2);
    expect(s.eax).toBe(0x2badb002);
    expect(s.ebx).not.toBe(0);
  });

  it("GDTR and IDTR base 0 limit 0xFFFF; active, no blocking", () => {
    expect(s.gdtr).toEqual({ base: 0, limit: 0xffff });
    expect(s.idtr).toEqual({ base: 0, limit: 0xffff });
    expect(s.intrState).toBe(0);
    expect(s.actvState).toBe(0);
  });

  it("names every group it sets in the MTD", () => {
    const need =
      Mtd.GPR_ACDB | Mtd.RSP | Mtd.RIP_LEN | Mtd.RFLAGS | Mtd.DS_ES | Mtd.FS_GS | Mtd.CS_SS | Mtd.TR | Mtd.LDTR;
    expect(reply.mtd! & need).toBe(need);
    expect(reply.mtd! & (Mtd.GDTR | Mtd.IDTR | Mtd.CR | Mtd.STA)).toBe(Mtd.GDTR | Mtd.IDTR | Mtd.CR | Mtd.STA);
  });

  it("loads the image bytes into RAM at the load address", () => {
    const ram = new Uint8Array(new SharedArrayBuffer(4 << 20));
    const v = makeVmm(0, { ram: ram.buffer as SharedArrayBuffer, image, format: "flat", loadAddress: 0x2000 });
    const r = roundTrip(v, ExitReason.STARTUP);
    expect(r.state!.eip).toBe(0x2000);
    expect([ram[0x2000], ram[0x2001]]).toEqual([0xfa, 0xf4]);
  });

  it("honours an entry override", () => {
    const r = roundTrip(makeVmm(16 << 20, { image, format: "flat", entry: 0x100001 }), ExitReason.STARTUP);
    expect(r.state!.eip).toBe(0x100001);
  });

  it("a bad ELF stops the VM with the loader's one-line reason", () => {
    const r = roundTrip(makeVmm(16 << 20, { image: new Uint8Array(64), format: "elf" }), ExitReason.STARTUP);
    expect(r.stop).toBe(true);
    expect(r.stopReason).toBe("ELF: bad magic (not an ELF file)");
  });

  it("a flat image too large for RAM stops with a reason naming the RAM size", () => {
    const r = roundTrip(makeVmm(1 << 20, { image, format: "flat" }), ExitReason.STARTUP);
    expect(r.stop).toBe(true);
    expect(r.stopReason).toBe("flat: image of 0x2 bytes at 0x100000 exceeds guest RAM of 1 MiB");
  });
});

describe("CPUID (10)", () => {
  it("leaf 0 returns max leaf 2 and GenuineIntel, and EIP advances by the instruction length", () => {
    const r = roundTrip(makeVmm(), ExitReason.CPUID, { instLen: 2, state: ring0State({ eip: EIP, eax: 0 }) });
    expect(r.state!.eax).toBe(2);
    const bytes = [r.state!.ebx!, r.state!.edx!, r.state!.ecx!].flatMap((x) => [
      x & 0xff,
      (x >>> 8) & 0xff,
      (x >>> 16) & 0xff,
      x >>> 24,
    ]);
    expect(String.fromCharCode(...bytes)).toBe("GenuineIntel");
    expect(r.state!.eip).toBe(EIP + 2);
    expect(r.mtd! & (Mtd.GPR_ACDB | Mtd.RIP_LEN)).toBe(Mtd.GPR_ACDB | Mtd.RIP_LEN);
  });

  it("leaf 1 reports family 6 model 3", () => {
    const r = roundTrip(makeVmm(), ExitReason.CPUID, { instLen: 2, state: ring0State({ eip: EIP, eax: 1 }) });
    expect((r.state!.eax! >>> 8) & 0xf).toBe(6);
    expect((r.state!.eax! >>> 4) & 0xf).toBe(3);
  });

  it("ends a blocking by STI that covered the CPUID (SDM §24.4.2)", () => {
    const r = roundTrip(makeVmm(), ExitReason.CPUID, { instLen: 2, state: ring0State({ eip: EIP, intrState: 1 }) });
    expect(r.mtd! & Mtd.STA).toBe(Mtd.STA);
    expect(r.state!.intrState).toBe(0);
  });
});

describe("I/O instruction (30)", () => {
  it("OUT DX, AL to 0x3F8 sends the byte to console_out and advances EIP", () => {
    const vmm = makeVmm();
    const r = roundTrip(vmm, ExitReason.IO_INSTRUCTION, {
      qual: ioQual(0x3f8, 1, false),
      instLen: 1,
      state: ring0State({ eip: EIP, eax: 0x1234_5641 }),
    });
    expect([...r.consoleOut!]).toEqual([0x41]);
    expect(r.state!.eip).toBe(EIP + 1);
    expect(r.stop).toBe(false);
  });

  it("IN AL from LSR (0x3FD) replaces AL only: THRE | TEMT = 0x60", () => {
    const r = roundTrip(makeVmm(), ExitReason.IO_INSTRUCTION, {
      qual: ioQual(0x3fd, 1, true),
      instLen: 1,
      state: ring0State({ eip: EIP, eax: 0xaabb_ccdd }),
    });
    expect(r.state!.eax).toBe(0xaabb_cc60);
  });

  it("IN AX from an unclaimed port reads 0xFFFF and keeps EAX bits 31:16", () => {
    const r = roundTrip(makeVmm(), ExitReason.IO_INSTRUCTION, {
      qual: ioQual(0x300, 2, true),
      instLen: 2,
      state: ring0State({ eip: EIP, eax: 0x1234_0000 }),
    });
    expect(r.state!.eax).toBe(0x1234_ffff);
    expect(r.state!.eip).toBe(EIP + 2);
  });

  it("IN EAX from an unclaimed port reads all ones", () => {
    const r = roundTrip(makeVmm(), ExitReason.IO_INSTRUCTION, {
      qual: ioQual(0x300, 4, true),
      instLen: 1,
      state: ring0State({ eip: EIP }),
    });
    expect(r.state!.eax).toBe(0xffff_ffff);
  });

  it("string I/O (OUTSB) sends DS:ESI's byte to the port, ESI + 1, EIP past the instruction (SDM Vol. 2B OUTS)", () => {
    const ram = new Uint8Array(new SharedArrayBuffer(1 << 20));
    ram[0x5000] = 0x5a;
    ram[EIP & 0xfffff] = 0x6e; // OUTSB
    const vmm = makeVmm(0, { ram: ram.buffer as SharedArrayBuffer });
    const flatData = { sel: 0x10, base: 0, limit: 0xffff_ffff, ar: 0xc093 };
    const r = roundTrip(vmm, ExitReason.IO_INSTRUCTION, {
      qual: ioQual(0x3f8, 1, false, true),
      instLen: 1,
      state: ring0State({
        eip: EIP & 0xfffff,
        esi: 0x5000,
        edx: 0x3f8,
        ds: flatData,
        es: flatData,
        fs: flatData,
        gs: flatData,
        cr0: 0x11,
      }),
    });
    expect(r.stop).toBe(false);
    expect([...r.consoleOut!]).toEqual([0x5a]);
    expect(r.state!.esi).toBe(0x5001);
    expect(r.state!.eip).toBe((EIP & 0xfffff) + 1);
  });

  it("console bytes of several exits each leave with their own reply", () => {
    const vmm = makeVmm();
    const out = (c: number) =>
      roundTrip(vmm, ExitReason.IO_INSTRUCTION, {
        qual: ioQual(0x3f8, 1, false),
        instLen: 1,
        state: ring0State({ eax: c }),
      });
    expect([...out(0x68).consoleOut!]).toEqual([0x68]);
    expect([...out(0x69).consoleOut!]).toEqual([0x69]);
  });
});

describe("HLT (12)", () => {
  it("with EFLAGS.IF = 0 the guest is done: stop, reason 'halted'", () => {
    const r = roundTrip(makeVmm(), ExitReason.HLT, { instLen: 1, state: ring0State({ eip: EIP, eflags: 0x2 }) });
    expect(r.stop).toBe(true);
    expect(r.stopReason).toBe("halted");
  });

  it("with EFLAGS.IF = 1 EIP advances and the activity state becomes HLT (1)", () => {
    const r = roundTrip(makeVmm(), ExitReason.HLT, { instLen: 1, state: ring0State({ eip: EIP, eflags: 0x202 }) });
    expect(r.stop).toBe(false);
    expect(r.state!.eip).toBe(EIP + 1);
    expect(r.state!.actvState).toBe(1);
    expect(r.mtd! & Mtd.STA).toBe(Mtd.STA);
  });

  it("sti; hlt: the blocking by STI ends with the HLT", () => {
    const r = roundTrip(makeVmm(), ExitReason.HLT, {
      instLen: 1,
      state: ring0State({ eip: EIP, eflags: 0x202, intrState: 1 }),
    });
    expect(r.state!.intrState).toBe(0);
    expect(r.state!.actvState).toBe(1);
  });
});

describe("VMCALL (18)", () => {
  it("function 0 returns the magic 'moat' in EAX and the ABI version in EBX", () => {
    const r = roundTrip(makeVmm(), ExitReason.VMCALL, { instLen: 3, state: ring0State({ eip: EIP, eax: 0 }) });
    const m = r.state!.eax!;
    expect(String.fromCharCode(m & 0xff, (m >>> 8) & 0xff, (m >>> 16) & 0xff, m >>> 24)).toBe("moat");
    expect(r.state!.ebx).toBe(1);
    expect(r.state!.eip).toBe(EIP + 3);
  });

  it("function 1 stops the VM with exit code EBX", () => {
    const r = roundTrip(makeVmm(), ExitReason.VMCALL, { instLen: 3, state: ring0State({ eax: 1, ebx: 3 }) });
    expect(r.stop).toBe(true);
    expect(r.exitCode).toBe(3);
  });

  it("an unknown function returns -1 and leaves ECX/EDX as they were", () => {
    const r = roundTrip(makeVmm(), ExitReason.VMCALL, {
      instLen: 3,
      state: ring0State({ eax: 0x1234, ecx: 7, edx: 9 }),
    });
    expect(r.state!.eax).toBe(0xffff_ffff);
    expect([r.state!.ecx, r.state!.edx]).toEqual([7, 9]);
  });

  it("from CPL 3 (SS.DPL = 3) every function is denied: EAX = -2, the VM goes on", () => {
    const ss = { sel: 0x23, base: 0, limit: 0xffff_ffff, ar: ar({ type: 3, s: 1, dpl: 3, p: 1, db: 1, g: 1 }) };
    const r = roundTrip(makeVmm(), ExitReason.VMCALL, { instLen: 3, state: ring0State({ eax: 1, ebx: 0, ss }) });
    expect(r.stop).toBe(false);
    expect(r.state!.eax).toBe(0xffff_fffe);
  });
});

describe("RDMSR (31) / WRMSR (32)", () => {
  it("an unknown MSR injects #GP(0) (type 3, vector 13, error 0) and leaves EIP alone", () => {
    const r = roundTrip(makeVmm(), ExitReason.RDMSR, { instLen: 2, state: ring0State({ eip: EIP, ecx: 0xc000_0080 }) });
    expect(r.injectValid).toBe(true);
    expect(r.inject).toEqual({ vector: 13, type: 3, hasError: true, error: 0 });
    expect(r.mtd! & Mtd.RIP_LEN).toBe(0);
  });

  it("WRMSR to an unknown MSR also injects #GP(0) without advancing", () => {
    const r = roundTrip(makeVmm(), ExitReason.WRMSR, { instLen: 2, state: ring0State({ eip: EIP, ecx: 0x1b }) });
    expect(r.inject).toEqual({ vector: 13, type: 3, hasError: true, error: 0 });
    expect(r.mtd! & Mtd.RIP_LEN).toBe(0);
  });

  it("RDMSR IA32_SYSENTER_EIP (0x176) reads the guest state into EDX:EAX", () => {
    const r = roundTrip(makeVmm(), ExitReason.RDMSR, {
      instLen: 2,
      state: ring0State({ eip: EIP, ecx: 0x176, sysenterEip: 0xc010_0000, edx: 5 }),
    });
    expect([r.state!.eax, r.state!.edx]).toEqual([0xc010_0000, 0]);
    expect(r.state!.eip).toBe(EIP + 2);
  });

  it("WRMSR IA32_SYSENTER_CS (0x174) replies with the SYSENTER group, the other two unchanged", () => {
    const r = roundTrip(makeVmm(), ExitReason.WRMSR, {
      instLen: 2,
      state: ring0State({ eip: EIP, ecx: 0x174, eax: 0x08, sysenterEsp: 0x9000, sysenterEip: 0x1234 }),
    });
    expect(r.mtd! & Mtd.SYSENTER).toBe(Mtd.SYSENTER);
    expect([r.state!.sysenterCs, r.state!.sysenterEsp, r.state!.sysenterEip]).toEqual([0x08, 0x9000, 0x1234]);
    expect(r.state!.eip).toBe(EIP + 2);
  });

  it("RDMSR IA32_TIME_STAMP_COUNTER (0x10) returns the exit's virtual TSC", () => {
    const r = roundTrip(makeVmm(), ExitReason.RDMSR, {
      instLen: 2,
      tsc: 0x2_0000_0010,
      state: ring0State({ ecx: 0x10 }),
    });
    expect([r.state!.eax, r.state!.edx]).toEqual([0x10, 2]);
  });

  it("an MTRR written with WRMSR reads back through RDMSR of the same VMM", () => {
    const vmm = makeVmm();
    roundTrip(vmm, ExitReason.WRMSR, { instLen: 2, state: ring0State({ ecx: 0x200, eax: 0x0010_0006 }) });
    const r = roundTrip(vmm, ExitReason.RDMSR, { instLen: 2, state: ring0State({ ecx: 0x200 }) });
    expect(r.state!.eax).toBe(0x0010_0006);
  });
});

describe("exits that stop the VM", () => {
  it("triple fault (2): 'triple fault'", () => {
    expect(roundTrip(makeVmm(), ExitReason.TRIPLE_FAULT).stopReason).toBe("triple fault");
  });

  it("EPT violation (48) on an instruction fetch outside RAM names the guest-physical address", () => {
    // Qualification bit 2: the access was an instruction fetch (SDM Table 27-7).
    const r = roundTrip(makeVmm(), ExitReason.EPT_VIOLATION, { qual: 0x4, guestPhysical: 0xfee0_0030 });
    expect(r.stop).toBe(true);
    expect(r.stopReason).toContain("0xfee00030");
  });

  it("an unhandled reason is named by number and name", () => {
    const r = roundTrip(makeVmm(), ExitReason.INVLPG, { state: ring0State() });
    expect(r.stopReason).toBe("unhandled exit reason 14 (INVLPG)");
  });

  it("a VM-entry failure (bit 31) stops with its basic reason", () => {
    const r = roundTrip(makeVmm(), (0x8000_0000 | ExitReason.ENTRY_FAIL_GUEST_STATE) >>> 0);
    expect(r.stopReason).toBe("VM-entry failure, reason 33 (ENTRY_FAIL_GUEST_STATE)");
  });

  it("an exit without the MTD groups its handler reads stops and names them", () => {
    const r = roundTrip(makeVmm(), ExitReason.CPUID, { mtd: Mtd.RIP_LEN, instLen: 2, state: ring0State() });
    expect(r.stop).toBe(true);
    expect(r.stopReason).toBe("VMM: exit reason 10 (CPUID) arrived without MTD groups GPR_ACDB");
  });
});

describe("recall (255)", () => {
  it("changes nothing and does not stop", () => {
    const r = roundTrip(makeVmm(), ExitReason.RECALL);
    expect(r.mtd).toBe(0);
    expect(r.stop).toBe(false);
    expect(r.injectValid).toBe(false);
  });
});

describe("Vmm.handle", () => {
  it("takes and returns encoded protobuf bytes", () => {
    const out = makeVmm().handle(encodeExit(ExitReason.RECALL));
    expect(out).toBeInstanceOf(Uint8Array);
  });
});

/** An OUT of AL to `port` through the whole VMM (SDM Table 27-5 qualification). */
function out(vmm: ReturnType<typeof makeVmm>, port: number, value: number, tsc = 0) {
  return roundTrip(vmm, ExitReason.IO_INSTRUCTION, {
    qual: ioQual(port, 1, false),
    instLen: 1,
    tsc,
    state: ring0State({ eip: EIP, eax: value }),
  });
}

/** The 8259A pair at vectors 0x20/0x28 with only IRQ 0 unmasked, and PIT counter 0 in mode 2 with divisor `n` (datasheets). */
function programTimer(vmm: ReturnType<typeof makeVmm>, n: number) {
  for (const [port, v] of [...PIC_INIT_20_28, [0x21, 0xfe], [0xa1, 0xff], [0x43, 0x34], [0x40, n & 0xff]])
    out(vmm, port, v);
  return out(vmm, 0x40, n >> 8);
}

describe("device interrupts and virtual time", () => {
  it("every reply carries the earliest device deadline (the PIT's first edge, 8254 mode 2: N + 1 CLK cycles)", () => {
    const r = programTimer(makeVmm(), 11932);
    expect(r.deadline).toBe(Math.ceil((11933 * 100_000_000) / 1_193_182));
  });

  it("the preemption-timer exit (52) at the deadline injects IRQ 0 as vector 0x20 and wakes the HLT", () => {
    const vmm = makeVmm();
    const deadline = programTimer(vmm, 11932).deadline as number;
    const r = roundTrip(vmm, ExitReason.PREEMPTION_TIMER, {
      tsc: deadline,
      state: ring0State({ eflags: 0x202, actvState: 1 }),
    });
    expect(r.injectValid).toBe(true);
    expect(r.inject).toEqual({ vector: 0x20, type: 0, hasError: false, error: 0 });
    expect(r.state!.actvState).toBe(0);
    expect(r.deadline).toBeGreaterThan(deadline);
  });

  it("with IF = 0 the pending IRQ waits: an interrupt-window request, then the window exit (7) injects it", () => {
    const vmm = makeVmm();
    const deadline = programTimer(vmm, 100).deadline as number;
    const held = roundTrip(vmm, ExitReason.PREEMPTION_TIMER, { tsc: deadline, state: ring0State({ eflags: 0x2 }) });
    expect(held.injectValid).toBe(false);
    expect(held.wantIntrWindow).toBe(true);
    const w = roundTrip(vmm, ExitReason.INTERRUPT_WINDOW, { tsc: deadline + 5, state: ring0State({ eflags: 0x202 }) });
    expect(w.inject?.vector).toBe(0x20);
    expect(w.wantIntrWindow).toBe(false);
  });

  it("a write to the debug-exit port 0xF4 stops the VM with status (value << 1) | 1", () => {
    const r = roundTrip(makeVmm(), ExitReason.IO_INSTRUCTION, {
      qual: ioQual(0xf4, 4, false),
      instLen: 1,
      state: ring0State({ eip: EIP, eax: 2 }),
    });
    expect(r).toMatchObject({
      stop: true,
      exitCode: 5,
      stopReason: "guest exit through the debug-exit port with status 5",
    });
  });

  it("the 8042 reset command (FEh to port 0x64) reboots the guest: the reply is the startup state again", () => {
    const image = Uint8Array.of(0xfa, 0xf4);
    const vmm = makeVmm(16 << 20, { image, format: "flat" });
    roundTrip(vmm, ExitReason.STARTUP);
    const r = out(vmm, 0x64, 0xfe);
    expect(r.stop).toBe(false);
    expect(r.state!.eip).toBe(0x100000);
    expect(r.state!.cr0).toBe(0x11);
    expect(r.state!.eflags).toBe(0x2);
  });
});

describe("Linux boot at startup (Documentation/x86/boot.rst, 32-bit boot protocol)", () => {
  it("starts at code32_start with __BOOT_CS 0x10, __BOOT_DS 0x18, ESI = boot_params, IF = 0, EBX = EBP = EDI = 0", async () => {
    const { handBuiltBzImage } = await import("./boot/testing/bzimage-builder.js");
    const vmm = makeVmm(32 << 20, {
      kernel: handBuiltBzImage({ prefAddress: 0x100000, initSize: 0x100000 }),
      cmdline: "console=ttyS0",
    });
    const r = roundTrip(vmm, ExitReason.STARTUP);
    const s = r.state!;
    expect(r.stop).toBe(false);
    expect(s.eip).toBe(0x100000);
    expect(s.cs!.sel).toBe(0x10);
    for (const seg of [s.ds, s.es, s.ss]) expect(seg!.sel).toBe(0x18);
    expect(s.esi).toBe(0x7000);
    expect([s.ebx, s.ebp, s.edi]).toEqual([0, 0, 0]);
    expect(s.eflags! & 0x200).toBe(0);
    expect(s.gdtr).toEqual({ base: 0x500, limit: 31 });
    expect(s.cr0! & 0x8000_0001).toBe(1); // PE on, PG off
  });

  it("a malformed kernel stops the VM with exit code 1 and the loader's one-line error", () => {
    const r = roundTrip(makeVmm(16 << 20, { kernel: new Uint8Array(4096) }), ExitReason.STARTUP);
    expect(r).toMatchObject({
      stop: true,
      exitCode: 1,
      stopReason: 'linux: no "HdrS" magic at 0x202: not a Linux kernel image',
    });
  });
});

describe("Vmm.save / Vmm.restore (DESIGN.md §6 microreboot)", () => {
  it("a fresh VMM restored from a checkpoint answers the next exit exactly as the original", () => {
    const a = makeVmm();
    const deadline = programTimer(a, 500).deadline as number;
    const saved = a.save();
    const b = makeVmm();
    b.restore(saved);
    expect(b.save()).toEqual(saved);
    const exit = { tsc: deadline, state: ring0State({ eflags: 0x202 }) };
    expect(roundTrip(b, ExitReason.PREEMPTION_TIMER, exit)).toEqual(roundTrip(a, ExitReason.PREEMPTION_TIMER, exit));
  });

  it("keeps MSRs written through WRMSR", () => {
    const a = makeVmm();
    roundTrip(a, ExitReason.WRMSR, { instLen: 2, state: ring0State({ eip: EIP, ecx: 0x2ff, eax: 0xc06, edx: 0 }) });
    const b = makeVmm();
    b.restore(a.save());
    const r = roundTrip(b, ExitReason.RDMSR, { instLen: 2, state: ring0State({ eip: EIP, ecx: 0x2ff }) });
    expect(r.state!.eax).toBe(0xc06);
  });

  it("refuses a checkpoint of the wrong kind and keeps its state", () => {
    const a = makeVmm();
    programTimer(a, 500);
    const before = a.save();
    expect(() => a.restore({ kind: "vmm", version: 1 })).toThrow(/snapshot/);
    expect(a.save()).toEqual(before);
  });
});
