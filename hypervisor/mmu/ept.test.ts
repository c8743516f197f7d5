// Oracle: Intel SDM Vol. 3C (section numbers of the 2022 editions, where
// EPT is §28.3): EPTP format §24.6.11 (Table 24-8); EPT entry formats
// §28.3.2 (Tables 28-1..28-6); misconfigurations §28.3.3.1; violations
// §28.3.3.2; EPT A/D flags §28.3.5; exit qualification Table 27-7.
// Expected indices and entry fields are computed here from those bit layouts
// with BigInt, independently of the implementation's arithmetic.
import { describe, expect, it } from "vitest";
import { EPT_EXEC, EPT_MISCONFIG, EPT_MT_UC, EPT_READ, EPT_VIOLATION, EPT_WRITE, Ept } from "./ept.js";
import { EPT_POOL_BASE, EptTablePool } from "./ept-table-pool.js";

const KiB4 = 0x1000;
const MiB2 = 0x200000;
const GiB1 = 0x40000000;

function fresh(accessDirty = false): Ept {
  return new Ept({ pool: new EptTablePool(), accessDirty });
}

/** Bits hi:lo of a 64-bit value. */
function bits(v: bigint, hi: number, lo: number): bigint {
  return (v >> BigInt(lo)) & ((1n << BigInt(hi - lo + 1)) - 1n);
}

describe("EPTP (SDM Table 24-8)", () => {
  it("holds memory type WB (6) in 2:0, walk length minus one (3) in 5:3 and the PML4 address in 51:12", () => {
    const ept = fresh();
    const eptp = BigInt(ept.eptp);
    expect(bits(eptp, 2, 0)).toBe(6n);
    expect(bits(eptp, 5, 3)).toBe(3n);
    expect(bits(eptp, 6, 6)).toBe(0n);
    expect(bits(eptp, 11, 7)).toBe(0n);
    expect(bits(eptp, 51, 12) << 12n).toBe(BigInt(ept.pml4));
  });

  it("sets bit 6 when EPT accessed/dirty flags are enabled", () => {
    expect(bits(BigInt(fresh(true).eptp), 6, 6)).toBe(1n);
  });

  it("places tables at host-physical addresses from 2^40 up, above every HostMemory region", () => {
    expect(fresh().pml4).toBeGreaterThanOrEqual(EPT_POOL_BASE);
  });
});

describe("4-level walk structure (SDM 28.3.2)", () => {
  // A GPA and HPA with bits above 32 set so that no level's index is trivially 0.
  const gpa = 0x8040_2010_3000;
  const hpa = 0x5_0000_1000;

  it("uses GPA bits 47:39, 38:30, 29:21, 20:12 as indices and entries at table + 8 * index", () => {
    const ept = fresh();
    ept.map(gpa, hpa, KiB4, EPT_READ | EPT_WRITE);
    const steps = ept.walkTables(gpa);
    const g = BigInt(gpa);
    expect(steps.map((s) => s.level)).toEqual([4, 3, 2, 1]);
    expect(steps.map((s) => BigInt(s.index))).toEqual([
      bits(g, 47, 39),
      bits(g, 38, 30),
      bits(g, 29, 21),
      bits(g, 20, 12),
    ]);
    expect(steps[0].table).toBe(ept.pml4);
    for (const s of steps) expect(s.entryAddress).toBe(s.table + 8 * s.index);
  });

  it("fills non-leaf entries with R/W/X = 7, bits 7:3 = 0 and the next table's address in 51:12", () => {
    const ept = fresh();
    ept.map(gpa, hpa, KiB4, EPT_READ);
    const steps = ept.walkTables(gpa);
    for (let i = 0; i < 3; i++) {
      expect(bits(steps[i].value, 2, 0)).toBe(7n);
      expect(bits(steps[i].value, 7, 3)).toBe(0n);
      expect(bits(steps[i].value, 51, 12) << 12n).toBe(BigInt(steps[i + 1].table));
    }
  });

  it("fills a 4 KiB leaf with the rights, memory type WB in 5:3 and the HPA in 51:12", () => {
    const ept = fresh();
    ept.map(gpa, hpa, KiB4, EPT_READ | EPT_EXEC);
    const pte = ept.walkTables(gpa)[3].value;
    expect(bits(pte, 2, 0)).toBe(5n);
    expect(bits(pte, 5, 3)).toBe(6n);
    expect(bits(pte, 51, 12) << 12n).toBe(BigInt(hpa));
  });

  it("records a chosen memory type in the leaf", () => {
    const ept = fresh();
    ept.map(0, 0, KiB4, EPT_READ | EPT_WRITE, EPT_MT_UC);
    expect(bits(ept.walkTables(0)[3].value, 5, 3)).toBe(0n);
  });
});

describe("translation and rights (SDM 28.3.3.2, Table 27-7)", () => {
  it("adds the page offset to the mapped HPA", () => {
    const ept = fresh();
    ept.map(0x7000, 0x12_3456_7000, KiB4, EPT_READ);
    expect(ept.translate(0x7abc, EPT_READ)).toBe(0x12_3456_7abc);
    expect(ept.lastPageSize).toBe(KiB4);
  });

  it("reports a read of a not-present GPA with qualification bit 0 and bits 5:3 = 0", () => {
    const ept = fresh();
    expect(ept.translate(0x5000, EPT_READ)).toBe(EPT_VIOLATION);
    expect(ept.lastQual).toBe(0b000_001);
  });

  it("reports a write to a read-only page with bit 1 and the granted R in bit 3", () => {
    const ept = fresh();
    ept.map(0x5000, 0x9000, KiB4, EPT_READ);
    expect(ept.translate(0x5000, EPT_WRITE)).toBe(EPT_VIOLATION);
    expect(ept.lastQual).toBe(0b001_010);
  });

  it("reports a fetch from a read/write page with bit 2 and R/W in bits 3-4", () => {
    const ept = fresh();
    ept.map(0x5000, 0x9000, KiB4, EPT_READ | EPT_WRITE);
    expect(ept.translate(0x5010, EPT_EXEC)).toBe(EPT_VIOLATION);
    expect(ept.lastQual).toBe(0b011_100);
  });

  it("allows fetches but not reads from an execute-only page (execute-only is reported supported, A.10)", () => {
    const ept = fresh();
    ept.map(0x5000, 0x9000, KiB4, EPT_EXEC);
    expect(ept.translate(0x5004, EPT_EXEC)).toBe(0x9004);
    expect(ept.translate(0x5004, EPT_READ)).toBe(EPT_VIOLATION);
    expect(ept.lastQual).toBe(0b100_001);
  });

  it("grants the AND of the rights of every entry on the walk", () => {
    const ept = fresh();
    ept.map(0x5000, 0x9000, KiB4, EPT_READ | EPT_WRITE | EPT_EXEC);
    const pde = ept.walkTables(0x5000)[2];
    ept.writeEntry(pde.entryAddress, (pde.value & ~7n) | 5n); // PDE: R and X only
    expect(ept.translate(0x5000, EPT_READ)).toBe(0x9000);
    expect(ept.translate(0x5000, EPT_WRITE)).toBe(EPT_VIOLATION);
    expect(ept.lastQual).toBe(0b101_010);
  });

  it("sees every change after a translation was made (no stale cached translation)", () => {
    const ept = fresh();
    ept.map(0x5000, 0x9000, KiB4, EPT_READ | EPT_WRITE);
    expect(ept.translate(0x5000, EPT_WRITE)).toBe(0x9000);
    ept.protect(0x5000, KiB4, EPT_READ);
    expect(ept.translate(0x5000, EPT_WRITE)).toBe(EPT_VIOLATION);
    const pte = ept.walkTables(0x5000)[3];
    ept.writeEntry(pte.entryAddress, (pte.value & ~0xffffffffff000n) | 0xa000n);
    expect(ept.translate(0x5000, EPT_READ)).toBe(0xa000);
    ept.unmap(0x5000, KiB4);
    expect(ept.translate(0x5000, EPT_READ)).toBe(EPT_VIOLATION);
  });

  it("treats a table address outside the EPT's memory as zeros (not present), without failing", () => {
    const ept = fresh();
    ept.map(0x5000, 0x9000, KiB4, EPT_READ);
    for (const address of [0x1000n, 1n << 50n, (1n << 40n) + (1n << 32n)]) {
      const pml4e = ept.walkTables(0x5000)[0];
      ept.writeEntry(pml4e.entryAddress, address | 7n);
      expect(ept.translate(0x5000, EPT_READ)).toBe(EPT_VIOLATION);
      expect(ept.lastQual).toBe(1);
    }
  });

  it("rejects GPAs at or above 2^48 (beyond a 4-level walk) as not present", () => {
    expect(fresh().translate(2 ** 48, EPT_READ)).toBe(EPT_VIOLATION);
  });
});

describe("large pages (SDM 28.3.2: bit 7 in a PDE maps 2 MiB, in a PDPTE 1 GiB)", () => {
  it("maps 2 MiB-aligned ranges with PDE leaves holding HPA bits 51:21", () => {
    const ept = fresh();
    ept.map(0x40_0000, 0x3_0020_0000, 2 * MiB2, EPT_READ | EPT_WRITE);
    const steps = ept.walkTables(0x40_0000 + MiB2 + 0x1234);
    expect(steps).toHaveLength(3);
    expect(bits(steps[2].value, 7, 7)).toBe(1n);
    expect(bits(steps[2].value, 20, 12)).toBe(0n);
    expect(bits(steps[2].value, 51, 21) << 21n).toBe(BigInt(0x3_0020_0000 + MiB2));
    expect(ept.translate(0x40_0000 + MiB2 + 0x1234, EPT_WRITE)).toBe(0x3_0020_0000 + MiB2 + 0x1234);
    expect(ept.lastPageSize).toBe(MiB2);
  });

  it("maps with 4 KiB pages when the HPA is not 2 MiB-aligned", () => {
    const ept = fresh();
    ept.map(0x40_0000, 0x40_1000, MiB2, EPT_READ);
    expect(ept.walkTables(0x40_0000)).toHaveLength(4);
    expect(ept.translate(0x5f_ffff, EPT_READ)).toBe(0x60_0fff);
  });

  it("maps 1 GiB-aligned ranges with a PDPTE leaf holding HPA bits 51:30", () => {
    const ept = fresh();
    ept.map(GiB1, 2 * GiB1, GiB1, EPT_READ);
    const steps = ept.walkTables(GiB1 + 0x1234_5678);
    expect(steps).toHaveLength(2);
    expect(bits(steps[1].value, 7, 7)).toBe(1n);
    expect(bits(steps[1].value, 51, 30) << 30n).toBe(BigInt(2 * GiB1));
    expect(ept.translate(GiB1 + 0x1234_5678, EPT_READ)).toBe(2 * GiB1 + 0x1234_5678);
  });

  it("splits a 2 MiB page when one 4 KiB page in it is protected, keeping its neighbours", () => {
    const ept = fresh();
    ept.map(0, 0x80_0000, MiB2, EPT_READ | EPT_WRITE);
    ept.protect(0x3000, KiB4, EPT_READ);
    expect(ept.walkTables(0x3000)).toHaveLength(4);
    expect(ept.translate(0x3008, EPT_WRITE)).toBe(EPT_VIOLATION);
    expect(ept.translate(0x3008, EPT_READ)).toBe(0x80_3008);
    expect(ept.translate(0x2008, EPT_WRITE)).toBe(0x80_2008);
    expect(ept.translate(0x1f_f008, EPT_WRITE)).toBe(0x9f_f008);
  });

  it("unmaps one 4 KiB page out of a 2 MiB page", () => {
    const ept = fresh();
    ept.map(0, 0x80_0000, MiB2, EPT_READ);
    ept.unmap(0x10_0000, KiB4);
    expect(ept.translate(0x10_0000, EPT_READ)).toBe(EPT_VIOLATION);
    expect(ept.lastQual).toBe(1);
    expect(ept.translate(0x10_1000, EPT_READ)).toBe(0x90_1000);
  });

  it("replaces a table of 4 KiB pages by a 2 MiB leaf when remapped whole, freeing the table", () => {
    const pool = new EptTablePool();
    const ept = new Ept({ pool });
    ept.map(0, 0x1000, MiB2, EPT_READ); // misaligned: a PT
    const before = pool.inUse;
    ept.map(0, 0x20_0000, MiB2, EPT_READ);
    expect(pool.inUse).toBe(before - 1);
    expect(ept.walkTables(0)).toHaveLength(3);
  });
});

describe("map, unmap, protect", () => {
  it("frees every table but the PML4 when everything is unmapped", () => {
    const pool = new EptTablePool();
    const ept = new Ept({ pool });
    ept.map(0x1000, 0x1000, 0x30_0000, EPT_READ | EPT_WRITE);
    expect(pool.inUse).toBeGreaterThan(1);
    ept.unmap(0, 0x40_0000);
    expect(pool.inUse).toBe(1);
    expect(ept.translate(0x2000, EPT_READ)).toBe(EPT_VIOLATION);
  });

  it("protect with no rights makes pages not present (bits 5:3 of the qualification 0) but restorable", () => {
    const ept = fresh();
    ept.map(0x5000, 0x9000, KiB4, EPT_READ | EPT_WRITE);
    ept.protect(0x5000, KiB4, 0);
    expect(ept.translate(0x5000, EPT_READ)).toBe(EPT_VIOLATION);
    expect(ept.lastQual).toBe(1);
    ept.protect(0x5000, KiB4, EPT_READ | EPT_WRITE);
    expect(ept.translate(0x5000, EPT_WRITE)).toBe(0x9000);
  });

  it("protect leaves unmapped holes unmapped", () => {
    const ept = fresh();
    ept.map(0x5000, 0x9000, KiB4, EPT_READ);
    ept.protect(0, 0x10000, EPT_READ | EPT_WRITE);
    expect(ept.translate(0x4000, EPT_READ)).toBe(EPT_VIOLATION);
    expect(ept.translate(0x5000, EPT_WRITE)).toBe(0x9000);
  });

  it("counts changes in generation so a TLB can tell its combined mappings are stale", () => {
    const ept = fresh();
    const g = ept.generation;
    ept.map(0, 0, KiB4, EPT_READ);
    ept.protect(0, KiB4, EPT_READ | EPT_WRITE);
    ept.unmap(0, KiB4);
    expect(ept.generation).toBe(g + 3);
  });

  it("throws RangeError on misaligned ranges, reserved memory types and write-without-read rights", () => {
    const ept = fresh();
    expect(() => ept.map(0x800, 0, KiB4, EPT_READ)).toThrow(RangeError);
    expect(() => ept.map(0, 0x800, KiB4, EPT_READ)).toThrow(RangeError);
    expect(() => ept.map(0, 0, 100, EPT_READ)).toThrow(RangeError);
    expect(() => ept.map(0, 0, KiB4, EPT_WRITE)).toThrow(RangeError);
    expect(() => ept.map(0, 0, KiB4, EPT_WRITE | EPT_EXEC)).toThrow(RangeError);
    expect(() => ept.map(0, 0, KiB4, EPT_READ, 2)).toThrow(RangeError);
    expect(() => ept.map(0, 0, KiB4, EPT_READ, 7)).toThrow(RangeError);
    expect(() => ept.protect(0, KiB4, 8)).toThrow(RangeError);
    expect(() => ept.unmap(-4096, KiB4)).toThrow(RangeError);
  });
});

describe("misconfigurations (SDM 28.3.3.1)", () => {
  function withLeaf(change: (pte: bigint) => bigint, level = 1): Ept {
    const ept = fresh();
    ept.map(0, 0, level === 2 ? MiB2 : KiB4, EPT_READ | EPT_WRITE | EPT_EXEC);
    const step = ept.walkTables(0)[4 - level];
    ept.writeEntry(step.entryAddress, change(step.value));
    return ept;
  }

  it("write-only (010b) leaf", () => {
    expect(withLeaf((v) => (v & ~7n) | 2n).translate(0, EPT_READ)).toBe(EPT_MISCONFIG);
  });

  it("write/execute without read (110b) leaf", () => {
    expect(withLeaf((v) => (v & ~7n) | 6n).translate(0, EPT_EXEC)).toBe(EPT_MISCONFIG);
  });

  it("reserved memory types 2, 3 and 7 in a leaf; 0, 1, 4, 5, 6 accepted", () => {
    for (const mt of [2n, 3n, 7n]) {
      expect(withLeaf((v) => (v & ~0x38n) | (mt << 3n)).translate(0, EPT_READ)).toBe(EPT_MISCONFIG);
    }
    for (const mt of [0n, 1n, 4n, 5n, 6n]) {
      expect(withLeaf((v) => (v & ~0x38n) | (mt << 3n)).translate(0, EPT_READ)).toBe(0);
    }
  });

  it("bit 7 (reserved) set in a PML4E", () => {
    expect(withLeaf((v) => v | 0x80n, 4).translate(0, EPT_READ)).toBe(EPT_MISCONFIG);
  });

  it("bits 7:3 (reserved) in a PDE that references a page table", () => {
    expect(withLeaf((v) => v | 0x08n, 2).translate(0, EPT_READ)).toBe(EPT_MISCONFIG);
  });

  it("bits 20:12 (reserved) in a PDE that maps a 2 MiB page", () => {
    expect(withLeaf((v) => v | 0x1000n, 2).translate(0, EPT_READ)).toBe(EPT_MISCONFIG);
  });

  it("bits 29:12 (reserved) in a PDPTE that maps a 1 GiB page", () => {
    const ept = fresh();
    ept.map(0, 0, GiB1, EPT_READ);
    const pdpte = ept.walkTables(0)[1];
    ept.writeEntry(pdpte.entryAddress, pdpte.value | 0x2000_0000n);
    expect(ept.translate(0, EPT_READ)).toBe(EPT_MISCONFIG);
  });

  it("an entry with bits 2:0 = 0 is not present whatever its other bits (violation, not misconfiguration)", () => {
    expect(withLeaf(() => 0xfff8n).translate(0, EPT_READ)).toBe(EPT_VIOLATION);
  });

  it("ignored bits (11, 52-63) do not misconfigure", () => {
    expect(withLeaf((v) => v | 0x800n | (0xfffn << 52n)).translate(0, EPT_READ)).toBe(0);
  });
});

describe("accessed and dirty flags (SDM 28.3.5)", () => {
  it("sets bit 8 in every entry used and bit 9 in the leaf only on a write", () => {
    const ept = fresh(true);
    ept.map(0x5000, 0x9000, KiB4, EPT_READ | EPT_WRITE);
    ept.translate(0x5000, EPT_READ);
    let steps = ept.walkTables(0x5000);
    for (const s of steps) expect(bits(s.value, 8, 8)).toBe(1n);
    expect(bits(steps[3].value, 9, 9)).toBe(0n);
    ept.translate(0x5000, EPT_WRITE);
    steps = ept.walkTables(0x5000);
    expect(bits(steps[3].value, 9, 9)).toBe(1n);
    for (const s of steps.slice(0, 3)) expect(bits(s.value, 9, 9)).toBe(0n);
  });

  it("leaves bits 8 and 9 alone when EPTP bit 6 is clear", () => {
    const ept = fresh(false);
    ept.map(0x5000, 0x9000, KiB4, EPT_READ | EPT_WRITE);
    ept.translate(0x5000, EPT_WRITE);
    for (const s of ept.walkTables(0x5000)) expect(bits(s.value, 9, 8)).toBe(0n);
  });
});
