import pg from "pg";
import { sleep } from "./stats";

/**
 * Reads the invocation rows the server's recorder wrote (batched, off the
 * request path, every ~200 ms), straight from PostgreSQL.
 */
export class Records {
  private readonly pool: pg.Pool;

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
    // An idle connection the database drops (its shutdown at the end of the run)
    // is replaced on the next query; unhandled, the error would end the process.
    this.pool.on("error", () => {});
  }

  /** Rows whose id is one of these invocation ids: exactly the calls the benchmark made. */
  async countIds(ids: readonly string[]): Promise<number> {
    let total = 0;
    // Bounded arrays per query: a throughput run can have tens of thousands of ids.
    for (let i = 0; i < ids.length; i += 10_000) {
      const { rows } = await this.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "Invocation" WHERE id = ANY($1::text[])`,
        [ids.slice(i, i + 10_000)],
      );
      total += rows[0]?.n ?? 0;
    }
    return total;
  }

  /**
   * Waits until every id has its row, or until the count has not grown for
   * `stallMs` (then some calls were not recorded: the caller reports both numbers).
   */
  async waitForIds(
    ids: readonly string[],
    stallMs = 5000,
  ): Promise<{ recorded: number; waitedMs: number }> {
    const started = performance.now();
    let last = -1;
    let lastChange = started;
    for (;;) {
      const recorded = await this.countIds(ids);
      if (recorded >= ids.length) return { recorded, waitedMs: performance.now() - started };
      if (recorded !== last) {
        last = recorded;
        lastChange = performance.now();
      } else if (performance.now() - lastChange > stallMs) {
        return { recorded, waitedMs: performance.now() - started };
      }
      await sleep(100);
    }
  }

  /** Start kinds as recorded, for ids (a cross-check of what the responses said). */
  async startKinds(ids: readonly string[]): Promise<Record<string, number>> {
    const { rows } = await this.pool.query<{ start: string; n: number }>(
      `SELECT start::text AS start, count(*)::int AS n FROM "Invocation" WHERE id = ANY($1::text[]) GROUP BY start`,
      [ids],
    );
    return Object.fromEntries(rows.map((r) => [r.start, r.n]));
  }

  close() {
    return this.pool.end();
  }
}
