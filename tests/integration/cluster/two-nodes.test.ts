import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../../server/auth/api-keys";
import { createSessionCookie } from "../../../server/auth/cookie";
import { createSession } from "../../../server/auth/sessions";
import { createCloudlessClient } from "../../../server/client";
import { renderNginxConfig } from "../../../server/cluster/nginx-config";
import { createDatabase, type Database } from "../../../server/db/client";
import { type EmbeddedS3, startEmbeddedS3 } from "../../../server/storage/embedded-s3";
import { createTestDatabase } from "../../helpers/database";
import {
  DOCKER_ENV,
  ownerContainers as listOwned,
  removeOwnerContainers,
  waitFor,
} from "../../helpers/docker";
import { freePort } from "../../helpers/ports";
import { type ServerProcess, startServerProcess } from "../../helpers/server-process";

// Two real server processes (nodes) on one PostgreSQL and one S3 store, with
// real nginx in front (the generated config). Both nodes drive this
// machine's Docker engine; their instances are told apart by owner label, as
// on separate hosts they would be by engine (`npm run cluster` gives each a
// dockerd of its own).

const HEARTBEAT_SECONDS = 1;
const SESSION_SECRET = "s".repeat(40);
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let s3: EmbeddedS3;
let s3Dir: string;
let admin: Database;
let user: { id: string; key: string; keyId: string };
let nginx: ChildProcess | undefined;
let nginxDir: string;
let balancer: string;
const nodes: Record<"a" | "b", ServerProcess> = {} as never;
const dataDirs = {
  a: fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-node-a-")),
  b: fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-node-b-")),
};
const ports = { a: 0, b: 0 };

async function startNode(name: "a" | "b", env: Record<string, string> = {}) {
  nodes[name] = await startServerProcess(
    {
      ...DOCKER_ENV,
      DATABASE_URL: database.url,
      S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      SESSION_SECRET,
      TRUST_PROXY: "1",
      POOL_GENERIC_PER_RUNTIME: "0",
      NODE_ID: `node-${name}`,
      NODE_ADDRESS: `127.0.0.1:${ports[name]}`,
      NODE_HEARTBEAT_SECONDS: String(HEARTBEAT_SECONDS),
      ...env,
    },
    { dataDir: dataDirs[name], port: ports[name] },
  );
  return nodes[name];
}

beforeAll(async () => {
  database = await createTestDatabase();
  s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-test-s3-"));
  s3 = await startEmbeddedS3({ dir: s3Dir, bucket: "cloudless-code" });
  admin = createDatabase(database.url);
  const row = await admin.user.create({
    data: { email: "cluster@example.com", name: "cluster", emailVerifiedAt: new Date() },
  });
  const created = await createApiKey(admin, row.id, "tests");
  user = { id: row.id, key: created.key, keyId: created.record.id };
  ports.a = await freePort();
  ports.b = await freePort();
  // A only queues async calls: whatever runs them is B's worker.
  await Promise.all([startNode("a", { ASYNC_CONCURRENCY: "0" }), startNode("b")]);

  nginxDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-nginx-"));
  const listen = await freePort();
  const conf = path.join(nginxDir, "nginx.conf");
  fs.writeFileSync(
    conf,
    renderNginxConfig({
      nodes: [`127.0.0.1:${ports.a}`, `127.0.0.1:${ports.b}`],
      listen: `127.0.0.1:${listen}`,
      runDir: nginxDir,
      maxBodyBytes: 4 * 1024 * 1024,
      failTimeoutSeconds: 2,
    }),
  );
  const check = spawnSync("nginx", ["-t", "-c", conf], { encoding: "utf8" });
  expect(check.status, check.stderr).toBe(0);
  nginx = spawn("nginx", ["-c", conf, "-g", "daemon off;"], { stdio: "ignore" });
  balancer = `http://127.0.0.1:${listen}`;
  await waitFor("nginx to listen", () =>
    fetch(`${balancer}/health`).then(
      (r) => r.ok,
      () => false,
    ),
  );
}, 180_000);

afterAll(async () => {
  nginx?.kill("SIGQUIT");
  for (const name of ["a", "b"] as const) {
    const node = nodes[name];
    if (!node) continue;
    await node.kill("SIGKILL");
    await removeOwnerContainers(node.ownerId);
  }
  for (const dir of [...Object.values(dataDirs), nginxDir, s3Dir]) {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
  await admin?.$disconnect();
  await database?.drop();
  await s3?.stop();
});

const sdk = (base: string) => createCloudlessClient({ url: base, apiKey: user.key });

async function deploy(base: string, name: string, options: { isPublic?: boolean } = {}) {
  return sdk(base).functions.create.mutate({
    name,
    runtime: "node",
    handler: `${name}.main`,
    memoryMb: 64,
    maxConcurrency: 4,
    isPublic: options.isPublic ?? false,
    codeBase64: Buffer.from(
      `exports.main = (e) => ({ fn: ${JSON.stringify(name)}, v: 1, n: e.n ?? null });\n`,
    ).toString("base64"),
    fileName: `${name}.js`,
  });
}

type Fn = Awaited<ReturnType<typeof deploy>>;

async function call(base: string, fn: Fn, init: { key?: string | null; n?: number } = {}) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const key = init.key === undefined ? user.key : init.key;
  if (key) headers.authorization = `Bearer ${key}`;
  const response = await fetch(`${base}/api/function/${fn.userId}/${fn.handler}/docker`, {
    method: "POST",
    headers,
    body: JSON.stringify({ n: init.n ?? 0 }),
  });
  return { http: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe("two nodes on one database", () => {
  it("registers both nodes with their engines and heartbeats", async () => {
    const list = await sdk(balancer).nodes.list.query();
    expect(list.nodes.map((n) => [n.id, n.state])).toEqual([
      ["node-a", "up"],
      ["node-b", "up"],
    ]);
    expect(list.nodes[0]!.engines).toContainEqual({ name: "docker", available: true });
    const before = list.nodes[0]!.heartbeatAt;
    await new Promise((r) => setTimeout(r, HEARTBEAT_SECONDS * 1500));
    const after = (await sdk(nodes.b.url).nodes.list.query()).nodes[0]!.heartbeatAt;
    expect(new Date(after).getTime()).toBeGreaterThan(new Date(before).getTime());
  });

  it("a function deployed through A is callable through B and the balancer at once", async () => {
    const fn = await deploy(nodes.a.url, "anywhere");
    const answers = await Promise.all([
      call(nodes.b.url, fn),
      call(balancer, fn),
      call(nodes.a.url, fn),
    ]);
    for (const answer of answers) {
      expect(answer.http).toBe(200);
      expect(answer.body.result).toEqual({ fn: "anywhere", v: 1, n: 0 });
    }
  });

  it("a change on A reaches B's cache: B runs the new version", async () => {
    const fn = await deploy(nodes.a.url, "changing");
    expect((await call(nodes.b.url, fn)).body.result).toMatchObject({ v: 1 });
    await sdk(nodes.a.url).functions.uploadCode.mutate({
      id: fn.id,
      codeBase64: Buffer.from("exports.main = () => ({ v: 2 });\n").toString("base64"),
      fileName: "changing.js",
    });
    const started = Date.now();
    await waitFor(
      "B to run version 2",
      async () => (await call(nodes.b.url, fn)).body.version === 2,
      5_000,
      20,
    );
    console.log(`[cluster] a new version on A ran on B after ${Date.now() - started} ms`);
  });

  it("a key revoked on A is refused by B within a second", async () => {
    const extra = await createApiKey(admin, user.id, "to revoke");
    const fn = await deploy(nodes.a.url, "guarded");
    // B has looked the key up and caches it.
    expect((await call(nodes.b.url, fn, { key: extra.key })).http).toBe(200);
    // Revoking takes a browser session (Settings): the user's, signed in on A.
    const { token } = await createSession(admin, { userId: user.id, ttlDays: 1 });
    const cookie = await createSessionCookie({ secret: SESSION_SECRET, ttlDays: 1 }).serialize(
      token,
    );
    const revoke = await fetch(`${nodes.a.url}/api/trpc/apiKeys.revoke`, {
      method: "POST",
      headers: { cookie, "content-type": "application/json" },
      body: JSON.stringify({ id: extra.record.id }),
    });
    expect(revoke.status, await revoke.clone().text()).toBe(200);
    const revokedAt = Date.now();
    let refusedAfter = -1;
    while (Date.now() - revokedAt < 5_000) {
      const answer = await call(nodes.b.url, fn, { key: extra.key });
      if (answer.http === 401) {
        refusedAfter = Date.now() - revokedAt;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    console.log(`[cluster] the revoked key was refused by B ${refusedAfter} ms after A answered`);
    expect(refusedAfter).toBeGreaterThanOrEqual(0);
    expect(refusedAfter).toBeLessThan(1_000);
  });

  it("async calls queued on A are run by B's workers", async () => {
    const fn = await deploy(nodes.a.url, "queued");
    const ids = await Promise.all(
      Array.from({ length: 10 }, async (_, n) => {
        const response = await fetch(
          `${nodes.a.url}/api/function/${fn.userId}/${fn.handler}/docker`,
          {
            method: "POST",
            headers: {
              authorization: `Bearer ${user.key}`,
              "content-type": "application/json",
              "x-invocation-type": "async",
            },
            body: JSON.stringify({ n }),
          },
        );
        expect(response.status).toBe(202);
        return ((await response.json()) as { invocationId: string }).invocationId;
      }),
    );
    await waitFor(
      "B to run all 10",
      async () =>
        (await admin.asyncInvocation.count({ where: { id: { in: ids }, state: "succeeded" } })) ===
        10,
      60_000,
      200,
    );
  });

  it("affinity: one function's calls through the balancer stay on one node, warm", async () => {
    const fn = await deploy(nodes.a.url, "sticky", { isPublic: true });
    const answers = [];
    for (let n = 0; n < 20; n++) answers.push(await call(balancer, fn, { n }));
    expect(answers.every((a) => a.http === 200)).toBe(true);
    expect(answers.slice(1).every((a) => a.body.start === "warm")).toBe(true);
  });
});

describe("faults", () => {
  it("SIGTERM drains a node: calls through the balancer keep succeeding, the node shows stopped", async () => {
    const fns = await Promise.all(
      Array.from({ length: 6 }, (_, i) => deploy(nodes.a.url, `drain${i}`, { isPublic: true })),
    );
    const counts = new Map<number, number>();
    let stop = false;
    const load = Promise.all(
      fns.map(async (fn) => {
        while (!stop) {
          // GET: retried by nginx on a refused connection or a 503 (a call that did not run).
          const response = await fetch(
            `${balancer}/api/function/${fn.userId}/${fn.handler}/docker?n=1`,
          ).catch(() => null);
          const status = response?.status ?? 0;
          await response?.arrayBuffer();
          counts.set(status, (counts.get(status) ?? 0) + 1);
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    await nodes.a.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 2000));
    stop = true;
    await load;
    console.log(`[cluster] answers while A drained: ${JSON.stringify([...counts])}`);
    expect([...counts.keys()]).toEqual([200]);
    const a = (await sdk(balancer).nodes.list.query()).nodes.find((n) => n.id === "node-a")!;
    expect(a.state).toBe("stopped");
    // Its instances are gone with it.
    expect(await ownerContainers(nodes.a.ownerId)).toBe(0);
    await startNode("a", { ASYNC_CONCURRENCY: "0" });
  }, 120_000);

  it("SIGKILL of a node under load: only calls in flight on it fail; it shows down; its leftovers go when it starts again", async () => {
    const fns = await Promise.all(
      Array.from({ length: 8 }, (_, i) => deploy(nodes.b.url, `kill${i}`, { isPublic: true })),
    );
    // Warm every function on the node the balancer sends it to.
    for (const fn of fns) expect((await call(balancer, fn)).http).toBe(200);
    const answers: Array<{ status: number; at: number }> = [];
    let stop = false;
    let killedAt = 0;
    const load = Promise.all(
      fns.map(async (fn) => {
        while (!stop) {
          const response = await fetch(
            `${balancer}/api/function/${fn.userId}/${fn.handler}/docker`,
            { method: "POST", body: "{}", headers: { "content-type": "application/json" } },
          ).catch(() => null);
          answers.push({ status: response?.status ?? 0, at: Date.now() });
          await response?.arrayBuffer();
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 1500));
    expect(await ownerContainers(nodes.a.ownerId)).toBeGreaterThan(0);
    killedAt = Date.now();
    await nodes.a.kill("SIGKILL");
    await new Promise((r) => setTimeout(r, 3000));
    stop = true;
    await load;
    const failed = answers.filter((a) => a.status !== 200);
    console.log(
      `[cluster] ${answers.length} calls, ${failed.length} failed around the kill: ${JSON.stringify(failed.map((f) => [f.status, f.at - killedAt]))}`,
    );
    // At most the calls in flight on A when it died (one per caller), all around the kill.
    expect(failed.length).toBeLessThanOrEqual(fns.length);
    expect(failed.every((f) => f.at - killedAt < 1000)).toBe(true);
    expect(answers.filter((a) => a.at > killedAt + 1000).every((a) => a.status === 200)).toBe(true);
    await waitFor(
      "A to show as down",
      async () =>
        (await sdk(balancer).nodes.list.query()).nodes.find((n) => n.id === "node-a")?.state ===
        "down",
      10_000,
    );
    // A's containers outlived it; its next start removes them.
    expect(await ownerContainers(nodes.a.ownerId)).toBeGreaterThan(0);
    await startNode("a", { ASYNC_CONCURRENCY: "0" });
    expect(await ownerContainers(nodes.a.ownerId)).toBe(0);
    const again = (await sdk(balancer).nodes.list.query()).nodes.find((n) => n.id === "node-a");
    expect(again?.state).toBe("up");
  }, 120_000);
});

async function ownerContainers(ownerId: string) {
  return (await listOwned(ownerId)).length;
}
