// `moat campaign`: isolation you can prove (DESIGN.md §5, §6). A mix of
// guests runs as N VMs; round after round, some of them get faults injected
// into their VMMs at exits drawn from a seed, the others are left alone.
// The oracle is a fault-free run of the same config: virtual time makes a
// VM's output a pure function of its image and config, so every VM that was
// not injected must print byte for byte what it printed there, and end the
// same way after the same number of instructions. Each fault must be
// detected at the exit it was injected at, by the detector its kind calls
// for, with a reason; under policy restart the guest must go on to finish
// its work.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEFAULTS, type MachineSpec, type Policy, type Transport, type VmSpec } from "./config.js";
import { FAULT_INFO, FAULT_KINDS, type FaultKind, Rng } from "./fault-plan.js";
import { type FaultRecord, Machine, type VmResult } from "./machine.js";

export interface CampaignOptions {
  vms: number;
  faults: number;
  seed: number;
  /** Policy of every VM (default restart). */
  policy?: Policy;
  /** Fault kinds to draw from (default all). */
  kinds?: readonly FaultKind[];
  /** Exit deadline in ms (default 1000): hangs are detected after it. */
  exitDeadlineMs?: number;
  /** Most faults one VM gets in one round (default 25). */
  faultsPerVm?: number;
  /** Standby VMM workers per injected VM (default 3: recovery should not wait for a worker to boot). */
  standbyVmms?: number;
  transport?: Transport;
  /** Guest images to mix (default: the built test guests). */
  guests?: readonly string[];
  /** Told after each round. */
  progress?(done: number, total: number, round: number): void;
}

/** One injected fault and what became of it. */
export interface FaultOutcome {
  round: number;
  vm: string;
  kind: FaultKind;
  seq: number;
  detected: boolean;
  /** Detected at its exit by the detector its kind calls for. */
  detectorOk: boolean;
  reason: string | null;
  /** The VM's policy did what it says (and nothing else was hurt in the round). */
  contained: boolean;
  /** A new VMM answered afterwards (restart, reset); null under destroy. */
  recovered: boolean | null;
  detectMs: number | null;
  recoverMs: number | null;
}

export interface KindRow {
  kind: FaultKind;
  injected: number;
  detected: number;
  contained: number;
  recovered: number;
  detectMs: { median: number; p99: number } | null;
  recoverMs: { median: number; p99: number } | null;
}

export interface CampaignReport {
  vms: number;
  faults: number;
  seed: number;
  policy: Policy;
  rounds: number;
  hostMs: number;
  kinds: KindRow[];
  total: KindRow;
  /** VMs not injected in a round, compared with the fault-free run. */
  bystanders: { runs: number; identical: number };
  hypervisorCrashes: number;
  /** Faults the kernel detected that nobody injected (a bug, or a deadline too short for this host). */
  spontaneous: number;
  /** Policy restart: faults after which the guest went on to end as in the fault-free run (and with identical output). */
  restart: { faults: number; finished: number; identical: number } | null;
  checks: { passed: number; failed: number; failures: string[] };
  outcomes: FaultOutcome[];
}

const BUILT = ["hello.elf", "paging-ring3.elf", "exits.elf"];

export function defaultGuests(): string[] {
  return BUILT.map((g) => fileURLToPath(new URL(`../../guests/build/${g}`, import.meta.url)));
}

function vmSpecs(n: number, guests: readonly string[], policy: Policy): VmSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const image = guests[i % guests.length];
    const base = image.replace(/^.*\//, "").replace(/\.[^.]*$/, "");
    return {
      name: `${base}-${i}`,
      image,
      memoryBytes: 16 << 20,
      priority: DEFAULTS.priority,
      quantum: DEFAULTS.quantum,
      policy,
      cmdline: "",
    };
  });
}

interface Run {
  results: Map<string, VmResult>;
  faults: FaultRecord[];
  crashed: string | null;
}

async function runMachine(
  spec: MachineSpec,
  plan: Map<string, Map<number, FaultKind>>,
  seed: number,
  spares: number,
): Promise<Run> {
  let machine: Machine;
  try {
    machine = new Machine(spec, { console: () => {} });
    for (const [vm, faults] of plan) {
      machine.prepareSpares(vm, Math.min(spares, faults.size));
      for (const [seq, kind] of faults) machine.inject(vm, kind, { atExit: seq, seed: seed ^ seq });
    }
    const results = await machine.run();
    return { results: new Map(results.map((r) => [r.name, r])), faults: machine.faults, crashed: null };
  } catch (e) {
    return { results: new Map(), faults: [], crashed: (e as Error)?.stack ?? String(e) };
  }
}

/** Median and 99th percentile (nearest rank) of `xs`. */
export function percentiles(xs: readonly number[]): { median: number; p99: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { median: rank(0.5), p99: rank(0.99) };
}

const sameEnd = (a: VmResult, b: VmResult) =>
  a.output === b.output && a.reason === b.reason && a.exitCode === b.exitCode && a.instructions === b.instructions;

export async function runCampaign(opts: CampaignOptions): Promise<CampaignReport> {
  const t0 = performance.now();
  const policy = opts.policy ?? "restart";
  const kinds = opts.kinds ?? FAULT_KINDS;
  const guests = opts.guests ?? defaultGuests();
  for (const g of guests) if (!existsSync(g)) throw new Error(`${g} missing: run npm run guests`);
  if (opts.vms < 2) throw new Error("a campaign needs at least 2 VMs: one to inject, one to stay clean");
  const exitDeadlineMs = opts.exitDeadlineMs ?? 1000;
  const spec: MachineSpec = {
    vms: vmSpecs(opts.vms, guests, policy),
    transport: opts.transport ?? "sab",
    exitDeadlineMs,
    bootDeadlineMs: 60_000,
    vmmHeapMb: 64,
    // Spares only for the VMs a round injects (runMachine): the others never need one.
    standbyVmms: 0,
    faultHooks: true,
  };
  const checks = { passed: 0, failed: 0, failures: [] as string[] };
  const check = (ok: boolean, what: string) => {
    if (ok) checks.passed++;
    else {
      checks.failed++;
      checks.failures.push(what);
    }
  };

  // The oracle: the same config without faults.
  const spares = opts.standbyVmms ?? 3;
  const reference = await runMachine(spec, new Map(), opts.seed, spares);
  check(reference.crashed === null, `fault-free run: the hypervisor crashed: ${reference.crashed}`);
  check(
    reference.faults.length === 0,
    `fault-free run: ${reference.faults.length} VMM faults: ${reference.faults.map((f) => `${f.vm} exit ${f.seq}: ${f.reason}`).join("; ")}`,
  );
  const rng = new Rng(opts.seed);
  const perVm = opts.faultsPerVm ?? 25;
  const outcomes: FaultOutcome[] = [];
  const bystanders = { runs: 0, identical: 0 };
  const restart = { faults: 0, finished: 0, identical: 0 };
  let crashes = reference.crashed ? 1 : 0;
  let spontaneous = 0;
  const unexplained: string[] = [];
  let round = 0;
  while (outcomes.length < opts.faults && reference.crashed === null) {
    round++;
    const plan = planRound(spec.vms, reference.results, policy, kinds, perVm, opts.faults - outcomes.length, rng);
    const run = await runMachine(spec, plan, opts.seed + round, spares);
    if (run.crashed) crashes++;
    check(run.crashed === null, `round ${round}: the hypervisor crashed: ${run.crashed}`);
    for (const vm of spec.vms) {
      const ref = reference.results.get(vm.name) as VmResult;
      const got = run.results.get(vm.name);
      const injected = plan.get(vm.name);
      if (!injected) {
        bystanders.runs++;
        const same = got !== undefined && sameEnd(got, ref);
        if (same) bystanders.identical++;
        check(same, `round ${round}: ${vm.name} was not injected but its run differs from the fault-free run`);
        continue;
      }
      const records = run.faults.filter((f) => f.vm === vm.name);
      for (const [seq, kind] of injected) outcomes.push(outcome(round, vm.name, seq, kind, records, policy));
      const uninjected = records.filter((f) => f.injected === null);
      spontaneous += uninjected.length;
      for (const f of uninjected) unexplained.push(`round ${round}: ${f.vm} exit ${f.seq}: ${f.reason}`);
      if (policy === "restart") {
        restart.faults += injected.size;
        const finished = got !== undefined && !got.fault && got.reason === ref.reason && got.exitCode === ref.exitCode;
        if (finished) restart.finished += injected.size;
        if (got !== undefined && sameEnd(got, ref)) restart.identical += injected.size;
      }
    }
    for (const f of run.faults.filter((f) => !plan.has(f.vm))) {
      spontaneous++;
      unexplained.push(`round ${round}: ${f.vm} (not injected) exit ${f.seq}: ${f.reason}`);
    }
    opts.progress?.(outcomes.length, opts.faults, round);
  }
  for (const o of outcomes) {
    check(
      o.detected && o.detectorOk,
      `round ${o.round}: ${o.kind} at ${o.vm} exit ${o.seq}: not detected as it should be (${o.reason ?? "no fault seen"})`,
    );
    check(o.contained, `round ${o.round}: ${o.kind} at ${o.vm} exit ${o.seq}: not contained by policy ${policy}`);
  }
  check(spontaneous === 0, `${spontaneous} VMM faults that nobody injected: ${unexplained.slice(0, 5).join("; ")}`);
  if (policy === "restart") {
    check(
      restart.finished >= 0.95 * restart.faults,
      `restart: the guest finished its work after only ${restart.finished} of ${restart.faults} faults (< 95%)`,
    );
  }
  const rows = kinds.map((k) =>
    kindRow(
      k,
      outcomes.filter((o) => o.kind === k),
    ),
  );
  return {
    vms: opts.vms,
    faults: outcomes.length,
    seed: opts.seed,
    policy,
    rounds: round,
    hostMs: performance.now() - t0,
    kinds: rows,
    total: { ...kindRow("throw", outcomes), kind: "total" as FaultKind },
    bystanders,
    hypervisorCrashes: crashes,
    spontaneous,
    restart: policy === "restart" ? restart : null,
    checks,
    outcomes,
  };
}

/**
 * Picks this round's victims (all but two VMs: those two are the proof) and
 * their faults: distinct exits from 2 to the last but one of the fault-free
 * run (exit 1, the startup event, also pays for the worker's boot), at most
 * one under destroy (the VM ends with it).
 */
function planRound(
  vms: readonly VmSpec[],
  ref: Map<string, VmResult>,
  policy: Policy,
  kinds: readonly FaultKind[],
  perVm: number,
  left: number,
  rng: Rng,
): Map<string, Map<number, FaultKind>> {
  const plan = new Map<string, Map<number, FaultKind>>();
  // Two VMs stay clean each round (the proof); the rest are victims, so that faults in different VMs overlap.
  const victims = rng.shuffle([...vms]).slice(0, Math.max(1, vms.length - 2));
  for (const vm of victims) {
    if (left <= 0) break;
    const exits = [...(ref.get(vm.name)?.exits.values() ?? [])].reduce((a, b) => a + b, 0);
    const room = Math.max(0, exits - 2);
    const most = policy === "destroy" ? 1 : Math.min(perVm, Math.max(1, Math.floor(room / 4)));
    const n = Math.min(left, most, room);
    if (n <= 0) continue;
    const seqs = new Set<number>();
    while (seqs.size < n) seqs.add(rng.int(2, exits - 1));
    const faults = new Map<number, FaultKind>();
    for (const seq of [...seqs].sort((a, b) => a - b)) faults.set(seq, rng.pick(kinds));
    plan.set(vm.name, faults);
    left -= n;
  }
  return plan;
}

function outcome(
  round: number,
  vm: string,
  seq: number,
  kind: FaultKind,
  records: FaultRecord[],
  policy: Policy,
): FaultOutcome {
  const first = records.find((r) => r.seq === seq && r.injected === kind);
  const detectorOk = first !== undefined && FAULT_INFO[kind].detectors.includes(first.detector);
  const wanted = policy === "destroy" ? "stop" : policy === "reset" ? "reset" : "retry";
  const recovered = policy === "destroy" ? null : first !== undefined && first.recoverMs !== null;
  return {
    round,
    vm,
    kind,
    seq,
    detected: first !== undefined && first.reason.length > 0,
    detectorOk,
    reason: first?.reason ?? null,
    contained: first !== undefined && first.action === wanted && recovered !== false,
    recovered,
    detectMs: first?.detectMs ?? null,
    recoverMs: first?.recoverMs ?? null,
  };
}

function kindRow(kind: FaultKind, os: readonly FaultOutcome[]): KindRow {
  return {
    kind,
    injected: os.length,
    detected: os.filter((o) => o.detected && o.detectorOk).length,
    contained: os.filter((o) => o.contained).length,
    recovered: os.filter((o) => o.recovered === true).length,
    detectMs: percentiles(os.flatMap((o) => (o.detectMs === null ? [] : [o.detectMs]))),
    recoverMs: percentiles(os.flatMap((o) => (o.recoverMs === null ? [] : [o.recoverMs]))),
  };
}

const ms = (p: { median: number; p99: number } | null) =>
  p === null ? "-" : `${p.median.toFixed(1)} / ${p.p99.toFixed(1)}`;

/** The campaign's table; its last line is `N passed, M failed`. */
export function formatCampaign(r: CampaignReport): string {
  const head = `${"fault kind".padEnd(12)}${"injected".padStart(9)}${"detected".padStart(9)}${"contained".padStart(10)}${"recovered".padStart(10)}${"detect ms med / p99".padStart(22)}${"recover ms med / p99".padStart(23)}`;
  const row = (k: KindRow) =>
    `${k.kind.padEnd(12)}${String(k.injected).padStart(9)}${String(k.detected).padStart(9)}${String(k.contained).padStart(10)}${String(k.recovered).padStart(10)}${ms(k.detectMs).padStart(22)}${ms(k.recoverMs).padStart(23)}`;
  const lines = [
    `moat campaign: ${r.vms} VMs, ${r.faults} faults, seed ${r.seed}, policy ${r.policy}, ${r.rounds} rounds, ${(r.hostMs / 1000).toFixed(1)} s`,
    head,
    ...r.kinds.filter((k) => k.injected > 0).map(row),
    row(r.total),
    `isolation: ${r.bystanders.identical} of ${r.bystanders.runs} runs of VMs not injected byte-identical to the fault-free run; ${r.hypervisorCrashes} hypervisor crashes; ${r.spontaneous} faults nobody injected`,
  ];
  if (r.restart) {
    const pct = r.restart.faults ? ((100 * r.restart.finished) / r.restart.faults).toFixed(1) : "-";
    lines.push(
      `restart: the guest finished its work after ${r.restart.finished} of ${r.restart.faults} faults (${pct}%), after ${r.restart.identical} with output identical to the fault-free run`,
    );
  }
  for (const f of r.checks.failures.slice(0, 20)) lines.push(`FAIL ${f}`);
  lines.push(`${r.checks.passed} passed, ${r.checks.failed} failed`);
  return lines.join("\n");
}
