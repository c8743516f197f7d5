// The reply trailer: oracle is the CRC-32 check value of the CRC catalogue
// (CRC-32/ISO-HDLC, the IEEE 802.3 polynomial: "123456789" -> 0xCBF43926)
// and the protobuf encoding spec (a trailing field decodes like any other).
import { describe, expect, it } from "vitest";
import { VmReply } from "./index.js";
import { openReply, sealReply, TRAILER_BYTES } from "./reply-checksum.js";

const ascii = (s: string) => new TextEncoder().encode(s);

describe("reply CRC-32 trailer", () => {
  it("carries the catalogue's check value for 123456789 as field 22, little-endian", () => {
    const sealed = sealReply(ascii("123456789"));
    expect([...sealed.subarray(9)]).toEqual([0xb5, 0x01, 0x26, 0x39, 0xf4, 0xcb]);
    expect(TRAILER_BYTES).toBe(6);
  });

  it("opens to the body it sealed, and a decoder reads the trailer as field crc32", () => {
    const body = VmReply.encode({ mtd: 8, stop: true, stopReason: "halted" }).finish();
    const sealed = sealReply(body);
    expect([...(openReply(sealed) as Uint8Array)]).toEqual([...body]);
    const decoded = VmReply.decode(sealed);
    expect(decoded.crc32).toBe(new DataView(sealed.buffer, sealed.byteOffset + sealed.length - 4).getUint32(0, true));
    expect(decoded.stopReason).toBe("halted");
  });

  it("refuses every single-bit flip anywhere in the sealed reply", () => {
    const sealed = sealReply(VmReply.encode({ mtd: 9, deadline: 123456, consoleOut: ascii("hi\n") }).finish());
    for (let bit = 0; bit < sealed.length * 8; bit++) {
      const bad = sealed.slice();
      bad[bit >>> 3] ^= 1 << (bit & 7);
      expect(typeof openReply(bad), `bit ${bit}`).toBe("string");
    }
  });

  it("refuses a reply without the trailer", () => {
    expect(openReply(new Uint8Array([8, 1]))).toBe("reply has no CRC-32 trailer");
    expect(openReply(new Uint8Array(0))).toBe("reply has no CRC-32 trailer");
  });
});
