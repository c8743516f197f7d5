import { half } from "./cycle-b.js";

export function loop(n: number): number {
  return n <= 0 ? 0 : half(n - 1);
}
