// The large fault campaign (issue "Done when": at least 5,000 faults over at
// least 8 VMs, on demand): the same campaign as `moat campaign`, with the
// issue's sizes as defaults. Prints the table, or the report as JSON.
// Each injected VM takes up to --per-vm faults per round (default 100) so
// that a round's fixed cost (booting every VM's worker, the guests' own
// work) spreads over many faults.
//   npx tsx bench/campaign.ts [--vms 8] [--faults 5000] [--seed 1] [--policy restart] [--per-vm 100] [--json]
import { parseArgs } from "node:util";
import { formatCampaign, runCampaign } from "../hypervisor/root/campaign.js";
import type { Policy } from "../hypervisor/root/config.js";

const { values } = parseArgs({
  options: {
    vms: { type: "string", default: "8" },
    faults: { type: "string", default: "5000" },
    seed: { type: "string", default: "1" },
    policy: { type: "string", default: "restart" },
    deadline: { type: "string", default: "1000" },
    "per-vm": { type: "string", default: "100" },
    json: { type: "boolean" },
  },
});
const t0 = performance.now();
const report = await runCampaign({
  vms: Number(values.vms),
  faults: Number(values.faults),
  seed: Number(values.seed),
  policy: values.policy as Policy,
  exitDeadlineMs: Number(values.deadline),
  faultsPerVm: Number(values["per-vm"]),
  progress: (done, total, round) => {
    const s = ((performance.now() - t0) / 1000).toFixed(0);
    process.stderr.write(`round ${round}: ${done} of ${total} faults, ${s} s\n`);
  },
});
process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatCampaign(report)}\n`);
process.exitCode = report.checks.failed === 0 ? 0 : 1;
