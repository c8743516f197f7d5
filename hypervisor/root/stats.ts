// `moat run --stats`: exits per reason for each VM, as kvm_stat prints them,
// with the instructions retired and the guest MIPS over host time, and where
// the exits were finished (placement, issue 6).
import { exitReasonName } from "../vmx/exit-reason.js";
import type { VmResult } from "./machine.js";

export function formatStats(results: readonly VmResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const total = [...r.exits.values()].reduce((a, b) => a + b, 0);
    const mips = r.hostMs > 0 ? r.instructions / r.hostMs / 1000 : 0;
    lines.push(
      `vm ${r.name}: ${r.instructions} instructions, ${total} exits, ${r.hostMs.toFixed(1)} ms host time, ${mips.toFixed(1)} guest MIPS`,
    );
    lines.push(placementLine(r));
    lines.push(`  ${"exit reason".padEnd(24)}${"count".padStart(10)}${"share".padStart(8)}`);
    const rows = [...r.exits.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const [reason, count] of rows) {
      const share = total ? `${((100 * count) / total).toFixed(1)}%` : "";
      lines.push(
        `  ${`${exitReasonName(reason)} (${reason & 0xffff})`.padEnd(24)}${String(count).padStart(10)}${share.padStart(8)}`,
      );
    }
  }
  return lines.join("\n");
}

/** Where the exits went: to the VMM (and the host time those round trips took) or finished in the hypervisor. */
function placementLine(r: VmResult): string {
  const per = r.exitsForwarded > 0 ? ` (${((1000 * r.forwardedHostMs) / r.exitsForwarded).toFixed(1)} us each)` : "";
  return (
    `  placement ${r.placement}: ${r.exitsForwarded} exits forwarded to the VMM in ${r.forwardedHostMs.toFixed(1)} ms host time${per}, ` +
    `${r.exitsInHypervisor} finished in the hypervisor`
  );
}
