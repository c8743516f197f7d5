export const uartPort = 0x3f8;
