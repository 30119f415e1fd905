import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createCloudlessClient } from "../server/client/index";
import { renderNginxConfig } from "../server/cluster/nginx-config";
import { startEmbeddedS3 } from "../server/storage/embedded-s3";
import { type CallResult, InvokeClient, type Target } from "./client";
import { createBenchUser } from "./deploy";
import type { ClusterResults } from "./report";
import { freePort, type Server, startDatabase, startServer } from "./server";
import { round, summarize } from "./stats";

/**
 * `npm run benchmark -- --cluster`: two nodes (server processes) on one
 * PostgreSQL and one S3 store behind nginx with the generated config, both
 * on this machine's Docker engine (the nodes keep apart by owner label).
 *
 * 1. Warm hit ratio: 10,000 calls spread over 20 functions through nginx
 *    (8 callers, functions in turn); after each function's first call every
 *    call should be warm (target ≥ 95 %), since one function's calls hash to
 *    one node.
 * 2. Warm p50 through nginx vs straight to the node that holds the function
 *    (sequential calls, one kept-alive connection each; target: nginx adds
 *    ≤ 0.3 ms).
 * 3. Throughput with one caller per function (20): through nginx to two
 *    nodes, and straight to one node holding all 20. On 2 cores the second node adds no CPU,
 *    so this does not double; it says what the balancer costs.
 */
const FUNCTIONS = 20;

export async function clusterPhase(options: {
  quick: boolean;
  progress: (line: string) => void;
  cleanup: { add(name: string, run: () => Promise<unknown>): void };
}): Promise<ClusterResults> {
  const { progress: log, cleanup } = options;
  const calls = options.quick ? 1000 : 10_000;
  const warmSamples = options.quick ? 300 : 2000;
  const seconds = options.quick ? 2 : 5;
  const root = await fs.mkdtemp(path.join(os.tmpdir(), "cloudless-bench-cluster-"));
  cleanup.add("remove the cluster temp folder", () =>
    fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 }),
  );
  await fs.chmod(root, 0o755);
  const database = await startDatabase(path.join(root, "pg"));
  cleanup.add("stop the cluster PostgreSQL", () => database.stop());
  const s3 = await startEmbeddedS3({ dir: path.join(root, "s3"), bucket: "cloudless-code" });
  cleanup.add("stop the cluster S3", () => s3.stop());

  const nodes: Server[] = [];
  for (const name of ["node-1", "node-2"]) {
    const dataDir = path.join(root, name);
    await fs.mkdir(dataDir);
    const node = await startServer({
      engine: "docker",
      dataDir,
      databaseUrl: database.url,
      genericPerRuntime: 2,
      env: {
        S3_ENDPOINT: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        NODE_ID: name,
        TRUST_PROXY: "1",
      },
      progress: log,
    });
    cleanup.add(`stop ${name}`, () => node.stop());
    nodes.push(node);
  }

  const listen = await freePort();
  const runDir = path.join(root, "nginx");
  await fs.mkdir(runDir);
  const conf = path.join(root, "nginx.conf");
  await fs.writeFile(
    conf,
    renderNginxConfig({
      nodes: nodes.map((n) => new URL(n.url).host),
      listen: `127.0.0.1:${listen}`,
      runDir,
      maxBodyBytes: 4 * 1024 * 1024,
    }),
  );
  const check = spawnSync("nginx", ["-t", "-c", conf], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`nginx refused its configuration:\n${check.stderr}`);
  const nginx: ChildProcess = spawn("nginx", ["-c", conf, "-g", "daemon off;"], {
    stdio: "ignore",
  });
  cleanup.add("stop nginx", async () => {
    nginx.kill("SIGQUIT");
    await new Promise((r) => nginx.once("exit", r));
  });
  const balancer = `http://127.0.0.1:${listen}`;
  for (let i = 0; i < 50; i++) {
    if (
      await fetch(`${balancer}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }

  const user = await createBenchUser(database.url);
  const sdk = createCloudlessClient({ url: balancer, apiKey: user.apiKey });
  const targets: Target[] = [];
  for (let i = 0; i < FUNCTIONS; i++) {
    const fn = await sdk.functions.create.mutate({
      name: `spread${i}`,
      runtime: "node",
      handler: `spread${i}.handler`,
      memoryMb: 64,
      maxConcurrency: 8,
      codeBase64: Buffer.from("exports.handler = () => ({ ok: true });\n").toString("base64"),
      fileName: `spread${i}.js`,
    });
    targets.push({ userId: fn.userId, handler: fn.handler });
  }

  // 1. Warm hit ratio through nginx.
  log(`Cluster: ${calls} calls over ${FUNCTIONS} functions through nginx (8 callers)`);
  const viaNginx = new InvokeClient(balancer, user.apiKey, "docker", 8);
  const seen = new Set<string>();
  let afterFirst = 0;
  let warm = 0;
  let errors = 0;
  let firstError: string | undefined;
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < calls) {
        const target = targets[next++ % FUNCTIONS]!;
        const first = !seen.has(target.handler);
        seen.add(target.handler);
        const result = await viaNginx.call(target);
        if (result.error) {
          errors++;
          firstError ??= result.error;
        }
        if (first) continue;
        afterFirst++;
        if (result.body?.start === "warm") warm++;
      }
    }),
  );
  const ratio = afterFirst === 0 ? 0 : warm / afterFirst;
  log(`  warm after the first call of each: ${(ratio * 100).toFixed(2)} % (${warm}/${afterFirst})`);
  if (firstError) {
    log(`  ${errors} failed; the first: ${firstError}`);
    // What the nodes said of it (their logs are otherwise not shown).
    for (const [i, node] of nodes.entries()) {
      for (const line of node.problems.slice(0, 5)) log(`  node ${i + 1}: ${line}`);
    }
  }

  // 2. Warm p50: through nginx vs straight to the function's node.
  const target = targets[0]!;
  // The two paths alternate call by call, so drift in the machine's load
  // falls on both alike.
  const owner = await ownerOf(nodes, user.apiKey, target);
  const one = new InvokeClient(balancer, user.apiKey, "docker", 1);
  const direct = new InvokeClient(owner.url, user.apiKey, "docker", 1);
  const times = { nginx: [] as number[], direct: [] as number[] };
  for (let i = 0; i < 100; i++) await Promise.all([one.call(target), direct.call(target)]); // warm-up
  for (let i = 0; i < warmSamples; i++) {
    const viaNginx: CallResult = await one.call(target);
    if (!viaNginx.error) times.nginx.push(viaNginx.ms);
    const straight: CallResult = await direct.call(target);
    if (!straight.error) times.direct.push(straight.ms);
  }
  const nginxP50 = summarize(times.nginx).p50Ms;
  const directP50 = summarize(times.direct).p50Ms;
  one.close();
  log(`  warm p50: ${nginxP50} ms through nginx, ${directP50} ms direct`);

  // 3. Throughput: one closed-loop caller per function (each function keeps
  // one warm instance), after a warm-up on the same path.
  const throughput = async (base: string, windowSeconds: number) => {
    const client = new InvokeClient(base, user.apiKey, "docker", FUNCTIONS);
    let done = 0;
    let failed = 0;
    const deadline = performance.now() + windowSeconds * 1000;
    const began = performance.now();
    await Promise.all(
      targets.map(async (t) => {
        while (performance.now() < deadline) {
          const result = await client.call(t);
          if (result.error) failed++;
          else done++;
        }
      }),
    );
    client.close();
    return { perSecond: round(done / ((performance.now() - began) / 1000)), failed };
  };
  await throughput(balancer, 2);
  const two = await throughput(balancer, seconds);
  await throughput(owner.url, 2);
  const single = await throughput(owner.url, seconds);
  direct.close();
  viaNginx.close();
  log(`  throughput: ${two.perSecond}/s through nginx to 2 nodes, ${single.perSecond}/s to 1 node`);
  return {
    functions: FUNCTIONS,
    warmHit: { calls, afterFirst, warm, ratio: round(ratio), errors, firstError },
    warmP50Ms: { nginx: nginxP50, direct: directP50, addedMs: round(nginxP50 - directP50) },
    throughput: {
      twoNodesViaNginx: two.perSecond,
      oneNodeDirect: single.perSecond,
      errors: two.failed + single.failed,
    },
  };
}

/** The node that answered the function's warm calls (its instance is there). */
async function ownerOf(nodes: Server[], apiKey: string, target: Target): Promise<Server> {
  for (const node of nodes) {
    const client = new InvokeClient(node.url, apiKey, "docker", 1);
    const result = await client.call(target);
    client.close();
    if (result.body?.start === "warm") return node;
  }
  return nodes[0]!;
}
