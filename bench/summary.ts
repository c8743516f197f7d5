// The figures a benchmark hands to the suite's summary table (bench/index.ts).
// Each benchmark runs in its own process; when MOAT_BENCH_SUMMARY names a
// file, report() appends one JSON line per figure to it, so the suite can
// print every figure in one table at the end. Run alone, a benchmark only
// prints its own lines.
import { appendFileSync } from "node:fs";

export interface Figure {
  /** What was measured, e.g. "cpu-bench guest throughput". */
  figure: string;
  value: number;
  unit: string;
  /** The peer measured side by side in the same run, with its figure in the same unit. */
  peer?: string;
  peerValue?: number;
  /** moat / peer, in the direction the unit reads (for times: > 1 means moat is slower). */
  ratio?: number;
  /** Anything the reader must know to read the figure (output differs, peer missing...). */
  note?: string;
}

export const SUMMARY_ENV = "MOAT_BENCH_SUMMARY";

export function report(...figures: Figure[]): void {
  const file = process.env[SUMMARY_ENV];
  if (!file) return;
  for (const f of figures) appendFileSync(file, `${JSON.stringify(f)}\n`);
}

/** A figure with a peer: the ratio is computed here so that every benchmark computes it the same way. */
export function withPeer(f: Figure, peer: string, peerValue: number | null | undefined): Figure {
  if (peerValue === null || peerValue === undefined || !(peerValue > 0)) return f;
  return { ...f, peer, peerValue, ratio: f.value / peerValue };
}
