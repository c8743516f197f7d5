// The two task-state segment formats (SDM Vol. 3A §8.2.1 Figure 8-2, the
// 32-bit TSS, and §8.6 Figure 8-11, the 16-bit 80286 TSS): where each field
// lives, reading a new task's state and saving the old task's dynamic
// fields (general-purpose registers, segment selectors, EFLAGS, EIP). The
// static fields (CR3, the LDT selector, the T flag) are read, never written
// (§8.2.1).
import type { TaskMemory } from "./task-switch-memory.js";

/** Segment selector order in both TSS formats: ES, CS, SS, DS, FS, GS (FS and GS only in the 32-bit one). */
export const TSS_ES = 0;
export const TSS_CS = 1;
export const TSS_SS = 2;
export const TSS_DS = 3;
export const TSS_FS = 4;
export const TSS_GS = 5;

/** Minimum TSS limits (§8.2.2, Table 8-1): 67H for 32-bit, 2BH for 16-bit. */
export const TSS32_MIN_LIMIT = 0x67;
export const TSS16_MIN_LIMIT = 0x2b;

/** Offset of the previous-task link, the same in both formats. */
export const TSS_LINK = 0;

interface Layout {
  size: number;
  eip: number;
  eflags: number;
  /** EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI. */
  gpr: number;
  seg: number;
  segCount: number;
  ldt: number;
  /** -1: the format has none. */
  cr3: number;
  trap: number;
}

/** Figure 8-2: EIP at 20H, EFLAGS 24H, EAX..EDI 28H-44H, ES..GS 48H-5CH, LDT 60H, T at 64H bit 0. */
const TSS32: Layout = {
  size: 4,
  eip: 0x20,
  eflags: 0x24,
  gpr: 0x28,
  seg: 0x48,
  segCount: 6,
  ldt: 0x60,
  cr3: 0x1c,
  trap: 0x64,
};
/** Figure 8-11: IP at 0EH, FLAGS 10H, AX..DI 12H-20H, ES CS SS DS 22H-28H, LDT 2AH. */
const TSS16: Layout = {
  size: 2,
  eip: 0x0e,
  eflags: 0x10,
  gpr: 0x12,
  seg: 0x22,
  segCount: 4,
  ldt: 0x2a,
  cr3: -1,
  trap: -1,
};

/** One task's register state as a TSS holds it. */
export class TaskState {
  eip = 0;
  eflags = 0;
  /** EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI (SDM order). */
  readonly gpr = new Uint32Array(8);
  /** ES, CS, SS, DS, FS, GS selectors; FS and GS read as 0 from a 16-bit TSS. */
  readonly sel = new Uint16Array(6);
  ldt = 0;
  cr3 = 0;
  /** The T (debug trap) flag. */
  trap = false;
}

/** Bytes of the TSS a switch reads (its minimum limit + 1) and the range of dynamic fields it writes. */
export function tssReadLength(is32: boolean): number {
  return (is32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT) + 1;
}

export function tssDynamicRange(is32: boolean): [offset: number, length: number] {
  const l = is32 ? TSS32 : TSS16;
  return [l.eip, l.seg + l.segCount * l.size - l.eip];
}

/** Reads a new task's state from the TSS at linear `base` (§8.3 step 12). */
export function readTss(mem: TaskMemory, base: number, is32: boolean, out: TaskState): void {
  const l = is32 ? TSS32 : TSS16;
  const what = "the new task's TSS";
  out.eip = mem.read(base + l.eip, l.size, what);
  out.eflags = mem.read(base + l.eflags, l.size, what);
  for (let i = 0; i < 8; i++) out.gpr[i] = mem.read(base + l.gpr + i * l.size, l.size, what);
  out.sel.fill(0);
  for (let i = 0; i < l.segCount; i++) out.sel[i] = mem.read(base + l.seg + i * l.size, 2, what);
  out.ldt = mem.read(base + l.ldt, 2, what);
  out.cr3 = l.cr3 < 0 ? 0 : mem.read(base + l.cr3, 4, what);
  out.trap = l.trap >= 0 && (mem.read(base + l.trap, 1, what) & 1) !== 0;
}

/** Saves the old task's dynamic fields into its TSS at linear `base` (§8.3 step 8); selectors are 16-bit stores. */
export function saveTss(mem: TaskMemory, base: number, is32: boolean, s: TaskState): void {
  const l = is32 ? TSS32 : TSS16;
  const what = "the old task's TSS";
  mem.write(base + l.eip, l.size, s.eip, what);
  mem.write(base + l.eflags, l.size, s.eflags, what);
  for (let i = 0; i < 8; i++) mem.write(base + l.gpr + i * l.size, l.size, s.gpr[i], what);
  for (let i = 0; i < l.segCount; i++) mem.write(base + l.seg + i * l.size, 2, s.sel[i], what);
}
