import { picVector } from "../devices/pic.js";
import { pitPeriod } from "../devices/pit.js";
import { uartPort } from "../devices/uart.js";

export function handle(): number {
  return picVector(4) + pitPeriod() + uartPort;
}
