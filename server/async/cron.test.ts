import { describe, expect, it } from "vitest";
import { checkCron } from "./cron";

describe("checkCron", () => {
  it("accepts 5- and 6-field expressions and gives the next runs in the timezone", () => {
    const every = checkCron("*/1 * * * *", "UTC");
    expect(every.ok).toBe(true);
    if (!every.ok) return;
    expect(every.nextRuns).toHaveLength(3);
    expect(every.nextRuns[1]!.getTime() - every.nextRuns[0]!.getTime()).toBe(60_000);

    // 09:00 in Berlin is 08:00 UTC in winter.
    const morning = checkCron("0 9 * * *", "Europe/Berlin");
    expect(morning.ok && morning.nextRuns[0]!.getUTCHours()).toBe(8);

    const seconds = checkCron("*/2 * * * * *", "UTC");
    expect(seconds.ok && seconds.nextRuns[1]!.getTime() - seconds.nextRuns[0]!.getTime()).toBe(
      2000,
    );
    expect(checkCron("* * * * * *", "UTC").ok).toBe(true);
  });

  it("names the offending field of a malformed expression", () => {
    expect(checkCron("61 * * * *", "UTC")).toEqual({
      ok: false,
      error: "Invalid value for minute: 61",
    });
    expect(checkCron("0 25 * * *", "UTC")).toMatchObject({
      error: expect.stringContaining("hour"),
    });
    expect(checkCron("a b c d e", "UTC")).toMatchObject({ ok: false });
  });

  it("refuses other field counts (croner's 7-field year form too)", () => {
    expect(checkCron("* * * *", "UTC")).toMatchObject({ error: expect.stringContaining("got 4") });
    expect(checkCron("* * * * * * *", "UTC")).toMatchObject({
      error: expect.stringContaining("got 7"),
    });
    expect(checkCron("", "UTC").ok).toBe(false);
  });

  it("refuses unknown timezones and expressions that never fire", () => {
    expect(checkCron("* * * * *", "Mars/Olympus")).toMatchObject({
      error: expect.stringContaining("Unknown timezone"),
    });
    expect(checkCron("0 0 31 2 *", "UTC")).toEqual({
      ok: false,
      error: "This expression never fires",
    });
  });
});
