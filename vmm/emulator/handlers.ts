// Exit handlers that use the instruction emulator, with the signature of
// vmm/handlers/*: an EPT violation on a guest-physical address that is not
// RAM (exit 48, MMIO), and string I/O (exit 30 with INS/OUTS). They load the
// registers from the exit, emulate, and write back only the MTD groups that
// changed; a fault is injected with EIP left on the instruction (and CR2
// for #PF), an instruction the VMM cannot carry out stops the VM.

import type { IVmExit } from "../../proto/index.js";
import { Mtd } from "../../proto/mtd.js";
import { EMULATOR_GROUPS } from "../../proto/portal-mtd.js";
import { handleIoInstruction } from "../handlers/io-instruction.js";
import { hex } from "../hex.js";
import type { ReplyBuilder } from "../reply.js";
import type { VmmContext } from "../vmm-context.js";
import { InstructionEmulator } from "./emulator.js";
import { Vector } from "./fault.js";
import type { MmioBus } from "./mmio-bus.js";
import { EMU_DONE, EMU_FAULT, EMU_STOP } from "./outcome.js";
import { EAX, EBP, EBX, ECX, EDI, EDX, ESI, ESP, type RegisterFile } from "./register-file.js";

/** What the handlers need beyond today's VmmContext: the VM's MMIO devices. */
export type EmulatorContext = VmmContext & { readonly mmio: MmioBus };

/** Groups both handlers read: the portal MTD of their exits (proto/portal-mtd.ts). */
export const EMULATOR_MTD = EMULATOR_GROUPS;

/** EPT-violation qualification bits (SDM Vol. 3C Table 27-7). */
const EPT_FETCH = 0x4;
const EPT_LINEAR_VALID = 0x80;
const EPT_TRANSLATED = 0x100;
/** I/O qualification bit 4: INS/OUTS (Table 27-5). */
const IO_STRING = 0x10;
/** IDT-vectoring information bit 31: the exit interrupted event delivery (§27.2.4). */
const VECTORING_VALID = 0x8000_0000;
/** Interruptibility bits 1:0, blocking by STI and by MOV SS (§24.4.2). */
const BLOCKING_STI_MOV_SS = 0x3;

const emulators = new WeakMap<EmulatorContext, InstructionEmulator>();

/** The VM's emulator, made on first use. */
export function emulatorFor(vmm: EmulatorContext): InstructionEmulator {
  let e = emulators.get(vmm);
  if (e === undefined) {
    e = new InstructionEmulator(vmm.ram, vmm.mmio, vmm.bus);
    emulators.set(vmm, e);
  }
  return e;
}

/** Exit 48. The EPT maps all of RAM, so the access went to a device or to nothing. */
export function handleMmioEptViolation(exit: IVmExit, reply: ReplyBuilder, vmm: EmulatorContext): void {
  const qual = exit.qual ?? 0;
  const gpa = Number(exit.guestPhysical ?? 0);
  const why = refuseEpt(qual, gpa, reply, vmm);
  if (why !== null) {
    reply.stop(why, 1);
    return;
  }
  const emu = emulatorFor(vmm);
  emu.regs.load(reply.in);
  const status = emu.step();
  writeBack(reply, emu, status, emu.insn.len);
}

/** Exit 30: INS/OUTS go to the emulator, IN/OUT to the existing handler. */
export function handleIoInstructionWithStrings(exit: IVmExit, reply: ReplyBuilder, vmm: EmulatorContext): void {
  if (((exit.qual ?? 0) & IO_STRING) === 0) handleIoInstruction(exit, reply, vmm);
  else handleStringIo(exit, reply, vmm);
}

export function handleStringIo(exit: IVmExit, reply: ReplyBuilder, vmm: EmulatorContext): void {
  const len = exit.instLen ?? 0;
  if (len < 1 || len > 15) {
    reply.stop(`string I/O exit with instruction length ${len}`, 1);
    return;
  }
  const emu = emulatorFor(vmm);
  emu.regs.load(reply.in);
  const status = emu.stringIo(exit.qual ?? 0, exit.instInfo ?? 0, len);
  writeBack(reply, emu, status, len);
}

/** Exits the emulator must not take on: fetches, page walks through non-RAM, RAM itself, interrupted event delivery. */
function refuseEpt(qual: number, gpa: number, reply: ReplyBuilder, vmm: EmulatorContext): string | null {
  if (qual & EPT_FETCH) return `guest executes at guest-physical ${hex(gpa)}, which is not RAM`;
  if (qual & EPT_LINEAR_VALID && !(qual & EPT_TRANSLATED)) {
    return `guest page tables reach guest-physical ${hex(gpa)}, which is not RAM`;
  }
  // RAM under the PAM window (vmm/boot/firmware.ts) is the window's to decode: a write to read-only shadow RAM, say.
  if (emulatorFor(vmm).phys.isRam(gpa, 1)) return `EPT violation on RAM at ${hex(gpa)} (qualification ${hex(qual)})`;
  const vect = reply.in.idtVectInfo ?? 0;
  if (reply.exitHas(Mtd.INJ) && vect & VECTORING_VALID) {
    return `EPT violation at ${hex(gpa)} while delivering vector ${vect & 0xff}`;
  }
  return null;
}

function writeBack(reply: ReplyBuilder, emu: InstructionEmulator, status: number, len: number): void {
  if (status === EMU_STOP) {
    reply.stop(emu.abort.reason, 1);
    return;
  }
  writeRegisters(reply, emu.regs);
  if (status === EMU_DONE) completeInstruction(reply, emu.regs.eip, len);
  if (status === EMU_FAULT) inject(reply, emu);
}

/** Names in the reply only the groups whose values the instruction changed (vmm/reply.ts: groups are written whole). */
function writeRegisters(reply: ReplyBuilder, r: RegisterFile): void {
  const s = reply.in;
  const g = r.gpr;
  if (g[EAX] !== (s.eax ?? 0)) reply.setGpr("eax", g[EAX]);
  if (g[ECX] !== (s.ecx ?? 0)) reply.setGpr("ecx", g[ECX]);
  if (g[EDX] !== (s.edx ?? 0)) reply.setGpr("edx", g[EDX]);
  if (g[EBX] !== (s.ebx ?? 0)) reply.setGpr("ebx", g[EBX]);
  if (g[EBP] !== (s.ebp ?? 0) || g[ESI] !== (s.esi ?? 0) || g[EDI] !== (s.edi ?? 0)) {
    reply.setState(Mtd.GPR_BSD, { ebp: g[EBP], esi: g[ESI], edi: g[EDI] });
  }
  if (g[ESP] !== (s.esp ?? 0)) reply.setState(Mtd.RSP, { esp: g[ESP] });
  if (r.eflags !== (s.eflags ?? 0) >>> 0) reply.setState(Mtd.RFLAGS, { eflags: r.eflags });
}

/** As ReplyBuilder.advanceEip with the emulator's own length: EIP moves on and STI/MOV SS blocking ends (§24.4.2). */
function completeInstruction(reply: ReplyBuilder, eip: number, len: number): void {
  reply.setState(Mtd.RIP_LEN, { eip, instLen: len });
  const intr = reply.in.intrState ?? 0;
  if (reply.exitHas(Mtd.STA) && intr & BLOCKING_STI_MOV_SS) {
    reply.setState(Mtd.STA, { intrState: intr & ~BLOCKING_STI_MOV_SS, actvState: reply.in.actvState ?? 0 });
  }
}

/** A hardware exception (§24.8.3); #PF also loads CR2 (§4.7), which travels in group CR. */
function inject(reply: ReplyBuilder, emu: InstructionEmulator): void {
  const a = emu.abort;
  reply.injectException(a.vector, a.hasError ? a.error : undefined);
  if (a.vector === Vector.PF) {
    const s = reply.in;
    reply.setState(Mtd.CR, { cr0: s.cr0 ?? 0, cr2: a.cr2 >>> 0, cr3: s.cr3 ?? 0, cr4: s.cr4 ?? 0 });
  }
}
