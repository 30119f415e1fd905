import type { RuntimeName } from "../runners/types";
import { TRIVIAL, TRIVIAL_OUTPUT } from "./deploy";
import type { EngineBench } from "./engines/index";
import { type Summary, summarize } from "./stats";

export interface Baseline {
  runtime: RuntimeName;
  command: string;
  latency: Summary;
}

/**
 * What a naive platform does per call: a fresh instance of the same runtime
 * image running the same trivial work, then thrown away. One untimed run
 * first, so a cold page cache does not weigh on the first sample.
 */
export async function baselinePhase(
  engine: EngineBench,
  runtime: RuntimeName,
  samples: number,
  progress: (line: string) => void,
): Promise<Baseline> {
  const code = TRIVIAL[runtime].oneLiner;
  const expected = TRIVIAL_OUTPUT[runtime];
  await engine.naiveRun(runtime, code, expected);
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const ms = await engine.naiveRun(runtime, code, expected);
    times.push(ms);
    progress(`  baseline ${runtime} ${i + 1}/${samples}: ${ms.toFixed(1)} ms`);
  }
  return { runtime, command: await engine.naiveCommand(runtime), latency: summarize(times) };
}
