import type { AgentClient } from "./agent-client";
import type { InstanceState } from "./instance-state";

export type EngineName = "docker" | "nanos";
export type RuntimeName = "python" | "node";
/** How a call got its instance: an idle specialized one, a generic one specialized now, or a new boot. */
export type StartKind = "warm" | "prewarm" | "cold";

export const ENGINES: readonly EngineName[] = ["docker", "nanos"];
export const RUNTIMES: readonly RuntimeName[] = ["python", "node"];

export interface InstanceSpec {
  runtime: RuntimeName;
  memoryMb: number;
  /** Network access (none by default). */
  network: boolean;
}

export type EngineStatus =
  | { available: true; detail?: string }
  | { available: false; reason: string };

/** What an engine learned about an instance after a call went wrong. */
export interface InstanceDiagnosis {
  oomKilled: boolean;
  running: boolean;
  exitCode?: number;
  /** Last lines of the instance's console, for boot failures. */
  log?: string;
}

/** One container or VM running the agent. It serves one call at a time, one function version for life. */
export interface Instance {
  readonly id: string;
  readonly engine: EngineName;
  readonly runtime: RuntimeName;
  memoryMb: number;
  readonly network: boolean;
  state: InstanceState;
  readonly agent: AgentClient;
  /** Wall time the instance took to boot, ms. */
  readonly bootMs: number;
  /** Booted, or restored from a saved generic VM (Nanos); unset for containers. */
  readonly bootMode?: "boot" | "restore";
  /** Changes the memory limit of a running instance (specializing a generic one), if the engine can. */
  resize?(memoryMb: number): Promise<void>;
  diagnose(): Promise<InstanceDiagnosis>;
  /** Kills and removes it; idempotent. */
  destroy(): Promise<void>;
}

/** An execution engine: boots instances of a runtime with the agent ready. */
export interface Engine {
  readonly name: EngineName;
  status(): EngineStatus;
  /** Probes the engine, removes what a previous process left, prepares images. */
  start(progress?: (line: string) => void): Promise<void>;
  launch(spec: InstanceSpec): Promise<Instance>;
  /**
   * Engines behind a daemon (dockerd): probes it within a bounded time. One
   * that stopped answering becomes unavailable; one that answers again is
   * started anew (start()). Never throws; answers the status after the probe.
   */
  check?(): Promise<EngineStatus>;
  stop(): Promise<void>;
}

export class EngineUnavailableError extends Error {}
