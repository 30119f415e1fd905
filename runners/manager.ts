import { createHash } from "node:crypto";
import { AgentConnectionError, AgentTimeoutError, type RunResult } from "./agent-client";
import type { RunnerConfig } from "./config";
import { EngineWatch } from "./engine-watch";
import { transition } from "./instance-state";
import { HostBudget } from "./pools/budget";
import { destroyWithin } from "./pools/destroy-within";
import {
  type CallPriority,
  ConcurrencyLimitError,
  FunctionPool,
  type PooledInstance,
} from "./pools/function-pool";
import { GenericStock } from "./pools/generic-stock";
import {
  type Engine,
  type EngineName,
  type EngineStatus,
  EngineUnavailableError,
  type Instance,
  RUNTIMES,
  type RuntimeName,
  type StartKind,
} from "./types";

export { type CallPriority, ConcurrencyLimitError, EngineUnavailableError };

/** One function version with the settings its instances need. */
export interface FunctionTarget {
  functionId: string;
  userId: string;
  versionId: string;
  versionNumber: number;
  runtime: RuntimeName;
  style: "script" | "handler";
  handler: string;
  /** `<module>.<ext>`, the name the code is loaded under. */
  moduleFile: string;
  memoryMb: number;
  timeoutSeconds: number;
  maxConcurrency: number;
  minWarm: number;
  network: boolean;
  env: Record<string, string>;
  sha256: string;
  s3Key: string;
}

export interface InvokeRequest {
  invocationId: string;
  args: string[];
  event: unknown;
}

export interface InvokeOutcome {
  status: number;
  result: unknown;
  stdout: string;
  stderr: string;
  error: string | null;
  timeout: boolean;
  /** Time in user code (agent's measure), or until the deadline. */
  durationMs: number;
  start: StartKind;
  /** How the instance came up: booted, or restored from a saved VM (Nanos); null for Docker. */
  bootMode: "boot" | "restore" | null;
  instanceId: string | null;
  /** Output, and a returned value, cut at OUTPUT_LIMIT_BYTES (then ending with the marker). */
  truncated: { stdout: boolean; stderr: boolean; result?: boolean };
  timings: { queueMs: number; startMs: number; execMs: number; totalMs: number };
}

/**
 * The function's code failed to load in a fresh instance: a syntax error or
 * an exception at import (status 1), or code that hung (124, a timeout) or
 * killed its instance (137 when killed, else 1) while loading.
 */
export class FunctionLoadError extends Error {
  constructor(
    message: string,
    readonly stderr: string,
    readonly outcome: { status: number; timeout: boolean; start: StartKind } = {
      status: 1,
      timeout: false,
      start: "cold",
    },
  ) {
    super(message);
    this.name = "FunctionLoadError";
  }
}

export class CapacityError extends Error {}

export type CodeProvider = (target: FunctionTarget) => Promise<string>;

const EXIT = { timeout: 124, killed: 137 } as const;

/**
 * Keeps warm pools per engine and answers invocations: idle specialized
 * instance (warm) → generic prewarmed one specialized now (prewarm) → a new
 * boot (cold). Bounds the host with one budget and evicts least recently used
 * idle instances when something new must start.
 */
export class RunnerManager {
  private readonly engines = new Map<EngineName, Engine>();
  private readonly pools = new Map<
    string,
    { pool: FunctionPool; target: FunctionTarget; engine: EngineName }
  >();
  private readonly stocks = new Map<string, GenericStock>();
  private readonly settingsKeys = new WeakMap<FunctionTarget, string>();
  private readonly budget: HostBudget;
  private stopping = false;
  /** Probes of the engines behind a daemon (dockerd): loss purges their pools, return refills them. */
  private readonly watches = new Map<EngineName, EngineWatch>();
  /** Pools of an engine that was lost: what they still hand out is refused. */
  private readonly retired = new WeakSet<FunctionPool>();
  private readonly availableListeners: Array<(engine: EngineName) => void> = [];

  constructor(
    private readonly config: RunnerConfig,
    engines: Engine[],
    private readonly code: CodeProvider,
    private readonly log: (line: string) => void = () => {},
  ) {
    for (const engine of engines) this.engines.set(engine.name, engine);
    this.budget = new HostBudget(config.pools);
  }

  async start(progress: (line: string) => void = this.log) {
    await Promise.all(
      [...this.engines.values()].map(async (engine) => {
        await engine.start((line) => progress(`[${engine.name}] ${line}`));
        const status = engine.status();
        progress(
          `[${engine.name}] ${status.available ? `available${status.detail ? ` (${status.detail})` : ""}` : `unavailable: ${status.reason}`}`,
        );
        for (const runtime of RUNTIMES) {
          const stock = new GenericStock(engine, runtime, {
            target: this.config.pools.genericPerRuntime,
            memoryMb: this.config.pools.genericMemoryMb,
            reserve: (mb) => this.budget.tryReserve(mb),
            release: (mb) => this.budget.release(mb),
            log: this.log,
          });
          this.stocks.set(`${engine.name}:${runtime}`, stock);
          stock.refill();
        }
        if (engine.check) {
          const watch = new EngineWatch(engine as Engine & Required<Pick<Engine, "check">>, {
            lost: (reason) => this.engineLost(engine, reason),
            back: () => this.engineBack(engine),
          });
          this.watches.set(engine.name, watch);
          watch.start();
        }
      }),
    );
  }

  /** Called with the engine's name each time an engine becomes available after start (warm minimums). */
  onEngineAvailable(listener: (engine: EngineName) => void) {
    this.availableListeners.push(listener);
  }

  /**
   * The engine stopped answering: its instances died with it (or will when it
   * comes back), so none is handed out again. Idle ones are destroyed now,
   * busy ones when their call ends; destroys do not wait on the dead engine.
   */
  private engineLost(engine: Engine, reason: string) {
    this.log(`[${engine.name}] unavailable: ${reason}`);
    for (const [key, entry] of this.pools) {
      if (entry.engine !== engine.name) continue;
      this.pools.delete(key);
      this.retired.add(entry.pool);
      void entry.pool.purge().catch(() => {});
    }
    for (const runtime of RUNTIMES) void this.stocks.get(`${engine.name}:${runtime}`)?.purge();
  }

  private engineBack(engine: Engine) {
    const status = engine.status();
    this.log(
      `[${engine.name}] available again${status.available && status.detail ? ` (${status.detail})` : ""}`,
    );
    if (this.stopping) return;
    for (const runtime of RUNTIMES) this.stocks.get(`${engine.name}:${runtime}`)?.refill();
    for (const listener of this.availableListeners) listener(engine.name);
  }

  /**
   * After an instance or a launch failed: whether its engine is gone (probed
   * now, not at the watch's next tick), with the reason. Engines without a
   * daemon are never gone this way.
   */
  private async engineGone(engine: Engine): Promise<string | null> {
    const watch = this.watches.get(engine.name);
    if (!watch) return null;
    await watch.checkNow();
    const status = engine.status();
    return status.available ? null : status.reason;
  }

  engineStatus(name: EngineName): EngineStatus {
    const engine = this.engines.get(name);
    return engine
      ? engine.status()
      : { available: false, reason: `Engine ${name} is not configured` };
  }

  /** Instance counts per engine and runtime, for dashboards and metrics. */
  stats() {
    const rows: Array<{
      engine: EngineName;
      runtime: RuntimeName;
      generic: number;
      idle: number;
      busy: number;
    }> = [];
    for (const engine of this.engines.keys()) {
      for (const runtime of RUNTIMES) {
        let idle = 0;
        let busy = 0;
        for (const entry of this.pools.values()) {
          if (entry.engine !== engine || entry.target.runtime !== runtime) continue;
          idle += entry.pool.stats.available;
          busy += entry.pool.stats.borrowed;
        }
        rows.push({
          engine,
          runtime,
          generic: this.stocks.get(`${engine}:${runtime}`)?.size ?? 0,
          idle,
          busy,
        });
      }
    }
    return { instances: rows, budget: this.budget.usage() };
  }

  async invoke(
    engineName: EngineName,
    target: FunctionTarget,
    request: InvokeRequest,
    priority: CallPriority = "sync",
  ): Promise<InvokeOutcome> {
    const engine = this.engines.get(engineName);
    const status = this.engineStatus(engineName);
    if (!engine || !status.available) {
      throw new EngineUnavailableError(status.available ? "engine missing" : status.reason);
    }
    if (this.stopping) throw new EngineUnavailableError("Cloudless is shutting down");
    const started = performance.now();
    const pool = this.poolFor(engine, target);
    let pooled: PooledInstance;
    try {
      pooled = await pool.acquire(priority);
    } catch (error) {
      if (error instanceof FunctionLoadError) return this.loadFailure(error, started);
      if (this.retired.has(pool)) throw new EngineUnavailableError(this.unavailableReason(engine));
      throw error;
    }
    if (this.retired.has(pool)) {
      // Freed by a call that ended after the engine was lost: it died with the engine.
      this.discard(pool, pooled);
      throw new EngineUnavailableError(this.unavailableReason(engine));
    }
    const acquired = performance.now();
    // Only an instance's first call can pay for its start, and only if it was
    // not ready before the call came (a warm minimum booted ahead is warm). A
    // queued call that gets a reused instance is warm however long it waited.
    const start: StartKind = pooled.calls > 0 || pooled.readyAt < started ? "warm" : pooled.origin;
    const { instance } = pooled;
    instance.state = transition(instance.state, "acquired");
    pooled.calls += 1;

    const timeoutMs = target.timeoutSeconds * 1000;
    const deadlineMs = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const base = {
      start,
      bootMode: instance.bootMode ?? null,
      instanceId: instance.id,
      truncated: { stdout: false, stderr: false },
    };
    try {
      const answer = await Promise.race([
        instance.agent.request<RunResult>("POST", "/run", {
          invocationId: request.invocationId,
          args: request.args,
          event: request.event,
          deadlineMs,
        }),
        timedOut,
      ]);
      const finished = performance.now();
      const timings = this.timings(started, acquired, finished, start, pooled);
      if (answer === "timeout") {
        // The platform owns the deadline: the instance is killed, never reused.
        this.discard(pool, pooled);
        return {
          ...base,
          status: EXIT.timeout,
          result: null,
          stdout: "",
          stderr: `Timed out after ${target.timeoutSeconds} s; the instance was stopped.`,
          error: "timeout",
          timeout: true,
          durationMs: timeoutMs,
          timings,
        };
      }
      if (answer.status !== 200) {
        this.discard(pool, pooled);
        const body = answer.body as unknown as { error?: string } | null;
        throw new Error(`Agent refused the call (${answer.status}): ${body?.error ?? "no reason"}`);
      }
      const run = answer.body;
      if (run.lingering) {
        // Work the call left running would run on into the next call (its
        // output is already kept out of it): the instance is not reused.
        this.discard(pool, pooled);
      } else {
        instance.state = transition(instance.state, "released");
        void pool.release(pooled);
      }
      return {
        ...base,
        status: run.status,
        result: run.result,
        stdout: run.stdout,
        stderr: run.stderr,
        error: run.error,
        timeout: false,
        durationMs: run.durationMs,
        truncated: run.truncated ?? base.truncated,
        timings,
      };
    } catch (error) {
      if (!(error instanceof AgentConnectionError)) throw error;
      // The instance died mid-call (killed from outside, out of memory, crashed).
      const diagnosis = await instance.diagnose();
      this.discard(pool, pooled);
      // No exit code: the engine could not say, perhaps because it went away with the instance.
      const gone = diagnosis.exitCode === undefined ? await this.engineGone(engine) : null;
      const finished = performance.now();
      if (gone) {
        return {
          ...base,
          status: 1,
          result: null,
          stdout: "",
          stderr: `The ${engine.name} engine stopped during the call and the instance with it: ${gone}`,
          error: "engine stopped",
          timeout: false,
          durationMs: finished - acquired,
          timings: this.timings(started, acquired, finished, start, pooled),
        };
      }
      const oom = diagnosis.oomKilled;
      return {
        ...base,
        status: oom ? EXIT.killed : diagnosis.exitCode === 137 ? EXIT.killed : 1,
        result: null,
        stdout: "",
        stderr: oom
          ? `Out of memory: the function used more than its ${target.memoryMb} MB and was killed.`
          : `The instance stopped during the call (${diagnosis.running ? error.message : `exit code ${diagnosis.exitCode ?? "unknown"}`}).`,
        error: oom ? "out of memory" : "instance crashed",
        timeout: false,
        durationMs: finished - acquired,
        timings: this.timings(started, acquired, finished, start, pooled),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  private unavailableReason(engine: Engine) {
    const status = engine.status();
    return status.available ? `The ${engine.name} engine restarted; try again` : status.reason;
  }

  private timings(
    started: number,
    acquired: number,
    finished: number,
    start: StartKind,
    pooled: PooledInstance,
  ) {
    const waited = acquired - started;
    const startMs = start === "warm" ? 0 : Math.min(waited, pooled.provisionMs ?? waited);
    return {
      queueMs: round(waited - startMs),
      startMs: round(startMs),
      execMs: round(finished - acquired),
      totalMs: round(finished - started),
    };
  }

  private loadFailure(error: FunctionLoadError, started: number): InvokeOutcome {
    const totalMs = round(performance.now() - started);
    return {
      status: error.outcome.status,
      result: null,
      stdout: "",
      stderr: error.stderr || error.message,
      error: error.message,
      timeout: error.outcome.timeout,
      durationMs: 0,
      start: error.outcome.start,
      bootMode: null,
      instanceId: null,
      truncated: { stdout: false, stderr: false },
      timings: { queueMs: 0, startMs: totalMs, execMs: 0, totalMs },
    };
  }

  private discard(pool: FunctionPool, pooled: PooledInstance) {
    if (pooled.instance.state !== "removing")
      pooled.instance.state = transition(pooled.instance.state, "failed");
    void pool.destroy(pooled).catch((e) => this.log(`destroy failed: ${(e as Error).message}`));
  }

  /**
   * One pool per engine, function version and settings. Settings are part of
   * the key because a call that looked the function up just before a change
   * may reach here after the drain: its pool must not be the one later calls,
   * with the new settings, find under the same version.
   */
  private poolKey(engine: EngineName, target: FunctionTarget) {
    let settings = this.settingsKeys.get(target);
    if (settings === undefined) {
      settings = createHash("sha256").update(JSON.stringify(target)).digest("hex").slice(0, 16);
      // Targets are cached objects (FunctionDirectory), so warm calls hash nothing.
      this.settingsKeys.set(target, settings);
    }
    return `${engine}:${target.functionId}:${target.versionId}:${settings}`;
  }

  private poolFor(engine: Engine, target: FunctionTarget): FunctionPool {
    const key = this.poolKey(engine.name, target);
    const existing = this.pools.get(key);
    if (existing) return existing.pool;
    const pool = new FunctionPool({
      min: Math.min(target.minWarm, target.maxConcurrency),
      max: target.maxConcurrency,
      idleTtlMs: this.config.pools.idleTtlMs,
      queueTimeoutMs: this.config.pools.acquireTimeoutMs,
      bootTimeoutMs: this.config.bootTimeoutMs,
      provision: () => this.provision(engine, target),
      destroy: async (pooled) => {
        if (pooled.instance.state !== "removing")
          pooled.instance.state = transition(pooled.instance.state, "remove");
        this.budget.release(pooled.instance.memoryMb);
        await destroyWithin(pooled.instance);
      },
      onError: (error) =>
        this.log(
          `[${engine.name}] function ${target.functionId}: ${(error as Error).message ?? error}`,
        ),
    });
    this.pools.set(key, { pool, target, engine: engine.name });
    return pool;
  }

  /** A specialized instance: a generic one from the stock (prewarm) or a new boot (cold). */
  private async provision(engine: Engine, target: FunctionTarget): Promise<PooledInstance> {
    const began = performance.now();
    const stock = target.network ? undefined : this.stocks.get(`${engine.name}:${target.runtime}`);
    let instance = stock?.take(target.memoryMb);
    const origin: PooledInstance["origin"] = instance ? "prewarm" : "cold";
    if (instance) {
      const from = instance.memoryMb;
      if (!this.budget.tryResize(from, target.memoryMb)) {
        await this.makeRoom(target.memoryMb - from, () =>
          this.budget.tryResize(from, target.memoryMb),
        );
      }
      try {
        await instance.resize?.(target.memoryMb);
      } catch (error) {
        this.budget.release(target.memoryMb);
        await destroyWithin(instance);
        throw await this.launchFailure(engine, error);
      }
    } else {
      await this.makeRoom(target.memoryMb, () => this.budget.tryReserve(target.memoryMb));
      try {
        instance = await engine.launch({
          runtime: target.runtime,
          memoryMb: target.memoryMb,
          network: target.network,
        });
      } catch (error) {
        this.budget.release(target.memoryMb);
        throw await this.launchFailure(engine, error);
      }
    }
    try {
      instance.state = transition(instance.state, "specialize");
      const code = await this.code(target);
      const answer = await this.init(engine, instance, target, origin, code);
      if (answer.status !== 200) {
        throw new FunctionLoadError(
          answer.body?.error ?? `Function failed to load (${answer.status})`,
          answer.body?.stderr ?? "",
          { status: 1, timeout: false, start: origin },
        );
      }
      instance.state = transition(instance.state, "specialized");
    } catch (error) {
      this.budget.release(instance.memoryMb);
      await destroyWithin(instance);
      throw error;
    }
    const readyAt = performance.now();
    return {
      instance,
      origin,
      readyAt,
      lastUsedAt: readyAt,
      calls: 0,
      provisionMs: readyAt - began,
    };
  }

  /** A launch or resize that failed because the engine went away is the engine's unavailability. */
  private async launchFailure(engine: Engine, error: unknown) {
    if (error instanceof EngineUnavailableError) return error;
    const gone = await this.engineGone(engine);
    return gone ? new EngineUnavailableError(gone) : error;
  }

  /**
   * Loads the function into the instance. Loading runs user code (top-level
   * statements), so it gets the function's own time limit, and an instance
   * that dies or hangs while loading is the function's failure (an answer with
   * a status), not the platform's.
   */
  private async init(
    engine: Engine,
    instance: Instance,
    target: FunctionTarget,
    origin: PooledInstance["origin"],
    code: string,
  ) {
    const limitMs = Math.min(this.config.bootTimeoutMs, target.timeoutSeconds * 1000);
    try {
      return await instance.agent.request<{ ok?: boolean; error?: string; stderr?: string }>(
        "POST",
        "/init",
        {
          functionId: target.functionId,
          version: target.versionNumber,
          runtime: target.runtime,
          style: target.style,
          handler: target.handler,
          moduleFile: target.moduleFile,
          code,
          env: target.env,
          outputLimitBytes: this.config.outputLimitBytes,
        },
        { timeoutMs: limitMs },
      );
    } catch (error) {
      if (error instanceof AgentTimeoutError) {
        throw new FunctionLoadError(
          "timeout",
          `Timed out after ${limitMs / 1000} s while loading the function; the instance was stopped.`,
          { status: EXIT.timeout, timeout: true, start: origin },
        );
      }
      if (!(error instanceof AgentConnectionError)) throw error;
      const diagnosis = await instance.diagnose();
      const gone = diagnosis.exitCode === undefined ? await this.engineGone(engine) : null;
      if (gone) throw new EngineUnavailableError(gone);
      if (diagnosis.oomKilled) {
        throw new FunctionLoadError(
          "out of memory",
          `Out of memory while loading: the function used more than its ${target.memoryMb} MB and was killed.`,
          { status: EXIT.killed, timeout: false, start: origin },
        );
      }
      throw new FunctionLoadError(
        "instance crashed",
        `The instance stopped while loading the function (exit code ${diagnosis.exitCode ?? "unknown"}).`,
        {
          status: diagnosis.exitCode === EXIT.killed ? EXIT.killed : 1,
          timeout: false,
          start: origin,
        },
      );
    }
  }

  /**
   * Evicts least recently used idle instances until `fits()` succeeds: idle
   * specialized instances of the pool used longest ago (above their warm
   * minimum), then generic ones.
   */
  private async makeRoom(memoryMb: number, fits: () => boolean) {
    if (fits()) return;
    if (!this.budget.couldFit(memoryMb)) {
      throw new CapacityError(`A ${memoryMb} MB instance is larger than the host budget`);
    }
    for (let attempt = 0; attempt < 64; attempt++) {
      const candidates = [...this.pools.values()]
        .filter((e) => e.pool.stats.available > 0 && e.pool.stats.size > e.target.minWarm)
        .sort((a, b) => a.pool.lastUsedAt - b.pool.lastUsedAt);
      let evicted = false;
      for (const candidate of candidates) {
        if (await candidate.pool.evictIdle()) {
          evicted = true;
          break;
        }
      }
      if (!evicted) {
        for (const stock of this.stocks.values()) {
          if (await stock.evictOne()) {
            evicted = true;
            break;
          }
        }
      }
      if (fits()) return;
      if (!evicted) break;
    }
    throw new CapacityError(
      "The host is at capacity (instance and memory budget); try again shortly",
    );
  }

  /** Starts the function's pool so its warm minimum is booted before any call. */
  ensureWarm(engineName: EngineName, target: FunctionTarget) {
    const engine = this.engines.get(engineName);
    if (!engine?.status().available || target.minWarm === 0 || this.stopping) return;
    this.poolFor(engine, target);
  }

  /** The engine that keeps warm minimums: Docker when it runs, else the first that does. */
  defaultEngine(): EngineName | undefined {
    const available = [...this.engines.values()].filter((e) => e.status().available);
    return (available.find((e) => e.name === "docker") ?? available[0])?.name;
  }

  /** Code, settings or version changed: instances of the old ones finish their calls and go. */
  async drainFunction(functionId: string) {
    const drains: Promise<void>[] = [];
    for (const [key, entry] of this.pools) {
      if (entry.target.functionId !== functionId) continue;
      this.pools.delete(key);
      drains.push(entry.pool.drain().catch(() => {}));
    }
    await Promise.all(drains);
  }

  /** Shutdown: stop taking calls, let calls in progress finish, remove every instance. */
  async stop() {
    this.stopping = true;
    for (const watch of this.watches.values()) watch.stop();
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((e) => e.pool.drain().catch(() => {})));
    await Promise.all([...this.stocks.values()].map((s) => s.stop()));
    await Promise.all([...this.engines.values()].map((e) => e.stop()));
  }
}

function round(ms: number) {
  return Math.round(ms * 1000) / 1000;
}
