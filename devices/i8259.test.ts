// Oracle: Intel 8259A Programmable Interrupt Controller datasheet (order
// 231468): "Interrupt Sequence" (INTA sets ISR, clears IRR, vector = T7-T3 |
// level in 8086 mode), "Initialization Command Words" (ICW1-ICW4, ICW1's
// reset list), "Operation Command Words" (OCW1-OCW3, Figure "Operation
// Command Word Format"), "Fully Nested Mode", "Automatic Rotation",
// "Specific Rotation", "Special Mask Mode", "Poll Command", "Reading the
// 8259A Status", "Edge and Level Triggered Modes", "Automatic End of
// Interrupt Mode", "Cascade Mode"; Intel 82371SB (PIIX3) datasheet, ELCR1/
// ELCR2 (4D0h/4D1h) reserved bits. The init sequence is the one Linux's
// init_8259A() and PC BIOSes write.
import { describe, expect, it } from "vitest";
import { I8259 } from "./i8259.js";
import { SnapshotError } from "./snapshot.js";

/** A pair initialised as Linux does: ICW1 0x11, vectors 0x20/0x28, cascade on IR2, ICW4 8086 mode. */
function pic(icw4 = 0x01, elcr = 0) {
  const p = new I8259({ elcr });
  const wr = (port: number, v: number) => p.ioWrite(port, 1, v);
  const rd = (port: number) => p.ioRead(port, 1);
  wr(0x20, 0x11);
  wr(0x21, 0x20);
  wr(0x21, 0x04);
  wr(0x21, icw4);
  wr(0xa0, 0x11);
  wr(0xa1, 0x28);
  wr(0xa1, 0x02);
  wr(0xa1, icw4);
  const pulse = (line: number) => {
    p.setIrq(line, true);
    p.setIrq(line, false);
  };
  const irr = (port: number) => {
    wr(port, 0x0a);
    return rd(port);
  };
  const isr = (port: number) => {
    wr(port, 0x0b);
    return rd(port);
  };
  return { p, wr, rd, pulse, irr, isr };
}

describe("initialization (ICW1-ICW4)", () => {
  it("ICW1 clears the IMR; OCW1 then reads back at A0 = 1", () => {
    const { wr, rd } = pic();
    expect(rd(0x21)).toBe(0x00);
    wr(0x21, 0xfb);
    wr(0xa1, 0xff);
    expect([rd(0x21), rd(0xa1)]).toEqual([0xfb, 0xff]);
  });

  it("ICW2 supplies vector bits 7:3 (8086 mode): IR3 on a base of 0x20 is vector 0x23", () => {
    const { p, pulse } = pic();
    pulse(3);
    expect(p.acknowledge()).toBe(0x23);
  });

  it("ICW2's low three bits are ignored in 8086 mode (0x25 gives vectors from 0x20)", () => {
    const p = new I8259();
    for (const [port, v] of [
      [0x20, 0x13],
      [0x21, 0x25],
      [0x21, 0x01],
    ])
      p.ioWrite(port, 1, v);
    p.setIrq(1, true);
    expect(p.acknowledge()).toBe(0x21);
  });

  it("in single mode (SNGL = 1) no ICW3 is expected: the next A0 = 1 write is ICW4, then OCW1", () => {
    const p = new I8259();
    p.ioWrite(0x20, 1, 0x13); // ICW1: SNGL, IC4
    p.ioWrite(0x21, 1, 0x08); // ICW2
    p.ioWrite(0x21, 1, 0x03); // ICW4: AEOI, 8086
    p.ioWrite(0x21, 1, 0x5a); // OCW1
    expect(p.ioRead(0x21, 1)).toBe(0x5a);
    p.setIrq(0, true);
    expect(p.acknowledge()).toBe(0x08);
    p.ioWrite(0x20, 1, 0x0b);
    expect(p.ioRead(0x20, 1)).toBe(0x00); // AEOI from ICW4 took effect
  });

  it("ICW1 resets the edge sense: a line already high must go low and high again to request", () => {
    const { p, wr } = pic();
    p.setIrq(4, true);
    wr(0x20, 0x11);
    wr(0x21, 0x20);
    wr(0x21, 0x04);
    wr(0x21, 0x01);
    expect(p.hasInterrupt()).toBe(false);
    p.setIrq(4, false);
    p.setIrq(4, true);
    expect(p.acknowledge()).toBe(0x24);
  });

  it("ICW1 with IC4 = 0 clears the ICW4 functions (auto-EOI off)", () => {
    const { p, wr, isr } = pic(0x03);
    wr(0x20, 0x10); // ICW1 without IC4
    wr(0x21, 0x20);
    wr(0x21, 0x04);
    p.setIrq(5, true);
    expect(p.acknowledge()).toBe(0x25);
    expect(isr(0x20)).toBe(0x20);
  });
});

describe("interrupt sequence and fully nested priority", () => {
  it("an edge sets IRR; INTA returns the vector, sets ISR and clears IRR", () => {
    const { p, pulse, irr, isr } = pic();
    pulse(1);
    expect(irr(0x20)).toBe(0x02);
    expect(p.hasInterrupt()).toBe(true);
    expect(p.acknowledge()).toBe(0x21);
    expect(irr(0x20)).toBe(0x00);
    expect(isr(0x20)).toBe(0x02);
  });

  it("IR0 has the highest priority: with IR1 and IR3 requesting, IR1 is served first", () => {
    const { p, pulse, wr } = pic();
    pulse(3);
    pulse(1);
    expect(p.acknowledge()).toBe(0x21);
    wr(0x20, 0x20);
    expect(p.acknowledge()).toBe(0x23);
  });

  it("a level in service blocks equal and lower levels but not higher ones until EOI", () => {
    const { p, pulse, wr } = pic();
    pulse(3);
    expect(p.acknowledge()).toBe(0x23);
    pulse(4);
    pulse(3);
    expect(p.hasInterrupt()).toBe(false);
    pulse(1);
    expect(p.acknowledge()).toBe(0x21); // nests
    wr(0x20, 0x20); // non-specific EOI: clears IR1, the highest in service
    expect(p.hasInterrupt()).toBe(false); // IR3 still in service
    wr(0x20, 0x20);
    expect(p.acknowledge()).toBe(0x23);
  });

  it("OCW1 masks a level: its request stays in IRR and is served when unmasked", () => {
    const { p, pulse, wr, irr } = pic();
    wr(0x21, 0x01);
    pulse(0);
    expect(p.hasInterrupt()).toBe(false);
    expect(irr(0x20)).toBe(0x01);
    wr(0x21, 0x00);
    expect(p.acknowledge()).toBe(0x20);
  });

  it("specific EOI (OCW2 0x60 | L) clears exactly ISR bit L", () => {
    const { p, pulse, wr, isr } = pic();
    pulse(5);
    p.acknowledge();
    pulse(3);
    p.acknowledge();
    expect(isr(0x20)).toBe(0x28);
    wr(0x20, 0x65);
    expect(isr(0x20)).toBe(0x08);
  });

  it("with no request left at INTA, the master answers IR7 (spurious) and sets no ISR bit", () => {
    const { p, isr } = pic();
    expect(p.acknowledge()).toBe(0x27);
    expect(isr(0x20)).toBe(0x00);
  });
});

describe("cascade (master IR2 = slave INT)", () => {
  it("IRQ 10 is slave IR2: vector 0x2A, ISR bit 2 set in both PICs", () => {
    const { p, pulse, isr } = pic();
    pulse(10);
    expect(p.hasInterrupt()).toBe(true);
    expect(p.acknowledge()).toBe(0x2a);
    expect(isr(0x20)).toBe(0x04);
    expect(isr(0xa0)).toBe(0x04);
  });

  it("slave levels sit at the master's IR2 priority: IRQ 8-15 outrank IRQ 3 but not IRQ 1", () => {
    const { p, pulse, wr } = pic();
    pulse(3);
    pulse(14);
    pulse(1);
    expect(p.acknowledge()).toBe(0x21);
    wr(0x20, 0x20);
    expect(p.acknowledge()).toBe(0x2e);
    wr(0xa0, 0x20);
    wr(0x20, 0x20);
    expect(p.acknowledge()).toBe(0x23);
  });

  it("a slave request that disappears before INTA gives the spurious IRQ 15: vector 0x2F, master IR2 in service", () => {
    const { p, wr, isr } = pic(0x01, 0x0800); // IRQ 11 level-triggered
    p.setIrq(11, true);
    expect(p.hasInterrupt()).toBe(true);
    wr(0xa1, 0x08); // the slave's request goes away (masked) after INT reached the master
    expect(p.acknowledge()).toBe(0x2f);
    expect(isr(0xa0)).toBe(0x00);
    expect(isr(0x20)).toBe(0x04); // the OS must EOI the master only
  });

  it("the master's IMR bit 2 masks the whole slave", () => {
    const { p, pulse, wr } = pic();
    wr(0x21, 0x04);
    pulse(12);
    expect(p.hasInterrupt()).toBe(false);
    wr(0x21, 0x00);
    expect(p.acknowledge()).toBe(0x2c);
  });

  it("special fully nested mode (ICW4 SFNM): a higher slave level interrupts while the cascade is in service", () => {
    const { p, pulse } = pic(0x11);
    pulse(13);
    expect(p.acknowledge()).toBe(0x2d);
    pulse(9);
    expect(p.acknowledge()).toBe(0x29);
    // Without SFNM the same sequence waits for the master's EOI.
    const plain = pic(0x01);
    plain.pulse(13);
    plain.p.acknowledge();
    plain.pulse(9);
    expect(plain.p.hasInterrupt()).toBe(false);
  });
});

describe("edge and level triggering (ELCR, ICW1 LTIM)", () => {
  it("edge: a line held high requests once; the next request needs a new low-to-high transition", () => {
    const { p, wr } = pic();
    p.setIrq(6, true);
    expect(p.acknowledge()).toBe(0x26);
    wr(0x20, 0x20);
    p.setIrq(6, true);
    expect(p.hasInterrupt()).toBe(false);
    p.setIrq(6, false);
    p.setIrq(6, true);
    expect(p.acknowledge()).toBe(0x26);
  });

  it("level (ELCR1 bit 5): IRR follows the line and the request repeats after EOI while it stays high", () => {
    const { p, wr, irr } = pic(0x01, 0x20);
    p.setIrq(5, true);
    expect(p.acknowledge()).toBe(0x25);
    expect(irr(0x20) & 0x20).toBe(0x20); // INTA does not clear a level request
    wr(0x20, 0x20);
    expect(p.acknowledge()).toBe(0x25);
    wr(0x20, 0x20);
    p.setIrq(5, false);
    expect(irr(0x20)).toBe(0x00);
    expect(p.hasInterrupt()).toBe(false);
  });

  it("ELCR registers at 0x4D0/0x4D1 read back, with PIIX3's reserved IRQ 0, 1, 2, 8 and 13 bits fixed at 0", () => {
    const { wr, rd } = pic();
    wr(0x4d0, 0xff);
    wr(0x4d1, 0xff);
    expect([rd(0x4d0), rd(0x4d1)]).toEqual([0xf8, 0xde]);
  });

  it("ICW1 LTIM makes every input of that PIC level-triggered", () => {
    const p = new I8259();
    for (const [port, v] of [
      [0x20, 0x19],
      [0x21, 0x20],
      [0x21, 0x04],
      [0x21, 0x01],
    ])
      p.ioWrite(port, 1, v);
    p.setIrq(0, true);
    p.setIrq(0, false);
    expect(p.hasInterrupt()).toBe(false); // the level is gone: no request
    expect(p.acknowledge()).toBe(0x27);
  });

  it("a level request dropped between INTR and INTA is answered with IR7 and no ISR bit", () => {
    const { p, isr } = pic(0x01, 0x08);
    p.setIrq(3, true);
    expect(p.hasInterrupt()).toBe(true);
    p.setIrq(3, false);
    expect(p.acknowledge()).toBe(0x27);
    expect(isr(0x20)).toBe(0x00);
  });
});

describe("OCW2 rotation and priority", () => {
  it("rotate on non-specific EOI (0xA0): the level just served becomes the lowest", () => {
    const { p, pulse, wr } = pic();
    pulse(0);
    expect(p.acknowledge()).toBe(0x20);
    wr(0x20, 0xa0);
    pulse(0);
    pulse(1);
    expect(p.acknowledge()).toBe(0x21);
  });

  it("set priority (0xC0 | L): L becomes the lowest, L + 1 the highest", () => {
    const { p, pulse, wr } = pic();
    wr(0x20, 0xc4);
    pulse(0);
    pulse(6);
    pulse(5);
    expect(p.acknowledge()).toBe(0x25);
    wr(0x20, 0x20);
    expect(p.acknowledge()).toBe(0x26);
    wr(0x20, 0x20);
    expect(p.acknowledge()).toBe(0x20);
  });

  it("rotate on specific EOI (0xE0 | L) clears ISR bit L and makes L the lowest", () => {
    const { p, pulse, wr, isr } = pic();
    pulse(3);
    p.acknowledge();
    wr(0x20, 0xe3);
    expect(isr(0x20)).toBe(0x00);
    pulse(3);
    pulse(4);
    expect(p.acknowledge()).toBe(0x24);
  });

  it("non-specific EOI clears the highest-priority ISR bit under the current rotation", () => {
    const { p, pulse, wr, isr } = pic();
    wr(0x20, 0xc5); // IR6 highest, IR5 lowest
    pulse(5);
    p.acknowledge();
    pulse(7);
    p.acknowledge(); // IR7 outranks IR5 now
    expect(isr(0x20)).toBe(0xa0);
    wr(0x20, 0x20);
    expect(isr(0x20)).toBe(0x20);
  });
});

describe("automatic EOI (ICW4 AEOI)", () => {
  it("INTA leaves ISR clear, so an equal level is served again without EOI", () => {
    const { p, pulse, isr } = pic(0x03);
    pulse(4);
    expect(p.acknowledge()).toBe(0x24);
    expect(isr(0x20)).toBe(0x00);
    pulse(4);
    expect(p.acknowledge()).toBe(0x24);
  });

  it("rotate in AEOI mode (OCW2 0x80) rotates priority at each INTA; 0x00 stops it", () => {
    const { p, pulse, wr } = pic(0x03);
    wr(0x20, 0x80);
    pulse(1);
    expect(p.acknowledge()).toBe(0x21);
    pulse(1);
    pulse(4);
    expect(p.acknowledge()).toBe(0x24); // IR1 is now the lowest
    wr(0x20, 0x00); // clear rotate-in-AEOI: priority stays where it is (IR5 highest)
    pulse(4);
    pulse(6);
    expect(p.acknowledge()).toBe(0x26);
    pulse(4);
    pulse(6);
    expect(p.acknowledge()).toBe(0x26);
  });
});

describe("special mask mode (OCW3 ESMM/SMM)", () => {
  it("with SMM set, masking the level in service enables lower levels", () => {
    const { p, pulse, wr } = pic();
    pulse(5);
    expect(p.acknowledge()).toBe(0x25);
    pulse(6);
    expect(p.hasInterrupt()).toBe(false);
    wr(0x20, 0x68); // set special mask
    wr(0x21, 0x20); // mask IR5
    expect(p.acknowledge()).toBe(0x26);
    wr(0x20, 0x48); // reset special mask
    wr(0x21, 0x00);
    pulse(7);
    expect(p.hasInterrupt()).toBe(false); // IR5 and IR6 in service block IR7 again
  });
});

describe("OCW3 status reads and poll", () => {
  it("RR/RIS select IRR (0x0A) or ISR (0x0B) for reads at A0 = 0, and the choice persists", () => {
    const { p, pulse, wr, rd } = pic();
    pulse(1);
    pulse(4);
    p.acknowledge();
    wr(0x20, 0x0b);
    expect(rd(0x20)).toBe(0x02);
    expect(rd(0x20)).toBe(0x02);
    wr(0x20, 0x0a);
    expect(rd(0x20)).toBe(0x10);
    wr(0x20, 0x08); // RR = 0: no change
    expect(rd(0x20)).toBe(0x10);
  });

  it("poll (OCW3 P): the next read returns 0x80 | level and acts as INTA", () => {
    const { p, pulse, wr, rd, isr } = pic();
    pulse(6);
    wr(0x20, 0x0c);
    expect(rd(0x20)).toBe(0x86);
    expect(isr(0x20)).toBe(0x40);
    expect(p.hasInterrupt()).toBe(false);
  });

  it("poll with nothing requesting returns I = 0", () => {
    const { wr, rd } = pic();
    wr(0x20, 0x0c);
    expect(rd(0x20) & 0x80).toBe(0);
  });
});

describe("snapshot", () => {
  it("restores IMR, IRR, ISR, vectors, mode and rotation into a fresh pair", () => {
    const a = pic(0x01, 0x0c20);
    a.wr(0x21, 0x10);
    a.wr(0x20, 0xc2);
    a.pulse(6);
    a.pulse(3);
    a.p.acknowledge();
    a.p.setIrq(10, true);
    const b = new I8259();
    b.restore(structuredClone(a.p.save()));
    for (const port of [0x21, 0xa1, 0x4d0, 0x4d1]) expect(b.ioRead(port, 1)).toBe(a.rd(port));
    expect(b.acknowledge()).toBe(a.p.acknowledge());
    expect(b.acknowledge()).toBe(a.p.acknowledge());
  });

  it("rejects a snapshot of another kind or with a bad field, and keeps its state", () => {
    const a = pic();
    a.wr(0x21, 0x55);
    expect(() => a.p.restore({ kind: "i8254", version: 1 })).toThrow(SnapshotError);
    const bad = a.p.save() as { master: { imr: number } };
    bad.master.imr = 0x1ff;
    expect(() => a.p.restore(bad)).toThrow(/imr/);
    expect(() => a.p.restore(null)).toThrow(/expected an object/);
    expect(a.rd(0x21)).toBe(0x55);
  });
});
