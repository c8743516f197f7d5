// Oracle: the meaning of a flat binary (`objcopy -O binary`): the file's
// bytes, unchanged, at the load address, executed from its first byte.
import { describe, expect, it } from "vitest";
import { GuestRam } from "../guest-ram.js";
import { loadFlat } from "./flat.js";

describe("loadFlat", () => {
  it("copies the bytes to 0x100000 by default and enters at the first byte", () => {
    const r = new GuestRam(new SharedArrayBuffer(2 << 20));
    const image = Uint8Array.from([0xfa, 0xf4, 0xeb, 0xfe]);
    const res = loadFlat(image, r);
    expect(res).toEqual({ ok: true, entry: 0x100000, ranges: [{ start: 0x100000, length: 4 }] });
    expect([...r.bytes.subarray(0x100000, 0x100004)]).toEqual([0xfa, 0xf4, 0xeb, 0xfe]);
  });

  it("honours a load address", () => {
    const r = new GuestRam(new SharedArrayBuffer(1 << 20));
    const res = loadFlat(Uint8Array.of(1, 2), r, 0x7c00);
    expect(res.ok && res.entry).toBe(0x7c00);
    expect(r.bytes[0x7c01]).toBe(2);
  });

  it("refuses an image that does not fit, naming size, address and RAM", () => {
    const r = new GuestRam(new SharedArrayBuffer(1 << 20));
    expect(loadFlat(new Uint8Array(16), r)).toEqual({
      ok: false,
      error: "flat: image of 0x10 bytes at 0x100000 exceeds guest RAM of 1 MiB",
    });
  });

  it("refuses an empty image", () => {
    expect(loadFlat(new Uint8Array(0), new GuestRam(new SharedArrayBuffer(4096)))).toEqual({
      ok: false,
      error: "flat: image is empty",
    });
  });
});
