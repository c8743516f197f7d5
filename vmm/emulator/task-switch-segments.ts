// Descriptors a task switch reads and the segment registers it loads from the
// new TSS, with the checks of SDM Vol. 3A §8.3 Table 8-1 ("Exception
// Conditions Checked During a Task Switch") and the #TS error-code list of
// §6.15 (Interrupt 10): LDTR, then CS, SS and the data segments, each
// qualified against the new CPL (the RPL of the new CS selector). Faults
// are thrown as the preallocated EmulationAbort; error codes carry the
// selector and the EXT bit (§6.13).
import { type EmulationAbort, Vector } from "./fault.js";
import type { TaskMemory } from "./task-switch-memory.js";

/** The exception vectors a task switch raises or combines (SDM Table 6-1). */
export const Vec = { ...Vector, DE: 0, DB: 1, NMI: 2, DF: 8, TS: 10, NP: 11 } as const;

/** A segment register as VMX keeps it (SDM Vol. 3C §24.4.1), access rights in Table 24-2 format. */
export interface Seg {
  sel: number;
  base: number;
  limit: number;
  ar: number;
}

export const AR_UNUSABLE = 1 << 16;
export const AR_DB = 1 << 14;
/** Descriptor type bits (§3.4.5.1 Table 3-1, §3.5 Table 3-2). */
const T_ACCESSED = 1;
const T_RW = 2;
const T_CONFORMING_OR_DOWN = 4;
const T_CODE = 8;
const S = 0x10;
const P = 0x80;
const TYPE_LDT = 2;

export const unusable = (sel: number): Seg => ({ sel, base: 0, limit: 0, ar: AR_UNUSABLE });

/** One descriptor from the GDT or the current LDT (§3.5.1, Figure 3-8). */
export class Descriptor {
  lo = 0;
  hi = 0;
  /** Linear address of the descriptor. */
  addr = 0;
  gdtBase = 0;
  gdtLimit = 0;
  ldt: Seg = unusable(0);

  constructor(
    private readonly mem: TaskMemory,
    private readonly abort: EmulationAbort,
  ) {}

  /** Reads the descriptor `sel` names; false when its index lies beyond its table's limit (or TI = 1 with no LDT). */
  read(sel: number, what: string): boolean {
    const local = (sel & 4) !== 0;
    if (local && this.ldt.ar & AR_UNUSABLE) return false;
    const base = local ? this.ldt.base : this.gdtBase;
    const limit = local ? this.ldt.limit : this.gdtLimit;
    const index = sel & 0xfff8;
    if (index + 7 > limit) return false;
    this.addr = (base + index) >>> 0;
    this.lo = this.mem.read(this.addr, 4, what);
    this.hi = this.mem.read(this.addr + 4, 4, what);
    return true;
  }

  get base(): number {
    return ((this.lo >>> 16) | ((this.hi & 0xff) << 16) | (this.hi & 0xff00_0000)) >>> 0;
  }

  /** The limit in bytes: with G = 1 it counts 4 KiB units (§3.4.5). */
  get limit(): number {
    const raw = (this.lo & 0xffff) | (this.hi & 0xf_0000);
    return this.hi & 0x80_0000 ? ((raw << 12) | 0xfff) >>> 0 : raw;
  }

  /** Access rights in VMX format: type, S, DPL, P (bits 7:0) and AVL, D/B, G (15:12). */
  get ar(): number {
    return (this.hi >>> 8) & 0xf0ff;
  }

  get type(): number {
    return (this.hi >>> 8) & 0xf;
  }

  get system(): boolean {
    return (this.hi & (S << 8)) === 0;
  }

  get dpl(): number {
    return (this.hi >>> 13) & 3;
  }

  get present(): boolean {
    return (this.hi & (P << 8)) !== 0;
  }

  /** Sets the type field's bit `bit` (accessed, busy) in guest memory and in this copy, if clear. */
  setTypeBit(bit: number, what: string): void {
    if (this.hi & (bit << 8)) return;
    this.hi |= bit << 8;
    this.mem.write(this.addr + 5, 1, (this.hi >>> 8) & 0xff, what);
  }

  clearTypeBit(bit: number, what: string): void {
    if (!(this.hi & (bit << 8))) return;
    this.hi &= ~(bit << 8);
    this.mem.write(this.addr + 5, 1, (this.hi >>> 8) & 0xff, what);
  }

  seg(sel: number): Seg {
    return { sel, base: this.base, limit: this.limit, ar: this.ar };
  }

  fault(vector: number, sel: number, ext: number): EmulationAbort {
    return this.abort.fault(vector, true, ((sel & 0xfffc) | ext) >>> 0);
  }
}

/** Table 8-1: the new task's LDT must be null or an LDT descriptor in the GDT that is present, else #TS(LDT selector). */
export function loadLdtr(d: Descriptor, sel: number, ext: number): Seg {
  if ((sel & 0xfffc) === 0) return unusable(sel);
  if (sel & 4 || !d.read(sel, "the new task's LDT descriptor")) throw d.fault(Vec.TS, sel, ext);
  if (!d.system || d.type !== TYPE_LDT || !d.present) throw d.fault(Vec.TS, sel, ext);
  return d.seg(sel);
}

/** Table 8-1 / §6.15: CS must be a code segment, DPL = CPL (conforming: DPL <= CPL), present (#NP). */
export function loadCs(d: Descriptor, sel: number, cpl: number, ext: number): Seg {
  if ((sel & 0xfffc) === 0 || !d.read(sel, "the new task's CS descriptor")) throw d.fault(Vec.TS, sel, ext);
  const type = d.type;
  if (d.system || !(type & T_CODE)) throw d.fault(Vec.TS, sel, ext);
  const conforming = (type & T_CONFORMING_OR_DOWN) !== 0;
  if (conforming ? d.dpl > cpl : d.dpl !== cpl) throw d.fault(Vec.TS, sel, ext);
  if (!d.present) throw d.fault(Vec.NP, sel, ext);
  d.setTypeBit(T_ACCESSED, "the new task's CS descriptor");
  return d.seg(sel);
}

/** Table 8-1 / §6.15: SS must be a writable data segment with RPL = DPL = CPL, present (#SS). */
export function loadSs(d: Descriptor, sel: number, cpl: number, ext: number): Seg {
  if ((sel & 0xfffc) === 0 || !d.read(sel, "the new task's SS descriptor")) throw d.fault(Vec.TS, sel, ext);
  const type = d.type;
  if (d.system || type & T_CODE || !(type & T_RW)) throw d.fault(Vec.TS, sel, ext);
  if ((sel & 3) !== cpl || d.dpl !== cpl) throw d.fault(Vec.TS, sel, ext);
  if (!d.present) throw d.fault(Vec.SS, sel, ext);
  d.setTypeBit(T_ACCESSED, "the new task's SS descriptor");
  return d.seg(sel);
}

/**
 * Table 8-1 / §6.15: DS, ES, FS, GS may be null (unusable); otherwise a data
 * or readable code segment, with DPL >= CPL and RPL unless conforming code,
 * present (#NP).
 */
export function loadData(d: Descriptor, sel: number, cpl: number, ext: number, name: string): Seg {
  if ((sel & 0xfffc) === 0) return unusable(sel);
  if (!d.read(sel, `the new task's ${name} descriptor`)) throw d.fault(Vec.TS, sel, ext);
  const type = d.type;
  const code = (type & T_CODE) !== 0;
  if (d.system || (code && !(type & T_RW))) throw d.fault(Vec.TS, sel, ext);
  const conformingCode = code && (type & T_CONFORMING_OR_DOWN) !== 0;
  if (!conformingCode && (d.dpl < cpl || d.dpl < (sel & 3))) throw d.fault(Vec.TS, sel, ext);
  if (!d.present) throw d.fault(Vec.NP, sel, ext);
  d.setTypeBit(T_ACCESSED, `the new task's ${name} descriptor`);
  return d.seg(sel);
}

/** A segment of a virtual-8086 task: base = selector * 16, limit FFFFH, present read/write accessed data at DPL 3 (§20.1.1; Vol. 3C §26.3.1.2). */
export function v86Segment(sel: number): Seg {
  return { sel, base: sel << 4, limit: 0xffff, ar: 0xf3 };
}

/** Whether `size` bytes below `esp` fit the stack segment `ss` (§5.3: expand-up or expand-down, B for the top). */
export function stackRoom(ss: Seg, esp: number, size: number): boolean {
  const big = (ss.ar & AR_DB) !== 0;
  const top = big ? 0xffff_ffff : 0xffff;
  const low = pushTarget(ss, esp, size);
  if ((ss.ar & T_CONFORMING_OR_DOWN) !== 0) return low > ss.limit && low + size - 1 <= top;
  return low + size - 1 <= ss.limit;
}

/** The stack offset a push of `size` bytes writes at: ESP or SP by SS.B, wrapping as the processor's does. */
export function pushTarget(ss: Seg, esp: number, size: number): number {
  return ss.ar & AR_DB ? (esp - size) >>> 0 : (esp - size) & 0xffff;
}
