// The Node options a VMM worker thread starts with (piscina passes them to
// new Worker). Workers inherit the parent's by default; two things change.

/**
 * piscina loads a worker's module with require() first and falls back to
 * import(). On Node 20.19+ require() of an ES module is on by default, and a
 * worker terminated while that synchronous load instantiates the module
 * aborts the whole process (Node: "v8::Module::IsGraphAsync must be used on
 * an instantiated module", a FATAL ERROR). Microreboots and VM teardown
 * terminate workers that may still be booting, so VMM workers turn
 * require(esm) off: require() then fails at once and the asynchronous
 * import() path loads the module.
 */
const NO_REQUIRE_ESM = "--no-experimental-require-module";

/** Options for a VMM worker: `base` (default the parent's) with require(esm) off where Node has the switch. */
export function vmmWorkerArgv(base: readonly string[] = process.execArgv): string[] {
  const out = base.filter((a) => a !== "--experimental-require-module");
  if (process.allowedNodeEnvironmentFlags.has("--experimental-require-module")) out.push(NO_REQUIRE_ESM);
  return out;
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
