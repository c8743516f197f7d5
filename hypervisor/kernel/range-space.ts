// A space of naturally aligned ranges kept sorted by base, for memory and I/O
// capabilities, whose delegations cover many pages or ports at once (NOVA
// keeps such ranges as single mapping-database nodes too). Lookup is a binary
// search and allocates nothing.
import type { MdbNode, Space } from "./mdb.js";

export class RangeSpace implements Space {
  protected readonly nodes: MdbNode[] = [];

  constructor(readonly type: number) {}

  find(index: number): MdbNode | null {
    const i = this.lastAtOrBelow(index);
    if (i < 0) return null;
    const n = this.nodes[i];
    return index < n.end ? n : null;
  }

  overlapping(lo: number, hi: number): MdbNode[] {
    const out: MdbNode[] = [];
    let i = this.lastAtOrBelow(lo);
    if (i < 0 || this.nodes[i].end <= lo) i++;
    for (; i < this.nodes.length && this.nodes[i].base < hi; i++) out.push(this.nodes[i]);
    return out;
  }

  all(): MdbNode[] {
    return this.nodes.slice();
  }

  insert(node: MdbNode): void {
    this.nodes.splice(this.lastAtOrBelow(node.base) + 1, 0, node);
    this.mapped(node);
  }

  remove(node: MdbNode): void {
    const i = this.lastAtOrBelow(node.base);
    if (i >= 0 && this.nodes[i] === node) this.nodes.splice(i, 1);
    this.unmapped(node);
  }

  changed(node: MdbNode): void {
    this.mapped(node);
  }

  replace(node: MdbNode, lo: MdbNode, hi: MdbNode): void {
    const i = this.lastAtOrBelow(node.base);
    if (i >= 0 && this.nodes[i] === node) this.nodes.splice(i, 1, lo, hi);
  }

  /** Hooks for subclasses: a range was mapped (or its rights changed) / unmapped. */
  protected mapped(_node: MdbNode): void {}
  protected unmapped(_node: MdbNode): void {}

  /** Index of the last node with base <= index, or -1. */
  private lastAtOrBelow(index: number): number {
    let lo = 0;
    let hi = this.nodes.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.nodes[mid].base <= index) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }
}
