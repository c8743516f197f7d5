// The PC platform's interrupt path end to end: guests/timer programs the
// 8259A and the 8254 and halts with interrupts on; every tick must come from
// the PIT's deadline (the kernel skips virtual time while the guest halts and
// the VMX-preemption timer wakes the vCPU), through the PIC, injected by the
// VMM as an external interrupt. The guest checks itself against the 8254 and
// 8259A datasheets and the 100 MHz virtual TSC (see guests/timer/timer.c).
// Linux on the same path: test/linux-boot.test.ts.
import { describe, expect, it } from "vitest";
import { guest, runVms, vm } from "./helpers.js";

describe("timer guest: PIT -> PIC -> injected IRQ 0 wakes HLT", () => {
  it("counts 10 ticks at 100 Hz of virtual time and exits through port 0xF4 with status 1", async () => {
    const r = (await runVms([vm("timer", guest("timer.elf"))])).get("timer")!;
    expect(r.output).toContain("timer: 10 ticks, 10 wakeups\n");
    expect(r.output).toContain("timer: 3 checks passed, 0 failed\n");
    expect(r.output).not.toContain("FAIL");
    // debug-exit: status (value << 1) | 1 with value = checks_failed = 0.
    expect(r).toMatchObject({
      fault: false,
      exitCode: 1,
      reason: "guest exit through the debug-exit port with status 1",
    });
    expect(r.exits.get(12)).toBe(10); // one HLT per tick
    expect(r.exits.get(52)).toBe(10); // each woken by the preemption timer at the PIT's deadline
  });

  it("runs the same, tick for tick, twice (virtual time, DESIGN.md §5)", async () => {
    const a = (await runVms([vm("t", guest("timer.elf"))])).get("t")!;
    const b = (await runVms([vm("t", guest("timer.elf"))])).get("t")!;
    expect(b.output).toBe(a.output);
    expect(b.instructions).toBe(a.instructions);
  });
});
