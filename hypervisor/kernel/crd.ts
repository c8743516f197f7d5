// Capability range descriptor (NOVA specification §"Capability range
// descriptor"): one word naming 2^order naturally aligned capabilities of one
// kind. IA-32 layout: type [1:0], rights [6:2], order [11:7], base [31:12].

export const CrdType = { NULL: 0, MEM: 1, PIO: 2, OBJ: 3 } as const;
export type CrdType = (typeof CrdType)[keyof typeof CrdType];

export interface Crd {
  type: CrdType;
  /** First selector / page number / port. */
  base: number;
  /** The range holds 2^order entries. */
  order: number;
  /** Permission bits (5 at most); meaning depends on type and object. */
  rights: number;
}

/** log2 of each space's size: 2^20 object selectors and 4 KiB pages (the
 * 20-bit CRD base on IA-32), 2^16 I/O ports. */
export const SPACE_ORDER: Readonly<Record<CrdType, number>> = { 0: 0, 1: 20, 2: 16, 3: 20 };

export const NULL_CRD: Readonly<Crd> = Object.freeze({ type: CrdType.NULL, base: 0, order: 0, rights: 0 });

export function objCrd(base: number, order: number, rights: number): Crd {
  return { type: CrdType.OBJ, base, order, rights };
}
export function memCrd(base: number, order: number, rights: number): Crd {
  return { type: CrdType.MEM, base, order, rights };
}
export function pioCrd(base: number, order: number, rights = 1): Crd {
  return { type: CrdType.PIO, base, order, rights };
}

export function encodeCrd(c: Crd): number {
  return ((c.type & 3) | ((c.rights & 0x1f) << 2) | ((c.order & 0x1f) << 7) | ((c.base & 0xfffff) << 12)) >>> 0;
}

export function decodeCrd(word: number): Crd {
  const w = word >>> 0;
  return { type: (w & 3) as CrdType, rights: (w >>> 2) & 0x1f, order: (w >>> 7) & 0x1f, base: w >>> 12 };
}

/**
 * True if the CRD names a range inside its space: integer fields, rights
 * within 5 bits, base naturally aligned to the order, and the range ending at
 * or below the space's size. A null CRD always fits (it names nothing).
 */
export function crdFits(c: Crd): boolean {
  if (c.type === CrdType.NULL) return true;
  const top = SPACE_ORDER[c.type];
  if (top === undefined || !isUint(c.base) || !isUint(c.order) || !isUint(c.rights)) return false;
  if (c.order > top || c.rights > 0x1f) return false;
  const size = 2 ** c.order;
  return c.base % size === 0 && c.base + size <= 2 ** top;
}

function isUint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}
