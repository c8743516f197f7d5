// Oracle: National Semiconductor PC16550D datasheet (June 1995): table
// "Summary of Registers" (register map, DLAB, bit layout), table "UART
// Reset Configuration" (reset values), table "Interrupt Control Functions"
// (IIR priority, identification and reset control), §8.6 "Line Status
// Register", §8.7 "Modem Control Register" (loopback), §8.8 "Modem Status
// Register", §8.5 "FIFO Control Register".
import { describe, expect, it } from "vitest";
import { Uart16550 } from "./uart16550.js";

const BASE = 0x3f8;
const RBR = BASE;
const THR = BASE;
const DLL = BASE;
const IER = BASE + 1;
const DLM = BASE + 1;
const IIR = BASE + 2;
const FCR = BASE + 2;
const LCR = BASE + 3;
const MCR = BASE + 4;
const LSR = BASE + 5;
const MSR = BASE + 6;
const SCR = BASE + 7;

/** A UART in reset state; `eightBits` programs LCR for 8N1 first, as drivers do. */
function uart(eightBits = true) {
  const sent: number[] = [];
  const u = new Uart16550({ base: BASE, onTransmit: (b) => sent.push(b) });
  const rd = (port: number) => u.ioRead(port, 1);
  const wr = (port: number, v: number) => u.ioWrite(port, 1, v);
  if (eightBits) wr(LCR, 0x03);
  return { u, sent, rd, wr };
}

describe("reset values (table 'UART Reset Configuration')", () => {
  it("IER = 0, IIR = 0x01 (no interrupt pending), LCR = 0, MCR = 0, LSR = 0x60", () => {
    const { rd } = uart(false);
    expect(rd(IER)).toBe(0x00);
    expect(rd(IIR)).toBe(0x01);
    expect(rd(LCR)).toBe(0x00);
    expect(rd(MCR)).toBe(0x00);
    expect(rd(LSR)).toBe(0x60);
  });

  it("MSR bits 3:0 are 0 after reset and bits 7:4 follow the inputs (terminal: DCD, DSR, CTS)", () => {
    const { rd } = uart();
    expect(rd(MSR)).toBe(0xb0);
  });

  it("firmware settings replace the reset LCR and divisor latch (a VM has no BIOS to program them)", () => {
    const u = new Uart16550({ onTransmit: () => {}, firmware: { lcr: 0x03, divisor: 0x0c } });
    expect(u.ioRead(LCR, 1)).toBe(0x03);
    u.ioWrite(LCR, 1, 0x83);
    expect([u.ioRead(DLL, 1), u.ioRead(DLM, 1)]).toEqual([0x0c, 0x00]);
  });

  it("claims the eight ports base..base+7 and decodes one byte at a time", () => {
    const { u } = uart();
    expect(u.ports).toEqual([{ base: BASE, count: 8 }]);
    expect(u.ioWidth).toBe(1);
  });
});

describe("THR and the transmitter (§8.6 LSR bits 5, 6)", () => {
  it("a THR write goes to the line (the console sink)", () => {
    const { sent, wr } = uart();
    for (const c of "Hi\n") wr(THR, c.charCodeAt(0));
    expect(String.fromCharCode(...sent)).toBe("Hi\n");
  });

  it("THRE and TEMT stay set after a write: the transmitter empties in zero virtual time", () => {
    const { rd, wr } = uart();
    wr(THR, 0x41);
    expect(rd(LSR) & 0x60).toBe(0x60);
  });

  it("word length from LCR bits 1:0 masks the character (5 bits: 0x3F -> 0x1F)", () => {
    const { sent, wr } = uart();
    wr(LCR, 0x00);
    wr(THR, 0x3f);
    wr(LCR, 0x03);
    wr(THR, 0xff);
    expect(sent).toEqual([0x1f, 0xff]);
  });
});

describe("divisor latch (DLAB = LCR bit 7)", () => {
  it("with DLAB set, offsets 0 and 1 are DLL and DLM and do not touch THR or IER", () => {
    const { sent, rd, wr } = uart();
    wr(IER, 0x05);
    wr(LCR, 0x83);
    wr(DLL, 0x0c);
    wr(DLM, 0x01);
    expect(rd(DLL)).toBe(0x0c);
    expect(rd(DLM)).toBe(0x01);
    expect(sent).toEqual([]);
    wr(LCR, 0x03);
    expect(rd(IER)).toBe(0x05);
    expect(rd(LCR)).toBe(0x03);
  });
});

describe("IER (table 'Summary of Registers': bits 7:4 always 0)", () => {
  it("keeps bits 3:0 and reads bits 7:4 as 0", () => {
    const { rd, wr } = uart();
    wr(IER, 0xff);
    expect(rd(IER)).toBe(0x0f);
  });
});

describe("IIR THRE interrupt (table 'Interrupt Control Functions', priority 3, ID 0010)", () => {
  it("enabling ETBEI with THR empty reports THRE (IIR = 0x02)", () => {
    const { rd, wr } = uart();
    wr(IER, 0x02);
    expect(rd(IIR)).toBe(0x02);
  });

  it("reading IIR while it reports THRE clears the interrupt", () => {
    const { rd, wr } = uart();
    wr(IER, 0x02);
    expect(rd(IIR)).toBe(0x02);
    expect(rd(IIR)).toBe(0x01);
  });

  it("a THR write clears it and the instantly emptied THR raises it again", () => {
    const { rd, wr } = uart();
    wr(IER, 0x02);
    rd(IIR);
    wr(THR, 0x41);
    expect(rd(IIR)).toBe(0x02);
  });

  it("with ETBEI clear, no interrupt is reported even though THR is empty", () => {
    const { rd, wr } = uart();
    wr(THR, 0x41);
    expect(rd(IIR)).toBe(0x01);
  });
});

describe("FCR and IIR FIFO bits (§8.5; IIR bits 7:6 = 11 when FCR0 = 1)", () => {
  it("FCR bit 0 enables the FIFOs: IIR reads 0xC1", () => {
    const { rd, wr } = uart();
    wr(FCR, 0x01);
    expect(rd(IIR)).toBe(0xc1);
    wr(FCR, 0x00);
    expect(rd(IIR)).toBe(0x01);
  });

  it("FCR bit 1 clears the receiver FIFO", () => {
    const { rd, wr } = uart();
    wr(FCR, 0x01);
    wr(MCR, 0x10);
    wr(THR, 0x31);
    expect(rd(LSR) & 0x01).toBe(1);
    wr(FCR, 0x03);
    expect(rd(LSR) & 0x01).toBe(0);
  });

  it("the receiver FIFO holds 16 characters; the 17th is an overrun (LSR bit 1) and is lost", () => {
    const { rd, wr } = uart();
    wr(FCR, 0x01);
    wr(MCR, 0x10);
    for (let i = 0; i < 17; i++) wr(THR, 0x40 + i);
    expect(rd(LSR) & 0x03).toBe(0x03);
    expect(rd(LSR) & 0x02).toBe(0); // OE clears on LSR read
    const got = Array.from({ length: 16 }, () => rd(RBR));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => 0x40 + i));
    expect(rd(LSR) & 0x01).toBe(0);
  });

  it("received data interrupt (ID 0100) at the trigger level, character timeout (ID 1100) below it", () => {
    const { rd, wr } = uart();
    wr(FCR, 0x41); // trigger level 4
    wr(MCR, 0x10);
    wr(IER, 0x01);
    for (let i = 0; i < 3; i++) wr(THR, 0x61);
    expect(rd(IIR)).toBe(0xcc);
    wr(THR, 0x61);
    expect(rd(IIR)).toBe(0xc4);
  });
});

describe("loopback (§8.7 MCR bit 4)", () => {
  it("sends THR into RBR instead of the line and sets LSR.DR", () => {
    const { sent, rd, wr } = uart();
    wr(MCR, 0x10);
    wr(THR, 0x5a);
    expect(sent).toEqual([]);
    expect(rd(LSR) & 0x01).toBe(0x01);
    expect(rd(RBR)).toBe(0x5a);
    expect(rd(LSR) & 0x01).toBe(0);
  });

  it("maps DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD", () => {
    const { rd, wr } = uart();
    wr(MCR, 0x10);
    rd(MSR);
    wr(MCR, 0x10 | 0x01);
    expect(rd(MSR) & 0xf0).toBe(0x20);
    wr(MCR, 0x10 | 0x02);
    expect(rd(MSR) & 0xf0).toBe(0x10);
    wr(MCR, 0x10 | 0x04);
    expect(rd(MSR) & 0xf0).toBe(0x40);
    wr(MCR, 0x10 | 0x08);
    expect(rd(MSR) & 0xf0).toBe(0x80);
  });

  it("sets the delta bits on changes (TERI only on RI's trailing edge) and an MSR read clears them (§8.8)", () => {
    const { rd, wr } = uart();
    wr(MCR, 0x10); // inputs drop from CTS|DSR|DCD to none
    expect(rd(MSR)).toBe(0x01 | 0x02 | 0x08);
    expect(rd(MSR)).toBe(0x00);
    wr(MCR, 0x10 | 0x04); // RI rises: no TERI
    expect(rd(MSR)).toBe(0x40);
    wr(MCR, 0x10); // RI falls: TERI
    expect(rd(MSR)).toBe(0x04);
  });

  it("a modem status change raises the modem status interrupt (ID 0000) when EDSSI is set", () => {
    const { rd, wr } = uart();
    wr(IER, 0x08);
    wr(MCR, 0x10 | 0x01);
    expect(rd(IIR)).toBe(0x00);
    rd(MSR);
    expect(rd(IIR)).toBe(0x01);
  });

  it("receiver data interrupt (ID 0100) outranks THRE and clears when RBR is read", () => {
    const { rd, wr } = uart();
    wr(IER, 0x03);
    wr(MCR, 0x10);
    wr(THR, 0x41);
    expect(rd(IIR)).toBe(0x04);
    rd(RBR);
    expect(rd(IIR)).toBe(0x02);
  });

  it("a second character before RBR is read overruns in non-FIFO mode; the line status interrupt (ID 0110) ranks first", () => {
    const { rd, wr } = uart();
    wr(IER, 0x05);
    wr(MCR, 0x10);
    wr(THR, 0x41);
    wr(THR, 0x42);
    expect(rd(IIR)).toBe(0x06);
    expect(rd(LSR) & 0x03).toBe(0x03);
    expect(rd(IIR)).toBe(0x04);
    expect(rd(RBR)).toBe(0x42);
  });
});

describe("reading RBR with no data", () => {
  it("returns the register's contents again (the last character) and leaves DR clear", () => {
    const { rd, wr } = uart();
    expect(rd(RBR)).toBe(0);
    wr(MCR, 0x10);
    wr(THR, 0x37);
    expect(rd(RBR)).toBe(0x37);
    expect(rd(RBR)).toBe(0x37);
    expect(rd(LSR) & 0x01).toBe(0);
  });
});

describe("scratch register (offset 7)", () => {
  it("holds any byte", () => {
    const { rd, wr } = uart();
    wr(SCR, 0xa5);
    expect(rd(SCR)).toBe(0xa5);
  });
});

describe("MCR (bits 7:5 always 0)", () => {
  it("keeps bits 4:0", () => {
    const { rd, wr } = uart();
    wr(MCR, 0xff);
    expect(rd(MCR)).toBe(0x1f);
  });
});

describe("irqLine (INTR gated by OUT2, the PC/AT wiring)", () => {
  it("is high only with an enabled interrupt pending and OUT2 set outside loopback", () => {
    const { u, wr } = uart();
    wr(IER, 0x02);
    expect(u.irqLine).toBe(false);
    wr(MCR, 0x08);
    expect(u.irqLine).toBe(true);
    wr(MCR, 0x18);
    expect(u.irqLine).toBe(false);
  });

  it("console input raises it through the received-data interrupt", () => {
    const { u, rd, wr } = uart();
    wr(MCR, 0x08);
    wr(IER, 0x01);
    u.receive(0x71);
    expect(u.irqLine).toBe(true);
    expect(rd(RBR)).toBe(0x71);
    expect(u.irqLine).toBe(false);
  });
});

describe("IRQ sink (INTR gated by OUT2 onto the ISA line)", () => {
  function wired() {
    const levels: [number, boolean][] = [];
    const u = new Uart16550({
      base: BASE,
      onTransmit: () => {},
      irq: { setIrq: (l, v) => levels.push([l, v]) },
      irqNumber: 4,
    });
    return { u, levels, wr: (p: number, v: number) => u.ioWrite(p, 1, v), rd: (p: number) => u.ioRead(p, 1) };
  }

  it("drives line 4 high when THRE is enabled with OUT2 set, and low once IIR is read (THRE cleared)", () => {
    const { levels, wr, rd } = wired();
    wr(MCR, 0x08);
    expect(levels).toEqual([]);
    wr(IER, 0x02);
    expect(levels).toEqual([[4, true]]);
    rd(IIR);
    expect(levels).toEqual([
      [4, true],
      [4, false],
    ]);
  });

  it("a received character with ERBFI raises the line; reading RBR lowers it", () => {
    const { u, levels, wr, rd } = wired();
    wr(LCR, 0x03); // 8 data bits
    wr(MCR, 0x08);
    wr(IER, 0x01);
    u.receive(0x41);
    expect(levels.at(-1)).toEqual([4, true]);
    expect(rd(RBR)).toBe(0x41);
    expect(levels.at(-1)).toEqual([4, false]);
  });
});

describe("save / restore", () => {
  it("a restored UART reads the same registers and received bytes", () => {
    const a = uart();
    a.wr(FCR, 0xc1);
    a.wr(SCR, 0x5a);
    a.u.receive(0x31);
    a.u.receive(0x32);
    const b = uart(false);
    b.u.restore(a.u.save());
    expect(b.u.save()).toEqual(a.u.save());
    for (const port of [IER, LCR, MCR, SCR]) expect(b.rd(port)).toBe(a.rd(port));
    expect([b.rd(RBR), b.rd(RBR)]).toEqual([0x31, 0x32]);
  });

  it("refuses an impossible state (two bytes held without a FIFO) and keeps its own", () => {
    const a = uart();
    const s = a.u.save() as Record<string, unknown>;
    expect(() => a.u.restore({ ...s, fifoEnabled: false, rxCount: 2 })).toThrow(/rxCount 2 exceeds/);
    expect(a.u.save()).toEqual(s);
  });
});

describe("receiver room for the serial input (rxRoom)", () => {
  it("is 0 until the guest asserts RTS, then the free entries: 1 (RBR) without FIFO, 16 with it", () => {
    const { u, wr, rd } = uart();
    expect(u.rxRoom).toBe(0);
    wr(MCR, 0x02);
    expect(u.rxRoom).toBe(1);
    u.receive(0x41);
    expect(u.rxRoom).toBe(0);
    rd(RBR);
    wr(FCR, 0x01);
    expect(u.rxRoom).toBe(16);
    u.receive(0x42);
    expect(u.rxRoom).toBe(15);
  });

  it("is 0 in loopback, where the serial input is disconnected", () => {
    const { u, wr } = uart();
    wr(MCR, 0x12);
    expect(u.rxRoom).toBe(0);
  });
});
