// Test support: a bzImage-shaped file written field by field at the offsets
// of Documentation/x86/boot.rst ("The Real-Mode Kernel Header"), with a
// recognisable protected-mode payload. Not imported by the VMM itself.

export interface HandBuilt {
  setupSects?: number;
  version?: number;
  payload?: Uint8Array;
  /** syssize in 16-byte paragraphs (default: the payload's size). */
  syssize?: number;
  loadflags?: number;
  relocatable?: boolean;
  kernelAlignment?: number;
  prefAddress?: number;
  initSize?: number;
  initrdAddrMax?: number;
  cmdlineSize?: number;
  magic?: number;
  bootFlag?: number;
  /** Byte at 0x201: the setup header ends at 0x202 + this. */
  jumpOffset?: number;
}

export function handBuiltBzImage(o: HandBuilt = {}): Uint8Array {
  const setupSects = o.setupSects ?? 1;
  const payload = o.payload ?? Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 1) & 0xff);
  const setupBytes = ((setupSects || 4) + 1) * 512;
  const file = new Uint8Array(setupBytes + payload.length);
  const v = new DataView(file.buffer);
  v.setUint8(0x1f1, setupSects);
  v.setUint32(0x1f4, o.syssize ?? Math.ceil(payload.length / 16), true);
  v.setUint16(0x1fe, o.bootFlag ?? 0xaa55, true);
  v.setUint8(0x200, 0xeb); // jmp short
  v.setUint8(0x201, o.jumpOffset ?? 0x6a); // header end 0x26c: through kernel_info_offset (2.15)
  v.setUint32(0x202, o.magic ?? 0x53726448, true); // "HdrS"
  v.setUint16(0x206, o.version ?? 0x020f, true);
  v.setUint8(0x211, o.loadflags ?? 0x01);
  v.setUint32(0x214, 0x100000, true);
  v.setUint32(0x22c, o.initrdAddrMax ?? 0x7fffffff, true);
  v.setUint32(0x230, o.kernelAlignment ?? 0x1000000, true);
  v.setUint8(0x234, o.relocatable ? 1 : 0);
  v.setUint32(0x238, o.cmdlineSize ?? 2047, true);
  v.setUint32(0x258, o.prefAddress ?? 0x1000000, true);
  v.setUint32(0x260, o.initSize ?? 0x200000, true);
  file.set(payload, setupBytes);
  return file;
}
