// Console input waiting for the guest's serial receiver. Bytes arrive with
// exits (VmExit.console_in, DESIGN.md §2) in any amount; the UART takes only
// what its receiver has room for, so the rest waits here instead of being
// lost to an overrun (PC16550D datasheet: LSR bit 1, OE). Part of the VMM's
// checkpoint: a restarted VMM must not lose or repeat input.
export class ConsoleInput {
  private buf = new Uint8Array(64);
  private head = 0;
  private tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  append(bytes: Uint8Array): void {
    if (this.tail + bytes.length > this.buf.length) this.makeRoom(bytes.length);
    this.buf.set(bytes, this.tail);
    this.tail += bytes.length;
  }

  /** Moves up to `room()` bytes into `sink`, asking for room again after each byte. */
  drainInto(room: () => number, sink: (byte: number) => void): void {
    while (this.head < this.tail && room() > 0) sink(this.buf[this.head++]);
    if (this.head === this.tail) this.head = this.tail = 0;
  }

  /** The waiting bytes (a copy), for the checkpoint. */
  pending(): Uint8Array {
    return this.buf.slice(this.head, this.tail);
  }

  /** Replaces the waiting bytes (checkpoint restore). */
  reset(bytes: Uint8Array): void {
    this.head = this.tail = 0;
    this.append(bytes);
  }

  private makeRoom(extra: number): void {
    const live = this.tail - this.head;
    let cap = this.buf.length;
    while (cap < live + extra) cap *= 2;
    if (cap === this.buf.length) this.buf.copyWithin(0, this.head, this.tail);
    else {
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(this.head, this.tail));
      this.buf = next;
    }
    this.head = 0;
    this.tail = live;
  }
}
