// Oracle: NOVA specification, §"Capability range descriptor" (IA-32 word:
// type [1:0], rights [6:2], order [11:7], base [31:12]; types null 0, memory
// 1, I/O 2, object 3; memory rights R bit 2, W bit 3, X bit 4 of the word).
// Expected words are assembled by hand from that layout in each comment.
import { describe, expect, it } from "vitest";
import { CrdType, crdFits, decodeCrd, encodeCrd, memCrd, NULL_CRD, objCrd, pioCrd } from "./crd.js";

describe("CRD encoding (NOVA spec, capability range descriptor)", () => {
  it("encodes an object CRD: base 0x100, order 3, all five rights", () => {
    // 3 | 0x1f<<2 (0x7c) | 3<<7 (0x180) | 0x100<<12 (0x100000) = 0x1001ff
    expect(encodeCrd(objCrd(0x100, 3, 0x1f))).toBe(0x1001ff);
  });

  it("encodes a memory CRD with R and W: bits 2 and 3 of the word", () => {
    // 1 | 3<<2 (0xc) | 10<<7 (0x500) | 0x400<<12 (0x400000) = 0x40050d
    expect(encodeCrd(memCrd(0x400, 10, 3))).toBe(0x40050d);
  });

  it("encodes an I/O CRD for ports 0x3f8..0x3ff: order 3, access right", () => {
    // 2 | 1<<2 (4) | 3<<7 (0x180) | 0x3f8<<12 (0x3f8000) = 0x3f8186
    expect(encodeCrd(pioCrd(0x3f8, 3))).toBe(0x3f8186);
  });

  it("encodes the largest base in the top 20 bits, unsigned", () => {
    // 3 | 0 | 0 | 0xfffff<<12 = 0xfffff003
    expect(encodeCrd(objCrd(0xfffff, 0, 0))).toBe(0xfffff003);
  });

  it("encodes the null CRD as 0", () => {
    expect(encodeCrd(NULL_CRD)).toBe(0);
  });

  it("decodes every field of a word", () => {
    // 0x12345abe: type 0b10, rights (0xabe>>2)&0x1f = 0x0f, order (0xabe>>7)&0x1f = 0x15, base 0x12345
    expect(decodeCrd(0x12345abe)).toEqual({ type: CrdType.PIO, rights: 0x0f, order: 0x15, base: 0x12345 });
  });

  it("round-trips a decoded word", () => {
    for (const w of [0, 0x1001ff, 0x40050d, 0x3f8186, 0xfffff003, 0xdeadbeef]) {
      expect(encodeCrd(decodeCrd(w))).toBe(w);
    }
  });
});

describe("CRD range checks", () => {
  it("accepts naturally aligned ranges inside their space", () => {
    expect(crdFits(objCrd(0x100, 8, 0x1f))).toBe(true);
    expect(crdFits(memCrd(0, 20, 7))).toBe(true);
    expect(crdFits(pioCrd(0, 16))).toBe(true);
    expect(crdFits(NULL_CRD)).toBe(true);
  });

  it("rejects a base not aligned to 2^order", () => {
    expect(crdFits(objCrd(3, 1, 1))).toBe(false);
  });

  it("rejects ranges beyond the space: 2^16 ports, 2^20 selectors and pages", () => {
    expect(crdFits(pioCrd(0, 17))).toBe(false);
    expect(crdFits(pioCrd(0x10000, 0))).toBe(false);
    expect(crdFits(objCrd(0x100000, 0, 1))).toBe(false);
    expect(crdFits(memCrd(0, 21, 7))).toBe(false);
  });

  it("rejects non-integer fields and rights beyond 5 bits", () => {
    expect(crdFits(objCrd(1.5, 0, 1))).toBe(false);
    expect(crdFits(objCrd(-1, 0, 1))).toBe(false);
    expect(crdFits(objCrd(0, 0, 0x20))).toBe(false);
  });
});
