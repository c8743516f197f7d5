// Oracle: the Channel contract in hypervisor/kernel/channel.ts (call resolves
// with the handler's answer; rejects with a ChannelFault if the handler died,
// hung past its deadline or failed) and DESIGN.md §4 (what a VMM writes into
// shared memory is copied out before the kernel uses it) and §6 (a VMM that
// throws, exits, runs out of heap, hangs or answers garbage takes down its
// own VM only). The real VMM's answers are checked against the same VMM
// called in-thread: a transport must not change a byte.
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ExitReason } from "../../proto/exit-reason.js";
import { sealReply } from "../../proto/reply-checksum.js";
import { encodeExit, makeVmm, ring0State } from "../../vmm/testing/exit-messages.js";
import type { TestVmmData } from "../../vmm/testing/sab-test-vmm.js";
import { ChannelFault } from "../kernel/channel.js";
import type { VmmBootData, VmmHostOptions } from "./vmm-host.js";
import { VmmSabHost } from "./vmm-sab-host.js";

const TEST_VMM = fileURLToPath(new URL("../../vmm/testing/sab-test-vmm-entry.mjs", import.meta.url));
const OPTS: VmmHostOptions = { exitDeadlineMs: 10_000, heapMb: 64 };

const hosts: VmmSabHost[] = [];
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.close()));
});

function boot(): VmmBootData {
  return { vm: 1, ram: new SharedArrayBuffer(1 << 20), image: new Uint8Array(0), format: "flat" };
}

/** A host whose worker is the stand-in VMM of vmm/testing/sab-test-vmm.ts; records every onDeath. */
function testHost(data: TestVmmData, opts: Partial<VmmHostOptions> = {}) {
  const deaths: string[] = [];
  const workerData = { ...boot(), ...data };
  const host = new VmmSabHost(workerData, { ...OPTS, ...opts }, { workerFile: TEST_VMM });
  host.onDeath = (why) => deaths.push(why);
  hosts.push(host);
  return { host, deaths };
}

function bytes(...b: number[]): Uint8Array {
  return Uint8Array.from(b);
}

/** The stand-in's count-echo answer: 4-byte little-endian call number, then the request. */
function countEcho(n: number, request: Uint8Array): Uint8Array {
  const r = new Uint8Array(4 + request.length);
  new DataView(r.buffer).setUint32(0, n, true);
  r.set(request, 4);
  return r;
}

async function fault(p: Promise<unknown>): Promise<ChannelFault> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ChannelFault);
  return e as ChannelFault;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("VmmSabHost round trips", () => {
  it("answers many messages in order, each with its own reply", async () => {
    const { host, deaths } = testHost({ behavior: "count-echo" });
    for (let i = 1; i <= 2000; i++) {
      const request = bytes(i & 0xff, (i >> 8) & 0xff, 0x5a);
      expect(await host.call(request)).toEqual(countEcho(i, request));
    }
    expect(deaths).toEqual([]);
  });

  it("queues calls made while one is in flight and answers them in call order", async () => {
    const { host } = testHost({ behavior: "count-echo" });
    const requests = Array.from({ length: 50 }, (_, i) => bytes(i, 0xa5));
    const replies = await Promise.all(requests.map((r) => host.call(r)));
    for (const [i, r] of replies.entries()) expect(r).toEqual(countEcho(i + 1, requests[i]));
  });

  it("carries an empty message and one that fills the data area", async () => {
    const { host } = testHost({ behavior: "count-echo" }, {});
    expect(await host.call(new Uint8Array(0))).toEqual(countEcho(1, new Uint8Array(0)));
    const big = new Uint8Array(200_000).map((_, i) => i * 7);
    expect(await host.call(big)).toEqual(countEcho(2, big));
  });

  it("returns a private copy that later writes by the worker cannot change (DESIGN.md §4)", async () => {
    const { host } = testHost({ behavior: "scribble" });
    const reply = await host.call(bytes(9));
    expect(reply.buffer).toBeInstanceOf(ArrayBuffer);
    await sleep(200); // the worker fills the data area with 0xee 50 ms after answering
    expect(reply).toEqual(bytes(1, 2, 3));
  });

  it("keeps running timers on this thread while a call is pending (never blocks)", async () => {
    const { host } = testHost({ behavior: "slow", sleepMs: 400 });
    await host.call(bytes(0)); // the worker is up
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const t0 = performance.now();
    await host.call(bytes(1));
    const ms = performance.now() - t0;
    clearInterval(timer);
    expect(ms).toBeGreaterThanOrEqual(390);
    // A blocked thread fires no timer until the call returns; this one fired all along.
    expect(ticks).toBeGreaterThanOrEqual(10);
  });

  it("carries the real VMM's replies byte for byte as an in-thread call does", async () => {
    const host = new VmmSabHost(boot(), OPTS);
    hosts.push(host);
    const direct = makeVmm(1 << 20);
    const exits = [
      encodeExit(ExitReason.CPUID, { state: ring0State({ eax: 0 }), seq: 1 }),
      encodeExit(ExitReason.CPUID, { state: ring0State({ eax: 1 }), seq: 2 }),
      encodeExit(ExitReason.CPUID, { state: ring0State({ eax: 0x8000_0000 }), seq: 3 }),
    ];
    // Buffer or Uint8Array, the bytes are what counts; the worker seals each reply (proto/reply-checksum.ts).
    for (const exit of exits) expect(await host.call(exit)).toEqual(sealReply(direct.handle(exit)));
  });
});

describe("VmmSabHost faults (DESIGN.md §6)", () => {
  it.each([
    ["bogus-length", { length: (256 << 10) + 1 }, /reply length 262145 outside the 262144-byte data area/],
    ["bogus-length", { length: -8 }, /reply length -8 outside/],
    ["wrong-seq", {}, /reply to sequence number 2, expected 3/],
    ["wrong-state", {}, /state word 4660 is not REPLY/],
    ["notify-flood", {}, /woken 17 times without a reply/],
  ] as const)(
    "refuses a worker that breaks the protocol (%s %o) and kills only that VMM",
    async (behavior, extra, why) => {
      const bad = testHost({ behavior, good: 2, ...extra });
      const good = testHost({ behavior: "count-echo" });
      expect(await bad.host.call(bytes(1))).toEqual(countEcho(1, bytes(1)));
      expect(await bad.host.call(bytes(2))).toEqual(countEcho(2, bytes(2)));
      const f = await fault(bad.host.call(bytes(3)));
      expect(f.message).toMatch(/VMM broke the channel protocol/);
      expect(f.message).toMatch(why);
      expect(bad.deaths).toEqual([f.message]);
      expect((await fault(bad.host.call(bytes(4)))).message).toBe(f.message);
      // The other VM's channel is untouched.
      expect(await good.host.call(bytes(7))).toEqual(countEcho(1, bytes(7)));
      expect(good.deaths).toEqual([]);
    },
  );

  it("reports a handler that throws, with its message, as kind threw", async () => {
    const { host, deaths } = testHost({ behavior: "throw" });
    const f = await fault(host.call(bytes(1)));
    expect(f.kind).toBe("threw");
    expect(f.message).toBe("VMM handler threw: Error: device model exploded");
    await sleep(100); // the task's end arrives too: still one death
    expect(deaths).toEqual([f.message]);
    expect((await fault(host.call(bytes(2)))).kind).toBe("threw");
  });

  it("cuts off a hung handler at the exit deadline", async () => {
    const { host, deaths } = testHost({ behavior: "hang" }, { exitDeadlineMs: 300 });
    const t0 = performance.now();
    const f = await fault(host.call(bytes(1)));
    const ms = performance.now() - t0;
    expect(f.kind).toBe("timeout");
    expect(f.message).toBe("VMM missed its 300 ms exit deadline");
    expect(ms).toBeGreaterThanOrEqual(295);
    expect(ms).toBeLessThan(3_000);
    expect(deaths).toEqual([f.message]);
    expect((await fault(host.call(bytes(2)))).kind).toBe("timeout");
  });

  it("kill() terminates the worker: onDeath once, the pending and every later call reject", async () => {
    const { host, deaths } = testHost({ behavior: "slow", sleepMs: 5_000 });
    const pending = fault(host.call(bytes(1)));
    await sleep(300);
    await host.kill();
    expect((await pending).message).toBe("VMM worker killed");
    expect((await fault(host.call(bytes(2)))).kind).toBe("died");
    await host.kill();
    expect(deaths).toEqual(["VMM worker killed"]);
  });

  it("a worker thread that exits makes onDeath fire once and later calls reject", async () => {
    const { host, deaths } = testHost({ behavior: "exit" });
    const f = await fault(host.call(bytes(1)));
    expect(f.kind).toBe("died");
    expect(f.message).toMatch(/worker exited with code: 7/);
    await sleep(200);
    expect(deaths).toEqual([f.message]);
    expect((await fault(host.call(bytes(2)))).message).toBe(f.message);
  });

  it("a worker that runs out of heap dies alone", async () => {
    const bad = testHost({ behavior: "oom" }, { heapMb: 48 });
    const good = testHost({ behavior: "count-echo" });
    const f = await fault(bad.host.call(bytes(1)));
    expect(f.kind).toBe("died");
    expect(f.message).toMatch(/out of memory|ERR_WORKER_OUT_OF_MEMORY/i);
    expect(bad.deaths).toEqual([f.message]);
    expect(await good.host.call(bytes(5))).toEqual(countEcho(1, bytes(5)));
  });

  it("close() ends the channel without a death; calls after it reject", async () => {
    const { host, deaths } = testHost({ behavior: "count-echo" });
    expect(await host.call(bytes(1))).toEqual(countEcho(1, bytes(1)));
    await host.close();
    await host.close();
    const f = await fault(host.call(bytes(2)));
    expect(f.message).toBe("VMM channel closed");
    expect(deaths).toEqual([]);
  });

  it("refuses a request larger than the data area without sending it", async () => {
    const { host, deaths } = testHost({ behavior: "count-echo" });
    await expect(host.call(new Uint8Array((256 << 10) + 1))).rejects.toThrow(/262145 bytes exceeds/);
    expect(await host.call(bytes(3))).toEqual(countEcho(1, bytes(3)));
    expect(deaths).toEqual([]);
  });
});
