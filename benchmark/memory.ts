import type { RuntimeName } from "../runners/types";
import type { EngineBench } from "./engines/index";
import { median, round, sleep } from "./stats";

export interface IdleMemory {
  runtime: RuntimeName;
  /** Median over the idle specialized instances found (usually the warm phase's one). */
  miB: number;
  perInstanceMiB: number[];
}

/**
 * Memory of idle specialized instances (agent state "ready", no call in
 * progress: the benchmark is not calling), after a pause so the last call's
 * garbage is not counted as the instance's steady size.
 */
export async function idleMemory(
  engine: EngineBench,
  runtime: RuntimeName,
): Promise<IdleMemory | null> {
  await sleep(1000);
  const ready = (await engine.instances(runtime)).filter((i) => i.state === "ready");
  if (ready.length === 0) return null;
  const perInstanceMiB = await Promise.all(
    ready.map(async (i) => round(await engine.memoryMiB(i), 1)),
  );
  return { runtime, miB: round(median(perInstanceMiB), 1), perInstanceMiB };
}
