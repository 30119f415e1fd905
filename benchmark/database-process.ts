import { startEmbeddedDatabase } from "../server/db/embedded";

/**
 * The benchmark's PostgreSQL, run in a process of its own started detached by
 * benchmark/server.ts: a Ctrl-C in the terminal then reaches only the
 * benchmark, which stops the Cloudless server first (its recorder still writes
 * its last rows) and this database after it. Prints one JSON line with the URL
 * when ready; stops on SIGTERM/SIGINT or when the benchmark's end of stdin
 * closes (the benchmark died without cleaning up).
 *
 *   node --import tsx benchmark/database-process.ts <dir> <port>
 */
const [dir, port] = process.argv.slice(2);
if (!dir || !port) {
  console.error("usage: database-process.ts <dir> <port>");
  process.exit(2);
}

const database = await startEmbeddedDatabase({
  dir,
  port: Number(port),
  // The benchmark removes its whole temp folder; nothing here outlives the run.
  persistent: false,
});
process.stdout.write(`${JSON.stringify({ url: database.url })}\n`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await database.stop().catch((error) => console.error(`stopping PostgreSQL: ${error}`));
  process.exit(0);
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.on("error", () => void stop());
process.stdin.resume();
