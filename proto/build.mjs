// Generates the static protobuf code (proto/generated/moat.js and .d.ts)
// from proto/moat.proto with protobufjs-cli. Run by `npm run setup`.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "generated");
mkdirSync(out, { recursive: true });
const bin = join(here, "..", "node_modules", ".bin");
execFileSync(
  join(bin, "pbjs"),
  [
    "-t",
    "static-module",
    "-w",
    "es6",
    "--force-number",
    "--no-verify",
    "--no-delimited",
    "--no-beautify",
    "-o",
    join(out, "moat.js"),
    join(here, "moat.proto"),
  ],
  { stdio: "inherit" },
);
execFileSync(join(bin, "pbts"), ["-o", join(out, "moat.d.ts"), join(out, "moat.js")], { stdio: "inherit" });

// protobufjs/minimal is CommonJS: under Node's ESM loader only its default
// export is reliable, so import that rather than a namespace.
const js = join(out, "moat.js");
writeFileSync(
  js,
  readFileSync(js, "utf8").replace(
    'import * as $protobuf from "protobufjs/minimal";',
    'import $protobuf from "protobufjs/minimal.js";',
  ),
);
