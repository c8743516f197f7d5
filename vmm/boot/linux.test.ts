// Oracle: Documentation/x86/boot.rst ("32-bit Boot Protocol": boot_params
// zeroed, the setup header copied from 0x1F1 to its end at 0x202 + byte
// 0x201, type_of_loader 0x210 (0xFF: undefined), code32_start 0x214,
// ramdisk_image 0x218, ramdisk_size 0x21C, cmd_line_ptr 0x228; the initrd
// ends at or below initrd_addr_max; a relocatable kernel may be loaded at
// pref_address and runs aligned to kernel_alignment; init_size bytes from the
// runtime start must be free), Documentation/x86/zero-page.rst (ext_mem_k
// 0x002, alt_mem_k 0x1E0, e820_entries 0x1E8, e820_table 0x2D0 of 20-byte
// {addr u64, size u64, type u32}) and the ACPI address-range types (1 RAM,
// 2 reserved). The GDT descriptors are decoded per SDM Vol. 3A §3.4.5.
import { describe, expect, it } from "vitest";
import { GuestRam } from "../guest-ram.js";
import { BOOT_PARAMS_ADDRESS, CMDLINE_ADDRESS, GDT_ADDRESS, loadLinux } from "./linux.js";
import { handBuiltBzImage } from "./testing/bzimage-builder.js";

const MiB = 1 << 20;
const ram = (bytes: number) => new GuestRam(new SharedArrayBuffer(bytes));
const u16 = (r: GuestRam, a: number) => r.bytes[a] | (r.bytes[a + 1] << 8);
const cString = (r: GuestRam, a: number) => {
  let e = a;
  while (r.bytes[e] !== 0) e++;
  return new TextDecoder().decode(r.bytes.subarray(a, e));
};

describe("loadLinux, non-relocatable kernel (runs at pref_address)", () => {
  const kernel = handBuiltBzImage({ prefAddress: 16 * MiB, initSize: 4 * MiB });
  const initrd = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);
  const r = ram(64 * MiB);
  const res = loadLinux(r, kernel, initrd, "console=ttyS0 quiet");
  if (!res.ok) throw new Error(res.error);
  const bp = res.bootParams;

  it("loads the protected-mode code at 1 MiB and enters at code32_start = 1 MiB", () => {
    expect(res.entry).toBe(MiB);
    expect(r.bytes.subarray(MiB, MiB + 64)).toEqual(kernel.subarray(1024, 1088));
    expect(r.read32(bp + 0x214)).toBe(MiB);
  });

  it("copies the setup header from 0x1F1 to 0x202 + byte 0x201 into boot_params", () => {
    expect(bp).toBe(BOOT_PARAMS_ADDRESS);
    expect(r.read32(bp + 0x202)).toBe(0x53726448);
    expect(u16(r, bp + 0x206)).toBe(0x020f);
    expect(r.bytes[bp + 0x1f1]).toBe(1);
    expect(r.read32(bp + 0x238)).toBe(2047);
    expect(r.read32(bp + 0x260)).toBe(4 * MiB); // init_size, the last field before 0x26c
  });

  it("sets type_of_loader 0xFF, the command line pointer and the NUL-terminated command line", () => {
    expect(r.bytes[bp + 0x210]).toBe(0xff);
    expect(r.read32(bp + 0x228)).toBe(CMDLINE_ADDRESS);
    expect(cString(r, CMDLINE_ADDRESS)).toBe("console=ttyS0 quiet");
  });

  it("puts the initrd page-aligned at the top of RAM and records image and size", () => {
    const start = 64 * MiB - 8192; // 5000 bytes, rounded down to a page below the top
    expect(res.initrd).toEqual({ start, size: 5000 });
    expect(r.read32(bp + 0x218)).toBe(start);
    expect(r.read32(bp + 0x21c)).toBe(5000);
    expect(r.bytes.subarray(start, start + 5000)).toEqual(initrd);
  });

  it("writes the e820 map: RAM below 640 KiB, the ISA hole reserved, RAM from 1 MiB to the end", () => {
    expect(r.bytes[bp + 0x1e8]).toBe(3);
    const entry = (i: number) => {
      const a = bp + 0x2d0 + 20 * i;
      return [r.read32(a), r.read32(a + 4), r.read32(a + 8), r.read32(a + 12), r.read32(a + 16)];
    };
    expect(entry(0)).toEqual([0, 0, 0xa0000, 0, 1]);
    expect(entry(1)).toEqual([0xa0000, 0, 0x60000, 0, 2]);
    expect(entry(2)).toEqual([MiB, 0, 63 * MiB, 0, 1]);
  });

  it("reports extended memory in KiB (ext_mem_k, alt_mem_k) and no text screen (orig_video_lines = cols = 0)", () => {
    expect(u16(r, bp + 0x002)).toBe(63 * 1024);
    expect(r.read32(bp + 0x1e0)).toBe(63 * 1024);
    expect(r.bytes[bp + 0x07]).toBe(0); // orig_video_cols
    expect(r.bytes[bp + 0x0e]).toBe(0); // orig_video_lines
  });

  it("writes a GDT whose 0x10 is flat execute/read code and 0x18 flat read/write data (G=1, D=1, DPL 0)", () => {
    expect(res.gdtBase).toBe(GDT_ADDRESS);
    expect(res.gdtLimit).toBe(31);
    const desc = (sel: number) => {
      const lo = r.read32(GDT_ADDRESS + sel);
      const hi = r.read32(GDT_ADDRESS + sel + 4);
      const base = (lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff00_0000);
      const limit = (lo & 0xffff) | (hi & 0xf_0000);
      return {
        base,
        limit,
        type: (hi >>> 8) & 0xf,
        s: (hi >>> 12) & 1,
        dpl: (hi >>> 13) & 3,
        p: (hi >>> 15) & 1,
        db: (hi >>> 22) & 1,
        g: (hi >>> 23) & 1,
      };
    };
    expect(desc(0x10)).toEqual({ base: 0, limit: 0xfffff, type: 0xb, s: 1, dpl: 0, p: 1, db: 1, g: 1 });
    expect(desc(0x18)).toEqual({ base: 0, limit: 0xfffff, type: 0x3, s: 1, dpl: 0, p: 1, db: 1, g: 1 });
  });
});

describe("loadLinux placement rules", () => {
  it("loads a relocatable kernel at pref_address when it fits", () => {
    const r = ram(64 * MiB);
    const res = loadLinux(
      r,
      handBuiltBzImage({ relocatable: true, kernelAlignment: 0x200000, prefAddress: 0x400000 }),
      undefined,
    );
    expect(res.ok && res.entry).toBe(0x400000);
    expect(r.read32(BOOT_PARAMS_ADDRESS + 0x214)).toBe(0x400000);
    expect(r.read32(BOOT_PARAMS_ADDRESS + 0x218)).toBe(0); // no initrd
  });

  it("keeps the initrd's last byte at or below initrd_addr_max", () => {
    const res = loadLinux(ram(64 * MiB), handBuiltBzImage({ initrdAddrMax: 32 * MiB - 1 }), new Uint8Array(4096));
    expect(res.ok && res.initrd).toEqual({ start: 32 * MiB - 4096, size: 4096 });
  });

  it("refuses RAM too small for init_size from the runtime start", () => {
    const res = loadLinux(ram(16 * MiB), handBuiltBzImage({ prefAddress: 16 * MiB, initSize: 4 * MiB }), undefined);
    expect(res).toEqual({
      ok: false,
      error: "linux: the kernel needs RAM up to 0x1400000 (init_size 0x400000), more than the VM's 16 MiB",
    });
  });

  it("refuses an initrd that would overlap the kernel's memory", () => {
    const res = loadLinux(
      ram(24 * MiB),
      handBuiltBzImage({ prefAddress: 16 * MiB, initSize: 4 * MiB }),
      new Uint8Array(8 * MiB),
    );
    expect(res.ok).toBe(false);
    expect(!res.ok && res.error).toMatch(
      /^linux: initrd of 8388608 bytes does not fit between the kernel's end 0x1400000 and 0x1800000/,
    );
  });

  it("refuses a command line longer than cmdline_size", () => {
    const res = loadLinux(ram(64 * MiB), handBuiltBzImage({ cmdlineSize: 8 }), undefined, "console=ttyS0");
    expect(res).toEqual({ ok: false, error: "linux: command line of 13 bytes exceeds the kernel's limit of 8" });
  });

  it("passes the header parser's error through unchanged and writes nothing", () => {
    const r = ram(64 * MiB);
    const res = loadLinux(r, handBuiltBzImage({ version: 0x0204 }), undefined);
    expect(res).toEqual({ ok: false, error: "linux: boot protocol 2.04 is older than 2.06, which this loader needs" });
    expect(r.bytes.every((b) => b === 0)).toBe(true);
  });
});
