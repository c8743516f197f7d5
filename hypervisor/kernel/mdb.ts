// Mapping database (NOVA specification §"Capability delegation" and
// §"revoke"). Every capability range a PD holds is a node; a node made by
// delegation is a child of the node it came from. Delegation can only keep
// or drop rights; revocation removes rights from a range and from everything
// derived from it, recursively.
import type { KObject } from "./capability.js";
import { Status } from "./status.js";

/** A space (object, memory or I/O of one PD) as the mapping database sees it:
 * naturally aligned, non-overlapping nodes. */
export interface Space {
  /** CRD type of the space (1 memory, 2 I/O, 3 object). */
  readonly type: number;
  /** Node holding `index`, or null. */
  find(index: number): MdbNode | null;
  /** Nodes overlapping [lo, hi), in ascending order. */
  overlapping(lo: number, hi: number): MdbNode[];
  /** Every node, in ascending order. */
  all(): MdbNode[];
  insert(node: MdbNode): void;
  remove(node: MdbNode): void;
  /** Node's rights shrank. */
  changed(node: MdbNode): void;
  /** Put two halves in place of `node`: same mappings, no side effects. */
  replace(node: MdbNode, lo: MdbNode, hi: MdbNode): void;
}

export class MdbNode {
  parent: MdbNode | null = null;
  readonly children: MdbNode[] = [];
  removed = false;

  constructor(
    readonly space: Space,
    readonly base: number,
    readonly order: number,
    public rights: number,
    /** Object capabilities: the object (nodes are then order 0). */
    readonly obj: KObject | null,
    /** Memory capabilities: host-physical frame of page `base`. */
    readonly frame: number,
    /** Index in the parent's space that `base` maps (== base for roots). */
    readonly srcBase: number,
  ) {}

  get end(): number {
    return this.base + 2 ** this.order;
  }
}

/** A node with no parent: what create_* and the boot-time grants make. */
export function insertRoot(space: Space, base: number, order: number, rights: number, obj: KObject | null, frame = 0) {
  const node = new MdbNode(space, base, order, rights, obj, frame, base);
  space.insert(node);
  return node;
}

/**
 * Delegate [base, base + 2^order) of `src` into `dst` at `dstBase`, each node
 * keeping only `mask` of its rights (dst = src AND requested). Holes in the
 * source are skipped; a node left with no rights is not delegated. If any
 * target slot is in use nothing is delegated and the result is BAD_CAP (a
 * non-null capability, as NOVA reports for an occupied selector).
 */
export function delegate(src: Space, base: number, order: number, mask: number, dst: Space, dstBase: number): Status {
  const hi = base + 2 ** order;
  const delta = dstBase - base;
  const plan: MdbNode[] = [];
  for (const n of src.overlapping(base, hi)) {
    if ((n.rights & mask) === 0) continue;
    const lo = Math.max(n.base, base);
    const end = Math.min(n.end, hi);
    if (dst.overlapping(lo + delta, end + delta).length > 0) return Status.BAD_CAP;
    plan.push(n);
  }
  for (const n of plan) {
    const lo = Math.max(n.base, base);
    const end = Math.min(n.end, hi);
    const ord = Math.log2(end - lo);
    const child = new MdbNode(dst, lo + delta, ord, n.rights & mask, n.obj, n.frame + (lo - n.base), lo);
    child.parent = n;
    n.children.push(child);
    dst.insert(child);
  }
  return Status.SUCCESS;
}

/**
 * Remove `mask` rights from everything derived from [base, base + 2^order)
 * of `space`, and from the range itself if `self`. Nodes left with no rights
 * disappear with their subtrees. A node larger than the range is split first
 * so that only the named part is affected.
 */
export function revoke(space: Space, base: number, order: number, mask: number, self: boolean): void {
  const hi = base + 2 ** order;
  for (const n of space.overlapping(base, hi)) isolate(n, base, hi);
  for (const n of space.overlapping(base, hi)) {
    if (n.removed) continue;
    if (self) demote(n, mask);
    else for (const c of n.children.slice()) demote(c, mask);
  }
}

/** Remove `node` and everything derived from it. */
export function removeSubtree(node: MdbNode): void {
  if (node.removed) return;
  for (const c of node.children.slice()) removeSubtree(c);
  detach(node);
}

function demote(node: MdbNode, mask: number): void {
  if (node.removed) return;
  for (const c of node.children.slice()) demote(c, mask);
  const left = node.rights & ~mask;
  if (left === node.rights) return;
  if (left === 0) {
    removeSubtree(node);
  } else {
    node.rights = left;
    node.space.changed(node);
  }
}

function detach(node: MdbNode): void {
  node.removed = true;
  const p = node.parent;
  if (p !== null) {
    const i = p.children.indexOf(node);
    if (i >= 0) p.children.splice(i, 1);
    node.parent = null;
  }
  node.space.remove(node);
}

/** Split `node` until no piece straddles [lo, hi). */
function isolate(node: MdbNode, lo: number, hi: number): void {
  if (node.removed || node.end <= lo || node.base >= hi) return;
  if (node.base >= lo && node.end <= hi) return;
  const [a, b] = split(node);
  isolate(a, lo, hi);
  isolate(b, lo, hi);
}

/**
 * Replace `node` by its two buddy halves, in its space and in the tree:
 * children covering the whole node are split alongside; smaller children move
 * under the half whose range they were delegated from.
 */
function split(node: MdbNode): [MdbNode, MdbNode] {
  for (const c of node.children.slice()) if (c.order === node.order) split(c);
  const half = 2 ** (node.order - 1);
  const frameHi = node.obj === null ? node.frame + half : 0;
  const a = new MdbNode(node.space, node.base, node.order - 1, node.rights, node.obj, node.frame, node.srcBase);
  const b = new MdbNode(
    node.space,
    node.base + half,
    node.order - 1,
    node.rights,
    node.obj,
    frameHi,
    node.srcBase + half,
  );
  const p = node.parent;
  if (p !== null) {
    p.children.splice(p.children.indexOf(node), 1, a, b);
    a.parent = p;
    b.parent = p;
  }
  for (const c of node.children) {
    const to = c.srcBase < b.base ? a : b;
    to.children.push(c);
    c.parent = to;
  }
  node.removed = true;
  node.space.replace(node, a, b);
  return [a, b];
}
