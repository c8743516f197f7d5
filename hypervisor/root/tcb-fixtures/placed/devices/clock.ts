export function ticks(n: number): number {
  // Two ticks per input cycle.
  return n * 2;
}
