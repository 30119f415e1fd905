import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LABELS } from "../../../runners/labels";
import { type PrivateDockerd, startPrivateDockerd } from "../../../scripts/lib/private-dockerd";
import { startTestApp, type TestApp } from "../../helpers/app";
import {
  type CallResult,
  call,
  callOk,
  createTenant,
  type Deployed,
  DOCKER_ENV,
  deploy,
  type Tenant,
  waitFor,
} from "../../helpers/docker";

// The Docker engine (a private dockerd, see the helper) goes away while calls
// run, and comes back, without Cloudless restarting: first an engine that is
// not running when Cloudless starts and is started later (it builds the
// runtime images then), then dockerd stopped with SIGTERM (it stops its
// containers, ~10 s, then exits) and with SIGKILL (dockerd and its containerd
// die at once; the containers live on until dockerd starts again and stops
// them). Three callers keep calling a warm function throughout; one long call
// is in flight at each stop.

const METRICS_TOKEN = "metrics-token-docker-restart";
/** From the engine answering again to calls answering 200: the watch's tick plus start() with images present. */
const BACK_WITHIN_MS = 30_000;

let dockerd: PrivateDockerd;
let app: TestApp;
let tenant: Tenant;
let fn: Deployed;
const answered: string[] = [];
const hostsSeen = new Set<string>();

/** Reports its container (the hostname is the container's short id); sleeps when asked. */
const CODE = `import socket, time

def main(event, context):
    if "sleep" in event:
        time.sleep(float(event["sleep"]))
    return {"host": socket.gethostname()}
`;

interface Answer extends CallResult {
  startedAt: number;
  endedAt: number;
}

function timed(query: Record<string, string> = {}): Promise<Answer> {
  const startedAt = Date.now();
  return call(app, tenant, fn, { query }).then((result) => {
    if (result.http === 200) answered.push(result.body.invocationId);
    const host = (result.body.result as { host?: string } | null)?.host;
    if (host) hostsSeen.add(host);
    return { ...result, startedAt, endedAt: Date.now() };
  });
}

/** Callers calling the function back to back until stopped. */
function loadGenerator(callers: number) {
  const answers: Answer[] = [];
  let running = true;
  const loops = Array.from({ length: callers }, async () => {
    while (running) {
      const answer = await timed();
      answers.push(answer);
      // A 503 is immediate: do not spin the two cores while the engine is away.
      if (answer.http !== 200) await new Promise((r) => setTimeout(r, 20));
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** When the manager's view of the engine first matches `available`, polled every 20 ms. */
function watchAvailability(available: boolean) {
  return waitFor(
    `docker ${available ? "available" : "unavailable"}`,
    () => (app.services.runners.engineStatus("docker").available === available ? Date.now() : 0),
    180_000,
    20,
  );
}

async function metricsAvailable(): Promise<number> {
  const res = await fetch(`${app.url}/metrics`, {
    headers: { authorization: `Bearer ${METRICS_TOKEN}` },
  });
  const text = await res.text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith('cloudless_engine_available{engine="docker"}'));
  return Number(line?.split(" ")[1]);
}

async function ourContainers() {
  return dockerd.docker.listContainers({
    all: true,
    filters: { label: [`${LABELS.owner}=${app.services.config.runners.ownerId}`] },
  });
}

function countBy(answers: Answer[]) {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = a.http === 200 ? `200 status ${a.body.status}` : `${a.http} ${a.body.error}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

beforeAll(async () => {
  dockerd = await startPrivateDockerd({ name: "restart" });
  // Not running when Cloudless starts.
  await dockerd.terminate();
  app = await startTestApp({
    ...DOCKER_ENV,
    DOCKER_HOST: dockerd.socketHost,
    METRICS_TOKEN,
    POOL_GENERIC_PER_RUNTIME: "1",
  });
  tenant = await createTenant(app, "docker-restart@example.com");
  fn = await deploy(tenant, {
    name: "host",
    runtime: "python",
    handler: "host.main",
    style: "handler",
    code: CODE,
    memoryMb: 64,
    timeoutSeconds: 30,
    maxConcurrency: 6,
    minWarm: 1,
  });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await dockerd?.stop();
});

describe("the Docker engine restarted while calls run", () => {
  it("comes up by itself when dockerd starts after Cloudless", async () => {
    const refused = await timed();
    expect(refused.http).toBe(503);
    expect(refused.body.error).toBe("The docker engine is unavailable");
    expect(refused.body.reason).toMatch(
      /^Cannot reach the Docker engine at unix:\/\/.*docker\.sock/,
    );
    expect(refused.endedAt - refused.startedAt).toBeLessThan(2000);
    expect(await metricsAvailable()).toBe(0);

    const started = Date.now();
    await dockerd.restart();
    const answering = Date.now();
    const availableAt = await watchAvailability(true);
    // The first start on a fresh data root builds both runtime images.
    console.log(
      `[docker-restart] dockerd answered after ${answering - started} ms; engine available ${availableAt - answering} ms later (images built)`,
    );
    expect(await metricsAvailable()).toBe(1);
    expect((await callOk(app, tenant, fn)).result).toEqual({ host: expect.any(String) });
    // The warm minimum and the generic stock come back without a call.
    await waitFor(
      "warm minimum and generic stock",
      () => {
        const rows = app.services.runners.stats().instances.filter((r) => r.engine === "docker");
        const python = rows.find((r) => r.runtime === "python");
        const node = rows.find((r) => r.runtime === "node");
        return (python?.idle ?? 0) >= 1 && (python?.generic ?? 0) >= 1 && (node?.generic ?? 0) >= 1;
      },
      30_000,
    );
  }, 240_000);

  for (const how of ["SIGTERM", "SIGKILL"] as const) {
    it(`answers 503 while dockerd is away (${how}) and serves again on new containers once it is back`, async () => {
      const load = loadGenerator(3);
      await waitFor(
        "warm calls",
        () => load.answers.filter((a) => a.http === 200).length >= 30,
        20_000,
      );
      const hostsBefore = new Set(hostsSeen);
      const long = timed({ sleep: "20" });
      await new Promise((r) => setTimeout(r, 300));

      const stoppedAt = Date.now();
      const down = watchAvailability(false);
      if (how === "SIGTERM") await dockerd.terminate();
      else await dockerd.kill();
      const downAt = await down;
      expect(await metricsAvailable()).toBe(0);
      // Some outage with the callers calling.
      await new Promise((r) => setTimeout(r, 3000));

      const restartAt = Date.now();
      const back = watchAvailability(true);
      await dockerd.restart();
      const answeringAt = Date.now();
      const backAt = await back;
      await waitFor("a 200 after the restart", () =>
        load.answers.some((a) => a.startedAt > backAt && a.http === 200),
      );
      await new Promise((r) => setTimeout(r, 1500));
      await load.stop();
      const longAnswer = await long;
      const answers = load.answers;
      const firstOk = Math.min(
        ...answers.filter((a) => a.startedAt > restartAt && a.http === 200).map((a) => a.endedAt),
      );
      console.log(
        `[docker-restart ${how}] noticed ${downAt - stoppedAt} ms after the signal; dockerd answered ${answeringAt - restartAt} ms after its start; available ${backAt - answeringAt} ms later; first 200 ${firstOk - answeringAt} ms after dockerd answered; answers: ${JSON.stringify(countBy(answers))}; long call: ${longAnswer.http} ${longAnswer.body.error} after ${longAnswer.endedAt - longAnswer.startedAt} ms`,
      );

      // Only 200s and 503s with the reason; no 500, no other status.
      for (const a of answers) {
        expect([200, 503], JSON.stringify(a.body)).toContain(a.http);
        if (a.http === 200) expect(a.body.status, JSON.stringify(a.body)).toBe(0);
        if (a.http === 503) {
          expect(a.body.error).toBe("The docker engine is unavailable");
          expect(a.body.reason).toMatch(/Docker engine|docker engine/);
          expect(a.endedAt).toBeGreaterThanOrEqual(stoppedAt);
          // Refused at once once the loss is known, not after a wait on the dead engine; a call
          // caught booting at the stop waits at most for that boot to fail.
          expect(a.endedAt - a.startedAt).toBeLessThan(a.startedAt > downAt ? 2000 : 30_000);
        }
      }
      // While the engine was known to be away, every call was refused.
      const during = answers.filter((a) => a.startedAt > downAt + 100 && a.endedAt < restartAt);
      expect(during.length).toBeGreaterThan(10);
      expect(during.every((a) => a.http === 503)).toBe(true);
      // Once it is back, every call runs.
      const after = answers.filter((a) => a.startedAt > backAt + 100);
      expect(after.length).toBeGreaterThan(3);
      expect(after.every((a) => a.http === 200)).toBe(true);
      expect(firstOk - answeringAt).toBeLessThan(BACK_WITHIN_MS);

      // The call in flight: an error status in time, never a hang (its timeout is 30 s).
      expect(longAnswer.endedAt - longAnswer.startedAt).toBeLessThan(30_000);
      if (longAnswer.http === 200 && longAnswer.body.status === 0) {
        // SIGKILL: the container lived on and finished it before dockerd came back.
        expect(how).toBe("SIGKILL");
      } else {
        expect(longAnswer.http).toBe(200);
        expect([1, 137]).toContain(longAnswer.body.status);
        expect(["engine stopped", "instance crashed"]).toContain(longAnswer.body.error);
      }

      // No container from before the restart served after it; those that did are the new engine's.
      const hostsAfter = after.map((a) => (a.body.result as { host: string }).host);
      expect(hostsAfter.filter((h) => hostsBefore.has(h))).toEqual([]);
      const live = await ourContainers();
      for (const host of new Set(hostsAfter)) {
        const container = live.find((c) => c.Id.startsWith(host));
        expect(container, host).toBeDefined();
        expect(container!.Created * 1000).toBeGreaterThanOrEqual(restartAt - 1000);
      }
      // The containers of before were removed at the engine's start.
      for (const host of hostsBefore) expect(live.some((c) => c.Id.startsWith(host))).toBe(false);

      // Every answered call has its record.
      await waitFor(
        "every answered call's record",
        async () =>
          (await app.services.db.invocation.count({ where: { id: { in: answered } } })) ===
          answered.length,
        15_000,
        200,
      );
    }, 150_000);
  }
});
