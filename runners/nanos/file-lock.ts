import fs from "node:fs/promises";
import path from "node:path";

/**
 * Runs `fn` while holding a lock folder next to a cached artifact, so that
 * two processes sharing a cache folder (parallel test files, a server and
 * its CLI) build an image or snapshot once instead of racing on the same
 * file. A lock whose holder died is taken over.
 */
export async function withFileLock<T>(
  lockDir: string,
  fn: () => Promise<T>,
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
  await fs.mkdir(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      await fs.mkdir(lockDir);
      await fs.writeFile(path.join(lockDir, "pid"), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      if (await holderIsGone(lockDir)) {
        await fs.rm(lockDir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`Timed out waiting for the lock ${lockDir}`);
      await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
    }
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

async function holderIsGone(lockDir: string): Promise<boolean> {
  const pid = Number(await fs.readFile(path.join(lockDir, "pid"), "utf8").catch(() => ""));
  if (!pid) {
    // Made but not yet written (a moment), or left by a crash between the two.
    const stat = await fs.stat(lockDir).catch(() => null);
    return !stat || Date.now() - stat.mtimeMs > 10_000;
  }
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Runs `fn` under the lock if nobody holds it; null (and `fn` not run) when someone does. */
export async function tryFileLock<T>(lockDir: string, fn: () => Promise<T>): Promise<T | null> {
  await fs.mkdir(path.dirname(lockDir), { recursive: true });
  try {
    await fs.mkdir(lockDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    if (!(await holderIsGone(lockDir))) return null;
    await fs.rm(lockDir, { recursive: true, force: true });
    return tryFileLock(lockDir, fn);
  }
  try {
    await fs.writeFile(path.join(lockDir, "pid"), String(process.pid));
    return await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}
