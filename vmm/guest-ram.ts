// The VM's RAM as the VMM sees it: guest-physical 0 .. size, one
// SharedArrayBuffer delegated by the root task (DESIGN.md §4). Every access
// is bounds-checked by the caller's range check (`contains`), so a bad image
// or a lying guest pointer becomes an error value, never an exception.
export class GuestRam {
  readonly bytes: Uint8Array;
  readonly size: number;
  private readonly view: DataView;

  constructor(buffer: SharedArrayBuffer) {
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.size = buffer.byteLength;
  }

  /** True when guest-physical [gpa, gpa + length) lies inside RAM. */
  contains(gpa: number, length: number): boolean {
    return gpa >= 0 && length >= 0 && gpa <= this.size && length <= this.size - gpa;
  }

  /** Copies `data` to guest-physical `gpa`; the caller checked `contains`. */
  write(gpa: number, data: Uint8Array): void {
    this.bytes.set(data, gpa);
  }

  /** Zeroes guest-physical [gpa, gpa + length); the caller checked `contains`. */
  zero(gpa: number, length: number): void {
    this.bytes.fill(0, gpa, gpa + length);
  }

  /** Little-endian 32-bit store (IA-32 byte order); the caller checked `contains`. */
  write32(gpa: number, value: number): void {
    this.view.setUint32(gpa, value >>> 0, true);
  }

  read32(gpa: number): number {
    return this.view.getUint32(gpa, true);
  }
}
