// The VMM side of containment (vmm/fault-serve.ts, fault-hooks.ts,
// fault-checkpoint.ts). Oracles: the PC16550D datasheet (the scratch
// register SCR at base+7 reads back what was written: state a checkpoint
// must carry), the original VMM itself (a restored VMM answers the next exit
// byte for byte as the one it was checkpointed from), and the protobuf
// encoding spec (a varint cut off after a continuation bit does not decode).
import { describe, expect, it } from "vitest";
import { ExitReason } from "../proto/exit-reason.js";
import { type IVmReply, VmExit, VmReply } from "../proto/index.js";
import { Mtd } from "../proto/mtd.js";
import { openReply } from "../proto/reply-checksum.js";
import { decodeCheckpoint } from "./fault-checkpoint.js";
import { commitBefore, flipBits, lie, malformed } from "./fault-hooks.js";
import { type ServedVmmBoot, serveVmmExits } from "./fault-serve.js";
import { encodeExit, ring0State } from "./testing/exit-messages.js";

const SCR = 0x3f8 + 7;
/** SDM Table 27-5: 1-byte access, bit 3 IN, port in bits 31:16, immediate operand. */
const ioQual = (port: number, isIn: boolean) => ((port << 16) | (isIn ? 8 : 0) | 0x40) >>> 0;

function boot(extra: Partial<ServedVmmBoot> = {}): ServedVmmBoot {
  return { vm: 0, ram: new SharedArrayBuffer(1 << 20), image: new Uint8Array(0), format: "flat", ...extra };
}

const io = (port: number, isIn: boolean, eax: number, seq: number, more: object = {}) =>
  encodeExit(ExitReason.IO_INSTRUCTION, {
    qual: ioQual(port, isIn),
    instLen: 2,
    state: ring0State({ eax }),
    seq,
    ...more,
  });

const decoded = (sealed: Uint8Array): IVmReply => VmReply.decode(openReply(sealed) as Uint8Array);

describe("served VMM", () => {
  it("seals every reply and sends a checkpoint only when the device state changed", () => {
    const serve = serveVmmExits(boot({ checkpoints: true }));
    const first = decoded(serve(io(SCR, false, 0x5a, 1)));
    expect(first.checkpoint?.length).toBeGreaterThan(0);
    // Reading SCR changes nothing: no new checkpoint.
    const second = decoded(serve(io(SCR, true, 0, 2)));
    expect(second.checkpoint?.length ?? 0).toBe(0);
    expect((second.state?.eax ?? 0) & 0xff).toBe(0x5a);
  });

  it("restores a checkpoint into a fresh VMM that then answers as the original does", () => {
    const original = serveVmmExits(boot({ checkpoints: true }));
    const r = decoded(original(io(SCR, false, 0xa5, 1)));
    const checkpoint = r.checkpoint as Uint8Array;
    expect(decodeCheckpoint(checkpoint).state).toMatchObject({ kind: "vmm" });
    const fresh = serveVmmExits(boot({ checkpoints: true }));
    const readBack = io(SCR, true, 0, 2, { restore: checkpoint });
    const a = decoded(original(io(SCR, true, 0, 2)));
    const b = decoded(fresh(readBack));
    expect((b.state?.eax ?? 0) & 0xff).toBe(0xa5);
    expect(b.state).toEqual(a.state);
  });

  it("throws on a checkpoint that is not one, naming the problem", () => {
    const serve = serveVmmExits(boot({ checkpoints: true }));
    expect(() => serve(io(SCR, true, 0, 1, { restore: new TextEncoder().encode("{nope") }))).toThrow(/not valid JSON/);
  });

  it("ignores fault orders unless its hooks are enabled", () => {
    const exit = io(SCR, false, 1, 1, { fault: { kind: "throw" } });
    expect(() => serveVmmExits(boot())(exit)).not.toThrow();
    expect(() => serveVmmExits(boot({ faultHooks: true }))(exit)).toThrow(/injected fault/);
  });
});

describe("fault hooks", () => {
  const exit = VmExit.decode(io(SCR, false, 1, 1));

  it("names QUAL in the reply MTD for bad-mtd", () => {
    const r: IVmReply = { mtd: Mtd.RIP_LEN };
    lie({ kind: "bad-mtd" }, r, exit, 1 << 20);
    expect((r.mtd ?? 0) & Mtd.QUAL).toBe(Mtd.QUAL);
  });

  it("sets CR0.PG with CR0.PE clear for bad-cr0", () => {
    const r: IVmReply = { mtd: 0 };
    lie({ kind: "bad-cr0" }, r, exit, 1 << 20);
    expect((r.state?.cr0 ?? 0) >>> 31).toBe(1);
    expect((r.state?.cr0 ?? 1) & 1).toBe(0);
  });

  it("delegates a page at or past the end of RAM for bad-gpa", () => {
    const r: IVmReply = {};
    lie({ kind: "bad-gpa", seed: 3 }, r, exit, 1 << 20);
    expect(Number(r.calls?.[0].gpa)).toBeGreaterThanOrEqual(1 << 20);
  });

  it("floods with more recalls than any per-reply limit", () => {
    const r: IVmReply = {};
    lie({ kind: "flood" }, r, exit, 1 << 20);
    expect(r.calls?.length).toBeGreaterThan(16);
  });

  it("makes a body protobuf cannot decode", () => {
    expect(() => VmReply.decode(malformed(VmReply.encode({ mtd: 8 }).finish()))).toThrow();
  });

  it("flips one to three distinct bits, the same ones for the same seed", () => {
    const bytes = new Uint8Array(64);
    for (let seed = 0; seed < 50; seed++) {
      const out = flipBits(bytes, seed);
      const flipped = [...out].reduce((n, b) => n + b.toString(2).split("1").length - 1, 0);
      expect(flipped).toBeGreaterThanOrEqual(1);
      expect(flipped).toBeLessThanOrEqual(3);
      expect(flipBits(bytes, seed)).toEqual(out);
    }
  });

  it("waits for a slow reply, then lets it through", () => {
    const t0 = performance.now();
    commitBefore({ kind: "slow", delayMs: 50 });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(45);
  });
});
