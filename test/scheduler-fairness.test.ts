// A guest spinning with interrupts off cannot starve another (issue "many
// VMs from one config"). Oracle: NOVA's scheduling rule (SCs of equal
// priority take turns, each for at most its quantum; the host timer ends a
// slice whatever the guest's EFLAGS.IF, as external-interrupt exiting does,
// SDM §25.2) and the solo run of the other guest, which must be unchanged.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { VmmFactory } from "../hypervisor/root/vmm-host.js";
import { sabVmmFactory } from "../hypervisor/root/vmm-sab-host.js";
import { guest, runVms, vm } from "./helpers.js";

/** CLI; JMP $ : interrupts off, then a tight loop forever. */
const SPINNER = new Uint8Array([0xfa, 0xeb, 0xfe]);

describe("scheduling contexts", () => {
  it("runs a guest to its end beside one that spins with interrupts off, as it runs alone", async () => {
    const spin = join(mkdtempSync(join(tmpdir(), "moat-spin-")), "spin.bin");
    writeFileSync(spin, SPINNER);
    const solo = (await runVms([vm("hello", guest("hello.elf"))])).get("hello")!;
    // hello's VMM answers its first exit only once the spinner is spinning (VM 0 is the spinner).
    let spinning: () => void = () => {};
    const spinnerStarted = new Promise<void>((r) => (spinning = r));
    const factory: VmmFactory = (boot, opts) => {
      const port = sabVmmFactory(boot, opts);
      const call = port.call.bind(port);
      let first = true;
      port.call = async (msg) => {
        if (boot.vm === 1 && first) await spinnerStarted;
        const reply = await call(msg);
        if (boot.vm === 0 && first) setTimeout(spinning, 20);
        first = false;
        return reply;
      };
      return port;
    };
    const samples: number[] = [];
    const both = await runVms(
      [vm("spinner", spin, { format: "flat", load: 0x100000 }), vm("hello", guest("hello.elf"))],
      (m, name, text) => {
        if (name !== "hello") return;
        samples.push(m.instructionsOf("spinner"));
        // hello has printed everything; the spinner would spin forever.
        if (text.endsWith("\n")) setTimeout(() => m.destroy("spinner", "spinner ended by the test"), 50);
      },
      { vmmFactory: factory },
    );
    const hello = both.get("hello")!;
    expect(hello.output).toBe(solo.output);
    expect(hello.instructions).toBe(solo.instructions);
    expect(hello).toMatchObject({ fault: false, reason: solo.reason });
    expect(both.get("spinner")!.reason).toBe("spinner ended by the test");
    // hello's output came between the spinner's quanta: the spinner kept retiring instructions meanwhile.
    expect(samples[0]).toBeGreaterThan(0);
    expect(new Set(samples).size).toBeGreaterThan(1);
  }, 60_000);
});
