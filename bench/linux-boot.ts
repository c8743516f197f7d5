// Boot time of our Linux guest (guests/linux: Linux 6.1 i386 and an
// initramfs whose /init is our own program) to its init's banner, on moat and
// on QEMU TCG with the same bzImage, initramfs and command line, run side by
// side in one run; prints both times and the ratio. Builds the guest first
// (cached, see guests/linux/README.md). Part of `npm run bench`.
//   npm run bench:linux
import { execFileSync, spawn } from "node:child_process";
import { parseConfig } from "../hypervisor/root/config.js";
import { Machine } from "../hypervisor/root/machine.js";
import { report, withPeer } from "./summary.js";

const BANNER = "moat-init: hello from PID 1";
const DONE = "moat-init: done";
const APPEND = "console=ttyS0";

const [kernel, initrd] = execFileSync("bash", [new URL("../guests/linux/build.sh", import.meta.url).pathname], {
  encoding: "utf8",
  stdio: ["ignore", "pipe", "inherit"],
})
  .trim()
  .split("\n")
  .slice(-2);

async function moat(): Promise<{ banner: number; done: number; instructions: number; output: string }> {
  let out = "";
  let banner = 0;
  const t0 = performance.now();
  const spec = parseConfig(
    JSON.stringify({ vms: [{ name: "linux", kernel, initrd, cmdline: APPEND, memory: "64M" }] }),
    "bench",
  );
  const machine = new Machine(spec, {
    console: (_vm, text) => {
      out += text;
      if (!banner && out.includes(BANNER)) banner = performance.now() - t0;
    },
  });
  const [r] = await machine.run();
  if (!r.output.includes(DONE)) throw new Error(`moat: Linux did not reach ${DONE}: ${r.reason}`);
  return { banner, done: performance.now() - t0, instructions: r.instructions, output: r.output };
}

function qemu(): Promise<{ banner: number; done: number } | null> {
  return new Promise((resolve) => {
    const args = [
      "-cpu",
      "pentium2",
      "-m",
      "64",
      "-display",
      "none",
      "-serial",
      "stdio",
      "-monitor",
      "none",
      "-no-reboot",
    ];
    args.push("-kernel", kernel, "-initrd", initrd, "-append", APPEND);
    const t0 = performance.now();
    let out = "";
    let banner = 0;
    const q = spawn("qemu-system-i386", args, { stdio: ["ignore", "pipe", "ignore"] });
    q.on("error", () => resolve(null));
    const timer = setTimeout(() => q.kill(), 300_000);
    q.stdout.on("data", (d: Buffer) => {
      out += d.toString("latin1");
      if (!banner && out.includes(BANNER)) banner = performance.now() - t0;
      if (out.includes(DONE)) {
        const done = performance.now() - t0;
        clearTimeout(timer);
        q.kill();
        resolve({ banner, done });
      }
    });
    q.on("exit", () => resolve(null));
  });
}

const m = await moat();
const q = await qemu();
report(
  withPeer(
    { figure: "Linux 6.1 boot to our init's banner", value: m.banner / 1000, unit: "s" },
    "QEMU TCG",
    q ? q.banner / 1000 : null,
  ),
);
console.log(`Linux 6.1 i386 boot to "${BANNER}" (${APPEND}, 64 MiB)`);
console.log(
  `  moat:     banner after ${(m.banner / 1000).toFixed(2)} s, init done after ${(m.done / 1000).toFixed(2)} s, ${m.instructions} guest instructions`,
);
if (q) {
  console.log(
    `  QEMU TCG: banner after ${(q.banner / 1000).toFixed(2)} s, init done after ${(q.done / 1000).toFixed(2)} s (qemu-system-i386 -cpu pentium2)`,
  );
  console.log(`  ratio moat/QEMU to the banner: ${(m.banner / q.banner).toFixed(1)}x`);
} else console.log("  QEMU not available (apt-get install qemu-system-x86): no side-by-side figure");
