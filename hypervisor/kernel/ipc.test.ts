// Oracle: NOVA specification, §"call" and §"reply": call needs a PT
// capability with the call permission (else BAD_CAP); the portal's EC must be
// on the caller's CPU (else BAD_CPU); with blocking disabled a busy handler
// gives COM_TIM; an aborted IPC gives COM_ABT; reply returns the handler to
// its caller, which resumes with SUCCESS.
import { describe, expect, it } from "vitest";
import { OBJ_RIGHTS_ALL, PtPerm } from "./capability.js";
import { objCrd } from "./crd.js";
import type { Ec } from "./ec.js";
import { Kernel, ROOT_PD_SEL } from "./hypercalls.js";
import type { Pt } from "./pt.js";
import { BLOCKED, Status } from "./status.js";

function setup(cpus = 1) {
  const log: string[] = [];
  const k = new Kernel({
    cpus,
    events: {
      wake: (ec, s) => log.push(`wake ${ec.serial} ${s}`),
      ipc: (h, c, pt) => log.push(`ipc ${h.serial} ${c.serial} ${pt.id}`),
    },
  });
  const r = k.rootEc;
  k.createEc(r, 100, ROOT_PD_SEL, { kind: "local", cpu: 0, evt: 0 });
  k.createPt(r, 200, ROOT_PD_SEL, 100, 0, 0x4000);
  k.ptCtrl(r, 200, 7);
  const client = (sel: number, cpu = 0) => {
    k.createEc(r, sel, ROOT_PD_SEL, { kind: "global", cpu, evt: 0 });
    return k.objectAt(k.rootPd, sel) as Ec;
  };
  return { k, handler: k.objectAt(k.rootPd, 100) as Ec, pt: k.objectAt(k.rootPd, 200) as Pt, client, log };
}

describe("call and reply", () => {
  it("call finds the portal, the handler serves the caller, reply resumes it with SUCCESS", () => {
    const { k, handler, pt, client, log } = setup();
    const c = client(300);
    expect(k.call(c, 200)).toEqual({ status: Status.SUCCESS, pt });
    expect(handler.caller).toBe(c);
    expect(handler.callPt).toBe(pt);
    expect(c.state).toBe("blocked");
    expect(k.reply(handler)).toBe(Status.SUCCESS);
    expect(c.state).toBe("ready");
    expect(c.wakeStatus).toBe(Status.SUCCESS);
    expect(handler.caller).toBeNull();
    expect(log).toEqual([`wake ${c.serial} ${Status.SUCCESS}`]);
  });

  it("a blocking call to a busy handler waits its turn and is served after the reply", () => {
    const { k, handler, pt, client, log } = setup();
    const a = client(300);
    const b = client(301);
    k.call(a, 200);
    expect(k.call(b, 200)).toEqual({ status: BLOCKED, pt });
    k.reply(handler);
    expect(handler.caller).toBe(b);
    expect(log).toEqual([`wake ${a.serial} 0`, `ipc ${handler.serial} ${b.serial} 7`]);
  });

  it("COM_TIM: the handler is busy and blocking is disabled", () => {
    const { k, client } = setup();
    k.call(client(300), 200);
    const b = client(301);
    expect(k.call(b, 200, true).status).toBe(Status.COM_TIM);
    expect(b.state).toBe("ready");
  });

  it("COM_ABT: the handler died, before or during the call", () => {
    const { k, handler, client, log } = setup();
    const a = client(300);
    const b = client(301);
    k.call(a, 200);
    k.call(b, 200);
    k.kill(handler);
    expect(a.wakeStatus).toBe(Status.COM_ABT);
    expect(b.wakeStatus).toBe(Status.COM_ABT);
    expect(log).toContain(`wake ${b.serial} ${Status.COM_ABT}`);
    expect(k.call(a, 200).status).toBe(Status.COM_ABT);
  });

  it("BAD_CAP: no PT at the selector, or a PT capability without call permission", () => {
    const { k, client } = setup();
    const c = client(300);
    k.delegate(k.rootPd, objCrd(200, 0, PtPerm.CTRL), k.rootPd, 201);
    expect(k.call(c, 201).status).toBe(Status.BAD_CAP);
    expect(k.call(c, 100).status).toBe(Status.BAD_CAP);
    expect(k.call(c, 999).status).toBe(Status.BAD_CAP);
  });

  it("BAD_CPU: the portal's handler runs on another CPU", () => {
    const { k, client } = setup(2);
    expect(k.call(client(300, 1), 200).status).toBe(Status.BAD_CPU);
  });

  it("BAD_HYP: the caller is already blocked", () => {
    const { k, client } = setup();
    const c = client(300);
    k.call(c, 200);
    expect(k.call(c, 200).status).toBe(Status.BAD_HYP);
  });

  it("reply: BAD_CAP from a global EC; SUCCESS with no caller does nothing", () => {
    const { k, handler, client } = setup();
    expect(k.reply(client(300))).toBe(Status.BAD_CAP);
    expect(k.reply(handler)).toBe(Status.SUCCESS);
  });

  it("a caller killed while queued is dropped; one killed while served frees the handler", () => {
    const { k, handler, client } = setup();
    const a = client(300);
    const b = client(301);
    const c = client(302);
    k.call(a, 200);
    k.call(b, 200);
    k.call(c, 200);
    k.kill(b);
    k.kill(a);
    expect(handler.caller).toBe(c);
    expect(handler.callQueue).toEqual([]);
  });

  it("the handler EC lives while a portal names it, and dies with its last reference", () => {
    const { k, handler } = setup();
    k.revoke(k.rootEc, objCrd(100, 0, OBJ_RIGHTS_ALL), true);
    expect(handler.dead).toBe(false);
    k.revoke(k.rootEc, objCrd(200, 0, OBJ_RIGHTS_ALL), true);
    expect(handler.dead).toBe(true);
  });
});
