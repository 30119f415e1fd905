import { EventEmitter } from "node:events";
import pg from "pg";

interface NotificationEvents<T> {
  /** A NOTIFY on the channel (from this or any other process), parsed. */
  message: [T];
  /**
   * Listening (again): at start and after a lost connection was restored.
   * Notifications sent while not listening are gone, so whoever caches what
   * they announce should treat everything as changed.
   */
  listening: [];
}

/**
 * PostgreSQL LISTEN on one channel with a dedicated connection, reconnecting
 * with backoff when it drops. NOTIFY is delivered at commit to every
 * listening process, which makes it the cluster's message bus: no broker
 * beside the database every node already shares.
 */
export class PgNotifications<T> extends EventEmitter<NotificationEvents<T>> {
  private client: pg.Client | null = null;
  private closed = false;
  private retryMs = 500;

  constructor(
    private readonly options: {
      databaseUrl: string;
      channel: string;
      /** Shown in pg_stat_activity. */
      applicationName: string;
      /** What an unparsable payload means (a message no listener would act on wrongly). */
      fallback: T;
      log: (line: string) => void;
    },
  ) {
    super();
    if (!/^[a-z_][a-z0-9_]*$/.test(options.channel)) {
      throw new Error(`Bad channel name ${options.channel}`);
    }
  }

  async start() {
    const { databaseUrl, channel, applicationName, fallback, log } = this.options;
    const client = new pg.Client({
      connectionString: databaseUrl,
      application_name: applicationName,
      // The connection is idle for long stretches: keepalive notices a dead peer.
      keepAlive: true,
    });
    client.on("notification", (n) => {
      if (n.channel !== channel) return;
      let message = fallback;
      try {
        message = JSON.parse(n.payload ?? "") as T;
      } catch {}
      this.emit("message", message);
    });
    client.on("error", (error) => {
      if (this.client !== client) return;
      this.client = null;
      void client.end().catch(() => {});
      if (this.closed) return;
      log(`[${channel}] listener lost (${error.message}); reconnecting`);
      this.reconnectLater();
    });
    await client.connect();
    await client.query(`LISTEN ${channel}`);
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.retryMs = 500;
    this.emit("listening");
  }

  private reconnectLater() {
    const wait = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, 10_000);
    setTimeout(() => {
      if (this.closed) return;
      this.start().catch((error: Error) => {
        this.options.log(`[${this.options.channel}] cannot listen yet (${error.message})`);
        this.reconnectLater();
      });
    }, wait).unref();
  }

  async close() {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => {});
  }
}

/** The statement that sends a message (inside a transaction: delivered at commit). */
export function notifyStatement(channel: string, message: unknown): [string, unknown[]] {
  return ["SELECT pg_notify($1, $2)", [channel, JSON.stringify(message)]];
}
