// The VMM's side of a firmware boot. Oracle: SDM Vol. 3A §9.1.1 Table 9-1
// (processor state after power-up or reset) and §9.1.4 (first instruction
// at FFFFFFF0H, CS.base FFFF0000H, CS.selector F000H, EIP FFF0H); the PC
// chipset convention that the BIOS ROM ends at 4 GiB and its last 128 KiB
// (E and F segments) also appear below 1 MiB; a ROM ignores writes. The
// PAM window: Intel 82441FX datasheet, PAM0-PAM6 (59h-5Fh): RE = 1 reads
// DRAM, else the PCI side; WE = 1 writes DRAM, else the PCI side (where the
// ROM ignores them); 00h disabled, 01 read only, 10 write only, 11 read/write.
import { describe, expect, it } from "vitest";
import { I440fxPmc, PAM0 } from "../../devices/i440fx.js";
import { ExitReason } from "../../proto/exit-reason.js";
import { GuestPhysical } from "../emulator/guest-physical.js";
import { MmioBus } from "../emulator/mmio-bus.js";
import { GuestRam } from "../guest-ram.js";
import { makeVmm, ring0State, roundTrip } from "../testing/exit-messages.js";
import {
  attachFirmware,
  BiosWindow,
  biosWindowCalls,
  RomDevice,
  resetState,
  romLayout,
  VMM_CALL_SHADOW,
} from "./firmware.js";

const rom = (kib: number) => Uint8Array.from({ length: kib * 1024 }, (_, i) => (i * 7 + (i >> 12)) & 0xff);

describe("resetState (Table 9-1)", () => {
  const s = resetState();

  it("starts at linear FFFFFFF0H: CS F000H with base FFFF0000H, limit FFFFH, EIP FFF0H (§9.1.4)", () => {
    expect(s.cs).toMatchObject({ sel: 0xf000, base: 0xffff0000, limit: 0xffff });
    expect(s.eip).toBe(0xfff0);
    expect((s.cs!.base! + s.eip!) >>> 0).toBe(0xfffffff0);
  });

  it("has EFLAGS 2, CR0 60000010H (CD, NW, ET), CR2-CR4 0, DR7 400H", () => {
    expect([s.eflags, s.cr0, s.cr2, s.cr3, s.cr4, s.dr7]).toEqual([2, 0x60000010, 0, 0, 0, 0x400]);
  });

  it("puts the processor signature (family 6 in bits 11:8, as 000n06xxH) in EDX and zeroes the other GPRs", () => {
    expect((s.edx! >> 8) & 0xf).toBe(6);
    expect([s.eax, s.ebx, s.ecx, s.esi, s.edi, s.ebp, s.esp]).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it("gives data segments selector 0, base 0, limit FFFFH, present read/write accessed; GDTR/IDTR base 0 limit FFFFH", () => {
    for (const seg of [s.ds, s.es, s.fs, s.gs, s.ss]) expect(seg).toEqual({ sel: 0, base: 0, limit: 0xffff, ar: 0x93 });
    expect(s.gdtr).toEqual({ base: 0, limit: 0xffff });
    expect(s.idtr).toEqual({ base: 0, limit: 0xffff });
  });
});

describe("ROM layout and the VMM's copy", () => {
  it("puts the ROM's end at 4 GiB and at most its last 128 KiB just below 1 MiB", () => {
    expect(romLayout(64 * 1024)).toEqual({ topBase: 0xffff0000, aliasBase: 0xf0000, aliasSize: 0x10000 });
    expect(romLayout(256 * 1024)).toEqual({ topBase: 0xfffc0000, aliasBase: 0xe0000, aliasSize: 0x20000 });
  });

  it("the top device reads the ROM little-endian and ignores writes", () => {
    const bytes = rom(64);
    const d = new RomDevice(bytes);
    expect([d.base, d.size]).toEqual([0xffff0000, 0x10000]);
    const want = (bytes[0xfff0] | (bytes[0xfff1] << 8) | (bytes[0xfff2] << 16) | (bytes[0xfff3] << 24)) >>> 0;
    expect(d.mmioRead(0xfff0, 4)).toBe(want);
    d.mmioWrite(0xfff0, 4, ~want);
    expect(d.mmioRead(0xfff0, 4)).toBe(want);
  });

  it("attachFirmware puts the ROM at the top and the PAM window over RAM, where the emulator asks it first", () => {
    const bytes = rom(192);
    const ram = new GuestRam(new SharedArrayBuffer(2 << 20));
    const bus = new MmioBus();
    const pmc = new I440fxPmc();
    attachFirmware(bytes, ram, bus, pmc);
    expect(bus.find(0xfffd0000)?.mmioRead(0, 1)).toBe(bytes[0]);
    const phys = new GuestPhysical(ram, bus);
    expect(phys.isRam(0xbffff, 1)).toBe(true);
    expect(phys.isRam(0xbffff, 2)).toBe(false); // its second byte is the window's
    expect(phys.read(0xffff0, 1)).toBe(bytes[bytes.length - 16]); // PAM 00h: the ROM alias
    expect(phys.isRam(0x100000, 4)).toBe(true);
  });
});

/** Writes PAM register `reg` (59h-5Fh) as firmware does, through configuration space. */
function setPam(pmc: I440fxPmc, reg: number, value: number): void {
  pmc.configWrite(reg, 1, value);
}

describe("the PAM window C0000h-FFFFFh (82441FX PAM0-PAM6)", () => {
  const make = (kib = 128) => {
    const bytes = rom(kib);
    const ram = new GuestRam(new SharedArrayBuffer(2 << 20));
    ram.bytes.fill(0x5a, 0xc0000, 0x100000); // what DRAM holds under the window
    const pmc = new I440fxPmc();
    return { bytes, ram, pmc, w: new BiosWindow(bytes, ram, pmc) };
  };
  const at = (gpa: number) => gpa - 0xc0000;

  it("00h (disabled): reads come from the PCI side, the ROM's alias or all ones; writes reach no DRAM", () => {
    const { bytes, ram, w } = make(128);
    expect(w.mmioRead(at(0xe0000), 1)).toBe(bytes[0]); // 128 KiB ROM: aliased from E0000h
    expect(w.mmioRead(at(0xfffff), 1)).toBe(bytes[bytes.length - 1]);
    expect(w.mmioRead(at(0xc0000), 4)).toBe(0xffffffff); // no ROM there, no device: master abort
    w.mmioWrite(at(0xf0000), 4, 0x12345678);
    w.mmioWrite(at(0xc0000), 1, 0x12);
    expect([ram.bytes[0xf0000], ram.bytes[0xc0000]]).toEqual([0x5a, 0x5a]);
  });

  it("01 (read only): reads DRAM, writes go to the PCI side and are lost", () => {
    const { ram, pmc, w } = make();
    setPam(pmc, PAM0, 0x10);
    expect(w.mmioRead(at(0xf1234), 2)).toBe(0x5a5a);
    w.mmioWrite(at(0xf1234), 1, 0x77);
    expect(ram.bytes[0xf1234]).toBe(0x5a);
  });

  it("10 (write only): writes reach DRAM while reads still come from the ROM (how a BIOS copies itself down)", () => {
    const { bytes, ram, pmc, w } = make();
    setPam(pmc, PAM0, 0x20);
    w.mmioWrite(at(0xf0010), 1, 0x77);
    expect(ram.bytes[0xf0010]).toBe(0x77);
    expect(w.mmioRead(at(0xf0010), 1)).toBe(bytes[0x10010]);
  });

  it("11 (read/write): DRAM both ways; each 16 KiB segment of PAM1-PAM6 follows its own nibble", () => {
    const { bytes, ram, pmc, w } = make();
    setPam(pmc, 0x5e, 0x30); // PAM5: E4000h-E7FFFh read/write, E0000h-E3FFFh disabled
    w.mmioWrite(at(0xe4000), 4, 0x11223344);
    expect(w.mmioRead(at(0xe4000), 4)).toBe(0x11223344);
    w.mmioWrite(at(0xe3ffe), 2, 0xbeef); // disabled segment: lost, reads the ROM
    expect(ram.bytes[0xe3ffe]).toBe(0x5a);
    expect(w.mmioRead(at(0xe3fff), 2)).toBe(bytes[0x3fff] | (0x44 << 8)); // one byte from each segment
  });
});

describe("biosWindowCalls: the EPT mapping the VMM asks the kernel for", () => {
  it("at reset (PAM 00h) the whole window is the PCI side: one call, rights 0", () => {
    expect(biosWindowCalls(new I440fxPmc())).toEqual([{ op: VMM_CALL_SHADOW, gpa: 0xc0000, pages: 64, rights: 0 }]);
  });

  it("SeaBIOS's make_bios_writable (PAM1-6 33h, PAM0 30h): all of it RAM read/write/execute", () => {
    const pmc = new I440fxPmc();
    pmc.configWrite(0x58, 4, 0x3333_3000);
    pmc.configWrite(0x5c, 4, 0x3333_3333);
    expect(biosWindowCalls(pmc)).toEqual([{ op: VMM_CALL_SHADOW, gpa: 0xc0000, pages: 64, rights: 7 }]);
  });

  it("read-only segments are RAM read/execute, write-only ones the PCI side; neighbours with equal rights merge", () => {
    const pmc = new I440fxPmc();
    setPam(pmc, 0x5a, 0x11); // C0000h-C7FFFh read only
    setPam(pmc, 0x5b, 0x31); // C8000h read only, CC000h read/write
    setPam(pmc, 0x5c, 0x22); // D0000h-D7FFFh write only
    setPam(pmc, PAM0, 0x10); // F0000h-FFFFFh read only
    expect(biosWindowCalls(pmc)).toEqual([
      { op: VMM_CALL_SHADOW, gpa: 0xc0000, pages: 12, rights: 5 },
      { op: VMM_CALL_SHADOW, gpa: 0xcc000, pages: 4, rights: 7 },
      { op: VMM_CALL_SHADOW, gpa: 0xd0000, pages: 32, rights: 0 },
      { op: VMM_CALL_SHADOW, gpa: 0xf0000, pages: 16, rights: 5 },
    ]);
  });
});

/** OUT of EAX/AL to `port` through the whole VMM (SDM Vol. 3C Table 27-5 qualification). */
function out(vmm: ReturnType<typeof makeVmm>, port: number, size: 1 | 4, value: number) {
  return roundTrip(vmm, ExitReason.IO_INSTRUCTION, {
    qual: ((port << 16) | (size - 1)) >>> 0,
    instLen: 1,
    state: ring0State({ eip: 0x1000, eax: value }),
  });
}

describe("a firmware VMM (the platform wiring)", () => {
  it("answers startup with the reset state and the PAM window as at reset: all of it the PCI side", () => {
    const vmm = makeVmm(16 << 20, { firmware: rom(128) });
    const r = roundTrip(vmm, ExitReason.STARTUP);
    expect([r.state?.cs?.base, r.state?.eip]).toEqual([0xffff0000, 0xfff0]);
    expect(r.calls).toEqual([{ op: VMM_CALL_SHADOW, gpa: 0xc0000, pages: 64, rights: 0 }]);
  });

  it("after a PAM write through CONFIG_ADDRESS/CONFIG_DATA the reply asks for the new mapping, once", () => {
    const vmm = makeVmm(16 << 20, { firmware: rom(128) });
    roundTrip(vmm, ExitReason.STARTUP);
    expect(out(vmm, 0xcf8, 4, 0x8000_0058).calls).toEqual([]); // bus 0, device 0, register 58h
    const r = out(vmm, 0xcfc, 4, 0x0000_3000); // PAM0 (byte 59h) = 30h: F0000h-FFFFFh read/write
    expect(r.calls).toEqual([
      { op: VMM_CALL_SHADOW, gpa: 0xc0000, pages: 48, rights: 0 },
      { op: VMM_CALL_SHADOW, gpa: 0xf0000, pages: 16, rights: 7 },
    ]);
    expect(out(vmm, 0xcfc, 4, 0x0000_3000).calls).toEqual([]); // the same value again changes nothing
  });

  it("a VMM without firmware never remaps the window (its VM has RAM there from the start)", () => {
    const vmm = makeVmm(16 << 20, { image: Uint8Array.of(0xf4) });
    expect(roundTrip(vmm, ExitReason.STARTUP).calls).toEqual([]);
    out(vmm, 0xcf8, 4, 0x8000_0058);
    expect(out(vmm, 0xcfc, 4, 0x0000_3000).calls).toEqual([]);
  });

  it("bytes written to port 402h reach the console", () => {
    const vmm = makeVmm(16 << 20, { firmware: rom(64) });
    roundTrip(vmm, ExitReason.STARTUP);
    expect(Buffer.from(out(vmm, 0x402, 1, 0x53).consoleOut ?? []).toString("latin1")).toBe("S");
  });
});
