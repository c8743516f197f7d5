// Checks the outputs of guests/linux/build.sh, when they are in the cache
// (the kernel build takes minutes, so this test never starts it: it is
// skipped, saying so, until build.sh has run).
// Oracles:
// - the initramfs: the "newc" cpio format, Documentation/driver-api/early-userspace/buffer-format.rst
//   (110-byte ASCII header "070701" + 13 eight-digit hex fields, name and data 4-byte aligned,
//   "TRAILER!!!" last); st_mode bits of POSIX <sys/stat.h>; /dev/console is char 5:1 in
//   Documentation/admin-guide/devices.txt.
// - /init: the System V gABI ELF header and program header types (ELFCLASS32, ELFDATA2LSB,
//   ET_EXEC, EM_386 = 3; PT_DYNAMIC = 2 and PT_INTERP = 3 absent for a static executable).
// - the bzImage: the Linux/x86 boot protocol, Documentation/x86/boot.rst ("The real-mode
//   kernel header": boot_flag 0xAA55 at 0x1FE, "HdrS" at 0x202, version at 0x206, loadflags
//   LOADED_HIGH at 0x211, syssize at 0x1F4, kernel_version at 0x20E, cmdline_size at 0x238;
//   "The Image Checksum": the CRC-32 of the image up to syssize is 0).
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

const cache = join(process.env.MOAT_CACHE ?? join(homedir(), ".cache", "moat"), "linux");
const bzImagePath = join(cache, "bzImage");
const initramfsPath = join(cache, "initramfs.cpio.gz");
const built = existsSync(bzImagePath) && existsSync(initramfsPath);
const skipNote = built ? "" : ` (skipped: ${cache}/bzImage or initramfs.cpio.gz missing; run guests/linux/build.sh)`;

interface CpioEntry {
  name: string;
  mode: number;
  rdevMajor: number;
  rdevMinor: number;
  data: Buffer;
}

const NEWC_MAGIC = "070701";
const NEWC_HEADER = 110;
const align4 = (n: number): number => (n + 3) & ~3;

/** Parses a newc archive; throws with the offset on any malformed header. */
function parseNewc(archive: Buffer): CpioEntry[] {
  const entries: CpioEntry[] = [];
  let at = 0;
  for (;;) {
    if (at + NEWC_HEADER > archive.length) throw new Error(`cpio: truncated header at ${at}`);
    const magic = archive.toString("latin1", at, at + 6);
    if (magic !== NEWC_MAGIC) throw new Error(`cpio: bad magic ${JSON.stringify(magic)} at ${at}`);
    const field = (i: number): number =>
      Number.parseInt(archive.toString("latin1", at + 6 + i * 8, at + 14 + i * 8), 16);
    const mode = field(1);
    const fileSize = field(6);
    const nameSize = field(11);
    const nameEnd = at + NEWC_HEADER + nameSize;
    // The name size counts its NUL terminator.
    const name = archive.toString("latin1", at + NEWC_HEADER, nameEnd - 1);
    const dataStart = align4(nameEnd);
    if (dataStart + fileSize > archive.length) throw new Error(`cpio: ${name} runs past the archive`);
    if (name === "TRAILER!!!") return entries;
    entries.push({
      name,
      mode,
      rdevMajor: field(9),
      rdevMinor: field(10),
      data: archive.subarray(dataStart, dataStart + fileSize),
    });
    at = align4(dataStart + fileSize);
  }
}

/**
 * CRC-32 as boot.rst "The Image Checksum" states it: polynomial 0x04C11DB7
 * (bit-reflected: 0xEDB88320), initial remainder 0xFFFFFFFF, no final XOR;
 * the appended checksum makes the CRC of the whole image 0.
 */
function crc32NoFinalXor(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return crc >>> 0;
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;
const PF_X = 1;

interface ProgramHeader {
  type: number;
  vaddr: number;
  memsz: number;
  flags: number;
}

/** The Elf32_Phdr table: e_phoff at 28, e_phentsize at 42 (32 bytes), e_phnum at 44. */
function programHeaders(elf: Buffer): ProgramHeader[] {
  const phoff = elf.readUInt32LE(28);
  const phentsize = elf.readUInt16LE(42);
  expect(phentsize).toBe(32);
  return Array.from({ length: elf.readUInt16LE(44) }, (_, i) => {
    const at = phoff + i * phentsize;
    return {
      type: elf.readUInt32LE(at),
      vaddr: elf.readUInt32LE(at + 8),
      memsz: elf.readUInt32LE(at + 20),
      flags: elf.readUInt32LE(at + 24),
    };
  });
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;

describe(`linux guest initramfs${skipNote}`, () => {
  const entries = (): CpioEntry[] => parseNewc(gunzipSync(readFileSync(initramfsPath)));
  const entry = (name: string): CpioEntry | undefined => entries().find((e) => e.name === name);

  it.skipIf(!built)("is a gzip-compressed newc cpio ending in TRAILER!!!", () => {
    expect(entries().map((e) => e.name)).toEqual(expect.arrayContaining(["init", "dev", "dev/console", "proc"]));
  });

  it.skipIf(!built)("has /dev/console as character device 5:1 and /proc as a directory", () => {
    const console = entry("dev/console")!;
    expect(console.mode & S_IFMT).toBe(S_IFCHR);
    expect([console.rdevMajor, console.rdevMinor]).toEqual([5, 1]);
    expect(entry("proc")!.mode & S_IFMT).toBe(S_IFDIR);
  });

  it.skipIf(!built)("has /init as an executable regular file", () => {
    const init = entry("init")!;
    expect(init.mode & S_IFMT).toBe(S_IFREG);
    expect(init.mode & 0o111).toBe(0o111);
  });

  it.skipIf(!built)("has /init as an ELF32 little-endian i386 static executable", () => {
    const elf = entry("init")!.data;
    expect(elf.subarray(0, 4)).toEqual(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
    expect(elf[4]).toBe(1); // EI_CLASS = ELFCLASS32
    expect(elf[5]).toBe(1); // EI_DATA = ELFDATA2LSB
    expect(elf.readUInt16LE(16)).toBe(2); // e_type = ET_EXEC
    expect(elf.readUInt16LE(18)).toBe(3); // e_machine = EM_386
    const phdrs = programHeaders(elf);
    const types = phdrs.map((p) => p.type);
    expect(types).toContain(PT_LOAD);
    expect(types).not.toContain(PT_DYNAMIC);
    expect(types).not.toContain(PT_INTERP);
    const entryPoint = elf.readUInt32LE(24); // e_entry
    const entryLoad = phdrs.find((p) => p.type === PT_LOAD && entryPoint >= p.vaddr && entryPoint < p.vaddr + p.memsz);
    expect(entryLoad && entryLoad.flags & PF_X).toBe(PF_X);
  });
});

describe(`linux guest bzImage${skipNote}`, () => {
  const image = (): Buffer => readFileSync(bzImagePath);

  it.skipIf(!built)("has the boot sector flag 0xAA55 and the HdrS signature at 0x202", () => {
    const bz = image();
    expect(bz.readUInt16LE(0x1fe)).toBe(0xaa55);
    expect(bz.toString("latin1", 0x202, 0x206)).toBe("HdrS");
  });

  it.skipIf(!built)("speaks boot protocol 2.06 or later", () => {
    expect(image().readUInt16LE(0x206)).toBeGreaterThanOrEqual(0x0206);
  });

  it.skipIf(!built)("is a bzImage: LOADED_HIGH set, protected-mode code at 1 MiB", () => {
    const bz = image();
    expect(bz[0x211] & 0x01).toBe(1); // loadflags LOADED_HIGH
    expect(bz.readUInt32LE(0x214)).toBe(0x100000); // code32_start default
  });

  it.skipIf(!built)("has a setup size and syssize that add up to the file size", () => {
    const bz = image();
    const setupSects = bz[0x1f1] || 4; // 0 means 4 (boot.rst)
    const protectedModeBytes = bz.length - (setupSects + 1) * 512;
    const syssize = bz.readUInt32LE(0x1f4); // in 16-byte paragraphs
    expect(protectedModeBytes).toBeGreaterThan(0);
    expect(syssize).toBe(Math.ceil(protectedModeBytes / 16));
  });

  it.skipIf(!built)("checksums to zero over setup + syssize paragraphs (CRC-32, protocol 2.08+)", () => {
    const bz = image();
    const setupSects = bz[0x1f1] || 4;
    const end = (setupSects + 1) * 512 + bz.readUInt32LE(0x1f4) * 16;
    expect(end).toBe(bz.length);
    expect(crc32NoFinalXor(bz.subarray(0, end))).toBe(0);
  });

  it.skipIf(!built)("names a 6.1 kernel in kernel_version (linux-source-6.1)", () => {
    const bz = image();
    const at = bz.readUInt16LE(0x20e) + 0x200;
    const version = bz.toString("latin1", at, bz.indexOf(0, at));
    expect(version).toMatch(/^6\.1\.\d+ /);
  });

  it.skipIf(!built)("accepts a command line of at least 255 bytes (cmdline_size, 2.06+)", () => {
    expect(image().readUInt32LE(0x238)).toBeGreaterThanOrEqual(255);
  });
});
