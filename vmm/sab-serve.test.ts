// Oracle: the channel protocol this file's module defines for the kernel
// (hypervisor/root/vmm-sab-host.ts): a REQUEST is answered with REPLY, the
// request's sequence number, the reply's length and bytes, and a notify on
// the state word; a handler that throws is reported as THREW with its message
// (DESIGN.md §6: the kernel must learn why its VMM stopped); CLOSE ends the loop.
// The serve loop runs on this thread; a helper thread plays the kernel where
// the loop must be woken.
import { Worker } from "node:worker_threads";
import { describe, expect, it } from "vitest";
import { ChannelState, Ctl, DATA_OFFSET } from "../proto/sab-channel.js";
import { serveChannel } from "./sab-serve.js";

function channel(dataBytes = 1024) {
  const buffer = new SharedArrayBuffer(DATA_OFFSET + dataBytes);
  return { buffer, ctl: new Int32Array(buffer, 0, DATA_OFFSET / 4), data: new Uint8Array(buffer, DATA_OFFSET) };
}

function request(c: ReturnType<typeof channel>, seq: number, bytes: Uint8Array): void {
  c.data.set(bytes);
  c.ctl[Ctl.LENGTH] = bytes.length;
  c.ctl[Ctl.SEQ] = seq;
  c.ctl[Ctl.STATE] = ChannelState.REQUEST;
}

/** A kernel thread that waits for the REPLY, keeps a copy of the reply words, then writes CLOSE. */
function closeAfterReply(buffer: SharedArrayBuffer): Worker {
  return new Worker(
    `const { workerData } = require("node:worker_threads");
     const ctl = new Int32Array(workerData, 0, 16);
     for (let s; (s = Atomics.load(ctl, 0)) !== ${ChannelState.REPLY}; ) Atomics.wait(ctl, 0, s, 50);
     Atomics.store(ctl, 8, Atomics.load(ctl, 1));
     Atomics.store(ctl, 9, Atomics.load(ctl, 3));
     Atomics.store(ctl, 0, ${ChannelState.CLOSE});
     Atomics.notify(ctl, 0);`,
    { eval: true, workerData: buffer },
  );
}

describe("serveChannel", () => {
  it("ends at once when the state word says CLOSE", () => {
    const c = channel();
    c.ctl[Ctl.STATE] = ChannelState.CLOSE;
    expect(serveChannel(c.buffer, () => new Uint8Array(0))).toBe("closed");
  });

  it("answers a REQUEST with the handler's bytes, its sequence number and REPLY, then waits for more", async () => {
    const c = channel();
    request(c, 41, Uint8Array.of(1, 2, 3));
    const kernel = closeAfterReply(c.buffer);
    const seen: number[][] = [];
    const end = serveChannel(c.buffer, (req) => {
      seen.push([...req]);
      return Uint8Array.of(9, 8, 7, 6, 5);
    });
    await new Promise((r) => kernel.once("exit", r));
    expect(end).toBe("closed");
    expect(seen).toEqual([[1, 2, 3]]);
    expect(c.ctl[8]).toBe(5); // the length the kernel saw with REPLY
    expect(c.ctl[9]).toBe(41); // the sequence number it answered
    expect([...c.data.subarray(0, 5)]).toEqual([9, 8, 7, 6, 5]);
  });

  it("gives the handler a private copy of the request, not a view of shared memory", () => {
    const c = channel();
    request(c, 1, Uint8Array.of(4, 5));
    let given: Uint8Array | null = null;
    serveChannel(c.buffer, (req) => {
      given = req;
      throw new Error("stop");
    });
    expect(given!.buffer).toBeInstanceOf(ArrayBuffer);
    expect([...given!]).toEqual([4, 5]);
  });

  it("reports a handler that throws as THREW with its message, and stops serving", () => {
    const c = channel();
    request(c, 7, Uint8Array.of(0));
    const end = serveChannel(c.buffer, () => {
      throw new TypeError("no such device");
    });
    expect(end).toBe("threw");
    expect(c.ctl[Ctl.STATE]).toBe(ChannelState.THREW);
    expect(c.ctl[Ctl.REPLY_SEQ]).toBe(7);
    const text = new TextDecoder().decode(c.data.slice(0, c.ctl[Ctl.LENGTH]));
    expect(text).toBe("TypeError: no such device");
  });

  it("reports a reply larger than the data area as THREW instead of writing past it", () => {
    const c = channel(16);
    request(c, 1, Uint8Array.of(0));
    expect(serveChannel(c.buffer, () => new Uint8Array(17))).toBe("threw");
    expect(c.ctl[Ctl.STATE]).toBe(ChannelState.THREW);
    const text = new TextDecoder().decode(c.data.slice(0, c.ctl[Ctl.LENGTH]));
    // The message is cut to the 16-byte area: the kernel quotes what fits.
    expect(text).toBe("RangeError: repl");
  });
});
