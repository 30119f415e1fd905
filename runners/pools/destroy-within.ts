import type { Instance } from "../types";

/** Long enough for a healthy engine to remove a container or VM (~0.1-1 s). */
export const DESTROY_WAIT_MS = 10_000;

/**
 * Destroys an instance, waiting at most `ms`: an engine that hangs (lost,
 * not yet noticed) must not hold up a purge or a shutdown. The destroy goes
 * on in the background; its leftovers are removed at the engine's next start.
 */
export function destroyWithin(instance: Instance, ms = DESTROY_WAIT_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    instance.destroy().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
