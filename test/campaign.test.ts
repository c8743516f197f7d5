// The CI fault campaign (issue "Done when"): at least 200 faults over at
// least 4 VMs, 0 hypervisor crashes, 0 differences in VMs that were not
// injected, every fault detected with a reason, and under policy restart the
// guest finishing its work after at least 95% of faults. The oracle for "no
// difference" is the fault-free run of the same config (DESIGN.md §5).
import { describe, expect, it } from "vitest";
import { formatCampaign, runCampaign } from "../hypervisor/root/campaign.js";

describe("moat campaign", () => {
  it("contains 200 faults over 4 VMs: bystanders byte-identical, every fault detected, guests finish", async () => {
    const r = await runCampaign({ vms: 4, faults: 200, seed: 20240601 });
    const table = formatCampaign(r);
    expect(r.checks.failures, table).toEqual([]);
    expect(r.faults).toBeGreaterThanOrEqual(200);
    expect(r.hypervisorCrashes).toBe(0);
    expect(r.spontaneous).toBe(0);
    expect(r.bystanders.runs).toBeGreaterThan(0);
    expect(r.bystanders.identical).toBe(r.bystanders.runs);
    for (const o of r.outcomes) {
      expect(o.detected && o.detectorOk, `${o.kind} at ${o.vm} exit ${o.seq}: ${o.reason}`).toBe(true);
      expect(o.reason?.length).toBeGreaterThan(0);
    }
    expect(r.restart?.finished).toBeGreaterThanOrEqual(0.95 * (r.restart?.faults ?? Number.POSITIVE_INFINITY));
    expect(table.split("\n").at(-1)).toBe(`${r.checks.passed} passed, 0 failed`);
  }, 240_000);
});
