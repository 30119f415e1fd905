import type { RuntimeName, StartKind } from "../runners/types";
import { type CallResult, failureOf, type InvokeClient, type Target } from "./client";
import type { BenchFunction, BenchUser, Deployer } from "./deploy";
import type { EngineBench } from "./engines/index";
import { round, type Summary, sleep, summarize } from "./stats";

export interface PhaseContext {
  engine: EngineBench;
  client: InvokeClient;
  deployer: Deployer;
  user: BenchUser;
  /** POOL_GENERIC_PER_RUNTIME of the running server. */
  genericPerRuntime: number;
  progress(line: string): void;
}

export interface PhaseResult {
  phase: StartKind;
  runtime: RuntimeName;
  /** End to end through the HTTP route, over the samples whose `start` was this phase. */
  latency: Summary;
  /** The server's own `timings` for the same samples: the manager's share, and boot/specialize. */
  server: { totalP50Ms: number; totalP99Ms: number; startP50Ms: number };
  /** Samples answered with another start kind than the phase meant: reported, not counted above. */
  mismatches: Array<{ sample: number; start: string; ms: number }>;
  failures: Array<{ sample: number; error: string }>;
  /** Invocation ids of every call that ran, for the record check. */
  invocationIds: string[];
  /** How each sample waited for the engine to settle first (cold and prewarm). */
  waitedP50Ms?: number;
}

export function targetOf(user: BenchUser, fn: BenchFunction): Target {
  return { userId: user.userId, handler: fn.handler };
}

/**
 * Until the runtime has exactly `generic` instances, all answering /health
 * as generic: the previous version's instances are gone (their removal would
 * otherwise compete with the timed call) and the prewarmed stock is full.
 * The agent answering is the last step of a boot; the short grace after it
 * covers the manager's own readiness poll (≤ 50 ms) before it stocks the instance.
 */
export async function waitForSettled(
  engine: EngineBench,
  runtime: RuntimeName,
  generic: number,
  timeoutMs = 120_000,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    const instances = await engine.instances(runtime);
    const settled = instances.length === generic && instances.every((i) => i.state === "generic");
    if (settled) {
      await sleep(150);
      return performance.now() - started;
    }
    if (performance.now() - started > timeoutMs) {
      const states = instances.map((i) => i.state).join(", ") || "none";
      throw new Error(
        `The ${engine.name} ${runtime} instances did not settle to ${generic} generic in ${timeoutMs / 1000} s (now: ${states})`,
      );
    }
    await sleep(50);
  }
}

/**
 * Cold or prewarm: before each sample a new version is uploaded (outside the
 * timed call) so no instance holds its code, the engine settles, then one call
 * is timed. With POOL_GENERIC_PER_RUNTIME=0 the call boots a container (cold);
 * with a stock it specializes a generic one (prewarm).
 */
export async function firstCallPhase(
  ctx: PhaseContext,
  fn: BenchFunction,
  phase: "cold" | "prewarm",
  samples: number,
): Promise<PhaseResult> {
  const results: CallResult[] = [];
  const waits: number[] = [];
  for (let i = 0; i < samples; i++) {
    await ctx.deployer.newVersion(fn);
    waits.push(await waitForSettled(ctx.engine, fn.runtime, ctx.genericPerRuntime));
    // A new connection: after the pause a kept-alive one may be closing just as the request leaves.
    const result = await ctx.client.call(targetOf(ctx.user, fn), { fresh: true });
    results.push(result);
    const failure = failureOf(result);
    ctx.progress(
      `  ${phase} ${fn.runtime} ${i + 1}/${samples}: ${result.ms.toFixed(1)} ms${failure ? ` FAILED ${failure}` : result.body?.start === phase ? "" : ` (start: ${result.body?.start})`}`,
    );
  }
  return {
    ...analyse(results, phase, fn.runtime),
    waitedP50Ms: round(summarize(waits).p50Ms, 0),
  };
}

/** Warm: after a warm-up, `samples` sequential calls on one kept-alive connection to an idle specialized instance. */
export async function warmPhase(
  ctx: PhaseContext,
  fn: BenchFunction,
  options: { warmup: number; samples: number },
): Promise<PhaseResult> {
  const target = targetOf(ctx.user, fn);
  const warmupIds: string[] = [];
  for (let i = 0; i < options.warmup; i++) {
    const result = await ctx.client.call(target);
    const failure = failureOf(result);
    if (failure) throw new Error(`Warm-up call ${i + 1} to ${fn.handler} failed: ${failure}`);
    warmupIds.push(result.body!.invocationId);
  }
  const results: CallResult[] = [];
  for (let i = 0; i < options.samples; i++) {
    results.push(await ctx.client.call(target));
  }
  const analysed = analyse(results, "warm", fn.runtime);
  return { ...analysed, invocationIds: [...warmupIds, ...analysed.invocationIds] };
}

function analyse(results: CallResult[], phase: StartKind, runtime: RuntimeName) {
  const matched: CallResult[] = [];
  const mismatches: PhaseResult["mismatches"] = [];
  const failures: PhaseResult["failures"] = [];
  const invocationIds: string[] = [];
  results.forEach((result, i) => {
    if (result.body?.invocationId && result.httpStatus === 200)
      invocationIds.push(result.body.invocationId);
    const failure = failureOf(result);
    if (failure) failures.push({ sample: i + 1, error: failure });
    else if (result.body!.start !== phase) {
      mismatches.push({ sample: i + 1, start: result.body!.start, ms: round(result.ms) });
    } else matched.push(result);
  });
  const total = summarize(matched.map((r) => r.body!.timings.totalMs));
  return {
    phase,
    runtime,
    latency: summarize(matched.map((r) => r.ms)),
    server: {
      totalP50Ms: total.p50Ms,
      totalP99Ms: total.p99Ms,
      startP50Ms: summarize(matched.map((r) => r.body!.timings.startMs)).p50Ms,
    },
    mismatches,
    failures,
    invocationIds,
  };
}
