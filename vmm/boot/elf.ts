// ELF32 i386 executable loader (System V ABI / TIS ELF 1.2 "Book I: ELF",
// i386 supplement). Only PT_LOAD segments are loaded, at their physical
// address p_paddr (paging is off at entry, as with a multiboot loader):
// p_filesz bytes from the file, then zero fill up to p_memsz. Every field is
// checked against the file and the guest RAM before anything is written.
import type { GuestRam } from "../guest-ram.js";
import { hex, sizeText } from "../hex.js";
import { type LoadedRange, type LoadResult, loadError } from "./loaded-image.js";

const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const ELFCLASS32 = 1;
const ELFDATA2LSB = 1;
const EV_CURRENT = 1;
const ET_EXEC = 2;
const EM_386 = 3;
const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const PT_INTERP = 3;

interface Segment {
  index: number;
  offset: number;
  paddr: number;
  filesz: number;
  memsz: number;
}

/** Loads `image` into `ram`; returns the ELF entry point and the filled ranges, or an error. */
export function loadElf(image: Uint8Array, ram: GuestRam): LoadResult {
  const header = checkHeader(image);
  if (typeof header === "string") return loadError(header);
  const segments = readSegments(image, header.phoff, header.phnum, header.phentsize, ram);
  if (typeof segments === "string") return loadError(segments);
  if (segments.length === 0) return loadError("ELF: no loadable (PT_LOAD) segment");
  const inSegment = segments.some((s) => header.entry >= s.paddr && header.entry - s.paddr < s.memsz);
  if (!inSegment) return loadError(`ELF: entry point ${hex(header.entry)} is outside every loadable segment`);
  const ranges: LoadedRange[] = [];
  for (const s of segments) {
    ram.write(s.paddr, image.subarray(s.offset, s.offset + s.filesz));
    ram.zero(s.paddr + s.filesz, s.memsz - s.filesz);
    ranges.push({ start: s.paddr, length: s.memsz });
  }
  return { ok: true, entry: header.entry, ranges };
}

interface Header {
  entry: number;
  phoff: number;
  phnum: number;
  phentsize: number;
}

/** ELF header checks (Book I, Figure 1-3 "ELF Header"); a string is the error. */
function checkHeader(image: Uint8Array): Header | string {
  if (image.length < EHDR_SIZE) return `ELF: file of ${image.length} bytes is shorter than the ELF header`;
  if (image[0] !== 0x7f || image[1] !== 0x45 || image[2] !== 0x4c || image[3] !== 0x46) {
    return "ELF: bad magic (not an ELF file)";
  }
  if (image[4] !== ELFCLASS32) return `ELF: class ${image[4]} is not ELFCLASS32 (a 64-bit or invalid ELF)`;
  if (image[5] !== ELFDATA2LSB) return `ELF: data encoding ${image[5]} is not little-endian`;
  if (image[6] !== EV_CURRENT) return `ELF: identification version ${image[6]} is not 1`;
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const type = v.getUint16(16, true);
  if (type !== ET_EXEC) return `ELF: type ${type} is not an executable (ET_EXEC)`;
  const machine = v.getUint16(18, true);
  if (machine !== EM_386) return `ELF: machine ${machine} is not i386 (EM_386)`;
  if (v.getUint32(20, true) !== EV_CURRENT) return `ELF: version ${v.getUint32(20, true)} is not 1`;
  const phentsize = v.getUint16(42, true);
  if (phentsize < PHDR_SIZE) return `ELF: program header entry size ${phentsize} is below ${PHDR_SIZE}`;
  const phoff = v.getUint32(28, true);
  const phnum = v.getUint16(44, true);
  if (phoff > image.length || phnum * phentsize > image.length - phoff) {
    return `ELF: program headers at ${hex(phoff)} (${phnum} x ${phentsize} bytes) run past the end of the file`;
  }
  return { entry: v.getUint32(24, true), phoff, phnum, phentsize };
}

/** PT_LOAD segments with file and RAM bounds checked; a string is the error. */
function readSegments(
  image: Uint8Array,
  phoff: number,
  phnum: number,
  phentsize: number,
  ram: GuestRam,
): Segment[] | string {
  const v = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const out: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    const type = v.getUint32(at, true);
    if (type === PT_INTERP || type === PT_DYNAMIC) return `ELF: segment ${i} asks for dynamic linking`;
    if (type !== PT_LOAD) continue;
    const s: Segment = {
      index: i,
      offset: v.getUint32(at + 4, true),
      paddr: v.getUint32(at + 12, true),
      filesz: v.getUint32(at + 16, true),
      memsz: v.getUint32(at + 20, true),
    };
    const problem = checkSegment(s, image.length, ram);
    if (problem) return problem;
    if (s.memsz > 0) out.push(s);
  }
  return out;
}

function checkSegment(s: Segment, fileSize: number, ram: GuestRam): string | null {
  const at = `ELF: segment ${s.index}`;
  if (s.filesz > s.memsz) return `${at} has file size ${hex(s.filesz)} above its memory size ${hex(s.memsz)}`;
  if (s.offset > fileSize || s.filesz > fileSize - s.offset) {
    return `${at} file bytes ${hex(s.offset)} + ${hex(s.filesz)} run past the end of the ${fileSize}-byte file`;
  }
  if (!ram.contains(s.paddr, s.memsz)) {
    return `${at} at ${hex(s.paddr)} + ${hex(s.memsz)} exceeds guest RAM of ${sizeText(ram.size)}`;
  }
  return null;
}
