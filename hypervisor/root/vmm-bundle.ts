// Fast VMM worker boot. A worker that loads the TypeScript VMM through tsx's
// loader spends most of its boot (~400 ms quiet, seconds on a loaded host)
// registering that loader and transforming files, and every VM start and
// every microreboot (DESIGN.md §6: a fresh thread) pays it. So the root task
// bundles the same VMM sources once per process into one ES module (esbuild,
// tsx's own compiler) and starts workers from it: the code that runs is the
// same, only loaded without a transform step. Without esbuild, or with
// MOAT_VMM_BUNDLE=0, workers load the sources through tsx as before.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { withoutTsx } from "./worker-argv.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Where a worker starts from, and the Node options it gets. */
export interface VmmBundle {
  workerFile: string;
  execArgv: string[];
}

let cached: VmmBundle | null | undefined;

/** The shared-memory VMM worker bundle (built on first use, once per process), or null if it cannot be built. */
export function vmmBundle(): VmmBundle | null {
  if (cached !== undefined) return cached;
  cached = process.env.MOAT_VMM_BUNDLE === "0" ? null : build();
  return cached;
}

function build(): VmmBundle | null {
  let code: Uint8Array;
  try {
    const out = buildSync({
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
  // Inside the repository so that the bundle's one external import, piscina, resolves.
  // Named by content: processes running at once share a file, and a changed VMM gets a new one.
  const dir = `${ROOT}node_modules/.cache/moat`;
  const workerFile = `${dir}/vmm-sab-worker-${createHash("sha256").update(code).digest("hex").slice(0, 16)}.mjs`;
  try {
    if (!existsSync(workerFile)) {
      mkdirSync(dir, { recursive: true });
      const tmp = `${workerFile}.${process.pid}.tmp`;
      writeFileSync(tmp, code);
      renameSync(tmp, workerFile);
    }
  } catch {
    return null;
  }
  return { workerFile, execArgv: withoutTsx(process.execArgv) };
}
