// The components `moat tcb` measures (DESIGN.md §1): an editable table.
//
// Patterns are repository-relative, "/"-separated. `entry` patterns name the
// files an import closure starts from; `owns` patterns say which reached files
// are attributed to the component. A pattern is a file path, a folder ending
// in "/" (everything below it), or a glob with "*" inside one path segment.
// When several components own a file, the most specific pattern wins: an exact
// file or glob beats a folder, a longer folder beats a shorter one.

/**
 * Trust class (DESIGN.md §1): `trusted` is in the TCB of every VM; `hardware`
 * is simulated silicon, reported but not counted as software TCB; `untrusted`
 * runs inside one VM's VMM; `shared` is code both sides load.
 */
export type TrustClass = "trusted" | "hardware" | "untrusted" | "shared";

export interface TcbComponentSpec {
  readonly name: string;
  readonly trust: TrustClass;
  readonly description: string;
  readonly entry: readonly string[];
  readonly owns: readonly string[];
  /**
   * If set, a glob: the row expands to one component per matching source file,
   * which is both its entry and the only file it owns. `{stem}` in `name` and
   * `description` is replaced by the file name without extension.
   */
  readonly each?: string;
  /**
   * If set, the component is placement code: the root task loads it into the
   * hypervisor thread (by an `import()`) only for VMs of this placement, so it
   * is in those VMs' trusted set and in no other's. Closures of the other
   * components stop at an `import()` of its files; a static import does not
   * stop (the code is then loaded for every VM, and counted so).
   */
  readonly placement?: string;
}

/** Where a VM's device models run (the VM config's `placement`). */
export interface TcbPlacementSpec {
  readonly name: string;
  readonly description: string;
  /** The placement of a VM whose config names none: adds nothing to the trusted set. */
  readonly base?: boolean;
}

export const TCB_PLACEMENTS: readonly TcbPlacementSpec[] = [
  { name: "split", description: "every device model in the VMM worker", base: true },
  { name: "irqchip", description: "PIC, PIT and interrupt delivery in the hypervisor thread" },
  { name: "monolithic", description: "the whole VMM and every device in the hypervisor thread" },
];

export const TCB_COMPONENTS: readonly TcbComponentSpec[] = [
  {
    name: "kernel",
    trust: "trusted",
    description: "microhypervisor: PD, EC, SC, PT, SM, capabilities, hypercalls, scheduler, exit dispatch",
    entry: ["hypervisor/kernel/hypercalls.ts", "hypervisor/kernel/scheduler.ts", "hypervisor/kernel/exit-dispatch.ts"],
    owns: ["hypervisor/kernel/"],
  },
  {
    name: "root task and CLI",
    trust: "trusted",
    description: "creates VMs from a config, starts VMMs, console, CLI",
    entry: ["hypervisor/root/cli.ts"],
    owns: ["hypervisor/root/"],
  },
  {
    name: "in-kernel irqchip",
    trust: "trusted",
    description: "8259A PIC, 8254 PIT and interrupt delivery in the hypervisor thread (placement irqchip)",
    entry: ["hypervisor/in-kernel/"],
    owns: ["hypervisor/in-kernel/"],
    placement: "irqchip",
  },
  {
    name: "in-thread VMM",
    trust: "trusted",
    description: "the VMM with every device model in the hypervisor thread (placement monolithic)",
    entry: ["hypervisor/root/vmm-in-thread.ts"],
    owns: ["hypervisor/root/vmm-in-thread.ts"],
    placement: "monolithic",
  },
  {
    name: "simulated processor and VMX",
    trust: "hardware",
    description: "IA-32 CPU, VMX non-root mode, VMCS, EPT, TLB (simulated silicon)",
    entry: ["hypervisor/vmx/processor.ts"],
    owns: ["hypervisor/vmx/", "hypervisor/cpu/", "hypervisor/mmu/"],
  },
  {
    name: "VMM core",
    trust: "untrusted",
    description: "exit handlers, I/O bus, boot loaders (one per VM, piscina worker)",
    entry: ["vmm/worker-entry.mjs"],
    owns: ["vmm/"],
  },
  {
    name: "instruction emulator",
    trust: "untrusted",
    description: "emulates the instructions a VMM must complete (one per VM)",
    entry: ["vmm/emulator/"],
    owns: ["vmm/emulator/"],
  },
  {
    name: "device {stem}",
    trust: "untrusted",
    description: "device model devices/{stem} (inside its VMM)",
    entry: [],
    owns: [],
    each: "devices/*.ts",
  },
  {
    name: "generated protocol code",
    trust: "shared",
    description: "protobuf messages (proto/generated/moat.js) and proto/*.ts helpers, loaded by both sides",
    entry: ["proto/generated/moat.js", "proto/*.ts"],
    owns: ["proto/"],
  },
];
