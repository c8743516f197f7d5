// TLB invalidation rules. Oracle: SDM Vol. 3A §4.10.4 (INVLPG invalidates one
// page including global translations; MOV to CR3 invalidates non-global
// ones; CR0.PG/CR4.PGE changes invalidate all), Vol. 3C §28.1 (translations
// are tagged by VPID and only the current VPID's are affected) and §28.4.3
// (INVEPT invalidates guest-physical derived translations of all VPIDs).
import { describe, expect, it } from "vitest";
import type { HostRegion } from "./host-memory.js";
import { Tlb } from "./tlb.js";

const region: HostRegion = { base: 0x100000, size: 0x10000, bytes: new Uint8Array(0x10000), index: 0, words: null };

function fill(t: Tlb, vpid: number, page: number, global = false, write = true): void {
  t.fill(page, Tlb.key(vpid, false), region, region.base + 0x1000 * (page & 0xf), true, write, true, global);
}

describe("Tlb", () => {
  it("a filled slot is found by its key only: read/write/fetch tags per privilege and VPID", () => {
    const t = new Tlb();
    fill(t, 1, 5, false, false);
    expect(t.tagR[5]).toBe(Tlb.key(1, false));
    expect(t.tagW[5]).toBe(0);
    expect(t.tagR[5]).not.toBe(Tlb.key(1, true));
    expect(t.tagR[5]).not.toBe(Tlb.key(2, false));
    expect(t.bytes[5]).toBe(region.bytes);
    expect(t.offset[5]).toBe(0x5000);
  });

  it("INVLPG drops the page of the current VPID, global or not, and leaves other pages", () => {
    const t = new Tlb();
    fill(t, 1, 5, true);
    fill(t, 1, 6);
    t.flushPage(1, 0x5abc);
    expect(t.tagR[5]).toBe(0);
    expect(t.tagR[6]).toBe(Tlb.key(1, false));
  });

  it("MOV to CR3 keeps global translations; a full flush of the VPID drops them", () => {
    const t = new Tlb();
    fill(t, 1, 5, true);
    fill(t, 1, 6);
    t.flushNonGlobal(1);
    expect(t.tagR[5]).toBe(Tlb.key(1, false));
    expect(t.tagR[6]).toBe(0);
    t.flushVpid(1);
    expect(t.tagR[5]).toBe(0);
    expect(t.size).toBe(0);
  });

  it("flushes of one VPID leave another VPID's translations; INVEPT drops all", () => {
    const t = new Tlb();
    fill(t, 1, 5);
    fill(t, 2, 6);
    t.flushVpid(1);
    expect(t.tagR[5]).toBe(0);
    expect(t.tagR[6]).toBe(Tlb.key(2, false));
    t.flushPage(1, 0x6000);
    expect(t.tagR[6]).toBe(Tlb.key(2, false));
    t.invept();
    expect(t.tagR[6]).toBe(0);
    expect(t.size).toBe(0);
  });

  it("a refill of a slot for another VPID discards the rights cached for the previous one", () => {
    const t = new Tlb();
    fill(t, 1, 5, false, true);
    fill(t, 2, 5, false, false);
    expect(t.tagW[5]).toBe(0);
    expect(t.tagR[5]).toBe(Tlb.key(2, false));
    expect(t.size).toBe(1);
  });
});
