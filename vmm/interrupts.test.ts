// Oracle: the Intel SDM. Vol. 3A §6.8.1 (maskable interrupts need
// EFLAGS.IF = 1), §6.8.3 (STI and MOV SS block interrupts for one
// instruction); Vol. 3C §24.4.2 Table 24-3 (interruptibility bits 0 STI,
// 1 MOV SS), §24.8.3 (one event per VM entry; type 0 external interrupt),
// Table 24-16 / §27.2.4 (IDT-vectoring information: valid bit 31, type
// 10:8, error code bit 11), §25.2 (interrupt-window exiting), §26.6.3
// (injection makes a halted processor active). The interrupt source is the
// real 8259A model, programmed as its datasheet says (ICW2 = vector base).
import { beforeEach, describe, expect, it } from "vitest";
import { I8259 } from "../devices/i8259.js";
import type { IGuestState, IVmExit } from "../proto/index.js";
import { Mtd } from "../proto/mtd.js";
import { portalMtd } from "../proto/portal-mtd.js";
import { deliverInterrupts, IrqLineRecorder, newInterruptStats } from "./interrupts.js";
import { ReplyBuilder } from "./reply.js";
import { PIC_INIT_20_28 } from "./testing/pic-init.js";

const IF = 1 << 9;
const STI = 1;
const MOV_SS = 2;
const HLT = 1;

/** A master/slave pair with vectors 0x20/0x28 (ICW1 0x11, ICW2, ICW3, ICW4 0x01), all unmasked. */
function pic(): I8259 {
  const p = new I8259();
  for (const [port, v] of PIC_INIT_20_28) p.ioWrite(port, 1, v);
  return p;
}

function exit(state: IGuestState, reason = 7): IVmExit {
  return {
    reason,
    mtd: portalMtd(reason),
    instLen: 0,
    state: { eip: 0x1000, eflags: 0x2 | IF, intrState: 0, actvState: 0, ...state },
  };
}

describe("deliverInterrupts", () => {
  let p: I8259;
  beforeEach(() => {
    p = pic();
  });

  it("with IF = 1 and no blocking acknowledges the PIC and injects its vector as an external interrupt (type 0)", () => {
    p.setIrq(0, true);
    const r = new ReplyBuilder(exit({}));
    deliverInterrupts(r, p, newInterruptStats());
    expect(r.msg.injectValid).toBe(true);
    expect(r.msg.inject).toEqual({ vector: 0x20, type: 0, hasError: false, error: 0 });
    expect(r.msg.wantIntrWindow).toBeFalsy();
    expect(p.hasInterrupt()).toBe(false); // moved to ISR by the INTA cycle
    expect(r.finish(null).mtd! & Mtd.INJ).toBe(Mtd.INJ);
  });

  it("with IF = 0 injects nothing, asks for an interrupt window and leaves the request pending", () => {
    p.setIrq(0, true);
    const r = new ReplyBuilder(exit({ eflags: 0x2 }));
    deliverInterrupts(r, p, newInterruptStats());
    expect(r.msg.injectValid).toBeFalsy();
    expect(r.msg.wantIntrWindow).toBe(true);
    expect(p.hasInterrupt()).toBe(true);
  });

  it("under blocking by STI asks for a window", () => {
    p.setIrq(0, true);
    const r = new ReplyBuilder(exit({ intrState: STI }));
    deliverInterrupts(r, p, newInterruptStats());
    expect(r.msg.injectValid).toBeFalsy();
    expect(r.msg.wantIntrWindow).toBe(true);
  });

  it("under blocking by MOV SS asks for a window", () => {
    p.setIrq(0, true);
    const r = new ReplyBuilder(exit({ intrState: MOV_SS }));
    deliverInterrupts(r, p, newInterruptStats());
    expect(r.msg.wantIntrWindow).toBe(true);
  });

  it("injects once the handler's instruction ended the STI blocking (the reply's state counts, not the exit's)", () => {
    p.setIrq(0, true);
    const r = new ReplyBuilder({ ...exit({ intrState: STI }, 10), instLen: 2 });
    r.advanceEip();
    deliverInterrupts(r, p, newInterruptStats());
    expect(r.msg.inject?.vector).toBe(0x20);
  });

  it("with an IDT-vectoring event pending re-injects that event and asks for a window for the new interrupt", () => {
    p.setIrq(1, true);
    // Vector 0x0e (#PF), type 3 hardware exception, error code valid, valid.
    const info = (0x8000_0000 | (1 << 11) | (3 << 8) | 0x0e) >>> 0;
    const r = new ReplyBuilder(exit({ idtVectInfo: info, idtVectError: 0x2 }, 48));
    const stats = newInterruptStats();
    deliverInterrupts(r, p, stats);
    expect(r.msg.inject).toEqual({ vector: 0x0e, type: 3, hasError: true, error: 0x2 });
    expect(r.msg.wantIntrWindow).toBe(true);
    expect(p.hasInterrupt()).toBe(true);
    expect(stats).toEqual({ injected: 0, windows: 1, reinjected: 1 });
  });

  it("re-injects a software interrupt with the exit's instruction length (SDM §26.6.1.1)", () => {
    const info = (0x8000_0000 | (4 << 8) | 0x80) >>> 0; // INT 0x80, type 4
    const r = new ReplyBuilder({ ...exit({ idtVectInfo: info }, 48), instLen: 2 });
    deliverInterrupts(r, p, newInterruptStats());
    const m = r.finish(null);
    expect(m.inject).toEqual({ vector: 0x80, type: 4, hasError: false, error: 0 });
    expect(m.state?.instLen).toBe(2);
    expect(m.state?.eip).toBe(0x1000);
  });

  it("keeps a handler's own injection and asks for a window instead of injecting a second event", () => {
    p.setIrq(0, true);
    const r = new ReplyBuilder(exit({}, 31));
    r.injectException(13, 0);
    deliverInterrupts(r, p, newInterruptStats());
    expect(r.msg.inject?.vector).toBe(13);
    expect(r.msg.wantIntrWindow).toBe(true);
  });

  it("wakes a halted vCPU: the activity state becomes active with the injection", () => {
    p.setIrq(0, true);
    const r = new ReplyBuilder(exit({ actvState: HLT }, 52));
    deliverInterrupts(r, p, newInterruptStats());
    const m = r.finish(null);
    expect(m.inject?.vector).toBe(0x20);
    expect(m.state?.actvState).toBe(0);
    expect(m.mtd! & Mtd.STA).toBe(Mtd.STA);
  });

  it("does nothing without a pending interrupt, and nothing after a stop", () => {
    const quiet = new ReplyBuilder(exit({}));
    deliverInterrupts(quiet, p, newInterruptStats());
    expect(quiet.msg.injectValid).toBeFalsy();
    expect(quiet.msg.wantIntrWindow).toBeFalsy();
    p.setIrq(0, true);
    const stopped = new ReplyBuilder(exit({}));
    stopped.stop("halted");
    deliverInterrupts(stopped, p, newInterruptStats());
    expect(stopped.msg.injectValid).toBeFalsy();
    expect(p.hasInterrupt()).toBe(true);
  });

  it("an exit without RFLAGS and STA cannot tell whether the guest can take it: window, no injection", () => {
    p.setIrq(0, true);
    const r = new ReplyBuilder({ reason: 255, mtd: Mtd.TSC, state: {} });
    deliverInterrupts(r, p, newInterruptStats());
    expect(r.msg.injectValid).toBeFalsy();
    expect(r.msg.wantIntrWindow).toBe(true);
  });
});

// Placement irqchip: what the VMM reports of its devices' lines must leave
// the hypervisor's 8259A exactly as the raw sequence of levels would have
// left it. Oracle: the 8259A model itself (its datasheet's edge latch and
// level sensing), fed the raw sequence, against a twin fed the recorder's
// compressed changes: every sequence of up to 7 levels, from either
// starting level, on a master and a slave input, edge- and level-triggered.
describe("IrqLineRecorder", () => {
  /** IRR of master and slave (OCW3 read IRR), INT, and the vector an INTA would return. */
  function observe(p: I8259): number[] {
    p.ioWrite(0x20, 1, 0x0a);
    p.ioWrite(0xa0, 1, 0x0a);
    const state = [p.ioRead(0x20, 1), p.ioRead(0xa0, 1), +p.hasInterrupt()];
    return p.hasInterrupt() ? [...state, p.acknowledge()] : state;
  }

  function sequences(n: number): boolean[][] {
    return Array.from({ length: 2 ** n }, (_, bits) => Array.from({ length: n }, (_, i) => ((bits >>> i) & 1) === 1));
  }

  it("leaves an 8259A as the raw level sequence does, with at most three changes per line", () => {
    let cases = 0;
    for (const line of [4, 9])
      for (const elcr of [0, 1 << line])
        for (const start of [false, true])
          for (let n = 0; n <= 7; n++)
            for (const seq of sequences(n)) {
              const raw = pic();
              const sent = pic();
              for (const q of [raw, sent]) {
                q.ioWrite(0x4d0, 1, elcr & 0xff);
                q.ioWrite(0x4d1, 1, elcr >>> 8);
                q.setIrq(line, start);
              }
              const rec = new IrqLineRecorder();
              for (const level of seq) {
                raw.setIrq(line, level);
                rec.setIrq(line, level);
              }
              const changes = rec.take();
              expect(changes.length).toBeLessThanOrEqual(3);
              for (const c of changes) sent.setIrq(c.irq, c.level);
              expect(observe(sent), `line ${line} elcr ${elcr} from ${start}: ${seq}`).toEqual(observe(raw));
              cases++;
            }
    expect(cases).toBe(2 * 2 * 2 * (2 ** 8 - 1));
  });

  it("reports each line's changes in the order lines first changed, and forgets them once taken", () => {
    const rec = new IrqLineRecorder();
    rec.setIrq(8, true);
    rec.setIrq(4, true);
    rec.setIrq(8, true); // a repeat is not a change
    rec.setIrq(4, false);
    expect(rec.take()).toEqual([
      { irq: 8, level: true },
      { irq: 4, level: true },
      { irq: 4, level: false },
    ]);
    expect(rec.take()).toEqual([]);
  });
});
