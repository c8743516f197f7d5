// Imported by the kernel and by the VMM; no component owns it.
export const shared = 0b1010;
