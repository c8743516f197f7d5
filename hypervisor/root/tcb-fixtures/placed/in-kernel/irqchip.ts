import { picVector } from "../devices/pic.js";
import { pitPeriod } from "../devices/pit.js";

/* PIC and PIT in the hypervisor thread. */
export function irqchip(): number {
  return picVector(0) + pitPeriod();
}
