// The 82441FX's PAM registers. Oracle: Intel 82441FX PCI and Memory
// Controller datasheet, "PAM[6:0] - Programmable Attribute Map Registers"
// (offsets 59h-5Fh, default 00h): PAM0 bits 5:4 hold F0000h-FFFFFh (bits 3:0
// reserved); PAMn (n = 1..6) bits 1:0 the 16 KiB segment at C0000h +
// (n - 1) * 8000h and bits 5:4 the one 4000h above; in each pair bit 0/4 is
// RE and bit 1/5 WE; bits 7:6 and 3:2 are reserved.
import { describe, expect, it } from "vitest";
import { I440fxPmc, PAM_RE, PAM_SEGMENTS, PAM_WE, pamSegmentAt } from "./i440fx.js";

describe("82441FX PAM segments", () => {
  it("cover C0000h-FFFFFh: 12 segments of 16 KiB in PAM1-PAM6, then F0000h-FFFFFh in PAM0", () => {
    const table = PAM_SEGMENTS.map((s) => [s.base, s.size, s.reg, s.shift]);
    expect(table).toEqual([
      [0xc0000, 0x4000, 0x5a, 0],
      [0xc4000, 0x4000, 0x5a, 4],
      [0xc8000, 0x4000, 0x5b, 0],
      [0xcc000, 0x4000, 0x5b, 4],
      [0xd0000, 0x4000, 0x5c, 0],
      [0xd4000, 0x4000, 0x5c, 4],
      [0xd8000, 0x4000, 0x5d, 0],
      [0xdc000, 0x4000, 0x5d, 4],
      [0xe0000, 0x4000, 0x5e, 0],
      [0xe4000, 0x4000, 0x5e, 4],
      [0xe8000, 0x4000, 0x5f, 0],
      [0xec000, 0x4000, 0x5f, 4],
      [0xf0000, 0x10000, 0x59, 4],
    ]);
    expect([pamSegmentAt(0), pamSegmentAt(0x3fff), pamSegmentAt(0x4000), pamSegmentAt(0x2ffff)]).toEqual([0, 0, 1, 11]);
    expect([pamSegmentAt(0x30000), pamSegmentAt(0x3ffff)]).toEqual([12, 12]);
  });

  it("reset to 00h: every segment disabled (neither RE nor WE)", () => {
    const p = new I440fxPmc();
    for (let i = 0; i < 13; i++) expect(p.pamMode(i)).toBe(0);
    expect(p.configRead(0x58, 4) >>> 8).toBe(0);
  });

  it("RE is bit 0/4 and WE bit 1/5 of each nibble; reserved bits and PAM0's low nibble read 0", () => {
    const p = new I440fxPmc();
    p.configWrite(0x59, 1, 0xff);
    p.configWrite(0x5a, 1, 0xff);
    p.configWrite(0x5b, 1, 0x21); // C8000h read only, CC000h write only
    expect(p.configRead(0x59, 1)).toBe(0x30);
    expect(p.configRead(0x5a, 1)).toBe(0x33);
    expect([p.pamMode(2), p.pamMode(3)]).toEqual([PAM_RE, PAM_WE]);
    expect([p.pamMode(12), p.pamMode(0), p.pamMode(1)]).toEqual([3, 3, 3]);
  });

  it("tells its listener after a write that changes a segment, not after one that changes none", () => {
    const p = new I440fxPmc();
    let calls = 0;
    p.onPamChange = () => calls++;
    p.configWrite(0x59, 1, 0x0f); // only reserved bits
    p.configWrite(0x0d, 1, 0x40); // latency timer
    expect(calls).toBe(0);
    p.configWrite(0x58, 4, 0x0000_1000); // a dword at 58h holds PAM0 in its second byte
    expect([calls, p.pamMode(12)]).toEqual([1, PAM_RE]);
    p.configWrite(0x5c, 4, 0x3333_3333);
    expect(calls).toBe(2);
  });

  it("restore brings the PAM bytes back and tells the listener", () => {
    const a = new I440fxPmc();
    a.configWrite(0x5f, 1, 0x31);
    const b = new I440fxPmc();
    let calls = 0;
    b.onPamChange = () => calls++;
    b.restore(a.save());
    expect([calls, b.pamMode(10), b.pamMode(11)]).toEqual([1, PAM_RE, PAM_RE | PAM_WE]);
  });
});
