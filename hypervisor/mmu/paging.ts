// The guest's linear-address translation: IA-32 32-bit paging (SDM Vol. 3A
// §4.3) with 4 KiB pages and, when CR4.PSE = 1, 4 MiB pages; access rights
// (§4.6) with CR0.WP and user/supervisor, #PF error codes (§4.7), accessed
// and dirty flags (§4.8), global pages (CR4.PGE, §4.10.2.4). Every read of a
// paging-structure entry and every A/D update is a guest-physical access
// translated through the EPT (§28.2.2, §28.3.3.2), and so is the final access.
//
// This processor (P6 class) reports MAXPHYADDR = 32 and no PSE-36, so in a
// 4 MiB PDE bits 21:13 are all reserved (§4.3, Table 4-5: bit 21 is always
// reserved; bits 20:13 hold physical-address bits 39:32, reserved above
// MAXPHYADDR). It has no SMEP, SMAP, NX or protection keys: the #PF I/D bit is
// never set (§4.7: it needs SMEP, or PAE with EFER.NXE) and supervisor
// fetches and reads may use any page.
//
// translate() fills the result fields and returns the host-physical address;
// it never allocates, so a processor can call it on every TLB miss.
import { EPT_EXEC, EPT_MISCONFIG, EPT_READ, EPT_WRITE, type Ept } from "./ept.js";
import type { HostMemory, HostRegion } from "./host-memory.js";
import { readPhys32 } from "./host-memory.js";

/** translate() access bits. */
export const ACCESS_WRITE = 1;
export const ACCESS_USER = 2;
export const ACCESS_FETCH = 4;

/** PageWalker.fault values. */
export const FAULT_NONE = 0;
export const FAULT_PAGE = 1;
export const FAULT_EPT_VIOLATION = 2;
export const FAULT_EPT_MISCONFIG = 3;

/** #PF error-code bits (§4.7). */
export const PF_P = 1;
export const PF_W = 2;
export const PF_U = 4;
export const PF_RSVD = 8;
export const PF_I = 16;

/** EPT-violation qualification bits the walker adds (§27.2.1, Table 27-7). */
export const QUAL_LINEAR_VALID = 0x80;
export const QUAL_TRANSLATED_ACCESS = 0x100;

const CR0_WP = 0x10000;
const CR0_PG = 0x80000000;
const CR4_PSE = 0x10;
const CR4_PGE = 0x80;
const PTE_P = 1;
const PTE_RW = 2;
const PTE_US = 4;
const PTE_A = 0x20;
const PTE_D = 0x40;
const PDE_PS = 0x80;
const PTE_G = 0x100;
/** Reserved bits of a 4 MiB PDE with MAXPHYADDR 32 (§4.3, Table 4-5). */
const PDE4M_RESERVED = 0x3fe000;
const LARGE_PAGE = 0x400000;
/** walk() result meaning "an entry changed under an A/D update: walk again". */
const RETRY = -3;

export class PageWalker {
  cr0 = 0;
  cr3 = 0;
  cr4 = 0;
  ept: Ept | null = null;

  // ---- results of the last translate() ----
  /** FAULT_NONE, FAULT_PAGE, FAULT_EPT_VIOLATION or FAULT_EPT_MISCONFIG. */
  fault = FAULT_NONE;
  /** #PF error code (§4.7) when fault = FAULT_PAGE. */
  errorCode = 0;
  /** EPT-violation exit qualification (bits 0-5 from the EPT, 7 and 8 from here) when fault = FAULT_EPT_VIOLATION. */
  eptQual = 0;
  /** The guest-physical address whose EPT translation failed (the VMCS guest-physical address field). */
  faultGpa = 0;
  /** Bytes around the address with the same translation: min(guest page, EPT page) (§28.4.2). */
  pageSize = 4096;
  /** Guest R/W over the walk (AND of PDE and PTE); the caller applies CR0.WP and CPL to it (§4.6). */
  writable = false;
  /** Guest U/S over the walk. */
  user = false;
  /** The final entry is global and CR4.PGE = 1 (§4.10.2.4). */
  global = false;
  /** A write through this translation needs no A/D update: guest D set, and EPT D too when EPT A/D is on. */
  dirty = false;
  /** Guest-physical address of the byte. */
  gpa = 0;
  /** EPT rights (R/W/X) at gpa, 7 without EPT: a cached translation allows only these (§28.4.1). */
  eptRights = 7;
  /** The host region holding the byte, or null if no memory is there. */
  region: HostRegion | null = null;

  constructor(readonly host: HostMemory) {}

  /** Translate `linear` for one access (ACCESS_* bits). Returns the HPA, or -1 with `fault` set. */
  translate(linear: number, access: number): number {
    linear >>>= 0;
    this.fault = FAULT_NONE;
    this.errorCode = 0;
    this.eptQual = 0;
    if ((this.cr0 & CR0_PG) === 0) {
      this.writable = true;
      this.user = true;
      this.global = false;
      this.dirty = true;
      return this.finalAccess(linear, access, 4096);
    }
    let r = RETRY;
    for (let attempt = 0; r === RETRY; attempt++) r = this.walk(linear, access, attempt < 8);
    return r;
  }

  /** One 2-level walk (§4.3). `strict`: restart if an entry changes under an A/D update. */
  private walk(linear: number, access: number, strict: boolean): number {
    const pdeGpa = ((this.cr3 & 0xfffff000) >>> 0) + ((linear >>> 22) << 2);
    const pdeHpa = this.structureAccess(pdeGpa, this.ept?.accessDirty ? EPT_WRITE : EPT_READ);
    if (pdeHpa < 0) return -1;
    const pde = this.load(pdeHpa);
    if ((pde & PTE_P) === 0) return this.pageFault(access, 0);
    if ((pde & PDE_PS) !== 0 && (this.cr4 & CR4_PSE) !== 0) {
      if ((pde & PDE4M_RESERVED) !== 0) return this.pageFault(access, PF_P | PF_RSVD);
      if (!this.allowed(pde, access)) return this.pageFault(access, PF_P);
      const ad = PTE_A | (access & ACCESS_WRITE ? PTE_D : 0);
      const upd = this.setFlags(pdeGpa, pdeHpa, pde, ad, strict);
      if (upd !== 0) return upd;
      this.setResult(pde, pde | ad, LARGE_PAGE);
      return this.finalAccess(((pde & 0xffc00000) | (linear & 0x3fffff)) >>> 0, access, LARGE_PAGE);
    }
    const pteGpa = ((pde & 0xfffff000) >>> 0) + (((linear >>> 12) & 0x3ff) << 2);
    const pteHpa = this.structureAccess(pteGpa, this.ept?.accessDirty ? EPT_WRITE : EPT_READ);
    if (pteHpa < 0) return -1;
    const pte = this.load(pteHpa);
    if ((pte & PTE_P) === 0) return this.pageFault(access, 0);
    const eff = pte & (pde | ~(PTE_RW | PTE_US));
    if (!this.allowed(eff, access)) return this.pageFault(access, PF_P);
    let upd = this.setFlags(pdeGpa, pdeHpa, pde, PTE_A, strict);
    if (upd !== 0) return upd;
    const ad = PTE_A | (access & ACCESS_WRITE ? PTE_D : 0);
    upd = this.setFlags(pteGpa, pteHpa, pte, ad, strict);
    if (upd !== 0) return upd;
    this.setResult(eff, pte | ad, 4096);
    return this.finalAccess(((pte & 0xfffff000) | (linear & 0xfff)) >>> 0, access, 4096);
  }

  /** §4.6 for 32-bit paging without SMEP/SMAP/NX: user accesses need U/S; writes need R/W when user or CR0.WP. */
  private allowed(entry: number, access: number): boolean {
    const user = (access & ACCESS_USER) !== 0;
    if (user && (entry & PTE_US) === 0) return false;
    if ((access & ACCESS_WRITE) !== 0 && (entry & PTE_RW) === 0) return !user && (this.cr0 & CR0_WP) === 0;
    return true;
  }

  /** §4.7: P (given), W/R, U/S; I/D stays 0 (no SMEP, no NX). */
  private pageFault(access: number, bits: number): number {
    this.fault = FAULT_PAGE;
    this.errorCode = bits | (access & ACCESS_WRITE ? PF_W : 0) | (access & ACCESS_USER ? PF_U : 0);
    return -1;
  }

  private setResult(rights: number, final: number, guestPage: number): void {
    this.writable = (rights & PTE_RW) !== 0;
    this.user = (rights & PTE_US) !== 0;
    this.global = (final & PTE_G) !== 0 && (this.cr4 & CR4_PGE) !== 0;
    this.dirty = (final & PTE_D) !== 0;
    this.pageSize = guestPage;
  }

  /** The access to the translated address itself (Table 27-7 bit 8 = 1). */
  private finalAccess(gpa: number, access: number, guestPage: number): number {
    this.gpa = gpa;
    const ept = this.ept;
    let hpa = gpa;
    if (ept === null) {
      this.pageSize = guestPage;
      this.eptRights = 7;
    } else {
      const eptAccess = access & ACCESS_FETCH ? EPT_EXEC : access & ACCESS_WRITE ? EPT_WRITE : EPT_READ;
      hpa = ept.translate(gpa, eptAccess);
      if (hpa < 0) return this.eptFault(hpa, gpa, ept.lastQual | QUAL_TRANSLATED_ACCESS);
      this.eptRights = ept.lastRights;
      this.pageSize = Math.min(guestPage, ept.lastPageSize);
      if (ept.accessDirty && eptAccess !== EPT_WRITE) this.dirty = false;
    }
    this.region = this.host.find(hpa);
    return hpa;
  }

  /** HPA of a paging-structure entry, or -1 after an EPT fault (Table 27-7 bit 8 = 0). */
  private structureAccess(gpa: number, eptAccess: number): number {
    const ept = this.ept;
    if (ept === null) return gpa;
    const hpa = ept.translate(gpa, eptAccess);
    return hpa < 0 ? this.eptFault(hpa, gpa, ept.lastQual) : hpa;
  }

  private eptFault(code: number, gpa: number, qual: number): number {
    this.fault = code === EPT_MISCONFIG ? FAULT_EPT_MISCONFIG : FAULT_EPT_VIOLATION;
    this.eptQual = code === EPT_MISCONFIG ? 0 : qual | QUAL_LINEAR_VALID;
    this.faultGpa = gpa;
    return -1;
  }

  /** A paging-structure entry; where no memory is, the bus reads all ones. */
  private load(hpa: number): number {
    const r = this.host.find(hpa);
    if (r === null || r.words === null || hpa - r.base + 4 > r.size) return readPhys32(this.host, hpa);
    return r.words[(hpa - r.base) >>> 2] >>> 0;
  }

  /**
   * Set `bits` in the entry read as `old` with a locked read-modify-write
   * (§4.8). The write goes through the EPT as a write (a violation here has
   * qualification bit 1 and bit 8 = 0). Returns 0, -1 after an EPT fault, or
   * RETRY if the entry changed since it was read (`strict`).
   */
  private setFlags(gpa: number, hpa: number, old: number, bits: number, strict: boolean): number {
    if ((old & bits) === bits) return 0;
    if (this.structureAccess(gpa, EPT_WRITE) < 0) return -1;
    const r = this.host.find(hpa);
    if (r === null) return 0;
    const off = hpa - r.base;
    if (r.words === null || off + 4 > r.size) {
      for (let i = 0; i < 4; i++) r.bytes[off + i] |= (bits >>> (8 * i)) & 0xff;
      return 0;
    }
    if (!strict) {
      Atomics.or(r.words, off >>> 2, bits);
      return 0;
    }
    const seen = Atomics.compareExchange(r.words, off >>> 2, old | 0, old | bits | 0);
    return seen === (old | 0) ? 0 : RETRY;
  }
}
