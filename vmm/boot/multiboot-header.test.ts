// Oracle: the Multiboot Specification 0.6.96, §3.1.1 (the header lies in
// the first 8192 bytes, 32-bit aligned), §3.1.2 (magic 0x1BADB002; magic +
// flags + checksum = 0 mod 2^32; bits 0-15 are requirements a loader must
// meet or refuse: 0 page-aligned modules, 1 memory information, 2 video
// mode; bit 16: the address fields are valid), §3.1.3 (header_addr,
// load_addr, load_end_addr (0: to the end of the file), bss_end_addr (0: no
// bss), entry_addr at offsets 12-28).
import { describe, expect, it } from "vitest";
import { GuestRam } from "../guest-ram.js";
import { findMultibootHeader, loadByAddressFields } from "./multiboot-header.js";

const MAGIC = 0x1badb002;

/** An image with a header at `at`: magic, flags, checksum, then `fields`. */
function image(at: number, flags: number, fields: number[] = [], size = 0x3000, checksum?: number): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  v.setUint32(at, MAGIC, true);
  v.setUint32(at + 4, flags, true);
  v.setUint32(at + 8, checksum ?? -(MAGIC + flags) >>> 0, true);
  for (const [i, f] of fields.entries()) v.setUint32(at + 12 + 4 * i, f, true);
  return b;
}

describe("findMultibootHeader", () => {
  it("finds a header with flags 0 at a 4-byte aligned offset", () => {
    expect(findMultibootHeader(image(0x40, 0))).toEqual({
      ok: true,
      header: { offset: 0x40, flags: 0, addresses: null },
    });
  });

  it("accepts the requirements it meets: page-aligned modules (bit 0) and memory information (bit 1)", () => {
    const r = findMultibootHeader(image(8, 3));
    expect(r.ok && r.header?.flags).toBe(3);
  });

  it("ignores a magic whose checksum does not sum to zero, and one past the first 8192 bytes", () => {
    expect(findMultibootHeader(image(0x40, 0, [], 0x3000, 1))).toEqual({ ok: true, header: null });
    expect(findMultibootHeader(image(0x2000, 0))).toEqual({ ok: true, header: null });
  });

  it("refuses a required video mode (bit 2), naming it", () => {
    expect(findMultibootHeader(image(0, 4))).toEqual({
      ok: false,
      error:
        "multiboot: the header at 0x0 requires a video mode (bit 2; the VM has no display), which this loader cannot provide",
    });
  });

  it("refuses an unknown required bit (bit 5)", () => {
    const r = findMultibootHeader(image(0, 1 << 5));
    expect(!r.ok && r.error).toContain("requires bits 0x20");
  });

  it("reads the five address fields when bit 16 is set", () => {
    const r = findMultibootHeader(image(0x10, 0x10000, [0x100010, 0x100000, 0x101000, 0x102000, 0x100040]));
    expect(r.ok && r.header?.addresses).toEqual({
      headerAddr: 0x100010,
      loadAddr: 0x100000,
      loadEndAddr: 0x101000,
      bssEndAddr: 0x102000,
      entryAddr: 0x100040,
    });
  });
});

describe("loadByAddressFields (a.out kludge)", () => {
  it("loads from file offset header - (header_addr - load_addr) up to load_end_addr, then zeroes to bss_end_addr", () => {
    const img = image(0x10, 0x10000, [0x100010, 0x100000, 0x100800, 0x101000, 0x100040]);
    img[0] = 0xaa;
    img[0x7ff] = 0xbb;
    img[0x800] = 0xcc; // past load_end_addr: not loaded
    const ram = new GuestRam(new SharedArrayBuffer(4 << 20));
    ram.bytes.fill(0xee, 0x100800, 0x101000);
    const h = findMultibootHeader(img);
    if (!h.ok || !h.header) throw new Error("no header");
    const r = loadByAddressFields(img, h.header, ram);
    expect(r).toEqual({ ok: true, entry: 0x100040, ranges: [{ start: 0x100000, length: 0x1000 }] });
    expect([ram.bytes[0x100000], ram.bytes[0x1007ff], ram.bytes[0x100800], ram.bytes[0x100fff]]).toEqual([
      0xaa, 0xbb, 0, 0,
    ]);
  });

  it("load_end_addr 0 loads the rest of the file", () => {
    const img = image(0, 0x10000, [0x200000, 0x200000, 0, 0, 0x200000], 0x1234);
    const h = findMultibootHeader(img);
    if (!h.ok || !h.header) throw new Error("no header");
    const r = loadByAddressFields(img, h.header, new GuestRam(new SharedArrayBuffer(4 << 20)));
    expect(r.ok && r.ranges).toEqual([{ start: 0x200000, length: 0x1234 }]);
  });

  it.each([
    [[0x100000, 0x100010, 0, 0, 0x100010], "multiboot: load_addr 0x100010 is above header_addr 0x100000"],
    [
      [0x100000, 0x100000, 0x200000, 0, 0x100000],
      "multiboot: load_end_addr 0x200000 needs more than the file's 12288 bytes",
    ],
    [
      [0x100000, 0x100000, 0, 0x100010, 0x100000],
      "multiboot: bss_end_addr 0x100010 is below the end of the loaded image 0x103000",
    ],
    [
      [0x100000, 0x100000, 0, 0, 0x200000],
      "multiboot: entry_addr 0x200000 is outside the loaded image 0x100000-0x103000",
    ],
    [[0x3ff000, 0x3ff000, 0, 0, 0x3ff000], "multiboot: image at 0x3ff000-0x402000 exceeds guest RAM of 4 MiB"],
  ])("refuses address fields %o with one line", (fields, error) => {
    const img = image(0, 0x10000, fields);
    const h = findMultibootHeader(img);
    if (!h.ok || !h.header) throw new Error("no header");
    expect(loadByAddressFields(img, h.header, new GuestRam(new SharedArrayBuffer(4 << 20)))).toEqual({
      ok: false,
      error,
    });
  });
});
