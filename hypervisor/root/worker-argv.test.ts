// Oracle: Node's documented CLI (`node --help`: --require/-r, --import and
// --loader take the next argument; --eval/-e and --print/-p take the script)
// and tsx's own launch line (`tsx -e 'console.log(process.execArgv)'` prints
// --require .../tsx/dist/preflight.cjs --import file:///.../tsx/dist/loader.mjs).
import { describe, expect, it } from "vitest";
import { vmmWorkerArgv, withoutTsx } from "./worker-argv.js";

describe("bundle-started VMM workers do not inherit tsx's loader", () => {
  it("drops tsx's --require and --import pairs as tsx launches node", () => {
    const argv = [
      "--require",
      "/r/node_modules/tsx/dist/preflight.cjs",
      "--import",
      "file:///r/node_modules/tsx/dist/loader.mjs",
    ];
    expect(withoutTsx(argv)).toEqual([]);
  });

  it("drops --import=tsx written as one argument and the parent's --eval script", () => {
    expect(withoutTsx(["--import=tsx", "--eval", "console.log(1)"])).toEqual([]);
  });

  it("keeps every other option, including loaders that are not tsx", () => {
    const argv = ["--max-old-space-size=512", "--import", "./trace.mjs", "--cpu-prof", "--require", "tsx"];
    expect(withoutTsx(argv)).toEqual(["--max-old-space-size=512", "--import", "./trace.mjs", "--cpu-prof"]);
  });

  it("turns require(esm) off for VMM workers where Node has the switch (a worker killed mid-require aborts Node 20)", () => {
    const argv = vmmWorkerArgv(["--max-old-space-size=512", "--experimental-require-module"]);
    expect(argv[0]).toBe("--max-old-space-size=512");
    expect(argv).not.toContain("--experimental-require-module");
    if (process.allowedNodeEnvironmentFlags.has("--experimental-require-module")) {
      expect(argv.at(-1)).toBe("--no-experimental-require-module");
    }
  });
});
