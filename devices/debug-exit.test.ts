// Oracle: QEMU's isa-debug-exit device documentation: a write of value v
// ends the VM with exit status (v << 1) | 1.
import { describe, expect, it } from "vitest";
import { DebugExit } from "./debug-exit.js";

describe("debug exit at 0xF4", () => {
  it("a write of v ends the VM with status (v << 1) | 1, v as wide as the access", () => {
    const statuses: number[] = [];
    const d = new DebugExit({ onExit: (s) => statuses.push(s) });
    expect(d.ports).toEqual([{ base: 0xf4, count: 4 }]);
    d.ioWrite(0xf4, 1, 0x00);
    d.ioWrite(0xf4, 1, 0x31);
    d.ioWrite(0xf4, 1, 0x1ff); // OUT with AL: only 0xFF reaches the port
    d.ioWrite(0xf4, 4, 0x10000);
    expect(statuses).toEqual([1, 0x63, 0x1ff, 0x20001]);
  });

  it("reads return 0", () => {
    const d = new DebugExit({ onExit: () => {} });
    expect(d.ioRead(0xf4, 4)).toBe(0);
  });
});
