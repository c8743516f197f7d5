// One moat instance: the simulated host (physical memory, one processor),
// the kernel, and the VMs the root task built from a MachineSpec, each with
// its own VMM worker. run() schedules every vCPU until all VMs have ended
// and reports how each ended.
import type { Channel } from "../kernel/channel.js";
import type { Ec } from "../kernel/ec.js";
import { ExitDispatcher, fault } from "../kernel/exit-dispatch.js";
import { Kernel } from "../kernel/hypercalls.js";
import type { Pd } from "../kernel/pd.js";
import { Scheduler } from "../kernel/scheduler.js";
import { initVcpuControls } from "../kernel/vcpu-controls.js";
import { VcpuRun } from "../kernel/vcpu-run.js";
import { Ept } from "../mmu/ept.js";
import { HostMemory } from "../mmu/host-memory.js";
import { Processor } from "../vmx/processor.js";
import type { MachineSpec, VmSpec } from "./config.js";
import { readImage } from "./image.js";
import { buildVm } from "./vm-builder.js";
import { piscinaVmmFactory, type VmmFactory, type VmmPort } from "./vmm-host.js";
import { sabVmmFactory } from "./vmm-sab-host.js";

export interface VmResult {
  name: string;
  /** True when the VM was destroyed for a fault rather than ending by itself. */
  fault: boolean;
  reason: string;
  exitCode: number;
  /** Everything the guest wrote to its console. */
  output: string;
  exits: Map<number, number>;
  instructions: number;
  hostMs: number;
}

export interface MachineIo {
  console(vm: string, text: string): void;
  /** How VMMs are hosted; default: the spec's transport. */
  vmmFactory?: VmmFactory;
}

interface Vm {
  spec: VmSpec;
  vcpu: VcpuRun;
  vmm: VmmPort;
  ept: Ept;
  pd: Pd;
  decoder: TextDecoder;
  output: string[];
}

/** Heap of one VMM worker: a VMM that leaks dies alone. */
const VMM_HEAP_MB = 256;

export class Machine {
  readonly host = new HostMemory();
  readonly cpu = new Processor(this.host);
  readonly kernel: Kernel;
  private readonly vms: Vm[] = [];
  private readonly byEc = new Map<Ec, Vm>();
  private readonly eptOf = new Map<Pd, Ept>();
  private readonly dispatch: ExitDispatcher;
  private readonly scheduler: Scheduler;

  constructor(
    spec: MachineSpec,
    private readonly io: MachineIo,
  ) {
    this.kernel = new Kernel({
      events: {
        memory: (pd, base, order, frame, rights) => this.memoryChanged(pd, base, order, frame, rights),
        recall: (ec) => {
          const vm = this.byEc.get(ec);
          if (vm) this.scheduler.recall(vm.vcpu);
        },
      },
    });
    this.dispatch = new ExitDispatcher(
      (ec, reason) => {
        const pt = this.kernel.portalFor(ec, reason);
        return pt ? { mtd: pt.mtd, channel: pt.ec.handler as Channel } : null;
      },
      {
        console: (v, bytes) => this.console(this.vms[v.vm], bytes),
        stopped: (v) => this.vms[v.vm].vmm.close(),
      },
    );
    this.scheduler = new Scheduler(this.cpu, this.dispatch);
    try {
      const factory = this.io.vmmFactory ?? (spec.transport === "piscina" ? piscinaVmmFactory : sabVmmFactory);
      for (const vmSpec of spec.vms) this.createVm(vmSpec, spec.exitDeadlineMs, factory);
    } catch (e) {
      // A bad image in one VM's spec: the workers already started must not linger.
      for (const vm of this.vms) void vm.vmm.close();
      throw e;
    }
  }

  private createVm(spec: VmSpec, exitDeadlineMs: number, factory: VmmFactory): void {
    const index = this.vms.length;
    const image = readImage(spec.image, spec.format);
    const ram = new SharedArrayBuffer(spec.memoryBytes);
    const hpa = this.host.add(new Uint8Array(ram));
    const ept = new Ept();
    const vmmBoot = {
      vm: index,
      ram,
      image: image.bytes,
      format: image.format,
      loadAddress: spec.load,
      entry: spec.entry,
      cmdline: spec.cmdline,
    };
    const vmm = factory(vmmBoot, { exitDeadlineMs, heapMb: VMM_HEAP_MB });
    // The EPT must exist before the RAM delegation maps into it.
    const pages = spec.memoryBytes / 4096;
    const built = buildVm(this.kernel, index, { hpa, pages }, spec, (pd) => this.eptOf.set(pd, ept));
    built.handler.handler = vmm;
    const vmcs = built.vcpu.vmcs!;
    initVcpuControls(vmcs, ept, index + 1);
    const vcpu = new VcpuRun(built.vcpu, vmcs, index, 0, spec.priority, spec.quantum);
    const vm: Vm = { spec, vcpu, vmm, ept, pd: built.vmPd, decoder: new TextDecoder("latin1"), output: [] };
    // A dead VMM's handler EC dies with it: its portals deliver nothing more.
    vmm.onDeath = (why) => {
      this.kernel.kill(built.handler);
      this.dispatch.stop(vcpu, fault(why));
    };
    this.vms.push(vm);
    this.byEc.set(built.vcpu, vm);
    this.scheduler.add(vcpu);
  }

  /** The kernel changed a PD's memory space; a VM's EPT follows (DESIGN.md §4). */
  private memoryChanged(pd: Pd, base: number, order: number, frame: number, rights: number): void {
    const ept = this.eptOf.get(pd);
    if (!ept) return; // a VMM's PD: its worker holds the RAM object itself
    const size = 2 ** order * 4096;
    if (rights === 0) ept.unmap(base * 4096, size);
    else ept.map(base * 4096, frame * 4096, size, rights);
    this.cpu.invept();
  }

  private console(vm: Vm, bytes: Uint8Array): void {
    const text = vm.decoder.decode(bytes, { stream: true });
    vm.output.push(text);
    this.io.console(vm.spec.name, text);
  }

  /** Fault injection: kills the VMM worker of one VM, as a crash would. */
  async killVmm(name: string): Promise<void> {
    const vm = this.vms.find((v) => v.spec.name === name);
    if (!vm) throw new Error(`no VM named ${name}`);
    await vm.vmm.kill();
  }

  async run(): Promise<VmResult[]> {
    try {
      await this.scheduler.run();
    } finally {
      await Promise.all(this.vms.map((vm) => vm.vmm.close()));
    }
    return this.vms.map((vm) => this.result(vm));
  }

  private result(vm: Vm): VmResult {
    const o = vm.vcpu.outcome ?? { reason: "never ran", exitCode: -1, fault: true };
    return {
      name: vm.spec.name,
      fault: o.fault,
      reason: o.reason,
      exitCode: o.exitCode,
      output: vm.output.join(""),
      exits: vm.vcpu.exitCounts,
      instructions: vm.vcpu.vtime,
      hostMs: vm.vcpu.hostMs,
    };
  }
}
