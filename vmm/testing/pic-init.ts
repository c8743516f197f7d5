// Test support: the initialization words that program the PC's 8259A pair
// as a BIOS or Linux does (datasheet: ICW1 0x11 = edge, cascade, ICW4 needed;
// ICW2 = vector base; ICW3 = master has a slave on IR2 / slave identity 2;
// ICW4 0x01 = 8086 mode), master at vectors 0x20, slave at 0x28, all IRQs
// unmasked (OCW1 0 after initialization). [port, value] pairs, in order.
export const PIC_INIT_20_28: readonly (readonly [number, number])[] = [
  [0x20, 0x11],
  [0x21, 0x20],
  [0x21, 0x04],
  [0x21, 0x01],
  [0xa0, 0x11],
  [0xa1, 0x28],
  [0xa1, 0x02],
  [0xa1, 0x01],
];
