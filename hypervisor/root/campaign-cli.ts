// `moat campaign` and `moat inject` (DESIGN.md §6): the fault campaign and
// the injector's client for a running instance's control socket.
import { parseArgs } from "node:util";
import { formatCampaign, runCampaign } from "./campaign.js";
import { POLICIES, type Policy, TRANSPORTS, type Transport } from "./config.js";
import { controlRequest } from "./control-socket.js";
import { FAULT_INFO, FAULT_KINDS, parseFaultKind } from "./fault-plan.js";
import type { FaultRecord } from "./machine.js";

export const FAULT_USAGE = `       moat campaign --vms N --faults K --seed S [--json] [--policy destroy|reset|restart]
                     [--kinds k1,k2] [--deadline MS] [--transport sab|piscina]
                     inject K faults into the VMMs of N VMs; prove the others unharmed
       moat inject --control SOCKET --vm NAME --kind KIND [--at EXIT] [--seed S] [--wait]
                     order a fault in a running instance (moat run --control SOCKET)
  fault kinds: ${FAULT_KINDS.join(", ")}`;

export class FaultUsageError extends Error {}

function count(name: string, v: string | undefined, min: number, fallback?: number): number {
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new FaultUsageError(`--${name}: required`);
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new FaultUsageError(`--${name}: expected an integer >= ${min}, got "${v}"`);
  return n;
}

export async function campaignCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      vms: { type: "string" },
      faults: { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean" },
      policy: { type: "string" },
      kinds: { type: "string" },
      deadline: { type: "string" },
      transport: { type: "string" },
    },
  });
  const policy = values.policy ?? "restart";
  if (!POLICIES.includes(policy as Policy))
    throw new FaultUsageError(`--policy: expected destroy, reset or restart, got "${policy}"`);
  const transport = values.transport ?? "sab";
  if (!TRANSPORTS.includes(transport as Transport))
    throw new FaultUsageError(`--transport: expected sab or piscina, got "${transport}"`);
  let kinds: ReturnType<typeof parseFaultKind>[] | undefined;
  try {
    kinds = values.kinds?.split(",").map((k) => parseFaultKind(k.trim()));
  } catch (e) {
    throw new FaultUsageError(`--kinds: ${(e as Error).message}`);
  }
  const report = await runCampaign({
    vms: count("vms", values.vms, 2),
    faults: count("faults", values.faults, 1),
    seed: count("seed", values.seed, 0, 1),
    policy: policy as Policy,
    kinds,
    exitDeadlineMs: count("deadline", values.deadline, 10, 1000),
    transport: transport as Transport,
    progress: values.json
      ? undefined
      : (done, total, round) => process.stderr.write(`moat campaign: round ${round}, ${done} of ${total} faults\n`),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCampaign(report)}\n`);
  return report.checks.failed === 0 ? 0 : 1;
}

export async function injectCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      control: { type: "string" },
      vm: { type: "string" },
      kind: { type: "string" },
      at: { type: "string" },
      seed: { type: "string" },
      wait: { type: "boolean" },
    },
  });
  if (values.control === undefined) throw new FaultUsageError("--control: required (the socket of moat run --control)");
  if (values.vm === undefined) throw new FaultUsageError("--vm: required");
  if (values.kind === undefined) throw new FaultUsageError("--kind: required");
  let kind: string;
  try {
    kind = parseFaultKind(values.kind);
  } catch (e) {
    throw new FaultUsageError(`--kind: ${(e as Error).message}`);
  }
  const at = values.at === undefined ? undefined : count("at", values.at, 1);
  const seed = values.seed === undefined ? undefined : count("seed", values.seed, 0);
  let r: Awaited<ReturnType<typeof controlRequest>>;
  try {
    r = await controlRequest(values.control, {
      op: "inject",
      vm: values.vm,
      kind,
      at,
      seed,
      wait: values.wait ?? false,
    });
  } catch (e) {
    process.stderr.write(`moat: inject: ${(e as Error).message}\n`);
    return 1;
  }
  if (!r.ok) {
    process.stderr.write(`moat: inject: ${r.error}\n`);
    return 1;
  }
  const what = FAULT_INFO[kind as keyof typeof FAULT_INFO].what;
  process.stdout.write(`moat: vm ${values.vm}: ${kind} (${what}) ordered at exit ${r.at}\n`);
  if (r.fault) process.stdout.write(`${describeFault(r.fault as FaultRecord)}\n`);
  return 0;
}

/** One line per VMM fault, as `moat run` reports them. */
export function describeFault(f: FaultRecord): string {
  const then = { stop: "VM destroyed", retry: "VMM restarted", reset: "guest reset" }[f.action];
  const rec = f.recoverMs === null ? "" : `, recovered in ${f.recoverMs.toFixed(1)} ms`;
  return `moat: vm ${f.vm}: VMM fault at exit ${f.seq} (${f.detector}) detected in ${f.detectMs.toFixed(1)} ms: ${f.reason}; ${then}${rec}`;
}
