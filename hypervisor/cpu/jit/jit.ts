// The JIT tier (DESIGN.md §7): hot guest code, one 4 KiB page at a time,
// compiled to a JavaScript function (translate.ts) that keeps loops inside
// it. Compiled code is keyed by host-physical page (the TLB's bytes and
// offset) and the linear page it was translated for; a lookup goes through
// the TLB's fetch tag, so paging changes and privilege are re-checked on
// every entry. It runs only in 32-bit flat protected mode with no debug
// feature armed; everything else, and every instruction it does not
// translate, stays with the interpreter.
//
// Hotness: the interpreter runs cold code in chunks; each chunk start counts
// as a sample of its page and entry point, and a page is compiled once it
// has HOT samples. Writes: a page with compiled code is marked in
// GuestMemory.codeMarks, so the TLB never holds a fast write entry for it;
// a guest write takes the slow path, which reports it here and the code is
// dropped. Writes from outside the processor (the VMM between exits) are
// found by comparing a snapshot of the page once per VM entry ("epoch").

import {
  CPU_INTR_WINDOW_EXITING,
  CPU_NMI_WINDOW_EXITING,
  INTERRUPTIBILITY_MOV_SS,
  INTERRUPTIBILITY_STI,
} from "../../vmx/vmcs-fields.js";
import { aluFlags, imulTrunc, mulAcc, mulOut, mulS32, mulU32, shiftOut, shiftRes } from "../alu.js";
import { debugActive } from "../debug.js";
import { FAULT, FAULT_EXIT } from "../fault.js";
import { getCF, getFlags, PARITY, testCC, VM } from "../flags.js";
import { execute } from "../interpreter.js";
import { deliverFault } from "../interrupts.js";
import type { GuestMemory } from "../memory.js";
import { AR_DB, type CpuState, CR0_PE, CS, DS, ES, SS } from "../state.js";
import { stringOp } from "../string-ops.js";
import { RC_DISPATCH, RC_INTERPRET, translatePage } from "./translate.js";

/**
 * Samples (interpreter chunk starts in a page) before the page is compiled:
 * about 200,000 interpreted instructions. Lukewarm code is cheaper to
 * interpret than to compile and warm up in V8 (a Linux boot runs slower with
 * a threshold of 24). MOAT_JIT_HOT overrides it.
 */
export const HOT = 4000;
/** Instructions the interpreter runs before the dispatcher looks again. */
const CHUNK = 48;
/** Compiled regions per page; compilations of one page before it is left to the interpreter for good. */
const MAX_REGIONS = 16;
const MAX_COMPILES = 64;
/** Invalidations by guest writes before a page (code and data mixed) is no longer compiled. */
const MAX_KILLS = 16;
/** Entry points remembered per page. */
const MAX_ENTRIES = 48;

type PageFn = (st: CpuState, limit: number) => number;
type Factory = (helpers: Record<string, unknown>) => PageFn;

/**
 * Compiled factories by source, shared by every processor of this thread: the
 * same guest code (another VM, a restarted VM, the same kernel) reuses V8's
 * compiled and optimized code instead of warming a new function up.
 */
const factories = new Map<string, Factory>();
/** Bound on the cached sources' total length (characters); past it the cache starts over. */
const MAX_CACHED_SOURCE = 32 << 20;
let cachedSource = 0;

function factory(source: string): Factory {
  let f = factories.get(source);
  if (f === undefined) {
    if (cachedSource + source.length > MAX_CACHED_SOURCE) {
      factories.clear();
      cachedSource = 0;
    }
    f = new Function("H", source) as Factory;
    factories.set(source, f);
    cachedSource += source.length;
  }
  return f;
}

class JitPage {
  /** Compiled regions of the page (each from some entry points, translate.ts). */
  fns: PageFn[] = [];
  /** owner[off] = 1 + index in fns of a function with an entry at off; null while nothing is compiled. */
  owner: Uint8Array | null = null;
  /** covered[off] = 1 where some region has an instruction (an entry or inside a block). */
  covered: Uint8Array | null = null;
  /** Linear address of the page the code was translated for. */
  lin = 0;
  /** Sampled entry points without compiled code. */
  entries: number[] = [];
  heat = 0;
  compiles = 0;
  kills = 0;
  /** VM-entry epoch in which the snapshot was last compared with memory. */
  epoch = -1;
  snapshot: Uint8Array | null = null;

  constructor(
    readonly bytes: Uint8Array,
    readonly offset: number,
  ) {}

  get banned(): boolean {
    return this.fns.length >= MAX_REGIONS || this.compiles >= MAX_COMPILES || this.kills >= MAX_KILLS;
  }
}

export interface JitStats {
  compiles: number;
  invalidations: number;
  /** Instructions retired by compiled code. */
  compiledInsns: number;
}

export class Jit {
  /** Bumped whenever compiled code is dropped: generated code compares it after slow-path stores. */
  readonly J = { gen: 0 };
  private epoch = 0;
  private readonly pages = new Map<Uint8Array, (JitPage | undefined)[]>();
  private readonly marks = new Map<Uint8Array, Uint8Array>();
  private lastBytes: Uint8Array | null = null;
  private lastOffset = -1;
  private lastPage: JitPage | null = null;
  private readonly helpers: Record<string, unknown>;
  readonly stats: JitStats = { compiles: 0, invalidations: 0, compiledInsns: 0 };
  /** Compile threshold (HOT, or MOAT_JIT_HOT); tests lower it to compile short programs. */
  hot = Number(process.env.MOAT_JIT_HOT ?? HOT) || HOT;

  constructor(readonly mem: GuestMemory) {
    this.helpers = {
      stringOp,
      getCF,
      getFlags,
      testCC,
      aluFlags,
      shiftRes,
      shiftOut,
      imulTrunc,
      mulAcc,
      mulU32,
      mulS32,
      mulOut,
      PARITY,
      J: this.J,
      EMPTY: new Uint8Array(8),
    };
    mem.codeMarks = this.marks;
    mem.onCodeWrite = (bytes, at) => this.written(bytes, at);
  }

  /** Stop watching guest writes (the JIT is switched off). */
  detach(): void {
    if (this.mem.onCodeWrite !== null) {
      this.mem.codeMarks = null;
      this.mem.onCodeWrite = null;
    }
  }

  /** A new VM entry: memory may have been written from outside since the last one. */
  newEpoch(): void {
    this.epoch++;
  }

  /**
   * Run guest instructions like interpreter.ts `execute` (same contract:
   * up to `limit` retired, earlier at a VM exit or an instruction that asks
   * for a boundary check), using compiled code where there is some.
   */
  run(st: CpuState, limit: number): void {
    const m = st.mem;
    if (m.watch || !flat(st)) {
      execute(st, limit);
      return;
    }
    const tagX = m.tagX;
    for (;;) {
      const before = st.count;
      if (before >= limit) return;
      const eip = st.eip;
      const vpn = eip >>> 12;
      const page = tagX[vpn] === m.key ? this.pageAt(m.bytes[vpn]!, m.offset[vpn]) : null;
      const k = page !== null && page.owner !== null && page.lin === (eip & ~0xfff) ? page.owner[eip & 0xfff] : 0;
      if (k !== 0) {
        if (page!.epoch !== this.epoch && !this.revalidate(page!)) continue;
        let rc: number;
        try {
          rc = page!.fns[k - 1]!(st, limit);
        } catch (e) {
          this.fault(st, e);
          return;
        }
        this.stats.compiledInsns += st.count - before;
        if (rc === RC_DISPATCH) continue;
        if (rc !== RC_INTERPRET) {
          if (st.count < limit) execute(st, limit); // the next block does not fit: finish the budget exactly
          return;
        }
        execute(st, Math.min(limit, st.count + 1));
        if (boundary(st)) return;
        continue;
      }
      if (page !== null && page.covered !== null && page.lin === (eip & ~0xfff) && page.covered[eip & 0xfff] === 1) {
        // Inside a compiled block (a chunk of the interpreter ended there): step to the next block entry.
        execute(st, Math.min(limit, st.count + 1));
        if (boundary(st)) return;
        continue;
      }
      if (page !== null && this.sample(page, eip)) continue;
      execute(st, Math.min(limit, st.count + CHUNK));
      if (boundary(st)) return;
    }
  }

  /** A fault thrown by compiled code: st.eip and st.count (with the instruction) were set before it; as interpreter.ts's catch. */
  private fault(st: CpuState, e: unknown): void {
    if (e !== FAULT) throw e;
    if (FAULT.kind === FAULT_EXIT) {
      st.count--;
      return;
    }
    deliverFault(st);
    if (st.exitReason >= 0) st.count--;
  }

  /** Count a sample of `eip` in `page`; compile when hot. Returns true if `eip` now has compiled code. */
  private sample(page: JitPage, eip: number): boolean {
    if (page.banned) return false;
    const off = eip & 0xfff;
    const lin = eip & ~0xfff;
    if (page.lin !== lin) {
      if (page.owner !== null) this.drop(page);
      page.lin = lin;
      page.entries = [];
    }
    if (!page.entries.includes(off)) {
      if (page.entries.length >= MAX_ENTRIES) page.entries.shift();
      page.entries.push(off);
    }
    if (++page.heat < this.hot) return false;
    page.heat = 0;
    this.compile(page);
    return page.owner !== null && page.owner[off] !== 0;
  }

  /** Compile a region from the page's sampled entry points (the code bytes are unchanged since earlier regions: writes drop them). */
  private compile(page: JitPage): void {
    const entries = page.covered === null ? page.entries : page.entries.filter((e) => page.covered![e] === 0);
    page.entries = [];
    if (entries.length === 0) return;
    const code = translatePage(page.bytes, page.offset, page.lin, entries);
    page.fns.push(factory(code.source)(this.helpers));
    if (page.owner === null) {
      page.owner = new Uint8Array(4096);
      page.covered = new Uint8Array(4096);
      page.snapshot = page.bytes.slice(page.offset, page.offset + 4096);
      page.epoch = this.epoch;
    }
    const k = page.fns.length;
    for (let i = 0; i < 4096; i++) {
      if (code.leaders[i] === 1) page.owner[i] = k;
      if (code.covered[i] === 1) page.covered![i] = 1;
    }
    page.compiles++;
    this.stats.compiles++;
    let mk = this.marks.get(page.bytes);
    if (mk === undefined) {
      mk = new Uint8Array(Math.ceil(page.bytes.length / 4096));
      this.marks.set(page.bytes, mk);
    }
    if (mk[page.offset >>> 12] === 0) {
      mk[page.offset >>> 12] = 1;
      this.mem.tlb.revokeWrite(page.bytes, page.offset);
    }
  }

  /** Once per epoch: does the page still hold the bytes the code was made from? */
  private revalidate(page: JitPage): boolean {
    const now = page.bytes.subarray(page.offset, page.offset + 4096);
    if (Buffer.compare(now, page.snapshot!) !== 0) {
      this.drop(page);
      return false;
    }
    page.epoch = this.epoch;
    return true;
  }

  /** GuestMemory reports a write at bytes[at] into a marked page. */
  private written(bytes: Uint8Array, at: number): void {
    const page = this.pages.get(bytes)?.[at >>> 12];
    if (page !== undefined && page.owner !== null) {
      page.kills++;
      this.drop(page);
    } else {
      const mk = this.marks.get(bytes);
      if (mk !== undefined) mk[at >>> 12] = 0;
    }
  }

  private drop(page: JitPage): void {
    page.fns = [];
    page.owner = null;
    page.covered = null;
    page.heat = 0;
    this.J.gen++;
    this.stats.invalidations++;
    const mk = this.marks.get(page.bytes);
    if (mk !== undefined) mk[page.offset >>> 12] = 0;
  }

  private pageAt(bytes: Uint8Array, offset: number): JitPage {
    if (bytes === this.lastBytes && offset === this.lastOffset) return this.lastPage!;
    let list = this.pages.get(bytes);
    if (list === undefined) {
      list = [];
      this.pages.set(bytes, list);
    }
    let page = list[offset >>> 12];
    if (page === undefined) {
      page = new JitPage(bytes, offset);
      list[offset >>> 12] = page;
    }
    this.lastBytes = bytes;
    this.lastOffset = offset;
    this.lastPage = page;
    return page;
  }
}

/**
 * After the interpreter ran: does the processor's run loop (vmx/processor.ts)
 * have anything to do before the next instruction? A VM exit, an interrupt
 * shadow, HLT, a debug feature, window exiting (conservatively: whenever
 * enabled), a mode the JIT does not run. If not, it would only call run()
 * again, so run() goes on by itself.
 */
function boundary(st: CpuState): boolean {
  return (
    st.exitReason >= 0 ||
    (st.interruptibility & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) !== 0 ||
    st.activity !== 0 ||
    (st.ctl.proc & (CPU_NMI_WINDOW_EXITING | CPU_INTR_WINDOW_EXITING)) !== 0 ||
    debugActive(st) ||
    st.mem.watch ||
    !flat(st)
  );
}

/** Data segment usable as flat: present, S = 1, data, writable, expand-up (SDM Vol. 3A §3.4.5.1), base 0, limit 4 GiB. */
function flatData(st: CpuState, n: number): boolean {
  return st.segBase[n] === 0 && st.segLimit[n] === -1 && (st.segAr[n] & 0x1009e) === 0x92;
}

/** 32-bit flat protected mode: the only mode compiled code is made for. */
export function flat(st: CpuState): boolean {
  return (
    (st.cr0 & CR0_PE) !== 0 &&
    (st.fl & VM) === 0 &&
    st.segBase[CS] === 0 &&
    st.segLimit[CS] === -1 &&
    (st.segAr[CS] & (AR_DB | 0x10018)) === (AR_DB | 0x18) &&
    flatData(st, DS) &&
    flatData(st, ES) &&
    flatData(st, SS) &&
    (st.segAr[SS] & AR_DB) !== 0
  );
}
