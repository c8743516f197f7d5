// Formatting for one-line diagnostics (stop reasons, loader errors).

/** `0x` followed by the value in hex; values up to 2^53 (guest-physical addresses). */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** A RAM size the way a person says it: "16 MiB", "640 KiB", "1000 bytes". */
export function sizeText(bytes: number): string {
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1 << 10 && bytes % (1 << 10) === 0) return `${bytes / (1 << 10)} KiB`;
  return `${bytes} bytes`;
}
