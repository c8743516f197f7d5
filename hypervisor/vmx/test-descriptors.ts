// Descriptor-table builders for processor tests (SDM Vol. 3A §3.4.5 segment
// descriptors, §6.11 IDT gate descriptors, §7.2.1 32-bit TSS layout), and a
// standard protected-mode layout: GDT with ring-0 and ring-3 flat segments
// and a TSS, an IDT, at fixed guest-physical addresses.
import type { TestMachine } from "./test-machine.js";
import * as F from "./vmcs-fields.js";

export const GDT = 0x500;
export const TSS = 0x600;
export const IDT = 0x800;
export const KCODE = 0x08;
export const KDATA = 0x10;
export const TSEL = 0x18;
export const UCODE = 0x23;
export const UDATA = 0x2b;
/** Ring-0 stack the TSS names (ESP0) and the ring-3 stack the tests use. */
export const ESP0 = 0x9000;
export const ESP3 = 0x7000;

/** A code/data segment descriptor (present, G = 1 when limit > 1 MiB, D/B = 1). */
export function segment(base: number, limit: number, type: number, dpl: number): [number, number] {
  const g = limit > 0xfffff;
  const l = g ? limit >>> 12 : limit;
  const lo = (l & 0xffff) | ((base & 0xffff) << 16);
  const hi =
    ((base >>> 16) & 0xff) |
    (type << 8) |
    (1 << 12) |
    (dpl << 13) |
    (1 << 15) |
    (l & 0xf0000) |
    (1 << 22) |
    (g ? 1 << 23 : 0) |
    (base & 0xff000000);
  return [lo >>> 0, hi >>> 0];
}

/** A system descriptor (TSS type 9/11, LDT type 2). */
export function system(base: number, limit: number, type: number): [number, number] {
  const lo = (limit & 0xffff) | ((base & 0xffff) << 16);
  const hi = ((base >>> 16) & 0xff) | (type << 8) | (1 << 15) | (limit & 0xf0000) | (base & 0xff000000);
  return [lo >>> 0, hi >>> 0];
}

/** An interrupt (type 0xE) or trap (0xF) gate. */
export function gate(sel: number, offset: number, dpl: number, type = 0xe, present = true): [number, number] {
  const lo = (offset & 0xffff) | (sel << 16);
  const hi = (offset & 0xffff0000) | (present ? 1 << 15 : 0) | (dpl << 13) | (type << 8);
  return [lo >>> 0, hi >>> 0];
}

export function put64(m: TestMachine, at: number, [lo, hi]: [number, number]): void {
  const v = new DataView(m.ram.buffer, m.ram.byteOffset);
  v.setUint32(at, lo, true);
  v.setUint32(at + 4, hi, true);
}

export function put32(m: TestMachine, at: number, value: number): void {
  new DataView(m.ram.buffer, m.ram.byteOffset).setUint32(at, value >>> 0, true);
}

export function get32(m: TestMachine, at: number): number {
  return new DataView(m.ram.buffer, m.ram.byteOffset).getUint32(at, true);
}

/** GDT (null, ring-0 code/data, busy TSS, ring-3 code/data), a TSS with SS0:ESP0, an empty IDT of 256 gates. */
export function protectedModeTables(m: TestMachine): void {
  put64(m, GDT + 0x08, segment(0, 0xffffffff, 0xb, 0));
  put64(m, GDT + 0x10, segment(0, 0xffffffff, 0x3, 0));
  put64(m, GDT + 0x18, system(TSS, 0x67, 0xb));
  put64(m, GDT + 0x20, segment(0, 0xffffffff, 0xb, 3));
  put64(m, GDT + 0x28, segment(0, 0xffffffff, 0x3, 3));
  put32(m, TSS + 4, ESP0);
  put32(m, TSS + 8, KDATA);
  put32(m, TSS + 0x64, 0x68 << 16); // I/O map base beyond the limit: no I/O permission bitmap
  const v = m.vmcs;
  v.write(F.GUEST_GDTR_BASE, GDT);
  v.write(F.GUEST_GDTR_LIMIT, 0x2f);
  v.write(F.GUEST_IDTR_BASE, IDT);
  v.write(F.GUEST_IDTR_LIMIT, 0x7ff);
  v.write(F.GUEST_TR_BASE, TSS);
  v.write(F.GUEST_TR_LIMIT, 0x67);
}

/** Set IDT entry `vector`. */
export function setGate(m: TestMachine, vector: number, g: [number, number]): void {
  put64(m, IDT + 8 * vector, g);
}

/** The four little-endian bytes of a 32-bit immediate or displacement. */
export const le32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
/** PUSH imm32 (68 id). */
export const push32 = (v: number) => [0x68, ...le32(v)];

/**
 * Code for ring 0 that enters ring 3 at `eip` with EFLAGS `flags` on the
 * ring-3 flat segments and stack ESP3: five PUSH imm32 and IRET (Vol. 2
 * IRET, return to an outer privilege level).
 */
export function iretToRing3(eip: number, flags = 2): number[] {
  return [UDATA, ESP3, flags, UCODE, eip].flatMap(push32).concat([0xcf]);
}
