// Oracles: Python's XML parser (xml.etree.ElementTree, expat) reads the SVG,
// so well-formedness, escaping and the element counts are judged by a parser
// that is not ours; the expected labels are the input values written by hand
// in the format tradeoff-chart.ts documents (thousands separators, "M" for
// millions, two decimals below 10); GitHub's table syntax for the markdown.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { formatValue, type TradeoffTable, tradeoffMarkdown, tradeoffSvg } from "./tradeoff-chart.js";

const TABLE: TradeoffTable = {
  metrics: [
    { label: "trusted side", unit: "lines" },
    { label: "timer: forwarded exits per guest second", unit: "1/s" },
    { label: "timer: exit round trip", unit: "us" },
  ],
  rows: [
    { placement: "split", values: [7432, 12_081_000, 3.5] },
    { placement: "irqchip", values: [9000, null, 2], note: "round trip not reported" },
    { placement: "monolithic", values: [null, 0, 1234.5], note: "a | b" },
  ],
};

const hasPython = spawnSync("python3", ["-c", "import xml.etree.ElementTree"]).status === 0;

/** What Python's parser finds in the SVG: bars (width, fill), value labels, panel titles. */
function parseWithPython(svg: string): {
  bars: { width: number; panel: number }[];
  values: string[];
  titles: string[];
} {
  const script = `
import json, sys, xml.etree.ElementTree as E
ns = {"s": "http://www.w3.org/2000/svg"}
root = E.fromstring(sys.stdin.read())
out = {"bars": [], "values": [], "titles": []}
for i, g in enumerate(root.findall("s:g", ns)):
    out["titles"] += [t.text for t in g.findall("s:text", ns) if t.get("class") == "title"]
    out["bars"] += [{"width": float(r.get("width")), "panel": i} for r in g.findall("s:rect", ns) if r.get("class") == "bar"]
    out["values"] += [t.text for t in g.findall("s:text", ns) if t.get("class") == "value"]
print(json.dumps(out))
`;
  const r = spawnSync("python3", ["-c", script], { input: svg, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python3 could not parse the SVG: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe("formatValue", () => {
  it("writes millions with M, thousands with separators, tens with one decimal, the rest with two", () => {
    expect([12_081_000, 7432, 1234.5, 56.78, 3.5, 0, null, Number.NaN].map(formatValue)).toEqual([
      "12.08 M",
      "7,432",
      "1,235",
      "56.8",
      "3.50",
      "0.00",
      "n/a",
      "n/a",
    ]);
  });
});

describe("tradeoffMarkdown", () => {
  it("has a header, an alignment row and one row per placement, with n/a for a missing figure", () => {
    const lines = tradeoffMarkdown(TABLE).split("\n");
    expect(lines).toEqual([
      "| placement | trusted side (lines) | timer: forwarded exits per guest second (1/s) | timer: exit round trip (us) | note |",
      "| --- | ---: | ---: | ---: | --- |",
      "| split | 7,432 | 12.08 M | 3.50 |  |",
      "| irqchip | 9,000 | n/a | 2.00 | round trip not reported |",
      "| monolithic | n/a | 0.00 | 1,235 | a \\| b |",
    ]);
  });

  it("refuses a row whose values do not match the metrics", () => {
    const bad = { metrics: TABLE.metrics, rows: [{ placement: "split", values: [1, 2] }] };
    expect(() => tradeoffMarkdown(bad)).toThrow(RangeError);
    expect(() => tradeoffSvg(bad)).toThrow("row split: 2 values for 3 metrics");
  });
});

describe.skipIf(!hasPython)("tradeoffSvg, read by Python's XML parser", () => {
  it("draws one panel per metric and one bar per figure, each labelled with its value", () => {
    const p = parseWithPython(tradeoffSvg(TABLE, { title: "moat: where the devices run" }));
    expect(p.titles).toEqual([
      "trusted side (lines)",
      "timer: forwarded exits per guest second (1/s)",
      "timer: exit round trip (us)",
    ]);
    expect(p.bars.length).toBe(7); // 9 cells, 2 of them null
    expect(p.values).toEqual(["7,432", "9,000", "n/a", "12.08 M", "n/a", "0.00", "3.50", "2.00", "1,235"]);
  });

  it("scales bars linearly from zero within each panel", () => {
    const p = parseWithPython(tradeoffSvg(TABLE));
    const panel = (i: number) => p.bars.filter((b) => b.panel === i).map((b) => b.width);
    const [split, irqchip] = panel(0);
    expect(split / irqchip).toBeCloseTo(7432 / 9000, 2);
    const [a, , c] = panel(2);
    expect(a / c).toBeCloseTo(3.5 / 1234.5, 2);
    expect(c).toBeGreaterThan(a);
    expect(panel(1)).toEqual([expect.any(Number), 0]); // a zero draws a zero-width bar
  });

  it("escapes markup in names so the document still parses", () => {
    const t: TradeoffTable = { metrics: [{ label: "a<b", unit: "&" }], rows: [{ placement: 'x"<y>', values: [1] }] };
    const p = parseWithPython(tradeoffSvg(t));
    expect(p.titles).toEqual(["a<b (&)"]);
    expect(p.bars.length).toBe(1);
  });
});
