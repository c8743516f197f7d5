// Our three guests booted through the whole path: kernel, emulated VT-x and
// EPT, protobuf exits to a piscina VMM worker, the 16550 UART. Each guest
// checks itself (against the SDM's rules for paging, #PF error codes and
// privilege, and against the documented CPUID/MSR/hypercall models) and
// prints its verdict, which is what these tests read.
import { describe, expect, it } from "vitest";
import { guest, runVms, vm } from "./helpers.js";

describe("guests booted end to end", () => {
  it("hello prints over the UART and halts", async () => {
    const r = (await runVms([vm("hello", guest("hello.elf"))])).get("hello")!;
    expect(r.output).toBe("Hello from moat guest\n");
    expect(r).toMatchObject({ fault: false, reason: "halted", exitCode: 0 });
    expect(r.exits.get(30)).toBeGreaterThan(21); // at least one OUT per character
  });

  it("hello runs from a flat binary loaded at 1 MiB", async () => {
    const r = (await runVms([vm("flat", guest("hello.bin"), { format: "flat", load: 0x100000 })])).get("flat")!;
    expect(r.output).toBe("Hello from moat guest\n");
    expect(r.fault).toBe(false);
  });

  it("paging-ring3 turns on paging, runs at ring 3 and checks page faults and #GP", async () => {
    const r = (await runVms([vm("p", guest("paging-ring3.elf"))])).get("p")!;
    expect(r.output).toContain("in ring 3\n");
    expect(r.output).toContain("paging-ring3: 14 checks passed, 0 failed\n");
    expect(r.output).not.toContain("FAIL");
    expect(r).toMatchObject({ fault: false, exitCode: 0 });
  });

  it("exits drives CPUID, RDMSR/WRMSR and VMCALL exits and checks the answers", async () => {
    const r = (await runVms([vm("e", guest("exits.elf"))])).get("e")!;
    expect(r.output).toContain("exits: 20 checks passed, 0 failed\n");
    expect(r.output).not.toContain("FAIL");
    expect(r).toMatchObject({ fault: false, exitCode: 0, reason: "guest exit (hypercall) with code 0" });
    for (const reason of [10, 18, 31, 32]) expect(r.exits.get(reason)).toBeGreaterThan(0);
  });

  it("runs the three guests at once with the same output as alone", async () => {
    const names = ["hello", "paging-ring3", "exits"];
    const together = await runVms(names.map((n) => vm(n, guest(`${n}.elf`))));
    for (const n of names) {
      const alone = (await runVms([vm(n, guest(`${n}.elf`))])).get(n)!;
      expect(together.get(n)!.output).toBe(alone.output);
      expect(together.get(n)!.instructions).toBe(alone.instructions);
    }
  });
});
