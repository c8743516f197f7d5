// A small machine for processor tests and benchmarks: guest RAM in host
// memory mapped 1:1 by an EPT, a VMCS with a flat 32-bit guest state
// (flat-state.ts) and the controls the kernel uses (external-interrupt
// exiting, HLT exiting, unconditional I/O exiting; unrestricted guest so
// paging may be off).
import { EPT_EXEC, EPT_READ, EPT_WRITE, Ept } from "../mmu/ept.js";
import { HostMemory } from "../mmu/host-memory.js";
import { type FlatState, type RealModeState, writeFlatGuestState, writeRealModeGuestState } from "./flat-state.js";
import { Processor } from "./processor.js";
import { Vmcs } from "./vmcs.js";
import * as F from "./vmcs-fields.js";

export interface TestMachine {
  host: HostMemory;
  ram: Uint8Array;
  ept: Ept;
  vmcs: Vmcs;
  cpu: Processor;
  /** Copy bytes into guest-physical memory. */
  load(gpa: number, bytes: ArrayLike<number>): void;
  /** VMLAUNCH/VMRESUME with a budget; returns the exit reason. */
  run(budget?: number): number;
}

export const RAM_HPA = 0x100000;

/** The same machine with a real-address-mode guest (flat-state.ts writeRealModeGuestState). */
export function realModeTestMachine(state: RealModeState, ramSize = 0x200000): TestMachine {
  const m = testMachine(ramSize);
  writeRealModeGuestState(m.vmcs, state);
  return m;
}

export function testMachine(ramSize = 0x200000, state: Partial<FlatState> = {}): TestMachine {
  const host = new HostMemory();
  const ram = new Uint8Array(ramSize);
  host.add(ram, RAM_HPA);
  const ept = new Ept();
  ept.map(0, RAM_HPA, ramSize, EPT_READ | EPT_WRITE | EPT_EXEC);
  const vmcs = new Vmcs();
  vmcs.ept = ept;
  vmcs.write(F.EPT_POINTER, ept.eptp);
  vmcs.write(F.PIN_BASED_VM_EXEC_CONTROL, F.PIN_EXTINT_EXITING);
  vmcs.write(
    F.CPU_BASED_VM_EXEC_CONTROL,
    (F.CPU_HLT_EXITING | F.CPU_UNCOND_IO_EXITING | F.CPU_ACTIVATE_SECONDARY) >>> 0,
  );
  vmcs.write(F.SECONDARY_VM_EXEC_CONTROL, F.SEC_ENABLE_EPT | F.SEC_UNRESTRICTED_GUEST);
  writeFlatGuestState(vmcs, { eip: 0x1000, esp: 0x8000, ...state });
  const cpu = new Processor(host);
  return {
    host,
    ram,
    ept,
    vmcs,
    cpu,
    load(gpa, bytes) {
      ram.set(Array.from(bytes), gpa);
    },
    run(budget = 1_000_000) {
      return cpu.enter(vmcs, budget);
    },
  };
}
