// The VMM's device-state checkpoint as bytes (DESIGN.md §6, policy
// `restart`): Vmm.save() is plain data of numbers, booleans, strings, arrays
// and typed arrays (devices/snapshot.ts); it travels to the kernel in
// VmReply.checkpoint as UTF-8 JSON and comes back to a fresh VMM in
// VmExit.restore. JSON has no typed arrays, so they are written as tagged
// objects ({"$u8": base64} / {"$u32": base64 of little-endian words}) and
// revived on the way back. A checkpoint is data from an untrusted VMM: a
// restarted VMM decodes it with checks, and Vmm.restore() validates fields.

const U8 = "$u8";
const U32 = "$u32";

function toJson(_key: string, value: unknown): unknown {
  if (value instanceof Uint8Array) return { [U8]: Buffer.from(value).toString("base64") };
  if (value instanceof Uint32Array) {
    return { [U32]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  }
  if (ArrayBuffer.isView(value)) throw new CheckpointError(`cannot encode a ${value.constructor.name}`);
  return value;
}

function fromJson(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const o = value as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length !== 1) return value;
  if (typeof o[U8] === "string") return new Uint8Array(Buffer.from(o[U8], "base64"));
  if (typeof o[U32] === "string") {
    const b = Buffer.from(o[U32], "base64");
    if (b.length % 4 !== 0) throw new CheckpointError(`${U32} of ${b.length} bytes is not whole words`);
    const words = new Uint32Array(b.length / 4);
    for (let i = 0; i < words.length; i++) words[i] = b.readUInt32LE(i * 4);
    return words;
  }
  return value;
}

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

/** The checkpoint text of a save() object; equal state gives equal text (save() is deterministic). */
export function checkpointText(state: unknown): string {
  return JSON.stringify(state, toJson);
}

export function encodeCheckpoint(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Decodes checkpoint bytes back into a save() object; throws CheckpointError naming the problem. */
export function decodeCheckpoint(bytes: Uint8Array): { state: unknown; text: string } {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  try {
    return { state: JSON.parse(text, fromJson), text };
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`checkpoint of ${bytes.length} bytes is not valid JSON: ${(e as Error).message}`);
  }
}
