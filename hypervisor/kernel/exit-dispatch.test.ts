// Exit dispatch under VMM faults (DESIGN.md §6), against scripted VMMs.
// Oracles: DESIGN.md §6's contract (a refused reply is counted as a VM-entry
// failure of that VM and changes nothing; hypercalls are rate-limited per
// PD), NOVA's portal semantics (the exit's state is the vCPU's until a reply
// is accepted, so the same exit can be delivered again), and SDM §5.3 (an EIP
// past the CS limit can only fault).
import { describe, expect, it } from "vitest";
import { type IVmExit, type IVmReply, VmExit, VmReply } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { sealReply } from "../../proto/reply-checksum.js";
import { ExitReason } from "../vmx/exit-reason.js";
import { Vmcs } from "../vmx/vmcs.js";
import * as F from "../vmx/vmcs-fields.js";
import { type Channel, ChannelFault } from "./channel.js";
import type { Ec } from "./ec.js";
import {
  CALLS_PER_REPLY,
  type DispatchOptions,
  ExitDispatcher,
  type KernelEvents,
  VmmCallOp,
} from "./exit-dispatch.js";
import { VcpuRun } from "./vcpu-run.js";

type Script = (exit: IVmExit) => IVmReply | Uint8Array | Error;

function setup(script: Script, events: Partial<KernelEvents> = {}, options: DispatchOptions = {}) {
  const vmcs = new Vmcs();
  vmcs.write(F.GUEST_CS_LIMIT, 0xffff_ffff);
  vmcs.write(F.GUEST_RIP, 0x1000);
  vmcs.write(F.GUEST_RFLAGS, 2);
  const ec = { recallPending: false, scs: [] } as unknown as Ec;
  const v = new VcpuRun(ec, vmcs, 0, 0, 1, 1000);
  v.status = "waiting";
  const seen: IVmExit[] = [];
  let channel: Channel = {
    transport: "script",
    call: async (bytes) => {
      const exit = VmExit.decode(bytes);
      seen.push(exit);
      const r = script(exit);
      if (r instanceof Error) throw r;
      if (r instanceof Uint8Array) return r;
      const body = VmReply.encode(r).finish();
      return options.sealed ? sealReply(body) : body;
    },
  };
  const stopped: string[] = [];
  const d = new ExitDispatcher(
    () => ({ mtd: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.RFLAGS, channel, pd: channel }),
    { console: () => {}, stopped: (_v, o) => stopped.push(o.reason), ...events },
    options,
  );
  return { d, v, vmcs, seen, stopped, swap: (c: Channel) => (channel = c) };
}

describe("ExitDispatcher under VMM faults", () => {
  it("rolls back a reply the entry checks refuse: GPRs, EIP and RFLAGS are as the exit left them", async () => {
    const f = setup(
      () => ({ mtd: Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.RFLAGS, state: { eax: 7, eip: 0x2000, eflags: 0 } }),
      {},
      { entryCheck: (vmcs) => (vmcs.read(F.GUEST_RFLAGS) & 2 ? null : "RFLAGS: bit 1 must be 1") },
    );
    f.v.gpr[0] = 0x1234;
    await f.d.deliver(f.v, ExitReason.CPUID);
    expect(f.stopped).toEqual(["VMM reply refused: VM-entry failure: RFLAGS: bit 1 must be 1"]);
    expect(f.v.gpr[0]).toBe(0x1234);
    expect(f.vmcs.read(F.GUEST_RIP)).toBe(0x1000);
    expect(f.vmcs.read(F.GUEST_RFLAGS)).toBe(2);
  });

  it("refuses an EIP more than one byte past the CS limit", async () => {
    const f = setup(() => ({ mtd: Mtd.RIP_LEN, state: { eip: 0x1_0002 } }));
    f.vmcs.write(F.GUEST_CS_LIMIT, 0xffff);
    await f.d.deliver(f.v, ExitReason.CPUID);
    expect(f.stopped[0]).toMatch(/EIP 0x10002 beyond the CS limit 0xffff/);
    expect(f.vmcs.read(F.GUEST_RIP)).toBe(0x1000);
  });

  // SDM §28.4.3: VM entry keeps a VPID's cached translations; NOVA invalidates them when a VMM writes the CR group.
  it("invalidates the vCPU's VPID when an accepted reply changes CR3, and not when CR state stays the same", async () => {
    const flushed: number[] = [];
    const cr = (cr3: number) => ({ mtd: Mtd.CR, state: { cr0: 0x8000_0011, cr2: 0, cr3, cr4: 0 } });
    let next = cr(0x5000);
    const f = setup(() => next, {}, { flushTlb: (vpid) => flushed.push(vpid) });
    f.vmcs.write(F.VPID, 3);
    f.vmcs.write(F.GUEST_CR0, 0x8000_0011);
    f.vmcs.write(F.GUEST_CR3, 0x5000);
    await f.d.deliver(f.v, ExitReason.CPUID);
    expect(flushed).toEqual([]);
    next = cr(0x9000);
    await f.d.deliver(f.v, ExitReason.CPUID);
    expect(flushed).toEqual([3]);
    expect(f.vmcs.read(F.GUEST_CR3)).toBe(0x9000);
  });

  it("re-delivers the lost exit, same sequence number, with the last accepted checkpoint, to the VMM that replaces the failed one", async () => {
    const checkpoint = new Uint8Array([1, 2, 3]);
    let calls = 0;
    const f = setup(() => (++calls === 1 ? { checkpoint } : new ChannelFault("threw", "VMM handler threw: x")), {
      vmmFault: (v) => {
        v.restoreNext = true;
        f.swap({
          transport: "fresh",
          call: async (b) => {
            fresh.push(VmExit.decode(b));
            return VmReply.encode({}).finish();
          },
        });
        return "retry";
      },
      recovered: (_v, ms) => recovered.push(ms),
    });
    const fresh: IVmExit[] = [];
    const recovered: number[] = [];
    await f.d.deliver(f.v, ExitReason.CPUID);
    await f.d.deliver(f.v, ExitReason.HLT);
    expect(f.seen.map((e) => e.seq)).toEqual([1, 2]);
    expect(fresh.map((e) => [e.seq, e.reason])).toEqual([[2, ExitReason.HLT]]);
    expect([...(fresh[0].restore ?? [])]).toEqual([1, 2, 3]);
    expect(recovered).toHaveLength(1);
    expect(f.stopped).toEqual([]);
  });

  it("stops the VM when the policy says stop, with the fault's reason", async () => {
    const f = setup(() => new ChannelFault("timeout", "VMM missed its 5 ms exit deadline"), {
      vmmFault: (_v, fault) => {
        expect(fault).toMatchObject({ detector: "timeout", seq: 1, exitReason: ExitReason.CPUID });
        return "stop";
      },
    });
    await f.d.deliver(f.v, ExitReason.CPUID);
    expect(f.stopped).toEqual(["VMM missed its 5 ms exit deadline"]);
    expect(f.v.outcome?.fault).toBe(true);
  });

  it("refuses unsealed and damaged replies when replies must be sealed", async () => {
    const plain = setup(() => VmReply.encode({}).finish(), {}, { sealed: true });
    await plain.d.deliver(plain.v, ExitReason.CPUID);
    expect(plain.stopped).toEqual(["VMM reply refused: reply has no CRC-32 trailer"]);
    const sealed = sealReply(VmReply.encode({ mtd: Mtd.GPR_ACDB, state: { eax: 1 } }).finish());
    sealed[3] ^= 0x10;
    const damaged = setup(() => sealed, {}, { sealed: true });
    await damaged.d.deliver(damaged.v, ExitReason.CPUID);
    expect(damaged.stopped[0]).toMatch(/CRC-32 mismatch/);
  });

  it("applies a recall hypercall and counts more than the per-reply limit as a flood", async () => {
    const recall = (n: number) => Array.from({ length: n }, () => ({ op: VmmCallOp.RECALL }));
    const ok = setup(() => ({ calls: recall(1) }));
    await ok.d.deliver(ok.v, ExitReason.CPUID);
    expect(ok.v.ec.recallPending).toBe(true);
    const flood = setup(() => ({ calls: recall(CALLS_PER_REPLY + 1) }), {
      vmmFault: (_v, fault) => {
        expect(fault.detector).toBe("flood");
        return "stop";
      },
    });
    await flood.d.deliver(flood.v, ExitReason.CPUID);
    expect(flood.stopped[0]).toMatch(/hypercall flood: 17 calls in one reply/);
    expect(flood.v.ec.recallPending).toBe(false);
  });

  it("counts a VMM that keeps calling at the per-reply limit as a flood once its bucket is drained", async () => {
    const f = setup(() => ({ calls: Array.from({ length: CALLS_PER_REPLY }, () => ({ op: VmmCallOp.RECALL })) }));
    let exits = 0;
    while (f.stopped.length === 0 && exits < 20) {
      exits++;
      await f.d.deliver(f.v, ExitReason.CPUID);
    }
    expect(exits).toBeGreaterThan(1);
    expect(f.stopped[0]).toMatch(/hypercall flood: 16 calls with \d+ left/);
  });

  it("refuses a delegation the root task refuses, and an unknown hypercall", async () => {
    const gpa = setup(() => ({ calls: [{ op: VmmCallOp.DELEGATE, gpa: 1 << 30, pages: 1, rights: 1 }] }), {
      delegate: () => "page 0x40000 is outside the VM's memory",
    });
    await gpa.d.deliver(gpa.v, ExitReason.CPUID);
    expect(gpa.stopped).toEqual(["VMM reply refused: page 0x40000 is outside the VM's memory"]);
    const unknown = setup(() => ({ calls: [{ op: 9 }] }));
    await unknown.d.deliver(unknown.v, ExitReason.CPUID);
    expect(unknown.stopped).toEqual(["VMM reply refused: unknown hypercall op 9"]);
  });
  it("carries queued console input with the next exit, again with its re-delivery to a replacing VMM, and logs it once", async () => {
    let calls = 0;
    const logged: [number[], number][] = [];
    const f = setup(() => (++calls === 1 ? new ChannelFault("threw", "VMM handler threw: x") : {}), {
      vmmFault: () => "retry",
      consoleIn: (_v, bytes, tsc) => logged.push([[...bytes], tsc]),
    });
    f.v.vtime = 5000;
    f.v.queueInput(new Uint8Array([0x68, 0x69]));
    f.v.queueInput(new Uint8Array([0x0a]));
    await f.d.deliver(f.v, ExitReason.RECALL);
    await f.d.deliver(f.v, ExitReason.HLT);
    expect(f.seen.map((e) => [e.seq, [...(e.consoleIn ?? [])]])).toEqual([
      [1, [0x68, 0x69, 0x0a]],
      [1, [0x68, 0x69, 0x0a]],
      [2, []],
    ]);
    expect(logged).toEqual([[[0x68, 0x69, 0x0a], 5000]]);
  });
});
