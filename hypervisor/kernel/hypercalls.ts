// The hypercall interface of the moat kernel (NOVA specification §"Hypercalls",
// classic numbering). Each method is one hypercall made by an EC (`caller`);
// selectors resolve in the caller's PD. Methods return NOVA status codes, or
// BLOCKED when the caller now waits (its status arrives through events.wake).
import { Vmcs } from "../vmx/vmcs.js";
import {
  EcPerm,
  type KObject,
  MemRights,
  OBJ_RIGHTS_ALL,
  ObjType,
  PdPerm,
  PioRights,
  PtPerm,
  ScPerm,
  SmPerm,
} from "./capability.js";
import { type Crd, CrdType, crdFits, NULL_CRD, SPACE_ORDER } from "./crd.js";
import { Ec, type EcKind } from "./ec.js";
import { delegate, insertRoot, type MdbNode, removeSubtree, revoke } from "./mdb.js";
import { PAGE_SHIFT } from "./memory-space.js";
import { Pd } from "./pd.js";
import { Pt } from "./pt.js";
import { MAX_PRIORITY, Sc } from "./sc.js";
import { Sm } from "./sm.js";
import { BLOCKED, type Outcome, Status } from "./status.js";

/** Hypercall numbers (NOVA classic): for decoding hypercall messages. */
export const Hypercall = {
  CALL: 0,
  REPLY: 1,
  CREATE_PD: 2,
  CREATE_EC: 3,
  CREATE_SC: 4,
  CREATE_PT: 5,
  CREATE_SM: 6,
  REVOKE: 7,
  LOOKUP: 8,
  EC_CTRL: 9,
  SC_CTRL: 10,
  PT_CTRL: 11,
  SM_CTRL: 12,
  ASSIGN_PCI: 13,
  ASSIGN_GSI: 14,
} as const;

/** The root PD's own capabilities follow the 32 exception selectors, as NOVA
 * sets up its root task: PD at NUM_EXC, EC at NUM_EXC+1, SC at NUM_EXC+2. */
export const NUM_EXC = 32;
export const ROOT_PD_SEL = NUM_EXC;
export const ROOT_EC_SEL = NUM_EXC + 1;
export const ROOT_SC_SEL = NUM_EXC + 2;
/** IA-32 user addresses (UTCBs) lie below 3 GiB. */
export const USER_ADDR = 0xc000_0000;
/** sm_ctrl operations (bit 0 of the hypercall flags). */
export const SmOp = { UP: 0, DOWN: 1 } as const;

/** What the kernel tells the rest of the hypervisor (all optional). */
export interface KernelEvents {
  /** A blocked EC got its status (SUCCESS, COM_TIM or COM_ABT). */
  wake(ec: Ec, status: Status): void;
  /** A caller that waited for a busy handler is now being served by it. */
  ipc(handler: Ec, caller: Ec, pt: Pt): void;
  /** ec_ctrl asked `ec` to exit with reason recall. */
  recall(ec: Ec): void;
  /** create_sc made an SC runnable. */
  scCreated(sc: Sc): void;
  /** An object lost its last reference and is gone. */
  destroyed(obj: KObject): void;
  /** Pages [base, base + 2^order) of `pd` now map host frame `frame`.. with
   * `rights` (0: unmapped). The EPT and TLB of the VM must follow. */
  memory(pd: Pd, base: number, order: number, frame: number, rights: number): void;
}

export interface KernelOptions {
  /** Number of CPUs (ECs are bound to one); default 1. */
  cpus?: number;
  /** Whether the processor has VMX; without it create_ec of a vCPU is BAD_FTR. */
  vmx?: boolean;
  events?: Partial<KernelEvents>;
}

export interface CreateEcArgs {
  kind: EcKind;
  cpu: number;
  /** Event base selector. */
  evt: number;
  /** UTCB page address for local/global ECs (0 or absent: none). */
  utcb?: number;
  /** Initial stack pointer for local/global ECs. */
  sp?: number;
}

/** Quantum-priority descriptor. */
export interface Qpd {
  priority: number;
  quantum: number;
}

export interface SmDownArgs {
  /** Take the whole count (NOVA's down-zero). */
  zero?: boolean;
  /** Absolute deadline in virtual time, 0 for none. */
  deadline?: number;
}

export interface CallResult {
  status: Outcome;
  /** The portal the message goes (or will go) through. */
  pt: Pt | null;
}

const SEL_LIMIT = 2 ** SPACE_ORDER[CrdType.OBJ];
const noop = () => {};

export class Kernel {
  readonly cpus: number;
  readonly vmx: boolean;
  readonly events: KernelEvents;
  readonly rootPd: Pd;
  readonly rootEc: Ec;
  readonly rootSc: Sc;
  private readonly dying: KObject[] = [];
  private readonly timed = new Set<Ec>();

  constructor(opts: KernelOptions = {}) {
    this.cpus = opts.cpus ?? 1;
    this.vmx = opts.vmx ?? true;
    this.events = {
      wake: noop,
      ipc: noop,
      recall: noop,
      scCreated: noop,
      destroyed: noop,
      memory: noop,
      ...opts.events,
    };
    this.rootPd = this.newPd("root");
    insertRoot(this.rootPd.obj, ROOT_PD_SEL, 0, OBJ_RIGHTS_ALL, this.rootPd);
    this.rootEc = this.newEc(this.rootPd, "global", 0, 0, 0, 0, null);
    insertRoot(this.rootPd.obj, ROOT_EC_SEL, 0, OBJ_RIGHTS_ALL, this.rootEc);
    this.rootSc = this.newSc(this.rootEc, 1, 10_000);
    insertRoot(this.rootPd.obj, ROOT_SC_SEL, 0, OBJ_RIGHTS_ALL, this.rootSc);
    // The root PD starts with every I/O port (NOVA gives the root task all).
    insertRoot(this.rootPd.pio, 0, SPACE_ORDER[CrdType.PIO], PioRights.A, null);
  }

  // ---- hypercalls -------------------------------------------------------

  /**
   * call: send through the portal at `ptSel`. SUCCESS: the portal's handler
   * now serves the caller, which waits for reply (its final status, SUCCESS
   * or COM_ABT, comes through events.wake). BLOCKED: the handler was busy; the
   * caller waits its turn (events.ipc reports the rendezvous). COM_TIM: busy
   * and `noBlock`. COM_ABT: the handler is gone. BAD_CAP: not a PT with call
   * permission. BAD_CPU: the handler runs on another CPU.
   */
  call(caller: Ec, ptSel: number, noBlock = false): CallResult {
    if (caller.state !== "ready") return { status: Status.BAD_HYP, pt: null };
    const pt = this.cap(caller, ptSel, ObjType.PT, PtPerm.CALL) as Pt | null;
    if (pt === null) return { status: Status.BAD_CAP, pt: null };
    const handler = pt.ec;
    if (handler.dead) return { status: Status.COM_ABT, pt };
    if (handler.cpu !== caller.cpu) return { status: Status.BAD_CPU, pt };
    if (handler.caller !== null && noBlock) return { status: Status.COM_TIM, pt };
    this.block(caller, handler, 0);
    if (handler.caller !== null) {
      handler.callQueue.push({ ec: caller, pt });
      return { status: BLOCKED, pt };
    }
    handler.caller = caller;
    handler.callPt = pt;
    return { status: Status.SUCCESS, pt };
  }

  /**
   * reply: the local EC `handler` has finished serving its caller, which is
   * woken with SUCCESS; the next queued caller (if any) is served. Without a
   * caller there is nothing to do (NOVA: the handler just waits again).
   * BAD_CAP if `handler` is not a local EC (reply is for portal handlers).
   */
  reply(handler: Ec): Status {
    if (handler.kind !== "local" || handler.dead) return Status.BAD_CAP;
    const caller = handler.caller;
    handler.caller = null;
    handler.callPt = null;
    if (caller !== null) this.wake(caller, Status.SUCCESS);
    this.serveNext(handler);
    return Status.SUCCESS;
  }

  /**
   * create_pd: a new PD at `sel`, its capability holding the permissions of
   * the PD capability `pdSel` used; then the object capabilities `crd` names
   * in the caller's PD are delegated to the same selectors in the new PD.
   */
  createPd(caller: Ec, sel: number, pdSel: number, crd: Crd = NULL_CRD, name = ""): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    const node = this.capNode(caller, pdSel, ObjType.PD, PdPerm.PD);
    if (node === null) return Status.BAD_CAP;
    if (!crdFits(crd)) return Status.BAD_PAR;
    if (!this.selFree(caller.pd, sel)) return Status.BAD_CAP;
    const pd = this.newPd(name);
    insertRoot(caller.pd.obj, sel, 0, node.rights, pd);
    if (crd.type === CrdType.OBJ) delegate(caller.pd.obj, crd.base, crd.order, crd.rights, pd.obj, crd.base);
    return this.done(Status.SUCCESS);
  }

  /**
   * create_ec: a local EC, global EC or vCPU in PD `pdSel`, on CPU `cpu`,
   * with event base `evt`. A vCPU gets a fresh VMCS.
   */
  createEc(caller: Ec, sel: number, pdSel: number, args: CreateEcArgs): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    const { kind, cpu, evt } = args;
    const utcb = args.utcb ?? 0;
    if (!isUint(cpu) || cpu >= this.cpus) return Status.BAD_CPU;
    if (kind === "vcpu" && !this.vmx) return Status.BAD_FTR;
    const pd = this.cap(caller, pdSel, ObjType.PD, PdPerm.EC) as Pd | null;
    if (pd === null) return Status.BAD_CAP;
    if (kind !== "local" && kind !== "global" && kind !== "vcpu") return Status.BAD_PAR;
    if (!isUint(evt) || evt >= SEL_LIMIT) return Status.BAD_PAR;
    if (kind !== "vcpu" && utcb !== 0 && !this.utcbFree(pd, utcb)) return Status.BAD_PAR;
    if (!this.selFree(caller.pd, sel)) return Status.BAD_CAP;
    const vmcs = kind === "vcpu" ? new Vmcs() : null;
    const ec = this.newEc(pd, kind, cpu, evt, kind === "vcpu" ? 0 : utcb, args.sp ?? 0, vmcs);
    insertRoot(caller.pd.obj, sel, 0, OBJ_RIGHTS_ALL, ec);
    return this.done(Status.SUCCESS);
  }

  /** create_sc: an SC with `qpd` bound to the global EC or vCPU `ecSel`. */
  createSc(caller: Ec, sel: number, pdSel: number, ecSel: number, qpd: Qpd): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    if (this.cap(caller, pdSel, ObjType.PD, PdPerm.SC) === null) return Status.BAD_CAP;
    const ec = this.cap(caller, ecSel, ObjType.EC, EcPerm.SC) as Ec | null;
    if (ec === null || !ec.global) return Status.BAD_CAP;
    const { priority, quantum } = qpd;
    if (!isUint(priority) || priority === 0 || priority > MAX_PRIORITY) return Status.BAD_PAR;
    if (!(quantum > 0) || !Number.isFinite(quantum)) return Status.BAD_PAR;
    if (!this.selFree(caller.pd, sel)) return Status.BAD_CAP;
    const sc = this.newSc(ec, priority, quantum);
    insertRoot(caller.pd.obj, sel, 0, OBJ_RIGHTS_ALL, sc);
    this.events.scCreated(sc);
    return this.done(Status.SUCCESS);
  }

  /** create_pt: a portal into the local EC `ecSel` with `mtd` and `entry`. */
  createPt(caller: Ec, sel: number, pdSel: number, ecSel: number, mtd: number, entry: number): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    if (this.cap(caller, pdSel, ObjType.PD, PdPerm.PT) === null) return Status.BAD_CAP;
    const ec = this.cap(caller, ecSel, ObjType.EC, EcPerm.PT) as Ec | null;
    if (ec === null || ec.global) return Status.BAD_CAP;
    if (!isU32(mtd) || !isU32(entry)) return Status.BAD_PAR;
    if (!this.selFree(caller.pd, sel)) return Status.BAD_CAP;
    const pt = new Pt(ec, mtd >>> 0, entry >>> 0);
    ec.refs++;
    insertRoot(caller.pd.obj, sel, 0, OBJ_RIGHTS_ALL, pt);
    return this.done(Status.SUCCESS);
  }

  /** create_sm: a semaphore with initial `counter`. */
  createSm(caller: Ec, sel: number, pdSel: number, counter = 0): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    if (this.cap(caller, pdSel, ObjType.PD, PdPerm.SM) === null) return Status.BAD_CAP;
    if (!isU32(counter)) return Status.BAD_PAR;
    if (!this.selFree(caller.pd, sel)) return Status.BAD_CAP;
    insertRoot(caller.pd.obj, sel, 0, OBJ_RIGHTS_ALL, new Sm(counter));
    return this.done(Status.SUCCESS);
  }

  /**
   * revoke: remove `crd.rights` from every capability delegated (directly or
   * not) from the range `crd` names in the caller's PD, and from the range
   * itself if `self`. Capabilities left without rights disappear.
   */
  revoke(caller: Ec, crd: Crd, self: boolean): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    if (!crdFits(crd)) return Status.BAD_PAR;
    const space = caller.pd.space(crd.type);
    if (space !== null) revoke(space, crd.base, crd.order, crd.rights, self);
    return this.done(Status.SUCCESS);
  }

  /** lookup: the capability range holding `crd.base` in the space of
   * `crd.type`, or a null CRD if there is none. */
  lookup(caller: Ec, crd: Crd): { status: Status; crd: Crd } {
    if (caller.state !== "ready") return { status: Status.BAD_HYP, crd: NULL_CRD };
    const space = caller.pd.space(crd.type);
    const n = space === null || !isUint(crd.base) ? null : space.find(crd.base);
    if (n === null) return { status: Status.SUCCESS, crd: NULL_CRD };
    return { status: Status.SUCCESS, crd: { type: crd.type, base: n.base, order: n.order, rights: n.rights } };
  }

  /** ec_ctrl (recall): make the EC `ecSel` exit with reason recall. */
  ecCtrl(caller: Ec, ecSel: number): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    const ec = this.cap(caller, ecSel, ObjType.EC, EcPerm.CTRL) as Ec | null;
    if (ec === null) return Status.BAD_CAP;
    ec.recallPending = true;
    this.events.recall(ec);
    return Status.SUCCESS;
  }

  /** sc_ctrl: the execution time accumulated by the SC `scSel`. */
  scCtrl(caller: Ec, scSel: number): { status: Status; time: number } {
    if (caller.state !== "ready") return { status: Status.BAD_HYP, time: 0 };
    const sc = this.cap(caller, scSel, ObjType.SC, ScPerm.CTRL) as Sc | null;
    if (sc === null) return { status: Status.BAD_CAP, time: 0 };
    return { status: Status.SUCCESS, time: sc.time };
  }

  /** pt_ctrl: set the id that the portal `ptSel` passes to its handler. */
  ptCtrl(caller: Ec, ptSel: number, id: number): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    const pt = this.cap(caller, ptSel, ObjType.PT, PtPerm.CTRL) as Pt | null;
    if (pt === null) return Status.BAD_CAP;
    if (!isU32(id)) return Status.BAD_PAR;
    pt.id = id >>> 0;
    return Status.SUCCESS;
  }

  /**
   * sm_ctrl: up (wake the first waiter with SUCCESS, or count) or down (take a
   * count at once, or block until up, the deadline (COM_TIM, via timeout()) or
   * the SM's destruction (COM_ABT)). BAD_CAP: not an SM with the permission
   * for `op`; BAD_PAR: an unknown op or a bad deadline.
   */
  smCtrl(caller: Ec, smSel: number, op: number, args: SmDownArgs = {}): Outcome {
    if (caller.state !== "ready") return Status.BAD_HYP;
    if (op !== SmOp.UP && op !== SmOp.DOWN) return Status.BAD_PAR;
    const sm = this.cap(caller, smSel, ObjType.SM, op === SmOp.UP ? SmPerm.UP : SmPerm.DOWN) as Sm | null;
    if (sm === null) return Status.BAD_CAP;
    if (op === SmOp.UP) return this.smUp(sm);
    const deadline = args.deadline ?? 0;
    if (!(deadline >= 0) || !Number.isFinite(deadline)) return Status.BAD_PAR;
    if (sm.tryDown(args.zero ?? false)) return Status.SUCCESS;
    sm.waiters.push(caller);
    this.block(caller, sm, deadline);
    return BLOCKED;
  }

  /** assign_pci: moat passes no devices through, so no memory capability
   * names a PCI configuration space: BAD_DEV once the PD capability checks. */
  assignPci(caller: Ec, pdSel: number, _devPage: number, _hint: number): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    if (this.cap(caller, pdSel, ObjType.PD, 0) === null) return Status.BAD_CAP;
    return Status.BAD_DEV;
  }

  /** assign_gsi: moat routes no host interrupts, so there is no device for
   * the GSI: BAD_DEV once the CPU and SM checks pass. */
  assignGsi(caller: Ec, smSel: number, _devPage: number, cpu: number): Status {
    if (caller.state !== "ready") return Status.BAD_HYP;
    if (!isUint(cpu) || cpu >= this.cpus) return Status.BAD_CPU;
    if (this.cap(caller, smSel, ObjType.SM, 0) === null) return Status.BAD_CAP;
    return Status.BAD_DEV;
  }

  // ---- kernel operations (not hypercalls) ------------------------------

  /**
   * Delegate the capabilities `crd` names in `src` to `dst`, placed at
   * `dstHotspot` (object and memory; I/O ports keep their numbers). Each
   * keeps only the rights `crd.rights` allows. Used by typed-item transfer
   * and create_pd. BAD_PAR: CRD or hotspot out of range or misaligned;
   * BAD_CAP: a target selector/page is in use (nothing is delegated).
   */
  delegate(src: Pd, crd: Crd, dst: Pd, dstHotspot: number): Status {
    if (!crdFits(crd)) return Status.BAD_PAR;
    const from = src.space(crd.type);
    const to = dst.space(crd.type);
    if (from === null || to === null) return Status.SUCCESS;
    const at = crd.type === CrdType.PIO ? crd.base : dstHotspot;
    if (!crdFits({ ...crd, base: at })) return Status.BAD_PAR;
    return this.done(delegate(from, crd.base, crd.order, crd.rights, to, at));
  }

  /**
   * Remove `crd.rights` from what `pd` itself holds in the range `crd`
   * names, and from everything delegated on from there (revoke with self, on
   * a PD other than the caller's): how the root task takes back a mapping
   * it gave a VM in order to give another (hypervisor/root/bios-window.ts).
   */
  unmap(pd: Pd, crd: Crd): Status {
    if (!crdFits(crd)) return Status.BAD_PAR;
    const space = pd.space(crd.type);
    if (space !== null) revoke(space, crd.base, crd.order, crd.rights, true);
    return this.done(Status.SUCCESS);
  }

  /**
   * Give the root PD the pages [atPage, atPage + pages) backed by host
   * memory from `hostPhys` (as NOVA hands all memory to its root task). The
   * root task then delegates ranges of it to VM and VMM PDs.
   */
  grantMemory(hostPhys: number, pages: number, atPage: number, rights: number = MemRights.RWX): Status {
    const top = 2 ** SPACE_ORDER[CrdType.MEM];
    if (!isUint(hostPhys) || hostPhys % 2 ** PAGE_SHIFT !== 0) return Status.BAD_PAR;
    if (!isUint(pages) || pages === 0 || !isUint(atPage) || atPage + pages > top) return Status.BAD_PAR;
    if (!isUint(rights) || rights === 0 || rights > MemRights.RWX) return Status.BAD_PAR;
    const mem = this.rootPd.mem;
    if (mem.overlapping(atPage, atPage + pages).length > 0) return Status.BAD_CAP;
    const frame = hostPhys / 2 ** PAGE_SHIFT;
    for (let p = atPage; p < atPage + pages; ) {
      let order = 0;
      while (p % 2 ** (order + 1) === 0 && p + 2 ** (order + 1) <= atPage + pages) order++;
      insertRoot(mem, p, order, rights, null, frame + (p - atPage));
      p += 2 ** order;
    }
    return Status.SUCCESS;
  }

  /**
   * The EC dies now although capabilities still name it (its VMM worker
   * crashed, or a vCPU's VM is destroyed): callers it serves and callers
   * queued for it get COM_ABT, its portals stop delivering (portalFor gives
   * null, call gives COM_ABT), and capabilities to it act as null.
   */
  kill(ec: Ec): void {
    if (ec.dead) return;
    ec.dead = true;
    this.destroyEc(ec);
    this.events.destroyed(ec);
    this.done(Status.SUCCESS);
  }

  /** The portal a vCPU's exit with `reason` goes to (evt + reason in its PD), or null. */
  portalFor(vcpu: Ec, reason: number): Pt | null {
    const n = vcpu.pd.obj.lookup(vcpu.evt + reason);
    if (n === null) return null;
    const o = n.obj;
    return o !== null && o.type === ObjType.PT && !o.dead && !(o as Pt).ec.dead ? (o as Pt) : null;
  }

  /** Wake every EC whose sm-down deadline is at or before `now` with COM_TIM. Returns how many. */
  timeout(now: number): number {
    let woken = 0;
    for (const ec of this.timed) {
      if (ec.deadline > now) continue;
      (ec.waitingOn as Sm).dequeue(ec);
      this.wake(ec, Status.COM_TIM);
      woken++;
    }
    return woken;
  }

  /** Earliest pending deadline, or 0 if no EC waits with one. */
  nextDeadline(): number {
    let next = 0;
    for (const ec of this.timed) if (next === 0 || ec.deadline < next) next = ec.deadline;
    return next;
  }

  /** The object at `sel` in `pd`'s object space, or null. */
  objectAt(pd: Pd, sel: number): KObject | null {
    return pd.obj.lookup(sel)?.obj ?? null;
  }

  /** Permissions of the capability at `sel` in `pd` (0 for none). */
  rightsAt(pd: Pd, sel: number): number {
    return pd.obj.lookup(sel)?.rights ?? 0;
  }

  // ---- internals --------------------------------------------------------

  private newPd(name: string): Pd {
    const pd = new Pd((obj) => this.dying.push(obj), name);
    pd.mem.listener = (base, order, frame, rights) => this.events.memory(pd, base, order, frame, rights);
    return pd;
  }

  private newEc(pd: Pd, kind: EcKind, cpu: number, evt: number, utcb: number, sp: number, vmcs: Vmcs | null) {
    const ec = new Ec(pd, kind, cpu, evt, utcb, sp, vmcs);
    pd.refs++;
    if (utcb !== 0) pd.utcbs.add(utcb);
    return ec;
  }

  private newSc(ec: Ec, priority: number, quantum: number): Sc {
    const sc = new Sc(ec, priority, quantum);
    ec.refs++;
    ec.scs.push(sc);
    return sc;
  }

  private capNode(caller: Ec, sel: number, type: number, perm: number): MdbNode | null {
    const n = caller.pd.obj.lookup(sel);
    if (n === null || n.obj === null || n.obj.type !== type || n.obj.dead) return null;
    return (n.rights & perm) === perm ? n : null;
  }

  private cap(caller: Ec, sel: number, type: number, perm: number): KObject | null {
    return this.capNode(caller, sel, type, perm)?.obj ?? null;
  }

  private selFree(pd: Pd, sel: number): boolean {
    return isUint(sel) && sel < SEL_LIMIT && pd.obj.lookup(sel) === null;
  }

  private utcbFree(pd: Pd, utcb: number): boolean {
    return isUint(utcb) && utcb % 4096 === 0 && utcb < USER_ADDR && !pd.utcbs.has(utcb);
  }

  private smUp(sm: Sm): Status {
    const ec = sm.waiters.shift();
    if (ec !== undefined) this.wake(ec, Status.SUCCESS);
    else sm.counter = (sm.counter + 1) >>> 0;
    return Status.SUCCESS;
  }

  private block(ec: Ec, on: Sm | Ec, deadline: number): void {
    ec.state = "blocked";
    ec.waitingOn = on;
    ec.deadline = deadline;
    if (deadline > 0) this.timed.add(ec);
  }

  private wake(ec: Ec, status: Status): void {
    this.timed.delete(ec);
    ec.waitingOn = null;
    ec.deadline = 0;
    ec.wakeStatus = status;
    if (ec.dead) return;
    ec.state = "ready";
    this.events.wake(ec, status);
  }

  /** Give a free handler the first caller that queued for it. */
  private serveNext(handler: Ec): void {
    const next = handler.callQueue.shift();
    if (next === undefined) return;
    handler.caller = next.ec;
    handler.callPt = next.pt;
    this.events.ipc(handler, next.ec, next.pt);
  }

  /** Finish an operation: destroy what lost its last reference. */
  private done(status: Status): Status {
    while (this.dying.length > 0) {
      const obj = this.dying.shift() as KObject;
      if (obj.dead || obj.refs > 0) continue;
      obj.dead = true;
      this.destroy(obj);
      this.events.destroyed(obj);
    }
    return status;
  }

  private unref(obj: KObject): void {
    if (--obj.refs === 0) this.dying.push(obj);
  }

  private destroy(obj: KObject): void {
    if (obj instanceof Sm) {
      for (const ec of obj.waiters.splice(0)) this.wake(ec, Status.COM_ABT);
    } else if (obj instanceof Ec) {
      this.destroyEc(obj);
    } else if (obj instanceof Sc) {
      obj.ec.scs.splice(obj.ec.scs.indexOf(obj), 1);
      this.unref(obj.ec);
    } else if (obj instanceof Pt) {
      this.unref(obj.ec);
    } else if (obj instanceof Pd) {
      for (const space of [obj.obj, obj.mem, obj.pio]) for (const n of space.all()) removeSubtree(n);
    }
  }

  /** An EC goes: whatever it waited on forgets it, whoever waited on it is aborted. */
  private destroyEc(ec: Ec): void {
    const on = ec.waitingOn;
    if (on instanceof Sm) on.dequeue(ec);
    if (on instanceof Ec) {
      const q = on.callQueue.findIndex((c) => c.ec === ec);
      if (q >= 0) on.callQueue.splice(q, 1);
      if (on.caller === ec) {
        on.caller = null;
        on.callPt = null;
        this.serveNext(on);
      }
    }
    this.timed.delete(ec);
    ec.state = "dead";
    if (ec.caller !== null) this.wake(ec.caller, Status.COM_ABT);
    for (const c of ec.callQueue.splice(0)) this.wake(c.ec, Status.COM_ABT);
    ec.caller = null;
    ec.callPt = null;
    if (ec.utcb !== 0) ec.pd.utcbs.delete(ec.utcb);
    this.unref(ec.pd);
  }
}

function isUint(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

function isU32(n: number): boolean {
  return isUint(n) && n <= 0xffff_ffff;
}
