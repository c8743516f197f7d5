// The VMM worker's task function (DESIGN.md §1): each VM's VMM runs alone in
// its own piscina worker thread. Its world is `workerData` (the VM's RAM
// object and the image the root task read for it) and the exit messages it
// is sent; each task is one encoded VmExit, answered with an encoded VmReply
// (sealed, checkpointed and fault-hooked by vmm/fault-serve.ts).
import { workerData } from "piscina";
import { type ExitServer, type ServedVmmBoot, serveVmmExits } from "./fault-serve.js";

let serve: ExitServer | null = null;

export default function handleExit(exit: Uint8Array): Uint8Array {
  serve ??= serveVmmExits(workerData as ServedVmmBoot);
  return serve(exit);
}
