// The other half of an import cycle.
import { loop } from "./cycle-a.js";

export function half(n: number): number {
  return loop(n) + 1;
}
