import type { EngineName, RuntimeName } from "../../runners/types";
import { DockerBench } from "./docker";

/** What the benchmark needs to see of an engine beyond the HTTP route. */
export interface EngineBench {
  readonly name: EngineName;
  /** This server's running instances of a runtime, with the agent's state when it answers. */
  instances(runtime: RuntimeName): Promise<InstanceView[]>;
  /** CPU time each running instance of the runtime has used so far (ms), by instance id. */
  cpuMs(runtime: RuntimeName): Promise<Map<string, number>>;
  /** Memory in use by one instance (MiB), as the engine's own tools report it. */
  memoryMiB(instance: InstanceView): Promise<number>;
  /** Runs `code` in a fresh instance of the runtime image the way a naive platform would; wall ms. */
  naiveRun(runtime: RuntimeName, code: string, expected: string): Promise<number>;
  /** Shown in the report: how naiveRun starts its instance. */
  naiveCommand(runtime: RuntimeName): Promise<string>;
  /** Removes instances a killed server left behind; returns how many. */
  removeLeftovers(): Promise<number>;
}

export interface InstanceView {
  id: string;
  runtime: RuntimeName;
  /** The agent's /health state: generic (no code yet), ready (specialized), or unreachable. */
  state: "generic" | "ready" | "failed" | "unreachable";
}

export interface EngineContext {
  /** The server's DATA_DIR (agent sockets live under it). */
  dataDir: string;
  /** The server's installation id (container labels), so other installations on the host are left alone. */
  ownerId: string;
}

/** Engines the benchmark can drive; adding Nanos means one more entry here. */
const FACTORIES: Partial<Record<EngineName, (context: EngineContext) => EngineBench>> = {
  docker: (context) => new DockerBench(context),
};

export const KNOWN_ENGINES: readonly EngineName[] = ["docker", "nanos"];

export function isSupportedEngine(name: string): name is EngineName {
  return name in FACTORIES;
}

/** Throws a clear message for unknown engines and for known ones not benchmarked yet. */
export function engineBench(name: string, context: EngineContext): EngineBench {
  const factory = FACTORIES[name as EngineName];
  if (factory) return factory(context);
  if ((KNOWN_ENGINES as readonly string[]).includes(name)) {
    throw new Error(
      `The benchmark does not support the ${name} engine yet (supported: ${supported()})`,
    );
  }
  throw new Error(`Unknown engine "${name}" (supported: ${supported()})`);
}

export function supported() {
  return Object.keys(FACTORIES).join(", ");
}
