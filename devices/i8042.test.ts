// Oracle: IBM PC/AT Technical Reference, "Keyboard Controller" (status
// register bits, command byte bits, commands 20h/60h read/write controller
// RAM, AAh self-test -> 55h, ABh interface test -> 00h, ADh/AEh, C0h input
// port, D0h/D1h output port with bit 0 = system reset (active low) and bit 1
// = A20 gate, F0h-FFh pulse output port bits, IRQ 1 on output buffer full);
// IBM PS/2 Hardware Interface Technical Reference, "Keyboard/Auxiliary
// Device Controller" (A7h/A8h/A9h auxiliary commands, D2h/D3h/D4h, status bit
// 5 = auxiliary output buffer full, IRQ 12), "Keyboard Commands" (FFh reset ->
// FAh AAh, EEh echo -> EEh, F2h identify -> FAh ABh 83h, EDh set LEDs, F0h
// scan-code set, unknown -> FEh) and "Pointing Device Commands" (FFh -> FAh
// AAh 00h, F2h -> FAh 00h, E9h status request). The translated identify byte
// 41h is 83h through the 8042's set-2-to-set-1 translation.
import { describe, expect, it } from "vitest";
import { I8042 } from "./i8042.js";
import { SnapshotError } from "./snapshot.js";

function kbc(a20?: boolean) {
  const irqs: [number, boolean][] = [];
  const events: string[] = [];
  const k = new I8042({
    irq: { setIrq: (line, level) => irqs.push([line, level]) },
    onReset: () => events.push("reset"),
    onA20: (on) => events.push(`a20=${on}`),
    a20,
  });
  const cmd = (c: number) => k.ioWrite(0x64, 1, c);
  const data = (d: number) => k.ioWrite(0x60, 1, d);
  const status = () => k.ioRead(0x64, 1);
  /** Everything in the output buffer, in order. */
  const drain = () => {
    const out: number[] = [];
    while (status() & 1) out.push(k.ioRead(0x60, 1));
    return out;
  };
  return { k, irqs, events, cmd, data, status, drain };
}

describe("controller commands", () => {
  it("self-test (AAh) answers 55h through the output buffer", () => {
    const { cmd, status, drain } = kbc();
    expect(status() & 0x01).toBe(0);
    cmd(0xaa);
    expect(status() & 0x01).toBe(0x01);
    expect(drain()).toEqual([0x55]);
    expect(status() & 0x01).toBe(0);
  });

  it("the keyboard (ABh) and auxiliary (A9h) interface tests answer 00h (no error)", () => {
    const { cmd, drain } = kbc();
    cmd(0xab);
    cmd(0xa9);
    expect(drain()).toEqual([0x00, 0x00]);
  });

  it("20h reads and 60h writes the command byte; the status SYS bit follows its bit 2", () => {
    const { cmd, data, status, drain } = kbc();
    cmd(0x60);
    data(0x00);
    expect(status() & 0x04).toBe(0);
    cmd(0x20);
    expect(drain()).toEqual([0x00]);
    cmd(0x60);
    data(0x65);
    cmd(0x20);
    expect(drain()).toEqual([0x65]);
    expect(status() & 0x04).toBe(0x04);
  });

  it("controller RAM bytes 1-31 are reachable with 21h-3Fh / 61h-7Fh", () => {
    const { cmd, data, drain } = kbc();
    cmd(0x7f);
    data(0x9c);
    cmd(0x3f);
    expect(drain()).toEqual([0x9c]);
  });

  it("status bit 3 tells whether the last write went to port 64h (command) or 60h (data)", () => {
    const { cmd, data, status } = kbc();
    cmd(0xad);
    expect(status() & 0x08).toBe(0x08);
    data(0xee);
    expect(status() & 0x08).toBe(0);
  });

  it("ADh/AEh set and clear command byte bit 4; A7h/A8h bit 5", () => {
    const { cmd, data, drain } = kbc();
    cmd(0x60);
    data(0x00);
    cmd(0xad);
    cmd(0xa7);
    cmd(0x20);
    expect(drain()).toEqual([0x30]);
    cmd(0xae);
    cmd(0x20);
    expect(drain()).toEqual([0x20]);
    cmd(0xa8);
    cmd(0x20);
    expect(drain()).toEqual([0x00]);
  });
});

describe("output port: A20 and reset", () => {
  it("D0h reads the output port: reset line inactive (bit 0 = 1) and A20 (bit 1)", () => {
    const { cmd, drain } = kbc();
    cmd(0xd0);
    expect(drain()[0] & 0x03).toBe(0x03);
  });

  it("D1h writes the output port: bit 1 = 0 disables A20, 1 enables it (the real-mode A20 sequence)", () => {
    const { k, cmd, data, events } = kbc();
    cmd(0xd1);
    data(0xdd);
    expect(k.a20).toBe(false);
    cmd(0xd1);
    data(0xdf);
    expect(k.a20).toBe(true);
    expect(events).toEqual(["a20=false", "a20=true"]);
  });

  it("A20 can start disabled, as after a real power-on", () => {
    const { k, cmd, drain } = kbc(false);
    expect(k.a20).toBe(false);
    cmd(0xd0);
    expect(drain()[0] & 0x02).toBe(0);
  });

  it("D1h with bit 0 = 0 asserts the reset line", () => {
    const { cmd, data, events } = kbc();
    cmd(0xd1);
    data(0x02);
    expect(events).toEqual(["reset"]);
  });

  it("FEh pulses output port bit 0: the platform resets; FFh pulses nothing", () => {
    const { cmd, events } = kbc();
    cmd(0xff);
    expect(events).toEqual([]);
    cmd(0xfe);
    expect(events).toEqual(["reset"]);
  });
});

describe("keyboard commands (port 60h)", () => {
  it("reset (FFh): ACK FAh, then AAh (basic assurance test passed), each raising IRQ 1", () => {
    const { irqs, data, drain } = kbc();
    data(0xff);
    expect(irqs).toEqual([[1, true]]);
    expect(drain()).toEqual([0xfa, 0xaa]);
    expect(irqs).toEqual([
      [1, true],
      [1, false],
      [1, true],
      [1, false],
    ]);
  });

  it("echo (EEh) answers EEh without ACK", () => {
    const { data, drain } = kbc();
    data(0xee);
    expect(drain()).toEqual([0xee]);
  });

  it("identify (F2h): FAh ABh 83h, or ABh 41h with translation (command byte bit 6)", () => {
    const { cmd, data, drain } = kbc();
    data(0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x41]);
    cmd(0x60);
    data(0x01);
    data(0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x83]);
  });

  it("set LEDs (EDh) takes a parameter byte; each byte is ACKed", () => {
    const { data, drain } = kbc();
    data(0xed);
    data(0x07);
    expect(drain()).toEqual([0xfa, 0xfa]);
  });

  it("F0h 00h reports the current scan-code set (2)", () => {
    const { data, drain } = kbc();
    data(0xf0);
    data(0x00);
    expect(drain()).toEqual([0xfa, 0xfa, 0x02]);
  });

  it("enable (F4h), default disable (F5h), set defaults (F6h) are ACKed; an unknown command gets FEh (resend)", () => {
    const { data, drain } = kbc();
    data(0xf5);
    data(0xf4);
    data(0xf6);
    data(0x01);
    expect(drain()).toEqual([0xfa, 0xfa, 0xfa, 0xfe]);
  });

  it("sending to the keyboard clears the command byte's disable bit", () => {
    const { cmd, data, drain } = kbc();
    cmd(0xad);
    data(0xee);
    expect(drain()).toEqual([0xee]);
  });
});

describe("key input and IRQ 1", () => {
  it("keyPress fills the output buffer and raises IRQ 1; reading port 60h lowers it", () => {
    const { k, irqs, status } = kbc();
    k.keyPress(0x1e);
    expect(status() & 0x21).toBe(0x01); // OBF, not auxiliary
    expect(irqs).toEqual([[1, true]]);
    expect(k.ioRead(0x60, 1)).toBe(0x1e);
    expect(irqs).toEqual([
      [1, true],
      [1, false],
    ]);
  });

  it("with command byte bit 0 clear the byte arrives without IRQ 1", () => {
    const { k, irqs, cmd, data, drain } = kbc();
    cmd(0x60);
    data(0x44);
    k.keyPress(0x9e);
    expect(irqs).toEqual([]);
    expect(drain()).toEqual([0x9e]);
  });

  it("keys typed while the keyboard is disabled (ADh) wait in the keyboard until AEh", () => {
    const { k, cmd, drain } = kbc();
    cmd(0xad);
    k.keyPress(0x1c);
    expect(drain()).toEqual([]);
    cmd(0xae);
    expect(drain()).toEqual([0x1c]);
  });

  it("D2h writes a byte to the output buffer as if the keyboard sent it", () => {
    const { irqs, cmd, data, status, drain } = kbc();
    cmd(0xd2);
    data(0x5a);
    expect(status() & 0x20).toBe(0);
    expect(irqs).toEqual([[1, true]]);
    expect(drain()).toEqual([0x5a]);
  });
});

describe("auxiliary device (PS/2 mouse) and IRQ 12", () => {
  it("D4h FFh resets the mouse: FAh AAh 00h from the auxiliary port (status bit 5), raising IRQ 12", () => {
    const { irqs, cmd, data, status, drain } = kbc();
    cmd(0xd4);
    data(0xff);
    expect(status() & 0x21).toBe(0x21);
    expect(irqs).toEqual([[12, true]]);
    expect(drain()).toEqual([0xfa, 0xaa, 0x00]);
  });

  it("D3h loops a byte back as if the mouse sent it (Linux's AUX probe)", () => {
    const { cmd, data, status, drain } = kbc();
    cmd(0xd3);
    data(0x5a);
    expect(status() & 0x20).toBe(0x20);
    expect(drain()).toEqual([0x5a]);
  });

  it("identify (F2h) -> FAh 00h; status request (E9h) reports reporting, resolution and rate", () => {
    const { cmd, data, drain } = kbc();
    for (const b of [0xf2, 0xe8, 0x03, 0xf3, 0x28, 0xf4, 0xe9]) {
      cmd(0xd4);
      data(b);
    }
    expect(drain()).toEqual([0xfa, 0x00, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0xfa, 0x20, 0x03, 0x28]);
  });
});

describe("snapshot", () => {
  it("restores the command byte, A20, queued bytes and a pending command", () => {
    const a = kbc();
    a.cmd(0xd1);
    a.data(0xdd);
    a.data(0xff); // FA AA queued
    a.cmd(0x60); // waiting for the command byte
    const b = kbc();
    b.k.restore(structuredClone(a.k.save()));
    expect(b.k.a20).toBe(false);
    b.data(0x47);
    expect(b.drain()).toEqual([0xfa, 0xaa]);
    b.cmd(0x20);
    expect(b.drain()).toEqual([0x47]);
  });

  it("refuses a queue longer than the buffer", () => {
    const a = kbc();
    const s = a.k.save() as { kbdQueue: number[] };
    s.kbdQueue = new Array(17).fill(0);
    expect(() => a.k.restore(s)).toThrow(SnapshotError);
  });
});
