// Oracle: NOVA specification, §"Hypercalls" (create_pd, create_ec,
// create_sc, create_pt, create_sm, revoke, lookup, ec_ctrl, sc_ctrl,
// pt_ctrl, assign_pci, assign_gsi) and §"Capabilities" (permission bits per
// object type). Check order and codes as the classic kernel applies them:
// a missing or wrong capability is BAD_CAP, including an occupied
// destination selector ("non-null capability"); bad CPU BAD_CPU before any
// capability check; vCPU without VMX BAD_FTR; malformed values BAD_PAR.
import { describe, expect, it } from "vitest";
import { Vmcs } from "../vmx/vmcs.js";
import { EcPerm, OBJ_RIGHTS_ALL, PdPerm, PtPerm, ScPerm } from "./capability.js";
import { CrdType, memCrd, NULL_CRD, objCrd } from "./crd.js";
import type { Ec } from "./ec.js";
import { Kernel, ROOT_EC_SEL, ROOT_PD_SEL, ROOT_SC_SEL, SmOp, USER_ADDR } from "./hypercalls.js";
import { Pd } from "./pd.js";
import type { Pt } from "./pt.js";
import type { Sc } from "./sc.js";
import type { Sm } from "./sm.js";
import { Status } from "./status.js";

const S = Status;

/** Root keeps a copy of one of its capabilities at `sel` with only `rights`. */
function weaken(k: Kernel, from: number, sel: number, rights: number) {
  expect(k.delegate(k.rootPd, objCrd(from, 0, rights), k.rootPd, sel)).toBe(S.SUCCESS);
}

/** An EC of the root PD that is blocked (on an SM with count 0). */
function blockedEc(k: Kernel): Ec {
  k.createSm(k.rootEc, 900, ROOT_PD_SEL);
  k.createEc(k.rootEc, 901, ROOT_PD_SEL, { kind: "global", cpu: 0, evt: 0 });
  const ec = k.objectAt(k.rootPd, 901) as Ec;
  k.smCtrl(ec, 900, SmOp.DOWN);
  expect(ec.state).toBe("blocked");
  return ec;
}

describe("boot state", () => {
  it("gives the root task its PD, EC and SC after the exception selectors, with all rights", () => {
    const k = new Kernel();
    expect(k.objectAt(k.rootPd, ROOT_PD_SEL)).toBe(k.rootPd);
    expect(k.objectAt(k.rootPd, ROOT_EC_SEL)).toBe(k.rootEc);
    expect(k.objectAt(k.rootPd, ROOT_SC_SEL)).toBe(k.rootSc);
    expect(k.rightsAt(k.rootPd, ROOT_PD_SEL)).toBe(OBJ_RIGHTS_ALL);
  });
});

describe("create_pd", () => {
  it("creates a PD whose capability carries the permissions of the PD capability used", () => {
    const k = new Kernel();
    expect(k.createPd(k.rootEc, 100, ROOT_PD_SEL)).toBe(S.SUCCESS);
    expect(k.objectAt(k.rootPd, 100)).toBeInstanceOf(Pd);
    expect(k.rightsAt(k.rootPd, 100)).toBe(OBJ_RIGHTS_ALL);
    weaken(k, ROOT_PD_SEL, 200, PdPerm.PD | PdPerm.SM);
    expect(k.createPd(k.rootEc, 101, 200)).toBe(S.SUCCESS);
    expect(k.rightsAt(k.rootPd, 101)).toBe(PdPerm.PD | PdPerm.SM);
  });

  it("delegates the object capabilities of the CRD to the same selectors in the new PD", () => {
    const k = new Kernel();
    k.createSm(k.rootEc, 300, ROOT_PD_SEL);
    expect(k.createPd(k.rootEc, 100, ROOT_PD_SEL, objCrd(300, 0, 1))).toBe(S.SUCCESS);
    const pd = k.objectAt(k.rootPd, 100) as Pd;
    expect(k.objectAt(pd, 300)).toBe(k.objectAt(k.rootPd, 300));
    expect(k.rightsAt(pd, 300)).toBe(1);
  });

  it("ignores a non-object CRD for the initial delegation", () => {
    const k = new Kernel();
    k.grantMemory(0, 1, 0);
    expect(k.createPd(k.rootEc, 100, ROOT_PD_SEL, memCrd(0, 0, 7))).toBe(S.SUCCESS);
    expect((k.objectAt(k.rootPd, 100) as Pd).mem.frameOf(0)).toBe(-1);
  });

  it("BAD_CAP: PD selector empty, not a PD, or without the create-PD permission", () => {
    const k = new Kernel();
    expect(k.createPd(k.rootEc, 100, 777)).toBe(S.BAD_CAP);
    expect(k.createPd(k.rootEc, 100, ROOT_EC_SEL)).toBe(S.BAD_CAP);
    weaken(k, ROOT_PD_SEL, 200, OBJ_RIGHTS_ALL & ~PdPerm.PD);
    expect(k.createPd(k.rootEc, 100, 200)).toBe(S.BAD_CAP);
  });

  it("BAD_CAP: destination selector in use or outside the object space", () => {
    const k = new Kernel();
    expect(k.createPd(k.rootEc, ROOT_SC_SEL, ROOT_PD_SEL)).toBe(S.BAD_CAP);
    expect(k.createPd(k.rootEc, 2 ** 20, ROOT_PD_SEL)).toBe(S.BAD_CAP);
    expect(k.createPd(k.rootEc, -1, ROOT_PD_SEL)).toBe(S.BAD_CAP);
  });

  it("BAD_PAR: CRD misaligned or beyond the object space", () => {
    const k = new Kernel();
    expect(k.createPd(k.rootEc, 100, ROOT_PD_SEL, objCrd(3, 1, 1))).toBe(S.BAD_PAR);
    expect(k.createPd(k.rootEc, 100, ROOT_PD_SEL, objCrd(0, 21, 1))).toBe(S.BAD_PAR);
    expect(k.objectAt(k.rootPd, 100)).toBeNull();
  });

  it("BAD_HYP: the calling EC is blocked", () => {
    const k = new Kernel();
    expect(k.createPd(blockedEc(k), 100, ROOT_PD_SEL)).toBe(S.BAD_HYP);
  });
});

describe("create_ec", () => {
  it("creates local and global ECs and a vCPU with its own VMCS and event base", () => {
    const k = new Kernel();
    const r = k.rootEc;
    expect(k.createEc(r, 100, ROOT_PD_SEL, { kind: "local", cpu: 0, evt: 0, utcb: 0x1000, sp: 0x8000 })).toBe(
      S.SUCCESS,
    );
    expect(k.createEc(r, 101, ROOT_PD_SEL, { kind: "global", cpu: 0, evt: 0x20, utcb: 0x2000 })).toBe(S.SUCCESS);
    expect(k.createEc(r, 102, ROOT_PD_SEL, { kind: "vcpu", cpu: 0, evt: 0x400 })).toBe(S.SUCCESS);
    const local = k.objectAt(k.rootPd, 100) as Ec;
    const vcpu = k.objectAt(k.rootPd, 102) as Ec;
    expect(local.kind).toBe("local");
    expect(local.global).toBe(false);
    expect(local.vmcs).toBeNull();
    expect(local.sp).toBe(0x8000);
    expect(vcpu.vmcs).toBeInstanceOf(Vmcs);
    expect(vcpu.evt).toBe(0x400);
    expect(vcpu.pd).toBe(k.rootPd);
    expect(vcpu.global).toBe(true);
  });

  it("BAD_CPU: CPU not present, checked before the capabilities", () => {
    const k = new Kernel({ cpus: 2 });
    expect(k.createEc(k.rootEc, 100, ROOT_PD_SEL, { kind: "global", cpu: 1, evt: 0 })).toBe(S.SUCCESS);
    expect(k.createEc(k.rootEc, 101, ROOT_PD_SEL, { kind: "global", cpu: 2, evt: 0 })).toBe(S.BAD_CPU);
    expect(k.createEc(k.rootEc, 101, 777, { kind: "global", cpu: -1, evt: 0 })).toBe(S.BAD_CPU);
  });

  it("BAD_FTR: a vCPU on a processor without VMX", () => {
    const k = new Kernel({ vmx: false });
    expect(k.createEc(k.rootEc, 100, ROOT_PD_SEL, { kind: "vcpu", cpu: 0, evt: 0 })).toBe(S.BAD_FTR);
    expect(k.createEc(k.rootEc, 100, ROOT_PD_SEL, { kind: "global", cpu: 0, evt: 0 })).toBe(S.SUCCESS);
  });

  it("BAD_CAP: PD capability missing or without create-EC permission, or selector in use", () => {
    const k = new Kernel();
    const a = { kind: "global" as const, cpu: 0, evt: 0 };
    expect(k.createEc(k.rootEc, 100, 777, a)).toBe(S.BAD_CAP);
    weaken(k, ROOT_PD_SEL, 200, OBJ_RIGHTS_ALL & ~PdPerm.EC);
    expect(k.createEc(k.rootEc, 100, 200, a)).toBe(S.BAD_CAP);
    expect(k.createEc(k.rootEc, ROOT_EC_SEL, ROOT_PD_SEL, a)).toBe(S.BAD_CAP);
  });

  it("BAD_PAR: UTCB misaligned, above user space or already used in that PD; event base out of range", () => {
    const k = new Kernel();
    const ec = (sel: number, utcb: number, evt = 0) =>
      k.createEc(k.rootEc, sel, ROOT_PD_SEL, { kind: "local", cpu: 0, evt, utcb });
    expect(ec(100, 0x1234)).toBe(S.BAD_PAR);
    expect(ec(100, USER_ADDR)).toBe(S.BAD_PAR);
    expect(ec(100, 0x3000)).toBe(S.SUCCESS);
    expect(ec(101, 0x3000)).toBe(S.BAD_PAR);
    expect(ec(101, 0x4000, 2 ** 20)).toBe(S.BAD_PAR);
    expect(k.createEc(k.rootEc, 101, ROOT_PD_SEL, { kind: "bogus" as "local", cpu: 0, evt: 0 })).toBe(S.BAD_PAR);
  });

  it("BAD_HYP: the calling EC is blocked", () => {
    const k = new Kernel();
    expect(k.createEc(blockedEc(k), 100, ROOT_PD_SEL, { kind: "global", cpu: 0, evt: 0 })).toBe(S.BAD_HYP);
  });
});

describe("create_sc", () => {
  function withEcs() {
    const calls: Sc[] = [];
    const k = new Kernel({ events: { scCreated: (sc) => calls.push(sc) } });
    k.createEc(k.rootEc, 100, ROOT_PD_SEL, { kind: "global", cpu: 0, evt: 0 });
    k.createEc(k.rootEc, 101, ROOT_PD_SEL, { kind: "local", cpu: 0, evt: 0 });
    k.createEc(k.rootEc, 102, ROOT_PD_SEL, { kind: "vcpu", cpu: 0, evt: 0 });
    return { k, calls };
  }

  it("binds an SC with priority and quantum to a global EC or vCPU and tells the scheduler", () => {
    const { k, calls } = withEcs();
    expect(k.createSc(k.rootEc, 200, ROOT_PD_SEL, 100, { priority: 1, quantum: 10_000 })).toBe(S.SUCCESS);
    expect(k.createSc(k.rootEc, 201, ROOT_PD_SEL, 102, { priority: 255, quantum: 1 })).toBe(S.SUCCESS);
    const sc = k.objectAt(k.rootPd, 201) as Sc;
    expect(sc.ec).toBe(k.objectAt(k.rootPd, 102));
    expect(sc.priority).toBe(255);
    expect(sc.ec.scs).toContain(sc);
    expect(calls).toEqual([k.objectAt(k.rootPd, 200), sc]);
  });

  it("BAD_CAP: PD without create-SC, non-EC, EC without sc permission, a local EC, selector in use", () => {
    const { k } = withEcs();
    const q = { priority: 10, quantum: 100 };
    weaken(k, ROOT_PD_SEL, 300, OBJ_RIGHTS_ALL & ~PdPerm.SC);
    expect(k.createSc(k.rootEc, 200, 300, 100, q)).toBe(S.BAD_CAP);
    expect(k.createSc(k.rootEc, 200, ROOT_PD_SEL, ROOT_PD_SEL, q)).toBe(S.BAD_CAP);
    weaken(k, 100, 301, OBJ_RIGHTS_ALL & ~EcPerm.SC);
    expect(k.createSc(k.rootEc, 200, ROOT_PD_SEL, 301, q)).toBe(S.BAD_CAP);
    expect(k.createSc(k.rootEc, 200, ROOT_PD_SEL, 101, q)).toBe(S.BAD_CAP);
    expect(k.createSc(k.rootEc, ROOT_SC_SEL, ROOT_PD_SEL, 100, q)).toBe(S.BAD_CAP);
  });

  it("BAD_PAR: priority 0 or above 255, quantum 0", () => {
    const { k } = withEcs();
    expect(k.createSc(k.rootEc, 200, ROOT_PD_SEL, 100, { priority: 0, quantum: 100 })).toBe(S.BAD_PAR);
    expect(k.createSc(k.rootEc, 200, ROOT_PD_SEL, 100, { priority: 256, quantum: 100 })).toBe(S.BAD_PAR);
    expect(k.createSc(k.rootEc, 200, ROOT_PD_SEL, 100, { priority: 1, quantum: 0 })).toBe(S.BAD_PAR);
    expect(k.createSc(k.rootEc, 200, ROOT_PD_SEL, 100, { priority: 1, quantum: Number.NaN })).toBe(S.BAD_PAR);
  });

  it("BAD_HYP: the calling EC is blocked", () => {
    const { k } = withEcs();
    expect(k.createSc(blockedEc(k), 200, ROOT_PD_SEL, 100, { priority: 1, quantum: 1 })).toBe(S.BAD_HYP);
  });
});

describe("create_pt", () => {
  function withEcs() {
    const k = new Kernel();
    k.createEc(k.rootEc, 100, ROOT_PD_SEL, { kind: "local", cpu: 0, evt: 0 });
    k.createEc(k.rootEc, 101, ROOT_PD_SEL, { kind: "global", cpu: 0, evt: 0 });
    return k;
  }

  it("creates a portal into a local EC with MTD and entry", () => {
    const k = withEcs();
    expect(k.createPt(k.rootEc, 200, ROOT_PD_SEL, 100, 0x8000_0001, 0x1234)).toBe(S.SUCCESS);
    const pt = k.objectAt(k.rootPd, 200) as Pt;
    expect(pt.ec).toBe(k.objectAt(k.rootPd, 100));
    expect(pt.mtd).toBe(0x8000_0001);
    expect(pt.entry).toBe(0x1234);
    expect(pt.id).toBe(0);
  });

  it("BAD_CAP: PD without create-PT, EC without pt permission, a global EC, selector in use", () => {
    const k = withEcs();
    weaken(k, ROOT_PD_SEL, 300, OBJ_RIGHTS_ALL & ~PdPerm.PT);
    expect(k.createPt(k.rootEc, 200, 300, 100, 0, 0)).toBe(S.BAD_CAP);
    weaken(k, 100, 301, OBJ_RIGHTS_ALL & ~EcPerm.PT);
    expect(k.createPt(k.rootEc, 200, ROOT_PD_SEL, 301, 0, 0)).toBe(S.BAD_CAP);
    expect(k.createPt(k.rootEc, 200, ROOT_PD_SEL, 101, 0, 0)).toBe(S.BAD_CAP);
    expect(k.createPt(k.rootEc, 200, ROOT_PD_SEL, 777, 0, 0)).toBe(S.BAD_CAP);
    expect(k.createPt(k.rootEc, ROOT_PD_SEL, ROOT_PD_SEL, 100, 0, 0)).toBe(S.BAD_CAP);
  });

  it("BAD_PAR: MTD or entry not a 32-bit word", () => {
    const k = withEcs();
    expect(k.createPt(k.rootEc, 200, ROOT_PD_SEL, 100, 2 ** 32, 0)).toBe(S.BAD_PAR);
    expect(k.createPt(k.rootEc, 200, ROOT_PD_SEL, 100, 0, -4)).toBe(S.BAD_PAR);
  });

  it("BAD_HYP: the calling EC is blocked", () => {
    const k = withEcs();
    expect(k.createPt(blockedEc(k), 200, ROOT_PD_SEL, 100, 0, 0)).toBe(S.BAD_HYP);
  });
});

describe("create_sm", () => {
  it("creates a semaphore with its initial counter", () => {
    const k = new Kernel();
    expect(k.createSm(k.rootEc, 200, ROOT_PD_SEL, 3)).toBe(S.SUCCESS);
    expect((k.objectAt(k.rootPd, 200) as Sm).counter).toBe(3);
  });

  it("BAD_CAP: PD without create-SM, selector in use", () => {
    const k = new Kernel();
    weaken(k, ROOT_PD_SEL, 300, OBJ_RIGHTS_ALL & ~PdPerm.SM);
    expect(k.createSm(k.rootEc, 200, 300)).toBe(S.BAD_CAP);
    expect(k.createSm(k.rootEc, ROOT_PD_SEL, ROOT_PD_SEL)).toBe(S.BAD_CAP);
  });

  it("BAD_PAR: counter not a 32-bit word", () => {
    const k = new Kernel();
    expect(k.createSm(k.rootEc, 200, ROOT_PD_SEL, -1)).toBe(S.BAD_PAR);
  });

  it("BAD_HYP: the calling EC is blocked", () => {
    const k = new Kernel();
    expect(k.createSm(blockedEc(k), 200, ROOT_PD_SEL)).toBe(S.BAD_HYP);
  });
});

describe("revoke and lookup", () => {
  it("revoke with self removes the caller's capability; BAD_PAR for a misaligned CRD", () => {
    const k = new Kernel();
    k.createSm(k.rootEc, 200, ROOT_PD_SEL);
    expect(k.revoke(k.rootEc, objCrd(201, 1, 0x1f), true)).toBe(S.BAD_PAR);
    expect(k.revoke(k.rootEc, objCrd(200, 0, 0x1f), true)).toBe(S.SUCCESS);
    expect(k.objectAt(k.rootPd, 200)).toBeNull();
    expect(k.revoke(k.rootEc, NULL_CRD, true)).toBe(S.SUCCESS);
    expect(k.revoke(blockedEc(k), objCrd(0, 0, 1), false)).toBe(S.BAD_HYP);
  });

  it("lookup returns the capability range holding the base, or a null CRD", () => {
    const k = new Kernel();
    k.grantMemory(0x40_0000, 8, 8);
    expect(k.lookup(k.rootEc, memCrd(13, 0, 0))).toEqual({
      status: S.SUCCESS,
      crd: { type: CrdType.MEM, base: 8, order: 3, rights: 7 },
    });
    expect(k.lookup(k.rootEc, memCrd(16, 0, 0))).toEqual({ status: S.SUCCESS, crd: NULL_CRD });
    expect(k.lookup(k.rootEc, objCrd(ROOT_EC_SEL, 0, 0)).crd).toEqual(objCrd(ROOT_EC_SEL, 0, OBJ_RIGHTS_ALL));
    expect(k.lookup(k.rootEc, NULL_CRD).crd).toEqual(NULL_CRD);
    expect(k.lookup(blockedEc(k), NULL_CRD).status).toBe(S.BAD_HYP);
  });
});

describe("ec_ctrl, sc_ctrl, pt_ctrl", () => {
  it("ec_ctrl recalls the EC: sets recallPending and tells the scheduler", () => {
    const recalled: Ec[] = [];
    const k = new Kernel({ events: { recall: (ec) => recalled.push(ec) } });
    k.createEc(k.rootEc, 100, ROOT_PD_SEL, { kind: "vcpu", cpu: 0, evt: 0 });
    const vcpu = k.objectAt(k.rootPd, 100) as Ec;
    expect(k.ecCtrl(k.rootEc, 100)).toBe(S.SUCCESS);
    expect(vcpu.recallPending).toBe(true);
    expect(recalled).toEqual([vcpu]);
  });

  it("ec_ctrl BAD_CAP: not an EC, or without the ct permission; BAD_HYP when blocked", () => {
    const k = new Kernel();
    k.createEc(k.rootEc, 100, ROOT_PD_SEL, { kind: "vcpu", cpu: 0, evt: 0 });
    weaken(k, 100, 101, OBJ_RIGHTS_ALL & ~EcPerm.CTRL);
    expect(k.ecCtrl(k.rootEc, ROOT_PD_SEL)).toBe(S.BAD_CAP);
    expect(k.ecCtrl(k.rootEc, 101)).toBe(S.BAD_CAP);
    expect(k.ecCtrl(blockedEc(k), 100)).toBe(S.BAD_HYP);
  });

  it("sc_ctrl reports the SC's accumulated time", () => {
    const k = new Kernel();
    k.rootSc.account(1500);
    k.rootSc.account(500);
    expect(k.scCtrl(k.rootEc, ROOT_SC_SEL)).toEqual({ status: S.SUCCESS, time: 2000 });
  });

  it("sc_ctrl BAD_CAP: not an SC, or without the ct permission; BAD_HYP when blocked", () => {
    const k = new Kernel();
    weaken(k, ROOT_SC_SEL, 100, OBJ_RIGHTS_ALL & ~ScPerm.CTRL);
    expect(k.scCtrl(k.rootEc, ROOT_EC_SEL).status).toBe(S.BAD_CAP);
    expect(k.scCtrl(k.rootEc, 100).status).toBe(S.BAD_CAP);
    expect(k.scCtrl(blockedEc(k), ROOT_SC_SEL).status).toBe(S.BAD_HYP);
  });

  it("pt_ctrl sets the portal id; BAD_CAP without ct permission; BAD_PAR for a non-word id", () => {
    const k = new Kernel();
    k.createEc(k.rootEc, 100, ROOT_PD_SEL, { kind: "local", cpu: 0, evt: 0 });
    k.createPt(k.rootEc, 200, ROOT_PD_SEL, 100, 0, 0);
    weaken(k, 200, 201, PtPerm.CALL);
    expect(k.ptCtrl(k.rootEc, 200, 0xcafe)).toBe(S.SUCCESS);
    expect((k.objectAt(k.rootPd, 200) as Pt).id).toBe(0xcafe);
    expect(k.ptCtrl(k.rootEc, 201, 1)).toBe(S.BAD_CAP);
    expect(k.ptCtrl(k.rootEc, 100, 1)).toBe(S.BAD_CAP);
    expect(k.ptCtrl(k.rootEc, 200, -1)).toBe(S.BAD_PAR);
    expect(k.ptCtrl(blockedEc(k), 200, 1)).toBe(S.BAD_HYP);
  });
});

describe("assign_pci and assign_gsi (no device passthrough in moat)", () => {
  it("assign_pci: BAD_CAP for a non-PD selector, else BAD_DEV: no device is there", () => {
    const k = new Kernel();
    expect(k.assignPci(k.rootEc, ROOT_EC_SEL, 0, 0)).toBe(S.BAD_CAP);
    expect(k.assignPci(k.rootEc, ROOT_PD_SEL, 0xe0000, 0)).toBe(S.BAD_DEV);
    expect(k.assignPci(blockedEc(k), ROOT_PD_SEL, 0, 0)).toBe(S.BAD_HYP);
  });

  it("assign_gsi: BAD_CPU for a missing CPU, BAD_CAP for a non-SM, else BAD_DEV", () => {
    const k = new Kernel();
    k.createSm(k.rootEc, 200, ROOT_PD_SEL);
    expect(k.assignGsi(k.rootEc, 200, 0, 1)).toBe(S.BAD_CPU);
    expect(k.assignGsi(k.rootEc, ROOT_PD_SEL, 0, 0)).toBe(S.BAD_CAP);
    expect(k.assignGsi(k.rootEc, 200, 0, 0)).toBe(S.BAD_DEV);
    expect(k.assignGsi(blockedEc(k), 200, 0, 0)).toBe(S.BAD_HYP);
  });
});

describe("grantMemory", () => {
  it("splits an unaligned page range into naturally aligned capabilities over contiguous frames", () => {
    const k = new Kernel();
    expect(k.grantMemory(0x1000_0000, 5, 3)).toBe(S.SUCCESS);
    const crds = k.rootPd.mem.all().map((n) => [n.base, n.order, n.frame]);
    expect(crds).toEqual([
      [3, 0, 0x10000],
      [4, 2, 0x10001],
    ]);
  });

  it("refuses a misaligned address (BAD_PAR) and an overlap (BAD_CAP)", () => {
    const k = new Kernel();
    expect(k.grantMemory(0x1001, 1, 0)).toBe(S.BAD_PAR);
    expect(k.grantMemory(0x1000, 0, 0)).toBe(S.BAD_PAR);
    expect(k.grantMemory(0x1000, 2, 2 ** 20 - 1)).toBe(S.BAD_PAR);
    expect(k.grantMemory(0x1000, 4, 0)).toBe(S.SUCCESS);
    expect(k.grantMemory(0x9000, 1, 3)).toBe(S.BAD_CAP);
  });
});
