// The integrity trailer of a VmReply (moat.proto field 22, `fixed32 crc32`):
// the VMM appends the CRC-32 of the encoded reply as its last field, and the
// kernel checks it before decoding, so that bytes damaged between the VMM's
// encoder and the kernel (a flipped bit in a buffer) are refused with a
// reason instead of being applied as a different, still well-formed, reply.
// A protobuf decoder accepts fields in any order, so the trailer is a plain
// field appended to an already-encoded message (protobuf encoding spec,
// "Message Structure": fields may appear in any order).
//
// CRC-32 is the IEEE 802.3 polynomial as zlib computes it (check value of
// "123456789" is 0xCBF43926).
import { crc32 } from "node:zlib";

/** Field 22, wire type 5 (I32), as a varint tag: (22 << 3) | 5 = 181. */
const TAG = [0xb5, 0x01] as const;
export const TRAILER_BYTES = TAG.length + 4;

/** `body` followed by its CRC-32 trailer (a fresh array). */
export function sealReply(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + TRAILER_BYTES);
  out.set(body);
  const at = body.length;
  out[at] = TAG[0];
  out[at + 1] = TAG[1];
  new DataView(out.buffer, out.byteOffset + at + 2, 4).setUint32(0, crc32(body) >>> 0, true);
  return out;
}

/** The reply without its trailer (a view of `bytes`), or why it is refused. */
export function openReply(bytes: Uint8Array): Uint8Array | string {
  const at = bytes.length - TRAILER_BYTES;
  if (at < 0 || bytes[at] !== TAG[0] || bytes[at + 1] !== TAG[1]) return "reply has no CRC-32 trailer";
  const body = bytes.subarray(0, at);
  const sent = new DataView(bytes.buffer, bytes.byteOffset + at + 2, 4).getUint32(0, true);
  const computed = crc32(body) >>> 0;
  if (sent !== computed) {
    return `reply CRC-32 mismatch: sent 0x${sent.toString(16)}, computed 0x${computed.toString(16)} (damaged in transit)`;
  }
  return body;
}
