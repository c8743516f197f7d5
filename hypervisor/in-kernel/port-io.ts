// IN/OUT exits (reason 30) to ports whose device model runs in the
// hypervisor (placement irqchip). The access is carried out against the
// models byte by byte, little-endian, as an ISA bus splits a wide cycle to
// 8-bit devices (both the 8259A and the 8254 decode bytes). IN replaces AL,
// AX or EAX and keeps the rest of EAX (SDM Vol. 2A "IN").
import type { IoDevice, IoSize } from "../../devices/io-device.js";
import type { GuestContext } from "../kernel/state-groups.js";
import * as F from "../vmx/vmcs-fields.js";
import { advanceEip } from "./interrupt-delivery.js";

/** Exit qualification of an I/O instruction (SDM Vol. 3C Table 27-5). */
const SIZE_BITS = 0x7;
const DIRECTION_IN = 0x8;
const STRING = 0x10;
const SIZE_MASK = [0, 0xff, 0xffff, 0, 0xffff_ffff] as const;

/** The ports of the models in the hypervisor; every other port belongs to the VMM. */
export class PortMap {
  private readonly owner = new Uint8Array(0x10000);
  private readonly devices: IoDevice[] = [];

  /** Replaces the models (after a platform reset) or installs them. */
  install(devices: readonly IoDevice[]): void {
    this.owner.fill(0);
    this.devices.length = 0;
    for (const d of devices) {
      this.devices.push(d);
      for (const { base, count } of d.ports) this.owner.fill(this.devices.length, base, base + count);
    }
  }

  claims(port: number): boolean {
    return this.owner[port & 0xffff] !== 0;
  }

  readByte(port: number): number {
    return this.devices[this.owner[port] - 1].ioRead(port, 1) & 0xff;
  }

  writeByte(port: number, value: number): void {
    this.devices[this.owner[port] - 1].ioWrite(port, 1, value & 0xff);
  }
}

/** What an I/O exit is to the models: not theirs, finished, or one they cannot carry out (with why). */
export type PortIoResult = "forward" | "done" | string;

/**
 * Carries out the I/O exit in `ctx` if every byte it touches is a port of
 * `map`. An access with only some bytes there, or INS/OUTS (which need the
 * instruction emulator and the guest's paging, both in the VMM), cannot be
 * split between hypervisor and VMM: the result says so.
 */
export function portIo(ctx: GuestContext, map: PortMap): PortIoResult {
  const qual = ctx.vmcs.read(F.EXIT_QUALIFICATION);
  const code = qual & SIZE_BITS;
  if (code !== 0 && code !== 1 && code !== 3) return "forward"; // the VMM refuses a size the SDM does not define
  const size = (code + 1) as IoSize;
  const port = qual >>> 16;
  let claimed = 0;
  for (let i = 0; i < size; i++) if (map.claims(port + i)) claimed++;
  if (claimed === 0) return "forward";
  const what =
    qual & STRING ? (qual & DIRECTION_IN ? "INS" : "OUTS") : `${size}-byte ${qual & DIRECTION_IN ? "IN" : "OUT"}`;
  if (qual & STRING || claimed < size) {
    return `${what} at port 0x${port.toString(16)} reaches the 8259A/8254 in the hypervisor (placement irqchip), which take single IN/OUT only`;
  }
  const eax = ctx.gpr[0];
  const mask = SIZE_MASK[size];
  if (qual & DIRECTION_IN) {
    let value = 0;
    for (let i = 0; i < size; i++) value |= map.readByte((port + i) & 0xffff) << (8 * i);
    ctx.gpr[0] = ((eax & ~mask) | (value & mask)) >>> 0;
  } else {
    for (let i = 0; i < size; i++) map.writeByte((port + i) & 0xffff, eax >>> (8 * i));
  }
  advanceEip(ctx.vmcs);
  return "done";
}
