import { MISSED_HEARTBEATS, nodeState } from "../cluster/node-registry";
import { protectedProcedure, router } from "../trpc";

/**
 * The cluster's nodes for the dashboard's Nodes panel: what each runs and
 * holds, and whether its heartbeat is current. Capacity figures only, no
 * user's data; addresses are the operator's own network.
 */
export const nodesRouter = router({
  list: protectedProcedure.query(async ({ ctx }) => {
    const { db, config } = ctx.services;
    const now = new Date();
    const rows = await db.node.findMany({ orderBy: { id: "asc" } });
    return {
      self: config.node.id,
      heartbeatSeconds: config.node.heartbeatMs / 1000,
      downAfterSeconds: (MISSED_HEARTBEATS * config.node.heartbeatMs) / 1000,
      nodes: rows.map((row) => ({
        id: row.id,
        address: row.address,
        state: nodeState(row, now, config.node.heartbeatMs),
        engines: row.engines as Array<{ name: string; available: boolean; reason?: string }>,
        instances: row.instances,
        memoryMb: row.memoryMb,
        memoryMaxMb: row.memoryMaxMb,
        startedAt: row.startedAt,
        heartbeatAt: row.heartbeatAt,
        stoppedAt: row.stoppedAt,
      })),
    };
  }),
});
