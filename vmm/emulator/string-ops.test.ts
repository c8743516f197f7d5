// Oracle: Intel SDM Vol. 2B "MOVS/MOVSB/MOVSW/MOVSD", "STOS", "LODS" (element
// size, DS:ESI source with override, ES:EDI destination, DF decrements) and
// "REP/REPE/REPZ/REPNE/REPNZ" (ECX counts iterations, a zero count executes
// none; the address size picks CX/SI/DI; an interrupted REP instruction
// leaves ECX/ESI/EDI at the interruption point with EIP on the instruction
// so that it resumes), Vol. 3A §4.7 (#PF error code W/R bit; CR2 the
// faulting linear address).
import { describe, expect, it } from "vitest";
import { Vector } from "./fault.js";
import { EMU_DONE, EMU_FAULT, EMU_REPEAT } from "./outcome.js";
import { EAX, ECX, EDI, EFLAGS_DF, ESI } from "./register-file.js";
import { FakeMmio } from "./testing/fake-mmio.js";
import { flatEmulator, runAt } from "./testing/flat-emulator.js";
import { assembleOne } from "./testing/gnu-as.js";

const CODE = 0x1000;
const SRC = 0x3000;
const DST = 0x5000;

describe("REP chunking", () => {
  const stosl = assembleOne("rep stosl");

  it("REP STOSD with ECX = 10 and 4 iterations per exit: two REPEATs, then DONE; EIP moves only at the end", () => {
    const f = flatEmulator(1 << 20, { repLimit: 4 });
    const r = f.emu.regs;
    Object.assign(r.gpr, { [EAX]: 0x1122_3344, [ECX]: 10, [EDI]: DST });
    const seen: [number, number, number, number][] = [];
    for (let n = 0; n < 3; n++) {
      // The guest re-executes the instruction at the unchanged EIP.
      const status = runAt(f, CODE, stosl);
      seen.push([status, r.gpr[ECX], r.gpr[EDI] - DST, r.eip]);
    }
    expect(seen).toEqual([
      [EMU_REPEAT, 6, 16, CODE],
      [EMU_REPEAT, 2, 32, CODE],
      [EMU_DONE, 0, 40, CODE + 2],
    ]);
    for (let i = 0; i < 10; i++) expect(f.ram.read32(DST + 4 * i)).toBe(0x1122_3344);
    expect(f.ram.read32(DST + 40)).toBe(0);
  });

  it("a count that ends exactly at the limit completes the instruction", () => {
    const f = flatEmulator(1 << 20, { repLimit: 4 });
    Object.assign(f.emu.regs.gpr, { [ECX]: 4, [EDI]: DST });
    expect(runAt(f, CODE, stosl)).toBe(EMU_DONE);
    expect(f.emu.regs.gpr[ECX]).toBe(0);
  });

  it("REP with ECX = 0 does nothing and completes", () => {
    const f = flatEmulator();
    Object.assign(f.emu.regs.gpr, { [EAX]: 0xffff_ffff, [ECX]: 0, [EDI]: DST });
    expect(runAt(f, CODE, stosl)).toBe(EMU_DONE);
    expect([f.ram.read32(DST), f.emu.regs.gpr[EDI], f.emu.regs.eip]).toEqual([0, DST, CODE + 2]);
  });
});

describe("string instructions", () => {
  it("REP MOVSB with DF = 1 copies downwards and leaves ESI/EDI one below the blocks", () => {
    const f = flatEmulator();
    f.ram.bytes.set([1, 2, 3, 4], SRC);
    const r = f.emu.regs;
    r.eflags |= EFLAGS_DF;
    Object.assign(r.gpr, { [ECX]: 4, [ESI]: SRC + 3, [EDI]: DST + 3 });
    expect(runAt(f, CODE, assembleOne("rep movsb"))).toBe(EMU_DONE);
    expect([...f.ram.bytes.subarray(DST, DST + 4)]).toEqual([1, 2, 3, 4]);
    expect([r.gpr[ESI], r.gpr[EDI], r.gpr[ECX]]).toEqual([SRC - 1, DST - 1, 0]);
  });

  it("16-bit addressing counts in CX and wraps DI within 64 KiB, keeping the upper halves", () => {
    const f = flatEmulator();
    const r = f.emu.regs;
    Object.assign(r.gpr, { [EAX]: 0x5a, [ECX]: 0xabcd_0003, [EDI]: 0x1234_fffe });
    expect(runAt(f, CODE, assembleOne("rep stosb %al,%es:(%di)"))).toBe(EMU_DONE);
    expect([r.gpr[ECX], r.gpr[EDI]]).toEqual([0xabcd_0000, 0x1234_0001]);
    expect([f.ram.bytes[0xfffe], f.ram.bytes[0xffff], f.ram.bytes[0]]).toEqual([0x5a, 0x5a, 0x5a]);
  });

  it("REP MOVSD from a device to RAM reads the device in order, one dword per iteration", () => {
    const f = flatEmulator();
    const dev = new FakeMmio("dev", 0xfee0_0000, 0x100);
    dev.bytes.set([0x11, 0, 0, 0, 0x22, 0, 0, 0, 0x33, 0, 0, 0]);
    f.mmio.attach(dev);
    Object.assign(f.emu.regs.gpr, { [ECX]: 3, [ESI]: 0xfee0_0000, [EDI]: DST });
    expect(runAt(f, CODE, assembleOne("rep movsl"))).toBe(EMU_DONE);
    expect(dev.log.map((a) => [a.write, a.offset, a.size])).toEqual([
      [false, 0, 4],
      [false, 4, 4],
      [false, 8, 4],
    ]);
    expect([f.ram.read32(DST), f.ram.read32(DST + 4), f.ram.read32(DST + 8)]).toEqual([0x11, 0x22, 0x33]);
  });

  it("MOVSW from RAM to a device with a segment override on the source", () => {
    const f = flatEmulator();
    const dev = new FakeMmio("dev", 0xfec0_0000, 0x20);
    f.mmio.attach(dev);
    f.emu.regs.seg[4].base = 0x1000; // FS
    f.ram.bytes.set([0xcd, 0xab], SRC + 0x1000);
    Object.assign(f.emu.regs.gpr, { [ESI]: SRC, [EDI]: 0xfec0_0010 });
    expect(runAt(f, CODE, assembleOne("movsw %fs:(%esi),%es:(%edi)"))).toBe(EMU_DONE);
    expect(dev.log).toEqual([{ write: true, offset: 0x10, size: 2, value: 0xabcd }]);
  });

  it("LODSB replaces AL only", () => {
    const f = flatEmulator();
    f.ram.bytes[SRC] = 0x7e;
    Object.assign(f.emu.regs.gpr, { [EAX]: 0x1234_5678, [ESI]: SRC });
    expect(runAt(f, CODE, assembleOne("lodsb"))).toBe(EMU_DONE);
    expect([f.emu.regs.gpr[EAX], f.emu.regs.gpr[ESI]]).toEqual([0x1234_567e, SRC + 1]);
  });
});

describe("a page fault in the middle of REP STOSD (paging on)", () => {
  // Page directory at 0x10000, one page table at 0x11000 for linear 0x400000-0x7fffff:
  // 0x400000 -> 0x20000, 0x401000 not present, 0x403000 -> 0x1000 (the code).
  const f = flatEmulator();
  const r = f.emu.regs;
  f.ram.write32(0x10000 + 4, 0x11000 | 7);
  f.ram.write32(0x11000, 0x20000 | 7);
  f.ram.write32(0x11000 + 4 * 1, 0); // linear 0x401000 not present
  f.ram.write32(0x11000 + 4 * 3, 0x1000 | 7); // code page linear 0x403000 -> 0x1000
  r.cr0 = 0x8000_0001;
  r.cr3 = 0x10000;
  Object.assign(r.gpr, { [EAX]: 0xa5a5_a5a5, [ECX]: 4, [EDI]: 0x40_0ff8 });
  f.ram.bytes.set(assembleOne("rep stosl"), 0x1000);
  r.eip = 0x40_3000;
  const status = f.emu.step();

  it("injects #PF with the write error code (not present) and CR2 = the first byte of the absent page", () => {
    expect(status).toBe(EMU_FAULT);
    expect([f.emu.abort.vector, f.emu.abort.hasError, f.emu.abort.error, f.emu.abort.cr2]).toEqual([
      Vector.PF,
      true,
      2,
      0x40_1000,
    ]);
  });

  it("keeps the iterations done before the fault: ECX = 2, EDI on the absent page, EIP on the instruction", () => {
    expect([r.gpr[ECX], r.gpr[EDI], r.eip]).toEqual([2, 0x40_1000, 0x40_3000]);
    expect([f.ram.read32(0x20ff8), f.ram.read32(0x20ffc)]).toEqual([0xa5a5_a5a5, 0xa5a5_a5a5]);
  });
});
