// Oracle: a real ELF32 i386 executable built here with the system's gcc and
// ld, and binutils' `readelf` reading its program headers and entry point;
// hand-corrupted copies check each rejection against the ELF specification
// (TIS ELF 1.2 Book I: e_ident, e_type ET_EXEC = 2, e_machine EM_386 = 3,
// Elf32_Phdr layout).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GuestRam } from "../guest-ram.js";
import { loadElf } from "./elf.js";

const SOURCE = `
unsigned int table[64] = { 1, 2, 3, 0xdeadbeef };
unsigned int zeroed[4096];
void _start(void) { table[5] = zeroed[7]; for (;;) __asm__ volatile("hlt"); }
`;

interface Phdr {
  type: string;
  offset: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

let dir: string;
let elf: Uint8Array;
let entry: number;
let loads: Phdr[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "moat-elf-"));
  writeFileSync(join(dir, "t.c"), SOURCE);
  execFileSync("gcc", [
    "-m32",
    "-ffreestanding",
    "-nostdlib",
    "-static",
    "-fno-pic",
    "-no-pie",
    "-O2",
    "-Wl,-Ttext-segment=0x200000",
    "-Wl,--build-id=none",
    "-o",
    join(dir, "t.elf"),
    join(dir, "t.c"),
  ]);
  elf = new Uint8Array(readFileSync(join(dir, "t.elf")));
  const text = execFileSync("readelf", ["-lhW", join(dir, "t.elf")], { encoding: "utf8" });
  entry = Number.parseInt(/Entry point address:\s+(0x[0-9a-f]+)/.exec(text)![1], 16);
  loads = [...text.matchAll(/^\s+(LOAD)\s+(0x\S+)\s+0x\S+\s+(0x\S+)\s+(0x\S+)\s+(0x\S+)/gm)].map((m) => ({
    type: m[1],
    offset: Number.parseInt(m[2], 16),
    paddr: Number.parseInt(m[3], 16),
    filesz: Number.parseInt(m[4], 16),
    memsz: Number.parseInt(m[5], 16),
  }));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

function ram(bytes = 16 << 20): GuestRam {
  const r = new GuestRam(new SharedArrayBuffer(bytes));
  r.bytes.fill(0xcc); // so that zero fill is visible
  return r;
}

/** A copy of the real ELF with `edit` applied to a DataView of it. */
function corrupt(edit: (v: DataView, bytes: Uint8Array) => void): Uint8Array {
  const copy = elf.slice();
  edit(new DataView(copy.buffer), copy);
  return copy;
}

/** File offset of program header `i`. */
function phdr(i: number): number {
  const v = new DataView(elf.buffer, elf.byteOffset);
  return v.getUint32(28, true) + i * v.getUint16(42, true);
}

/** Index of the first PT_LOAD program header. */
function firstLoadIndex(): number {
  const v = new DataView(elf.buffer, elf.byteOffset);
  for (let i = 0; ; i++) if (v.getUint32(phdr(i), true) === 1) return i;
}

describe("loadElf on a gcc-built executable", () => {
  it("has at least one LOAD segment with memsz > filesz (.bss), as readelf shows", () => {
    expect(loads.length).toBeGreaterThan(0);
    expect(loads.some((l) => l.memsz > l.filesz)).toBe(true);
  });

  it("returns readelf's entry point and places every LOAD segment's file bytes at its physical address", () => {
    const r = ram();
    const res = loadElf(elf, r);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.entry).toBe(entry);
    for (const l of loads) {
      expect(Buffer.from(r.bytes.subarray(l.paddr, l.paddr + l.filesz))).toEqual(
        Buffer.from(elf.subarray(l.offset, l.offset + l.filesz)),
      );
    }
  });

  it("zero-fills each segment from filesz to memsz and leaves RAM outside the segments alone", () => {
    const r = ram();
    loadElf(elf, r);
    for (const l of loads) {
      expect(r.bytes.subarray(l.paddr + l.filesz, l.paddr + l.memsz).every((b) => b === 0)).toBe(true);
    }
    const last = loads[loads.length - 1];
    expect(r.bytes[last.paddr + last.memsz]).toBe(0xcc);
    expect(r.bytes[loads[0].paddr - 1]).toBe(0xcc);
  });

  it("reports the loaded ranges as readelf's (paddr, memsz)", () => {
    const res = loadElf(elf, ram());
    expect(res.ok && res.ranges).toEqual(loads.map((l) => ({ start: l.paddr, length: l.memsz })));
  });
});

describe("loadElf rejects bad images with a one-line error", () => {
  const cases: [string, () => Uint8Array, RegExp][] = [
    ["a file shorter than the ELF header", () => elf.slice(0, 40), /^ELF: file of 40 bytes is shorter/],
    ["bad magic", () => corrupt((_v, b) => (b[1] = 0x45 ^ 1)), /^ELF: bad magic/],
    ["ELFCLASS64", () => corrupt((_v, b) => (b[4] = 2)), /^ELF: class 2 is not ELFCLASS32/],
    ["big-endian data", () => corrupt((_v, b) => (b[5] = 2)), /^ELF: data encoding 2 is not little-endian/],
    ["ET_DYN", () => corrupt((v) => v.setUint16(16, 3, true)), /^ELF: type 3 is not an executable/],
    ["x86-64 machine", () => corrupt((v) => v.setUint16(18, 62, true)), /^ELF: machine 62 is not i386/],
    [
      "program headers past the end",
      () => corrupt((v) => v.setUint16(44, 0xffff, true)),
      /^ELF: program headers at 0x[0-9a-f]+ \(65535 x 32 bytes\) run past the end of the file$/,
    ],
    [
      "a segment's file bytes past the end",
      () => corrupt((v) => v.setUint32(phdr(firstLoadIndex()) + 4, elf.length - 4, true)),
      /^ELF: segment \d+ file bytes 0x[0-9a-f]+ \+ 0x[0-9a-f]+ run past the end of the \d+-byte file$/,
    ],
    [
      "filesz above memsz",
      () =>
        corrupt((v) => {
          const at = phdr(firstLoadIndex());
          v.setUint32(at + 20, v.getUint32(at + 16, true) - 1, true);
        }),
      /^ELF: segment \d+ has file size 0x[0-9a-f]+ above its memory size/,
    ],
    [
      "no PT_LOAD",
      () =>
        corrupt((v) => {
          for (let i = 0; i < v.getUint16(44, true); i++)
            if (v.getUint32(phdr(i), true) === 1) v.setUint32(phdr(i), 4, true);
        }),
      /^ELF: no loadable \(PT_LOAD\) segment$/,
    ],
    [
      "an entry outside every segment",
      () => corrupt((v) => v.setUint32(24, 0x10, true)),
      /^ELF: entry point 0x10 is outside/,
    ],
    ["PT_INTERP", () => corrupt((v) => v.setUint32(phdr(firstLoadIndex()), 3, true)), /asks for dynamic linking/],
  ];
  for (const [what, image, message] of cases) {
    it(what, () => {
      const res = loadElf(image(), ram());
      expect(res.ok).toBe(false);
      if (!res.ok) {
        expect(res.error).toMatch(message);
        expect(res.error).not.toContain("\n");
      }
    });
  }

  it("a segment beyond RAM names the segment, its range and the RAM size", () => {
    const i = firstLoadIndex();
    const image = corrupt((v) => v.setUint32(phdr(i) + 12, 0xff_ff80, true));
    const l = loads[0];
    const res = loadElf(image, ram());
    expect(res).toEqual({
      ok: false,
      error: `ELF: segment ${i} at 0xffff80 + 0x${l.memsz.toString(16)} exceeds guest RAM of 16 MiB`,
    });
  });

  it("a segment whose end wraps past 4 GiB is refused, not wrapped", () => {
    const image = corrupt((v) => {
      v.setUint32(phdr(firstLoadIndex()) + 12, 0xffff_f000, true);
      v.setUint32(phdr(firstLoadIndex()) + 20, 0x2000, true);
    });
    const res = loadElf(image, ram());
    expect(!res.ok && res.error).toMatch(/at 0xfffff000 \+ 0x2000 exceeds guest RAM of 16 MiB$/);
  });

  it("writes nothing when any segment is bad", () => {
    const r = ram();
    const image = corrupt((v) => v.setUint32(phdr(firstLoadIndex() + 1) + 12, 0xff_ff80, true));
    expect(loadElf(image, r).ok).toBe(false);
    expect(r.bytes.every((b) => b === 0xcc)).toBe(true);
  });
});
