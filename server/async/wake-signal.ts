import { notifyStatement as notify, PgNotifications } from "../db/notifications";

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
export function createWakeSignal(databaseUrl: string, log: (line: string) => void) {
  const signal = new PgNotifications<WakeMessage>({
    databaseUrl,
    channel: WAKE_CHANNEL,
    applicationName: "cloudless-wake",
    fallback: { kind: "jobs" },
    log,
  });
  // Anything that happened while not listening: treat as new work.
  signal.on("listening", () => {
    signal.emit("message", { kind: "jobs" });
    signal.emit("message", { kind: "schedules" });
  });
  return signal;
}

export type WakeSignal = ReturnType<typeof createWakeSignal>;

/** The statement that sends a wake message (inside a transaction: delivered at commit). */
export function notifyStatement(message: WakeMessage): [string, unknown[]] {
  return notify(WAKE_CHANNEL, message);
}
