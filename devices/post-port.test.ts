// Oracle: the PC POST-code convention (IBM PC/AT BIOS writes progress codes
// to port 80h; a POST card latches the last byte written).
import { describe, expect, it } from "vitest";
import { PostPort } from "./post-port.js";

describe("POST port 0x80", () => {
  it("reads back the last byte written and reports each code", () => {
    const codes: number[] = [];
    const p = new PostPort({ onCode: (c) => codes.push(c) });
    expect(p.ports).toEqual([{ base: 0x80, count: 1 }]);
    p.ioWrite(0x80, 1, 0x1234);
    p.ioWrite(0x80, 1, 0xaa);
    expect(p.ioRead(0x80, 1)).toBe(0xaa);
    expect(p.lastCode).toBe(0xaa);
    expect(codes).toEqual([0x34, 0xaa]);
  });

  it("snapshot keeps the last code; a bad one is refused", () => {
    const a = new PostPort();
    a.ioWrite(0x80, 1, 0x42);
    const b = new PostPort();
    b.restore(structuredClone(a.save()));
    expect(b.ioRead(0x80, 1)).toBe(0x42);
    expect(() => b.restore({ kind: "post-port", version: 1, last: 256 })).toThrow(/last/);
  });
});
