import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { tryFileLock, withFileLock } from "./file-lock";

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-lock-"));
afterAll(() => fs.rmSync(ROOT, { recursive: true, force: true }));

describe("withFileLock", () => {
  it("runs holders one at a time, and frees the lock after", async () => {
    const lock = path.join(ROOT, "a.lock");
    const events: string[] = [];
    const hold = (name: string) =>
      withFileLock(
        lock,
        async () => {
          events.push(`${name} in`);
          await new Promise((r) => setTimeout(r, 30));
          events.push(`${name} out`);
        },
        { pollMs: 5 },
      );
    await Promise.all([hold("one"), hold("two")]);
    expect(events).toHaveLength(4);
    expect(events[1]).toBe(events[0]!.replace("in", "out"));
    expect(fs.existsSync(lock)).toBe(false);
  });

  it("takes over a lock whose holder died", async () => {
    const lock = path.join(ROOT, "b.lock");
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, "pid"), String(2 ** 22 + 4321)); // no such process
    expect(await withFileLock(lock, async () => "mine", { timeoutMs: 1000 })).toBe("mine");
  });
});

describe("tryFileLock", () => {
  it("skips when a live process holds the lock", async () => {
    const lock = path.join(ROOT, "c.lock");
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
    expect(await tryFileLock(lock, async () => "ran")).toBeNull();
    fs.rmSync(lock, { recursive: true });
    expect(await tryFileLock(lock, async () => "ran")).toBe("ran");
  });
});
