// The VM's I/O-port space: ports 0..0xFFFF mapped to device models. An
// unclaimed port floats: reads return all ones (the pulled-up ISA data bus),
// writes go nowhere.
import type { IoDevice, IoSize } from "../devices/io-device.js";
import { hex } from "./hex.js";

const PORT_COUNT = 0x10000;
const NONE = 0;

export class IoBus {
  /** devices[0] is "no device"; owner[port] indexes devices. */
  private readonly devices: (IoDevice | null)[] = [null];
  private readonly owner = new Uint8Array(PORT_COUNT);

  /** Claims the device's port ranges; throws on overlap or out-of-range (a VMM wiring bug). */
  attach(device: IoDevice): void {
    const index = this.devices.length;
    if (index > 0xff) throw new Error("I/O bus: too many devices");
    for (const { base, count } of device.ports) {
      if (base < 0 || count <= 0 || base + count > PORT_COUNT) {
        throw new Error(`I/O bus: ${device.name} claims ports ${hex(base)}+${count} outside 0..0xffff`);
      }
      for (let p = base; p < base + count; p++) {
        if (this.owner[p] !== NONE) {
          throw new Error(`I/O bus: ${device.name} overlaps ${this.devices[this.owner[p]]!.name} at port ${hex(p)}`);
        }
      }
    }
    this.devices.push(device);
    for (const { base, count } of device.ports) this.owner.fill(index, base, base + count);
  }

  /** The value an IN of `size` bytes at `port` returns. */
  read(port: number, size: IoSize): number {
    const dev = this.devices[this.owner[port & 0xffff]];
    if (dev && size <= dev.ioWidth) return dev.ioRead(port & 0xffff, size) >>> 0;
    // Split into single bytes, each decoded by whoever owns its port.
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.readByte((port + i) & 0xffff) << (8 * i);
    return value >>> 0;
  }

  /** An OUT of the low `size` bytes of `value` at `port`. */
  write(port: number, size: IoSize, value: number): void {
    const dev = this.devices[this.owner[port & 0xffff]];
    if (dev && size <= dev.ioWidth) {
      dev.ioWrite(port & 0xffff, size, value);
      return;
    }
    for (let i = 0; i < size; i++) this.writeByte((port + i) & 0xffff, (value >>> (8 * i)) & 0xff);
  }

  private readByte(port: number): number {
    const dev = this.devices[this.owner[port]];
    return dev ? dev.ioRead(port, 1) & 0xff : 0xff;
  }

  private writeByte(port: number, byte: number): void {
    this.devices[this.owner[port]]?.ioWrite(port, 1, byte);
  }
}
