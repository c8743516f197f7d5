// Hardware task switches, emulated by the VMM as KVM does. In VMX non-root
// operation every task switch is a VM exit (SDM Vol. 3C §25.1.2, exit
// reason 9); the qualification (Table 27-2) gives the new TSS selector in
// bits 15:0 and the source in bits 31:30: 0 CALL, 1 IRET, 2 JMP, 3 a task
// gate in the IDT (then the IDT-vectoring information names the event).
// The switch follows SDM Vol. 3A §8.3 ("Task Switching"), §8.4 (task
// linking: NT and the previous-task link) and the JMP/CALL/IRET/INT n
// pseudocode of Vol. 2:
//   - checks in the old task's context: the target (a task gate or a TSS and
//     their DPLs), the new TSS descriptor (in the GDT, a TSS, available or
//     for IRET busy, present, limit >= 67H / 2BH) and that the TSSs and
//     descriptors are reachable through paging (step 5). A fault here leaves
//     the old task as it was, EIP on the instruction.
//   - the commit: old state into the old TSS, busy bits, the back link and
//     NT, TR (steps 6-11). §6.15: the switch is complete once TR holds the
//     new selector and the link is written.
//   - the new task's state (step 12-13): CR3 with paging, EFLAGS, EIP, GPRs,
//     LDTR and the segment registers with Table 8-1's checks, CR0.TS (§2.5).
//     A fault here is delivered in the new task's context.
//   - for an exception with an error code, the code is pushed on the new
//     task's stack (Vol. 2 INT n, TASK-GATE).
// A fault during a switch that delivers a hardware exception follows the
// double-fault rules (Table 6-5), so a #DF task gate's own failure is a
// triple fault. The reply names every group the switch writes.
import type { ISegment, IVmExit } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { INSTRUCTION_STATE_GROUPS } from "../../proto/portal-mtd.js";
import type { GuestRam } from "../guest-ram.js";
import { EventType, type ReplyBuilder } from "../reply.js";
import type { VmmContext } from "../vmm-context.js";
import { ABORT_STOP, EmulationAbort } from "./fault.js";
import { GuestPaging } from "./guest-paging.js";
import { TaskMemory } from "./task-switch-memory.js";
import {
  AR_DB,
  Descriptor,
  loadCs,
  loadData,
  loadLdtr,
  loadSs,
  pushTarget,
  type Seg,
  stackRoom,
  unusable,
  Vec,
  v86Segment,
} from "./task-switch-segments.js";
import {
  readTss,
  saveTss,
  TaskState,
  TSS_CS,
  TSS_LINK,
  TSS_SS,
  TSS16_MIN_LIMIT,
  TSS32_MIN_LIMIT,
  tssDynamicRange,
  tssReadLength,
} from "./task-switch-tss.js";

/** Qualification bits 31:30 (Table 27-2). */
export const TaskSource = { CALL: 0, IRET: 1, JMP: 2, GATE: 3 } as const;

/** The groups a task switch writes back. */
export const TASK_SWITCH_REPLY_MTD = INSTRUCTION_STATE_GROUPS | Mtd.TR | Mtd.LDTR;

const EFLAGS_NT = 1 << 14;
const EFLAGS_VM = 1 << 17;
/** EFLAGS bits a P6 defines (CF PF AF ZF SF TF IF DF OF IOPL NT RF VM AC VIF VIP ID); bit 1 is always 1 (Vol. 1 §3.4.3). */
const EFLAGS_DEFINED = 0x003f_7fd7;
const CR0_PE = 1;
const CR0_TS = 1 << 3;
const CR0_PG = 0x8000_0000;
/** Busy flag: bit 1 of a TSS descriptor's type (§8.2.2). */
const TSS_BUSY = 2;
const TYPE_TASK_GATE = 5;
/** IDT-vectoring information (Table 24-16): valid bit 31, error code valid bit 11, type 10:8. */
const VECTORING_VALID = 0x8000_0000;
const VECTORING_ERROR = 1 << 11;
/** Interruptibility state (Table 24-3): blocking by STI, MOV SS, NMI. */
const BLOCKING_STI_MOV_SS = 0x3;
const BLOCKING_NMI = 0x8;
/** Segment registers in TSS / VMX order. */
const SEG_NAMES = ["es", "cs", "ss", "ds", "fs", "gs"] as const;
const GPR_NAMES = ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"] as const;
const ESP = 4;

/** Table 6-4: #DE, #TS, #NP, #SS, #GP are contributory. */
const contributory = (v: number) => v === Vec.DE || (v >= Vec.TS && v <= Vec.GP);

const toSeg = (s: ISegment | null | undefined): Seg => ({
  sel: (s?.sel ?? 0) & 0xffff,
  base: (s?.base ?? 0) >>> 0,
  limit: (s?.limit ?? 0) >>> 0,
  ar: (s?.ar ?? 0) >>> 0,
});

/** The guest state the reply carries: the exit's, changed by the switch. */
class Outcome {
  readonly gpr = new Uint32Array(8);
  eip = 0;
  eflags = 2;
  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  seg: Seg[] = [];
  ldtr: Seg = unusable(0);
  tr: Seg = unusable(0);
}

/** One task switch: what the exit says and the objects the phases share. */
export class TaskSwitch {
  readonly abort = new EmulationAbort();
  private readonly mem: TaskMemory;
  /** General descriptor reads, the new TSS's descriptor, the old TSS's descriptor. */
  private readonly desc: Descriptor;
  private readonly tssDesc: Descriptor;
  private readonly oldDesc: Descriptor;
  private readonly next = new TaskState();
  private readonly old = new TaskState();
  private readonly out = new Outcome();
  private source = 0;
  /** The IDT-vectoring information of a task-gate switch (0 for CALL/JMP/IRET). */
  private event = 0;
  /** EXT (§6.13): 1 when the switch delivers an event external to the program. */
  private ext = 0;
  private committed = false;
  /** The error code of the event a task gate delivers (IDT-vectoring error code). */
  private errorCode = 0;

  constructor(ram: GuestRam) {
    this.mem = new TaskMemory(ram, new GuestPaging(ram), this.abort);
    this.desc = new Descriptor(this.mem, this.abort);
    this.tssDesc = new Descriptor(this.mem, this.abort);
    this.oldDesc = new Descriptor(this.mem, this.abort);
  }

  /** Handles exit 9 into `reply`: the new task's state, a fault to inject, or a stop. Never throws for guest input. */
  run(exit: IVmExit, reply: ReplyBuilder): void {
    const qual = (exit.qual ?? 0) >>> 0;
    this.source = qual >>> 30;
    const s = reply.in;
    const vect = reply.exitHas(Mtd.INJ) ? (s.idtVectInfo ?? 0) >>> 0 : 0;
    this.event = this.source === TaskSource.GATE ? vect : 0;
    if (this.source === TaskSource.GATE && !(vect & VECTORING_VALID)) {
      reply.stop("task switch through an IDT task gate without IDT-vectoring information", 1);
      return;
    }
    if (!((s.cr0 ?? 0) & CR0_PE)) {
      reply.stop("task-switch exit with CR0.PE = 0", 1);
      return;
    }
    const type = (this.event >>> 8) & 7;
    const hardware = type === EventType.EXTERNAL || type === EventType.NMI || type === EventType.HW_EXCEPTION;
    this.ext = this.source === TaskSource.GATE && hardware ? 1 : 0;
    this.begin(exit, reply);
    try {
      this.switchTask(qual & 0xffff, reply);
      this.finish(reply);
    } catch (e) {
      if (e !== this.abort) throw e;
      this.failed(reply);
    }
    // The switch delivered the event (or replaced it by a fault): nothing is left to re-inject (§27.2.4).
    if (s.idtVectInfo) s.idtVectInfo = 0;
  }

  /** Loads the exit's state into the outcome and the memory and descriptor-table views. */
  private begin(exit: IVmExit, reply: ReplyBuilder): void {
    const s = reply.in;
    const o = this.out;
    for (let i = 0; i < 8; i++) o.gpr[i] = (s[GPR_NAMES[i]] ?? 0) >>> 0;
    o.eip = (s.eip ?? 0) >>> 0;
    o.eflags = (s.eflags ?? 2) >>> 0;
    o.cr0 = (s.cr0 ?? 0) >>> 0;
    o.cr2 = (s.cr2 ?? 0) >>> 0;
    o.cr3 = (s.cr3 ?? 0) >>> 0;
    o.cr4 = (s.cr4 ?? 0) >>> 0;
    o.seg = SEG_NAMES.map((n) => toSeg(s[n]));
    o.ldtr = toSeg(s.ldtr);
    o.tr = toSeg(s.tr);
    this.mem.cr0 = o.cr0;
    this.mem.cr3 = o.cr3;
    this.mem.cr4 = o.cr4;
    for (const d of [this.desc, this.tssDesc, this.oldDesc]) {
      d.gdtBase = (s.gdtr?.base ?? 0) >>> 0;
      d.gdtLimit = (s.gdtr?.limit ?? 0) & 0xffff;
      d.ldt = o.ldtr;
    }
    this.committed = false;
    this.errorCode = (s.idtVectError ?? 0) >>> 0;
    // The old task resumes after CALL/JMP/IRET and software interrupts; at the faulting instruction otherwise (§27.2.4-5).
    const type = (this.event >>> 8) & 7;
    const software =
      this.source !== TaskSource.GATE ||
      type === EventType.SW_INTERRUPT ||
      type === EventType.PRIV_SW_EXCEPTION ||
      type === EventType.SW_EXCEPTION;
    this.old.eip = (o.eip + (software ? (exit.instLen ?? 0) : 0)) >>> 0;
  }

  private get cpl(): number {
    const o = this.out;
    return o.eflags & EFLAGS_VM ? 3 : (o.seg[TSS_SS].ar >>> 5) & 3;
  }

  private switchTask(sel: number, reply: ReplyBuilder): void {
    const tssSel = this.target(sel, reply);
    const is32 = this.checkNewTss(tssSel);
    this.probe(is32);
    this.commit(tssSel, is32);
    this.committed = true;
    this.loadState(is32);
    this.pushErrorCode(is32);
    // Vol. 2 JMP/CALL/IRET: #GP(0); INT n TASK-GATE: #GP(EXT).
    const o = this.out;
    if (o.eip > o.seg[TSS_CS].limit)
      throw this.abort.fault(Vec.GP, true, this.source === TaskSource.GATE ? this.ext : 0);
  }

  /**
   * The TSS selector the switch goes to. For JMP/CALL the processor checked
   * the privilege of a TSS descriptor before exiting (§25.4.2); checking
   * again is harmless, and a selector of a task gate (which some processor
   * models report) is followed with the gate's checks (Vol. 2 CALL,
   * TASK-GATE). INT n, INT3 and INTO need the IDT gate's DPL >= CPL
   * (§6.12.1.1), #GP with the IDT error code (vector * 8 + 2).
   */
  private target(sel: number, reply: ReplyBuilder): number {
    const cpl = this.cpl;
    const d = this.desc;
    if (this.source === TaskSource.JMP || this.source === TaskSource.CALL) {
      if (!d.read(sel, "the JMP/CALL target descriptor")) throw d.fault(Vec.GP, sel, 0);
      if (!d.system) return sel;
      if (d.type === TYPE_TASK_GATE) {
        if (d.dpl < cpl || d.dpl < (sel & 3)) throw d.fault(Vec.GP, sel, 0);
        if (!d.present) throw d.fault(Vec.NP, sel, 0);
        return (d.lo >>> 16) & 0xffff;
      }
      if (d.dpl < cpl || d.dpl < (sel & 3)) throw d.fault(Vec.GP, sel, 0);
      return sel;
    }
    const type = (this.event >>> 8) & 7;
    if (this.source === TaskSource.GATE && (type === EventType.SW_INTERRUPT || type === EventType.SW_EXCEPTION)) {
      const vector = this.event & 0xff;
      const hi = this.mem.read((reply.in.idtr?.base ?? 0) + vector * 8 + 4, 4, "the IDT task gate");
      if (((hi >>> 13) & 3) < cpl) throw this.abort.fault(Vec.GP, true, vector * 8 + 2);
    }
    return sel;
  }

  /**
   * The new TSS descriptor (Vol. 2 JMP/CALL/INT n/IRET; Table 8-1): in the
   * GDT within its limit, a TSS that is available (busy for IRET), present,
   * and with a limit that holds the TSS. IRET's failures are #TS, the
   * others' #GP; not present is #NP. Returns whether it is a 32-bit TSS.
   */
  private checkNewTss(tssSel: number): boolean {
    const d = this.tssDesc;
    const iret = this.source === TaskSource.IRET;
    const bad = iret ? Vec.TS : Vec.GP;
    if (tssSel & 4 || !d.read(tssSel, "the new task's TSS descriptor")) throw d.fault(bad, tssSel, this.ext);
    const t = d.type;
    const isTss = d.system && (t === 1 || t === 3 || t === 9 || t === 11);
    if (!isTss || ((t & TSS_BUSY) !== 0) !== iret) throw d.fault(bad, tssSel, this.ext);
    if (!d.present) throw d.fault(Vec.NP, tssSel, this.ext);
    const is32 = (t & 8) !== 0;
    if (d.limit < (is32 ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT)) throw d.fault(Vec.TS, tssSel, this.ext);
    return is32;
  }

  /** Step 5: every TSS byte and descriptor the commit touches is reachable, so no #PF comes after a change. */
  private probe(is32: boolean): void {
    const o = this.out;
    const m = this.mem;
    const [off, len] = tssDynamicRange((o.tr.ar & 8) !== 0);
    m.probe(o.tr.base + off, len, true, "the old task's TSS");
    m.probe(this.tssDesc.base, tssReadLength(is32), this.nests, "the new task's TSS");
    const od = this.oldDesc;
    if (!this.nests && !(o.tr.sel & 4) && od.read(o.tr.sel, "the old task's TSS descriptor")) {
      m.probe(od.addr + 5, 1, true, "the old task's TSS descriptor");
    }
    if (this.source !== TaskSource.IRET) m.probe(this.tssDesc.addr + 5, 1, true, "the new task's TSS descriptor");
  }

  /** CALL and task gates nest (§8.4): back link, NT, old task stays busy. */
  private get nests(): boolean {
    return this.source === TaskSource.CALL || this.source === TaskSource.GATE;
  }

  /** Steps 6-11: save the old task, busy bits, link and NT, TR. */
  private commit(tssSel: number, is32: boolean): void {
    const o = this.out;
    const old = this.old;
    const next = this.next;
    const newBase = this.tssDesc.base;
    readTss(this.mem, newBase, is32, next);
    // Step 7: IRET clears NT in the saved image of the old task's EFLAGS.
    old.eflags = this.source === TaskSource.IRET ? o.eflags & ~EFLAGS_NT : o.eflags;
    old.gpr.set(o.gpr);
    for (let i = 0; i < 6; i++) old.sel[i] = o.seg[i].sel;
    saveTss(this.mem, o.tr.base, (o.tr.ar & 8) !== 0, old);
    // Step 6: JMP and IRET leave the old task not busy.
    if (!this.nests && !(o.tr.sel & 4) && this.oldDesc.read(o.tr.sel, "the old task's TSS descriptor")) {
      this.oldDesc.clearTypeBit(TSS_BUSY, "the old task's TSS descriptor");
    }
    // §8.4: the new task links back to the old and runs nested.
    if (this.nests) {
      this.mem.write(newBase + TSS_LINK, 2, o.tr.sel, "the new task's TSS");
      next.eflags |= EFLAGS_NT;
    }
    // Step 10: the new task is busy (IRET's already is).
    this.tssDesc.setTypeBit(TSS_BUSY, "the new task's TSS descriptor");
    o.tr = this.tssDesc.seg(tssSel);
  }

  /** Steps 12-13: CR3, EFLAGS, EIP, GPRs, LDTR, segment registers; CR0.TS (§2.5: set on every task switch). */
  private loadState(is32: boolean): void {
    const o = this.out;
    const next = this.next;
    o.cr0 = (o.cr0 | CR0_TS) >>> 0;
    // Without paging the CR3 field is read but not loaded (step 12); a 16-bit TSS has none.
    if (is32 && o.cr0 & CR0_PG) {
      o.cr3 = next.cr3;
      this.mem.cr3 = next.cr3;
    }
    o.eip = next.eip;
    if (is32) {
      o.eflags = ((next.eflags & EFLAGS_DEFINED) | 2) >>> 0;
      o.gpr.set(next.gpr);
    } else {
      // A 16-bit TSS holds the low halves only: the upper halves of the GPRs and of EFLAGS stay as they were,
      // VM excepted (QEMU's model, checked with guests/tasks on it; the SDM does not say).
      const upper = o.eflags & 0xffff_0000 & ~EFLAGS_VM;
      o.eflags = ((upper | (next.eflags & 0xffff)) & EFLAGS_DEFINED) | 2;
      for (let i = 0; i < 8; i++) o.gpr[i] = ((o.gpr[i] & 0xffff_0000) | next.gpr[i]) >>> 0;
    }
    // Selectors first, without their descriptors: what a fault below leaves (§6.15 Interrupt 10, "after the commit point").
    for (let i = 0; i < 6; i++) {
      const keep = i === TSS_CS || i === TSS_SS;
      o.seg[i] = keep ? { ...o.seg[i], sel: next.sel[i] } : unusable(next.sel[i]);
    }
    o.ldtr = unusable(next.ldt);
    const d = this.desc;
    o.ldtr = loadLdtr(d, next.ldt, this.ext);
    d.ldt = o.ldtr;
    if (o.eflags & EFLAGS_VM) {
      for (let i = 0; i < 6; i++) o.seg[i] = v86Segment(next.sel[i]);
      return;
    }
    const cpl = next.sel[TSS_CS] & 3;
    const cs = loadCs(d, next.sel[TSS_CS], cpl, this.ext);
    const ss = loadSs(d, next.sel[TSS_SS], cpl, this.ext);
    o.seg[TSS_CS] = cs;
    o.seg[TSS_SS] = ss;
    for (let i = 0; i < 6; i++) {
      if (i !== TSS_CS && i !== TSS_SS) o.seg[i] = loadData(d, next.sel[i], cpl, this.ext, SEG_NAMES[i].toUpperCase());
    }
  }

  /** Vol. 2 INT n, TASK-GATE: an exception's error code goes on the new task's stack, #SS(EXT) if it does not fit. */
  private pushErrorCode(is32: boolean): void {
    if (this.source !== TaskSource.GATE || !(this.event & VECTORING_ERROR)) return;
    const o = this.out;
    const ss = o.seg[TSS_SS];
    const size = is32 ? 4 : 2;
    const esp = o.gpr[ESP];
    if (!stackRoom(ss, esp, size)) throw this.abort.fault(Vec.SS, true, this.ext);
    const low = pushTarget(ss, esp, size);
    this.mem.write(ss.base + low, size, this.errorCode, "the new task's stack", this.cpl === 3);
    o.gpr[ESP] = ss.ar & AR_DB ? low : ((esp & 0xffff_0000) | low) >>> 0;
  }

  /** Writes the new task's state; a T flag raises #DB after the switch (§8.2.1). */
  private finish(reply: ReplyBuilder): void {
    this.writeOut(reply);
    this.interruptibility(reply);
    if (this.next.trap) reply.injectException(Vec.DB);
  }

  private failed(reply: ReplyBuilder): void {
    const a = this.abort;
    if (a.kind === ABORT_STOP) {
      reply.stop(a.reason, 1);
      return;
    }
    let vector = a.vector;
    let error: number | undefined = a.hasError ? a.error : undefined;
    const type = (this.event >>> 8) & 7;
    if (this.source === TaskSource.GATE && type === EventType.HW_EXCEPTION) {
      // Table 6-5 with the event being delivered as the first exception.
      const first = this.event & 0xff;
      const pageOrContributory = contributory(vector) || vector === Vec.PF;
      if (first === Vec.DF && pageOrContributory) {
        reply.stop(`triple fault: vector ${vector} while switching to the #DF task`, 1);
        return;
      }
      if ((contributory(first) && contributory(vector)) || (first === Vec.PF && pageOrContributory)) {
        vector = Vec.DF;
        error = 0;
      }
    }
    if (this.committed) {
      this.writeOut(reply);
      this.interruptibility(reply);
    }
    if (vector === Vec.PF) {
      this.out.cr2 = a.cr2 >>> 0;
      const o = this.out;
      const cr0 = this.committed ? o.cr0 : (reply.in.cr0 ?? 0);
      const cr3 = this.committed ? o.cr3 : (reply.in.cr3 ?? 0);
      reply.setState(Mtd.CR, { cr0, cr2: o.cr2, cr3, cr4: o.cr4 });
    }
    reply.injectException(vector, error);
  }

  private writeOut(reply: ReplyBuilder): void {
    const o = this.out;
    const g = o.gpr;
    const [es, cs, ss, ds, fs, gs] = o.seg;
    reply.setState(TASK_SWITCH_REPLY_MTD, {
      eax: g[0],
      ecx: g[1],
      edx: g[2],
      ebx: g[3],
      esp: g[4],
      ebp: g[5],
      esi: g[6],
      edi: g[7],
      eip: o.eip,
      instLen: 0,
      eflags: o.eflags,
      es,
      cs,
      ss,
      ds,
      fs,
      gs,
      ldtr: o.ldtr,
      tr: o.tr,
      cr0: o.cr0,
      cr2: o.cr2,
      cr3: o.cr3,
      cr4: o.cr4,
    });
  }

  /**
   * Table 24-3: a CALL, JMP, IRET or INT n that switched tasks has retired
   * (STI / MOV SS blocking ends); an NMI delivered through a task gate blocks
   * NMIs and IRET unblocks them (§6.7.1).
   */
  private interruptibility(reply: ReplyBuilder): void {
    if (!reply.exitHas(Mtd.STA)) return;
    const s = reply.in;
    const before = (s.intrState ?? 0) >>> 0;
    const type = (this.event >>> 8) & 7;
    let intr = before;
    if (this.source !== TaskSource.GATE || type >= EventType.SW_INTERRUPT) intr &= ~BLOCKING_STI_MOV_SS;
    if (this.source === TaskSource.GATE && type === EventType.NMI) intr |= BLOCKING_NMI;
    if (this.source === TaskSource.IRET) intr &= ~BLOCKING_NMI;
    if (intr !== before) reply.setState(Mtd.STA, { intrState: intr, actvState: s.actvState ?? 0 });
  }
}

const switchers = new WeakMap<VmmContext, TaskSwitch>();

/** Exit 9 (task switch): emulates the switch for the guest (vmm.ts registers it). */
export function handleTaskSwitch(exit: IVmExit, reply: ReplyBuilder, vmm: VmmContext): void {
  let t = switchers.get(vmm);
  if (t === undefined) {
    t = new TaskSwitch(vmm.ram);
    switchers.set(vmm, t);
  }
  t.run(exit, reply);
}
