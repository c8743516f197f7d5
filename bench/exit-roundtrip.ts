// Exit round trip: a guest executes OUT to port 0x80 (no device behind it,
// so the VMM's handler does nothing) in a loop; every OUT is a VM exit that
// goes kernel -> protobuf -> VMM -> protobuf -> kernel. Prints exits per
// second and microseconds per exit for each transport, measured side by side
// in one run, and the ratio to the in-thread baseline (no isolation at all).
//   npm run bench:exits [-- --loops N]
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { DEFAULTS } from "../hypervisor/root/config.js";
import { Machine } from "../hypervisor/root/machine.js";
import { type VmmFactory, VmmHost } from "../hypervisor/root/vmm-host.js";
import { Vmm } from "../vmm/vmm.js";

const { values } = parseArgs({ options: { loops: { type: "string", default: "50000" } } });
const loops = Number(values.loops);

function buildGuest(): string {
  const dir = mkdtempSync(join(tmpdir(), "moat-bench-"));
  const src = new URL("./guests/out-loop.S", import.meta.url).pathname;
  execFileSync("as", ["--32", "--defsym", `LOOPS=${loops}`, "-o", join(dir, "g.o"), src]);
  execFileSync("ld", [
    "-m",
    "elf_i386",
    "-Ttext",
    "0x100000",
    "-e",
    "_start",
    "-o",
    join(dir, "g.elf"),
    join(dir, "g.o"),
  ]);
  return join(dir, "g.elf");
}

const inThread: VmmFactory = (boot) => {
  const vmm = new Vmm(boot);
  return {
    transport: "in-thread function call (no isolation, baseline)",
    onDeath: () => {},
    call: async (m) => vmm.handle(m),
    kill: async () => {},
    close: async () => {},
  };
};
const piscina: VmmFactory = (boot, opts) => new VmmHost(boot, opts);

async function measure(image: string, factory: VmmFactory) {
  let transport = "";
  const machine = new Machine(
    {
      exitDeadlineMs: DEFAULTS.exitDeadlineMs,
      vms: [
        {
          name: "bench",
          image,
          memoryBytes: 16 << 20,
          priority: 1,
          quantum: DEFAULTS.quantum,
          policy: "destroy",
          cmdline: "",
        },
      ],
    },
    {
      console: () => {},
      vmmFactory: (b, o) => {
        const port = factory(b, o);
        transport = port.transport;
        return port;
      },
    },
  );
  const t0 = performance.now();
  const [r] = await machine.run();
  const ms = performance.now() - t0;
  if (r.fault) throw new Error(`bench VM failed: ${r.reason}`);
  const exits = [...r.exits.values()].reduce((a, b) => a + b, 0);
  return { transport, exits, ms, perSec: (exits / ms) * 1000, usPerExit: (ms * 1000) / exits };
}

const image = buildGuest();
await measure(image, inThread); // warm up the JIT of both sides
const rows = [await measure(image, inThread), await measure(image, piscina)];
const base = rows[0].usPerExit;
console.log(`exit round trip: OUT to port 0x80 x ${loops}`);
for (const r of rows) {
  console.log(
    `${r.transport.padEnd(58)} ${r.exits} exits in ${r.ms.toFixed(0)} ms: ${Math.round(r.perSec)} exits/s, ${r.usPerExit.toFixed(2)} us/exit, ${(r.usPerExit / base).toFixed(1)}x baseline`,
  );
}
