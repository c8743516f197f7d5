// Console input in the VMM: bytes that arrive with exits (VmExit.console_in)
// wait in the VMM and enter COM1's receiver only while it has room.
// Oracle: the PC16550D datasheet: the receiver holds 16 characters in FIFO
// mode (FCR bit 0) and 1 (RBR) otherwise; one more sets LSR bit 1 (overrun
// error); LSR bit 0 (data ready) while data waits; the modem control
// register's RTS (bit 1) is the receiver's ready-to-receive signal; IIR 0x04
// (received data available) when IER bit 0 enables it.
import { describe, expect, it } from "vitest";
import { ExitReason } from "../proto/exit-reason.js";
import { ConsoleInput } from "./console-input.js";
import { makeVmm, ring0State, roundTrip } from "./testing/exit-messages.js";
import type { Vmm } from "./vmm.js";

const COM1 = 0x3f8;
const [RBR, IER, FCR, MCR, LSR, IIR] = [0, 1, 2, 4, 5, 2];
const LSR_DR = 0x01;
const LSR_OE = 0x02;

const bytes = (n: number, from = 0) => Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

/** The guest programs COM1 as a driver would: FIFO on, receive interrupt on, DTR | RTS | OUT2. */
function openUart(vmm: Vmm): void {
  vmm.uart.ioWrite(COM1 + FCR, 1, 0x07);
  vmm.uart.ioWrite(COM1 + IER, 1, 0x01);
  vmm.uart.ioWrite(COM1 + MCR, 1, 0x0b);
}

/** Reads every character the receiver holds, as a polling guest does (LSR bit 0, then RBR). */
function drain(vmm: Vmm): number[] {
  const out: number[] = [];
  while (vmm.uart.ioRead(COM1 + LSR, 1) & LSR_DR) out.push(vmm.uart.ioRead(COM1 + RBR, 1));
  return out;
}

function recall(vmm: Vmm, consoleIn?: Uint8Array) {
  return roundTrip(vmm, ExitReason.RECALL, { state: ring0State(), consoleIn });
}

describe("console input in the VMM", () => {
  it("holds input while the guest does not assert RTS, then fills the 16-byte FIFO without an overrun", () => {
    const vmm = makeVmm();
    recall(vmm, bytes(40));
    expect(vmm.uart.ioRead(COM1 + LSR, 1) & LSR_DR).toBe(0);
    openUart(vmm);
    recall(vmm);
    expect(vmm.uart.ioRead(COM1 + IIR, 1) & 0x0f).toBe(0x04);
    const got = drain(vmm);
    expect(got).toEqual([...bytes(16)]);
    expect(vmm.uart.ioRead(COM1 + LSR, 1) & LSR_OE).toBe(0);
    recall(vmm);
    recall(vmm, bytes(4, 40));
    const rest = [...drain(vmm)];
    recall(vmm);
    rest.push(...drain(vmm));
    expect(rest).toEqual([...bytes(28, 16)]);
  });

  it("gives the 1-byte RBR one character at a time in non-FIFO mode", () => {
    const vmm = makeVmm();
    vmm.uart.ioWrite(COM1 + MCR, 1, 0x0b);
    recall(vmm, bytes(3));
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      got.push(...drain(vmm));
      recall(vmm);
    }
    expect(got).toEqual([0, 1, 2]);
    expect(vmm.uart.ioRead(COM1 + LSR, 1) & LSR_OE).toBe(0);
  });

  it("keeps input not yet received across a checkpoint: the restored VMM delivers the same bytes", () => {
    const a = makeVmm();
    openUart(a);
    recall(a, bytes(20));
    const state = a.save();
    const b = makeVmm();
    b.restore(state);
    const fromA = [...drain(a)];
    recall(a);
    fromA.push(...drain(a));
    const fromB = [...drain(b)];
    recall(b);
    fromB.push(...drain(b));
    expect(fromB).toEqual([...bytes(20)]);
    expect(fromA).toEqual(fromB);
  });
});

describe("ConsoleInput", () => {
  it("returns bytes in order across growth and partial drains", () => {
    const q = new ConsoleInput();
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      q.append(bytes(50, i * 50));
      let room = 7;
      q.drainInto(
        () => room,
        (b) => {
          room--;
          out.push(b);
        },
      );
    }
    q.drainInto(
      () => 1,
      (b) => out.push(b),
    );
    expect(out).toEqual([...bytes(500)]);
    expect(q.size).toBe(0);
  });
});
