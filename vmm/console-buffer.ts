// Bytes the guest's console device transmitted during one exit. The VMM has
// no host I/O (DESIGN.md §1): they leave in VmReply.console_out and the root
// task prints them. One growable buffer, reused across exits.
export class ConsoleBuffer {
  private buf = new Uint8Array(256);
  private length = 0;

  push(byte: number): void {
    if (this.length === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf);
      this.buf = bigger;
    }
    this.buf[this.length++] = byte;
  }

  get size(): number {
    return this.length;
  }

  /** The bytes collected since the last take, as a fresh copy; empties the buffer. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}
