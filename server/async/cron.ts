import { Cron } from "croner";

/** Browser-safe: shared by the tRPC input check, the scheduler and the function page. */
export type CronCheck = { ok: true; nextRuns: Date[] } | { ok: false; error: string };

const FIELD_NAMES_5 = "minute hour day-of-month month day-of-week";
const FIELD_NAMES_6 = "second minute hour day-of-month month day-of-week";
/** Runs closer together than this are refused. */
export const MIN_INTERVAL_MS = 1000;

export function isTimezone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * A schedule's expression, checked with croner: 5 fields (minute first) or 6
 * (second first), an IANA timezone, and at least one future run. Croner
 * counts in whole seconds, so nothing it accepts fires more than once a
 * second; `* * * * * *` (every second) is the most frequent schedule allowed,
 * and the gap check below keeps it that way if the parser ever changes.
 */
export function checkCron(expression: string, timezone: string, count = 3): CronCheck {
  const fields = expression.trim().split(/\s+/).filter(Boolean);
  if (fields.length !== 5 && fields.length !== 6) {
    return {
      ok: false,
      error: `Use 5 fields (${FIELD_NAMES_5}) or 6 (${FIELD_NAMES_6}); got ${fields.length}`,
    };
  }
  if (!isTimezone(timezone)) {
    return {
      ok: false,
      error: `Unknown timezone "${timezone}": use an IANA name like Europe/Berlin`,
    };
  }
  let cron: Cron;
  try {
    cron = new Cron(fields.join(" "), { timezone, paused: true });
  } catch (error) {
    // croner names the field: "CronPattern: Invalid value for minute: 61".
    return { ok: false, error: (error as Error).message.replace(/^CronPattern:\s*/, "") };
  }
  const runs = cron.nextRuns(Math.max(count, 3));
  cron.stop();
  if (runs.length === 0) return { ok: false, error: "This expression never fires" };
  for (let i = 1; i < runs.length; i++) {
    if (runs[i]!.getTime() - runs[i - 1]!.getTime() < MIN_INTERVAL_MS) {
      return { ok: false, error: "Schedules may fire at most once a second" };
    }
  }
  return { ok: true, nextRuns: runs.slice(0, count) };
}
