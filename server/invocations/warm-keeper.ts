import type { Services } from "../services";

/**
 * Keeps each function's warm minimum booted on the default engine: at start,
 * again after every change (which drains the old instances first), and
 * whenever an engine becomes available again.
 */
export async function keepWarmMinimums(
  services: Pick<Services, "db" | "runners" | "functionDirectory" | "functionEvents" | "log">,
) {
  const warm = async (userId: string, handler: string) => {
    const engine = services.runners.defaultEngine();
    if (!engine) return;
    const fn = await services.functionDirectory.find(userId, handler);
    if (fn && fn.target.minWarm > 0) services.runners.ensureWarm(engine, fn.target);
  };
  services.functionEvents.on("changed", (functionId) => {
    void services.db.function
      .findUnique({
        where: { id: functionId },
        select: { userId: true, handler: true, minWarm: true },
      })
      .then((fn) => (fn && fn.minWarm > 0 ? warm(fn.userId, fn.handler) : undefined))
      .catch((error) => services.log(`[warm] ${functionId}: ${(error as Error).message}`));
  });
  const warmAll = async () => {
    const functions = await services.db.function.findMany({
      where: { minWarm: { gt: 0 } },
      select: { userId: true, handler: true },
    });
    for (const fn of functions) await warm(fn.userId, fn.handler);
  };
  // An engine that comes back (or up after Cloudless started) lost every warm instance.
  services.runners.onEngineAvailable(() => {
    void warmAll().catch((error) => services.log(`[warm] ${(error as Error).message}`));
  });
  await warmAll();
}
