import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../runners/labels";
import { startTestApp, type TestApp } from "../helpers/app";
import { createTestDatabase } from "../helpers/database";
import {
  call,
  callOk,
  containerOf,
  createTenant,
  type Deployed,
  DOCKER_ENV,
  deploy,
  docker,
  ownerContainers,
  ownerOf,
  removeOwnerContainers,
  type Tenant,
  waitFor,
} from "../helpers/docker";
import { b64 } from "../helpers/functions";

// Instances over time: what a crashed server left is removed at the next
// start (and nothing of another installation is), changes and deletions
// drain a function's instances, and warm minimums are booted ahead of calls.

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-lifecycle-"));
let app: TestApp;
let alice: Tenant;
/** What the crashed process left: its containers (ids) and instance folders. */
let crashed: { ownerId: string; containers: string[]; folders: string[] };
/** A container of another installation on the same engine, which must survive our start. */
let foreign: Docker.Container | undefined;

/** Starts a real Cloudless process on `dataDir`, waits for its stock, and SIGKILLs it. */
async function crashAServer(): Promise<string> {
  const database = await createTestDatabase();
  const child = spawn(process.execPath, ["--import", "tsx", "tests/fixtures/crashing-server.ts"], {
    env: {
      NODE_ENV: "test",
      PATH: process.env.PATH ?? "",
      DATA_DIR: dataDir,
      DATABASE_URL: database.url,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    let stderr = "";
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (c) => {
        out += c;
        if (out.includes("\n")) resolve(out.split("\n")[0]!);
      });
      child.once("exit", (code) => reject(new Error(`The server exited (${code}): ${stderr}`)));
    });
    return (JSON.parse(line) as { ownerId: string }).ownerId;
  } finally {
    // No shutdown of any kind: its instances stay behind, as after a crash.
    child.kill("SIGKILL");
    await exited;
    await database.drop();
  }
}

beforeAll(async () => {
  const ownerId = await crashAServer();
  const left = await ownerContainers(ownerId);
  const instancesDir = path.join(dataDir, "instances", "docker");
  crashed = {
    ownerId,
    containers: left.map((c) => c.Id),
    folders: fs.readdirSync(instancesDir),
  };
  // Another installation's instance: same engine, same "managed" label, another owner.
  const python = left.find((c) => c.Labels[LABELS.runtime] === "python");
  if (python) {
    foreign = await docker.createContainer({
      Image: python.Image,
      Cmd: ["/usr/bin/python3", "-c", "import time; time.sleep(300)"],
      User: "65534:65534",
      Labels: {
        [LABELS.managed]: "true",
        [LABELS.owner]: `tests-foreign-${randomBytes(4).toString("hex")}`,
      },
      HostConfig: { NetworkMode: "none", Memory: 32 * 1024 * 1024, AutoRemove: false },
    });
    await foreign.start();
  }
  app = await startTestApp({ ...DOCKER_ENV, POOL_GENERIC_PER_RUNTIME: "1", DATA_DIR: dataDir });
  alice = await createTenant(app, "alice@example.com");
});

afterAll(async () => {
  const owner = app && ownerOf(app);
  await app?.close();
  if (owner) await removeOwnerContainers(owner);
  if (crashed) await removeOwnerContainers(crashed.ownerId);
  await foreign?.remove({ force: true }).catch(() => {});
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("a restart after a crash", () => {
  it("removes the containers and instance folders the crashed process left", async () => {
    // The crashed process had booted its stock (one per runtime) and died with it running.
    expect(crashed.containers).toHaveLength(2);
    expect(crashed.folders).toHaveLength(2);
    // Same data folder, same host: the same installation, so the same owner.
    expect(ownerOf(app)).toBe(crashed.ownerId);
    for (const id of crashed.containers) expect(await containerOf(id)).toBeNull();
    // Over the exec relay (TEST_DOCKER_AGENT_TRANSPORT=exec) the new process makes no folders at all.
    const instancesDir = path.join(dataDir, "instances", "docker");
    const folders = fs.existsSync(instancesDir) ? fs.readdirSync(instancesDir) : [];
    for (const folder of crashed.folders) expect(folders).not.toContain(folder);
    // What runs for the owner now is the new process's own stock.
    const now = await ownerContainers(ownerOf(app));
    expect(now.every((c) => !crashed.containers.includes(c.Id))).toBe(true);
  });

  it("leaves another installation's instances alone", async () => {
    expect(foreign).toBeDefined();
    const info = await foreign!.inspect();
    expect(info.State.Running).toBe(true);
  });
});

/** A Python handler that reports its container, version tag and environment. */
const versioned = (tag: string) => `import os, socket

def main(event, context):
    return {"host": socket.gethostname(), "tag": "${tag}", "greeting": os.environ.get("GREETING")}
`;

type Report = { host: string; tag: string; greeting: string | null };

async function report(fn: Deployed) {
  const answer = await callOk(app, alice, fn);
  return { ...(answer.result as Report), version: answer.version, start: answer.start };
}

function gone(host: string) {
  return waitFor(`container ${host} to be removed`, async () => (await containerOf(host)) === null);
}

describe("changes drain a function's instances", () => {
  let fn: Deployed;
  beforeAll(async () => {
    fn = await deploy(alice, {
      name: "versioned",
      runtime: "python",
      handler: "versioned.main",
      memoryMb: 64,
      code: versioned("one"),
    });
  });

  it("new code: the old container goes and the next call runs the new version", async () => {
    const v1 = await report(fn);
    expect(v1).toMatchObject({ tag: "one", version: 1 });
    await alice.sdk.functions.uploadCode.mutate({
      id: fn.id,
      codeBase64: b64(versioned("two")),
      fileName: "versioned.py",
    });
    await gone(v1.host);
    const v2 = await report(fn);
    expect(v2).toMatchObject({ tag: "two", version: 2 });
    expect(v2.start).not.toBe("warm");
    // A rollback is a change too.
    await alice.sdk.functions.rollback.mutate({ id: fn.id, version: 1 });
    await gone(v2.host);
    expect(await report(fn)).toMatchObject({ tag: "one", version: 1 });
  });

  it("new settings: the old container goes and the next call sees them", async () => {
    const before = await report(fn);
    expect(before.greeting).toBeNull();
    await alice.sdk.functions.updateSettings.mutate({
      id: fn.id,
      settings: { env: { GREETING: "bonjour" }, memoryMb: 96 },
    });
    await gone(before.host);
    const after = await report(fn);
    expect(after.greeting).toBe("bonjour");
    expect(after.host).not.toBe(before.host);
    const container = await containerOf(after.host);
    expect(container?.HostConfig.Memory).toBe(96 * 1024 * 1024);
  });

  it("a call in progress finishes on the old version before its container goes", async () => {
    const slow = await deploy(alice, {
      name: "slow-change",
      runtime: "python",
      handler: "slow_change.main",
      memoryMb: 64,
      code: "import socket, time\n\ndef main(event, context):\n    time.sleep(float(event.get('s', 0)))\n    return ['one', socket.gethostname()]\n",
    });
    const [, host] = (await callOk(app, alice, slow)).result as [string, string];
    const inFlight = callOk(app, alice, slow, { query: { s: "1" } });
    await new Promise((r) => setTimeout(r, 200));
    await alice.sdk.functions.uploadCode.mutate({
      id: slow.id,
      codeBase64: b64("def main(event, context):\n    return ['two']\n"),
      fileName: "slow_change.py",
    });
    expect((await callOk(app, alice, slow)).result).toEqual(["two"]);
    expect((await inFlight).result).toEqual(["one", host]);
    await gone(host);
  });

  it("deleting the function removes its instances and its URL", async () => {
    const last = await report(fn);
    await alice.sdk.functions.delete.mutate({ id: fn.id });
    await gone(last.host);
    const { http } = await call(app, alice, fn);
    expect(http).toBe(404);
  });
});

describe("warm minimums", () => {
  /** Idle specialized instances of a runtime, across functions. */
  const idle = (runtime: "python" | "node") =>
    app.services.runners.stats().instances.find((r) => r.runtime === runtime)?.idle ?? 0;

  it("are booted when a function is created, so its first call is warm", async () => {
    const before = idle("node");
    const fn = await deploy(alice, {
      name: "ready",
      runtime: "node",
      handler: "ready.main",
      memoryMb: 64,
      minWarm: 1,
      code: "exports.main = () => 'ready';\n",
    });
    await waitFor("the warm minimum to boot", () => idle("node") > before);
    const first = await callOk(app, alice, fn);
    expect(first).toMatchObject({ result: "ready", start: "warm" });
    expect(first.timings.startMs).toBe(0);
  });

  it("are booted when raised on an existing function", async () => {
    const fn = await deploy(alice, {
      name: "raised",
      runtime: "python",
      handler: "raised.main",
      memoryMb: 64,
      code: "def main(event, context):\n    return 'raised'\n",
    });
    const before = idle("python");
    await alice.sdk.functions.updateSettings.mutate({ id: fn.id, settings: { minWarm: 1 } });
    await waitFor("the warm minimum to boot", () => idle("python") > before);
    expect(await callOk(app, alice, fn)).toMatchObject({ result: "raised", start: "warm" });
  });
});
