import { Uart } from "../devices/uart.js";
import { encode } from "../proto/index.js";
import { shared } from "../shared/bits.js";

export default function handle(port: number): Uint8Array {
  const uart = new Uart();
  uart.write(port & shared);
  return encode(uart.read());
}
