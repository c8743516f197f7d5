// Reader for MOO ("Machine Opcode Operation") files, the chunked binary
// format of the SingleStepTests CPU suites (format facts from the MOO
// format specification v1.1, dbalsom/moo doc/moo_format_v1.md; this is our
// own parser). A file is a `MOO ` header chunk, a `META` chunk, then one
// `TEST` chunk per test; every chunk is a 4-byte ASCII id, a uint32 payload
// length and the payload, all little-endian. Unknown chunks are skipped by
// their length, as the specification asks. The file is untrusted input:
// every length is checked and a malformed file raises MooFormatError naming
// the offset and the problem.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";

/** The 16-bit register file in the order of the REGS bitmask (bit 0 = ax ... bit 13 = flags). */
export const REG_NAMES = [
  "ax",
  "bx",
  "cx",
  "dx",
  "cs",
  "ss",
  "ds",
  "es",
  "sp",
  "bp",
  "si",
  "di",
  "ip",
  "flags",
] as const;
export type RegName = (typeof REG_NAMES)[number];
export type Regs = Partial<Record<RegName, number>>;

export interface MooState {
  regs: Regs;
  /** Per-test masks of defined bits (RMSK inside FINA), if any. */
  masks?: Regs;
  /** [physical address, byte] pairs. */
  ram: [number, number][];
}

export interface MooTest {
  index: number;
  name: string;
  bytes: Uint8Array;
  initial: MooState;
  final: MooState;
  /** The exception or interrupt the instruction raised (EXCP chunk), with the address of the pushed FLAGS. */
  exception?: { number: number; flagAddress: number };
  /** SHA-1 of the TEST payload up to the HASH subchunk, hex (what the revocation list names). */
  hash: string;
  /** The hash stored in the file's HASH chunk, hex ("" if absent). */
  storedHash: string;
}

export interface MooFile {
  major: number;
  minor: number;
  /** CPU id of the header, e.g. "C286". */
  cpu: string;
  /** META: opcode (0xFFFFFFFF for several), mnemonic, CPU mode (0 = real mode). */
  opcode: number;
  mnemonic: string;
  cpuMode: number;
  /** File-wide register masks (top-level RMSK), if any. */
  masks?: Regs;
  tests: MooTest[];
}

export class MooFormatError extends Error {
  constructor(offset: number, what: string) {
    super(`MOO file: ${what} at offset ${offset}`);
    this.name = "MooFormatError";
  }
}

/** A bounded view over the file bytes. */
class Reader {
  constructor(
    readonly b: Uint8Array,
    readonly view: DataView,
  ) {}

  need(at: number, n: number, end: number, what: string): void {
    if (at < 0 || n < 0 || at + n > end) throw new MooFormatError(at, `${what} runs past its chunk`);
  }
  u8(at: number, end: number, what: string): number {
    this.need(at, 1, end, what);
    return this.b[at];
  }
  u16(at: number, end: number, what: string): number {
    this.need(at, 2, end, what);
    return this.view.getUint16(at, true);
  }
  u32(at: number, end: number, what: string): number {
    this.need(at, 4, end, what);
    return this.view.getUint32(at, true);
  }
  id(at: number, end: number): string {
    this.need(at, 4, end, "chunk id");
    return String.fromCharCode(this.b[at], this.b[at + 1], this.b[at + 2], this.b[at + 3]);
  }
  ascii(at: number, n: number, end: number, what: string): string {
    this.need(at, n, end, what);
    let s = "";
    for (let i = 0; i < n; i++) s += String.fromCharCode(this.b[at + i]);
    return s;
  }
}

interface Chunk {
  id: string;
  /** Payload start and end (exclusive). */
  at: number;
  end: number;
}

/** The chunks laid out in [at, end). */
function chunks(r: Reader, at: number, end: number): Chunk[] {
  const out: Chunk[] = [];
  while (at < end) {
    const id = r.id(at, end);
    const len = r.u32(at + 4, end, `length of chunk ${JSON.stringify(id)}`);
    const start = at + 8;
    r.need(start, len, end, `payload of chunk ${JSON.stringify(id)} (${len} bytes)`);
    out.push({ id, at: start, end: start + len });
    at = start + len;
  }
  return out;
}

/** REGS / RMSK: a uint16 bitmask, then one uint16 per set bit in register order. */
function regFile(r: Reader, c: Chunk): Regs {
  const mask = r.u16(c.at, c.end, "register bitmask");
  if (mask >>> REG_NAMES.length)
    throw new MooFormatError(c.at, `register bitmask 0x${mask.toString(16)} names no register`);
  const regs: Regs = {};
  let p = c.at + 2;
  for (let n = 0; n < REG_NAMES.length; n++) {
    if (!((mask >> n) & 1)) continue;
    regs[REG_NAMES[n]] = r.u16(p, c.end, `register ${REG_NAMES[n]}`);
    p += 2;
  }
  return regs;
}

function ramEntries(r: Reader, c: Chunk): [number, number][] {
  const count = r.u32(c.at, c.end, "RAM entry count");
  r.need(c.at + 4, count * 5, c.end, `${count} RAM entries`);
  const out: [number, number][] = [];
  for (let i = 0; i < count; i++) {
    const p = c.at + 4 + 5 * i;
    out.push([r.view.getUint32(p, true), r.b[p + 4]]);
  }
  return out;
}

function state(r: Reader, c: Chunk): MooState {
  const s: MooState = { regs: {}, ram: [] };
  for (const sub of chunks(r, c.at, c.end)) {
    if (sub.id === "REGS") s.regs = regFile(r, sub);
    else if (sub.id === "RMSK") s.masks = regFile(r, sub);
    else if (sub.id === "RAM ") s.ram = ramEntries(r, sub);
  }
  return s;
}

function test(r: Reader, c: Chunk): MooTest {
  const index = r.u32(c.at, c.end, "test index");
  const t: MooTest = {
    index,
    name: "",
    bytes: new Uint8Array(0),
    initial: { regs: {}, ram: [] },
    final: { regs: {}, ram: [] },
    hash: "",
    storedHash: "",
  };
  let hashEnd = c.end;
  for (const sub of chunks(r, c.at + 4, c.end)) {
    switch (sub.id) {
      case "NAME": {
        const n = r.u32(sub.at, sub.end, "name length");
        t.name = r.ascii(sub.at + 4, n, sub.end, "name");
        break;
      }
      case "BYTS": {
        const n = r.u32(sub.at, sub.end, "byte count");
        r.need(sub.at + 4, n, sub.end, "instruction bytes");
        t.bytes = r.b.slice(sub.at + 4, sub.at + 4 + n);
        break;
      }
      case "INIT":
        t.initial = state(r, sub);
        break;
      case "FINA":
        t.final = state(r, sub);
        break;
      case "EXCP":
        t.exception = {
          number: r.u8(sub.at, sub.end, "exception number"),
          flagAddress: r.u32(sub.at + 1, sub.end, "flag address"),
        };
        break;
      case "HASH":
        r.need(sub.at, 20, sub.end, "SHA-1 hash");
        t.storedHash = Buffer.from(r.b.subarray(sub.at, sub.at + 20)).toString("hex");
        hashEnd = sub.at - 8;
        break;
    }
  }
  // The test's identity: SHA-1 of the TEST payload (index and subchunks) before the HASH subchunk.
  t.hash = createHash("sha1").update(r.b.subarray(c.at, hashEnd)).digest("hex");
  return t;
}

/** Parse an uncompressed MOO file. */
export function parseMoo(bytes: Uint8Array): MooFile {
  const r = new Reader(bytes, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const top = chunks(r, 0, bytes.length);
  if (top.length === 0 || top[0].id !== "MOO ") throw new MooFormatError(0, "no `MOO ` header chunk");
  const h = top[0];
  const file: MooFile = {
    major: r.u8(h.at, h.end, "major version"),
    minor: r.u8(h.at + 1, h.end, "minor version"),
    cpu: r.ascii(h.at + 8, 4, h.end, "CPU id"),
    opcode: 0xffffffff,
    mnemonic: "",
    cpuMode: 0,
    tests: [],
  };
  if (file.major !== 1) throw new MooFormatError(h.at, `major version ${file.major} (this reader knows 1)`);
  const count = r.u32(h.at + 4, h.end, "test count");
  for (const c of top.slice(1)) {
    if (c.id === "META") {
      file.opcode = r.u32(c.at + 3, c.end, "META opcode");
      file.mnemonic = r.ascii(c.at + 7, 8, c.end, "META mnemonic").trimEnd();
      file.cpuMode = r.u8(c.at + 27, c.end, "META cpu mode");
    } else if (c.id === "RMSK") file.masks = regFile(r, c);
    else if (c.id === "TEST") file.tests.push(test(r, c));
  }
  if (file.tests.length !== count) {
    throw new MooFormatError(h.at + 4, `header promises ${count} tests, file holds ${file.tests.length}`);
  }
  return file;
}

/** Read a MOO file from disk, gunzipping it if its name ends in .gz. */
export async function readMoo(path: string): Promise<MooFile> {
  const raw = await readFile(path);
  let bytes: Uint8Array = raw;
  if (path.endsWith(".gz")) {
    try {
      bytes = gunzipSync(raw);
    } catch (e) {
      throw new MooFormatError(0, `${path} is not valid gzip (${(e as Error).message})`);
    }
  }
  return parseMoo(bytes);
}
