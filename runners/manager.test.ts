import { afterEach, describe, expect, it, vi } from "vitest";
import type { AgentClient } from "./agent-client";
import { AgentConnectionError } from "./agent-client";
import type { RunnerConfig } from "./config";
import type { InstanceState } from "./instance-state";
import {
  CapacityError,
  EngineUnavailableError,
  type FunctionTarget,
  RunnerManager,
} from "./manager";
import type { Engine, EngineStatus, Instance, InstanceSpec, RuntimeName } from "./types";

// The manager's choices (start kinds, eviction, budget, drains, load
// failures) against a fake engine whose instances answer /init and /run in
// memory: the real engines are exercised by tests/integration/docker-*.

type Agent = (
  path: string,
  body: Record<string, unknown>,
) => Promise<{ status: number; body: unknown }>;

class FakeInstance implements Instance {
  readonly engine = "docker" as const;
  state: InstanceState = "generic";
  readonly bootMs = 0;
  readonly network = false;
  destroyed = false;
  /** Died with its engine: gone, and the engine cannot tell how. */
  dead = false;
  readonly agent: AgentClient;

  constructor(
    readonly id: string,
    readonly runtime: RuntimeName,
    public memoryMb: number,
    handle: Agent,
  ) {
    this.agent = {
      request: (_method: string, path: string, body: Record<string, unknown>) => {
        if (this.destroyed || this.dead)
          return Promise.reject(new AgentConnectionError("socket hang up"));
        return handle(path, body);
      },
    } as unknown as AgentClient;
  }

  async resize(memoryMb: number) {
    this.memoryMb = memoryMb;
  }

  async diagnose() {
    if (this.dead) return { oomKilled: false, running: false };
    return {
      oomKilled: false,
      running: !this.destroyed,
      exitCode: this.destroyed ? 137 : undefined,
    };
  }

  async destroy() {
    this.destroyed = true;
    this.state = "removing";
  }
}

class FakeEngine implements Engine {
  readonly name = "docker" as const;
  readonly launched: FakeInstance[] = [];
  /** What each instance's agent answers; a test may replace it. */
  agent: Agent = async (path, body) =>
    path === "/init"
      ? { status: 200, body: { ok: true } }
      : {
          status: 200,
          body: {
            status: 0,
            result: body.event,
            stdout: "",
            stderr: "",
            durationMs: 0.1,
            error: null,
            truncated: { stdout: false, stderr: false },
          },
        };

  status(): EngineStatus {
    return { available: true };
  }
  async start() {}
  async stop() {}
  async launch(spec: InstanceSpec) {
    const instance = new FakeInstance(
      `i${this.launched.length + 1}`,
      spec.runtime,
      spec.memoryMb,
      (p, b) => this.agent(p, b),
    );
    this.launched.push(instance);
    return instance;
  }
  get live() {
    return this.launched.filter((i) => !i.destroyed);
  }
}

function config(pools: Partial<RunnerConfig["pools"]> = {}): RunnerConfig {
  return {
    dataDir: "/nonexistent",
    ownerId: "test",
    interpreters: { python: "python3", node: "node" },
    customImages: {},
    iptables: "iptables",
    docker: { agentTransport: "auto", cpus: 1, pidsLimit: 64, tmpMb: 16 },
    nanos: {
      qemu: "qemu-system-x86_64",
      opsDir: "/nonexistent/.ops",
      accel: "tcg",
      cacheDir: "/nonexistent/nanos",
      ports: { min: 20000, max: 29999 },
      snapshots: true,
    },
    pools: {
      genericPerRuntime: 0,
      genericMemoryMb: 64,
      idleTtlMs: 60_000,
      acquireTimeoutMs: 200,
      maxInstances: 16,
      maxMemoryMb: 4096,
      ...pools,
    },
    outputLimitBytes: 1024,
    bootTimeoutMs: 1000,
  };
}

function target(name: string, settings: Partial<FunctionTarget> = {}): FunctionTarget {
  return {
    functionId: name,
    userId: "u1",
    versionId: `${name}-v1`,
    versionNumber: 1,
    runtime: "python",
    style: "handler",
    handler: `${name}.main`,
    moduleFile: `${name}.py`,
    memoryMb: 128,
    timeoutSeconds: 5,
    maxConcurrency: 4,
    minWarm: 0,
    network: false,
    env: {},
    sha256: "0".repeat(64),
    s3Key: `${name}.py`,
    ...settings,
  };
}

const managers: RunnerManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.stop()));
});

async function setup(pools: Partial<RunnerConfig["pools"]> = {}) {
  const engine = new FakeEngine();
  const manager = new RunnerManager(config(pools), [engine], async () => "code");
  managers.push(manager);
  await manager.start(() => {});
  return { engine, manager };
}

let calls = 0;
const request = (event: unknown = {}) => ({ invocationId: `c${++calls}`, args: [], event });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("runner manager", () => {
  it("boots for a first call (cold) and reuses the instance after (warm)", async () => {
    const { engine, manager } = await setup();
    const fn = target("a");
    const first = await manager.invoke("docker", fn, request({ n: 1 }));
    const second = await manager.invoke("docker", fn, request({ n: 2 }));
    expect([first.start, second.start]).toEqual(["cold", "warm"]);
    expect(second.result).toEqual({ n: 2 });
    expect(first.instanceId).toBe(second.instanceId);
    expect(engine.launched).toHaveLength(1);
    expect(second.timings.startMs).toBe(0);
  });

  it("counts a queued call that got a reused instance as warm", async () => {
    const { engine, manager } = await setup({ acquireTimeoutMs: 2000 });
    engine.agent = async (path) => {
      if (path === "/run") await sleep(50);
      return new FakeEngine().agent(path, {});
    };
    const fn = target("a", { maxConcurrency: 1 });
    const outcomes = await Promise.all(
      [1, 2, 3].map(() => manager.invoke("docker", fn, request())),
    );
    expect(outcomes.map((o) => o.start)).toEqual(["cold", "warm", "warm"]);
  });

  it("specializes a generic instance from the stock (prewarm), resized to the function's memory", async () => {
    const { engine, manager } = await setup({ genericPerRuntime: 1 });
    await sleep(10);
    expect(engine.launched.map((i) => i.runtime).sort()).toEqual(["node", "python"]);
    const outcome = await manager.invoke("docker", target("a", { memoryMb: 256 }), request());
    expect(outcome.start).toBe("prewarm");
    const used = engine.launched.find((i) => i.id === outcome.instanceId)!;
    expect(used.memoryMb).toBe(256);
    expect(manager.stats().budget.memoryMb).toBe(256 + 64 * 2); // the stock is topped up again
  });

  it("evicts the least recently used idle instance when the host budget is full", async () => {
    const { engine, manager } = await setup({ maxInstances: 2 });
    const a = await manager.invoke("docker", target("a"), request());
    const b = await manager.invoke("docker", target("b"), request());
    await manager.invoke("docker", target("a"), request()); // a is now the more recent
    const c = await manager.invoke("docker", target("c"), request());
    expect(c.start).toBe("cold");
    const byId = new Map(engine.launched.map((i) => [i.id, i]));
    expect(byId.get(b.instanceId!)!.destroyed).toBe(true);
    expect(byId.get(a.instanceId!)!.destroyed).toBe(false);
    expect(manager.stats().budget.instances).toBe(2);
  });

  it("refuses an instance larger than the whole budget", async () => {
    const { manager } = await setup({ maxMemoryMb: 256 });
    await expect(
      manager.invoke("docker", target("big", { memoryMb: 512 }), request()),
    ).rejects.toBeInstanceOf(CapacityError);
  });

  it("answers a load failure with its status, and destroys the instance", async () => {
    const { engine, manager } = await setup();
    engine.agent = async () => ({
      status: 422,
      body: { error: "SyntaxError: bad", stderr: "Traceback…" },
    });
    const outcome = await manager.invoke("docker", target("a"), request());
    expect(outcome).toMatchObject({
      status: 1,
      error: "SyntaxError: bad",
      stderr: "Traceback…",
      start: "cold",
      timeout: false,
    });
    expect(engine.live).toHaveLength(0);
    expect(manager.stats().budget.instances).toBe(0);
  });

  it("destroys an instance that dies mid-call and boots a new one for the next", async () => {
    const { engine, manager } = await setup();
    const fn = target("a");
    const first = await manager.invoke("docker", fn, request());
    engine.launched[0]!.destroyed = true; // killed from outside
    const crashed = await manager.invoke("docker", fn, request());
    expect(crashed).toMatchObject({ status: 137, error: "instance crashed" });
    const next = await manager.invoke("docker", fn, request());
    expect(next.start).toBe("cold");
    expect(next.instanceId).not.toBe(first.instanceId);
  });

  it("never lets a call that raced a change make later calls run the old settings", async () => {
    const { engine, manager } = await setup();
    const loaded: unknown[] = [];
    const answer = engine.agent;
    engine.agent = async (path, body) => {
      if (path === "/init") loaded.push(body.env);
      return answer(path, body);
    };
    const old = target("a", { env: { MODE: "old" } });
    await manager.invoke("docker", old, request());
    // Settings change (same version): the function is drained, but a call that
    // looked it up before the change arrives afterwards, with the old target.
    await manager.drainFunction("a");
    await manager.invoke("docker", old, request());
    const fresh = await manager.invoke("docker", { ...old, env: { MODE: "new" } }, request());
    expect(fresh.start).toBe("cold");
    expect(loaded).toEqual([{ MODE: "old" }, { MODE: "old" }, { MODE: "new" }]);
  });

  it("drains a changed function: its instances go, the next call boots anew", async () => {
    const { engine, manager } = await setup();
    const fn = target("a");
    await manager.invoke("docker", fn, request());
    await manager.drainFunction("a");
    expect(engine.live).toHaveLength(0);
    const after = await manager.invoke("docker", { ...fn, versionId: "a-v2" }, request());
    expect(after.start).toBe("cold");
    expect(manager.stats().budget.instances).toBe(1);
  });
});

/**
 * A fake engine behind a daemon that can go away and come back, as dockerd
 * can (the real one: tests/integration/faults/docker-restart.test.ts).
 */
class DaemonEngine extends FakeEngine {
  up = true;
  private available = true;
  starts = 0;

  override status(): EngineStatus {
    return this.available ? { available: true } : { available: false, reason: "daemon gone" };
  }
  async check() {
    if (this.available && !this.up) this.available = false;
    else if (!this.available && this.up) {
      this.starts += 1;
      this.available = true;
    }
    return this.status();
  }
  override async launch(spec: InstanceSpec) {
    if (!this.up) throw new Error("connect ENOENT /run/daemon.sock");
    return super.launch(spec);
  }
  /** The daemon stops; with `killInstances` its instances die with it (else they live on, as after a SIGKILL). */
  goDown(killInstances = true) {
    this.up = false;
    if (killInstances) for (const i of this.launched) i.dead = true;
  }
}

async function setupDaemon(pools: Partial<RunnerConfig["pools"]> = {}) {
  const engine = new DaemonEngine();
  const manager = new RunnerManager(config(pools), [engine], async () => "code");
  managers.push(manager);
  await manager.start(() => {});
  return { engine, manager };
}

describe("runner manager, engine lost and back", () => {
  it("answers a call whose instance died with the engine, refuses the next with the reason, and purges", async () => {
    const { engine, manager } = await setupDaemon({ genericPerRuntime: 1 });
    const fn = target("a");
    const before = await manager.invoke("docker", fn, request());
    await vi.waitFor(() =>
      expect(manager.stats().instances.every((r) => r.generic === 1)).toBe(true),
    );

    engine.goDown();
    // Before the watch's tick: the call finds its instance gone and the engine with it.
    const lost = await manager.invoke("docker", fn, request());
    expect(lost).toMatchObject({
      status: 1,
      error: "engine stopped",
      instanceId: before.instanceId,
    });
    expect(lost.stderr).toMatch(/engine stopped during the call.*daemon gone/);
    await expect(manager.invoke("docker", fn, request())).rejects.toThrow(
      new EngineUnavailableError("daemon gone"),
    );
    // Every instance (specialized and generic) is destroyed, none is handed out again.
    await vi.waitFor(() => expect(engine.live).toEqual([]));
    expect(manager.stats().instances.every((r) => r.generic === 0 && r.idle === 0)).toBe(true);
  });

  it("turns a boot that failed because the engine went away into its unavailability", async () => {
    const { engine, manager } = await setupDaemon();
    engine.goDown();
    await expect(manager.invoke("docker", target("a"), request())).rejects.toThrow(
      EngineUnavailableError,
    );
  });

  it("never hands an instance freed after the loss to a call that waited for it", async () => {
    const { engine, manager } = await setupDaemon({ acquireTimeoutMs: 5000 });
    engine.agent = async (path) => {
      // Long enough for the watch (1 s ticks) to notice the loss while the call runs.
      if (path === "/run") await sleep(1500);
      return new FakeEngine().agent(path, {});
    };
    const fn = target("a", { maxConcurrency: 1 });
    await manager.invoke("docker", fn, request());
    const first = manager.invoke("docker", fn, request());
    await sleep(20);
    const waiting = manager.invoke("docker", fn, request());
    // The instance lives on (dockerd killed, its containers not): the call in progress finishes.
    engine.goDown(false);
    expect((await first).status).toBe(0);
    await expect(waiting).rejects.toThrow(new EngineUnavailableError("daemon gone"));
    await vi.waitFor(() => expect(engine.live).toEqual([]));
  });

  it("comes back by itself: the stock refills, warm minimums are called for, new instances serve", async () => {
    const { engine, manager } = await setupDaemon({ genericPerRuntime: 1 });
    const availableAgain: string[] = [];
    manager.onEngineAvailable((name) => availableAgain.push(name));
    const fn = target("a");
    const before = await manager.invoke("docker", fn, request());
    engine.goDown();
    await vi.waitFor(() => expect(manager.engineStatus("docker").available).toBe(false), {
      timeout: 3000,
    });
    const oldIds = new Set(engine.launched.map((i) => i.id));

    engine.up = true;
    await vi.waitFor(() => expect(manager.engineStatus("docker").available).toBe(true), {
      timeout: 3000,
    });
    expect(engine.starts).toBe(1);
    expect(availableAgain).toEqual(["docker"]);
    await vi.waitFor(() =>
      expect(manager.stats().instances.every((r) => r.generic === 1)).toBe(true),
    );
    const after = await manager.invoke("docker", fn, request());
    expect(after.status).toBe(0);
    expect(after.instanceId).not.toBe(before.instanceId);
    expect(oldIds.has(after.instanceId!)).toBe(false);
  });
});
