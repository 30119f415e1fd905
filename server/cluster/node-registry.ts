import type { RunnerManager } from "../../runners/manager";
import { ENGINES, type EngineName } from "../../runners/types";
import type { Database } from "../db/client";

export type NodeState = "up" | "draining" | "down" | "stopped";

/** A node is down when its heartbeat is older than this many intervals. */
export const MISSED_HEARTBEATS = 3;

export function nodeState(
  row: { draining: boolean; heartbeatAt: Date; stoppedAt: Date | null },
  now: Date,
  heartbeatMs: number,
): NodeState {
  if (row.stoppedAt) return "stopped";
  if (now.getTime() - row.heartbeatAt.getTime() > MISSED_HEARTBEATS * heartbeatMs) return "down";
  return row.draining ? "draining" : "up";
}

/**
 * This process's row in the shared `Node` table: written at start, then a
 * heartbeat with its engines and capacity every few seconds, `draining` once
 * it is stopping and `stoppedAt` when it has stopped. Read by the dashboard's
 * Nodes panel; nothing routes by it (the balancer routes, the queue hands out
 * async work), so a stale row is only a stale display.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | null = null;
  private draining = false;

  constructor(
    private readonly db: Database,
    private readonly runners: RunnerManager,
    private readonly node: { id: string; address: string; heartbeatMs: number },
    private readonly log: (line: string) => void,
  ) {}

  async start() {
    const now = new Date();
    const row = { address: this.node.address, draining: false, heartbeatAt: now, stoppedAt: null };
    await this.db.node.upsert({
      where: { id: this.node.id },
      create: { id: this.node.id, ...row, startedAt: now, ...this.capacity() },
      update: { ...row, startedAt: now, ...this.capacity() },
    });
    this.timer = setInterval(() => void this.beat(), this.node.heartbeatMs);
    this.timer.unref();
  }

  /** Stopping: shown as draining until the stop completes. */
  async drain() {
    this.draining = true;
    await this.beat();
  }

  async stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.db.node
      .update({
        where: { id: this.node.id },
        data: { stoppedAt: new Date(), draining: false, instances: 0, memoryMb: 0 },
      })
      .catch((error: Error) =>
        this.log(`[node] could not mark this node stopped: ${error.message}`),
      );
  }

  private async beat() {
    try {
      await this.db.node.update({
        where: { id: this.node.id },
        data: { heartbeatAt: new Date(), draining: this.draining, ...this.capacity() },
      });
    } catch (error) {
      // The database is away: the row goes stale and others see this node as down.
      this.log(`[node] heartbeat failed: ${(error as Error).message}`);
    }
  }

  private capacity() {
    const { budget } = this.runners.stats();
    const engines = [...ENGINES].map((name: EngineName) => {
      const status = this.runners.engineStatus(name);
      return status.available
        ? { name, available: true }
        : { name, available: false, reason: status.reason };
    });
    return {
      engines,
      instances: budget.instances,
      memoryMb: budget.memoryMb,
      memoryMaxMb: budget.maxMemoryMb,
    };
  }
}
