// The scheduler and exit dispatch against a scripted processor and VMMs.
// Oracles: NOVA's scheduling rule (strictly by SC priority, round robin with
// quantum within one priority), NOVA's startup event (VMI 254 before the
// first entry), DESIGN.md §5 (per-vCPU virtual time; HLT skips to the next
// deadline) and §6 (a VMM fault stops only its own VM).
import { describe, expect, it } from "vitest";
import { VmExit, VmReply } from "../../proto/index.js";
import { ExitReason } from "../vmx/exit-reason.js";
import { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";
import type { Channel } from "./channel.js";
import type { Ec } from "./ec.js";
import { ExitDispatcher } from "./exit-dispatch.js";
import { type GuestCpu, Scheduler, type SchedulerOptions } from "./scheduler.js";
import { VcpuRun } from "./vcpu-run.js";

/** A processor that replays a script of exits per VMCS. */
class ScriptedCpu implements GuestCpu {
  tsc = 0;
  retired = 0;
  entryFailure: string | null = null;
  readonly log: string[] = [];
  constructor(readonly scripts: Map<Vmcs, { reason: number; retired: number }[]>) {}
  enter(vmcs: Vmcs, budget: number): number {
    const step = this.scripts.get(vmcs)?.shift() ?? { reason: ExitReason.HLT, retired: 1 };
    this.retired = Math.min(step.retired, budget);
    this.tsc += this.retired;
    this.log.push(`${vmcs.read(F.VPID)}:${step.reason}@${(vmcs.read(F.TSC_OFFSET) + this.tsc - this.retired) | 0}`);
    if (step.reason === 0x8000_0021) this.entryFailure = "CS.AR bad";
    return step.reason;
  }
  loadContext(): void {}
  saveContext(): number {
    return 0;
  }
}

interface Fixture {
  sched: Scheduler;
  vcpus: VcpuRun[];
  exits: { vm: number; reason: number; mtd: number; tsc: number; consoleIn: number[] }[];
  stopped: Map<number, string>;
}

function fixture(
  specs: { priority: number; script: { reason: number; retired: number }[] }[],
  reply: (vm: number, reason: number) => Uint8Array | Error = (_vm, reason) =>
    VmReply.encode(reason === ExitReason.HLT ? { stop: true, stopReason: "done" } : {}).finish(),
  options: SchedulerOptions = {},
): Fixture & { cpu: ScriptedCpu } {
  const exits: Fixture["exits"] = [];
  const stopped = new Map<number, string>();
  const scripts = new Map<Vmcs, { reason: number; retired: number }[]>();
  const vcpus = specs.map((s, i) => {
    const vmcs = new Vmcs();
    vmcs.write(F.VPID, i);
    scripts.set(vmcs, [...s.script]);
    const ec = { recallPending: false, scs: [] } as unknown as Ec;
    return new VcpuRun(ec, vmcs, i, 0, s.priority, 1000);
  });
  const channel = (vm: number): Channel => ({
    transport: "test",
    call: async (bytes) => {
      const e = VmExit.decode(bytes);
      exits.push({ vm, reason: e.reason, mtd: e.mtd, tsc: e.tsc, consoleIn: [...(e.consoleIn ?? [])] });
      const r = reply(vm, e.reason);
      if (r instanceof Error) throw r;
      return r;
    },
  });
  const dispatch = new ExitDispatcher(
    (ec, _reason) => ({ mtd: 0x80000 | 0x8, channel: channel(vcpus.findIndex((v) => v.ec === ec)) }),
    {
      console: () => {},
      stopped: (v, o) => stopped.set(v.vm, o.reason),
    },
  );
  const cpu = new ScriptedCpu(scripts);
  const sched = new Scheduler(cpu, dispatch, options);
  for (const v of vcpus) sched.add(v);
  return { sched, vcpus, exits, stopped, cpu };
}

describe("Scheduler", () => {
  it("delivers the startup event before the first VM entry", async () => {
    const f = fixture([{ priority: 1, script: [{ reason: ExitReason.HLT, retired: 5 }] }]);
    await f.sched.run();
    expect(f.exits.map((e) => e.reason)).toEqual([ExitReason.STARTUP, ExitReason.HLT]);
    expect(f.stopped.get(0)).toBe("done");
  });

  it("runs the higher priority first and alternates equal priorities on preemption", async () => {
    const pre = { reason: ExitReason.EXTERNAL_INTERRUPT, retired: 1000 };
    const end = { reason: ExitReason.HLT, retired: 1 };
    const f = fixture([
      { priority: 1, script: [pre, pre, end] },
      { priority: 1, script: [pre, pre, end] },
      { priority: 9, script: [pre, end] },
    ]);
    await f.sched.run();
    const order = f.cpu.log.map((l) => Number(l.split(":")[0]));
    expect(order.slice(0, 2)).toEqual([2, 2]);
    expect(order.slice(2)).toEqual([0, 1, 0, 1, 0, 1]);
  });

  it("stops a vCPU at its instruction limit exactly (the last entry's budget is what is left), not a fault", async () => {
    const pre = { reason: ExitReason.EXTERNAL_INTERRUPT, retired: 1000 };
    const f = fixture([{ priority: 1, script: [pre, pre, pre, pre] }]);
    f.vcpus[0].instructionLimit = 2500;
    await f.sched.run();
    expect(f.vcpus[0].vtime).toBe(2500);
    expect(f.vcpus[0].outcome).toEqual({ reason: "instruction limit of 2500 reached", exitCode: 0, fault: false });
  });

  it("gives each vCPU a TSC that counts only its own instructions", async () => {
    const pre = { reason: ExitReason.EXTERNAL_INTERRUPT, retired: 1000 };
    const f = fixture([
      { priority: 1, script: [pre, { reason: ExitReason.CPUID, retired: 10 }, { reason: ExitReason.HLT, retired: 1 }] },
      { priority: 1, script: [pre, pre, pre, { reason: ExitReason.HLT, retired: 1 }] },
    ]);
    await f.sched.run();
    const cpuid = f.exits.find((e) => e.reason === ExitReason.CPUID)!;
    expect(cpuid.tsc).toBe(1010);
    // The guest TSC at each entry (TSC + offset) equals that vCPU's own count.
    expect(f.cpu.log.filter((l) => l.startsWith("0:"))).toEqual(["0:1@0", "0:10@1000", "0:12@1010"]);
  });

  it("stops only the VM whose VMM fails; the other runs to its end", async () => {
    const f = fixture(
      [
        { priority: 1, script: [{ reason: ExitReason.CPUID, retired: 3 }] },
        {
          priority: 1,
          script: [
            { reason: ExitReason.CPUID, retired: 3 },
            { reason: ExitReason.HLT, retired: 1 },
          ],
        },
      ],
      (vm, reason) =>
        vm === 0 && reason === ExitReason.CPUID
          ? new Error("VMM worker died: boom")
          : VmReply.encode(reason === ExitReason.HLT ? { stop: true, stopReason: "done" } : {}).finish(),
    );
    await f.sched.run();
    expect(f.stopped.get(0)).toBe("VMM worker died: boom");
    expect(f.vcpus[0].outcome?.fault).toBe(true);
    expect(f.stopped.get(1)).toBe("done");
  });

  it("stops a VM whose entry fails with the processor's reason", async () => {
    const f = fixture([{ priority: 1, script: [{ reason: 0x8000_0021, retired: 0 }] }]);
    await f.sched.run();
    expect(f.stopped.get(0)).toBe("VM-entry failure (ENTRY_FAIL_GUEST_STATE): CS.AR bad");
  });

  it("stops a VM whose portal is missing", async () => {
    const f = fixture([{ priority: 1, script: [] }]);
    (f.sched as unknown as { dispatch: { lookup: unknown } }).dispatch.lookup = () => null;
    await f.sched.run();
    expect(f.stopped.get(0)).toBe("no portal for exit reason 254 (STARTUP)");
  });

  it("skips virtual time to the deadline while the guest halts, then stops one that can never wake", async () => {
    const f = fixture(
      [
        {
          priority: 1,
          script: [
            { reason: ExitReason.HLT, retired: 10 },
            { reason: ExitReason.PREEMPTION_TIMER, retired: 0 },
          ],
        },
      ],
      (_vm, reason) => {
        if (reason === ExitReason.HLT)
          return VmReply.encode({ mtd: 1 << 18, state: { actvState: F.ACTIVITY_HLT }, deadline: 5000 }).finish();
        return VmReply.encode({}).finish();
      },
    );
    f.vcpus[0].vmcs.write(F.GUEST_ACTIVITY_STATE, 0);
    const run = f.sched.run();
    await run;
    const timer = f.exits.find((e) => e.reason === ExitReason.PREEMPTION_TIMER)!;
    expect(timer.tsc).toBe(5000);
    expect(f.stopped.get(0)).toBe("halted with no event pending");
  });
  /** A guest that halts (activity state HLT) with `deadline` at its first exit; later replies clear the deadline. */
  function halter(deadline: number, options: SchedulerOptions = {}) {
    const f = fixture(
      [{ priority: 1, script: [{ reason: ExitReason.HLT, retired: 10 }] }],
      (_vm, reason) => {
        if (reason === ExitReason.HLT)
          return VmReply.encode({ mtd: 1 << 18, state: { actvState: F.ACTIVITY_HLT }, deadline }).finish();
        return VmReply.encode({}).finish();
      },
      options,
    );
    f.vcpus[0].vmcs.write(F.GUEST_ACTIVITY_STATE, 0);
    return f;
  }

  it("keeps a halted vCPU while an input source is open; a recall delivers the input, EOF ends it", async () => {
    const f = halter(0);
    const v = f.vcpus[0];
    v.inputOpen = true;
    let ended = false;
    const run = f.sched.run().then(() => (ended = true));
    await new Promise((r) => setTimeout(r, 30));
    expect(ended).toBe(false);
    expect(v.status).toBe("halted");
    v.queueInput(new Uint8Array([0x71]));
    v.ec.recallPending = true;
    f.sched.recall(v);
    await new Promise((r) => setTimeout(r, 30));
    expect(f.exits.at(-1)).toMatchObject({ reason: ExitReason.RECALL, consoleIn: [0x71] });
    expect(ended).toBe(false);
    v.inputOpen = false;
    f.sched.poke();
    await run;
    expect(f.stopped.get(0)).toBe("halted with no event pending");
  });

  it("in realtime mode waits the host time a HLT's deadline is away (100 MHz virtual TSC) before the timer exit", async () => {
    // 3,000,000 ticks at 100 MHz = 30 ms (proto/virtual-time.ts).
    const f = halter(3_000_000, { realtime: true });
    f.cpu.scripts.get(f.vcpus[0].vmcs)?.push({ reason: ExitReason.PREEMPTION_TIMER, retired: 0 });
    const t0 = performance.now();
    await f.sched.run();
    const timer = f.exits.find((e) => e.reason === ExitReason.PREEMPTION_TIMER)!;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
    expect(timer.tsc).toBe(3_000_000);
  });

  it("in realtime mode a recall ends the HLT wait early, virtual time advanced by the host time passed", async () => {
    // 100,000,000 ticks = 1 s; the recall comes after about 20 ms.
    const f = halter(100_000_000, { realtime: true });
    const v = f.vcpus[0];
    const run = f.sched.run();
    await new Promise((r) => setTimeout(r, 20));
    v.ec.recallPending = true;
    f.sched.recall(v);
    await new Promise((r) => setTimeout(r, 20));
    const recall = f.exits.find((e) => e.reason === ExitReason.RECALL)!;
    expect(recall.tsc).toBeGreaterThan(10 + 1_500_000);
    expect(recall.tsc).toBeLessThan(100_000_000);
    await run;
    expect(f.stopped.get(0)).toBe("halted with no event pending");
  });
});
