import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../../../server/db/client";
import { RecordJournal } from "../../../server/invocations/journal";
import { type InvocationRecord, InvocationRecorder } from "../../../server/invocations/recorder";
import { startTestApp, type TestApp } from "../../helpers/app";
import { createTenant, deploy } from "../../helpers/docker";

// The journal of invocation records against a real PostgreSQL: what a killed
// process leaves is written by the next one, exactly once; the buffer that
// carries a database outage is bounded and says what it dropped.

let app: TestApp;
let target: { functionId: string; userId: string };
const dirs: string[] = [];

beforeAll(async () => {
  app = await startTestApp();
  const tenant = await createTenant(app, "journal@example.com");
  const fn = await deploy(tenant, {
    name: "noop",
    runtime: "python",
    handler: "noop.main",
    code: "def main(event, context):\n    return 1\n",
  });
  target = { functionId: fn.id, userId: fn.userId };
});

afterAll(async () => {
  await app?.close();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

function journalDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-journal-"));
  dirs.push(dir);
  return dir;
}

function row(id = randomUUID()): InvocationRecord {
  return {
    id,
    ...target,
    versionNumber: 1,
    engine: "docker",
    start: "warm",
    status: 0,
    timeout: false,
    durationMs: 1,
    queueMs: 0,
    startMs: 0,
    execMs: 1,
    totalMs: 1.5,
    stdout: "out",
    stderr: "",
  };
}

/** Journal lines as a dead process (an exited child's pid) would have left them. */
function leaveDeadProcessJournal(dir: string, lines: string[]) {
  const child = spawnSync(process.execPath, ["-e", "0"]);
  expect(child.status).toBe(0);
  const file = path.join(dir, `records-${child.pid}-1-000000001.jsonl`);
  fs.writeFileSync(file, lines.join("\n"));
  return file;
}

const journalFiles = (dir: string) => fs.readdirSync(dir).filter((f) => f.endsWith(".jsonl"));

async function rowsWithIds(ids: string[]) {
  return app.services.db.invocation.count({ where: { id: { in: ids } } });
}

describe("invocation record journal", () => {
  it("holds a record from the moment it is queued until its batch is written", async () => {
    const dir = journalDir();
    const recorder = new InvocationRecorder(
      app.services.db,
      () => {},
      { intervalMs: 60_000 },
      new RecordJournal(dir, () => {}),
    );
    const rows = [row(), row(), row()];
    for (const r of rows) recorder.record(r);
    // Nothing written yet, but every record is on disk, one JSON line each.
    const [file] = journalFiles(dir);
    const lines = fs.readFileSync(path.join(dir, file!), "utf8").trim().split("\n");
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(rows.map((r) => r.id));
    expect(await rowsWithIds(rows.map((r) => r.id))).toBe(0);

    await recorder.flush();
    expect(await rowsWithIds(rows.map((r) => r.id))).toBe(3);
    expect(journalFiles(dir)).toEqual([]);
    await recorder.close();
  });

  it("writes what a killed process left, once, even when part of it was already written", async () => {
    const dir = journalDir();
    const written = row();
    // A batch that committed just before the kill, whose file was not yet deleted.
    const first = new InvocationRecorder(app.services.db, () => {});
    first.record(written);
    await first.close();
    const left = [written, row(), row()];
    const lines = left.map((r) => JSON.stringify({ ...r, createdAt: new Date() }));
    // The kill cut the last write short: a torn line, skipped with a log line.
    const file = leaveDeadProcessJournal(dir, [...lines, '{"id":"torn']);
    const logs: string[] = [];

    const recorder = new InvocationRecorder(
      app.services.db,
      (l) => logs.push(l),
      {},
      new RecordJournal(dir, (l) => logs.push(l)),
    );
    expect(recorder.replayJournal()).toBe(3);
    await recorder.close();

    expect(await rowsWithIds(left.map((r) => r.id))).toBe(3);
    expect(fs.existsSync(file)).toBe(false);
    expect(logs.join("\n")).toMatch(/Skipped 1 unreadable line/);
    // The rollups count each call once: the replayed duplicate was not added again.
    const rollup = await app.services.db.invocationRollup.aggregate({
      where: { functionId: target.functionId },
      _sum: { calls: true },
    });
    const total = await app.services.db.invocation.count({
      where: { functionId: target.functionId },
    });
    expect(rollup._sum.calls).toBe(total);
  });

  it("never replays a live process's journal", async () => {
    const dir = journalDir();
    const live = new RecordJournal(dir, () => {});
    live.append(JSON.stringify(row()));
    // A second process with the same folder (misconfigured) leaves it alone.
    const other = new RecordJournal(dir, () => {});
    expect(other.replay()).toEqual([]);
    expect(journalFiles(dir)).toHaveLength(1);
    live.close();
  });

  it("bounds the outage buffer, counts what it dropped, and keeps the rest for the next start", async () => {
    const dir = journalDir();
    // A database nobody listens on: every write fails, as during an outage.
    const down = createDatabase("postgresql://postgres:x@127.0.0.1:9/none");
    const logs: string[] = [];
    const sample = JSON.stringify({ ...row(), createdAt: new Date() }).length;
    const recorder = new InvocationRecorder(
      down,
      (l) => logs.push(l),
      { intervalMs: 20, maxPendingBytes: sample * 10 + 5 },
      new RecordJournal(dir, () => {}),
    );
    const rows = Array.from({ length: 25 }, () => row());
    for (const r of rows) recorder.record(r);
    expect(recorder.pending).toBe(10);
    expect(recorder.dropped).toBe(15);
    expect(recorder.pendingBytes).toBeLessThanOrEqual(sample * 10 + 5);
    expect(logs.join("\n")).toMatch(/being dropped: 10 wait for the database/);
    // Writes keep failing; shutdown gives up but the journal keeps the ten.
    await recorder.close(300);
    await down.$disconnect();
    expect(logs.join("\n")).toMatch(/journal keeps them/);

    // The dead process here is ourselves, under a pid that no longer runs.
    for (const name of journalFiles(dir)) {
      fs.renameSync(
        path.join(dir, name),
        path.join(dir, name.replace(/^records-\d+-\d+/, `records-${deadPid()}-1`)),
      );
    }
    const next = new InvocationRecorder(
      app.services.db,
      () => {},
      {},
      new RecordJournal(dir, () => {}),
    );
    expect(next.replayJournal()).toBe(10);
    await next.close();
    expect(await rowsWithIds(rows.slice(0, 10).map((r) => r.id))).toBe(10);
    expect(await rowsWithIds(rows.slice(10).map((r) => r.id))).toBe(0);
    expect(journalFiles(dir)).toEqual([]);
  });

  it("exposes pending and dropped records in /metrics", async () => {
    const metrics = await app.services.metrics.registry.metrics();
    expect(metrics).toMatch(/^cloudless_invocation_records_pending \d+$/m);
    expect(metrics).toMatch(/^cloudless_invocation_records_dropped_total 0$/m);
  });
});

function deadPid() {
  const child = spawnSync(process.execPath, ["-e", "0"]);
  return child.pid;
}
