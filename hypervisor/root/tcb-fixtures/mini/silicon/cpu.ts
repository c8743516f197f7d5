// The fixture's simulated processor. A "/" after ")" is only decided by a parse.
export function cpuId(width = 2): number {
  return (0x1e + width) / width;
}
