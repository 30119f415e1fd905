/**
 * Seeds a million invocation rows (and their rollups, built the way the
 * recorder builds them) for one user, then times the chart queries:
 * `npx tsx benchmark/seed-invocations.ts <DATABASE_URL> [rows]`.
 * Used to check the latency page stays fast at scale (issue: dashboard).
 */
import { createDatabase } from "../server/db/client";
import { applyMigrations } from "../server/db/migrate";
import {
  BUCKET_COUNT,
  BUCKETS_PER_DOUBLING,
  HISTOGRAM_FLOOR_MS,
} from "../server/invocations/histogram";
import { callCounts, latencyPercentiles, latencySeries } from "../server/invocations/stats";

const url = process.argv[2];
const rows = Number(process.argv[3] ?? 1_000_000);
if (!url) {
  console.error("usage: tsx benchmark/seed-invocations.ts <DATABASE_URL> [rows]");
  process.exit(2);
}
await applyMigrations(url);
const db = createDatabase(url);
const user = await db.user.upsert({
  where: { email: "seed@cloudless.test" },
  update: {},
  create: { email: "seed@cloudless.test", name: "Seed" },
});
const fn = await db.function.upsert({
  where: { userId_name: { userId: user.id, name: "seeded" } },
  update: {},
  create: { userId: user.id, name: "seeded", runtime: "python", handler: "seeded.main" },
});
let t = performance.now();
// One call every 86 ms over the last day: warm mostly fast, cold slow, 2% errors.
await db.$executeRaw`
  INSERT INTO "Invocation" (id, "functionId", "userId", "versionNumber", engine, start, status,
    "durationMs", "queueMs", "startMs", "execMs", "totalMs", "createdAt")
  SELECT gen_random_uuid()::text, ${fn.id}, ${user.id}, 1,
    (ARRAY['docker','nanos'])[1 + (i % 2)]::"EngineKind",
    (ARRAY['warm','warm','warm','prewarm','cold'])[1 + (i % 5)]::"StartKind",
    CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END, 1, 0.05, 0, 1,
    CASE WHEN i % 5 = 4 THEN 200 + random() * 200 WHEN i % 5 = 3 THEN 10 + random() * 20 ELSE 0.3 + random() * 2 END,
    now() - (i * interval '86 milliseconds')
  FROM generate_series(1, ${rows}) i`;
await db.$executeRaw`
  INSERT INTO "InvocationRollup" ("userId", "functionId", engine, start, minute, bucket, calls, errors, "sumMs")
  SELECT "userId", "functionId", engine, start, date_trunc('minute', "createdAt"),
    CASE WHEN "totalMs" > ${HISTOGRAM_FLOOR_MS}
      THEN least(${BUCKET_COUNT - 1}, floor(log(2, ("totalMs" / ${HISTOGRAM_FLOOR_MS})::numeric) * ${BUCKETS_PER_DOUBLING}))::int
      ELSE 0 END,
    count(*)::int, (count(*) FILTER (WHERE status <> 0))::int, sum("totalMs")
  FROM "Invocation" WHERE "functionId" = ${fn.id}
  GROUP BY 1, 2, 3, 4, 5, 6
  ON CONFLICT ("userId", "functionId", engine, start, minute, bucket) DO UPDATE SET
    calls = "InvocationRollup".calls + EXCLUDED.calls, errors = "InvocationRollup".errors + EXCLUDED.errors,
    "sumMs" = "InvocationRollup"."sumMs" + EXCLUDED."sumMs"`;
await db.$executeRaw`ANALYZE "Invocation"`;
await db.$executeRaw`ANALYZE "InvocationRollup"`;
console.log(`seeded ${rows} rows in ${((performance.now() - t) / 1000).toFixed(1)} s`);

const range = { userId: user.id, from: new Date(Date.now() - 86_400_000), to: new Date() };
const queries = {
  percentiles: () => latencyPercentiles(db, range),
  "percentiles (one function)": () => latencyPercentiles(db, { ...range, functionId: fn.id }),
  series: () => latencySeries(db, range),
  counts: () => callCounts(db, range),
  "recent calls (page)": () =>
    db.invocation.findMany({
      where: { userId: user.id },
      orderBy: { createdAt: "desc" },
      take: 21,
    }),
};
for (const [name, run] of Object.entries(queries)) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    await run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(28)} median ${times[2]!.toFixed(1)} ms  (min ${times[0]!.toFixed(1)}, max ${times[4]!.toFixed(1)})`,
  );
}
await db.$disconnect();
