// Containment policies end to end (DESIGN.md §6, issue "Isolation you can
// prove"): faults injected into one VM's VMM are each detected with a reason
// at the exit they were injected at, the VM's policy acts, and every other VM
// runs byte for byte as in a fault-free run. The oracle is that fault-free
// run of the same config (virtual time makes runs deterministic, DESIGN.md
// §5); which detector finds which kind is DESIGN.md §6's table.
import { describe, expect, it } from "vitest";
import type { MachineSpec, Policy, VmSpec } from "../hypervisor/root/config.js";
import { FAULT_INFO, FAULT_KINDS, type FaultKind } from "../hypervisor/root/fault-plan.js";
import { type FaultRecord, Machine, type VmResult } from "../hypervisor/root/machine.js";
import { guest, vm } from "./helpers.js";

async function run(
  vms: VmSpec[],
  faults: [vm: string, seq: number, kind: FaultKind][] = [],
  act?: (m: Machine, vm: string, text: string) => void,
): Promise<{ results: Map<string, VmResult>; faults: FaultRecord[] }> {
  const spec: MachineSpec = { vms, transport: "sab", exitDeadlineMs: 1000, vmmHeapMb: 64, faultHooks: true };
  let m: Machine | null = null;
  m = new Machine(spec, { console: (name, text) => act?.(m as Machine, name, text) });
  for (const [name, seq, kind] of faults) {
    m.prepareSpares(name, 2);
    m.inject(name, kind, { atExit: seq });
  }
  const results = await m.run();
  return { results: new Map(results.map((r) => [r.name, r])), faults: m.faults };
}

const pair = (policy: Policy, victim = "exits") => [
  vm("victim", guest(`${victim}.elf`), { policy }),
  vm("bystander", guest("paging-ring3.elf")),
];

function same(a: VmResult | undefined, b: VmResult | undefined): void {
  expect(a?.output).toBe(b?.output);
  expect(a?.reason).toBe(b?.reason);
  expect(a?.instructions).toBe(b?.instructions);
}

describe("VMM faults under policy restart", () => {
  it("detects every fault kind at its exit, restarts the VMM, and both VMs end as without faults", async () => {
    const clean = await run(pair("restart"));
    expect(clean.faults).toEqual([]);
    const plan = FAULT_KINDS.map((kind, i) => ["victim", 100 * (i + 1), kind] as [string, number, FaultKind]);
    const got = await run(pair("restart"), plan);
    expect(got.faults.map((f) => [f.seq, f.injected])).toEqual(plan.map(([, seq, kind]) => [seq, kind]));
    for (const f of got.faults) {
      expect(FAULT_INFO[f.injected as FaultKind].detectors, `${f.injected}: ${f.reason}`).toContain(f.detector);
      expect(f.reason.length).toBeGreaterThan(0);
      expect(f.action).toBe("retry");
      expect(f.recoverMs).not.toBeNull();
    }
    // A checkpoint after every exit and the lost exit delivered again: the victim carries on exactly.
    same(got.results.get("victim"), clean.results.get("victim"));
    same(got.results.get("bystander"), clean.results.get("bystander"));
  }, 120_000);
});

describe("VMM faults under policies destroy and reset", () => {
  it("destroy: the VM stops with the fault's reason, the other runs as without faults", async () => {
    const clean = await run(pair("destroy"));
    const got = await run(pair("destroy"), [["victim", 30, "bad-cr0"]]);
    const victim = got.results.get("victim");
    expect(victim).toMatchObject({ fault: true, faults: 1 });
    expect(victim?.reason).toMatch(/^VMM reply refused: VM-entry failure: CR0: PG set without PE/);
    expect(got.faults).toMatchObject([{ seq: 30, injected: "bad-cr0", action: "stop", recoverMs: null }]);
    same(got.results.get("bystander"), clean.results.get("bystander"));
  }, 60_000);

  it("reset: the guest reboots with a fresh VMM and runs to its end again", async () => {
    const clean = await run(pair("reset", "hello"));
    const ref = clean.results.get("victim") as VmResult;
    const got = await run(pair("reset", "hello"), [["victim", 20, "throw"]]);
    const victim = got.results.get("victim") as VmResult;
    expect(got.faults).toMatchObject([{ seq: 20, injected: "throw", detector: "threw", action: "reset" }]);
    expect(got.faults[0].recoverMs).not.toBeNull();
    // What it printed before the fault, then everything again from power-on.
    const before = victim.output.slice(0, victim.output.length - ref.output.length);
    expect(before.length).toBeGreaterThan(0);
    expect(ref.output.startsWith(before)).toBe(true);
    expect(victim.output.endsWith(ref.output)).toBe(true);
    expect(victim).toMatchObject({ fault: false, reason: ref.reason, exitCode: ref.exitCode });
    same(got.results.get("bystander"), clean.results.get("bystander"));
  }, 60_000);
});
