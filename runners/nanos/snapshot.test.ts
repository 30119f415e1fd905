import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { SnapshotStore } from "./snapshot";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

describe("SnapshotStore.removeAbandoned", () => {
  it("removes half-written states a killed process left, never one being saved now", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-snapshots-"));
    dirs.push(dir);
    const store = new SnapshotStore(dir, "tcg-test");
    const abandoned = `${store.file("a".repeat(64), 64)}.tmp-0badf00d`;
    const saving = `${store.file("b".repeat(64), 64)}.tmp-1234abcd`;
    const kept = store.file("c".repeat(64), 64);
    for (const file of [abandoned, saving, kept]) fs.writeFileSync(file, "state");
    // A save in progress in a live process (this one) holds the state's lock.
    const lock = `${store.file("b".repeat(64), 64)}.lock`;
    fs.mkdirSync(lock);
    fs.writeFileSync(path.join(lock, "pid"), String(process.pid));
    // A lock whose holder died (the killed process) does not protect its file.
    const deadLock = `${store.file("a".repeat(64), 64)}.lock`;
    fs.mkdirSync(deadLock);
    fs.writeFileSync(path.join(deadLock, "pid"), "999999999");

    expect(await store.removeAbandoned()).toBe(1);
    expect(fs.existsSync(abandoned)).toBe(false);
    expect(fs.existsSync(deadLock)).toBe(false);
    expect(fs.existsSync(saving)).toBe(true);
    expect(fs.existsSync(kept)).toBe(true);
  });
});
