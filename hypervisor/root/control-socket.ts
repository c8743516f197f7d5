// The control socket of a running moat instance (`moat run --control PATH`):
// a Unix-domain socket that takes one JSON request per line and answers
// each with one JSON line. `moat inject` is its client. Requests come from
// outside the hypervisor, so every malformed one gets an error answer and
// nothing else happens.
//
//   {"op":"status"}                      -> {"ok":true,"vms":[{"name","exits","faults"}]}
//   {"op":"inject","vm":"a","kind":"throw","at":120,"seed":7,"wait":true}
//                                        -> {"ok":true,"at":120[,"fault":FaultRecord]}
//   {"op":"faults"}                      -> {"ok":true,"faults":[FaultRecord...]}
import { existsSync, unlinkSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { FaultKindError, parseFaultKind } from "./fault-plan.js";
import type { FaultRecord, Machine } from "./machine.js";

/** Longest request line; more is refused and the connection closed. */
const MAX_LINE = 64 * 1024;

export type ControlRequest =
  | { op: "status" }
  | { op: "faults" }
  | { op: "inject"; vm: string; kind: string; at?: number; seed?: number; wait?: boolean };

export type ControlResponse = { ok: true; [key: string]: unknown } | { ok: false; error: string };

interface Waiter {
  vm: string;
  seq: number;
  answer: (r: ControlResponse) => void;
}

export class ControlServer {
  private readonly server: Server;
  private readonly waiters: Waiter[] = [];
  private ended = false;

  private constructor(
    private readonly machine: Machine,
    readonly path: string,
  ) {
    this.server = createServer((socket) => this.serve(socket));
  }

  /** Listens on `path` (a stale socket file left by a dead instance is replaced). */
  static async listen(machine: Machine, path: string): Promise<ControlServer> {
    if (existsSync(path)) unlinkSync(path);
    const s = new ControlServer(machine, path);
    await new Promise<void>((resolve, reject) => {
      s.server.once("error", reject);
      s.server.listen(path, () => resolve());
    });
    return s;
  }

  /** To be called with every fault record (MachineIo.fault): answers inject requests that wait for it. */
  faultSeen(record: FaultRecord): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i];
      if (w.vm === record.vm && w.seq === record.seq) {
        this.waiters.splice(i, 1);
        // Recovery ends at the new VMM's first accepted reply: answer once it is known, or soon after.
        const answer = () => w.answer({ ok: true, at: w.seq, fault: record });
        if (record.action === "stop" || record.recoverMs !== null) answer();
        else this.whenRecovered(record, answer);
      }
    }
  }

  private whenRecovered(record: FaultRecord, answer: () => void, tries = 0): void {
    if (record.recoverMs !== null || tries >= 100 || this.ended) answer();
    else setTimeout(() => this.whenRecovered(record, answer, tries + 1), 50);
  }

  /** The machine has stopped: waiting requests are answered, the socket closes. */
  async close(): Promise<void> {
    this.ended = true;
    for (const w of this.waiters.splice(0)) {
      w.answer({ ok: false, error: `vm ${w.vm} ended before exit ${w.seq}; no fault was committed` });
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (existsSync(this.path)) unlinkSync(this.path);
  }

  private serve(socket: Socket): void {
    let buffered = "";
    socket.setEncoding("utf8");
    socket.on("error", () => socket.destroy());
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_LINE && !buffered.includes("\n")) {
        socket.end(`${JSON.stringify({ ok: false, error: `request longer than ${MAX_LINE} bytes` })}\n`);
        return;
      }
      for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        void this.handle(line).then((r) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(r)}\n`);
        });
      }
    });
  }

  private async handle(line: string): Promise<ControlResponse> {
    let req: unknown;
    try {
      req = JSON.parse(line);
    } catch (e) {
      return { ok: false, error: `not JSON: ${(e as Error).message}` };
    }
    try {
      return await this.dispatch(req);
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }

  private dispatch(req: unknown): ControlResponse | Promise<ControlResponse> {
    if (typeof req !== "object" || req === null) return { ok: false, error: "expected a JSON object" };
    const r = req as Record<string, unknown>;
    const m = this.machine;
    switch (r.op) {
      case "status":
        return {
          ok: true,
          vms: m.vmNames.map((name) => ({
            name,
            exits: m.exitsOf(name),
            faults: m.faults.filter((f) => f.vm === name).length,
          })),
        };
      case "faults":
        return { ok: true, faults: m.faults };
      case "inject":
        return this.inject(r);
      default:
        return { ok: false, error: `unknown op ${JSON.stringify(r.op)} (known: status, inject, faults)` };
    }
  }

  private inject(r: Record<string, unknown>): ControlResponse | Promise<ControlResponse> {
    if (this.ended) return { ok: false, error: "the machine has stopped" };
    if (typeof r.vm !== "string") return { ok: false, error: "inject: vm: expected a VM name" };
    if (typeof r.kind !== "string") return { ok: false, error: "inject: kind: expected a fault kind" };
    const int = (k: string) => {
      const v = r[k];
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0)
        throw new Error(`inject: ${k}: expected a non-negative integer`);
      return v;
    };
    let kind: ReturnType<typeof parseFaultKind>;
    try {
      kind = parseFaultKind(r.kind);
    } catch (e) {
      if (e instanceof FaultKindError) return { ok: false, error: `inject: kind: ${e.message}` };
      throw e;
    }
    const vm = r.vm;
    const at = this.machine.inject(vm, kind, { atExit: int("at"), seed: int("seed") });
    if (r.wait !== true) return { ok: true, at };
    return new Promise((answer) => this.waiters.push({ vm, seq: at, answer }));
  }
}

/** Sends one request to the control socket at `path` and resolves with its answer. */
export function controlRequest(path: string, req: ControlRequest, timeoutMs = 120_000): Promise<ControlResponse> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let got = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.setEncoding("utf8");
    socket.on("connect", () => socket.write(`${JSON.stringify(req)}\n`));
    socket.on("data", (chunk: string) => {
      got += chunk;
      const nl = got.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      try {
        resolve(JSON.parse(got.slice(0, nl)) as ControlResponse);
      } catch (e) {
        reject(new Error(`${path}: answer is not JSON: ${(e as Error).message}`));
      }
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`${path}: cannot reach the control socket: ${e.code ?? e.message}`));
    });
  });
}
