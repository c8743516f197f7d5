// Oracle: Intel SDM Vol. 3A §4.3 and §4.7 (an instruction fetch is a
// supervisor read of each code page at CPL 0: a not-present page gives
// error code 0, I/D stays 0 without NX/SMEP; CR2 = the faulting linear
// address), §5.3 (a byte past the CS limit is #GP(0)), Vol. 2A §2.3.11
// (more than 15 bytes is #GP(0)), Vol. 3B §20.1 (real-mode address = segment
// base + 16-bit offset; IP wraps at 64 KiB), Vol. 1 §1.3.1 (little-endian
// bytes of an operand that spans two pages). Bytes from GNU as.
import { describe, expect, it } from "vitest";
import { RomDevice } from "../boot/firmware.js";
import { Vector } from "./fault.js";
import { EMU_DONE, EMU_FAULT, EMU_STOP } from "./outcome.js";
import { CS, DS, EAX, EBX } from "./register-file.js";
import { FakeMmio } from "./testing/fake-mmio.js";
import { type FlatEmulator, flatEmulator } from "./testing/flat-emulator.js";
import { assembleOne } from "./testing/gnu-as.js";

const PD = 0x10000;
const PT = 0x11000;
const PT0 = 0x12000;

/** Paging on: linear 0-1 MiB identity-mapped, linear 0x400000 + n * 4 KiB -> frames[n] (0 = not present). */
function paged(frames: number[]): FlatEmulator {
  const f = flatEmulator();
  f.ram.write32(PD, PT0 | 7);
  for (let n = 0; n < 256; n++) f.ram.write32(PT0 + 4 * n, (n << 12) | 7);
  f.ram.write32(PD + 4, PT | 7);
  frames.forEach((frame, n) => {
    f.ram.write32(PT + 4 * n, frame === 0 ? 0 : frame | 7);
  });
  f.emu.regs.cr0 = 0x8000_0001;
  f.emu.regs.cr3 = PD;
  return f;
}

describe("instruction fetch", () => {
  const mov = assembleOne("movl $0x12345678,0x402010"); // c7 05 <disp32> <imm32>: 10 bytes

  it("an instruction that straddles two pages is fetched from both frames", () => {
    const f = paged([0x20000, 0x30000, 0xfee0_0000]);
    const dev = new FakeMmio("dev", 0xfee0_0000, 0x100);
    f.mmio.attach(dev);
    f.ram.write(0x20ffc, mov.subarray(0, 4));
    f.ram.write(0x30000, mov.subarray(4));
    f.emu.regs.eip = 0x40_0ffc;
    expect(f.emu.step()).toBe(EMU_DONE);
    expect(dev.log).toEqual([{ write: true, offset: 0x10, size: 4, value: 0x1234_5678 }]);
    expect(f.emu.regs.eip).toBe(0x40_1006);
  });

  it("when the rest of the instruction is on a not-present page: #PF, error code 0, CR2 = that page", () => {
    const f = paged([0x20000, 0]);
    f.ram.write(0x20ffc, mov.subarray(0, 4));
    f.emu.regs.eip = 0x40_0ffc;
    expect(f.emu.step()).toBe(EMU_FAULT);
    const a = f.emu.abort;
    expect([a.vector, a.error, a.cr2, f.emu.regs.eip]).toEqual([Vector.PF, 0, 0x40_1000, 0x40_0ffc]);
  });

  it("an instruction that runs past the CS limit is #GP(0)", () => {
    const f = flatEmulator();
    f.emu.regs.seg[CS].limit = 0x1005;
    f.ram.write(0x1000, mov);
    f.emu.regs.eip = 0x1000;
    expect(f.emu.step()).toBe(EMU_FAULT);
    expect([f.emu.abort.vector, f.emu.abort.hasError, f.emu.abort.error]).toEqual([Vector.GP, true, 0]);
  });

  it("16 bytes (redundant prefixes) is #GP(0)", () => {
    const f = flatEmulator();
    f.ram.write(0x1000, Uint8Array.of(...Array(14).fill(0x3e), 0x89, 0x18));
    f.emu.regs.eip = 0x1000;
    expect(f.emu.step()).toBe(EMU_FAULT);
    expect(f.emu.abort.vector).toBe(Vector.GP);
  });

  it("code outside RAM stops the VM", () => {
    const f = flatEmulator(0x10000);
    f.emu.regs.eip = 0x20000;
    expect(f.emu.step()).toBe(EMU_STOP);
    expect(f.emu.abort.reason).toBe("emulator: instruction at 0x8:0x20000 is fetched from 0x20000, which is not RAM");
  });

  it("code in a device that holds code (a firmware ROM at 4 GiB) is fetched through it and runs", () => {
    const f = flatEmulator(0x10000);
    const movl = assembleOne("movl %eax,0x100"); // a store to RAM: what makes the EPT send a ROM fetch here
    const rom = new Uint8Array(0x1_0000);
    rom.set(movl, 0xfff0);
    f.mmio.attach(new RomDevice(rom)); // 64 KiB ending at 4 GiB
    f.emu.regs.eip = 0xffff_fff0;
    f.emu.regs.gpr[EAX] = 0xcafe_f00d;
    expect(f.emu.step()).toBe(EMU_DONE);
    expect(f.ram.read32(0x100)).toBe(0xcafe_f00d);
    expect(f.emu.regs.eip).toBe(0xffff_fff0 + movl.length);
  });

  it("code in a device that is not code (a register file) still stops the VM", () => {
    const f = flatEmulator(0x10000);
    f.mmio.attach(new FakeMmio("regs", 0xfee0_0000, 0x1000));
    f.emu.regs.eip = 0xfee0_0000;
    expect(f.emu.step()).toBe(EMU_STOP);
    expect(f.emu.abort.reason).toContain("which is not RAM");
  });
});

describe("operands", () => {
  it("a dword that spans a RAM page and a device page is split byte by byte, little-endian", () => {
    const f = paged([0x20000, 0xfee0_0000]);
    const dev = new FakeMmio("dev", 0xfee0_0000, 0x1000);
    f.mmio.attach(dev);
    f.ram.write(0x1000, assembleOne("movl %eax,(%ebx)"));
    f.emu.regs.eip = 0x1000;
    f.emu.regs.gpr[EAX] = 0xaabb_ccdd;
    f.emu.regs.gpr[EBX] = 0x40_0ffe;
    expect(f.emu.step()).toBe(EMU_DONE);
    expect([f.ram.bytes[0x20ffe], f.ram.bytes[0x20fff]]).toEqual([0xdd, 0xcc]);
    expect(dev.log.map((x) => [x.offset, x.size, x.value])).toEqual([
      [0, 1, 0xbb],
      [1, 1, 0xaa],
    ]);
  });

  it("real mode: DS base + 16-bit offset reaches the device, and IP wraps at 64 KiB", () => {
    const f = flatEmulator(0x80000);
    const vga = new FakeMmio("vga", 0xb8000, 0x8000);
    f.mmio.attach(vga);
    const r = f.emu.regs;
    r.cr0 = 0;
    Object.assign(r.seg[CS], { sel: 0x1000, base: 0x10000, limit: 0xffff, ar: 0x9b });
    Object.assign(r.seg[DS], { sel: 0xb800, base: 0xb8000, limit: 0xffff, ar: 0x93 });
    const store = assembleOne("movw %ax,0x10", 16); // a3 10 00
    f.ram.write(0x1fffd, store);
    r.eip = 0xfffd;
    r.gpr[EAX] = 0x0741;
    expect(f.emu.step()).toBe(EMU_DONE);
    expect(vga.log).toEqual([{ write: true, offset: 0x10, size: 2, value: 0x0741 }]);
    expect(r.eip).toBe(0);
  });
});
