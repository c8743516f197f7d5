// The ISA debug console. Oracle: QEMU's isa-debugcon as documented by its
// options (iobase, readback default 0xe9) and as SeaBIOS's QEMU build uses
// it (src/hw/serialio.c: the port is used only if a read returns 0xE9; each
// byte written is one character of the log).
import { describe, expect, it } from "vitest";
import { IoBus } from "../vmm/io-bus.js";
import { DEBUGCON_PORT, DebugCon } from "./debugcon.js";

describe("debugcon (port 402h)", () => {
  it("reads back E9h, the value SeaBIOS checks before logging there", () => {
    const d = new DebugCon(() => {});
    expect(d.ioRead(DEBUGCON_PORT, 1)).toBe(0xe9);
  });

  it("passes each byte written to the console in order, only the low byte of the value", () => {
    const out: number[] = [];
    const bus = new IoBus();
    bus.attach(new DebugCon((b) => out.push(b)));
    for (const c of "Sea") bus.write(DEBUGCON_PORT, 1, c.charCodeAt(0));
    bus.write(DEBUGCON_PORT, 1, 0x1_0a); // OUT DX, AL: only the byte is data
    expect(String.fromCharCode(...out)).toBe("Sea\n");
  });
});
