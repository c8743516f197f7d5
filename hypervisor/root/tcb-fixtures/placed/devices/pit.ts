import { ticks } from "./clock.js";

export const pitPeriod = (): number => ticks(11932);
