import { frame } from "./generated/wire.js";

export function encode(v: number): Uint8Array {
  return frame(v);
}
