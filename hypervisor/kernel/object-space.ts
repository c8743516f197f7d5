// Object space of a PD (NOVA specification §"Object space"): selectors naming
// capabilities to PDs, ECs, SCs, PTs and SMs. Each object capability is an
// order-0 node, so the space is a map from selector to node; inserting and
// removing a capability counts a reference on its object.
import type { KObject } from "./capability.js";
import { CrdType } from "./crd.js";
import type { MdbNode, Space } from "./mdb.js";

export class ObjectSpace implements Space {
  readonly type = CrdType.OBJ;
  private readonly map = new Map<number, MdbNode>();

  /** `released` runs when an object loses its last reference. */
  constructor(private readonly released: (obj: KObject) => void) {}

  find(index: number): MdbNode | null {
    return this.map.get(index) ?? null;
  }

  /** Object and permissions at `sel`, or null for a null capability. */
  lookup(sel: number): MdbNode | null {
    return this.map.get(sel) ?? null;
  }

  overlapping(lo: number, hi: number): MdbNode[] {
    const out: MdbNode[] = [];
    if (hi - lo <= this.map.size) {
      for (let i = lo; i < hi; i++) {
        const n = this.map.get(i);
        if (n !== undefined) out.push(n);
      }
      return out;
    }
    for (const n of this.map.values()) if (n.base >= lo && n.base < hi) out.push(n);
    return out.sort((a, b) => a.base - b.base);
  }

  all(): MdbNode[] {
    return [...this.map.values()].sort((a, b) => a.base - b.base);
  }

  insert(node: MdbNode): void {
    this.map.set(node.base, node);
    if (node.obj !== null) node.obj.refs++;
  }

  remove(node: MdbNode): void {
    if (this.map.get(node.base) === node) this.map.delete(node.base);
    const obj = node.obj;
    if (obj !== null && --obj.refs === 0) this.released(obj);
  }

  changed(_node: MdbNode): void {}

  replace(_node: MdbNode, _lo: MdbNode, _hi: MdbNode): void {
    throw new Error("ObjectSpace.replace: object capabilities are single selectors and never split");
  }
}
