// Oracle: The Multiboot Specification version 0.6.96, §3.3 "Boot
// information format": offsets of flags (0), mem_lower (4), mem_upper (8),
// cmdline (16), mmap_length (44), mmap_addr (48), boot_loader_name (64);
// flag bits 0, 2, 6, 9; memory-map entries {size, base_addr, length, type}
// where size excludes itself, type 1 is available RAM and any other type a
// reserved area. The PC layout (RAM below 640 KiB, the ISA hole 0xA0000-
// 0xFFFFF reserved, RAM from 1 MiB) is the one the BIOS reports through INT
// 15h E820h (ACPI "System Address Map": type 2 reserved), which GRUB passes on.
import { describe, expect, it } from "vitest";
import { GuestRam } from "../guest-ram.js";
import { MBI_ADDRESS, MODS_ADDRESS, writeMultibootInfo } from "./multiboot-info.js";

function cString(r: GuestRam, at: number): string {
  let end = at;
  while (r.bytes[end] !== 0) end++;
  return new TextDecoder().decode(r.bytes.subarray(at, end));
}

describe("writeMultibootInfo", () => {
  const r = new GuestRam(new SharedArrayBuffer(16 << 20));
  const res = writeMultibootInfo(r, [{ start: 0x100000, length: 0x5000 }], "console=ttyS0 quiet");
  const mbi = res.ok ? res.ebx : -1;

  it("returns the structure's address for EBX", () => {
    expect(res).toEqual({ ok: true, ebx: MBI_ADDRESS });
  });

  it("sets flags bits 0 (mem), 2 (cmdline), 6 (mmap), 9 (loader name)", () => {
    expect(r.read32(mbi)).toBe((1 << 0) | (1 << 2) | (1 << 6) | (1 << 9));
  });

  it("mem_lower = 640 KiB, mem_upper = RAM above 1 MiB in KiB (16 MiB RAM: 15360)", () => {
    expect(r.read32(mbi + 4)).toBe(640);
    expect(r.read32(mbi + 8)).toBe(15 * 1024);
  });

  it("cmdline points to the NUL-terminated command line", () => {
    expect(cString(r, r.read32(mbi + 16))).toBe("console=ttyS0 quiet");
  });

  it("boot_loader_name is moat", () => {
    expect(cString(r, r.read32(mbi + 64))).toBe("moat");
  });

  it("the memory map lists [0, 640 KiB) and [1 MiB, 16 MiB) as available, the ISA hole as reserved", () => {
    const len = r.read32(mbi + 44);
    const at = r.read32(mbi + 48);
    expect(len).toBe(72);
    const entries = [at, at + 24, at + 48].map((e) => ({
      size: r.read32(e),
      base: r.read32(e + 4) + r.read32(e + 8) * 2 ** 32,
      length: r.read32(e + 12) + r.read32(e + 16) * 2 ** 32,
      type: r.read32(e + 20),
    }));
    expect(entries).toEqual([
      { size: 20, base: 0, length: 0xa0000, type: 1 },
      { size: 20, base: 0xa0000, length: 0x60000, type: 2 },
      { size: 20, base: 0x100000, length: 15 << 20, type: 1 },
    ]);
  });

  it("leaves out the command-line flag when there is none", () => {
    const r2 = new GuestRam(new SharedArrayBuffer(2 << 20));
    const res2 = writeMultibootInfo(r2, []);
    expect(res2.ok && r2.read32(res2.ebx) & 4).toBe(0);
  });

  it("gives up when the image covers its page, or RAM is too small", () => {
    expect(writeMultibootInfo(new GuestRam(new SharedArrayBuffer(1 << 20)), [{ start: 0, length: 0x9800 }]).ok).toBe(
      false,
    );
    expect(writeMultibootInfo(new GuestRam(new SharedArrayBuffer(0x8000)), []).ok).toBe(false);
  });
});

describe("writeMultibootInfo with modules (§3.3 flags bit 3, mods_count 20, mods_addr 24; 16-byte entries mod_start, mod_end, string, reserved)", () => {
  const r = new GuestRam(new SharedArrayBuffer(16 << 20));
  const mods = [
    { start: 0x200000, end: 0x200123, cmdline: "initrd.cpio" },
    { start: 0x201000, end: 0x201001, cmdline: "" },
  ];
  const res = writeMultibootInfo(r, [{ start: 0x100000, length: 0x5000 }], undefined, mods);
  const mbi = res.ok ? res.ebx : -1;

  it("sets flag bit 3 with the count and the list's address", () => {
    expect(r.read32(mbi) & (1 << 3)).toBe(1 << 3);
    expect(r.read32(mbi + 20)).toBe(2);
    expect(r.read32(mbi + 24)).toBe(MODS_ADDRESS);
  });

  it("lists each module's [start, end) and its NUL-terminated string", () => {
    const list = r.read32(mbi + 24);
    expect([r.read32(list), r.read32(list + 4)]).toEqual([0x200000, 0x200123]);
    expect(cString(r, r.read32(list + 8))).toBe("initrd.cpio");
    expect([r.read32(list + 16), r.read32(list + 20)]).toEqual([0x201000, 0x201001]);
    expect(cString(r, r.read32(list + 24))).toBe("");
    expect(r.read32(list + 12)).toBe(0); // reserved
  });

  it("refuses modules when the image occupies the module list's page", () => {
    const r2 = new GuestRam(new SharedArrayBuffer(16 << 20));
    expect(writeMultibootInfo(r2, [{ start: 0x8000, length: 0x100 }], undefined, mods).ok).toBe(false);
  });
});
