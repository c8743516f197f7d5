// Guest linear-memory access for the interpreter: a TLB hit is one tag
// compare and a typed-array access (the small rd/wr functions below are
// meant to be inlined by V8); a miss walks guest paging and the EPT
// (mmu/paging.ts), fills the TLB and retries. Faults become a guest #PF or
// an EPT-violation / EPT-misconfiguration VM exit (SDM Vol. 3C §28.2.3).
//
// Accesses that cross a page boundary are done byte by byte after both
// pages were checked, so a fault on the second page leaves memory unchanged.
import type { HostMemory } from "../mmu/host-memory.js";
import { ACCESS_FETCH, ACCESS_USER, ACCESS_WRITE, FAULT_EPT_MISCONFIG, FAULT_PAGE, PageWalker } from "../mmu/paging.js";
import { Tlb } from "../mmu/tlb.js";
import { AC as AC_VECTOR, exitNow, PF, raise } from "./fault.js";
import { AC } from "./flags.js";
import { type CpuState, CR0_AM, CR0_WP } from "./state.js";

const EXIT_EPT_VIOLATION = 48;
const EXIT_EPT_MISCONFIG = 49;

/** A TLB key no entry has: all data accesses take the slow paths. */
const WATCH_KEY = -1;

/** What instruction fetches see where no host memory is: all ones, as an undriven bus reads. */
const UNBACKED_PAGE = new Uint8Array(4096).fill(0xff);

export class GuestMemory {
  readonly tlb: Tlb;
  readonly walker: PageWalker;
  // The TLB's arrays, held directly for the fast paths.
  readonly tagR: Int32Array;
  readonly tagW: Int32Array;
  readonly tagX: Int32Array;
  readonly bytes: (Uint8Array | null)[];
  readonly offset: Int32Array;
  /** TLB key of the current VPID and privilege (CPL 3 = user); WATCH_KEY while data breakpoints are armed. */
  key = 2;
  vpid = 0;
  user = false;
  /**
   * Data breakpoints armed (debug.ts): every access misses the fast path
   * (key = WATCH_KEY matches no TLB entry) and the slow paths report it to
   * `watcher`. Instruction fetches keep using the TLB.
   */
  watch = false;
  watcher: ((lin: number, n: number, write: boolean) => void) | null = null;
  /**
   * Alignment checking (SDM Vol. 3A §6.15 interrupt 17, #AC): CR0.AM, EFLAGS.AC
   * and CPL 3. Rare, so it costs the fast paths nothing: like `watch`, it
   * selects WATCH_KEY and the slow paths check. Implicit supervisor accesses
   * (readSys/writeSys) and instruction fetches are not checked, as the SDM says.
   */
  alignCheck = false;

  /** The cached code page: linear page number (-1: none), its host bytes and offset. */
  codePage = -1;
  codeBytes: Uint8Array = UNBACKED_PAGE;
  codeOff = 0;
  /** 16 bytes of an instruction that crosses a page boundary. */
  readonly scratch = new Uint8Array(32);

  // ---- JIT hooks (cpu/jit/jit.ts) ----
  /** Host pages holding compiled code, per memory object (1 = compiled): no fast write entries for them. */
  codeMarks: Map<Uint8Array, Uint8Array> | null = null;
  /** Called after a write into a marked page (bytes[at] written), so the compiled code is dropped. */
  onCodeWrite: ((bytes: Uint8Array, at: number) => void) | null = null;

  /** After translate(): host bytes (null where no memory is) and the byte's index in them. */
  hb: Uint8Array | null = null;
  ho = 0;

  constructor(
    readonly st: CpuState,
    host: HostMemory,
  ) {
    this.tlb = new Tlb();
    this.walker = new PageWalker(host);
    this.tagR = this.tlb.tagR;
    this.tagW = this.tlb.tagW;
    this.tagX = this.tlb.tagX;
    this.bytes = this.tlb.bytes;
    this.offset = this.tlb.offset;
  }

  /** Select the TLB key for `vpid` and privilege; drops the code-page cache. */
  setMode(vpid: number, user: boolean): void {
    this.vpid = vpid;
    this.user = user;
    this.alignCheck = user && (this.st.cr0 & CR0_AM) !== 0 && (this.st.fl & AC) !== 0;
    this.key = this.watch || this.alignCheck ? WATCH_KEY : Tlb.key(vpid, user);
    this.codePage = -1;
  }

  /** After an instruction that may have changed EFLAGS.AC or CR0.AM: re-select the key if #AC checking changed. */
  updateAlignCheck(): void {
    const on = this.user && (this.st.cr0 & CR0_AM) !== 0 && (this.st.fl & AC) !== 0;
    if (on !== this.alignCheck) this.setMode(this.vpid, this.user);
  }

  /** #AC(0) for an n-byte data access at CPL 3 that is not n-aligned (words 2, doublewords 4). */
  private checkAlign(lin: number, n: number): void {
    if (this.alignCheck && this.user && (lin & (n - 1)) !== 0) raise(this.st, AC_VECTOR, 0);
  }

  /** Arm or disarm the data-breakpoint watch (see `watch`). */
  setWatch(on: boolean): void {
    this.watch = on;
    this.setMode(this.vpid, this.user);
  }

  // ---- invalidation (SDM Vol. 3A §4.10.4) ----
  flushPage(linear: number): void {
    this.tlb.flushPage(this.vpid, linear);
    this.codePage = -1;
  }
  flushNonGlobal(): void {
    this.tlb.flushNonGlobal(this.vpid);
    this.codePage = -1;
  }
  flushVpid(): void {
    this.tlb.flushVpid(this.vpid);
    this.codePage = -1;
  }
  flushAll(): void {
    this.tlb.flushAll();
    this.codePage = -1;
  }

  /**
   * Translate `lin` for `access` (paging.ts ACCESS_* bits), fill the TLB,
   * set hb/ho. Throws a #PF or an EPT VM exit.
   */
  translate(lin: number, access: number): void {
    const st = this.st;
    const w = this.walker;
    w.cr0 = st.cr0;
    w.cr3 = st.cr3;
    w.cr4 = st.cr4;
    const hpa = w.translate(lin, access);
    if (hpa < 0) this.fault(lin);
    const region = w.region;
    if (region === null) {
      this.hb = null;
      return;
    }
    this.hb = region.bytes;
    this.ho = hpa - region.base;
    const pageHpa = hpa - (lin & 0xfff);
    if (pageHpa < region.base || pageHpa + 4096 > region.base + region.size) return;
    // §4.6: what the cached translation allows for this privilege.
    const user = (access & ACCESS_USER) !== 0;
    const rights = w.eptRights;
    const read = (!user || w.user) && (rights & 1) !== 0;
    const pagingWrite = user ? w.writable && w.user : w.writable || (st.cr0 & CR0_WP) === 0;
    const write = pagingWrite && w.dirty && (rights & 2) !== 0;
    const exec = (!user || w.user) && (rights & 4) !== 0;
    this.tlb.fill(lin >>> 12, Tlb.key(this.vpid, user), region, pageHpa, read, write, exec, w.global);
    // JIT: writes to a page with compiled code must take the slow path (writeSlow reports them).
    if (write && this.codeMarks !== null && this.codeMarks.get(region.bytes)?.[(pageHpa - region.base) / 4096] === 1) {
      this.tlb.tagW[lin >>> 12] = 0;
    }
  }

  /** JIT: a slow-path write stored into this.hb at this.ho. */
  private noteWrite(): void {
    const b = this.hb;
    if (b !== null && this.codeMarks!.get(b)?.[this.ho >>> 12] === 1) this.onCodeWrite?.(b, this.ho);
  }

  private fault(lin: number): never {
    const st = this.st;
    const w = this.walker;
    if (w.fault === FAULT_PAGE) {
      st.excCr2 = lin;
      return raise(st, PF, w.errorCode);
    }
    if (w.fault === FAULT_EPT_MISCONFIG) {
      st.exitReason = EXIT_EPT_MISCONFIG;
      st.exitQual = 0;
    } else {
      st.exitReason = EXIT_EPT_VIOLATION;
      st.exitQual = w.eptQual;
    }
    st.exitGpa = w.faultGpa;
    st.exitLinear = lin >>> 0;
    return exitNow();
  }

  private userBit(): number {
    return this.user ? ACCESS_USER : 0;
  }

  // ---- slow paths ----
  read8Slow(lin: number): number {
    if (this.key === WATCH_KEY) this.watcher?.(lin, 1, false);
    this.translate(lin, this.userBit());
    return this.hb === null ? 0xff : this.hb[this.ho];
  }

  readSlow(lin: number, n: number): number {
    this.checkAlign(lin, n);
    if (this.key === WATCH_KEY) this.watcher?.(lin, n, false);
    if ((lin & 0xfff) + n <= 0x1000) {
      this.translate(lin, this.userBit());
      const b = this.hb;
      if (b === null) return n === 4 ? -1 : (1 << (8 * n)) - 1;
      const o = this.ho;
      return n === 2 ? b[o] | (b[o + 1] << 8) : b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
    }
    // Crossing: read the bytes in order (a fault on the second page after reading the first changes nothing).
    let v = 0;
    for (let i = 0; i < n; i++) v |= this.read8Raw((lin + i) | 0) << (8 * i);
    return v;
  }

  private read8Raw(lin: number): number {
    this.translate(lin, this.userBit());
    return this.hb === null ? 0xff : this.hb[this.ho];
  }

  writeSlow(lin: number, n: number, v: number): void {
    this.checkAlign(lin, n);
    if (this.key === WATCH_KEY) this.watcher?.(lin, n, true);
    const acc = this.userBit() | ACCESS_WRITE;
    const end = (lin + n - 1) | 0;
    if ((lin ^ end) >>> 12 === 0) {
      this.translate(lin, acc);
      const b = this.hb;
      if (b !== null) for (let i = 0; i < n; i++) b[this.ho + i] = v >>> (8 * i);
      if (this.codeMarks !== null) this.noteWrite();
      return;
    }
    this.translate(end, acc); // check the second page first
    for (let i = 0; i < n; i++) {
      this.translate((lin + i) | 0, acc);
      if (this.hb !== null) this.hb[this.ho] = v >>> (8 * i);
      if (this.codeMarks !== null) this.noteWrite();
    }
  }

  /** Make the code page holding `lin` current (fetch permission at the current privilege). */
  loadCodePage(lin: number): void {
    const vpn = lin >>> 12;
    const key = Tlb.key(this.vpid, this.user);
    if (this.tagX[vpn] !== key) {
      this.translate(lin, this.userBit() | ACCESS_FETCH);
      if (this.tagX[vpn] !== key) {
        // Not cacheable (no memory there, or a partial page): fetch from a private copy.
        this.codeBytes = this.hb === null ? UNBACKED_PAGE : copyPage(this, lin);
        this.codeOff = 0;
        this.codePage = -1;
        return;
      }
    }
    this.codeBytes = this.bytes[vpn]!;
    this.codeOff = this.offset[vpn];
    this.codePage = vpn;
  }

  /** Read with supervisor rights regardless of CPL (GDT, IDT, TSS accesses, §5.5). */
  readSys(lin: number, n: number): number {
    const saved = this.key;
    const savedUser = this.user;
    this.key = Tlb.key(this.vpid, false);
    this.user = false;
    try {
      return n === 1 ? rd8(this, lin) : n === 2 ? rd16(this, lin) : rd32(this, lin);
    } finally {
      this.key = saved;
      this.user = savedUser;
    }
  }

  writeSys(lin: number, n: number, v: number): void {
    const saved = this.key;
    const savedUser = this.user;
    this.key = Tlb.key(this.vpid, false);
    this.user = false;
    try {
      if (n === 1) wr8(this, lin, v);
      else if (n === 2) wr16(this, lin, v);
      else wr32(this, lin, v);
    } finally {
      this.key = saved;
      this.user = savedUser;
    }
  }
}

/** A page whose host memory is only partly backed: copy what is there byte by byte. */
function copyPage(m: GuestMemory, lin: number): Uint8Array {
  const page = new Uint8Array(4096);
  const base = lin & ~0xfff;
  for (let i = 0; i < 4096; i++) {
    m.translate((base + i) | 0, (m.user ? ACCESS_USER : 0) | ACCESS_FETCH);
    page[i] = m.hb === null ? 0xff : m.hb[m.ho];
  }
  return page;
}

// ---- fast paths: one tag compare, then the host bytes ----

export function rd8(m: GuestMemory, lin: number): number {
  const vpn = lin >>> 12;
  if (m.tagR[vpn] === m.key) return m.bytes[vpn]![m.offset[vpn] + (lin & 0xfff)];
  return m.read8Slow(lin);
}

export function rd16(m: GuestMemory, lin: number): number {
  const vpn = lin >>> 12;
  if (m.tagR[vpn] === m.key && (lin & 0xfff) !== 0xfff) {
    const b = m.bytes[vpn]!;
    const o = m.offset[vpn] + (lin & 0xfff);
    return b[o] | (b[o + 1] << 8);
  }
  return m.readSlow(lin, 2);
}

/** A 32-bit read, as a signed int32. */
export function rd32(m: GuestMemory, lin: number): number {
  const vpn = lin >>> 12;
  if (m.tagR[vpn] === m.key && (lin & 0xfff) <= 0xffc) {
    const b = m.bytes[vpn]!;
    const o = m.offset[vpn] + (lin & 0xfff);
    return b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
  }
  return m.readSlow(lin, 4);
}

export function wr8(m: GuestMemory, lin: number, v: number): void {
  const vpn = lin >>> 12;
  if (m.tagW[vpn] === m.key) m.bytes[vpn]![m.offset[vpn] + (lin & 0xfff)] = v;
  else m.writeSlow(lin, 1, v);
}

export function wr16(m: GuestMemory, lin: number, v: number): void {
  const vpn = lin >>> 12;
  if (m.tagW[vpn] === m.key && (lin & 0xfff) !== 0xfff) {
    const b = m.bytes[vpn]!;
    const o = m.offset[vpn] + (lin & 0xfff);
    b[o] = v;
    b[o + 1] = v >>> 8;
  } else m.writeSlow(lin, 2, v);
}

export function wr32(m: GuestMemory, lin: number, v: number): void {
  const vpn = lin >>> 12;
  if (m.tagW[vpn] === m.key && (lin & 0xfff) <= 0xffc) {
    const b = m.bytes[vpn]!;
    const o = m.offset[vpn] + (lin & 0xfff);
    b[o] = v;
    b[o + 1] = v >>> 8;
    b[o + 2] = v >>> 16;
    b[o + 3] = v >>> 24;
  } else m.writeSlow(lin, 4, v);
}

/** Read of operand size `s` (0 byte, 1 word, 2 dword). */
export function rdS(m: GuestMemory, s: number, lin: number): number {
  return s === 2 ? rd32(m, lin) : s === 1 ? rd16(m, lin) : rd8(m, lin);
}

export function wrS(m: GuestMemory, s: number, lin: number, v: number): void {
  if (s === 2) wr32(m, lin, v);
  else if (s === 1) wr16(m, lin, v);
  else wr8(m, lin, v);
}

/** Check that `n` bytes at `lin` are writable without writing (for instructions that must not fault half-done). */
export function probeWrite(m: GuestMemory, lin: number, n: number): void {
  const end = (lin + n - 1) | 0;
  if (m.tagW[lin >>> 12] !== m.key) m.translate(lin, (m.user ? ACCESS_USER : 0) | ACCESS_WRITE);
  if ((lin ^ end) >>> 12 !== 0 && m.tagW[end >>> 12] !== m.key) {
    m.translate(end, (m.user ? ACCESS_USER : 0) | ACCESS_WRITE);
  }
}
