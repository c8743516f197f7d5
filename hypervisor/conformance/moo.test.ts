// MOO reader. Oracles: the MOO format specification v1.1 (dbalsom/moo
// doc/moo_format_v1.md: chunk layout, REGS bitmask order), the example test
// printed in the 80286 suite's README (00.MOO test 0, "add [bx+0Eh],bl"),
// and each test's own HASH chunk (the README: SHA-1 of the MOO test chunk).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { MooFormatError, parseMoo, readMoo } from "./moo.js";

const here = dirname(fileURLToPath(import.meta.url));
const FILE = join(here, "../../../shared/conformance/singlestep-80286/v1_real_mode/00.MOO.gz");

function chunk(id: string, payload: number[]): number[] {
  const n = payload.length;
  return [...Array.from(id, (c) => c.charCodeAt(0)), n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24, ...payload];
}
const u32 = (v: number) => [v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24];

describe("MOO reader", () => {
  it("reads 00.MOO: header, 400 tests, and test 0 as the suite's README prints it", async () => {
    const f = await readMoo(FILE);
    expect([f.major, f.cpu, f.opcode, f.mnemonic, f.cpuMode, f.tests.length]).toEqual([1, "C286", 0, "add", 0, 400]);
    const t = f.tests[0];
    expect(t.name).toBe("add [bx+0Eh],bl");
    expect(Array.from(t.bytes)).toEqual([0, 95, 14, 244]);
    expect(t.initial.regs).toEqual({
      ax: 715,
      bx: 26659,
      cx: 49548,
      dx: 64181,
      cs: 65535,
      ss: 41175,
      ds: 65535,
      es: 43996,
      sp: 39769,
      bp: 65535,
      si: 35262,
      di: 34633,
      ip: 38072,
      flags: 6291,
    });
    expect(t.initial.ram.slice(0, 2)).toEqual([
      [1086632, 0],
      [1086633, 95],
    ]);
    expect(t.initial.ram.at(-1)).toEqual([1075233, 222]);
    expect(t.final.regs).toEqual({ ip: 38076, flags: 19 });
    expect(t.final.ram).toEqual([[1075233, 1]]);
    expect(t.exception).toBeUndefined();
    expect(t.hash).toBe("626be5084b331080eb08256c12a62d24afdf2a03");
  });

  it("computes every test's hash as the SHA-1 its HASH chunk stores", async () => {
    const f = await readMoo(FILE);
    for (const t of f.tests) expect(t.hash).toBe(t.storedHash);
  });

  it("skips unknown chunks by their length and reads EXCP", () => {
    const test = chunk("TEST", [
      ...u32(0),
      ...chunk("ZZZZ", [1, 2, 3]),
      ...chunk("NAME", [...u32(3), 0x6e, 0x6f, 0x70]),
      ...chunk("EXCP", [13, ...u32(0x1234)]),
    ]);
    const file = [...chunk("MOO ", [1, 1, 0, 0, ...u32(1), 0x43, 0x32, 0x38, 0x36]), ...test];
    const f = parseMoo(new Uint8Array(file));
    expect(f.tests[0].name).toBe("nop");
    expect(f.tests[0].exception).toEqual({ number: 13, flagAddress: 0x1234 });
  });

  it("rejects malformed input with a MooFormatError naming the problem", () => {
    const raw = new Uint8Array(gunzipSync(readFileSync(FILE)));
    expect(() => parseMoo(raw.subarray(0, 1000))).toThrow(MooFormatError);
    expect(() => parseMoo(raw.subarray(0, 1000))).toThrow(/runs past its chunk/);
    expect(() => parseMoo(new Uint8Array([0x4d, 0x4f, 0x4f]))).toThrow(/chunk id runs past/);
    expect(() => parseMoo(new Uint8Array(chunk("JUNK", [])))).toThrow(/no `MOO ` header/);
    const badCount = [...chunk("MOO ", [1, 1, 0, 0, ...u32(2), 0x43, 0x32, 0x38, 0x36])];
    expect(() => parseMoo(new Uint8Array(badCount))).toThrow(/promises 2 tests, file holds 0/);
  });
});
