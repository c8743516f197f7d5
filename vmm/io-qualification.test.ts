// Oracle: SDM Vol. 3C Table 27-5 "Exit Qualification for I/O Instructions".
import { describe, expect, it } from "vitest";
import { decodeIoQualification } from "./io-qualification.js";

describe("decodeIoQualification (SDM Table 27-5)", () => {
  it("OUT DX, AL to 0x3F8: size 1, direction OUT, DX operand", () => {
    expect(decodeIoQualification(0x03f8_0000)).toEqual({
      size: 1,
      isIn: false,
      isString: false,
      isRep: false,
      immediate: false,
      port: 0x3f8,
    });
  });

  it("IN EAX, imm8 0x71: bits 2:0 = 3 (4 bytes), bit 3 IN, bit 6 immediate", () => {
    const q = decodeIoQualification((0x71 << 16) | 0x40 | 0x08 | 0x3);
    expect(q).toMatchObject({ size: 4, isIn: true, immediate: true, port: 0x71 });
  });

  it("REP INSW: bit 4 string, bit 5 REP, size 2", () => {
    expect(decodeIoQualification((0x1f0 << 16) | 0x20 | 0x10 | 0x08 | 0x1)).toMatchObject({
      size: 2,
      isIn: true,
      isString: true,
      isRep: true,
      port: 0x1f0,
    });
  });

  it("port 0xFFFF decodes from bits 31:16 without sign trouble", () => {
    expect(decodeIoQualification(0xffff_0000)?.port).toBe(0xffff);
  });

  it("size codes 2 and 4-7 are not defined: null", () => {
    expect(decodeIoQualification(2)).toBeNull();
    expect(decodeIoQualification(7)).toBeNull();
  });
});
