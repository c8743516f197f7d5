// Extended page tables (SDM Vol. 3C §28.3): a 4-level structure (PML4, PDPT,
// PD, PT) of 64-bit entries in hypervisor-private memory (ept-table-pool.ts)
// that translates guest-physical addresses (GPAs) to host-physical ones.
//
// Entry layout (§28.3.2, Tables 28-1..28-6): bit 0 read, 1 write, 2 execute;
// in leaves 5:3 memory type, 6 ignore PAT; 7 large page (1 GiB in a PDPTE,
// 2 MiB in a PDE; reserved in a PML4E, ignored in a PTE); 8 accessed and
// 9 dirty (used only when EPTP bit 6 enables them, §28.3.5); 11 ignored (moat
// marks "a mapping exists here" with it, so protect(.., 0) keeps the address);
// 51:12 address. The capabilities this processor reports (IA32_VMX_EPT_VPID_CAP,
// §A.10): execute-only translations (bit 0), walk length 4 (bit 6), UC and WB
// EPTP types (bits 8, 14), 2 MiB and 1 GiB pages (bits 16, 17), A/D (bit 21);
// no mode-based execute control, no #VE. Host MAXPHYADDR is 52, so no address
// bit of an entry is reserved.
import { EPT_POOL_BASE, type EptTablePool, eptTablePool } from "./ept-table-pool.js";

export const EPT_READ = 1;
export const EPT_WRITE = 2;
export const EPT_EXEC = 4;
/** translate() results besides an HPA. */
export const EPT_VIOLATION = -1;
export const EPT_MISCONFIG = -2;
/** EPT memory types (§28.3.7, §11.3). */
export const EPT_MT_UC = 0;
export const EPT_MT_WC = 1;
export const EPT_MT_WT = 4;
export const EPT_MT_WP = 5;
export const EPT_MT_WB = 6;

const LARGE = 0x80;
const ACCESSED = 0x100;
const DIRTY = 0x200;
const MAPPED = 0x800;
const TWO32 = 4294967296;
const CACHE_SLOTS = 256;
/** Valid memory types as a bit set: 0, 1, 4, 5, 6 (§28.3.3.1: 2, 3 and 7 are reserved). */
const VALID_MT = 0b0111_0011;

/** Bytes one entry maps at each level (1 = PT ... 4 = PML4). */
export function eptSpan(level: number): number {
  return 2 ** (12 + 9 * (level - 1));
}

/** One entry of a walk, for tests and debugging. */
export interface EptWalkStep {
  level: number;
  table: number;
  index: number;
  /** HPA of the entry: table + 8 * index (§28.3.2). */
  entryAddress: number;
  value: bigint;
}

export interface EptOptions {
  /** Set EPTP bit 6: the processor maintains accessed/dirty flags (§28.3.5). */
  accessDirty?: boolean;
  pool?: EptTablePool;
}

export class Ept {
  /** EPTP (§24.6.11): memory type WB (6) in 2:0, walk length - 1 = 3 in 5:3, A/D enable in 6, PML4 HPA in 51:12. */
  readonly eptp: number;
  readonly pml4: number;
  private readonly pml4Table: number;
  readonly accessDirty: boolean;
  /** After translate(): qualification bits 0-5 of an EPT violation (§27.2.1, Table 27-7). */
  lastQual = 0;
  /** After translate(): AND of the R/W/X bits over the walk (also on success). */
  lastRights = 0;
  /** After a successful translate(): bytes the leaf maps (4 KiB, 2 MiB, 1 GiB). */
  lastPageSize = 0;
  /** After translate() fails: the level (4..1) of the entry that caused it. */
  lastLevel = 0;
  /** Incremented by every map/unmap/protect: a TLB holding combined mappings must be flushed (INVEPT, §28.4.3). */
  generation = 0;
  private readonly pool: EptTablePool;
  private readonly chunks: Uint32Array[];
  /**
   * Recent 4 KiB translations, direct-mapped by GPA page (like the
   * paging-structure caches of §28.4.1 but cleared by every change made
   * through this object, so never stale).
   */
  private readonly cacheTag = new Float64Array(CACHE_SLOTS).fill(-1);
  private readonly cacheHpa = new Float64Array(CACHE_SLOTS);
  private readonly cacheRights = new Uint8Array(CACHE_SLOTS);
  private readonly cacheSize = new Float64Array(CACHE_SLOTS);

  constructor(options: EptOptions = {}) {
    this.pool = options.pool ?? eptTablePool;
    this.chunks = this.pool.chunks;
    this.accessDirty = options.accessDirty ?? false;
    this.pml4 = this.pool.alloc();
    this.pml4Table = this.pool.tableNumber(this.pml4);
    this.eptp = this.pml4 + (this.accessDirty ? 0x40 : 0) + (3 << 3) + EPT_MT_WB;
  }

  /**
   * Translate `gpa` for one access (EPT_READ, EPT_WRITE or EPT_EXEC). Returns
   * the HPA, EPT_VIOLATION (lastQual set) or EPT_MISCONFIG. Sets accessed
   * and dirty flags when EPTP bit 6 is set. Does not allocate.
   */
  translate(gpa: number, access: number): number {
    const page = Math.floor(gpa / 4096);
    const slot = page & (CACHE_SLOTS - 1);
    if (this.cacheTag[slot] === page && (this.cacheRights[slot] & access) !== 0) {
      this.lastRights = this.cacheRights[slot];
      this.lastPageSize = this.cacheSize[slot];
      return this.cacheHpa[slot] + (gpa % 4096);
    }
    const hpa = this.walk(gpa, access);
    // Cache only without EPT A/D: with it, every use must reach the entries to set their flags.
    if (hpa >= 0 && !this.accessDirty) {
      this.cacheTag[slot] = page;
      this.cacheHpa[slot] = hpa - (gpa % 4096);
      this.cacheRights[slot] = this.lastRights;
      this.cacheSize[slot] = this.lastPageSize;
    }
    return hpa;
  }

  /** The 4-level walk (§28.3.2). Tables are addressed by pool table number: (HPA - 2^40) / 4096. */
  private walk(gpa: number, access: number): number {
    this.lastRights = 0;
    if (!(gpa >= 0 && gpa < 2 ** 48)) return this.violation(access, 0, 4);
    const hi = (gpa / TWO32) >>> 0;
    const lo = gpa >>> 0;
    const chunks = this.chunks;
    let t = this.pml4Table;
    let index = (hi >>> 7) & 511;
    let rights = 7;
    for (let level = 4; level >= 1; level--) {
      if (t < 0 || t >= chunks.length * 256) return this.violation(access, 0, level); // outside the pool: zeros
      const words = chunks[t >>> 8];
      const i = ((t & 255) << 10) | (index << 1);
      const elo = words[i];
      const ehi = words[i + 1];
      if ((elo & 7) === 0) return this.violation(access, 0, level);
      if (misconfigured(elo, level)) {
        this.lastLevel = level;
        return EPT_MISCONFIG;
      }
      rights &= elo;
      if (level !== 1 && (elo & LARGE) === 0) {
        if (this.accessDirty && (elo & ACCESSED) === 0) words[i] = elo | ACCESSED;
        // Next table number: address bits 51:12 minus the pool base (2^40 = 2^28 pages).
        t = ((ehi & 0xfffff) - 256) * 0x100000 + (elo >>> 12);
        index = level === 4 ? ((hi << 2) | (lo >>> 30)) & 511 : level === 3 ? (lo >>> 21) & 511 : (lo >>> 12) & 511;
        continue;
      }
      if ((rights & access) === 0) return this.violation(access, rights, level);
      if (this.accessDirty) words[i] = elo | ACCESSED | (access === EPT_WRITE ? DIRTY : 0);
      this.lastRights = rights;
      const size = level === 1 ? 4096 : level === 2 ? 0x200000 : 0x40000000;
      this.lastPageSize = size;
      return (ehi & 0xfffff) * TWO32 + ((elo & ~(size - 1)) >>> 0) + (lo & (size - 1));
    }
    return this.violation(access, 0, 1); // unreachable: level 1 is always a leaf
  }

  /** Map [gpa, gpa+size) to [hpa, hpa+size) with `rights`, using 1 GiB and 2 MiB pages where both sides align. */
  map(gpa: number, hpa: number, size: number, rights: number, memType = EPT_MT_WB): void {
    checkRange("map", gpa, size);
    if (!Number.isSafeInteger(hpa) || hpa < 0 || hpa % 4096 !== 0 || hpa + size > 2 ** 52) {
      throw new RangeError(`Ept.map: hpa 0x${hpa.toString(16)} is not a 4 KiB-aligned address below 2^52`);
    }
    checkRights("map", rights);
    if (((VALID_MT >>> memType) & 1) === 0 || memType !== (memType & 7)) {
      throw new RangeError(`Ept.map: memory type ${memType} is reserved (SDM 28.3.7)`);
    }
    this.mapIn(this.pml4, 4, 0, gpa, gpa + size, hpa - gpa, rights | (memType << 3) | MAPPED);
    this.changed();
  }

  /** Remove every mapping in [gpa, gpa+size); tables left empty are freed. */
  unmap(gpa: number, size: number): void {
    checkRange("unmap", gpa, size);
    this.editIn(this.pml4, 4, 0, gpa, gpa + size, -1);
    this.changed();
  }

  /** Set the R/W/X rights of every existing mapping in [gpa, gpa+size); 0 makes them not present but kept. */
  protect(gpa: number, size: number, rights: number): void {
    checkRange("protect", gpa, size);
    checkRights("protect", rights);
    this.editIn(this.pml4, 4, 0, gpa, gpa + size, rights);
    this.changed();
  }

  /** The entries a walk for `gpa` reads, PML4E first, down to a leaf or a non-present entry. */
  walkTables(gpa: number): EptWalkStep[] {
    const steps: EptWalkStep[] = [];
    let table = this.pml4;
    const hi = (gpa / TWO32) >>> 0;
    const lo = gpa >>> 0;
    for (let level = 4; level >= 1; level--) {
      const index = eptIndex(level, hi, lo);
      const value = this.readEntry(table + 8 * index);
      steps.push({ level, table, index, entryAddress: table + 8 * index, value });
      if ((value & 7n) === 0n || level === 1 || (level < 4 && (value & 0x80n) !== 0n)) break;
      table = Number(value & 0xffffffffff000n);
    }
    return steps;
  }

  /** The 64-bit entry at HPA `entryAddress` (8-aligned, in the table pool); 0 elsewhere. */
  readEntry(entryAddress: number): bigint {
    const w = this.wordAt(entryAddress);
    if (w < 0) return 0n;
    const words = this.chunks[w >>> 18];
    return (BigInt(words[(w & 0x3ffff) + 1]) << 32n) | BigInt(words[w & 0x3ffff]);
  }

  /** Overwrite one entry, bypassing every check: for tests that build misconfigurations. */
  writeEntry(entryAddress: number, value: bigint): void {
    const w = this.wordAt(entryAddress);
    if (w < 0) throw new RangeError(`Ept.writeEntry: 0x${entryAddress.toString(16)} is not in an EPT table`);
    const words = this.chunks[w >>> 18];
    words[w & 0x3ffff] = Number(value & 0xffffffffn);
    words[(w & 0x3ffff) + 1] = Number((value >> 32n) & 0xffffffffn);
    this.changed();
  }

  private changed(): void {
    this.generation++;
    this.cacheTag.fill(-1);
  }

  /** Return every table to the pool; the Ept must not be used afterwards. */
  destroy(): void {
    this.freeTable(this.pml4, 4);
  }

  // ---- walk helpers (no allocation) ----

  /** Pool-wide index of the low word of entry `index` of `table` (chunk = w >>> 18), or -1 if not pool memory. */
  private entryWord(table: number, index: number): number {
    const t = this.pool.tableNumber(table);
    return t < 0 ? -1 : t * 1024 + index * 2;
  }

  private wordAt(entryAddress: number): number {
    if (entryAddress % 8 !== 0) return -1;
    return this.entryWord(Math.floor(entryAddress / 4096) * 4096, (entryAddress % 4096) / 8);
  }

  private violation(access: number, rights: number, level: number): number {
    this.lastQual = access | (rights << 3);
    this.lastLevel = level;
    return EPT_VIOLATION;
  }

  // ---- editing (kernel path, may allocate) ----

  private get(table: number, index: number): [number, number] {
    const w = this.entryWord(table, index);
    const words = this.chunks[w >>> 18];
    return [words[w & 0x3ffff], words[(w & 0x3ffff) + 1]];
  }

  private set(table: number, index: number, lo: number, hi: number): void {
    const w = this.entryWord(table, index);
    const words = this.chunks[w >>> 18];
    words[w & 0x3ffff] = lo;
    words[(w & 0x3ffff) + 1] = hi;
  }

  /** Map [start, end) ∩ this table's span; `base` is the GPA of the table's entry 0; hpa = gpa + delta. */
  private mapIn(table: number, level: number, base: number, start: number, end: number, delta: number, flags: number) {
    const span = eptSpan(level);
    const first = Math.floor((start - base) / span);
    const last = Math.ceil((end - base) / span);
    for (let i = first; i < last; i++) {
      const eBase = base + i * span;
      const s = Math.max(start, eBase);
      const e = Math.min(end, eBase + span);
      const whole = s === eBase && e === eBase + span && (eBase + delta) % span === 0;
      const [lo, hi] = this.get(table, i);
      if (whole && level <= 3) {
        if (isTable(lo, level)) this.freeTable(tableAddress(lo, hi), level - 1);
        this.set(table, i, leafLow(eBase + delta, level, flags), Math.floor((eBase + delta) / TWO32));
        continue;
      }
      const child = this.childFor(table, i, level, lo, hi);
      this.mapIn(child, level - 1, eBase, s, e, delta, flags);
    }
  }

  /** Unmap (rights < 0) or protect [start, end) ∩ this table's span. Returns true if the table is now empty. */
  private editIn(table: number, level: number, base: number, start: number, end: number, rights: number): boolean {
    const span = eptSpan(level);
    const first = Math.floor((start - base) / span);
    const last = Math.ceil((end - base) / span);
    for (let i = first; i < last; i++) {
      const eBase = base + i * span;
      const s = Math.max(start, eBase);
      const e = Math.min(end, eBase + span);
      const [lo, hi] = this.get(table, i);
      if ((lo & MAPPED) === 0) continue;
      const isLeaf = !isTable(lo, level);
      if (isLeaf && s === eBase && e === eBase + span) {
        if (rights < 0) this.set(table, i, 0, 0);
        else this.set(table, i, (lo & ~7) | rights, hi);
        continue;
      }
      const child = this.childFor(table, i, level, lo, hi);
      if (this.editIn(child, level - 1, eBase, s, e, rights)) {
        this.pool.release(child);
        this.set(table, i, 0, 0);
      }
    }
    if (rights >= 0) return false;
    for (let i = 0; i < 512; i++) if ((this.get(table, i)[0] & MAPPED) !== 0) return false;
    return table !== this.pml4;
  }

  /** The next-level table under entry `i`: existing, new, or made by splitting a large leaf. */
  private childFor(table: number, i: number, level: number, lo: number, hi: number): number {
    if (isTable(lo, level)) return tableAddress(lo, hi);
    const child = this.pool.alloc();
    if ((lo & MAPPED) !== 0) {
      // Split a large page into 512 pages of the next size with the same rights and type.
      const pageHpa = tableAddress(lo, hi);
      const sub = eptSpan(level - 1);
      const flags = lo & 0xf7f & ~LARGE;
      for (let j = 0; j < 512; j++) {
        const hpa = pageHpa + j * sub;
        this.set(child, j, leafLow(hpa, level - 1, flags), Math.floor(hpa / TWO32));
      }
    }
    this.set(table, i, ((child % TWO32) >>> 0) | 7 | MAPPED, Math.floor(child / TWO32));
    return child;
  }

  private freeTable(table: number, level: number): void {
    if (level > 1) {
      for (let i = 0; i < 512; i++) {
        const [lo, hi] = this.get(table, i);
        if (isTable(lo, level)) this.freeTable(tableAddress(lo, hi), level - 1);
      }
    }
    this.pool.release(table);
  }
}

/** Index of the entry for the GPA (hi:lo) at `level` (§28.3.2: bits 47:39, 38:30, 29:21, 20:12). */
function eptIndex(level: number, hi: number, lo: number): number {
  switch (level) {
    case 4:
      return (hi >>> 7) & 511;
    case 3:
      return ((hi << 2) | (lo >>> 30)) & 511;
    case 2:
      return (lo >>> 21) & 511;
    default:
      return (lo >>> 12) & 511;
  }
}

/** §28.3.3.1: write without read; reserved bits; reserved memory type in a leaf. */
function misconfigured(lo: number, level: number): boolean {
  if ((lo & 3) === 2) return true;
  const large = (lo & LARGE) !== 0;
  if (level === 4 || ((level === 3 || level === 2) && !large)) return (lo & 0xf8) !== 0;
  if (level === 3 && (lo & 0x3ffff000) !== 0) return true; // 1 GiB page: bits 29:12 reserved
  if (level === 2 && (lo & 0x1ff000) !== 0) return true; // 2 MiB page: bits 20:12 reserved
  return ((VALID_MT >>> ((lo >>> 3) & 7)) & 1) === 0;
}

/** A present-or-kept entry at `level` that points to a table (PML4Es always; PDPTEs and PDEs without bit 7). */
function isTable(lo: number, level: number): boolean {
  return (lo & MAPPED) !== 0 && level > 1 && (level === 4 || (lo & LARGE) === 0);
}

function tableAddress(lo: number, hi: number): number {
  return (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
}

function leafLow(hpa: number, level: number, flags: number): number {
  return (((hpa % TWO32) >>> 0) | flags | (level > 1 ? LARGE : 0)) >>> 0;
}

function checkRange(op: string, gpa: number, size: number): void {
  if (!Number.isSafeInteger(gpa) || !Number.isSafeInteger(size) || gpa < 0 || size <= 0) {
    throw new RangeError(`Ept.${op}: bad range gpa=${gpa} size=${size}`);
  }
  if (gpa % 4096 !== 0 || size % 4096 !== 0 || gpa + size > 2 ** 48) {
    throw new RangeError(`Ept.${op}: [0x${gpa.toString(16)}, +0x${size.toString(16)}) is not 4 KiB-aligned below 2^48`);
  }
}

function checkRights(op: string, rights: number): void {
  if (rights !== (rights & 7) || (rights & 3) === EPT_WRITE) {
    throw new RangeError(
      `Ept.${op}: rights ${rights} invalid (write without read is a misconfiguration, SDM 28.3.3.1)`,
    );
  }
}

export { EPT_POOL_BASE };
