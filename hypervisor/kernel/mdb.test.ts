// Oracle: NOVA specification, §"Capability delegation" (a delegated
// capability carries the source's permissions ANDed with the CRD's; I/O
// ports keep their numbers) and §"revoke" (revocation removes the CRD's
// permissions from every capability derived from the range, recursively,
// and from the range itself only with the self flag; a capability left with
// no permissions is gone).
import { describe, expect, it } from "vitest";
import { MemRights, OBJ_RIGHTS_ALL, PioRights, SmPerm } from "./capability.js";
import { CrdType, memCrd, objCrd, pioCrd } from "./crd.js";
import { Kernel, ROOT_PD_SEL } from "./hypercalls.js";
import type { Pd } from "./pd.js";
import { Sm } from "./sm.js";
import { Status } from "./status.js";

function setup() {
  const k = new Kernel();
  const root = k.rootEc;
  const pd = (sel: number): Pd => {
    expect(k.createPd(root, sel, ROOT_PD_SEL)).toBe(Status.SUCCESS);
    return k.objectAt(k.rootPd, sel) as Pd;
  };
  return { k, root, pd };
}

describe("delegation", () => {
  it("gives the receiver the source rights ANDed with the CRD rights", () => {
    const { k, root, pd } = setup();
    const a = pd(10);
    expect(k.createSm(root, 300, ROOT_PD_SEL)).toBe(Status.SUCCESS);
    expect(k.delegate(k.rootPd, objCrd(300, 0, SmPerm.UP | 0x8), a, 7)).toBe(Status.SUCCESS);
    expect(k.rightsAt(a, 7)).toBe(SmPerm.UP | 0x8);
    // A delegates on asking for everything: it cannot gain DOWN back.
    const b = pd(11);
    expect(k.delegate(a, objCrd(7, 0, OBJ_RIGHTS_ALL), b, 9)).toBe(Status.SUCCESS);
    expect(k.rightsAt(b, 9)).toBe(SmPerm.UP | 0x8);
    expect(k.objectAt(b, 9)).toBe(k.objectAt(k.rootPd, 300));
  });

  it("delegates nothing for a capability whose rights AND to zero", () => {
    const { k, root, pd } = setup();
    const a = pd(10);
    k.createSm(root, 300, ROOT_PD_SEL);
    const b = pd(11);
    k.delegate(k.rootPd, objCrd(300, 0, SmPerm.UP), a, 300);
    expect(k.delegate(a, objCrd(300, 0, SmPerm.DOWN), b, 300)).toBe(Status.SUCCESS);
    expect(k.objectAt(b, 300)).toBeNull();
  });

  it("places a range at the hotspot and skips holes in the source", () => {
    const { k, root, pd } = setup();
    const a = pd(10);
    k.createSm(root, 0x200, ROOT_PD_SEL);
    k.createSm(root, 0x203, ROOT_PD_SEL);
    expect(k.delegate(k.rootPd, objCrd(0x200, 2, OBJ_RIGHTS_ALL), a, 0x40)).toBe(Status.SUCCESS);
    expect(k.objectAt(a, 0x40)).toBe(k.objectAt(k.rootPd, 0x200));
    expect(k.objectAt(a, 0x41)).toBeNull();
    expect(k.objectAt(a, 0x43)).toBe(k.objectAt(k.rootPd, 0x203));
  });

  it("refuses an occupied target (BAD_CAP) and a misaligned hotspot (BAD_PAR), delegating nothing", () => {
    const { k, root, pd } = setup();
    const a = pd(10);
    k.createSm(root, 0x200, ROOT_PD_SEL);
    k.createSm(root, 0x201, ROOT_PD_SEL);
    k.delegate(k.rootPd, objCrd(0x201, 0, 1), a, 0x41);
    expect(k.delegate(k.rootPd, objCrd(0x200, 1, OBJ_RIGHTS_ALL), a, 0x40)).toBe(Status.BAD_CAP);
    expect(k.objectAt(a, 0x40)).toBeNull();
    expect(k.delegate(k.rootPd, objCrd(0x200, 1, OBJ_RIGHTS_ALL), a, 0x41)).toBe(Status.BAD_PAR);
    expect(k.delegate(k.rootPd, objCrd(0x201, 1, OBJ_RIGHTS_ALL), a, 0x50)).toBe(Status.BAD_PAR);
  });

  it("maps memory pages to the source's host frames, with reduced rights", () => {
    const { k, pd } = setup();
    const vm = pd(10);
    expect(k.grantMemory(0x10_0000, 16, 0x40)).toBe(Status.SUCCESS);
    expect(k.delegate(k.rootPd, memCrd(0x48, 3, MemRights.RW), vm, 0)).toBe(Status.SUCCESS);
    // page 0 of the VM is root page 0x48 = host 0x100000 + 8 pages
    expect(vm.mem.frameOf(0)).toBe(0x100 + 8);
    expect(vm.mem.frameOf(7)).toBe(0x100 + 15);
    expect(vm.mem.frameOf(8)).toBe(-1);
    expect(vm.mem.rightsOf(3)).toBe(MemRights.RW);
  });

  it("keeps I/O port numbers whatever the hotspot", () => {
    const { k, pd } = setup();
    const vmm = pd(10);
    expect(k.delegate(k.rootPd, pioCrd(0x3f8, 3), vmm, 0)).toBe(Status.SUCCESS);
    expect(vmm.pio.allowed(0x3f8)).toBe(true);
    expect(vmm.pio.allowed(0x3ff)).toBe(true);
    expect(vmm.pio.allowed(0x400)).toBe(false);
    expect(vmm.pio.allowed(0)).toBe(false);
    expect(k.rootPd.pio.allowed(0xffff)).toBe(true);
    expect(PioRights.A).toBe(1);
  });
});

describe("revoke through the mapping database", () => {
  /** root SM at 300 -> A at 10 -> B at 20 (grandchild); root -> D at 40 (sibling of A). */
  function chain() {
    const s = setup();
    const { k, root, pd } = s;
    const a = pd(100);
    const b = pd(101);
    const d = pd(102);
    k.createSm(root, 300, ROOT_PD_SEL);
    k.createEc(root, 500, 100, { kind: "global", cpu: 0, evt: 0 });
    k.delegate(k.rootPd, objCrd(300, 0, OBJ_RIGHTS_ALL), a, 10);
    k.delegate(a, objCrd(10, 0, OBJ_RIGHTS_ALL), b, 20);
    k.delegate(k.rootPd, objCrd(300, 0, OBJ_RIGHTS_ALL), d, 40);
    return { ...s, a, b, d, ecA: k.objectAt(k.rootPd, 500) as import("./ec.js").Ec };
  }

  it("removes grandchild mappings and keeps the caller's own without self", () => {
    const { k, root, a, b, d } = chain();
    expect(k.revoke(root, objCrd(300, 0, OBJ_RIGHTS_ALL), false)).toBe(Status.SUCCESS);
    expect(k.objectAt(a, 10)).toBeNull();
    expect(k.objectAt(b, 20)).toBeNull();
    expect(k.objectAt(d, 40)).toBeNull();
    expect(k.objectAt(k.rootPd, 300)).toBeInstanceOf(Sm);
  });

  it("revoking in a child leaves the child's siblings and its own capability alone", () => {
    const { k, a, b, d, ecA } = chain();
    expect(k.revoke(ecA, objCrd(10, 0, OBJ_RIGHTS_ALL), false)).toBe(Status.SUCCESS);
    expect(k.objectAt(b, 20)).toBeNull();
    expect(k.objectAt(a, 10)).toBeInstanceOf(Sm);
    expect(k.objectAt(d, 40)).toBeInstanceOf(Sm);
  });

  it("with self also removes the caller's own capability", () => {
    const { k, a, b, d, ecA } = chain();
    expect(k.revoke(ecA, objCrd(10, 0, OBJ_RIGHTS_ALL), true)).toBe(Status.SUCCESS);
    expect(k.objectAt(a, 10)).toBeNull();
    expect(k.objectAt(b, 20)).toBeNull();
    expect(k.objectAt(d, 40)).toBeInstanceOf(Sm);
  });

  it("removes only the CRD's rights, recursively", () => {
    const { k, root, a, b } = chain();
    expect(k.revoke(root, objCrd(300, 0, SmPerm.DOWN), false)).toBe(Status.SUCCESS);
    expect(k.rightsAt(a, 10)).toBe(OBJ_RIGHTS_ALL & ~SmPerm.DOWN);
    expect(k.rightsAt(b, 20)).toBe(OBJ_RIGHTS_ALL & ~SmPerm.DOWN);
    expect(k.rightsAt(k.rootPd, 300)).toBe(OBJ_RIGHTS_ALL);
  });

  it("revokes part of a delegated memory range, leaving the rest and unrelated grandchildren", () => {
    const { k, root, pd } = setup();
    const vm = pd(10);
    const other = pd(11);
    k.createEc(root, 500, 10, { kind: "global", cpu: 0, evt: 0 });
    const ecVm = k.objectAt(k.rootPd, 500) as import("./ec.js").Ec;
    k.grantMemory(0x20_0000, 16, 0);
    k.delegate(k.rootPd, memCrd(0, 4, MemRights.RWX), vm, 0x100);
    expect(k.delegate(vm, memCrd(0x104, 2, MemRights.RW), other, 0x800)).toBe(Status.SUCCESS);
    // Root takes back its pages 0-1: the VM loses 0x100-0x101 only.
    expect(k.revoke(root, memCrd(0, 1, MemRights.RWX), false)).toBe(Status.SUCCESS);
    expect(vm.mem.frameOf(0x100)).toBe(-1);
    expect(vm.mem.frameOf(0x101)).toBe(-1);
    expect(vm.mem.frameOf(0x102)).toBe(0x202);
    expect(vm.mem.frameOf(0x10f)).toBe(0x20f);
    expect(other.mem.frameOf(0x800)).toBe(0x204);
    expect(k.lookup(ecVm, memCrd(0x102, 0, 0)).crd).toEqual({ type: CrdType.MEM, base: 0x102, order: 1, rights: 7 });
    // Root takes back pages 4-7: the VM's grandchild mapping goes with them.
    k.revoke(root, memCrd(4, 2, MemRights.RWX), false);
    expect(vm.mem.frameOf(0x104)).toBe(-1);
    expect(other.mem.frameOf(0x800)).toBe(-1);
    expect(vm.mem.frameOf(0x108)).toBe(0x208);
    expect(k.rootPd.mem.frameOf(4)).toBe(0x204);
  });

  it("removing write from a memory range downgrades derived mappings and reports it", () => {
    const seen: [number, number, number][] = [];
    const k = new Kernel({ events: { memory: (_pd, base, order, _f, rights) => seen.push([base, order, rights]) } });
    k.createPd(k.rootEc, 10, ROOT_PD_SEL);
    const vm = k.objectAt(k.rootPd, 10) as Pd;
    k.grantMemory(0, 4, 0);
    k.delegate(k.rootPd, memCrd(0, 2, MemRights.RWX), vm, 0);
    seen.length = 0;
    k.revoke(k.rootEc, memCrd(0, 2, MemRights.W), false);
    expect(vm.mem.rightsOf(1)).toBe(MemRights.R | MemRights.X);
    expect(seen).toContainEqual([0, 2, MemRights.R | MemRights.X]);
  });
});
