// One moat instance: the simulated host (physical memory, one processor),
// the kernel, and the VMs the root task built from a MachineSpec, each with
// its own VMM worker. run() schedules every vCPU until all VMs have ended
// and reports how each ended.
//
// Containment (DESIGN.md §6): every VMM fault the kernel detects comes here
// with a reason, and the VM's policy answers it: destroy stops the VM;
// restart swaps in a fresh VMM worker (started in advance, so that recovery
// does not wait for a thread to boot) that restores the last checkpoint
// while the kernel re-delivers the exit; reset swaps in a fresh VMM and
// reboots the guest. Faults are recorded with detection and recovery times.
import { closeSync, openSync, writeSync } from "node:fs";
import type { IFaultOrder, IVmmCall } from "../../proto/index.js";
import { MemRights } from "../kernel/capability.js";
import { memCrd } from "../kernel/crd.js";
import type { Ec } from "../kernel/ec.js";
import { ExitDispatcher, type FaultAction, fault, VmmCallOp, type VmmFault } from "../kernel/exit-dispatch.js";
import { Kernel } from "../kernel/hypercalls.js";
import type { Pd } from "../kernel/pd.js";
import { Scheduler } from "../kernel/scheduler.js";
import { Status } from "../kernel/status.js";
import { initVcpuControls } from "../kernel/vcpu-controls.js";
import { VcpuRun } from "../kernel/vcpu-run.js";
import { Ept } from "../mmu/ept.js";
import { HostMemory } from "../mmu/host-memory.js";
import { checkControls, checkGuestState } from "../vmx/entry-checks.js";
import { Processor } from "../vmx/processor.js";
import { type BiosWindowVm, checkShadow, commitShadow } from "./bios-window.js";
import { DEFAULTS, type MachineSpec, type Placement, type VmSpec } from "./config.js";
import { DeadlineChannel } from "./fault-deadline.js";
import { type FaultKind, faultOrder } from "./fault-plan.js";
import { readBootFiles } from "./image.js";
import { loadIrqchip, monolithicVmmFactory } from "./placement.js";
import { alignedChunks, buildVm } from "./vm-builder.js";
import { piscinaVmmFactory, type VmmBootData, type VmmFactory, type VmmPort } from "./vmm-host.js";
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
  /** VMM faults this VM survived (restart, reset) or died of (destroy). */
  faults: number;
  /** Where its device models ran (config field placement). */
  placement: Placement;
  /** Exits that crossed to the VMM: a message to its worker, or in monolithic the in-thread call. */
  exitsForwarded: number;
  /** Exits finished by device models in the hypervisor thread (placement irqchip), never reaching a VMM. */
  exitsInHypervisor: number;
  /** Host milliseconds spent in forwarded round trips (measured around the channel call). */
  forwardedHostMs: number;
}

/** One VMM fault as the root task saw it. */
export interface FaultRecord {
  vm: string;
  /** The exit whose reply was lost (VmExit.seq) and its reason. */
  seq: number;
  exitReason: number;
  /** The injected kind when the injector ordered a fault at this exit, else null. */
  injected: FaultKind | null;
  detector: VmmFault["detector"];
  reason: string;
  detectMs: number;
  /** What the policy did: stop (destroy, or gave up), retry (restart), reset. */
  action: FaultAction;
  /** Host milliseconds from detection to the first accepted reply of the new VMM, once it came. */
  recoverMs: number | null;
}

export interface MachineIo {
  console(vm: string, text: string): void;
  /** How VMMs are hosted; default: the spec's transport. VMs of placement monolithic host theirs in this thread. */
  vmmFactory?: VmmFactory;
  /** Told about every VMM fault once the policy acted. */
  fault?(record: FaultRecord): void;
  /** Console input reached VM `vm`'s VMM at its virtual TSC `tsc` (the input log of DESIGN.md §5). */
  input?(vm: string, tsc: number, bytes: Uint8Array): void;
}

interface Vm {
  index: number;
  spec: VmSpec;
  vcpu: VcpuRun;
  handler: Ec;
  vmmPd: Pd;
  vmPd: Pd;
  boot: VmmBootData & { checkpoints: boolean; faultHooks: boolean; irqchip: boolean };
  vmm: VmmPort;
  /** Workers started in advance for the next restarts or resets, oldest first. */
  standby: VmmPort[];
  ept: Ept;
  ram: SharedArrayBuffer;
  /** What a SHADOW call may map (bios-window.ts). */
  window: BiosWindowVm;
  decoder: TextDecoder;
  output: string[];
  log: number | null;
  /** Injector's orders by exit sequence number. */
  orders: Map<number, { order: IFaultOrder; kind: FaultKind }>;
  /** Kinds of the orders already sent, by sequence number, until their fault is seen. */
  sent: Map<number, FaultKind>;
  faults: FaultRecord[];
  /** Consecutive faults at one exit: a VMM that cannot get past an exit is given up on. */
  retries: { seq: number; count: number };
}

/** Faults in a row at the same exit after which restart gives up and destroys the VM. */
export const MAX_RETRIES_PER_EXIT = 3;

export class Machine {
  readonly host = new HostMemory();
  readonly cpu = new Processor(this.host);
  readonly kernel: Kernel;
  private readonly vms: Vm[] = [];
  private readonly byEc = new Map<Ec, Vm>();
  private readonly eptOf = new Map<Pd, Ept>();
  private readonly dispatch: ExitDispatcher;
  private readonly scheduler: Scheduler;
  private readonly factory: VmmFactory;
  private readonly exitDeadlineMs: number;
  private readonly bootDeadlineMs: number;
  private readonly heapMb: number;
  /** Standby VMM workers per VM whose policy is restart or reset. */
  private readonly spares: number;
  /** Every VMM fault, in the order they were handled. */
  readonly faults: FaultRecord[] = [];
  private closed = false;
  private inputEnded = false;

  constructor(
    spec: MachineSpec,
    private readonly io: MachineIo,
  ) {
    this.exitDeadlineMs = spec.exitDeadlineMs;
    this.bootDeadlineMs = Math.max(spec.bootDeadlineMs ?? DEFAULTS.bootDeadlineMs, spec.exitDeadlineMs);
    this.heapMb = spec.vmmHeapMb ?? DEFAULTS.vmmHeapMb;
    this.spares = spec.standbyVmms ?? DEFAULTS.standbyVmms;
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
        return pt ? { mtd: pt.mtd, channel: pt.ec.handler as DeadlineChannel, pd: pt.ec.pd } : null;
      },
      {
        console: (v, bytes) => this.console(this.vms[v.vm], bytes),
        stopped: (v) => this.retire(this.vms[v.vm]),
        vmmFault: (v, f) => this.vmmFault(this.vms[v.vm], f),
        recovered: (v, ms) => this.recovered(this.vms[v.vm], ms),
        faultOrder: (v, seq) => this.orderFor(this.vms[v.vm], seq),
        delegate: (v, call, commit) => this.delegate(this.vms[v.vm], call, commit),
        consoleIn: (v, bytes, tsc) => this.io.input?.(this.vms[v.vm].spec.name, tsc, bytes),
      },
      {
        sealed: true,
        entryCheck: (vmcs) => checkControls(vmcs) ?? checkGuestState(vmcs),
        flushTlb: (vpid) => this.cpu.invvpid(vpid),
      },
    );
    this.scheduler = new Scheduler(this.cpu, this.dispatch, { realtime: spec.realtime ?? false });
    this.factory = this.io.vmmFactory ?? (spec.transport === "piscina" ? piscinaVmmFactory : sabVmmFactory);
    const monolithic = spec.vms.find((v) => v.placement === "monolithic");
    if (spec.faultHooks && monolithic) {
      // A fault the injector orders would strike the hypervisor thread itself.
      throw new Error(
        `vm ${monolithic.name}: placement monolithic runs its VMM in the hypervisor thread; fault injection needs split or irqchip`,
      );
    }
    try {
      for (const vmSpec of spec.vms) this.createVm(vmSpec, spec.faultHooks ?? false);
    } catch (e) {
      // A bad image in one VM's spec: the workers already started must not linger.
      void this.closeAll();
      throw e;
    }
  }

  private createVm(spec: VmSpec, faultHooks: boolean): void {
    const index = this.vms.length;
    const files = readBootFiles(spec);
    const ram = new SharedArrayBuffer(spec.memoryBytes);
    const hpa = this.host.add(new Uint8Array(ram));
    const ept = new Ept();
    const boot = {
      vm: index,
      ram,
      ...files,
      loadAddress: spec.load,
      entry: spec.entry,
      cmdline: spec.cmdline,
      checkpoints: spec.policy === "restart",
      faultHooks,
      irqchip: spec.placement === "irqchip",
    };
    const log = spec.log === undefined ? null : openSync(spec.log, "w");
    const vmm = this.startVmm(boot, spec);
    // The EPT must exist before the RAM delegation maps into it.
    const pages = spec.memoryBytes / 4096;
    // A firmware ROM gets host frames of its own, mapped read/execute-only (vm-builder.ts mapFirmware).
    const rom = files.firmware && { hpa: this.host.add(new Uint8Array(files.firmware)), bytes: files.firmware.length };
    const built = buildVm(this.kernel, index, { hpa, pages }, spec, (pd) => this.eptOf.set(pd, ept), rom);
    const vmcs = built.vcpu.vmcs!;
    initVcpuControls(vmcs, ept, index + 1);
    const vcpu = new VcpuRun(built.vcpu, vmcs, index, 0, spec.priority, spec.quantum);
    vcpu.instructionLimit = spec.maxInstructions ?? 0;
    const vm: Vm = {
      index,
      spec,
      vcpu,
      handler: built.handler,
      vmmPd: built.vmmPd,
      vmPd: built.vmPd,
      boot,
      vmm,
      standby: spec.policy === "destroy" ? [] : Array.from({ length: this.spares }, () => this.startVmm(boot, spec)),
      ept,
      ram,
      window: {
        vmPd: built.vmPd,
        ramFrame: hpa / 4096,
        ramPages: pages,
        rom: rom ? { frame: rom.hpa / 4096, pages: rom.bytes / 4096 } : null,
      },
      decoder: new TextDecoder("latin1"),
      output: [],
      log,
      orders: new Map(),
      sent: new Map(),
      faults: [],
      retries: { seq: -1, count: 0 },
    };
    this.attach(vm, vmm);
    this.vms.push(vm);
    this.byEc.set(built.vcpu, vm);
    this.scheduler.add(vcpu);
  }

  private startVmm(boot: VmmBootData, spec: VmSpec): VmmPort {
    // The transport's own deadline is only a backstop: DeadlineChannel enforces the exit deadline.
    const factory = spec.placement === "monolithic" ? monolithicVmmFactory : this.factory;
    return factory(boot, { exitDeadlineMs: this.bootDeadlineMs, heapMb: this.heapMb });
  }

  /** Makes `port` the handler of the VM's portals. */
  private attach(vm: Vm, port: VmmPort): void {
    vm.vmm = port;
    vm.handler.handler = new DeadlineChannel(port, this.exitDeadlineMs, this.bootDeadlineMs);
    port.onDeath = (why) => {
      // Found at the next exit, which then fails, unless the policy is destroy and the vCPU is not
      // waiting for this VMM: then a dead VMM ends its VM at once.
      if (vm.vmm !== port || vm.spec.policy !== "destroy" || vm.vcpu.status === "waiting") return;
      this.kernel.kill(vm.handler);
      this.dispatch.stop(vm.vcpu, fault(why));
    };
  }

  /** The VM's policy for a VMM fault the kernel detected (DESIGN.md §6). */
  private async vmmFault(vm: Vm, f: VmmFault): Promise<FaultAction> {
    const injected = vm.sent.get(f.seq) ?? null;
    vm.sent.delete(f.seq);
    const old = vm.vmm;
    void old.kill().catch(() => {});
    vm.retries = vm.retries.seq === f.seq ? { seq: f.seq, count: vm.retries.count + 1 } : { seq: f.seq, count: 1 };
    let action: FaultAction = vm.spec.policy === "destroy" ? "stop" : vm.spec.policy === "reset" ? "reset" : "retry";
    if (vm.retries.count > MAX_RETRIES_PER_EXIT || this.closed) action = "stop";
    const record: FaultRecord = {
      vm: vm.spec.name,
      seq: f.seq,
      exitReason: f.exitReason,
      injected,
      detector: f.detector,
      reason: f.reason,
      detectMs: f.detectMs,
      action,
      recoverMs: null,
    };
    vm.faults.push(record);
    this.faults.push(record);
    if (action === "stop") {
      this.kernel.kill(vm.handler);
    } else {
      const next = vm.standby.shift() ?? this.startVmm(vm.boot, vm.spec);
      vm.standby.push(this.startVmm(vm.boot, vm.spec));
      this.attach(vm, next);
      if (action === "retry") vm.vcpu.restoreNext = true;
      else this.resetGuest(vm);
    }
    this.io.fault?.(record);
    return action;
  }

  /** Policy reset: RAM as at power-on and the vCPU before its startup event; the fresh VMM loads the image again. */
  private resetGuest(vm: Vm): void {
    new Uint8Array(vm.ram).fill(0);
    vm.vcpu.reset();
    this.cpu.invvpid(vm.index + 1);
  }

  private recovered(vm: Vm, ms: number): void {
    const last = vm.faults[vm.faults.length - 1];
    if (last && last.recoverMs === null && last.action !== "stop") last.recoverMs = ms;
  }

  private orderFor(vm: Vm, seq: number): IFaultOrder | null {
    const o = vm.orders.get(seq);
    if (!o) return null;
    vm.orders.delete(seq);
    vm.sent.set(seq, o.kind);
    return o.order;
  }

  /**
   * A VMM delegating part of its VM's RAM to the VM (NOVA: a delegate item
   * in the portal reply). It may delegate only pages its own PD holds, with
   * at most the rights it holds them with.
   */
  private delegate(vm: Vm, call: IVmmCall, commit: boolean): string | null {
    if (call.op === VmmCallOp.SHADOW) {
      return commit ? commitShadow(this.kernel, vm.window, call) : checkShadow(vm.window, call);
    }
    const gpa = call.gpa ?? 0;
    const pages = call.pages ?? 0;
    const rights = (call.rights ?? 0) & MemRights.RWX;
    const range = `[0x${gpa.toString(16)}, 0x${(gpa + pages * 4096).toString(16)})`;
    if (gpa % 4096 !== 0 || pages < 1 || pages > vm.spec.memoryBytes / 4096 || rights === 0) {
      return `delegation of guest-physical ${range} with rights ${rights}: not whole pages with rights`;
    }
    const first = gpa / 4096;
    for (let p = first; p < first + pages; p++) {
      const held = vm.vmmPd.mem.rightsOf(p);
      if ((held & rights) !== rights) {
        return `delegation of guest-physical ${range}: page 0x${p.toString(16)} is outside the VM's memory (its VMM holds no such page)`;
      }
    }
    if (!commit) return null;
    for (const c of alignedChunks(first, pages)) {
      const s = this.kernel.delegate(vm.vmmPd, memCrd(c.base, c.order, rights), vm.vmPd, c.base);
      if (s !== Status.SUCCESS) return `delegation failed with status ${s}`;
    }
    return null;
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
    if (vm.log !== null) writeSync(vm.log, bytes);
    this.io.console(vm.spec.name, text);
  }

  private byName(name: string): Vm {
    const vm = this.vms.find((v) => v.spec.name === name);
    if (!vm) throw new Error(`no VM named ${name} (VMs: ${this.vms.map((v) => v.spec.name).join(", ")})`);
    return vm;
  }

  get vmNames(): string[] {
    return this.vms.map((v) => v.spec.name);
  }

  /** Exits VM `name` has taken so far. */
  exitsOf(name: string): number {
    return this.byName(name).vcpu.seq;
  }

  /** Instructions VM `name` has retired so far (its virtual TSC). */
  instructionsOf(name: string): number {
    return this.byName(name).vcpu.vtime;
  }

  /**
   * Fault injection: orders VM `name`'s VMM to commit `kind` while it handles
   * exit `atExit` (default: its next exit). Returns that exit's number.
   */
  inject(name: string, kind: FaultKind, opts: { atExit?: number; seed?: number } = {}): number {
    const vm = this.byName(name);
    const at = opts.atExit ?? vm.vcpu.seq + 1;
    if (!Number.isInteger(at) || at <= vm.vcpu.seq) {
      throw new Error(`vm ${name} is already past exit ${at} (it has taken ${vm.vcpu.seq})`);
    }
    vm.orders.set(at, { kind, order: faultOrder(kind, opts.seed ?? at, this.exitDeadlineMs) });
    return at;
  }

  /**
   * Starts standby VMM workers for VM `name` until it has `count` (policy
   * restart or reset only): an injector that plans faults for a VM prepares
   * its spares so that recovery need not wait for a worker to boot.
   */
  prepareSpares(name: string, count: number): void {
    const vm = this.byName(name);
    if (vm.spec.policy === "destroy" || this.closed) return;
    while (vm.standby.length < count) vm.standby.push(this.startVmm(vm.boot, vm.spec));
  }

  /**
   * Console input from the host terminal for VM `name` (DESIGN.md §2
   * "Asynchronous events"): queued on its vCPU and carried by its next exit;
   * the recall makes that exit come soon. From the first call until
   * consoleEnd() a halted vCPU waits for more input instead of ending.
   */
  consoleInput(name: string, bytes: Uint8Array): void {
    const vm = this.byName(name);
    vm.vcpu.inputOpen = !this.inputEnded;
    if (!vm.vcpu.alive || bytes.length === 0) return;
    vm.vcpu.queueInput(bytes);
    vm.vcpu.ec.recallPending = true;
    this.scheduler.recall(vm.vcpu);
  }

  /** The input source closed (EOF): a vCPU halted with nothing pending ends as before. */
  consoleEnd(): void {
    this.inputEnded = true;
    for (const vm of this.vms) vm.vcpu.inputOpen = false;
    this.scheduler.poke();
  }

  /** Fault injection: kills the VMM worker of one VM, as a crash would. */
  async killVmm(name: string): Promise<void> {
    await this.byName(name).vmm.kill();
  }

  /** Stops VM `name` (the root task's decision, not a fault of the guest). */
  destroy(name: string, why = "destroyed by the root task"): void {
    const vm = this.byName(name);
    this.dispatch.stop(vm.vcpu, { reason: why, exitCode: -1, fault: false });
  }

  async run(): Promise<VmResult[]> {
    try {
      // Placement irqchip: each such VM's interrupt controllers and timer, loaded only when a VM asks.
      for (const vm of this.vms) if (vm.spec.placement === "irqchip") vm.vcpu.inKernel ??= await loadIrqchip();
      await this.scheduler.run();
    } finally {
      await this.closeAll();
    }
    return this.vms.map((vm) => this.result(vm));
  }

  private retire(vm: Vm): void {
    void vm.vmm.close();
    for (const s of vm.standby) void s.close();
    vm.standby = [];
  }

  private async closeAll(): Promise<void> {
    this.closed = true;
    await Promise.all(this.vms.flatMap((vm) => [vm.vmm.close(), ...vm.standby.map((s) => s.close())]));
    for (const vm of this.vms) {
      vm.standby = [];
      if (vm.log !== null) closeSync(vm.log);
      vm.log = null;
    }
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
      faults: vm.faults.length,
      placement: vm.spec.placement ?? "split",
      exitsForwarded: vm.vcpu.exitsForwarded,
      exitsInHypervisor: vm.vcpu.exitsInHypervisor,
      forwardedHostMs: vm.vcpu.forwardedHostMs,
    };
  }
}
