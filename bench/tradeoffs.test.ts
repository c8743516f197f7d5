// The tradeoff table in --quick form on the timer guest, every placement this
// tree builds, in this process. Not timed: only that each figure exists, is
// finite and agrees with what the guest's source says it does. Oracles: the
// timer guest's source (guests/timer/timer.c, guests/lib/pic.c, irq.S: 10
// writes to set up the two 8259As, 3 to program the 8254, one EOI per tick
// for 10 ticks, an OCW3 write and an IRR read: 25 accesses to PIC and PIT
// ports, and 10 HLTs) and its 8254 arithmetic (10 ticks at 11,932 PIT cycles
// of 1.193182 MHz take at least 9 periods = 9,000,000 ticks of the 100 MHz
// virtual TSC); the round-trip arithmetic is done by hand.
import { describe, expect, it } from "vitest";
import { tradeoffMarkdown } from "./tradeoff-chart.js";
import { type Cell, type CellOutcome, measureTradeoffs, PLACEMENTS, roundTripUs, WORKLOADS } from "./tradeoffs.js";

const PIC_PIT_ACCESSES = 25;
const HLTS = 10;
const MIN_TICKS = 9_000_000;

describe("roundTripUs", () => {
  it("divides the channel time by the forwarded exits, leaving out a timed startup exit", () => {
    expect(roundTripUs({ forwardedHostMs: 50, exitsForwarded: 100 }, null)).toEqual([500]);
    expect(roundTripUs({ forwardedHostMs: 50, exitsForwarded: 101 }, 30)).toEqual([200]);
    expect(roundTripUs({ forwardedHostMs: 0, exitsForwarded: 0 }, null)).toEqual([]);
  });
});

describe("the tradeoff table, --quick, timer guest", () => {
  const timer = WORKLOADS.filter((w) => w.name === "timer");

  it("has a row per placement with finite figures, and forwarded exits the guest's source accounts for", async () => {
    const r = await measureTradeoffs({ runs: 1, workloads: timer });
    expect(r.failed, JSON.stringify(r.cells)).toBe(false);
    expect(r.table.rows.map((x) => x.placement)).toEqual([...PLACEMENTS]);
    for (const row of r.table.rows) {
      for (const v of row.values) if (v !== null) expect(Number.isFinite(v), `${row.placement}: ${v}`).toBe(true);
      // A missing figure always says why.
      if (row.values.includes(null)) expect(row.note, row.placement).toBeTruthy();
    }
    expect(tradeoffMarkdown(r.table).split("\n")).toHaveLength(2 + PLACEMENTS.length);

    const cell = (p: string): Cell | undefined => {
      const c: CellOutcome | undefined = r.cells.find((x) => x.placement === p);
      return c && !("skipped" in c) ? c : undefined;
    };
    // Every placement whose code is in the tree runs (one that is not says so in its note).
    for (const t of r.tcb) if (t.present) expect(cell(t.placement), t.placement).toBeDefined();
    const split = cell("split");
    expect(split, "split always runs").toBeDefined();
    if (split === undefined) return;
    expect(split.instructions).toBeGreaterThanOrEqual(MIN_TICKS);
    expect(split.exitsForwarded).toBeGreaterThanOrEqual(PIC_PIT_ACCESSES + HLTS + 1); // + the startup exit
    expect(split.forwardedPerGuestSecond).toBeGreaterThan(0);
    expect(split.runMs).toBeGreaterThan(0);
    expect(split.exitsInHypervisor).toBe(0);
    expect(split.roundTripUs).toBeGreaterThan(0);

    const irqchip = cell("irqchip");
    if (irqchip !== undefined) {
      // The 8259A and 8254 ports are answered in the hypervisor thread, never forwarded.
      expect(irqchip.exitsInHypervisor).toBeGreaterThanOrEqual(PIC_PIT_ACCESSES);
      expect(irqchip.exitsForwarded).toBeLessThanOrEqual(split.exitsForwarded - PIC_PIT_ACCESSES);
      expect(irqchip.instructions).toBe(split.instructions);
    }
    const mono = cell("monolithic");
    if (mono !== undefined) expect(mono.instructions).toBe(split.instructions);
  }, 180_000);
});
