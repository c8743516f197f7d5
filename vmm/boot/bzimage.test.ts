// Oracle: Documentation/x86/boot.rst, "The Real-Mode Kernel Header" (field
// offsets: setup_sects 0x1F1, syssize 0x1F4 in 16-byte units, boot_flag
// 0x1FE = 0xAA55, header 0x202 = "HdrS", version 0x206, loadflags 0x211 with
// LOADED_HIGH bit 0, code32_start 0x214, initrd_addr_max 0x22C,
// kernel_alignment 0x230, relocatable_kernel 0x234, cmdline_size 0x238,
// pref_address 0x258 and init_size 0x260 from 2.10), "Loading the rest of the
// kernel" (the protected-mode code starts at (setup_sects + 1) * 512;
// setup_sects 0 means 4) and "Details of header fields" (the header ends at
// 0x202 + the byte at 0x201). The real kernel is the cached build of
// guests/linux/build.sh, checked against its .config (non-relocatable,
// PHYSICAL_START 16 MiB); skipped when it is not there.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseBzImage } from "./bzimage.js";
import { handBuiltBzImage } from "./testing/bzimage-builder.js";

describe("parseBzImage on a hand-built header", () => {
  it("reads each field at its boot.rst offset", () => {
    const r = parseBzImage(
      handBuiltBzImage({
        setupSects: 3,
        relocatable: true,
        kernelAlignment: 0x200000,
        prefAddress: 0x400000,
        initSize: 0x345000,
        initrdAddrMax: 0x37ffffff,
        cmdlineSize: 255,
      }),
    );
    expect(r).toEqual({
      ok: true,
      header: {
        version: 0x020f,
        setupSects: 3,
        kernelOffset: 4 * 512,
        kernelSize: 64,
        loadflags: 1,
        code32Start: 0x100000,
        initrdAddrMax: 0x37ffffff,
        kernelAlignment: 0x200000,
        relocatable: true,
        cmdlineSize: 255,
        prefAddress: 0x400000,
        initSize: 0x345000,
        headerEnd: 0x202 + 0x6a,
      },
    });
  });

  it("setup_sects 0 means 4: the kernel starts at 5 * 512", () => {
    const r = parseBzImage(handBuiltBzImage({ setupSects: 0 }));
    expect(r.ok && r.header.kernelOffset).toBe(2560);
  });

  it("before protocol 2.10 there is no pref_address or init_size: 1 MiB and 0", () => {
    const r = parseBzImage(handBuiltBzImage({ version: 0x0206 }));
    expect(r.ok && [r.header.prefAddress, r.header.initSize]).toEqual([0x100000, 0]);
  });

  it("syssize rounds up to a 16-byte paragraph: a last paragraph partly past the file is the rest of the file", () => {
    // boot.rst: syssize is "the size of the protected-mode code in units of
    // 16-byte paragraphs"; memtest86+ 6.10 ia32 ends 8 bytes into its last one.
    const r = parseBzImage(handBuiltBzImage({ payload: new Uint8Array(56), syssize: 4 }));
    expect(r.ok && r.header.kernelSize).toBe(56);
  });

  it.each([
    [{ magic: 0x12345678 }, 'linux: no "HdrS" magic at 0x202: not a Linux kernel image'],
    [{ bootFlag: 0x1234 }, "linux: boot_flag at 0x1fe is 0x1234, not 0xaa55"],
    [{ version: 0x0205 }, "linux: boot protocol 2.05 is older than 2.06, which this loader needs"],
    [{ loadflags: 0 }, "linux: loadflags.LOADED_HIGH is clear: a zImage, not a bzImage"],
    [{ syssize: 0 }, "linux: syssize is 0: no protected-mode kernel"],
    [{ syssize: 5 }, "linux: truncated: setup_sects 1 and syssize 5 need 1104 bytes, the file has 1088"],
    [{ relocatable: true, kernelAlignment: 0x300000 }, "linux: kernel_alignment 0x300000 is not a power of two"],
  ])("refuses %o with one line naming the problem", (fields, error) => {
    expect(parseBzImage(handBuiltBzImage(fields))).toEqual({ ok: false, error });
  });

  it("refuses a file shorter than the setup header", () => {
    expect(parseBzImage(new Uint8Array(100))).toEqual({
      ok: false,
      error: "linux: kernel of 100 bytes is too short for a setup header",
    });
  });
});

const cache = join(process.env.MOAT_CACHE ?? join(homedir(), ".cache", "moat"), "linux");
const bzImage = join(cache, "bzImage");
const config = join(cache, "build", ".config");
const built = existsSync(bzImage) && existsSync(config);

describe.skipIf(!built)(
  `parseBzImage on the cached Linux build${built ? "" : " (skipped: run guests/linux/build.sh)"}`,
  () => {
    it("finds a protocol >= 2.10 bzImage whose kernel fills the file after the setup sectors, at its .config's load address", () => {
      const file = new Uint8Array(readFileSync(bzImage));
      const cfg = readFileSync(config, "utf8");
      const r = parseBzImage(file);
      if (!r.ok) throw new Error(r.error);
      const h = r.header;
      expect(h.version).toBeGreaterThanOrEqual(0x020a);
      // boot.rst: the protected-mode code is the rest of the file (syssize rounds up to 16 bytes).
      expect(h.kernelOffset + h.kernelSize).toBeGreaterThanOrEqual(file.length - 15);
      expect(h.kernelOffset + h.kernelSize).toBeLessThanOrEqual(file.length);
      expect(h.relocatable).toBe(/^CONFIG_RELOCATABLE=y$/m.test(cfg));
      const start = /^CONFIG_PHYSICAL_START=(0x[0-9a-f]+)$/m.exec(cfg);
      if (start) expect(h.prefAddress).toBe(Number(start[1]));
      expect(h.code32Start).toBe(0x100000);
      expect(h.initSize).toBeGreaterThan(h.kernelSize);
    });
  },
);
