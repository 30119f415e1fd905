import { randomUUID } from "node:crypto";
import type { EventEmitter } from "node:events";
import { notifyStatement, PgNotifications } from "../db/notifications";
import type { ApiKeyEvents, FunctionEvents } from "../services";

export const CLUSTER_CHANNEL = "cloudless_cluster";

type ClusterMessage =
  | { kind: "function-changed"; functionId: string; from: string }
  | { kind: "api-key-revoked"; keyId: string; from: string };

export interface ClusterBusDeps {
  databaseUrl: string;
  /** What a node caches and must drop when another node changes it. */
  functionEvents: EventEmitter<FunctionEvents>;
  apiKeyEvents: EventEmitter<ApiKeyEvents>;
  /** Drops cached functions, for when notifications may have been missed (API keys: done here). */
  forgetEverything(): void;
  /** Runs a statement on the shared database (the NOTIFY). */
  query(sql: string, values: unknown[]): Promise<unknown>;
  log: (line: string) => void;
}

/**
 * Carries this process's cache-invalidating events to every other process on
 * the same database, with PostgreSQL LISTEN/NOTIFY: a function changed
 * (code, settings, version, deleted) and an API key revoked. Local listeners
 * (function directory, pools, API-key cache, schedules) hear a remote event
 * exactly as a local one. Delivery is a NOTIFY round trip (milliseconds);
 * while the listening connection is down nothing arrives, so on reconnect
 * every cache is dropped, and the API-key cache's TTL bounds how long a
 * revoked key can be accepted meanwhile.
 */
export class ClusterBus {
  /** Tells this process's messages from others'. */
  readonly processId = randomUUID();
  private readonly notifications: PgNotifications<ClusterMessage | null>;
  // Set while re-emitting a remote event, so it is not sent back out.
  private relaying = false;
  private everListened = false;

  constructor(private readonly deps: ClusterBusDeps) {
    this.notifications = new PgNotifications<ClusterMessage | null>({
      databaseUrl: deps.databaseUrl,
      channel: CLUSTER_CHANNEL,
      applicationName: "cloudless-cluster",
      fallback: null,
      log: deps.log,
    });
    this.notifications.on("message", (message) => this.receive(message));
    this.notifications.on("listening", () => {
      if (this.everListened) {
        deps.log("[cluster] listening again: dropping every cache (changes may have been missed)");
        deps.forgetEverything();
        this.relay(() => deps.apiKeyEvents.emit("revoked", "*"));
      }
      this.everListened = true;
    });
    deps.functionEvents.on("changed", (functionId) =>
      this.send({ kind: "function-changed", functionId, from: this.processId }),
    );
    deps.apiKeyEvents.on("revoked", (keyId) =>
      this.send({ kind: "api-key-revoked", keyId, from: this.processId }),
    );
  }

  start() {
    return this.notifications.start();
  }

  close() {
    return this.notifications.close();
  }

  private send(message: ClusterMessage) {
    if (this.relaying) return;
    const [sql, values] = notifyStatement(CLUSTER_CHANNEL, message);
    this.deps.query(sql, values).catch((error: Error) => {
      // Other processes then rely on their TTLs and reconnect resets.
      this.deps.log(`[cluster] could not announce ${message.kind}: ${error.message}`);
    });
  }

  private receive(message: ClusterMessage | null) {
    if (!message || message.from === this.processId) return;
    this.relay(() => {
      if (message.kind === "function-changed") {
        this.deps.functionEvents.emit("changed", message.functionId);
      } else if (message.kind === "api-key-revoked") {
        this.deps.apiKeyEvents.emit("revoked", message.keyId);
      }
    });
  }

  /** Emits locally what must not be sent out again. */
  private relay(emit: () => void) {
    this.relaying = true;
    try {
      emit();
    } finally {
      this.relaying = false;
    }
  }
}
