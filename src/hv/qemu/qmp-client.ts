// QMP, the QEMU Machine Protocol, over the VMM's Unix socket: one JSON object per line, commands matched to
// their replies by id, asynchronous events interleaved with replies. Events are kept in a short buffer so that a
// caller can take a cursor, issue a command and then wait for an event the command caused even if it came first.
// This is the only place QEMU's error replies become HypervisorErrors.
import type { Socket } from "bun";
import { HypervisorError } from "../hypervisor.ts";

/** QEMU sends its greeting at once on accept. */
export const QMP_GREETING_TIMEOUT_MS = 5_000;
/** Default reply timeout; QMP commands we use return quickly (migration completion is an event, not a reply). */
export const QMP_COMMAND_TIMEOUT_MS = 30_000;
/** Events remembered for late waiters; a migration emits fewer than ten. */
export const QMP_EVENT_BUFFER_SIZE = 256;

export interface QmpEvent {
  /** Position in this connection's event stream; compare with eventCursor(). */
  seq: number;
  event: string;
  data: Record<string, unknown>;
}

export interface QmpGreeting {
  version: { qemu: { major: number; minor: number; micro: number }; package?: string };
  capabilities: string[];
}

interface PendingCommand {
  command: string;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

interface EventWaiter {
  name: string;
  predicate(data: Record<string, unknown>): boolean;
  resolve(event: QmpEvent): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class QmpClient {
  private socket?: Socket<undefined>;
  private readonly decoder = new TextDecoder();
  private inbound = "";
  private outbound: Uint8Array = new Uint8Array(0);
  private nextId = 1;
  private readonly pending = new Map<number, PendingCommand>();
  private readonly waiters = new Set<EventWaiter>();
  private readonly events: QmpEvent[] = [];
  private nextSeq = 0;
  private closedBy?: HypervisorError;
  private readonly greeting = Promise.withResolvers<QmpGreeting>();

  private constructor(readonly path: string) {
    // A connection lost before anyone awaits the greeting must not count as an unhandled rejection.
    this.greeting.promise.catch(() => {});
  }

  /**
   * Connects, reads the greeting and leaves negotiation mode (`qmp_capabilities`). A socket that does not exist
   * or refuses is HypervisorError("gone"): the caller decides whether to retry.
   */
  static async connect(path: string, greetingTimeoutMs = QMP_GREETING_TIMEOUT_MS): Promise<{ client: QmpClient; greeting: QmpGreeting }> {
    const client = new QmpClient(path);
    client.socket = await Bun.connect({
      unix: path,
      socket: {
        data: (_socket, chunk) => client.receive(chunk),
        drain: () => client.flush(),
        end: () => client.lost("closed by QEMU"),
        close: (_socket, err) => client.lost(err ? `closed: ${err.message}` : "closed by QEMU"),
        error: (_socket, err) => client.lost(`failed: ${err.message}`),
      },
    }).catch((err: Error) => {
      throw new HypervisorError("gone", `connect to QMP socket ${path}: ${err.message}`, { cause: err });
    });
    try {
      const greeting = await client.awaitGreeting(greetingTimeoutMs);
      await client.execute("qmp_capabilities");
      return { client, greeting };
    } catch (err) {
      client.close();
      throw err;
    }
  }

  private async awaitGreeting(timeoutMs: number): Promise<QmpGreeting> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new HypervisorError("timeout", `QMP ${this.path}: no greeting within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.greeting.promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  /** Runs a command; QEMU's error reply becomes HypervisorError("failed") carrying QEMU's description. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>, timeoutMs = QMP_COMMAND_TIMEOUT_MS): Promise<T> {
    if (this.closedBy) return Promise.reject(this.closedBy);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new HypervisorError("timeout", `QMP ${command}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { command, resolve: resolve as (v: unknown) => void, reject, timer });
      this.send(JSON.stringify(args === undefined ? { execute: command, id } : { execute: command, arguments: args, id }));
    });
  }

  /** Position of the next event; pass it to waitEvent() to also match events that arrive before the wait. */
  eventCursor(): number {
    return this.nextSeq;
  }

  /**
   * Resolves with the first event `name` whose data satisfies `predicate`. With `since` (from eventCursor()),
   * buffered events from that position on count too; without it only events arriving after this call do.
   */
  waitEvent(
    name: string,
    predicate: (data: Record<string, unknown>) => boolean = () => true,
    timeoutMs = QMP_COMMAND_TIMEOUT_MS,
    since?: number,
  ): Promise<QmpEvent> {
    if (since !== undefined) {
      const seen = this.events.find((e) => e.seq >= since && e.event === name && predicate(e.data));
      if (seen) return Promise.resolve(seen);
      const oldest = this.events[0]?.seq ?? this.nextSeq;
      if (since < oldest) {
        return Promise.reject(new HypervisorError("failed", `QMP event ${name}: position ${since} is no longer buffered`));
      }
    }
    if (this.closedBy) return Promise.reject(this.closedBy);
    return new Promise<QmpEvent>((resolve, reject) => {
      const waiter: EventWaiter = {
        name,
        predicate,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(waiter);
          reject(new HypervisorError("timeout", `QMP: no ${name} event within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
    });
  }

  close(): void {
    this.lost("closed by snapvisor");
    this.socket?.end();
  }

  private send(line: string): void {
    const bytes = new TextEncoder().encode(`${line}\n`);
    const joined = new Uint8Array(this.outbound.length + bytes.length);
    joined.set(this.outbound);
    joined.set(bytes, this.outbound.length);
    this.outbound = joined;
    this.flush();
  }

  /** Writes what the socket accepts now; the rest goes on `drain`. */
  private flush(): void {
    if (!this.socket || this.outbound.length === 0) return;
    const written = this.socket.write(this.outbound);
    this.outbound = this.outbound.subarray(Math.max(written, 0));
  }

  private receive(chunk: Uint8Array): void {
    this.inbound += this.decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = this.inbound.indexOf("\n")) >= 0) {
      const line = this.inbound.slice(0, newline).trim();
      this.inbound = this.inbound.slice(newline + 1);
      if (line) this.dispatch(line);
    }
  }

  private dispatch(line: string): void {
    let message: Record<string, any>;
    try {
      message = JSON.parse(line);
    } catch {
      return this.lost(`sent a line that is not JSON: ${line.slice(0, 200)}`);
    }
    if (message.QMP) return this.greeting.resolve(message.QMP as QmpGreeting);
    if (typeof message.event === "string") return this.onEvent(message.event, message.data ?? {});
    const pending = this.pending.get(message.id);
    if (!pending) return; // the reply of a command that already timed out
    this.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.error) {
      const { class: errorClass, desc } = message.error as { class?: string; desc?: string };
      pending.reject(new HypervisorError("failed", `QMP ${pending.command}: ${desc ?? errorClass ?? "error"}`));
    } else {
      pending.resolve(message.return);
    }
  }

  private onEvent(name: string, data: Record<string, unknown>): void {
    const event: QmpEvent = { seq: this.nextSeq++, event: name, data };
    this.events.push(event);
    if (this.events.length > QMP_EVENT_BUFFER_SIZE) this.events.shift();
    for (const waiter of this.waiters) {
      if (waiter.name !== name || !waiter.predicate(data)) continue;
      this.waiters.delete(waiter);
      clearTimeout(waiter.timer);
      waiter.resolve(event);
    }
  }

  /** Connection over: everything still waiting fails with "gone". */
  private lost(why: string): void {
    if (this.closedBy) return;
    this.closedBy = new HypervisorError("gone", `QMP connection ${this.path} ${why}`);
    this.greeting.reject(this.closedBy);
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(this.closedBy);
    }
    this.pending.clear();
    for (const waiter of this.waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(this.closedBy);
    }
    this.waiters.clear();
  }
}
