import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../runners/labels";
import { startTestApp, type TestApp } from "../helpers/app";
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

// What a container keeps in and out: state, other functions, other users, the
// network, and what a function does to itself (endless loops, memory, fork
// bombs, floods, a kill from outside). No generic stock here, so every first
// call is a cold boot.

const OUTPUT_LIMIT = 64 * 1024;

let app: TestApp;
let alice: Tenant;
let bob: Tenant;

beforeAll(async () => {
  app = await startTestApp({
    ...DOCKER_ENV,
    POOL_GENERIC_PER_RUNTIME: "0",
    POOL_QUEUE_TIMEOUT_MS: "300",
    OUTPUT_LIMIT_BYTES: String(OUTPUT_LIMIT),
  });
  [alice, bob] = await Promise.all([
    createTenant(app, "alice@example.com"),
    createTenant(app, "bob@example.com"),
  ]);
});

afterAll(async () => {
  const owner = app && ownerOf(app);
  await app?.close();
  if (owner) await removeOwnerContainers(owner);
});

/** A Python handler that reports its container (hostname) and does what the event asks. */
const PROBE = `import os, socket, time

def main(event, context):
    path = "/tmp/note.txt"
    seen = open(path).read() if os.path.exists(path) else None
    if "write" in event:
        with open(path, "w") as f:
            f.write(event["write"])
    if "sleep" in event:
        time.sleep(float(event["sleep"]))
    if "spin" in event:
        while True:
            pass
    if "allocate_mb" in event:
        hoard = [b"x" * (1 << 20) for _ in range(int(event["allocate_mb"]))]
    if "fork" in event:
        while True:
            try:
                os.fork()
            except Exception:
                pass  # EAGAIN at the pids limit, or MemoryError: keep going
    return {"host": socket.gethostname(), "seen": seen}
`;

function probe(tenant: Tenant, name: string, settings: Record<string, unknown> = {}) {
  return deploy(tenant, {
    name,
    runtime: "python",
    handler: `${name.replaceAll("-", "_")}.main`,
    memoryMb: 64,
    code: PROBE,
    ...settings,
  });
}

type Probe = { host: string; seen: string | null };

async function hostOf(fn: Deployed, tenant: Tenant = alice): Promise<string> {
  return ((await callOk(app, tenant, fn)).result as Probe).host;
}

/** Waits for the container (by the hostname a function reported) to be removed. */
function gone(host: string) {
  return waitFor(`container ${host} to be removed`, async () => (await containerOf(host)) === null);
}

describe("state", () => {
  it("a first call boots a new instance (cold), the next one reuses it (warm)", async () => {
    const fn = await probe(alice, "kinds");
    const first = await callOk(app, alice, fn);
    expect(first.start).toBe("cold");
    expect(first.timings.startMs).toBeGreaterThan(0);
    const second = await callOk(app, alice, fn);
    expect(second.start).toBe("warm");
    expect((second.result as Probe).host).toBe((first.result as Probe).host);
  });

  it("is kept between warm calls and never shared across functions or users", async () => {
    const [mine, other, theirs] = await Promise.all([
      probe(alice, "notes"),
      probe(alice, "other-notes"),
      probe(bob, "notes"),
    ]);
    const wrote = (await callOk(app, alice, mine, { body: { write: "alice's secret" } }))
      .result as Probe;
    expect(wrote.seen).toBeNull();
    const again = (await callOk(app, alice, mine)).result as Probe;
    expect(again).toEqual({ host: wrote.host, seen: "alice's secret" });

    // Same user, another function; another user, the same code and handler.
    const sibling = (await callOk(app, alice, other)).result as Probe;
    const stranger = (await callOk(app, bob, theirs)).result as Probe;
    expect(sibling.seen).toBeNull();
    expect(stranger.seen).toBeNull();
    const hosts = [wrote.host, sibling.host, stranger.host];
    expect(new Set(hosts).size).toBe(3);

    // Three containers of this app, three host processes, three instance ids.
    const containers = await Promise.all(hosts.map((h) => containerOf(h)));
    for (const c of containers) expect(c?.Config.Labels[LABELS.owner]).toBe(ownerOf(app));
    expect(new Set(containers.map((c) => c?.State.Pid)).size).toBe(3);
    expect(new Set(containers.map((c) => c?.Config.Labels[LABELS.instanceId])).size).toBe(3);
  });
});

describe("limits", () => {
  it("a fork bomb stays inside the pids limit; the host is fine and the next call works", async () => {
    const fn = await probe(alice, "bomb", { timeoutSeconds: 2 });
    const host = await hostOf(fn);
    const bombing = call(app, alice, fn, { query: { fork: "1" } });
    // While it runs: the container never holds more tasks than its pids limit.
    const container = docker.getContainer(host);
    const peak = await waitFor("the bomb to reach the pids limit", async () => {
      const top = await container.top().catch(() => null);
      const count = top?.Processes?.length ?? 0;
      return count >= 32 ? count : null;
    });
    const limit = app.services.config.runners.docker.pidsLimit;
    expect(peak).toBeLessThanOrEqual(limit);
    // The host can still start processes, promptly.
    const started = performance.now();
    await promisify(execFile)("true");
    expect(performance.now() - started).toBeLessThan(2000);

    // Every process of the bomb forks forever: the call ends at its deadline, with the instance.
    const { http, body } = await bombing;
    // ...or at the memory limit, when the bomb's copies fill it first.
    if (body.status === 137)
      expect({ http, body }).toMatchObject({
        http: 200,
        body: { status: 137, error: "out of memory", timeout: false },
      });
    else expect({ http, body }).toMatchObject({ http: 504, body: { status: 124, timeout: true } });
    await gone(host);
    expect(await hostOf(fn)).not.toBe(host);
  });

  it("code that hangs, runs out of memory or exits while loading is answered like a call that did", async () => {
    const loading = (name: string, top: string) =>
      deploy(alice, {
        name,
        runtime: "python",
        handler: `${name.replaceAll("-", "_")}.main`,
        memoryMb: 64,
        timeoutSeconds: 1,
        code: `${top}\n\ndef main(event, context):\n    return 1\n`,
      });
    const [hangs, hogs, exits] = await Promise.all([
      loading("load-hangs", "while True:\n    pass"),
      loading("load-hogs", "hoard = [b'x' * (1 << 20) for _ in range(500)]"),
      loading("load-exits", "import os\nos._exit(3)"),
    ]);
    const [hung, hogged, exited] = await Promise.all([
      call(app, alice, hangs),
      call(app, alice, hogs),
      call(app, alice, exits),
    ]);
    // The function's own timeout bounds its loading too, not the platform's boot timeout.
    expect(hung.http).toBe(504);
    expect(hung.ms).toBeLessThan(5000);
    expect(hung.body).toMatchObject({
      status: 124,
      timeout: true,
      error: "timeout",
      start: "cold",
    });
    expect(hung.body.stderr).toBe(
      "Timed out after 1 s while loading the function; the instance was stopped.",
    );
    expect(hogged.http).toBe(200);
    expect(hogged.body).toMatchObject({ status: 137, timeout: false, error: "out of memory" });
    expect(hogged.body.stderr).toMatch(/^Out of memory while loading: .* 64 MB/);
    expect(exited.http).toBe(200);
    expect(exited.body).toMatchObject({ status: 1, error: "instance crashed" });
    expect(exited.body.stderr).toBe(
      "The instance stopped while loading the function (exit code 3).",
    );
  });

  it("a call over the function's concurrency answers 429", async () => {
    const fn = await probe(alice, "single", { maxConcurrency: 1 });
    const host = await hostOf(fn);
    const slow = call(app, alice, fn, { query: { sleep: "1.5" } });
    await new Promise((r) => setTimeout(r, 150));
    const refused = await call(app, alice, fn);
    expect(refused.http).toBe(429);
    expect(refused.body.error).toMatch(/Over this function's concurrency \(1\)/);
    // Refused after the queue timeout (300 ms), not after the slow call.
    expect(refused.ms).toBeLessThan(1200);
    const { http, body } = await slow;
    expect(http).toBe(200);
    expect((body.result as Probe).host).toBe(host);
    expect((await call(app, alice, fn)).http).toBe(200);
  });
});

describe("an instance killed from outside", () => {
  it("answers the call with an error, and the pool heals with a new instance", async () => {
    const fn = await probe(alice, "victim", { timeoutSeconds: 10 });
    const host = await hostOf(fn);
    const slow = call(app, alice, fn, { query: { sleep: "5" } });
    await new Promise((r) => setTimeout(r, 300));
    // Only this app's containers are candidates; the one running the call carries its instance id.
    const mine = await ownerContainers(ownerOf(app), false);
    const target = mine.find((c) => c.Id.startsWith(host));
    expect(target?.Labels[LABELS.instanceId]).toMatch(/^[0-9a-f]{12}$/);
    await docker.getContainer(target!.Id).kill();

    const { http, body, ms } = await slow;
    expect(http).toBe(200);
    expect(body).toMatchObject({ status: 137, timeout: false, error: "instance crashed" });
    expect(body.stderr).toMatch(/The instance stopped during the call \(exit code 137\)/);
    expect(ms).toBeLessThan(4000);
    await gone(host);
    const healed = await callOk(app, alice, fn);
    expect(healed.start).toBe("cold");
    expect((healed.result as Probe).host).not.toBe(host);
  });
});
