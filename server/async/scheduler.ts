import { Cron } from "croner";
import type { Database } from "../db/client";

export interface ScheduleRow {
  id: string;
  functionId: string;
  userId: string;
  cron: string;
  timezone: string;
  event: unknown;
  engine: "docker" | "nanos";
  updatedAt: Date;
}

interface Entry {
  row: ScheduleRow;
  cron: Cron;
  next: Date | null;
  timer: NodeJS.Timeout | null;
}

/** setTimeout's delay is a 32-bit int; wake up at least this often and look again. */
const MAX_SLEEP_MS = 60_000;

/**
 * Fires each enabled schedule's ticks in this process. Every process runs
 * one and computes the same tick times from the expression (croner), so a
 * tick is named by (schedule id, scheduled time), not by when a timer
 * happened to fire; the enqueue's unique (scheduleId, tickAt) makes the
 * first process's insert win and the others' a no-op: exactly one run per
 * tick. Ticks are counted from start: a tick missed while every server was
 * down is skipped, not run late (see docs/decisions/0012-async-queue.md).
 */
export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;
  private reloading: Promise<void> | null = null;
  private reloadAgain = false;

  constructor(
    private readonly db: Database,
    private readonly fire: (row: ScheduleRow, tickAt: Date) => Promise<void>,
    private readonly log: (line: string) => void,
  ) {}

  /** Schedules changed (here or in another process): read the enabled ones again. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.reloadAgain = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      try {
        do {
          this.reloadAgain = false;
          await this.load();
        } while (this.reloadAgain && !this.stopped);
      } catch (error) {
        this.log(`[schedules] reload failed: ${(error as Error).message}`);
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  get size() {
    return this.entries.size;
  }

  private async load() {
    const rows = (await this.db.schedule.findMany({
      where: { enabled: true },
      select: {
        id: true,
        functionId: true,
        userId: true,
        cron: true,
        timezone: true,
        event: true,
        engine: true,
        updatedAt: true,
      },
    })) as ScheduleRow[];
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const row of rows) {
      seen.add(row.id);
      const current = this.entries.get(row.id);
      if (current && current.row.updatedAt.getTime() === row.updatedAt.getTime()) continue;
      if (current) this.remove(row.id);
      this.add(row);
    }
    for (const id of [...this.entries.keys()]) if (!seen.has(id)) this.remove(id);
  }

  private add(row: ScheduleRow) {
    let cron: Cron;
    try {
      cron = new Cron(row.cron, { timezone: row.timezone, paused: true });
    } catch (error) {
      this.log(`[schedules] ${row.id}: ${(error as Error).message}`);
      return;
    }
    const entry: Entry = { row, cron, next: cron.nextRun(new Date()), timer: null };
    this.entries.set(row.id, entry);
    this.arm(entry);
  }

  private remove(id: string) {
    const entry = this.entries.get(id);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    entry.cron.stop();
    this.entries.delete(id);
  }

  private arm(entry: Entry) {
    if (this.stopped || !entry.next) return;
    const delay = Math.min(MAX_SLEEP_MS, Math.max(0, entry.next.getTime() - Date.now()));
    entry.timer = setTimeout(() => this.onTimer(entry), delay);
    entry.timer.unref();
  }

  private onTimer(entry: Entry) {
    entry.timer = null;
    if (this.stopped || this.entries.get(entry.row.id) !== entry || !entry.next) return;
    const now = Date.now();
    if (entry.next.getTime() > now) return this.arm(entry);
    const tickAt = entry.next;
    // The next tick after now: a stalled process does not fire a burst of old ticks.
    entry.next = entry.cron.nextRun(new Date(Math.max(now, tickAt.getTime())));
    this.arm(entry);
    this.fire(entry.row, tickAt).catch((error) =>
      this.log(
        `[schedules] ${entry.row.id} tick ${tickAt.toISOString()}: ${(error as Error).message}`,
      ),
    );
  }

  stop() {
    this.stopped = true;
    for (const id of [...this.entries.keys()]) this.remove(id);
  }
}
