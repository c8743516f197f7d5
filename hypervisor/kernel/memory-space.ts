// Memory space of a PD (NOVA specification §"Memory space"): which 4 KiB
// pages the PD may access, each backed by a host-physical frame with R/W/X
// rights. A moat memory capability names a page range of a memory object
// (the root task places each object at a host-physical address, then the
// kernel grants the pages to the root PD). For a VM's PD the pages are
// guest-physical and the EPT follows this space (DESIGN.md §4).
import { CrdType } from "./crd.js";
import type { MdbNode } from "./mdb.js";
import { RangeSpace } from "./range-space.js";

export const PAGE_SHIFT = 12;

/** Told about every change: the EPT and TLB of a VM must follow it. */
export type MemoryListener = (base: number, order: number, frame: number, rights: number) => void;

export class MemorySpace extends RangeSpace {
  /** Set by the kernel: called with rights 0 when a range is unmapped. */
  listener: MemoryListener | null = null;

  constructor() {
    super(CrdType.MEM);
  }

  /** Host-physical frame backing `page`, or -1 if unmapped. */
  frameOf(page: number): number {
    const n = this.find(page);
    return n === null ? -1 : n.frame + (page - n.base);
  }

  /** Rights on `page` (0 if unmapped). */
  rightsOf(page: number): number {
    const n = this.find(page);
    return n === null ? 0 : n.rights;
  }

  protected override mapped(n: MdbNode): void {
    this.listener?.(n.base, n.order, n.frame, n.rights);
  }

  protected override unmapped(n: MdbNode): void {
    this.listener?.(n.base, n.order, n.frame, 0);
  }
}
