// A QEMU isa-debug-exit style device: a guest ends its VM with a status by
// writing to one port (0xF4 here, 4 bytes wide, as test guests configure
// it). A write of v ends the VM with status (v << 1) | 1, so every status a
// guest can produce is odd and cannot be mistaken for a normal exit (0).
// Reads return 0, as QEMU's device does.
import type { IoDevice, IoRange, IoSize } from "./io-device.js";
import { SnapshotReader, type Snapshotting } from "./snapshot.js";

export const DEBUG_EXIT_PORT = 0xf4;

export interface DebugExitOptions {
  /** Called once per write with the exit status (an unsigned 32-bit number; the shell sees its low byte). */
  onExit: (status: number) => void;
  base?: number;
}

export class DebugExit implements IoDevice, Snapshotting {
  readonly name: string;
  readonly ports: readonly IoRange[];
  readonly ioWidth = 4;
  private readonly onExit: (status: number) => void;

  constructor(options: DebugExitOptions) {
    const base = options.base ?? DEBUG_EXIT_PORT;
    this.name = `debug-exit@0x${base.toString(16)}`;
    this.ports = [{ base, count: 4 }];
    this.onExit = options.onExit;
  }

  ioRead(_port: number, _size: IoSize): number {
    return 0;
  }

  /** The value is the port access's width zero-extended (OUT of AL, AX or EAX). */
  ioWrite(_port: number, size: IoSize, value: number): void {
    const v = size === 4 ? value >>> 0 : value & (size === 2 ? 0xffff : 0xff);
    this.onExit(((v << 1) | 1) >>> 0);
  }

  /** Stateless; the snapshot only checks that it belongs here. */
  save(): unknown {
    return { kind: "debug-exit", version: 1 };
  }

  restore(state: unknown): void {
    new SnapshotReader(state, "debug-exit", 1);
  }
}
