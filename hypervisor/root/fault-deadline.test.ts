// Oracle: DESIGN.md §6 ("hang: every exit has a deadline; past it the worker
// is terminated") read with the Channel contract of hypervisor/kernel/channel.ts:
// a VMM that answers is never declared hung because the hypervisor thread
// itself was busy, and one that never answers is always found.
import { describe, expect, it } from "vitest";
import { ChannelFault } from "../kernel/channel.js";
import { DeadlineChannel } from "./fault-deadline.js";
import type { VmmPort } from "./vmm-host.js";

function port(answer: (msg: Uint8Array) => Promise<Uint8Array>): VmmPort & { kills: number } {
  const p = {
    transport: "test",
    kills: 0,
    onDeath: () => {},
    call: answer,
    kill: async () => {
      p.kills++;
    },
    close: async () => {},
  };
  return p;
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

const never = () => new Promise<Uint8Array>(() => {});

describe("DeadlineChannel", () => {
  it("gives the first exit the boot deadline and later ones the exit deadline", async () => {
    const p = port(never);
    const c = new DeadlineChannel(p, 30, 120, () => false);
    const t0 = performance.now();
    await expect(c.call(new Uint8Array(1))).rejects.toThrow("VMM missed its 120 ms exit deadline");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(115);
    await expect(c.call(new Uint8Array(1))).rejects.toThrow("VMM missed its 30 ms exit deadline");
    expect(p.kills).toBe(2);
  });

  it("a reply queued while this thread was busy past the deadline is taken, not declared a hang", async () => {
    // The reply is ready behind the timers phase (setImmediate), as a shared-memory reply is behind
    // an overdue timer when the hypervisor thread ran another vCPU for longer than the deadline.
    const reply = Uint8Array.of(7);
    const p = port(() => {
      const r = new Promise<Uint8Array>((resolve) => setImmediate(() => resolve(reply)));
      busy(120);
      return r;
    });
    const c = new DeadlineChannel(p, 40, 40, () => false);
    await expect(c.call(new Uint8Array(1))).resolves.toBe(reply);
    expect(p.kills).toBe(0);
  });

  it("a VMM that never answers is still found, with a ChannelFault of kind timeout, when the thread was busy", async () => {
    const p = port(() => {
      busy(120);
      return never();
    });
    const c = new DeadlineChannel(p, 40, 40, () => false);
    const e = await c.call(new Uint8Array(1)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ChannelFault);
    expect((e as ChannelFault).kind).toBe("timeout");
    expect(p.kills).toBe(1);
  });

  it("on an overloaded host a slow VMM gets one more deadline; a hung one is still found after it", async () => {
    const reply = Uint8Array.of(9);
    const slow = port(() => new Promise((resolve) => setTimeout(() => resolve(reply), 60)));
    await expect(new DeadlineChannel(slow, 40, 40, () => true).call(new Uint8Array(1))).resolves.toBe(reply);
    expect(slow.kills).toBe(0);
    const hung = port(never);
    const t0 = performance.now();
    await expect(new DeadlineChannel(hung, 40, 40, () => true).call(new Uint8Array(1))).rejects.toThrow(
      "VMM missed its 40 ms exit deadline",
    );
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
    expect(hung.kills).toBe(1);
  });

  it("on a host that is not overloaded, a reply later than the deadline is a hang", async () => {
    const slow = port(() => new Promise((resolve) => setTimeout(() => resolve(Uint8Array.of(1)), 80)));
    await expect(new DeadlineChannel(slow, 40, 40, () => false).call(new Uint8Array(1))).rejects.toThrow(
      "VMM missed its 40 ms exit deadline",
    );
  });
});
