import { EventEmitter } from "node:events";
import pg from "pg";

/** One channel: "there is new work" (invocations queued) and "schedules changed". */
export const WAKE_CHANNEL = "cloudless_async";

export type WakeMessage = { kind: "jobs" } | { kind: "schedules"; functionId?: string };

/**
 * PostgreSQL LISTEN/NOTIFY as a wake-up signal between server processes: a
 * commit that queues work or changes schedules notifies (NOTIFY is delivered
 * at commit), so every process's worker fetches at once instead of at its
 * next poll. A signal only: the queue's own `FOR UPDATE SKIP LOCKED` fetch
 * still decides who runs what, and a lost signal costs one poll interval.
 */
export class WakeSignal extends EventEmitter<{ message: [WakeMessage] }> {
  private client: pg.Client | null = null;
  private closed = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly log: (line: string) => void,
  ) {
    super();
  }

  async start() {
    const client = new pg.Client({
      connectionString: this.databaseUrl,
      application_name: "cloudless-wake",
    });
    client.on("notification", (n) => {
      if (n.channel !== WAKE_CHANNEL) return;
      try {
        this.emit("message", JSON.parse(n.payload ?? "{}") as WakeMessage);
      } catch {
        this.emit("message", { kind: "jobs" });
      }
    });
    client.on("error", (error) => {
      this.log(`[wake] listener lost (${error.message}); reconnecting`);
      this.client = null;
      void client.end().catch(() => {});
      if (!this.closed) setTimeout(() => void this.start().catch(() => {}), 1000).unref();
    });
    await client.connect();
    await client.query(`LISTEN ${WAKE_CHANNEL}`);
    this.client = client;
    // Anything that happened while not listening: treat as new work.
    this.emit("message", { kind: "jobs" });
    this.emit("message", { kind: "schedules" });
  }

  async close() {
    this.closed = true;
    await this.client?.end().catch(() => {});
    this.client = null;
  }
}

/** The statement that sends a wake message (inside a transaction: delivered at commit). */
export function notifyStatement(message: WakeMessage): [string, unknown[]] {
  return ["SELECT pg_notify($1, $2)", [WAKE_CHANNEL, JSON.stringify(message)]];
}
