// Oracle: Intel SDM Vol. 3A chapter 10 "Advanced Programmable Interrupt
// Controller (APIC)": Table 10-1 (register addresses and reset values: DFR
// FFFFFFFFh, SVR 000000FFh, LVT entries masked), §10.4.7.2 (software disable
// sets and holds the LVT masks), §10.5.1 and Figure 10-8 (LVT layout),
// §10.5.3 and Figure 10-9 (ESR bits; a write latches and clears), §10.5.4
// and Figure 10-10 (timer modes, divide configuration), §10.6.1 (ICR,
// destination shorthands), §10.6.2 (physical and logical destinations, flat
// and cluster models), §10.8.3.1 (PPR), §10.8.4 (IRR -> ISR on acceptance,
// priority class above PPR), §10.8.5 (EOI, broadcast for TMR vectors), §10.9
// (spurious vector); MP Specification 1.4 §3.6.2.2 (virtual wire mode).
// Timer times: the timer's input clock is set to 100 MHz = 1 count per tick.
import { describe, expect, it } from "vitest";
import { DeliveryMode, type ExtIntController } from "./apic-bus.js";
import { VirtualClock } from "./clock.js";
import { Lapic } from "./lapic.js";
import { SnapshotError } from "./snapshot.js";

function apic(options: { virtualWire?: boolean; pic?: ExtIntController; id?: number } = {}) {
  const clock = new VirtualClock();
  const eois: number[] = [];
  const l = new Lapic({ clock, ...options });
  l.eoiListener = { eoi: (v) => eois.push(v) };
  const rd = (off: number) => l.mmioRead(off, 4);
  const wr = (off: number, v: number) => l.mmioWrite(off, 4, v);
  const fixed = (vector: number, level = false) =>
    l.deliverInterrupt(vector, DeliveryMode.FIXED, false, l.mmioRead(0x20, 4) >>> 24, level);
  const esr = () => {
    wr(0x280, 0);
    return rd(0x280);
  };
  return { l, clock, eois, rd, wr, fixed, esr };
}

describe("registers at reset (Table 10-1)", () => {
  it("version 00050014h, ID from the option, DFR all ones, SVR FFh, every LVT masked", () => {
    const { rd } = apic({ virtualWire: false, id: 3 });
    expect(rd(0x30)).toBe(0x0005_0014);
    expect(rd(0x20)).toBe(0x0300_0000);
    expect(rd(0xe0)).toBe(0xffff_ffff);
    expect(rd(0xf0)).toBe(0xff);
    for (let off = 0x320; off <= 0x370; off += 0x10) expect(rd(off)).toBe(0x0001_0000);
  });

  it("virtual wire mode (MP spec 3.6.2.2): APIC enabled, LINT0 ExtINT, LINT1 NMI", () => {
    const { rd } = apic();
    expect(rd(0xf0) & 0x100).toBe(0x100);
    expect(rd(0x350)).toBe(0x0000_0700);
    expect(rd(0x360)).toBe(0x0000_0400);
  });
});

describe("acceptance, priority and EOI (10.8)", () => {
  it("an accepted fixed interrupt sets IRR; INTA moves it to ISR and PPR rises to its class", () => {
    const { l, rd, fixed } = apic();
    expect(fixed(0x61)).toBe(true);
    expect(rd(0x200 + 0x30) /* IRR bits 96-127 */).toBe(1 << 1);
    expect(l.hasInterrupt()).toBe(true);
    expect(l.acknowledge()).toBe(0x61);
    expect(rd(0x230)).toBe(0);
    expect(rd(0x130)).toBe(1 << 1);
    expect(rd(0xa0)).toBe(0x60);
  });

  it("the highest vector goes first; one of the same class as the one in service waits for EOI", () => {
    const { l, wr, fixed } = apic();
    fixed(0x41);
    fixed(0x50);
    expect(l.acknowledge()).toBe(0x50);
    fixed(0x5f);
    expect(l.hasInterrupt()).toBe(false); // class 5 is not above PPR class 5
    fixed(0x61);
    expect(l.acknowledge()).toBe(0x61);
    wr(0xb0, 0); // EOI clears 61h, the highest in service; 50h still blocks class 5
    expect(l.hasInterrupt()).toBe(false);
    wr(0xb0, 0);
    expect(l.acknowledge()).toBe(0x5f);
    wr(0xb0, 0);
    expect(l.acknowledge()).toBe(0x41);
  });

  it("TPR masks classes at or below its own; PPR = TPR when TPR's class is higher", () => {
    const { l, rd, wr, fixed } = apic();
    wr(0x80, 0x55);
    expect(rd(0xa0)).toBe(0x55);
    fixed(0x5f);
    expect(l.hasInterrupt()).toBe(false);
    fixed(0x60);
    expect(l.acknowledge()).toBe(0x60);
    expect(rd(0xa0)).toBe(0x60);
  });

  it("INTA with nothing deliverable left returns the spurious vector and sets no ISR bit", () => {
    const { l, rd, wr, fixed } = apic();
    wr(0xf0, 0x1ef);
    fixed(0x40);
    expect(l.hasInterrupt()).toBe(true);
    wr(0x80, 0xf0); // TPR raised before the INTA cycle
    expect(l.acknowledge()).toBe(0xef);
    for (let off = 0x100; off < 0x180; off += 0x10) expect(rd(off)).toBe(0);
  });

  it("EOI of a level-triggered (TMR) vector is broadcast; an edge one is not", () => {
    const { l, rd, wr, eois, fixed } = apic();
    fixed(0x71, true);
    expect(rd(0x1f0 - 0x40) /* TMR bits 96-127 */).toBe(1 << 17);
    fixed(0x35);
    l.acknowledge();
    wr(0xb0, 0);
    l.acknowledge();
    wr(0xb0, 0);
    expect(eois).toEqual([0x71]);
  });
});

describe("software disable (10.4.7.2)", () => {
  it("clearing SVR bit 8 masks every LVT entry and the masks cannot be cleared until it is set again", () => {
    const { rd, wr } = apic();
    wr(0xf0, 0x0ff);
    expect(rd(0x350) & 0x10000).toBe(0x10000);
    wr(0x320, 0x40);
    expect(rd(0x320)).toBe(0x0001_0040);
    wr(0xf0, 0x1ff);
    wr(0x320, 0x40);
    expect(rd(0x320)).toBe(0x40);
  });

  it("a software-disabled APIC accepts no fixed interrupts and asserts no INTR", () => {
    const { l, wr, fixed } = apic();
    wr(0xf0, 0x0ff);
    expect(fixed(0x50)).toBe(false);
    expect(l.hasInterrupt()).toBe(false);
  });
});

describe("errors (ESR, 10.5.3)", () => {
  it("receiving vector 0-15 sets 'received illegal vector' (bit 6), visible after the next ESR write", () => {
    const { rd, fixed, esr } = apic();
    fixed(0x05);
    expect(rd(0x280)).toBe(0);
    expect(esr()).toBe(0x40);
    expect(esr()).toBe(0);
  });

  it("sending a fixed IPI with vector 0-15 sets 'send illegal vector' (bit 5)", () => {
    const { wr, esr } = apic();
    wr(0x300, 0x0004_0003);
    expect(esr()).toBe(0x20);
  });

  it("a reserved register sets 'illegal register address' (bit 7) and the error LVT interrupts", () => {
    const { l, rd, wr, esr } = apic();
    wr(0x370, 0xfe);
    rd(0x040);
    expect(esr()).toBe(0x80);
    expect(l.acknowledge()).toBe(0xfe);
  });
});

describe("destinations and IPIs (10.6)", () => {
  it("physical destination: the APIC's own ID and broadcast FFh match, another ID does not", () => {
    const { l } = apic({ id: 2 });
    expect(l.matches(false, 2)).toBe(true);
    expect(l.matches(false, 0xff)).toBe(true);
    expect(l.matches(false, 1)).toBe(false);
  });

  it("flat logical model: LDR bit AND MDA", () => {
    const { l, wr } = apic();
    wr(0xd0, 0x0400_0000);
    expect(l.matches(true, 0x04)).toBe(true);
    expect(l.matches(true, 0x0c)).toBe(true);
    expect(l.matches(true, 0x03)).toBe(false);
  });

  it("cluster logical model (DFR 0FFFFFFFh): cluster in bits 7:4, member bits 3:0", () => {
    const { l, rd, wr } = apic();
    wr(0xe0, 0x0fff_ffff);
    wr(0xd0, 0x3200_0000);
    expect(rd(0xe0)).toBe(0x0fff_ffff);
    expect(l.matches(true, 0x33)).toBe(true);
    expect(l.matches(true, 0x23)).toBe(false);
    expect(l.matches(true, 0x31)).toBe(false);
  });

  it("self IPI (shorthand 01) and IPIs to its own ID arrive in IRR; all-excluding-self reaches nobody", () => {
    const { l, wr } = apic({ id: 1 });
    wr(0x300, 0x0004_0050);
    expect(l.acknowledge()).toBe(0x50);
    wr(0x310, 0x0100_0000);
    wr(0x300, 0x0000_0060);
    expect(l.acknowledge()).toBe(0x60);
    wr(0x300, 0x000c_0070);
    wr(0x310, 0x0200_0000);
    wr(0x300, 0x0000_0080);
    expect(l.hasInterrupt()).toBe(false);
  });

  it("an NMI IPI to self becomes a pending NMI", () => {
    const { l, wr } = apic();
    wr(0x300, 0x0004_0400);
    expect(l.hasNmi()).toBe(true);
    expect(l.acknowledgeNmi()).toBe(true);
    expect(l.hasNmi()).toBe(false);
  });
});

describe("LINT0 / LINT1", () => {
  it("LINT0 in ExtINT mode passes the 8259A's INTR and INTA through", () => {
    let pending = true;
    const pic: ExtIntController = {
      hasInterrupt: () => pending,
      acknowledge: () => {
        pending = false;
        return 0x20;
      },
    };
    const { l, wr } = apic({ pic });
    expect(l.hasInterrupt()).toBe(true);
    expect(l.acknowledge()).toBe(0x20);
    pending = true;
    wr(0x350, 0x0001_0700); // masked
    expect(l.hasInterrupt()).toBe(false);
    l.setHardwareEnabled(false); // APIC off: the PIC drives INTR directly
    expect(l.hasInterrupt()).toBe(true);
  });

  it("LINT1 in NMI mode turns a rising edge into an NMI", () => {
    const { l } = apic();
    l.setLint(1, true);
    expect(l.acknowledgeNmi()).toBe(true);
    l.setLint(1, true);
    expect(l.hasNmi()).toBe(false);
  });

  it("LINT0 fixed, level-triggered: Remote IRR (bit 14) until EOI, then again while the pin is high", () => {
    const { l, rd, wr } = apic();
    wr(0x350, 0x0000_8033);
    l.setLint(0, true);
    expect(rd(0x350) & 0x4000).toBe(0x4000);
    expect(l.acknowledge()).toBe(0x33);
    wr(0xb0, 0);
    expect(l.acknowledge()).toBe(0x33);
    l.setLint(0, false);
    wr(0xb0, 0);
    expect(rd(0x350) & 0x4000).toBe(0);
    expect(l.hasInterrupt()).toBe(false);
  });
});

describe("timer (10.5.4)", () => {
  it("divide configuration: 0000b = 2, 1000b = 32, 1010b = 128, 1011b = 1", () => {
    for (const [dcr, div] of [
      [0x0, 2],
      [0x8, 32],
      [0xa, 128],
      [0xb, 1],
    ]) {
      const { l, clock, rd, wr } = apic();
      wr(0x3e0, dcr);
      wr(0x320, 0x40);
      wr(0x380, 10);
      expect(l.nextDeadline()).toBe(10 * div);
      clock.set(4 * div);
      expect(rd(0x390)).toBe(6);
    }
  });

  it("one-shot: current count falls to 0 and the LVT vector is raised once", () => {
    const { l, clock, rd, wr } = apic();
    wr(0x3e0, 0xb);
    wr(0x320, 0x41);
    clock.set(500);
    wr(0x380, 1000);
    expect(l.nextDeadline()).toBe(1500);
    clock.set(1499);
    l.tick(1499);
    expect(l.hasInterrupt()).toBe(false);
    expect(rd(0x390)).toBe(1);
    clock.set(1500);
    l.tick(1500);
    expect(rd(0x390)).toBe(0);
    expect(l.acknowledge()).toBe(0x41);
    expect(l.nextDeadline()).toBe(0);
    expect(rd(0x380)).toBe(1000);
  });

  it("periodic (LVT bit 17): reloads from the initial count and interrupts every period", () => {
    const { l, clock, rd, wr } = apic();
    wr(0x3e0, 0x3); // divide by 16
    wr(0x320, 0x0002_0042);
    wr(0x380, 100);
    expect(l.nextDeadline()).toBe(1600);
    clock.set(1600);
    l.tick(1600);
    expect(l.acknowledge()).toBe(0x42);
    wr(0xb0, 0);
    expect(rd(0x390)).toBe(100);
    expect(l.nextDeadline()).toBe(3200);
    clock.set(3200 + 16 * 30);
    l.tick(clock.now());
    expect(l.acknowledge()).toBe(0x42);
    expect(rd(0x390)).toBe(70);
  });

  it("a masked timer counts but does not interrupt; writing 0 stops it", () => {
    const { l, clock, rd, wr } = apic();
    wr(0x3e0, 0xb);
    wr(0x320, 0x0001_0043);
    wr(0x380, 50);
    expect(l.nextDeadline()).toBe(0);
    clock.set(60);
    l.tick(60);
    expect(l.hasInterrupt()).toBe(false);
    wr(0x380, 0);
    expect(rd(0x390)).toBe(0);
  });
});

describe("snapshot", () => {
  it("restores IRR/ISR/TMR, LVTs and a running timer", () => {
    const a = apic();
    a.wr(0x3e0, 0xb);
    a.wr(0x320, 0x0002_0044);
    a.wr(0x380, 1000);
    a.fixed(0x90, true);
    a.fixed(0x30);
    a.l.acknowledge();
    a.clock.set(250);
    const b = apic();
    b.clock.set(250);
    b.l.restore(structuredClone(a.l.save()));
    for (const off of [0x100 + 0x40, 0x180 + 0x40, 0x200 + 0x10, 0x320, 0x390, 0x3e0])
      expect(b.rd(off)).toBe(a.rd(off));
    expect(b.l.nextDeadline()).toBe(a.l.nextDeadline());
  });

  it("refuses reserved LVT bits and a short IRR", () => {
    const a = apic();
    const s = a.l.save() as { lvt: Uint32Array; irr: Uint32Array };
    s.lvt[5] = 0x700;
    expect(() => a.l.restore(s)).toThrow(/LVT/);
    s.lvt[5] = 0x10000;
    s.irr = new Uint32Array(4);
    expect(() => a.l.restore(s)).toThrow(SnapshotError);
  });
});
