// Oracle: NOVA specification, §"sm_ctrl" and §"Semaphore": up wakes the
// first blocked EC or increments the counter; down decrements or blocks;
// down-zero sets the counter to 0; a down with a timeout that expires
// returns COM_TIM; destroying the semaphore aborts waiters with COM_ABT;
// BAD_CAP without the up/down permission for the operation.
import { describe, expect, it } from "vitest";
import { OBJ_RIGHTS_ALL, SmPerm } from "./capability.js";
import { objCrd } from "./crd.js";
import type { Ec } from "./ec.js";
import { Kernel, ROOT_PD_SEL, SmOp } from "./hypercalls.js";
import type { Pd } from "./pd.js";
import type { Sm } from "./sm.js";
import { BLOCKED, Status } from "./status.js";

function setup(counter = 0) {
  const woken: [Ec, number][] = [];
  const k = new Kernel({ events: { wake: (ec, s) => woken.push([ec, s]) } });
  k.createSm(k.rootEc, 300, ROOT_PD_SEL, counter);
  const ec = (sel: number) => {
    k.createEc(k.rootEc, sel, ROOT_PD_SEL, { kind: "global", cpu: 0, evt: 0 });
    return k.objectAt(k.rootPd, sel) as Ec;
  };
  return { k, sm: k.objectAt(k.rootPd, 300) as Sm, ec, woken };
}

describe("sm_ctrl", () => {
  it("down takes a count at once while the counter is non-zero", () => {
    const { k, sm } = setup(2);
    expect(k.smCtrl(k.rootEc, 300, SmOp.DOWN)).toBe(Status.SUCCESS);
    expect(sm.counter).toBe(1);
  });

  it("down-zero takes the whole count", () => {
    const { k, sm } = setup(5);
    expect(k.smCtrl(k.rootEc, 300, SmOp.DOWN, { zero: true })).toBe(Status.SUCCESS);
    expect(sm.counter).toBe(0);
  });

  it("up without waiters increments the counter", () => {
    const { k, sm } = setup(0);
    expect(k.smCtrl(k.rootEc, 300, SmOp.UP)).toBe(Status.SUCCESS);
    expect(sm.counter).toBe(1);
  });

  it("down at zero blocks the EC; up wakes the first waiter with SUCCESS, in FIFO order", () => {
    const { k, sm, ec, woken } = setup(0);
    const a = ec(100);
    const b = ec(101);
    expect(k.smCtrl(a, 300, SmOp.DOWN)).toBe(BLOCKED);
    expect(k.smCtrl(b, 300, SmOp.DOWN)).toBe(BLOCKED);
    expect(a.state).toBe("blocked");
    expect(k.smCtrl(k.rootEc, 300, SmOp.UP)).toBe(Status.SUCCESS);
    expect(woken).toEqual([[a, Status.SUCCESS]]);
    expect(a.state).toBe("ready");
    expect(a.wakeStatus).toBe(Status.SUCCESS);
    expect(b.state).toBe("blocked");
    expect(sm.counter).toBe(0);
  });

  it("timeout(now) wakes waiters whose deadline passed with COM_TIM, and only those", () => {
    const { k, sm, ec, woken } = setup(0);
    const a = ec(100);
    const b = ec(101);
    const c = ec(102);
    k.smCtrl(a, 300, SmOp.DOWN, { deadline: 1000 });
    k.smCtrl(b, 300, SmOp.DOWN, { deadline: 3000 });
    k.smCtrl(c, 300, SmOp.DOWN);
    expect(k.nextDeadline()).toBe(1000);
    expect(k.timeout(999)).toBe(0);
    expect(k.timeout(1000)).toBe(1);
    expect(woken).toEqual([[a, Status.COM_TIM]]);
    expect(sm.waiters).toEqual([b, c]);
    expect(k.nextDeadline()).toBe(3000);
    k.smCtrl(k.rootEc, 300, SmOp.UP);
    expect(b.wakeStatus).toBe(Status.SUCCESS);
    expect(k.nextDeadline()).toBe(0);
    expect(k.timeout(1e12)).toBe(0);
    expect(c.state).toBe("blocked");
  });

  it("destroying the SM (its last capability revoked) wakes waiters with COM_ABT", () => {
    const { k, ec, woken } = setup(0);
    const a = ec(100);
    k.smCtrl(a, 300, SmOp.DOWN, { deadline: 50 });
    expect(k.revoke(k.rootEc, objCrd(300, 0, OBJ_RIGHTS_ALL), true)).toBe(Status.SUCCESS);
    expect(woken).toEqual([[a, Status.COM_ABT]]);
    expect(a.state).toBe("ready");
    expect(k.nextDeadline()).toBe(0);
  });

  it("revoking only the copies derived from it leaves the SM and its waiters alone", () => {
    const { k, sm, ec, woken } = setup(0);
    k.createPd(k.rootEc, 50, ROOT_PD_SEL, objCrd(300, 0, SmPerm.UP));
    const a = ec(100);
    k.smCtrl(a, 300, SmOp.DOWN);
    k.revoke(k.rootEc, objCrd(300, 0, OBJ_RIGHTS_ALL), false);
    expect(k.objectAt(k.objectAt(k.rootPd, 50) as Pd, 300)).toBeNull();
    expect(sm.dead).toBe(false);
    expect(sm.waiters).toEqual([a]);
    expect(woken).toEqual([]);
  });

  it("BAD_CAP: no SM at the selector, or the capability lacks up or down", () => {
    const { k } = setup(1);
    k.delegate(k.rootPd, objCrd(300, 0, SmPerm.UP), k.rootPd, 301);
    k.delegate(k.rootPd, objCrd(300, 0, SmPerm.DOWN), k.rootPd, 302);
    expect(k.smCtrl(k.rootEc, ROOT_PD_SEL, SmOp.UP)).toBe(Status.BAD_CAP);
    expect(k.smCtrl(k.rootEc, 301, SmOp.DOWN)).toBe(Status.BAD_CAP);
    expect(k.smCtrl(k.rootEc, 302, SmOp.UP)).toBe(Status.BAD_CAP);
    expect(k.smCtrl(k.rootEc, 301, SmOp.UP)).toBe(Status.SUCCESS);
    expect(k.smCtrl(k.rootEc, 302, SmOp.DOWN)).toBe(Status.SUCCESS);
  });

  it("BAD_PAR: unknown operation or a deadline that is not a time", () => {
    const { k } = setup(0);
    expect(k.smCtrl(k.rootEc, 300, 2)).toBe(Status.BAD_PAR);
    expect(k.smCtrl(k.rootEc, 300, SmOp.DOWN, { deadline: -1 })).toBe(Status.BAD_PAR);
    expect(k.smCtrl(k.rootEc, 300, SmOp.DOWN, { deadline: Number.NaN })).toBe(Status.BAD_PAR);
  });

  it("BAD_HYP: a blocked EC cannot make another hypercall", () => {
    const { k, ec } = setup(0);
    const a = ec(100);
    k.smCtrl(a, 300, SmOp.DOWN);
    expect(k.smCtrl(a, 300, SmOp.UP)).toBe(Status.BAD_HYP);
  });

  it("killing a waiting EC removes it from the queue", () => {
    const { k, sm, ec } = setup(0);
    const a = ec(100);
    const b = ec(101);
    k.smCtrl(a, 300, SmOp.DOWN, { deadline: 10 });
    k.smCtrl(b, 300, SmOp.DOWN);
    k.kill(a);
    expect(sm.waiters).toEqual([b]);
    expect(k.nextDeadline()).toBe(0);
  });
});
