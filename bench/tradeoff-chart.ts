// The tradeoff table (bench/tradeoffs.ts) as markdown and as an SVG chart:
// small multiples, one panel per metric, one horizontal bar per placement,
// each bar labelled with its value. Plain text generation, no library: the
// chart is a few dozen elements and must render on GitHub from the README.

export interface Metric {
  /** What is measured, e.g. "timer: forwarded exits per guest second". */
  readonly label: string;
  readonly unit: string;
}

export interface TradeoffRow {
  readonly placement: string;
  /** One value per metric, in the metrics' order; null where there is no figure (placement absent, skipped). */
  readonly values: readonly (number | null)[];
  /** Why a figure is missing, or anything else the reader must know. */
  readonly note?: string;
}

export interface TradeoffTable {
  readonly metrics: readonly Metric[];
  readonly rows: readonly TradeoffRow[];
}

/** The one number format of the table and the chart, so a chart label reads as the table cell. */
export function formatValue(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "n/a";
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)} M`;
  if (a >= 1000) return v.toLocaleString("en-US", { maximumFractionDigits: 0 });
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

const cell = (s: string): string => s.replaceAll("|", "\\|").replaceAll("\n", " ");

/** A GitHub markdown table: a row per placement, a column per metric, numbers right-aligned. */
export function tradeoffMarkdown(t: TradeoffTable): string {
  checkShape(t);
  const head = ["placement", ...t.metrics.map((m) => `${m.label} (${m.unit})`), "note"];
  const align = ["---", ...t.metrics.map(() => "---:"), "---"];
  const rows = t.rows.map((r) => [r.placement, ...r.values.map(formatValue), r.note ?? ""]);
  return [head, align, ...rows].map((c) => `| ${c.map(cell).join(" | ")} |`).join("\n");
}

function checkShape(t: TradeoffTable): void {
  for (const r of t.rows)
    if (r.values.length !== t.metrics.length)
      throw new RangeError(`row ${r.placement}: ${r.values.length} values for ${t.metrics.length} metrics`);
}

const escapeXml = (s: string): string =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

const PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2"];

// Panel geometry, in SVG user units (px).
const PANEL_W = 340;
const LABEL_W = 86; // placement names, left of the bars
const VALUE_W = 78; // room for the value label right of the longest bar
const BAR_H = 18;
const BAR_GAP = 6;
const TITLE_H = 34;
const AXIS_H = 26;
const GAP = 18;

export interface SvgOptions {
  readonly title?: string;
  /** Panels per row. */
  readonly columns?: number;
}

/**
 * Small multiples: one panel per metric, bars from zero (linear scale), the
 * axis labelled 0 and its maximum. A missing value draws no bar, only "n/a".
 */
export function tradeoffSvg(t: TradeoffTable, opts: SvgOptions = {}): string {
  checkShape(t);
  const columns = Math.max(1, Math.min(opts.columns ?? 2, t.metrics.length));
  const panelH = TITLE_H + t.rows.length * (BAR_H + BAR_GAP) + AXIS_H;
  const top = opts.title ? 36 : 8;
  const gridRows = Math.ceil(t.metrics.length / columns);
  const width = columns * PANEL_W + (columns - 1) * GAP + 16;
  const height = top + gridRows * panelH + (gridRows - 1) * GAP + 8;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    // The chart's accessible name (what a screen reader says, and what the SVG linter asks for).
    `<title>${escapeXml(opts.title ?? `moat placements: ${t.metrics.map((m) => m.label).join(", ")}`)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  if (opts.title) out.push(`<text x="8" y="22" font-size="15" font-weight="bold">${escapeXml(opts.title)}</text>`);
  t.metrics.forEach((m, i) => {
    const x = 8 + (i % columns) * (PANEL_W + GAP);
    const y = top + Math.floor(i / columns) * (panelH + GAP);
    out.push(...panel(t, i, m, x, y, panelH));
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function panel(t: TradeoffTable, index: number, m: Metric, x: number, y: number, h: number): string[] {
  const values = t.rows.map((r) => r.values[index]);
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const max = Math.max(0, ...finite);
  const span = PANEL_W - LABEL_W - VALUE_W;
  const scale = max > 0 ? span / max : 0;
  const axisY = TITLE_H + t.rows.length * (BAR_H + BAR_GAP);
  const out = [
    `<g class="panel" transform="translate(${x},${y})">`,
    `<rect width="${PANEL_W}" height="${h}" fill="none" stroke="#dddddd"/>`,
    `<text class="title" x="8" y="20" font-weight="bold">${escapeXml(`${m.label} (${m.unit})`)}</text>`,
  ];
  t.rows.forEach((r, k) => {
    const v = values[k];
    const by = TITLE_H + k * (BAR_H + BAR_GAP);
    const ty = by + BAR_H / 2 + 4;
    out.push(`<text x="${LABEL_W - 6}" y="${ty}" text-anchor="end">${escapeXml(r.placement)}</text>`);
    if (v === null || !Number.isFinite(v)) {
      out.push(`<text class="value" x="${LABEL_W + 4}" y="${ty}" fill="#888888">n/a</text>`);
      return;
    }
    const w = Math.max(v > 0 ? 1 : 0, v * scale);
    const label = formatValue(v);
    out.push(
      `<rect class="bar" x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${PALETTE[k % PALETTE.length]}"><title>${escapeXml(`${r.placement}: ${label} ${m.unit}`)}</title></rect>`,
      `<text class="value" x="${(LABEL_W + w + 4).toFixed(1)}" y="${ty}">${escapeXml(label)}</text>`,
    );
  });
  out.push(
    `<line x1="${LABEL_W}" y1="${TITLE_H - 4}" x2="${LABEL_W}" y2="${axisY}" stroke="#333333"/>`,
    `<line x1="${LABEL_W}" y1="${axisY}" x2="${LABEL_W + span}" y2="${axisY}" stroke="#333333"/>`,
    `<text class="axis" x="${LABEL_W}" y="${axisY + 16}" text-anchor="middle" fill="#555555">0</text>`,
    `<text class="axis" x="${LABEL_W + span}" y="${axisY + 16}" text-anchor="middle" fill="#555555">${escapeXml(formatValue(max))}</text>`,
    "</g>",
  );
  return out;
}
