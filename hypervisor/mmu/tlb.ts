// The translation lookaside buffer of one emulated processor (SDM Vol. 3A
// §4.10, Vol. 3C §28.1 for VPIDs, §28.4 for combined guest/EPT mappings).
//
// It caches final linear -> host translations (guest paging and EPT
// combined), one slot per 4 KiB linear page, direct-indexed by the linear
// page number, so a hit costs one typed-array load and a compare. A slot's
// tag is a "key" = (VPID + 1) << 1 | user: the key of the current VPID and
// privilege (CPL 3 or not). Separate tag arrays for read, write and fetch
// hold the key only if that access is allowed through the slot, so the
// permission check is part of the tag compare. Write tags are set only when
// the guest dirty flag is already set, so the first write to a page still
// walks and sets D (§4.8).
//
// Slots of different VPIDs share the array (a later fill overwrites); the
// filled slots are also listed so flushes cost the number of filled slots,
// not 2^20.
import type { HostRegion } from "./host-memory.js";

export const TLB_PAGES = 1 << 20;
/** When more slots than this are in use, a flush clears everything. */
const MAX_FILLED = 1 << 16;

export class Tlb {
  /** Key of a slot allowing reads / writes / instruction fetches (0 = none). */
  readonly tagR = new Int32Array(TLB_PAGES);
  readonly tagW = new Int32Array(TLB_PAGES);
  readonly tagX = new Int32Array(TLB_PAGES);
  /** Host bytes of the page and the offset of its first byte in them. */
  readonly bytes: (Uint8Array | null)[] = new Array<Uint8Array | null>(TLB_PAGES).fill(null);
  readonly offset = new Int32Array(TLB_PAGES);
  /** Global translation (§4.10.2.4): survives MOV to CR3. */
  readonly global = new Uint8Array(TLB_PAGES);
  private readonly filled = new Int32Array(MAX_FILLED);
  /** 1 if the page number is in `filled`. */
  private readonly listed = new Uint8Array(TLB_PAGES);
  private nFilled = 0;
  /** Bumped on every flush, so cached views (the code page) know to re-check. */
  generation = 0;

  /** The key of `vpid` at user (CPL 3) or supervisor privilege. */
  static key(vpid: number, user: boolean): number {
    return ((vpid + 1) << 1) | (user ? 1 : 0);
  }

  /** Cache the translation of linear page `vpn` for `key` with the given rights. */
  fill(
    vpn: number,
    key: number,
    region: HostRegion,
    pageHpa: number,
    read: boolean,
    write: boolean,
    exec: boolean,
    global: boolean,
  ): void {
    if (this.listed[vpn] === 0) {
      if (this.nFilled === MAX_FILLED) this.flushAll();
      this.listed[vpn] = 1;
      this.filled[this.nFilled++] = vpn;
    }
    // A slot describes one mapping of one VPID: rights cached earlier for
    // another VPID or another mapping must not survive this fill.
    const same =
      this.bytes[vpn] === region.bytes && this.offset[vpn] === pageHpa - region.base && this.owner(vpn) === key >>> 1;
    if (!same) {
      this.tagR[vpn] = 0;
      this.tagW[vpn] = 0;
      this.tagX[vpn] = 0;
    }
    this.bytes[vpn] = region.bytes;
    this.offset[vpn] = pageHpa - region.base;
    this.global[vpn] = global ? 1 : 0;
    if (read) this.tagR[vpn] = key;
    else if (this.tagR[vpn] === key) this.tagR[vpn] = 0;
    if (write) this.tagW[vpn] = key;
    else if (this.tagW[vpn] === key) this.tagW[vpn] = 0;
    if (exec) this.tagX[vpn] = key;
    else if (this.tagX[vpn] === key) this.tagX[vpn] = 0;
  }

  /** INVLPG (§4.10.4.1): the page's translations of `vpid`, global ones included. */
  flushPage(vpid: number, linear: number): void {
    const vpn = linear >>> 12;
    if (this.owner(vpn) === vpid + 1) this.clear(vpn);
    this.generation++;
  }

  /** MOV to CR3 (§4.10.4.1): all non-global translations of `vpid`. */
  flushNonGlobal(vpid: number): void {
    this.flushWhere(vpid + 1, false);
  }

  /** CR0.PG/WP, CR4.PGE/PSE changes, INVVPID single-context, VM entry/exit without VPIDs: all of `vpid`. */
  flushVpid(vpid: number): void {
    this.flushWhere(vpid + 1, true);
  }

  /** Drop the write permission of every slot mapping host page (bytes, offset): the JIT compiled code there. */
  revokeWrite(bytes: Uint8Array, offset: number): void {
    const filled = this.filled;
    for (let i = 0; i < this.nFilled; i++) {
      const vpn = filled[i];
      if (this.bytes[vpn] === bytes && this.offset[vpn] === offset) this.tagW[vpn] = 0;
    }
  }

  /** INVEPT (§28.4.3.1) or any EPT change: every combined mapping, all VPIDs. */
  invept(): void {
    this.flushAll();
  }

  flushAll(): void {
    const filled = this.filled;
    for (let i = 0; i < this.nFilled; i++) {
      this.clear(filled[i]);
      this.listed[filled[i]] = 0;
    }
    this.nFilled = 0;
    this.generation++;
  }

  /** Number of slots holding a translation (for tests and statistics). */
  get size(): number {
    return this.nFilled;
  }

  /** VPID + 1 of the slot's translation (0 if empty). */
  private owner(vpn: number): number {
    const t = this.tagR[vpn] | this.tagW[vpn] | this.tagX[vpn];
    return t >>> 1;
  }

  private clear(vpn: number): void {
    this.tagR[vpn] = 0;
    this.tagW[vpn] = 0;
    this.tagX[vpn] = 0;
    this.bytes[vpn] = null;
  }

  private flushWhere(owner: number, includeGlobal: boolean): void {
    const filled = this.filled;
    let kept = 0;
    for (let i = 0; i < this.nFilled; i++) {
      const vpn = filled[i];
      const o = this.owner(vpn);
      if (o === owner && (includeGlobal || this.global[vpn] === 0)) this.clear(vpn);
      if (this.owner(vpn) === 0) this.listed[vpn] = 0;
      else filled[kept++] = vpn;
    }
    this.nFilled = kept;
    this.generation++;
  }
}
