// TCB accounting behind `moat tcb` (DESIGN.md §1): the trusted computing base
// of a component is the source reachable from its entry points through
// imports, not a folder's size. Lines are code lines: a line counts if a token
// that is not a comment starts, ends or continues on it. Tokens come from the
// TypeScript scanner, with the parser deciding where the token stream leaves a
// `/` ambiguous (division or regexp), so comment markers inside strings,
// templates and regexps are never taken for comments.
//
// Definitions used throughout:
// - reached: every source file in the import closure of every entry point;
// - own(C): the reached files attributed to C (its most specific `owns`
//   pattern, tcb-components.ts), each file in exactly one component;
// - reach(C): the import closure of C's entry points and own files, each file
//   once; it includes files other components own (the root task reaches the
//   kernel), which is what C's correctness depends on;
// - placement code: a component with a `placement` (tcb-components.ts) runs
//   in the hypervisor thread only for VMs of that placement, loaded by
//   import(); every other closure stops at an import() of its files, and the
//   placement's row is the trusted set of every VM plus its closure.
// Followed edges: static import/export-from (type-only too, as C headers
// count in a C kernel's size), import("literal"), require("literal"), and
// import("literal") types. Not followed: `new URL("file", import.meta.url)`,
// which names a file for another thread (the piscina worker) rather than
// loading it here; those are listed as module URLs. Test files never count.

import { type Dirent, readdirSync, readFileSync, statSync } from "node:fs";
import { isBuiltin } from "node:module";
import { posix, resolve } from "node:path";
import ts from "typescript";
import {
  TCB_COMPONENTS,
  TCB_PLACEMENTS,
  type TcbComponentSpec,
  type TcbPlacementSpec,
  type TrustClass,
} from "./tcb-components.js";

export interface TcbFile {
  readonly path: string;
  readonly lines: number;
}

export interface TcbComponent {
  readonly name: string;
  readonly trust: TrustClass;
  readonly description: string;
  /** Entry files found, repository-relative. */
  readonly entry: string[];
  /** Entry patterns that matched no source file (component absent or renamed). */
  readonly missing: string[];
  /** The component's own files with their code lines. */
  readonly files: TcbFile[];
  /** Code lines of `files`. */
  readonly own: number;
  /** Code lines of the import closure, each file once. */
  readonly reach: number;
  readonly reachFiles: string[];
  /** npm packages and node: builtins the closure imports (not counted). */
  readonly external: string[];
  /** Set for placement code: trusted by the VMs of this placement only. */
  readonly placement?: string;
}

/** What a VM of one placement trusts (tcb-components.ts, TCB_PLACEMENTS). */
export interface TcbPlacement {
  readonly placement: string;
  readonly description: string;
  /** False when the placement's code is not in this tree; the figures are then null. */
  readonly present: boolean;
  /** Entry patterns of the placement's components that matched no file. */
  readonly missing: string[];
  /** Code lines and files a VM of this placement trusts: the trusted set of every VM plus `files`. */
  readonly trustedLines: number | null;
  readonly trustedFiles: number | null;
  /** Code lines of `files`. */
  readonly addedLines: number | null;
  /** Files the placement adds to the trusted set (loaded into the hypervisor thread for its VMs). */
  readonly files: string[];
  /** Entry files of the placement that every VM already loads (a static import from the trusted side). */
  readonly loadedByEveryVm: string[];
}

export interface TcbTotal {
  readonly files: number;
  readonly lines: number;
}

export interface TcbSummary {
  /** reach of every trusted component, minus simulated-silicon files. */
  readonly trustedByEveryVm: TcbTotal;
  /** reach of the untrusted and shared components: one VM's VMM side. */
  readonly vmmSide: TcbTotal;
  /** What one VM must trust: the trusted set plus its own VMM side. */
  readonly oneVm: TcbTotal;
  /** Reached files that simulated-hardware components own. */
  readonly simulatedSilicon: TcbTotal;
}

export interface PublishedFigure {
  readonly system: string;
  readonly lines: string;
}

export interface TcbReport {
  readonly components: TcbComponent[];
  /** One row per placement of the device models, base placement first. */
  readonly placements: TcbPlacement[];
  /** Reached files no component owns: counted in every reach that includes them. */
  readonly unattributed: TcbFile[];
  readonly summary: TcbSummary;
  readonly external: string[];
  readonly unresolved: { from: string; specifier: string }[];
  readonly moduleUrls: { from: string; target: string }[];
  /** Reached files that could not be read (counted as 0 lines). */
  readonly unreadable: string[];
  readonly published: PublishedFigure[];
}

/** Comparison figures as the issue states them; approximate, from public descriptions. */
export const PUBLISHED_FIGURES: readonly PublishedFigure[] = [
  { system: "NOVA microhypervisor kernel", lines: "about 9,000 (2009) to 14,000 (2024)" },
  { system: "Bochs VMX emulation", lines: "about 6,400" },
  { system: "Firecracker VMM", lines: "about 73,000" },
];

// ---------------------------------------------------------------------------
// One source file: code lines, import specifiers, module URLs.

export interface SourceFacts {
  readonly lines: number;
  readonly specifiers: string[];
  /** The specifiers (each occurrence) named by `import("...")`: loaded on demand, or a type only. */
  readonly dynamic: string[];
  readonly moduleUrls: string[];
}

const isJsName = (name: string): boolean => /\.[cm]?js$/.test(name);

function isImportMetaUrl(node: ts.Node): boolean {
  return (
    ts.isPropertyAccessExpression(node) &&
    node.name.text === "url" &&
    ts.isMetaProperty(node.expression) &&
    node.expression.keywordToken === ts.SyntaxKind.ImportKeyword
  );
}

/** The string literal a module-loading node names, if any. */
function moduleSpecifierOf(node: ts.Node): string | undefined {
  if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier)
    return ts.isStringLiteral(node.moduleSpecifier) ? node.moduleSpecifier.text : undefined;
  if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
    const e = node.moduleReference.expression;
    return ts.isStringLiteral(e) ? e.text : undefined;
  }
  if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal))
    return node.argument.literal.text;
  if (ts.isCallExpression(node) && node.arguments.length >= 1 && ts.isStringLiteralLike(node.arguments[0])) {
    const callee = node.expression;
    const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
    const isRequire = ts.isIdentifier(callee) && callee.text === "require" && node.arguments.length === 1;
    if (isImport || isRequire) return node.arguments[0].text;
  }
  return undefined;
}

/**
 * The string-literal specifiers and module URLs the syntax tree names, and
 * where its regular expressions start: the exact answer when the token stream
 * alone leaves a `/` ambiguous.
 */
function parseFacts(text: string, fileName: string): SourceFacts & { regexStarts: Set<number> } {
  const kind = isJsName(fileName) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const options = { languageVersion: ts.ScriptTarget.Latest, jsDocParsingMode: ts.JSDocParsingMode.ParseNone };
  const sf = ts.createSourceFile(fileName, text, options, false, kind);
  const regexStarts = new Set<number>();
  const specifiers: string[] = [];
  const dynamic: string[] = [];
  const moduleUrls: string[] = [];
  const visit = (node: ts.Node): void => {
    if (node.kind === K.RegularExpressionLiteral) regexStarts.add(node.getStart(sf));
    const spec = moduleSpecifierOf(node);
    if (spec !== undefined) specifiers.push(spec);
    if (spec !== undefined && (ts.isImportTypeNode(node) || ts.isCallExpression(node))) {
      if (ts.isImportTypeNode(node) || node.expression.kind === ts.SyntaxKind.ImportKeyword) dynamic.push(spec);
    }
    if (
      ts.isNewExpression(node) &&
      ts.isIdentifier(node.expression) &&
      node.expression.text === "URL" &&
      node.arguments?.length === 2 &&
      ts.isStringLiteralLike(node.arguments[0]) &&
      isImportMetaUrl(node.arguments[1])
    )
      moduleUrls.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { lines: 0, specifiers, dynamic, moduleUrls, regexStarts };
}

/**
 * Code lines, imports and module URLs of one file. `auto` reads the token
 * stream alone, and parses only a file where a `/` could be a division or a
 * regular expression (after `)`, `}`, `!`, `++`): about one file in ten.
 * `parse` always parses; both give the same facts (tcb.test.ts checks it).
 */
export function analyseSource(text: string, fileName: string, mode: "auto" | "parse" = "auto"): SourceFacts {
  if (mode === "auto") {
    const fast = scanTokens(text, slashStartsRegex);
    if (fast !== undefined) return fast;
  }
  const ast = parseFacts(text, fileName);
  const scanned = scanTokens(text, (start) => ast.regexStarts.has(start))!;
  return { lines: scanned.lines, specifiers: ast.specifiers, dynamic: ast.dynamic, moduleUrls: ast.moduleUrls };
}

const K = ts.SyntaxKind;
const ENDS_OPERAND = new Set([
  K.Identifier,
  K.PrivateIdentifier,
  K.NumericLiteral,
  K.BigIntLiteral,
  K.StringLiteral,
  K.NoSubstitutionTemplateLiteral,
  K.TemplateTail,
  K.RegularExpressionLiteral,
  K.CloseBracketToken,
]);
/** `)` `}` may end an operand or a statement head; `!` `++` `--` may be prefix or postfix. */
const AMBIGUOUS = new Set([
  K.CloseParenToken,
  K.CloseBraceToken,
  K.ExclamationToken,
  K.PlusPlusToken,
  K.MinusMinusToken,
]);
const VALUE_KEYWORDS = new Set([K.ThisKeyword, K.SuperKeyword, K.NullKeyword, K.TrueKeyword, K.FalseKeyword]);
const OPERATOR_KEYWORDS = new Set([
  K.ReturnKeyword,
  K.TypeOfKeyword,
  K.InstanceOfKeyword,
  K.InKeyword,
  K.NewKeyword,
  K.DeleteKeyword,
  K.VoidKeyword,
  K.ThrowKeyword,
  K.CaseKeyword,
  K.DoKeyword,
  K.ElseKeyword,
]);

type RegexOracle = (
  start: number,
  prev: ts.SyntaxKind | undefined,
  beforePrev: ts.SyntaxKind | undefined,
) => boolean | undefined;

/** ECMAScript's lexical goal: `/` starts a regexp where an operand may begin, is a division after one. */
function slashStartsRegex(_start: number, prev: ts.SyntaxKind | undefined, beforePrev: ts.SyntaxKind | undefined) {
  if (prev === undefined) return true;
  if (ENDS_OPERAND.has(prev)) return false;
  if (AMBIGUOUS.has(prev)) return undefined;
  if (prev >= K.FirstKeyword && prev <= K.LastKeyword) {
    if (beforePrev === K.DotToken || beforePrev === K.QuestionDotToken) return false; // a property name
    if (VALUE_KEYWORDS.has(prev)) return false;
    return OPERATOR_KEYWORDS.has(prev) ? true : undefined;
  }
  return true;
}

type Match = (kind: ts.SyntaxKind, text: string) => boolean;
const is =
  (...kinds: ts.SyntaxKind[]): Match =>
  (k) =>
    kinds.includes(k);
const name =
  (n: string): Match =>
  (_k, t) =>
    t === n;
const AFTER_IMPORT_CALL = [is(K.CloseParenToken, K.CommaToken)];
const AFTER_REQUIRE_CALL = [is(K.CloseParenToken)];
const AFTER_URL_ARG = [
  is(K.CommaToken),
  is(K.ImportKeyword),
  is(K.DotToken),
  name("meta"),
  is(K.DotToken),
  name("url"),
];

/** Offsets where lines start; line terminators as ECMAScript defines them (§12.3). */
function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0d && text.charCodeAt(i + 1) === 0x0a) i++;
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) starts.push(i + 1);
  }
  return starts;
}

/**
 * One pass of the TypeScript scanner. Comments are trivia, never tokens; a
 * `/` is rescanned as a regexp where `isRegex` says so, and a `}` that closes
 * a template substitution is rescanned as the template's continuation.
 * Returns undefined if `isRegex` cannot decide.
 */
function scanTokens(text: string, isRegex: RegexOracle): SourceFacts | undefined {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, false, ts.LanguageVariant.Standard, text);
  const lineStarts = lineStartsOf(text);
  const specifiers: string[] = [];
  const dynamic: string[] = [];
  const moduleUrls: string[] = [];
  const openTemplates: number[] = []; // brace depth inside each open `${`
  let lines = 0;
  let line = 0; // tokens come in order, so the line cursor only moves forward
  let counted = -1; // last line already counted
  let [k1, k2, k3] = [K.Unknown, K.Unknown, K.Unknown]; // the last three tokens, newest first
  let t1 = ""; // text of the last token if an identifier
  let t2 = "";
  let pending: { value: string; into: string[][]; expect: Match[]; step: number } | undefined;
  for (let k = scanner.scan(); k !== K.EndOfFileToken; k = scanner.scan()) {
    if (k >= K.FirstTriviaToken && k <= K.LastTriviaToken) continue;
    const start = scanner.getTokenStart();
    if (k === K.SlashToken || k === K.SlashEqualsToken) {
      const regex = isRegex(start, k1 === K.Unknown ? undefined : k1, k2);
      if (regex === undefined) return undefined;
      if (regex) k = scanner.reScanSlashToken();
    } else if (k === K.TemplateHead) openTemplates.push(0);
    else if (k === K.OpenBraceToken && openTemplates.length > 0) openTemplates[openTemplates.length - 1]++;
    else if (k === K.CloseBraceToken && openTemplates.length > 0) {
      const top = openTemplates.length - 1;
      if (openTemplates[top] > 0) openTemplates[top]--;
      else {
        k = scanner.reScanTemplateToken(false);
        if (k === K.TemplateTail) openTemplates.pop();
      }
    }

    while (line + 1 < lineStarts.length && lineStarts[line + 1] <= start) line++;
    if (line > counted) lines++;
    // A token over several lines (a template, a string continued with "\") makes each of them code.
    const last = scanner.getTokenEnd() - 1;
    while (line + 1 < lineStarts.length && lineStarts[line + 1] <= last) {
      line++;
      lines++;
    }
    counted = line;

    // Contextual keywords (`require`, `from`) come as keyword tokens: compare names by text.
    const ident = k === K.Identifier || (k >= K.FirstKeyword && k <= K.LastKeyword) ? scanner.getTokenValue() : "";
    if (pending !== undefined) {
      if (!pending.expect[pending.step](k, ident)) pending = undefined;
      else if (++pending.step === pending.expect.length) {
        for (const list of pending.into) list.push(pending.value);
        pending = undefined;
      }
    }
    if (k === K.StringLiteral || k === K.NoSubstitutionTemplateLiteral) {
      const value = scanner.getTokenValue();
      const plain = k === K.StringLiteral;
      const notMember = k3 !== K.DotToken && k3 !== K.QuestionDotToken;
      if (plain && (k1 === K.FromKeyword || (k1 === K.ImportKeyword && k2 !== K.DotToken))) specifiers.push(value);
      else if (k1 === K.OpenParenToken && k2 === K.ImportKeyword && notMember)
        pending = { value, into: [specifiers, dynamic], expect: AFTER_IMPORT_CALL, step: 0 };
      else if (k1 === K.OpenParenToken && t2 === "require" && notMember)
        pending = { value, into: [specifiers], expect: AFTER_REQUIRE_CALL, step: 0 };
      else if (k1 === K.OpenParenToken && t2 === "URL" && k3 === K.NewKeyword)
        pending = { value, into: [moduleUrls], expect: AFTER_URL_ARG, step: 0 };
    }
    [k3, k2, k1] = [k2, k1, k];
    [t2, t1] = [t1, ident];
  }
  return { lines, specifiers, dynamic, moduleUrls };
}

// ---------------------------------------------------------------------------
// Files, patterns, module resolution.

const SOURCE_EXT = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** A file that can count: source, not a declaration file, not a test. */
export function isCountable(path: string): boolean {
  return SOURCE_EXT.test(path) && !/\.d\.[cm]?ts$/.test(path) && !/\.test\.[cm]?[jt]s$/.test(path);
}

type Resolved = { file: string } | { external: string } | { unresolved: true } | { skip: true };

class Tree {
  private readonly facts = new Map<string, SourceFacts>();
  private readonly edges = new Map<string, Resolved[]>();
  readonly unreadable = new Set<string>();

  constructor(readonly root: string) {}

  isFile(rel: string): boolean {
    try {
      return statSync(resolve(this.root, rel)).isFile();
    } catch {
      return false;
    }
  }

  private entries(relDir: string): Dirent[] {
    try {
      return readdirSync(resolve(this.root, relDir), { withFileTypes: true });
    } catch {
      return [];
    }
  }

  /** Countable files a pattern names: a file, a folder "x/" (recursively), or a one-segment glob. */
  expand(pattern: string): string[] {
    if (pattern.endsWith("/")) return this.walk(pattern.slice(0, -1)).sort();
    if (!pattern.includes("*")) return this.isFile(pattern) && isCountable(pattern) ? [pattern] : [];
    let dirs = [""];
    const segments = pattern.split("/");
    for (const [i, seg] of segments.entries()) {
      const re = globSegment(seg);
      const last = i === segments.length - 1;
      const next: string[] = [];
      for (const d of dirs)
        for (const e of this.entries(d))
          if (re.test(e.name) && (last ? e.isFile() : e.isDirectory())) next.push(d ? `${d}/${e.name}` : e.name);
      dirs = next;
    }
    return dirs.filter(isCountable).sort();
  }

  private walk(relDir: string): string[] {
    const out: string[] = [];
    for (const e of this.entries(relDir)) {
      const p = `${relDir}/${e.name}`;
      if (e.isDirectory()) out.push(...this.walk(p));
      else if (e.isFile() && isCountable(p)) out.push(p);
    }
    return out;
  }

  /** A file that vanished or cannot be read counts 0 lines and is reported, never thrown. */
  source(rel: string): SourceFacts {
    let f = this.facts.get(rel);
    if (f === undefined) {
      let text = "";
      try {
        text = readFileSync(resolve(this.root, rel), "utf8");
      } catch {
        this.unreadable.add(rel);
      }
      f = analyseSource(text, rel);
      this.facts.set(rel, f);
    }
    return f;
  }

  imports(rel: string): Resolved[] {
    let r = this.edges.get(rel);
    if (r === undefined) {
      r = this.source(rel).specifiers.map((s) => this.resolveSpecifier(rel, s));
      this.edges.set(rel, r);
    }
    return r;
  }

  /** Whether the k-th import of `rel` is loaded on demand only: every import of its specifier is `import()`. */
  dynamicOnly(rel: string, k: number): boolean {
    const f = this.source(rel);
    const spec = f.specifiers[k];
    const count = (list: string[]) => list.reduce((n, s) => n + (s === spec ? 1 : 0), 0);
    return count(f.dynamic) === count(f.specifiers);
  }

  /** NodeNext: "./x.js" names the x.ts beside it; tsx also loads "./x.ts" and extensionless paths. */
  resolveSpecifier(from: string, spec: string): Resolved {
    if (!spec.startsWith("./") && !spec.startsWith("../")) {
      if (isBuiltin(spec)) return { external: spec.startsWith("node:") ? spec : `node:${spec}` };
      if (/^[@a-z0-9]/i.test(spec)) {
        const parts = spec.split("/");
        return { external: spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0] };
      }
      return { unresolved: true };
    }
    const rel = posix.normalize(posix.join(posix.dirname(from), spec));
    if (rel.startsWith("../")) return { unresolved: true };
    for (const c of candidates(rel)) if (this.isFile(c)) return isCountable(c) ? { file: c } : { skip: true };
    return { unresolved: true };
  }
}

function globSegment(seg: string): RegExp {
  const body = seg.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*");
  return new RegExp(`^${body}$`);
}

function candidates(rel: string): string[] {
  const m = /\.([cm]?)js$/.exec(rel);
  // A declaration file alone resolves, but is skipped: declarations are not code.
  if (m) return [`${rel.slice(0, -m[0].length)}.${m[1]}ts`, rel, `${rel.slice(0, -m[0].length)}.d.${m[1]}ts`];
  if (SOURCE_EXT.test(rel)) return [rel];
  return [rel, `${rel}.ts`, `${rel}.js`, `${rel}/index.ts`, `${rel}/index.js`];
}

// ---------------------------------------------------------------------------
// Components and closures.

interface Concrete {
  readonly spec: TcbComponentSpec;
  readonly name: string;
  readonly description: string;
  readonly entry: string[];
  readonly missing: string[];
  readonly owns: readonly string[];
}

function concretise(tree: Tree, table: readonly TcbComponentSpec[]): Concrete[] {
  const out: Concrete[] = [];
  for (const spec of table) {
    if (spec.each !== undefined) {
      for (const file of tree.expand(spec.each)) {
        const stem = posix.basename(file).replace(SOURCE_EXT, "");
        const sub = (s: string) => s.replaceAll("{stem}", stem);
        out.push({
          spec,
          name: sub(spec.name),
          description: sub(spec.description),
          entry: [file],
          missing: [],
          owns: [file],
        });
      }
      continue;
    }
    const entry = new Set<string>();
    const missing: string[] = [];
    for (const p of spec.entry) {
      const files = tree.expand(p);
      if (files.length === 0) missing.push(p);
      for (const f of files) entry.add(f);
    }
    out.push({
      spec,
      name: spec.name,
      description: spec.description,
      entry: [...entry].sort(),
      missing,
      owns: spec.owns,
    });
  }
  return out;
}

/** How specifically `pattern` names `path`: -1 if not at all; a file or glob beats any folder. */
function specificity(pattern: string, path: string): number {
  if (pattern.endsWith("/")) return path.startsWith(pattern) ? pattern.length : -1;
  if (pattern.includes("*")) {
    const segs = pattern.split("/");
    const parts = path.split("/");
    return segs.length === parts.length && segs.every((s, i) => globSegment(s).test(parts[i])) ? 1e6 : -1;
  }
  return pattern === path ? 2e6 : -1;
}

function ownerOf(components: readonly Concrete[], path: string): number {
  let best = -1;
  let bestScore = -1;
  for (const [i, c] of components.entries())
    for (const p of c.owns) {
      const s = specificity(p, path);
      if (s > bestScore) [best, bestScore] = [i, s];
    }
  return best;
}

interface Closure {
  readonly files: Set<string>;
  readonly external: Set<string>;
}

/**
 * The import closure of `starts`. An `import()` of a file in `cut` is not
 * followed: that file is placement code, loaded only for the VMs that ask.
 */
function closure(tree: Tree, starts: Iterable<string>, cut: ReadonlySet<string> = new Set()): Closure {
  const files = new Set<string>();
  const external = new Set<string>();
  const todo = [...starts];
  for (let f = todo.pop(); f !== undefined; f = todo.pop()) {
    if (files.has(f)) continue;
    files.add(f);
    tree.imports(f).forEach((r, k) => {
      if ("file" in r && !files.has(r.file) && !(cut.has(r.file) && tree.dynamicOnly(f, k))) todo.push(r.file);
      else if ("external" in r) external.add(r.external);
    });
  }
  return { files, external };
}

function total(tree: Tree, files: Iterable<string>): TcbTotal {
  let n = 0;
  let lines = 0;
  for (const f of files) {
    n++;
    lines += tree.source(f).lines;
  }
  return { files: n, lines };
}

const sorted = (s: Iterable<string>): string[] => [...s].sort();

/**
 * One placement's row: the trusted set of every VM plus the closure of the
 * code the placement loads into the hypervisor thread, simulated silicon
 * excepted. Absent (null figures) when a component of it was not found, or
 * when a placement other than the base one has no component at all.
 */
function placementRow(
  tree: Tree,
  p: TcbPlacementSpec,
  mine: readonly Concrete[],
  trusted: readonly string[],
  added: ReadonlySet<string>,
  isHardware: (f: string) => boolean,
): TcbPlacement {
  const missing = mine.flatMap((c) => (c.entry.length === 0 ? c.missing : []));
  const present = missing.length === 0 && (p.base === true || mine.length > 0);
  const base = new Set(trusted);
  const files = sorted([...added].filter((f) => !base.has(f) && !isHardware(f)));
  const all = total(tree, [...trusted, ...files]);
  const row = { placement: p.name, description: p.description, present, missing };
  if (!present)
    return { ...row, trustedLines: null, trustedFiles: null, addedLines: null, files: [], loadedByEveryVm: [] };
  return {
    ...row,
    trustedLines: all.lines,
    trustedFiles: all.files,
    addedLines: total(tree, files).lines,
    files,
    // Placement code a static import brings into every VM's trusted set.
    loadedByEveryVm: sorted(mine.flatMap((c) => c.entry).filter((f) => base.has(f))),
  };
}

/** Measures the TCB of every component, and of every placement, of the repository at `rootDir`. */
export function measureTcb(
  rootDir: string,
  table: readonly TcbComponentSpec[] = TCB_COMPONENTS,
  placements: readonly TcbPlacementSpec[] = TCB_PLACEMENTS,
): TcbReport {
  const tree = new Tree(resolve(rootDir));
  const comps = concretise(tree, table);
  const allEntries = comps.flatMap((c) => c.entry);
  const reached = closure(tree, allEntries);
  const owner = new Map<string, number>();
  for (const f of reached.files) owner.set(f, ownerOf(comps, f));
  const ownFiles = comps.map((_, i) => sorted([...reached.files].filter((f) => owner.get(f) === i)));
  // Placement code is reached only through the component of its placement:
  // every other closure stops at an import() of it.
  const placementOf = (f: string): string | undefined => comps[owner.get(f) ?? -1]?.spec.placement;
  const reaches = comps.map((c, i) => {
    const cut = new Set(
      [...reached.files].filter((f) => {
        const p = placementOf(f);
        return p !== undefined && p !== c.spec.placement;
      }),
    );
    return closure(tree, [...c.entry, ...ownFiles[i]], cut);
  });
  const fileRows = (files: string[]): TcbFile[] => files.map((path) => ({ path, lines: tree.source(path).lines }));

  const components: TcbComponent[] = comps.map((c, i) => ({
    name: c.name,
    trust: c.spec.trust,
    description: c.description,
    entry: c.entry,
    missing: c.missing,
    files: fileRows(ownFiles[i]),
    own: total(tree, ownFiles[i]).lines,
    reach: total(tree, reaches[i].files).lines,
    reachFiles: sorted(reaches[i].files),
    external: sorted(reaches[i].external),
    ...(c.spec.placement === undefined ? {} : { placement: c.spec.placement }),
  }));

  const isHardware = (f: string): boolean => {
    const o = owner.get(f) ?? -1;
    return o >= 0 && comps[o].spec.trust === "hardware";
  };
  const unionOf = (pred: (c: Concrete) => boolean): Set<string> =>
    new Set(comps.flatMap((c, i) => (pred(c) ? [...reaches[i].files] : [])));
  const trusted = [...unionOf((c) => c.spec.trust === "trusted" && c.spec.placement === undefined)].filter(
    (f) => !isHardware(f),
  );
  // A VMM that imports a simulated-silicon module (an ISA decoder) runs it as
  // its own software, so the VMM side keeps such files.
  const vmm = unionOf((c) => c.spec.trust === "untrusted" || c.spec.trust === "shared");

  const unresolved: { from: string; specifier: string }[] = [];
  const moduleUrls: { from: string; target: string }[] = [];
  for (const f of sorted(reached.files)) {
    const facts = tree.source(f);
    tree.imports(f).forEach((r, k) => {
      if ("unresolved" in r) unresolved.push({ from: f, specifier: facts.specifiers[k] });
    });
    for (const u of facts.moduleUrls)
      moduleUrls.push({ from: f, target: posix.normalize(posix.join(posix.dirname(f), u)) });
  }

  const placementRows = placements.map((p) => {
    const mine = comps.flatMap((c, i) => (c.spec.placement === p.name ? [i] : []));
    const added = new Set(mine.flatMap((i) => [...reaches[i].files]));
    return placementRow(
      tree,
      p,
      mine.map((i) => comps[i]),
      trusted,
      added,
      isHardware,
    );
  });

  return {
    components,
    placements: placementRows,
    unattributed: fileRows(sorted([...reached.files].filter((f) => owner.get(f) === -1))),
    summary: {
      trustedByEveryVm: total(tree, trusted),
      vmmSide: total(tree, vmm),
      oneVm: total(tree, new Set([...trusted, ...vmm])),
      simulatedSilicon: total(tree, [...reached.files].filter(isHardware)),
    },
    external: sorted(reached.external),
    unresolved,
    moduleUrls,
    unreadable: sorted(tree.unreadable),
    published: [...PUBLISHED_FIGURES],
  };
}

// ---------------------------------------------------------------------------
// The table `moat tcb` prints.

const TRUST_LABEL: Record<TrustClass, string> = {
  trusted: "trusted, every VM",
  hardware: "simulated hardware",
  untrusted: "untrusted, per VM",
  shared: "shared",
};

const num = (n: number): string => n.toLocaleString("en-US");

function row(cells: string[], widths: number[]): string {
  return cells
    .map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
    .join("  ")
    .trimEnd();
}

export function formatTcb(r: TcbReport): string {
  const rows: string[][] = r.components.map((c) => [
    c.missing.length > 0 && c.entry.length === 0 ? `${c.name} (absent)` : c.name,
    c.placement === undefined ? TRUST_LABEL[c.trust] : `trusted, ${c.placement} VMs`,
    num(c.own),
    num(c.reach),
  ]);
  if (r.unattributed.length > 0)
    rows.push(["unattributed (no owner)", "-", num(r.unattributed.reduce((a, f) => a + f.lines, 0)), "-"]);
  const header = ["component", "trust", "own", "reach"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i].length)));
  const s = r.summary;
  const sums: [string, TcbTotal][] = [
    ["trusted by every VM (kernel + root task, software)", s.trustedByEveryVm],
    ["VMM side of one VM (core, emulator, devices, protocol)", s.vmmSide],
    ["TCB of one VM (trusted set + its own VMM)", s.oneVm],
    ["simulated silicon (reported, not software TCB)", s.simulatedSilicon],
  ];
  const sw = Math.max(...sums.map(([l]) => l.length));
  const out = [
    "code lines: no blank lines, no comments, no tests; each file once per component",
    "own = files attributed to the component; reach = its whole import closure",
    "",
    row(header, widths),
    ...rows.map((x) => row(x, widths)),
    "",
    ...sums.map(([l, t]) => `${l.padEnd(sw)}  ${num(t.lines).padStart(7)} lines  ${num(t.files).padStart(4)} files`),
  ];
  out.push("", ...formatPlacements(r.placements));
  const absent = r.components.filter((c) => c.missing.length > 0);
  if (absent.length > 0) {
    out.push("", "entry points not found:");
    for (const c of absent) out.push(`  ${c.name}: ${c.missing.join(", ")}`);
  }
  if (r.unresolved.length > 0) {
    out.push("", "imports not resolved (not counted):");
    for (const u of r.unresolved) out.push(`  ${u.from}: "${u.specifier}"`);
  }
  if (r.unreadable.length > 0) out.push("", `files not readable (counted as 0 lines): ${r.unreadable.join(", ")}`);
  out.push("", `external dependencies (not counted): ${r.external.join(", ") || "none"}`);
  out.push("", "published figures, approximate (for comparison):");
  const pw = Math.max(...r.published.map((p) => p.system.length));
  for (const p of r.published) out.push(`  ${p.system.padEnd(pw)}  ${p.lines} source lines`);
  return out.join("\n");
}

/** The per-placement rows: what one VM trusts, by where its device models run. */
export function formatPlacements(placements: readonly TcbPlacement[]): string[] {
  const out = [
    "trusted side per placement (the trusted set of every VM + what the placement runs in the hypervisor thread)",
  ];
  const w = Math.max(...placements.map((p) => p.placement.length));
  for (const p of placements) {
    const name = p.placement.padEnd(w);
    if (!p.present || p.trustedLines === null || p.trustedFiles === null || p.addedLines === null) {
      const why = p.missing.length > 0 ? `${p.missing.join(", ")} not found` : "no component in the table";
      out.push(`  ${name}  absent: ${why} (not built in this tree)`);
      continue;
    }
    const added = p.addedLines > 0 ? `, +${num(p.addedLines)} lines in ${p.files.length} files` : "";
    out.push(
      `  ${name}  ${num(p.trustedLines).padStart(7)} lines  ${num(p.trustedFiles).padStart(4)} files${added}: ${p.description}`,
    );
    if (p.loadedByEveryVm.length > 0)
      out.push(
        `  ${" ".repeat(w)}  warning: statically imported, so loaded for every VM: ${p.loadedByEveryVm.join(", ")}`,
      );
  }
  return out;
}
