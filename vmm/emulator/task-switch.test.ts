// Oracle: the Intel SDM. Vol. 3A §8.2 (TSS formats: Figure 8-2 32-bit,
// Figure 8-11 16-bit; TSS descriptor busy flag §8.2.2), §8.3 (the steps of a
// task switch and Table 8-1, the exception conditions checked), §8.4 (task
// linking, Table 8-2: NT, previous-task link and busy flag per source),
// §2.5 (CR0.TS set on every task switch), §6.13 (EXT bit), §6.15 (#TS, #DF
// and Table 6-5), §4.7 (#PF, CR2); Vol. 2 JMP/CALL/IRET/INT n pseudocode;
// Vol. 3C Table 27-2 (task-switch qualification) and Table 24-16
// (IDT-vectoring information). Every expected value below is worked out
// from those rules for the hand-built GDT, TSSs and page tables here.
import { describe, expect, it } from "vitest";
import { ExitReason } from "../../proto/exit-reason.js";
import type { IGuestState, IVmExit, IVmReply } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { portalMtd } from "../../proto/portal-mtd.js";
import { GuestRam } from "../guest-ram.js";
import { ReplyBuilder } from "../reply.js";
import { makeVmm } from "../testing/exit-messages.js";
import { TaskSwitch } from "./task-switch.js";

const GDT = 0x1000;
const IDT = 0x1800;
const TSS_A = 0x2000; // the running task's 32-bit TSS
const TSS_B = 0x3000; // a 32-bit TSS
const TSS_C = 0x4000; // a 16-bit TSS
const LDT = 0x5000;
const PAGE_DIR = 0x10000;
const PAGE_TABLE = 0x11000;

const CODE0 = 0x08;
const DATA0 = 0x10;
const CODE3 = 0x1b;
const DATA3 = 0x23;
const SEL_A = 0x28;
const SEL_B = 0x30;
const GATE_B = 0x38; // task gate (DPL 0) to SEL_B
const SEL_C = 0x40;
const SEL_LDT = 0x48;
const SEL_NP = 0x50; // a 32-bit TSS descriptor, not present
const SEL_SHORT = 0x58; // a 32-bit TSS with limit 66H
const SS_NP = 0x60; // a data segment, not present
const LDT_DATA = 0x0c | 0; // LDT entry 1, TI = 1, RPL 0

const CR0_PE_ET = 0x11;
const CR0_TS = 0x8;
const CR0_PG = 0x8000_0000;
const NT = 0x4000;

const CALL = 0;
const IRET = 1;
const JMP = 2;
const GATE = 3;

const qual = (sel: number, source: number) => ((source << 30) | sel) >>> 0;

function segment(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((limit & 0xffff) | ((base & 0xffff) << 16)) >>> 0;
  const hi = (((base >>> 16) & 0xff) | (access << 8) | (limit & 0xf_0000) | (flags << 20) | (base & 0xff00_0000)) >>> 0;
  return [lo, hi];
}

class Guest {
  readonly ram = new GuestRam(new SharedArrayBuffer(1 << 20));

  constructor() {
    // Flat ring 0 and ring 3 code and data (Figure 3-8; access bytes 9A/92/FA/F2, G = 1, D = 1).
    this.desc(CODE0, segment(0, 0xfffff, 0x9a, 0xc));
    this.desc(DATA0, segment(0, 0xfffff, 0x92, 0xc));
    this.desc(CODE3, segment(0, 0xfffff, 0xfa, 0xc));
    this.desc(DATA3, segment(0, 0xfffff, 0xf2, 0xc));
    // TSS descriptors (Figure 8-3): A busy (type 11, it runs), B available 32-bit (9), C available 16-bit (1).
    this.desc(SEL_A, segment(TSS_A, 0x67, 0x8b, 0));
    this.desc(SEL_B, segment(TSS_B, 0x67, 0x89, 0));
    this.desc(SEL_C, segment(TSS_C, 0x2b, 0x81, 0));
    this.desc(SEL_NP, segment(TSS_B, 0x67, 0x09, 0));
    this.desc(SEL_SHORT, segment(TSS_B, 0x66, 0x89, 0));
    this.desc(SS_NP, segment(0, 0xfffff, 0x12, 0xc));
    // Task gate (Figure 8-5): TSS selector in bits 31:16, type 5, P, DPL 0.
    this.desc(GATE_B, [SEL_B << 16, 0x8500]);
    // An LDT (type 2) with one data segment at base 0x8000.
    this.desc(SEL_LDT, segment(LDT, 0xf, 0x82, 0));
    this.ram.write32(LDT + 8, segment(0x8000, 0xffff, 0x92, 0x4)[0]);
    this.ram.write32(LDT + 12, segment(0x8000, 0xffff, 0x92, 0x4)[1]);
    this.tss32(TSS_B, {
      eip: 0x20_0000,
      eflags: 0x0000_08c3, // OF SF ZF CF and bit 1
      gpr: [0xa1, 0xc1, 0xd1, 0xb1, 0x9000, 0xbb, 0x51, 0xd7],
      sel: [DATA0, CODE0, DATA0, DATA0, 0, 0],
      cr3: PAGE_DIR,
    });
  }

  desc(sel: number, [lo, hi]: [number, number]): void {
    this.ram.write32(GDT + (sel & ~7), lo);
    this.ram.write32(GDT + (sel & ~7) + 4, hi);
  }

  descHi(sel: number): number {
    return this.ram.read32(GDT + (sel & ~7) + 4);
  }

  /** Figure 8-2 field offsets. */
  tss32(
    base: number,
    t: { eip: number; eflags: number; gpr: number[]; sel: number[]; cr3?: number; ldt?: number; link?: number },
  ): void {
    this.ram.write32(base + 0x00, t.link ?? 0);
    this.ram.write32(base + 0x1c, t.cr3 ?? 0);
    this.ram.write32(base + 0x20, t.eip);
    this.ram.write32(base + 0x24, t.eflags);
    t.gpr.forEach((v, i) => {
      this.ram.write32(base + 0x28 + 4 * i, v);
    });
    t.sel.forEach((v, i) => {
      this.ram.write32(base + 0x48 + 4 * i, v);
    });
    this.ram.write32(base + 0x60, t.ldt ?? 0);
  }

  read16(a: number): number {
    return this.ram.read32(a) & 0xffff;
  }

  write16(a: number, v: number): void {
    this.ram.write32(a, (this.ram.read32(a) & 0xffff_0000) | (v & 0xffff));
  }
}

const flatCode = (sel = CODE0) => ({ sel, base: 0, limit: 0xffff_ffff, ar: 0xc09b });
const flatData = (sel = DATA0) => ({ sel, base: 0, limit: 0xffff_ffff, ar: 0xc093 });
const nullSeg = { sel: 0, base: 0, limit: 0, ar: 0x1_0000 };

/** The state at the exit: task A at ring 0, flat segments, paging off. */
function stateA(extra: IGuestState = {}): IGuestState {
  return {
    eax: 0x11,
    ecx: 0x22,
    edx: 0x33,
    ebx: 0x44,
    esp: 0x7000,
    ebp: 0x55,
    esi: 0x66,
    edi: 0x77,
    eip: 0x10_0040,
    eflags: 0x246,
    cs: flatCode(),
    ss: flatData(),
    ds: flatData(),
    es: flatData(),
    fs: nullSeg,
    gs: nullSeg,
    tr: { sel: SEL_A, base: TSS_A, limit: 0x67, ar: 0x8b },
    ldtr: nullSeg,
    gdtr: { base: GDT, limit: 0x7f },
    idtr: { base: IDT, limit: 0x7ff },
    cr0: CR0_PE_ET,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    intrState: 0,
    actvState: 0,
    idtVectInfo: 0,
    idtVectError: 0,
    ...extra,
  };
}

function exitOf(q: number, state: IGuestState, instLen = 7): IVmExit {
  return { reason: ExitReason.TASK_SWITCH, mtd: portalMtd(ExitReason.TASK_SWITCH), qual: q, instLen, state };
}

function run(g: Guest, exit: IVmExit): IVmReply & { state: IGuestState } {
  const reply = new ReplyBuilder(exit);
  new TaskSwitch(g.ram).run(exit, reply);
  return reply.finish(null) as IVmReply & { state: IGuestState };
}

describe("task switch by JMP to a 32-bit TSS (§8.3, Table 8-2)", () => {
  const g = new Guest();
  const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));

  it("saves the old task's dynamic fields, EIP after the JMP (step 8, Figure 8-2)", () => {
    expect(g.ram.read32(TSS_A + 0x20)).toBe(0x10_0047);
    expect(g.ram.read32(TSS_A + 0x24)).toBe(0x246);
    const gprs = [0x11, 0x22, 0x33, 0x44, 0x7000, 0x55, 0x66, 0x77];
    gprs.forEach((v, i) => {
      expect(g.ram.read32(TSS_A + 0x28 + 4 * i)).toBe(v);
    });
    [DATA0, CODE0, DATA0, DATA0, 0, 0].forEach((v, i) => {
      expect(g.read16(TSS_A + 0x48 + 4 * i)).toBe(v);
    });
  });

  it("clears the old task's busy flag and sets the new one's (steps 6, 10)", () => {
    expect((g.descHi(SEL_A) >>> 8) & 0xf).toBe(9);
    expect((g.descHi(SEL_B) >>> 8) & 0xf).toBe(11);
  });

  it("writes no back link and leaves NT as the new TSS has it (Table 8-2, JMP)", () => {
    expect(g.ram.read32(TSS_B)).toBe(0);
    expect(r.state.eflags).toBe(0x8c3);
  });

  it("loads the new task's registers, EIP and TR with a busy type (steps 11, 12)", () => {
    expect(r.state).toMatchObject({ eax: 0xa1, ecx: 0xc1, edx: 0xd1, ebx: 0xb1, esp: 0x9000, ebp: 0xbb });
    expect(r.state).toMatchObject({ esi: 0x51, edi: 0xd7, eip: 0x20_0000 });
    expect(r.state.tr).toEqual({ sel: SEL_B, base: TSS_B, limit: 0x67, ar: 0x8b });
    expect(r.state.cs).toEqual({ sel: CODE0, base: 0, limit: 0xffff_ffff, ar: 0xc09b });
    expect(r.state.ss).toEqual({ sel: DATA0, base: 0, limit: 0xffff_ffff, ar: 0xc093 });
    expect(r.state.fs?.ar).toBe(0x1_0000);
    expect(r.state.ldtr?.ar).toBe(0x1_0000);
  });

  it("sets CR0.TS (§2.5) and, with paging off, does not load CR3 (step 12)", () => {
    expect(r.state.cr0).toBe(CR0_PE_ET | CR0_TS);
    expect(r.state.cr3).toBe(0);
  });

  it("sets the accessed flag of the descriptors it loads (§3.4.5.1)", () => {
    expect((g.descHi(CODE0) >>> 8) & 1).toBe(1);
    expect((g.descHi(DATA0) >>> 8) & 1).toBe(1);
  });

  it("names every group it writes and injects nothing", () => {
    const groups = Mtd.GPR_ACDB | Mtd.GPR_BSD | Mtd.RSP | Mtd.RIP_LEN | Mtd.RFLAGS | Mtd.CS_SS | Mtd.DS_ES;
    expect((r.mtd ?? 0) & (groups | Mtd.FS_GS | Mtd.TR | Mtd.LDTR | Mtd.CR)).toBe(
      groups | Mtd.FS_GS | Mtd.TR | Mtd.LDTR | Mtd.CR,
    );
    expect(r.injectValid ?? false).toBe(false);
    expect(r.stop ?? false).toBe(false);
  });
});

describe("CALL through a task gate and IRET back (§8.4)", () => {
  const g = new Guest();
  const call = run(g, exitOf(qual(GATE_B, CALL), stateA()));

  it("CALL links the new TSS to the old, sets NT and keeps the old task busy (Table 8-2)", () => {
    expect(g.read16(TSS_B)).toBe(SEL_A);
    expect(call.state.eflags).toBe(0x8c3 | NT);
    expect((g.descHi(SEL_A) >>> 8) & 0xf).toBe(11);
    expect((g.descHi(SEL_B) >>> 8) & 0xf).toBe(11);
    expect(call.state.tr?.sel).toBe(SEL_B);
  });

  it("IRET returns to the linked task, clears NT in the saved image and the busy flag of the task it leaves", () => {
    const inB = stateA({
      ...call.state,
      eip: 0x20_0010,
      eflags: 0x8c3 | NT,
      eax: 0xbeef,
      cr0: CR0_PE_ET | CR0_TS,
    });
    const back = run(g, exitOf(qual(SEL_A, IRET), inB, 1));
    expect(g.ram.read32(TSS_B + 0x20)).toBe(0x20_0011);
    expect(g.ram.read32(TSS_B + 0x24)).toBe(0x8c3);
    expect(g.ram.read32(TSS_B + 0x28)).toBe(0xbeef);
    expect((g.descHi(SEL_B) >>> 8) & 0xf).toBe(9);
    expect((g.descHi(SEL_A) >>> 8) & 0xf).toBe(11);
    // Task A resumes where CALL saved it: after the 7-byte CALL, its registers and EFLAGS.
    expect(back.state).toMatchObject({ eip: 0x10_0047, eflags: 0x246, eax: 0x11, esp: 0x7000 });
    expect(back.state.tr).toEqual({ sel: SEL_A, base: TSS_A, limit: 0x67, ar: 0x8b });
  });
});

describe("faults before the commit point leave the old task unchanged (Vol. 2 JMP/CALL/IRET, Table 8-1)", () => {
  const cases: [string, number, number, number, number][] = [
    ["JMP to a busy TSS: #GP(selector)", SEL_A, JMP, 13, SEL_A],
    ["CALL to a TSS that is not present: #NP(selector)", SEL_NP, CALL, 11, SEL_NP],
    ["JMP to a TSS with limit 66H: #TS(selector)", SEL_SHORT, JMP, 10, SEL_SHORT],
    ["IRET to an available TSS: #TS(selector)", SEL_B, IRET, 10, SEL_B],
    ["JMP to a selector beyond the GDT limit: #GP(selector)", 0x80, JMP, 13, 0x80],
    ["IRET to a selector with TI = 1: #TS(selector with TI, §6.13)", SEL_A | 4, IRET, 10, SEL_A | 4],
  ];
  for (const [what, sel, source, vector, error] of cases) {
    it(what, () => {
      const g = new Guest();
      const before = g.ram.bytes.slice();
      const r = run(g, exitOf(qual(sel, source), stateA()));
      expect(r.inject).toMatchObject({ vector, type: 3, hasError: true, error });
      expect(r.state?.eip).toBeUndefined();
      expect(r.state?.tr).toBeUndefined();
      expect(Buffer.from(g.ram.bytes).equals(Buffer.from(before))).toBe(true);
    });
  }

  it("a TSS descriptor with DPL < CPL is #GP(selector) for a JMP from ring 3", () => {
    const g = new Guest();
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA({ cs: flatCode(CODE3), ss: { ...flatData(DATA3), ar: 0xc0f3 } })));
    expect(r.inject).toMatchObject({ vector: 13, error: SEL_B });
  });
});

describe("task gates in the IDT (source 3, IDT-vectoring information)", () => {
  /** Table 24-16: valid, type, error code valid, vector. */
  const vectoring = (vector: number, type: number, withError: boolean) =>
    (0x8000_0000 | (withError ? 0x800 : 0) | (type << 8) | vector) >>> 0;

  it("an exception with an error code: the old task resumes at the faulting instruction, the code is pushed on the new stack", () => {
    const g = new Guest();
    const r = run(g, exitOf(qual(SEL_B, GATE), stateA({ idtVectInfo: vectoring(13, 3, true), idtVectError: 0x1234 })));
    expect(g.ram.read32(TSS_A + 0x20)).toBe(0x10_0040);
    expect(g.read16(TSS_B)).toBe(SEL_A);
    expect(r.state.esp).toBe(0x9000 - 4);
    expect(g.ram.read32(0x9000 - 4)).toBe(0x1234);
    expect(r.state.eflags).toBe(0x8c3 | NT);
    expect(r.injectValid ?? false).toBe(false);
  });

  it("INT n: the old task resumes after the INT instruction; no error code", () => {
    const g = new Guest();
    g.ram.write32(IDT + 0x41 * 8, SEL_B << 16);
    g.ram.write32(IDT + 0x41 * 8 + 4, 0x8500);
    const r = run(g, exitOf(qual(SEL_B, GATE), stateA({ idtVectInfo: vectoring(0x41, 4, false) }), 2));
    expect(g.ram.read32(TSS_A + 0x20)).toBe(0x10_0042);
    expect(r.state.esp).toBe(0x9000);
  });

  it("INT n at CPL 3 through a DPL 0 task gate is #GP(vector * 8 + 2) (§6.12.1.1)", () => {
    const g = new Guest();
    g.ram.write32(IDT + 0x41 * 8, SEL_B << 16);
    g.ram.write32(IDT + 0x41 * 8 + 4, 0x8500);
    const ring3 = { cs: flatCode(CODE3), ss: { ...flatData(DATA3), ar: 0xc0f3 } };
    const r = run(g, exitOf(qual(SEL_B, GATE), stateA({ ...ring3, idtVectInfo: vectoring(0x41, 4, false) }), 2));
    expect(r.inject).toMatchObject({ vector: 13, error: 0x41 * 8 + 2 });
  });

  it("a fault while a #PF is delivered becomes #DF (Table 6-5), its error code 0; EXT is set in the first one", () => {
    const g = new Guest();
    const r = run(g, exitOf(qual(SEL_NP, GATE), stateA({ idtVectInfo: vectoring(14, 3, true), idtVectError: 2 })));
    expect(r.inject).toMatchObject({ vector: 8, hasError: true, error: 0 });
  });

  it("a benign event keeps the switch's own fault, with EXT = 1 for an external interrupt (§6.13)", () => {
    const g = new Guest();
    const r = run(g, exitOf(qual(SEL_NP, GATE), stateA({ idtVectInfo: vectoring(0x20, 0, false) })));
    expect(r.inject).toMatchObject({ vector: 11, hasError: true, error: SEL_NP | 1 });
  });

  it("a fault while the #DF task gate is used is a triple fault: the VM stops (§6.15 Interrupt 8)", () => {
    const g = new Guest();
    const r = run(g, exitOf(qual(SEL_NP, GATE), stateA({ idtVectInfo: vectoring(8, 3, true) })));
    expect(r.stop).toBe(true);
    expect(r.stopReason).toMatch(/triple fault/);
  });

  it("an NMI delivered through a task gate blocks NMIs; IRET unblocks them (§6.7.1, Table 24-3)", () => {
    const g = new Guest();
    const r = run(g, exitOf(qual(SEL_B, GATE), stateA({ idtVectInfo: vectoring(2, 2, false) })));
    expect(r.state.intrState).toBe(0x8);
    const back = run(g, exitOf(qual(SEL_A, IRET), stateA({ ...r.state, intrState: 0x8 }), 1));
    expect(back.state.intrState).toBe(0);
  });

  it("a task-gate exit without IDT-vectoring information stops the VM", () => {
    const r = run(new Guest(), exitOf(qual(SEL_B, GATE), stateA()));
    expect(r.stop).toBe(true);
  });
});

describe("faults after the commit point are delivered in the new task (§6.15 Interrupt 10)", () => {
  it("a not-present SS is #SS(selector) with TR, EIP and the busy flags already the new task's", () => {
    const g = new Guest();
    g.ram.write32(TSS_B + 0x50, SS_NP);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.inject).toMatchObject({ vector: 12, hasError: true, error: SS_NP });
    expect(r.state.tr?.sel).toBe(SEL_B);
    expect(r.state.eip).toBe(0x20_0000);
    expect((g.descHi(SEL_B) >>> 8) & 0xf).toBe(11);
    expect(r.state.ds?.sel).toBe(DATA0);
  });

  it("a CS selector whose RPL differs from a non-conforming segment's DPL is #TS(selector)", () => {
    const g = new Guest();
    g.ram.write32(TSS_B + 0x4c, CODE0 | 3);
    g.ram.write32(TSS_B + 0x50, DATA3);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.inject).toMatchObject({ vector: 10, error: CODE0 });
  });

  it("an LDT selector that is not an LDT descriptor is #TS(LDT selector)", () => {
    const g = new Guest();
    g.ram.write32(TSS_B + 0x60, SEL_B);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.inject).toMatchObject({ vector: 10, error: SEL_B });
  });

  it("an EIP beyond the new CS limit is #GP(0) (Vol. 2 JMP)", () => {
    const g = new Guest();
    g.desc(0x68, segment(0, 0xfff, 0x9a, 0x4));
    g.ram.write32(TSS_B + 0x4c, 0x68);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.inject).toMatchObject({ vector: 13, error: 0 });
  });
});

describe("more of Table 8-1 and the switch's side effects", () => {
  it("a data segment with DPL < CPL is #TS(selector) (§6.15: data segment DPL < CPL)", () => {
    const g = new Guest();
    g.ram.write32(TSS_B + 0x4c, CODE3);
    g.ram.write32(TSS_B + 0x50, DATA3);
    g.ram.write32(TSS_B + 0x54, DATA0);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.inject).toMatchObject({ vector: 10, error: DATA0 });
    expect(r.state.cs?.sel).toBe(CODE3);
  });

  it("an error code that does not fit the new stack is #SS(EXT) (Vol. 2 INT n, TASK-GATE)", () => {
    const g = new Guest();
    g.desc(0x68, segment(0, 0xfff, 0x92, 0x4)); // a 4 KiB data segment
    g.ram.write32(TSS_B + 0x50, 0x68);
    g.ram.write32(TSS_B + 0x38, 2);
    const info = (0x8000_0000 | 0x800 | 0x300 | 13) >>> 0;
    const r = run(g, exitOf(qual(SEL_B, GATE), stateA({ idtVectInfo: info, idtVectError: 0 })));
    // #GP being delivered, #SS from the switch: contributory twice is #DF (Table 6-5).
    expect(r.inject).toMatchObject({ vector: 8, error: 0 });
    const ext = run(new Guest(), exitOf(qual(SEL_B, GATE), stateA({ idtVectInfo: info })));
    expect(ext.state.esp).toBe(0x9000 - 4);
  });

  it("the T flag of the new TSS raises #DB after the switch (§8.2.1)", () => {
    const g = new Guest();
    g.ram.write32(TSS_B + 0x64, 1);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.state.tr?.sel).toBe(SEL_B);
    expect(r.inject).toMatchObject({ vector: 1, type: 3, hasError: false });
  });

  it("a JMP that switches tasks retires: blocking by STI ends (Table 24-3)", () => {
    const r = run(new Guest(), exitOf(qual(SEL_B, JMP), stateA({ intrState: 1 })));
    expect(r.state.intrState).toBe(0);
  });
});

describe("the new task's LDT and virtual-8086 mode", () => {
  it("loads LDTR first, so DS may name a descriptor in the new LDT", () => {
    const g = new Guest();
    g.ram.write32(TSS_B + 0x60, SEL_LDT);
    g.ram.write32(TSS_B + 0x54, LDT_DATA);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.state.ldtr).toEqual({ sel: SEL_LDT, base: LDT, limit: 0xf, ar: 0x82 });
    expect(r.state.ds).toEqual({ sel: LDT_DATA, base: 0x8000, limit: 0xffff, ar: 0x4093 });
  });

  it("EFLAGS.VM in the new TSS makes segments base = selector * 16, limit FFFFH (§20.1.1)", () => {
    const g = new Guest();
    g.ram.write32(TSS_B + 0x24, 0x2_0202);
    [0x1000, 0x2000, 0x3000, 0x4000, 0, 0].forEach((v, i) => {
      g.ram.write32(TSS_B + 0x48 + 4 * i, v);
    });
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.state.eflags).toBe(0x2_0202);
    expect(r.state.cs).toEqual({ sel: 0x2000, base: 0x2_0000, limit: 0xffff, ar: 0xf3 });
    expect(r.state.ss).toEqual({ sel: 0x3000, base: 0x3_0000, limit: 0xffff, ar: 0xf3 });
  });
});

describe("16-bit (80286) TSS, Figure 8-11", () => {
  it("CALL reads the 16-bit fields, links back at offset 0 and sets busy type 3", () => {
    const g = new Guest();
    const f = [0x1234, 0x0002, 0xaa, 0xcc, 0xdd, 0xbb, 0x8000, 0xee, 0x5e, 0xd1];
    f.forEach((v, i) => {
      g.write16(TSS_C + 0x0e + 2 * i, v);
    }); // IP FLAGS AX CX DX BX SP BP SI DI
    [DATA0, CODE0, DATA0, DATA0].forEach((v, i) => {
      g.write16(TSS_C + 0x22 + 2 * i, v);
    }); // ES CS SS DS
    g.write16(TSS_C + 0x2a, 0);
    const r = run(g, exitOf(qual(SEL_C, CALL), stateA({ ebx: 0x7777_0044 })));
    expect(g.read16(TSS_C)).toBe(SEL_A);
    expect((g.descHi(SEL_C) >>> 8) & 0xf).toBe(3);
    expect(r.state.eip).toBe(0x1234);
    expect(r.state.eflags).toBe(0x2 | NT);
    // Only the low halves come from the TSS; the upper halves stay (QEMU's model, guests/tasks).
    expect(r.state.eax).toBe(0xaa);
    expect(r.state.esp).toBe(0x8000);
    expect(r.state.ebx).toBe(0x7777_00bb);
    expect(r.state.tr).toEqual({ sel: SEL_C, base: TSS_C, limit: 0x2b, ar: 0x83 });
    expect(r.state.fs?.ar).toBe(0x1_0000);
  });

  it("saves a 16-bit old task into 16-bit fields", () => {
    const g = new Guest();
    g.desc(SEL_C, segment(TSS_C, 0x2b, 0x83, 0));
    g.desc(SEL_A, segment(TSS_A, 0x67, 0x89, 0));
    const inC = stateA({ tr: { sel: SEL_C, base: TSS_C, limit: 0x2b, ar: 0x83 }, eax: 0xffff_4321, eip: 0x300 });
    run(g, exitOf(qual(SEL_A, JMP), inC, 5));
    expect(g.read16(TSS_C + 0x0e)).toBe(0x305);
    expect(g.read16(TSS_C + 0x12)).toBe(0x4321);
    expect(g.read16(TSS_C + 0x24)).toBe(CODE0);
  });
});

describe("paging (§4.3, §4.7)", () => {
  /** Identity-maps the first 4 MiB but page 3 (TSS_B), which `tssPte` maps (0: not present). */
  function paged(g: Guest, tssPte: number): void {
    g.ram.write32(PAGE_DIR, PAGE_TABLE | 0x3);
    for (let p = 0; p < 256; p++) g.ram.write32(PAGE_TABLE + 4 * p, (p << 12) | 0x3);
    g.ram.write32(PAGE_TABLE + 4 * 3, tssPte);
  }

  it("loads CR3 from a 32-bit TSS when paging is on (step 12)", () => {
    const g = new Guest();
    paged(g, TSS_B | 0x3);
    g.ram.write32(TSS_B + 0x1c, 0x2_0000);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA({ cr0: CR0_PE_ET | CR0_PG, cr3: PAGE_DIR })));
    expect(r.state.cr3).toBe(0x2_0000);
    expect(r.state.cr0).toBe((CR0_PE_ET | CR0_PG | CR0_TS) >>> 0);
  });

  it("a new TSS on a not-present page is #PF with CR2 before anything changes (step 5)", () => {
    const g = new Guest();
    paged(g, 0);
    const before = g.ram.read32(TSS_A + 0x20);
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA({ cr0: CR0_PE_ET | CR0_PG, cr3: PAGE_DIR })));
    expect(r.inject).toMatchObject({ vector: 14, hasError: true, error: 0 });
    expect(r.state.cr2).toBe(TSS_B);
    expect(r.state.cr3).toBe(PAGE_DIR);
    expect(g.ram.read32(TSS_A + 0x20)).toBe(before);
    expect((g.descHi(SEL_A) >>> 8) & 0xf).toBe(11);
  });

  it("a TSS that is not in RAM stops the VM with a reason naming it", () => {
    const g = new Guest();
    g.desc(SEL_B, segment(0xfff0_0000, 0x67, 0x89, 0));
    const r = run(g, exitOf(qual(SEL_B, JMP), stateA()));
    expect(r.stop).toBe(true);
    expect(r.stopReason).toMatch(/new task's TSS .*0xfff00000.*not in RAM/);
  });
});

describe("through the VMM (vmm.ts registration, proto/portal-mtd.ts)", () => {
  it("the portal of exit 9 carries TR, LDTR, GDTR, IDTR, CR, QUAL and INJ", () => {
    const need = Mtd.TR | Mtd.LDTR | Mtd.GDTR | Mtd.IDTR | Mtd.CR | Mtd.QUAL | Mtd.INJ | Mtd.GPR_BSD | Mtd.FS_GS;
    expect(portalMtd(ExitReason.TASK_SWITCH) & need).toBe(need);
  });

  it("completes the delivery of a task-gate event: the IDT-vectoring event is not injected again", () => {
    const ram = new SharedArrayBuffer(1 << 20);
    const g = new Guest();
    new Uint8Array(ram).set(g.ram.bytes);
    const vmm = makeVmm(0, { ram });
    const info = (0x8000_0000 | 0x300 | 0) >>> 0; // #DE, hardware exception, no error code
    const r = vmm.handleExit(exitOf(qual(SEL_B, GATE), stateA({ idtVectInfo: info })));
    expect(r.stop ?? false).toBe(false);
    expect(r.injectValid ?? false).toBe(false);
    expect(r.state?.tr?.sel).toBe(SEL_B);
  });
});
