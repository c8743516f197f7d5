// Oracle: Intel SDM Vol. 3A §3.4.5.1 (segment types: code never writable,
// execute-only code not readable, expand-down data), §5.3 (limit checking:
// expand-up 0..limit, expand-down limit+1..0xFFFF/0xFFFFFFFF by the B flag,
// the whole access must fit), §5.4.1 (null/unusable segment), and Vol. 2
// "MOV" Protected Mode Exceptions: #SS(0) for an SS limit violation, #GP(0)
// for others; real mode raises the same vectors without an error code;
// §20.2 / §20.1.1 for virtual-8086 mode (base = selector * 16, 64 KiB).
import { describe, expect, it } from "vitest";
import { EmulationAbort, Vector } from "./fault.js";
import { CS, DS, ES, RegisterFile, SS } from "./register-file.js";
import { ACCESS_EXEC, ACCESS_READ, ACCESS_WRITE, segmentLinear } from "./segments.js";

/** VMCS access rights: type, S = 1, DPL 0, P, D/B, G (SDM Table 24-2). */
const ar = (type: number, db = 1) => type | (1 << 4) | (1 << 7) | (db << 14);
const DATA_RW = 3;
const DATA_RO = 1;
const DATA_RW_DOWN = 7;
const CODE_XO = 9;
const CODE_XR = 11;

function regs(pe: boolean): RegisterFile {
  const r = new RegisterFile();
  r.cr0 = pe ? 1 : 0;
  return r;
}

function linear(r: RegisterFile, seg: number, offset: number, size: number, access: number) {
  const abort = new EmulationAbort();
  try {
    return { linear: segmentLinear(r, seg, offset, size, access, abort) };
  } catch (e) {
    if (e !== abort) throw e;
    return { vector: abort.vector, hasError: abort.hasError, error: abort.error };
  }
}

describe("segmentation for an emulated operand", () => {
  it("linear = base + offset, wrapping at 4 GiB", () => {
    const r = regs(true);
    Object.assign(r.seg[DS], { base: 0xffff_f000, limit: 0xffff_ffff, ar: ar(DATA_RW) });
    expect(linear(r, DS, 0x2000, 4, ACCESS_WRITE)).toEqual({ linear: 0x1000 });
  });

  it("the last byte must be within the limit: #GP(0) for DS, #SS(0) for SS", () => {
    const r = regs(true);
    Object.assign(r.seg[DS], { base: 0, limit: 0xfff, ar: ar(DATA_RW) });
    Object.assign(r.seg[SS], { base: 0, limit: 0xfff, ar: ar(DATA_RW) });
    expect(linear(r, DS, 0xffc, 4, ACCESS_READ)).toEqual({ linear: 0xffc });
    expect(linear(r, DS, 0xffd, 4, ACCESS_READ)).toEqual({ vector: Vector.GP, hasError: true, error: 0 });
    expect(linear(r, SS, 0xffd, 4, ACCESS_READ)).toEqual({ vector: Vector.SS, hasError: true, error: 0 });
  });

  it("expand-down: offsets above the limit up to 0xFFFF (B = 0) are valid, at or below it fault", () => {
    const r = regs(true);
    Object.assign(r.seg[ES], { base: 0x10000, limit: 0x0fff, ar: ar(DATA_RW_DOWN, 0) });
    expect(linear(r, ES, 0x1000, 2, ACCESS_WRITE)).toEqual({ linear: 0x11000 });
    expect(linear(r, ES, 0xfffe, 2, ACCESS_WRITE)).toEqual({ linear: 0x1fffe });
    expect(linear(r, ES, 0xffff, 2, ACCESS_WRITE).vector).toBe(Vector.GP);
    expect(linear(r, ES, 0x0fff, 1, ACCESS_WRITE).vector).toBe(Vector.GP);
  });

  it("a write to a read-only data segment or a code segment is #GP(0)", () => {
    const r = regs(true);
    Object.assign(r.seg[DS], { base: 0, limit: 0xffff_ffff, ar: ar(DATA_RO) });
    Object.assign(r.seg[CS], { base: 0, limit: 0xffff_ffff, ar: ar(CODE_XR) });
    expect(linear(r, DS, 0, 4, ACCESS_READ)).toEqual({ linear: 0 });
    expect(linear(r, DS, 0, 4, ACCESS_WRITE).vector).toBe(Vector.GP);
    expect(linear(r, CS, 0, 4, ACCESS_WRITE).vector).toBe(Vector.GP);
    expect(linear(r, CS, 0, 4, ACCESS_READ)).toEqual({ linear: 0 });
  });

  it("reading an execute-only code segment is #GP(0); fetching from it is fine", () => {
    const r = regs(true);
    Object.assign(r.seg[CS], { base: 0, limit: 0xffff_ffff, ar: ar(CODE_XO) });
    expect(linear(r, CS, 0x100, 1, ACCESS_READ).vector).toBe(Vector.GP);
    expect(linear(r, CS, 0x100, 1, ACCESS_EXEC)).toEqual({ linear: 0x100 });
  });

  it("an unusable (null) segment allows no access: #GP(0)", () => {
    const r = regs(true);
    Object.assign(r.seg[ES], { base: 0, limit: 0xffff_ffff, ar: 1 << 16 });
    expect(linear(r, ES, 0, 1, ACCESS_READ)).toEqual({ vector: Vector.GP, hasError: true, error: 0 });
  });

  it("real mode: base + offset, a limit violation raises #GP without an error code", () => {
    const r = regs(false);
    Object.assign(r.seg[DS], { sel: 0x1234, base: 0x12340, limit: 0xffff, ar: ar(DATA_RO, 0) });
    expect(linear(r, DS, 0xfffc, 4, ACCESS_WRITE)).toEqual({ linear: 0x2233c });
    expect(linear(r, DS, 0xfffd, 4, ACCESS_WRITE)).toEqual({ vector: Vector.GP, hasError: false, error: 0 });
  });

  it("virtual-8086 mode: linear = selector * 16 + offset within 64 KiB, no type checks, #GP(0) past 0xFFFF", () => {
    const r = regs(true);
    r.eflags = 0x2_0002;
    Object.assign(r.seg[DS], { sel: 0x1234, base: 0x12340, limit: 0xffff, ar: 0xf3 });
    Object.assign(r.seg[CS], { sel: 0x2000, base: 0x20000, limit: 0xffff, ar: 0xf3 });
    expect(linear(r, DS, 0xfffe, 2, ACCESS_WRITE)).toEqual({ linear: 0x2233e });
    expect(linear(r, CS, 0x10, 1, ACCESS_WRITE)).toEqual({ linear: 0x20010 }); // V86 CS is read/write data (AR 0xF3)
    expect(linear(r, DS, 0xffff, 2, ACCESS_READ)).toEqual({ vector: Vector.GP, hasError: true, error: 0 });
    expect(linear(r, SS, 0x10000, 1, ACCESS_READ).vector).toBe(Vector.SS);
  });
});
