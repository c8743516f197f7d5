// Reading boot files: the firmware ROM's size rule. Oracle: a PC's BIOS
// flash is a whole number of 64 KiB blocks whose top is the reset vector at
// FFFFFFF0H (SDM Vol. 3A §9.1.4); we accept 64-256 KiB and name the file otherwise.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ImageError, readBootFiles, readFirmware } from "./image.js";

const dir = mkdtempSync(join(tmpdir(), "moat-fw-"));
const file = (name: string, size: number) => {
  const p = join(dir, name);
  writeFileSync(p, new Uint8Array(size).fill(0xff));
  return p;
};

describe("readFirmware", () => {
  it("accepts 64 KiB and 256 KiB ROMs", () => {
    expect(readFirmware(file("a.bin", 0x10000)).length).toBe(0x10000);
    expect(readFirmware(file("b.bin", 0x40000)).length).toBe(0x40000);
  });

  it.each([
    ["odd.bin", 0x10001],
    ["small.bin", 0x8000],
    ["big.bin", 0x50000],
  ])("refuses %s (%i bytes) with an error naming the file and the rule", (name, size) => {
    const p = file(name, size);
    expect(() => readFirmware(p)).toThrow(ImageError);
    expect(() => readFirmware(p)).toThrow(`${p}: firmware ROM of ${size} bytes: must be a multiple of 64 KiB`);
  });

  it("names a missing ROM", () => {
    expect(() => readFirmware(join(dir, "none.bin"))).toThrow(/none\.bin: cannot read firmware ROM: ENOENT/);
  });

  it("readBootFiles returns the ROM and no image for a firmware VM", () => {
    const p = file("c.bin", 0x20000);
    const f = readBootFiles({
      name: "fw",
      firmware: p,
      memoryBytes: 1 << 24,
      priority: 1,
      quantum: 1000,
      policy: "destroy",
      cmdline: "",
    });
    expect(f.firmware?.length).toBe(0x20000);
    expect(f.image.length).toBe(0);
  });
});
