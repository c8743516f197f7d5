// Fast VMM worker boot for fault campaigns. Every fault costs a fresh VMM
// worker (DESIGN.md §6: a microreboot starts a new thread), and a worker
// that loads the TypeScript VMM through tsx's loader spends most of its
// ~400 ms boot registering that loader. A campaign therefore bundles the
// same VMM sources once into one ES module (esbuild, tsx's own compiler)
// and starts its workers from it: the code that runs is the same, only
// loaded without a transform step. Without esbuild it falls back to the
// default worker entry.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { VmmFactory } from "./vmm-host.js";
import { VmmSabHost } from "./vmm-sab-host.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** A factory of shared-memory VMM hosts whose workers start from a bundle, or null if it cannot be built. */
export async function bundledSabFactory(): Promise<VmmFactory | null> {
  let esbuild: typeof import("esbuild");
  try {
    esbuild = await import("esbuild");
  } catch {
    return null;
  }
  // Inside the repository so that the bundle's one external import, piscina, resolves.
  const dir = `${ROOT}node_modules/.cache/moat`;
  let code: Uint8Array;
  try {
    const out = await esbuild.build({
      entryPoints: [`${ROOT}vmm/sab-serve.ts`],
      bundle: true,
      format: "esm",
      platform: "node",
      target: "node20",
      external: ["piscina"],
      write: false,
      logLevel: "silent",
    });
    code = out.outputFiles[0].contents;
  } catch {
    return null;
  }
  // Named by content: campaigns running at once share a file, and a changed VMM gets a new one.
  const workerFile = `${dir}/vmm-sab-worker-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`;
  if (!existsSync(workerFile)) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${workerFile}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, workerFile);
  }
  const execArgv = withoutTsx(process.execArgv);
  return (boot, opts) => new VmmSabHost(boot, opts, { workerFile, execArgv });
}

/**
 * The parent's Node options without tsx's loader. Workers inherit execArgv,
 * and a bundle needs no TypeScript loader: registering it anyway (tsx starts
 * an esbuild service in every thread) cost each campaign worker about 1 s of
 * CPU, most of a microreboot's cost.
 */
export function withoutTsx(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takesValue = a === "--require" || a === "-r" || a === "--import" || a === "--loader";
    if (takesValue && /tsx/.test(argv[i + 1] ?? "")) i++;
    else if (/^--(require|import|loader)=.*tsx/.test(a)) continue;
    else if (a === "--eval" || a === "-e" || a === "--print" || a === "-p") i++;
    else out.push(a);
  }
  return out;
}
