// The root task's VM construction sequence (DESIGN.md §2-3), done with the
// hypercalls alone. Oracle: NOVA specification, §"Execution context" (a
// vCPU sends the VM exit with reason R to the portal at event base + R in its
// own PD), §"Portal" (the portal fixes EC, MTD and entry) and §"Capability
// delegation" (portals reach the VM PD by delegation).
import { describe, expect, it } from "vitest";
import { Mtd } from "../../proto/mtd.js";
import { ExitReason } from "../vmx/exit-reason.js";
import { Vmcs } from "../vmx/vmcs.js";
import { MemRights, PtPerm } from "./capability.js";
import { memCrd, objCrd, pioCrd } from "./crd.js";
import type { Ec } from "./ec.js";
import { Kernel, ROOT_PD_SEL } from "./hypercalls.js";
import type { Pd } from "./pd.js";
import { Pt } from "./pt.js";
import type { Sc } from "./sc.js";
import { Status } from "./status.js";

// Selectors in the root PD.
const VM_PD = 0x100;
const VMM_PD = 0x101;
const VCPU = 0x102;
const HANDLER = 0x103;
const VCPU_SC = 0x104;
const PT_BASE = 0x200; // root's own copy of the portal for reason R is at PT_BASE + R
// Event base of the vCPU in the VM PD.
const EVT = 0x1000;

const PORTALS: [number, number][] = [
  [ExitReason.CPUID, Mtd.GPR_ACDB | Mtd.RIP_LEN],
  [ExitReason.HLT, Mtd.RIP_LEN | Mtd.STA],
  [ExitReason.IO_INSTRUCTION, Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.QUAL],
  [ExitReason.EPT_VIOLATION, Mtd.GPR_ACDB | Mtd.GPR_BSD | Mtd.RIP_LEN | Mtd.QUAL | Mtd.CR],
  [ExitReason.STARTUP, Mtd.RIP_LEN | Mtd.CS_SS],
  [ExitReason.RECALL, Mtd.RIP_LEN | Mtd.INJ | Mtd.STA | Mtd.RFLAGS],
];

function buildVm() {
  const k = new Kernel();
  const r = k.rootEc;
  expect(k.createPd(r, VM_PD, ROOT_PD_SEL, undefined, "vm0")).toBe(Status.SUCCESS);
  expect(k.createPd(r, VMM_PD, ROOT_PD_SEL, undefined, "vmm0")).toBe(Status.SUCCESS);
  expect(k.createEc(r, VCPU, VM_PD, { kind: "vcpu", cpu: 0, evt: EVT })).toBe(Status.SUCCESS);
  expect(k.createEc(r, HANDLER, VMM_PD, { kind: "local", cpu: 0, evt: 0, utcb: 0x1000 })).toBe(Status.SUCCESS);
  const vmPd = k.objectAt(k.rootPd, VM_PD) as Pd;
  for (const [reason, mtd] of PORTALS) {
    expect(k.createPt(r, PT_BASE + reason, VMM_PD, HANDLER, mtd, 0x10_0000 + reason)).toBe(Status.SUCCESS);
    expect(k.ptCtrl(r, PT_BASE + reason, reason)).toBe(Status.SUCCESS);
    const crd = objCrd(PT_BASE + reason, 0, PtPerm.CALL);
    expect(k.delegate(k.rootPd, crd, vmPd, EVT + reason)).toBe(Status.SUCCESS);
  }
  expect(k.createSc(r, VCPU_SC, VM_PD, VCPU, { priority: 10, quantum: 10_000 })).toBe(Status.SUCCESS);
  return {
    k,
    vmPd,
    vmmPd: k.objectAt(k.rootPd, VMM_PD) as Pd,
    vcpu: k.objectAt(k.rootPd, VCPU) as Ec,
    handler: k.objectAt(k.rootPd, HANDLER) as Ec,
  };
}

describe("root task builds a VM", () => {
  it("lookup of evt + reason in the VM PD finds the portal with its MTD", () => {
    const { k, vmPd, vcpu, handler } = buildVm();
    for (const [reason, mtd] of PORTALS) {
      const pt = k.objectAt(vmPd, EVT + reason);
      expect(pt).toBeInstanceOf(Pt);
      expect((pt as Pt).mtd).toBe(mtd);
      expect((pt as Pt).ec).toBe(handler);
      expect((pt as Pt).id).toBe(reason);
      expect(k.rightsAt(vmPd, EVT + reason)).toBe(PtPerm.CALL);
      expect(k.portalFor(vcpu, reason)).toBe(pt);
    }
  });

  it("the vCPU lives in the VM PD with a VMCS, the handler in the VMM PD, the SC on the vCPU", () => {
    const { k, vmPd, vmmPd, vcpu, handler } = buildVm();
    expect(vcpu.pd).toBe(vmPd);
    expect(vcpu.vmcs).toBeInstanceOf(Vmcs);
    expect(handler.pd).toBe(vmmPd);
    const sc = k.objectAt(k.rootPd, VCPU_SC) as Sc;
    expect(sc.ec).toBe(vcpu);
    expect(vcpu.scs).toEqual([sc]);
  });

  it("portalFor gives null for a reason without a portal (the VM dies, not the hypervisor)", () => {
    const { k, vcpu } = buildVm();
    expect(k.portalFor(vcpu, ExitReason.RDMSR)).toBeNull();
    expect(k.portalFor(vcpu, 2 ** 21)).toBeNull();
  });

  it("portalFor gives null once the handler is killed or the portal revoked", () => {
    const a = buildVm();
    a.k.kill(a.handler);
    expect(a.k.portalFor(a.vcpu, ExitReason.CPUID)).toBeNull();
    const b = buildVm();
    expect(b.k.revoke(b.k.rootEc, objCrd(PT_BASE + ExitReason.HLT, 0, 0x1f), false)).toBe(Status.SUCCESS);
    expect(b.k.portalFor(b.vcpu, ExitReason.HLT)).toBeNull();
    expect(b.k.portalFor(b.vcpu, ExitReason.CPUID)).not.toBeNull();
  });

  it("guest RAM goes to both PDs, the VM's at guest-physical 0, and ports to the VMM", () => {
    const { k, vmPd, vmmPd } = buildVm();
    expect(k.grantMemory(0x800_0000, 256, 0x40000)).toBe(Status.SUCCESS);
    expect(k.delegate(k.rootPd, memCrd(0x40000, 8, MemRights.RWX), vmPd, 0)).toBe(Status.SUCCESS);
    expect(k.delegate(k.rootPd, memCrd(0x40000, 8, MemRights.RW), vmmPd, 0x80000)).toBe(Status.SUCCESS);
    expect(k.delegate(k.rootPd, pioCrd(0x3f8, 3), vmmPd, 0)).toBe(Status.SUCCESS);
    expect(vmPd.mem.frameOf(0xff)).toBe(0x80ff);
    expect(vmmPd.mem.frameOf(0x80000)).toBe(0x8000);
    expect(vmmPd.mem.rightsOf(0x80000)).toBe(MemRights.RW);
    expect(vmmPd.pio.allowed(0x3f8)).toBe(true);
    expect(vmPd.pio.allowed(0x3f8)).toBe(false);
  });

  it("revoking the VM PD's memory and portals from the root empties the VM PD", () => {
    const { k, vmPd, vcpu } = buildVm();
    k.grantMemory(0x800_0000, 16, 0x40000);
    k.delegate(k.rootPd, memCrd(0x40000, 4, MemRights.RWX), vmPd, 0);
    k.revoke(k.rootEc, memCrd(0x40000, 4, MemRights.RWX), false);
    k.revoke(k.rootEc, objCrd(PT_BASE, 8, 0x1f), false);
    expect(vmPd.mem.all()).toEqual([]);
    for (const [reason] of PORTALS) expect(k.portalFor(vcpu, reason)).toBeNull();
  });
});
