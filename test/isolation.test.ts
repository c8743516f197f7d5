// Isolation (DESIGN.md §6, issue "Done when"): two VMs run at once; the VMM
// worker of one is killed mid-run; the other runs to completion with output
// byte-identical to a run without the kill, and the hypervisor reports the
// dead VM with a reason. The oracle is the undisturbed run of the same guest.
import { describe, expect, it } from "vitest";
import { guest, runVms, vm } from "./helpers.js";

describe.each(["sab", "piscina"] as const)("a VMM killed mid-run (%s transport)", (transport) => {
  it("destroys only its own VM; the other VM's output is byte-identical to a solo run", async () => {
    const solo = await runVms([vm("exits", guest("exits.elf"))], undefined, {}, transport);
    const alone = solo.get("exits")!;
    expect(alone.fault).toBe(false);

    let killed = false;
    const both = await runVms(
      [vm("victim", guest("paging-ring3.elf")), vm("exits", guest("exits.elf"))],
      (m, name) => {
        if (name === "victim" && !killed) {
          killed = true;
          void m.killVmm("victim");
        }
      },
      {},
      transport,
    );
    expect(killed).toBe(true);
    const victim = both.get("victim")!;
    expect(victim.fault).toBe(true);
    expect(victim.reason).toMatch(/VMM worker (killed|exited|died)/);
    const survivor = both.get("exits")!;
    expect(survivor.fault).toBe(false);
    expect(survivor.exitCode).toBe(alone.exitCode);
    expect(survivor.output).toBe(alone.output);
    expect(survivor.instructions).toBe(alone.instructions);
  });
});
