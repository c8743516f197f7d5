// The VMM worker's task function (DESIGN.md §1): each VM's VMM runs alone in
// its own piscina worker thread. Its world is `workerData` (the VM's RAM
// object and the image the root task read for it) and the exit messages it
// is sent; each task is one encoded VmExit, answered with an encoded VmReply.
import { workerData } from "piscina";
import { Vmm, type VmmBoot } from "./vmm.js";

let vmm: Vmm | null = null;

export default function handleExit(exit: Uint8Array): Uint8Array {
  vmm ??= new Vmm(workerData as VmmBoot);
  return vmm.handle(exit);
}
