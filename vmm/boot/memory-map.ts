// The VM's physical memory map as a PC BIOS reports it (INT 15h, E820h;
// ACPI "System Address Map Interfaces"): conventional RAM below 640 KiB, the
// ISA hole 0xA0000-0xFFFFF (VGA window and ROMs) reserved, and RAM from
// 1 MiB to the end of the VM's RAM. Both boot protocols describe this map.

export const E820_RAM = 1;
export const E820_RESERVED = 2;

export const LOWER_MEMORY_END = 0xa_0000;
export const UPPER_MEMORY_START = 0x10_0000;

export interface MemoryRange {
  base: number;
  length: number;
  type: number;
}

/** The map of a VM with `ramBytes` of RAM at guest-physical 0. */
export function pcMemoryMap(ramBytes: number): MemoryRange[] {
  const map: MemoryRange[] = [{ base: 0, length: Math.min(ramBytes, LOWER_MEMORY_END), type: E820_RAM }];
  if (ramBytes > LOWER_MEMORY_END) {
    map.push({ base: LOWER_MEMORY_END, length: UPPER_MEMORY_START - LOWER_MEMORY_END, type: E820_RESERVED });
  }
  if (ramBytes > UPPER_MEMORY_START) {
    map.push({ base: UPPER_MEMORY_START, length: ramBytes - UPPER_MEMORY_START, type: E820_RAM });
  }
  return map;
}
