/*eslint-disable*/
// Generated-style JavaScript; its declarations are in wire.d.ts (never counted).
export function frame(v) {
  return new Uint8Array([v & 0xff]);
}
