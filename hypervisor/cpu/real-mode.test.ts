// Real-address mode (CR0.PE = 0 through "unrestricted guest"). Oracle: the
// SDM — Vol. 3A §20.1 (addressing, IVT delivery), Vol. 2 pages of the
// instructions named in each test (operation and "Real-Address Mode
// Exceptions"; the DAA/DAS examples printed on those pages), Vol. 2A LOCK
// and §2.3.11 (15-byte limit). The 80286 suite (conformance/) checks the
// same mechanisms against hardware on 130,000 cases.
import { describe, expect, it } from "vitest";
import { ExitReason } from "../vmx/exit-reason.js";
import type { RealModeState } from "../vmx/flat-state.js";
import { realModeTestMachine } from "../vmx/test-machine.js";
import * as F from "../vmx/vmcs-fields.js";

const CS0 = 0x1000; // code at linear 0x10000
const SS0 = 0x2000; // stack at linear 0x20000
const DS0 = 0x3000; // data at linear 0x30000

function machine(
  code: number[],
  s: Partial<RealModeState> = {},
  setup?: (m: ReturnType<typeof realModeTestMachine>) => void,
) {
  const m = realModeTestMachine({ cs: CS0, ip: 0x100, ss: SS0, sp: 0x1000, ds: DS0, es: DS0, flags: 2, ...s });
  m.load(CS0 * 16 + (s.ip ?? 0x100), code);
  setup?.(m);
  const reason = m.run();
  const st = m.cpu.state;
  const w = (lin: number) => m.ram[lin] | (m.ram[lin + 1] << 8);
  return { m, reason, st, w, ip: m.vmcs.read(F.GUEST_RIP), sp: m.vmcs.read(F.GUEST_RSP) };
}

/** IVT entry `v` -> seg:off. */
function vector(m: ReturnType<typeof realModeTestMachine>, v: number, seg: number, off: number): void {
  m.load(v * 4, [off & 0xff, off >> 8, seg & 0xff, seg >> 8]);
}

/** The vector of the exception the code raises (every exception exits, §25.2). */
function raised(
  code: number[],
  s: Partial<RealModeState> = {},
  setup?: (m: ReturnType<typeof realModeTestMachine>) => void,
) {
  const r = machine(code, s, (m) => {
    m.vmcs.write(F.EXCEPTION_BITMAP, 0xffffffff);
    setup?.(m);
  });
  expect(r.reason).toBe(ExitReason.EXCEPTION_NMI);
  const info = r.m.vmcs.read(F.VM_EXIT_INTR_INFO);
  // §27.2.2: no error code is delivered in real-address mode.
  expect(info & F.INTR_INFO_DELIVER_ERROR).toBe(0);
  return info & 0xff;
}

describe("real-address mode addressing (Vol. 3A §20.1.1)", () => {
  it("MOV DS loads base = selector * 16; [BX+SI+disp] wraps within 64 KiB; BP forms default to SS", () => {
    const { st, reason } = machine(
      // mov ax,0x4000; mov ds,ax; mov bx,0xfff0; mov si,0x20; mov al,[bx+si+1]; mov bp,0x10; mov ah,[bp+2]; hlt
      [
        0xb8, 0x00, 0x40, 0x8e, 0xd8, 0xbb, 0xf0, 0xff, 0xbe, 0x20, 0x00, 0x8a, 0x40, 0x01, 0xbd, 0x10, 0x00, 0x8a,
        0x66, 0x02, 0xf4,
      ],
      {},
      (m) => {
        m.ram[0x40011] = 0x5a; // 0x4000:(0xfff0 + 0x20 + 1) & 0xffff
        m.ram[SS0 * 16 + 0x12] = 0xa5; // SS:BP+2
      },
    );
    expect(reason).toBe(ExitReason.HLT);
    expect([st.segSel[3], st.segBase[3]]).toEqual([0x4000, 0x40000]);
    expect(st.regs[0] & 0xffff).toBe(0xa55a);
  });

  it("a 16-bit stack wraps: PUSH at SP = 0 writes SS:FFFE and keeps ESP's upper half (SS.B = 0)", () => {
    const { st, sp, w, reason } = machine([0x66, 0xbc, 0x00, 0x00, 0x01, 0x00, 0x68, 0x34, 0x12, 0xf4]); // mov esp,0x10000; push 0x1234
    expect(reason).toBe(ExitReason.HLT);
    expect(sp).toBe(0x1fffe);
    expect(st.regs[4]).toBe(0x1fffe);
    expect(w(SS0 * 16 + 0xfffe)).toBe(0x1234);
  });

  it("a word at offset FFFFh is #GP, or #SS when SS-relative (Vol. 2 MOV, Real-Address Mode Exceptions)", () => {
    expect(raised([0xbb, 0xff, 0xff, 0x8b, 0x07, 0xf4])).toBe(13); // mov bx,0xffff; mov ax,[bx]
    expect(raised([0xbd, 0xff, 0xff, 0x8b, 0x46, 0x00, 0xf4])).toBe(12); // mov bp,0xffff; mov ax,[bp+0]
    expect(raised([0xbc, 0xff, 0xff, 0x58, 0xf4])).toBe(12); // mov sp,0xffff; pop ax
    expect(raised([0xbd, 0xff, 0xff, 0xc9, 0xf4])).toBe(13); // LEAVE with BP = FFFFh: #GP (Vol. 2 LEAVE)
    const byte = machine([0xbb, 0xff, 0xff, 0x8a, 0x07, 0xf4]); // a byte there is inside the limit
    expect(byte.reason).toBe(ExitReason.HLT);
  });

  it("MOVSW with SI = FFFFh faults before SI or DI change (§6.5: faults restore the state)", () => {
    const r = machine([0xbe, 0xff, 0xff, 0xbf, 0x00, 0x01, 0xa5, 0xf4], {}, (m) => {
      vector(m, 13, 0x0500, 0x10);
      m.load(0x5010, [0xf4]);
    });
    expect(r.reason).toBe(ExitReason.HLT);
    expect([r.st.regs[6] & 0xffff, r.st.regs[7] & 0xffff]).toEqual([0xffff, 0x100]);
  });
});

describe("real-address mode control transfers (Vol. 2 CALL, RET, INT n, IRET)", () => {
  it("INT n pushes FLAGS, CS, IP, clears IF and TF, and enters the IVT handler; IRET returns", () => {
    const r = machine([0xfb, 0xcd, 0x21, 0xf4], {}, (m) => {
      vector(m, 0x21, 0x0800, 0x0040);
      m.load(0x8040, [0xb0, 0x77, 0xcf]); // mov al,0x77; iret
    });
    expect(r.reason).toBe(ExitReason.HLT);
    expect(r.ip).toBe(0x103);
    expect(r.st.segSel[1]).toBe(CS0);
    expect(r.st.regs[0] & 0xff).toBe(0x77);
    expect(r.sp).toBe(0x1000);
    // The frame below SP: IP after INT, CS, FLAGS with IF set (STI ran first).
    expect([r.w(SS0 * 16 + 0xffa), r.w(SS0 * 16 + 0xffc), r.w(SS0 * 16 + 0xffe) & 0x202]).toEqual([0x103, CS0, 0x202]);
  });

  it("an exception pushes the IP of the faulting instruction (DIV by zero, #DE)", () => {
    const r = machine([0x26, 0xf6, 0xf3, 0xf4], {}, (m) => {
      // es: div bl with BL = 0
      vector(m, 0, 0x0900, 0);
      m.load(0x9000, [0xf4]);
    });
    expect(r.reason).toBe(ExitReason.HLT);
    expect(r.st.segSel[1]).toBe(0x0900);
    expect(r.w(SS0 * 16 + 0xffa)).toBe(0x100);
  });

  it("far CALL and RETF load CS as a paragraph; RETF imm16 releases parameters", () => {
    const r = machine([0x9a, 0x00, 0x00, 0x00, 0x05, 0xf4], {}, (m) => m.load(0x5000, [0xca, 0x04, 0x00]));
    expect(r.reason).toBe(ExitReason.HLT);
    expect([r.st.segSel[1], r.st.segBase[1], r.ip, r.sp]).toEqual([CS0, CS0 * 16, 0x105, 0x1004]);
    expect([r.w(SS0 * 16 + 0xffc), r.w(SS0 * 16 + 0xffe)]).toEqual([0x105, CS0]);
  });
});

describe("8086/80186 instructions in real mode", () => {
  it("DAA and DAS give the results of the SDM's examples", () => {
    // mov al,0x79; mov bl,0x35; add al,bl; daa; hlt -> AL = 14h, CF = AF = 1 (Vol. 2 DAA example)
    const a = machine([0xb0, 0x79, 0xb3, 0x35, 0x00, 0xd8, 0x27, 0xf4]);
    expect(a.st.regs[0] & 0xff).toBe(0x14);
    expect(a.m.vmcs.read(F.GUEST_RFLAGS) & 0x11).toBe(0x11);
    // mov al,0x35; mov bl,0x47; sub al,bl; das -> AL = 88h, CF = AF = SF = 1 (Vol. 2 DAS example)
    const d = machine([0xb0, 0x35, 0xb3, 0x47, 0x28, 0xd8, 0x2f, 0xf4]);
    expect(d.st.regs[0] & 0xff).toBe(0x88);
    expect(d.m.vmcs.read(F.GUEST_RFLAGS) & 0x91).toBe(0x91);
  });

  it("AAA adds 106h to AX after a BCD carry; AAM splits AL by the base; AAD joins AH:AL", () => {
    const a = machine([0xb8, 0x0b, 0x01, 0x37, 0xf4]); // mov ax,0x010b; aaa
    expect(a.st.regs[0] & 0xffff).toBe(0x0201);
    const m = machine([0xb0, 0x4f, 0xd4, 0x0a, 0xf4]); // mov al,79; aam 10
    expect(m.st.regs[0] & 0xffff).toBe(0x0709);
    const d = machine([0xb8, 0x09, 0x07, 0xd5, 0x0a, 0xf4]); // mov ax,0x0709; aad 10
    expect(d.st.regs[0] & 0xffff).toBe(79);
  });

  it("AAM 0 is #DE; BOUND out of range is #BR, a register operand #UD", () => {
    expect(raised([0xd4, 0x00, 0xf4])).toBe(0);
    const bounds = (m: ReturnType<typeof realModeTestMachine>) => m.load(DS0 * 16 + 0x10, [0x10, 0x00, 0x20, 0x00]);
    expect(raised([0xb8, 0x21, 0x00, 0x62, 0x06, 0x10, 0x00, 0xf4], {}, bounds)).toBe(5); // ax = 0x21 > 0x20
    expect(machine([0xb8, 0x20, 0x00, 0x62, 0x06, 0x10, 0x00, 0xf4], {}, bounds).reason).toBe(ExitReason.HLT);
    expect(raised([0x62, 0xc0, 0xf4])).toBe(6);
  });

  it("ENTER 8,2 pushes BP, copies one outer frame pointer, pushes the new frame, allocates (Vol. 2 ENTER)", () => {
    // mov bp,0x0f00; enter 8,2
    const r = machine([0xbd, 0x00, 0x0f, 0xc8, 0x08, 0x00, 0x02, 0xf4], {}, (m) =>
      m.load(SS0 * 16 + 0xefe, [0xcd, 0xab]),
    );
    expect(r.reason).toBe(ExitReason.HLT);
    const s = SS0 * 16;
    expect([r.w(s + 0xffe), r.w(s + 0xffc), r.w(s + 0xffa)]).toEqual([0x0f00, 0xabcd, 0xffe]);
    expect([r.st.regs[5] & 0xffff, r.sp]).toEqual([0xffe, 0xff2]);
  });

  it("LOCK before a non-lockable instruction or a register destination is #UD; before ADD [mem] it is allowed", () => {
    expect(raised([0xf0, 0x8b, 0x07, 0xf4])).toBe(6); // lock mov ax,[bx]
    expect(raised([0xf0, 0x01, 0xc0, 0xf4])).toBe(6); // lock add ax,ax
    expect(machine([0xf0, 0x01, 0x07, 0xf4]).reason).toBe(ExitReason.HLT); // lock add [bx],ax
  });

  it("an instruction longer than 15 bytes is #GP (Vol. 2A §2.3.11)", () => {
    expect(raised([...new Array(14).fill(0x3e), 0x8b, 0x07, 0xf4])).toBe(13); // 16 bytes
    expect(machine([...new Array(13).fill(0x3e), 0x8b, 0x07, 0xf4]).reason).toBe(ExitReason.HLT); // 15 bytes
  });

  it("PUSHA stores AX CX DX BX SP(original) BP SI DI; POPA restores all but SP", () => {
    const r = machine([
      0xb8, 1, 0, 0xb9, 2, 0, 0xba, 3, 0, 0xbb, 4, 0, 0xbd, 6, 0, 0xbe, 7, 0, 0xbf, 8, 0, 0x60, 0x31, 0xc0, 0x61, 0xf4,
    ]);
    expect(r.reason).toBe(ExitReason.HLT);
    const s = SS0 * 16 + 0x1000;
    expect(Array.from({ length: 8 }, (_, n) => r.w(s - 2 * (n + 1)))).toEqual([1, 2, 3, 4, 0x1000, 6, 7, 8]);
    expect([r.st.regs[0] & 0xffff, r.sp]).toEqual([1, 0x1000]);
  });
});
