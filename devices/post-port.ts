// The POST diagnostic port 0x80: firmware and kernels write progress codes
// there (and Linux writes it as an I/O delay); a POST card latches and shows
// the last byte. This model keeps the last byte, readable back, and an
// optional observer for the VMM's log.
import type { IoDevice, IoRange, IoSize } from "./io-device.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";

export const POST_PORT = 0x80;

export interface PostPortOptions {
  /** Called with each byte written (a diagnostic log; must not throw). */
  onCode?: (code: number) => void;
}

export class PostPort implements IoDevice, Snapshotting {
  readonly name = "post@0x80";
  readonly ports: readonly IoRange[] = [{ base: POST_PORT, count: 1 }];
  readonly ioWidth = 1;
  private last = 0;
  private readonly onCode: ((code: number) => void) | undefined;

  constructor(options: PostPortOptions = {}) {
    this.onCode = options.onCode;
  }

  /** The last code written. */
  get lastCode(): number {
    return this.last;
  }

  ioRead(_port: number, _size: IoSize): number {
    return this.last;
  }

  ioWrite(_port: number, _size: IoSize, value: number): void {
    this.last = value & 0xff;
    this.onCode?.(this.last);
  }

  save(): unknown {
    return { kind: "post-port", version: 1, last: this.last };
  }

  restore(state: unknown): void {
    this.last = new SnapshotReader(state, "post-port", 1).uint("last", 8);
  }
}
