// End to end through the wire format: a VmExit encoded with proto/index.ts
// as the kernel sends it, the handler, and the decoded VmReply. Oracles: SDM
// Vol. 3C Table 27-7 (EPT-violation qualification: bit 1 write, bit 2 fetch,
// bit 7 linear address valid, bit 8 access to the translated address),
// Table 27-5 (I/O qualification) and Table 27-8 (INS/OUTS instruction
// information: address size bits 9:7, segment bits 17:15), §24.4.2
// (completing an instruction ends STI blocking), §24.8.3 (event injection)
// and Vol. 3A §4.7 (CR2). Instruction bytes and lengths come from GNU as.
import { describe, expect, it } from "vitest";
import type { IoDevice, IoSize } from "../../devices/io-device.js";
import { ExitReason } from "../../proto/exit-reason.js";
import { type IGuestState, type IVmExit, type IVmReply, VmExit, VmReply } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { ConsoleBuffer } from "../console-buffer.js";
import { GuestRam } from "../guest-ram.js";
import { IoBus } from "../io-bus.js";
import { MsrFile } from "../msr.js";
import { ReplyBuilder } from "../reply.js";
import {
  EMULATOR_MTD,
  type EmulatorContext,
  handleIoInstructionWithStrings,
  handleMmioEptViolation,
} from "./handlers.js";
import { MmioBus } from "./mmio-bus.js";
import { FakeMmio } from "./testing/fake-mmio.js";
import { FLAT_CODE_AR, FLAT_DATA_AR } from "./testing/flat-emulator.js";
import { assembleOne } from "./testing/gnu-as.js";

const EIP = 0x10_0000;
const EPT_WRITE = 0x2;
const EPT_READ = 0x1;
const EPT_FETCH = 0x4;
const LINEAR_VALID = 0x80;
const TRANSLATED = 0x100;

class PortLog implements IoDevice {
  readonly name = "port-log";
  readonly ports = [{ base: 0x60, count: 2 }];
  readonly ioWidth = 4 as IoSize;
  readonly out: [number, number, number][] = [];
  next = 0x41;
  ioRead(_port: number, size: IoSize): number {
    return size === 1 ? this.next++ : this.next++ | 0x100;
  }
  ioWrite(port: number, size: IoSize, value: number): void {
    this.out.push([port, size, value]);
  }
}

function machine() {
  const ram = new GuestRam(new SharedArrayBuffer(4 << 20));
  const mmio = new MmioBus();
  const lapic = new FakeMmio("lapic", 0xfee0_0000, 0x1000);
  mmio.attach(lapic);
  const bus = new IoBus();
  const ports = new PortLog();
  bus.attach(ports);
  const vmm: EmulatorContext = {
    boot: { vm: 1, ram: ram.bytes.buffer as SharedArrayBuffer, image: new Uint8Array(0), format: "flat" },
    ram,
    bus,
    msrs: new MsrFile(),
    console: new ConsoleBuffer(),
    mmio,
  };
  return { vmm, ram, lapic, ports };
}

function flat(extra: IGuestState = {}): IGuestState {
  const data = { sel: 0x10, base: 0, limit: 0xffff_ffff, ar: FLAT_DATA_AR };
  return {
    eax: 0,
    ecx: 0,
    edx: 0,
    ebx: 0,
    ebp: 0,
    esi: 0,
    edi: 0,
    esp: 0x8_0000,
    eip: EIP,
    instLen: 0,
    eflags: 0x2,
    cs: { sel: 0x08, base: 0, limit: 0xffff_ffff, ar: FLAT_CODE_AR },
    ss: data,
    ds: data,
    es: data,
    fs: data,
    gs: data,
    cr0: 0x11,
    cr2: 0,
    cr3: 0,
    cr4: 0,
    intrState: 0,
    actvState: 0,
    ...extra,
  };
}

type Handler = typeof handleMmioEptViolation;

/** Encodes the exit as the kernel would, runs the handler, and decodes the reply. */
function roundTrip(handler: Handler, vmm: EmulatorContext, exit: IVmExit): IVmReply {
  const wire = VmExit.decode(VmExit.encode({ vm: 1, vcpu: 0, seq: 1, ...exit }).finish());
  const reply = new ReplyBuilder(wire);
  handler(wire, reply, vmm);
  return VmReply.toObject(VmReply.decode(VmReply.encode(reply.finish(null)).finish()), { defaults: true });
}

function eptExit(gpa: number, qual: number, state: IGuestState): IVmExit {
  return {
    reason: ExitReason.EPT_VIOLATION,
    mtd: EMULATOR_MTD | Mtd.STA,
    qual,
    guestLinear: gpa,
    guestPhysical: gpa,
    state,
  };
}

describe("EPT violation on MMIO (exit 48)", () => {
  const store = assembleOne("mov %eax,0xfee000b0");

  it("`mov %eax,0xfee000b0`: the device sees the write, EIP moves by the decoded length, nothing else changes", () => {
    const { vmm, ram, lapic } = machine();
    ram.write(EIP, store);
    const reply = roundTrip(
      handleMmioEptViolation,
      vmm,
      eptExit(0xfee0_00b0, EPT_WRITE | LINEAR_VALID | TRANSLATED, flat({ eax: 0xcafe_f00d })),
    );
    expect(lapic.log).toEqual([{ write: true, offset: 0xb0, size: 4, value: 0xcafe_f00d }]);
    expect(reply.stop).toBe(false);
    expect(reply.mtd).toBe(Mtd.RIP_LEN);
    expect([reply.state!.eip, reply.state!.instLen]).toEqual([EIP + store.length, store.length]);
    expect(store.length).toBe(5);
  });

  it("a read (`mov 0xfee00020,%ecx`) sets ECX from the device and ends STI blocking", () => {
    const { vmm, ram, lapic } = machine();
    lapic.bytes.set([0x00, 0x00, 0x00, 0x14], 0x20);
    const load = assembleOne("mov 0xfee00020,%ecx");
    ram.write(EIP, load);
    const reply = roundTrip(
      handleMmioEptViolation,
      vmm,
      eptExit(0xfee0_0020, EPT_READ | LINEAR_VALID | TRANSLATED, flat({ ecx: 7, intrState: 1 })),
    );
    expect(reply.mtd).toBe(Mtd.GPR_ACDB | Mtd.RIP_LEN | Mtd.STA);
    expect(reply.state!.ecx).toBe(0x1400_0000);
    expect(reply.state!.intrState).toBe(0);
    expect(reply.state!.eip).toBe(EIP + load.length);
  });

  it("`orl $0x100,0xf0(%ebx)` reads, ORs and writes back, and returns RFLAGS", () => {
    const { vmm, ram, lapic } = machine();
    lapic.bytes.set([0xff, 0, 0, 0], 0xf0);
    const or = assembleOne("orl $0x100,0xf0(%ebx)");
    ram.write(EIP, or);
    const reply = roundTrip(
      handleMmioEptViolation,
      vmm,
      eptExit(0xfee0_00f0, EPT_WRITE | EPT_READ | LINEAR_VALID | TRANSLATED, flat({ ebx: 0xfee0_0000, eflags: 0x47 })),
    );
    expect(lapic.log.map((a) => [a.write, a.value])).toEqual([
      [false, 0xff],
      [true, 0x1ff],
    ]);
    // OR clears CF and OF; 0x1ff: ZF = SF = 0, PF from 0xff (eight ones: even) = 1 (SDM "OR").
    expect(reply.state!.eflags).toBe(0x2 | 0x4);
    expect(reply.mtd! & Mtd.RFLAGS).toBe(Mtd.RFLAGS);
  });

  it("a page fault during emulation injects #PF with the error code, sets CR2, and leaves EIP", () => {
    const { vmm, ram } = machine();
    // Paging on: page directory at 0x10000 maps linear 0-4 MiB through the table at 0x11000;
    // the code page (linear 0x100000) is mapped, linear 0x2000 (the source) is not present.
    ram.write32(0x10000, 0x11000 | 7);
    ram.write32(0x11000 + (EIP >>> 12) * 4, EIP | 7);
    ram.write(EIP, assembleOne("movsl"));
    const state = flat({ cr0: 0x8000_0011, cr3: 0x10000, esi: 0x2000, edi: 0xfee0_0300 });
    const reply = roundTrip(
      handleMmioEptViolation,
      vmm,
      eptExit(0xfee0_0300, EPT_WRITE | LINEAR_VALID | TRANSLATED, state),
    );
    expect(reply.injectValid).toBe(true);
    expect(reply.inject).toEqual({ vector: 14, type: 3, hasError: true, error: 0 });
    expect(reply.mtd).toBe(Mtd.INJ | Mtd.CR);
    expect([reply.state!.cr2, reply.state!.cr3, reply.state!.cr0]).toEqual([0x2000, 0x10000, 0x8000_0011]);
  });

  it("an unsupported instruction stops the VM naming the opcode and CS:EIP", () => {
    const { vmm, ram } = machine();
    ram.write(EIP, assembleOne("incl 0xfee00300"));
    const reply = roundTrip(
      handleMmioEptViolation,
      vmm,
      eptExit(0xfee0_0300, EPT_WRITE | LINEAR_VALID | TRANSLATED, flat()),
    );
    expect(reply.stop).toBe(true);
    expect(reply.stopReason).toBe(
      "emulator: unsupported instruction 0xff at 0x8:0x100000 (bytes ff 05 00 03 e0 fe 00 00)",
    );
    expect(reply.exitCode).toBe(1);
  });

  it("refuses an instruction fetch, a page walk through non-RAM and an address in RAM", () => {
    const { vmm } = machine();
    const fetch = roundTrip(
      handleMmioEptViolation,
      vmm,
      eptExit(0xfee0_0000, EPT_FETCH | LINEAR_VALID | TRANSLATED, flat()),
    );
    expect(fetch.stopReason).toBe("guest executes at guest-physical 0xfee00000, which is not RAM");
    const walk = roundTrip(handleMmioEptViolation, vmm, eptExit(0xfee0_0000, EPT_READ | LINEAR_VALID, flat()));
    expect(walk.stopReason).toBe("guest page tables reach guest-physical 0xfee00000, which is not RAM");
    const ram = roundTrip(handleMmioEptViolation, vmm, eptExit(0x1000, EPT_WRITE | LINEAR_VALID | TRANSLATED, flat()));
    expect(ram.stopReason).toBe("EPT violation on RAM at 0x1000 (qualification 0x182)");
  });

  it("an address nothing claims reads all ones", () => {
    const { vmm, ram } = machine();
    ram.write(EIP, assembleOne("movzwl 0xd0000000,%eax"));
    const reply = roundTrip(
      handleMmioEptViolation,
      vmm,
      eptExit(0xd000_0000, EPT_READ | LINEAR_VALID | TRANSLATED, flat()),
    );
    expect(reply.state!.eax).toBe(0xffff);
  });
});

/** Table 27-5 qualification of a string I/O exit. */
function ioQual(port: number, size: number, input: boolean, rep: boolean): number {
  return ((port << 16) | (rep ? 0x20 : 0) | 0x10 | (input ? 0x08 : 0) | (size - 1)) >>> 0;
}

function ioExit(qual: number, instInfo: number, len: number, state: IGuestState): IVmExit {
  return { reason: ExitReason.IO_INSTRUCTION, mtd: EMULATOR_MTD | Mtd.STA, qual, instInfo, instLen: len, state };
}

/** Table 27-8: 32-bit address size (bits 9:7 = 1) and segment (bits 17:15). */
const info32 = (seg: number) => (1 << 7) | (seg << 15);

describe("string I/O (exit 30 with INS/OUTS)", () => {
  it("REP OUTSB writes each byte from DS:ESI to the port and completes with ECX = 0", () => {
    const { vmm, ram, ports } = machine();
    ram.write(0x3000, new TextEncoder().encode("hi!"));
    const len = assembleOne("rep outsb (%esi),(%dx)").length;
    const reply = roundTrip(
      handleIoInstructionWithStrings,
      vmm,
      ioExit(ioQual(0x60, 1, false, true), info32(3), len, flat({ ecx: 3, esi: 0x3000, edx: 0x60 })),
    );
    expect(ports.out).toEqual([
      [0x60, 1, 0x68],
      [0x60, 1, 0x69],
      [0x60, 1, 0x21],
    ]);
    expect([reply.state!.ecx, reply.state!.esi, reply.state!.eip]).toEqual([0, 0x3003, EIP + len]);
    expect(reply.mtd).toBe(Mtd.GPR_ACDB | Mtd.GPR_BSD | Mtd.RIP_LEN);
  });

  it("INSW with DF = 1 stores at ES:EDI and moves EDI down by 2", () => {
    const { vmm, ram } = machine();
    const reply = roundTrip(
      handleIoInstructionWithStrings,
      vmm,
      ioExit(ioQual(0x61, 2, true, false), info32(0), 2, flat({ edi: 0x4000, eflags: 0x402 })),
    );
    expect(ram.bytes[0x4000] | (ram.bytes[0x4001] << 8)).toBe(0x141);
    expect([reply.state!.edi, reply.state!.eip]).toEqual([0x3ffe, EIP + 2]);
  });

  it("INS into a read-only ES raises #GP(0) before the port is read", () => {
    const { vmm, ports } = machine();
    const ro = { sel: 0x18, base: 0, limit: 0xffff_ffff, ar: FLAT_DATA_AR & ~2 };
    const reply = roundTrip(
      handleIoInstructionWithStrings,
      vmm,
      ioExit(ioQual(0x60, 1, true, false), info32(0), 1, flat({ es: ro, edi: 0x4000 })),
    );
    expect(reply.inject).toEqual({ vector: 13, type: 3, hasError: true, error: 0 });
    expect(ports.next).toBe(0x41);
    expect(reply.mtd! & Mtd.RIP_LEN).toBe(0);
  });

  it("an OUTS whose instruction information names a 64-bit address size stops the VM", () => {
    const { vmm } = machine();
    const reply = roundTrip(
      handleIoInstructionWithStrings,
      vmm,
      ioExit(ioQual(0x60, 1, false, false), 2 << 7, 1, flat()),
    );
    expect(reply.stopReason).toBe("emulator: string I/O instruction information 0x100 names no IA-32 operand");
  });

  it("plain OUT still goes to the existing I/O handler", () => {
    const { vmm, ports } = machine();
    const qual = (0x60 << 16) >>> 0; // OUT DX, AL
    const reply = roundTrip(handleIoInstructionWithStrings, vmm, {
      reason: ExitReason.IO_INSTRUCTION,
      mtd: EMULATOR_MTD | Mtd.STA,
      qual,
      instLen: 1,
      state: flat({ eax: 0x99 }),
    });
    expect(ports.out).toEqual([[0x60, 1, 0x99]]);
    expect(reply.state!.eip).toBe(EIP + 1);
  });
});
