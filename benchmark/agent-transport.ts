// Warm-call cost of the Docker agent transports (decision 0014), measured at
// the agent client: one instance per transport, one function loaded, then N
// sequential /run round trips on its kept-alive connection.
//
//   npx tsx benchmark/agent-transport.ts [--calls 2000] [--runtime python|node]
//
// Transports: the bind-mounted unix socket (local engine), the exec relay
// against the same local engine, and the exec relay against a second dockerd
// of its own over TLS on a loopback port (a remote engine; its runtime images
// are built there first). Everything it starts is removed at the end.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { RunResult } from "../runners/agent-client";
import { DockerEngine } from "../runners/docker/engine";
import type { RuntimeName } from "../runners/types";
import { startPrivateDockerd } from "../scripts/lib/private-dockerd";
import { loadConfig } from "../server/config/config";
import { freePort } from "../tests/helpers/ports";
import { makeTestPki } from "../tests/helpers/tls-certs";
import { summarize } from "./stats";

const { values } = parseArgs({
  options: {
    calls: { type: "string", default: "2000" },
    runtime: { type: "string", default: "python" },
  },
});
const calls = Number(values.calls);
const runtime = values.runtime as RuntimeName;

const CODE: Record<RuntimeName, string> = {
  python: "def main(event, context):\n    return event\n",
  node: "exports.main = (event) => event;\n",
};

async function measure(label: string, env: Record<string, string>) {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-transport-"));
  const config = loadConfig({
    NODE_ENV: "development",
    DATA_DIR: dataDir,
    DATABASE_URL: "postgres://unused@127.0.0.1:1/unused",
    ENGINES: "docker",
    ...env,
  }).runners;
  const engine = new DockerEngine(config);
  const started = performance.now();
  await engine.start((line) => console.error(`  ${label}: ${line}`));
  const startMs = performance.now() - started;
  const status = engine.status();
  if (!status.available) throw new Error(`${label}: ${status.reason}`);
  const instance = await engine.launch({ runtime, memoryMb: 128, network: false });
  try {
    const init = await instance.agent.request<{ ok?: boolean; error?: string }>("POST", "/init", {
      functionId: "bench",
      version: 1,
      runtime,
      style: "handler",
      handler: "bench.main",
      moduleFile: runtime === "python" ? "bench.py" : "bench.js",
      code: CODE[runtime],
      env: {},
      outputLimitBytes: 1024 * 1024,
    });
    if (!init.body?.ok) throw new Error(`${label}: init failed: ${JSON.stringify(init.body)}`);
    const run = () =>
      instance.agent.request<RunResult>("POST", "/run", {
        invocationId: "bench",
        args: [],
        event: { n: 1 },
        deadlineMs: Date.now() + 30_000,
      });
    for (let i = 0; i < Math.min(200, calls); i++) await run(); // warm-up
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const t = performance.now();
      const answer = await run();
      times.push(performance.now() - t);
      if (answer.body.status !== 0) throw new Error(`${label}: ${JSON.stringify(answer.body)}`);
    }
    return {
      label,
      transport: engine.transport,
      startMs: Math.round(startMs),
      ...summarize(times),
    };
  } finally {
    await instance.destroy();
    await engine.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-transport-pki-"));
const pki = await makeTestPki(work);
const dockerd = await startPrivateDockerd({
  name: "bench",
  tcp: { port: await freePort(), tls: pki.server },
});
// Ctrl-C or a kill still stops the engine it started, and only that.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    void dockerd.stop().finally(() => process.exit(130));
  });
}
try {
  const rows = [
    await measure("local engine, unix socket", { DOCKER_AGENT_TRANSPORT: "socket" }),
    await measure("local engine, exec relay", { DOCKER_AGENT_TRANSPORT: "exec" }),
    await measure("remote engine (TLS), exec relay", {
      DOCKER_HOST: dockerd.tcpHost!,
      DOCKER_TLS_VERIFY: "1",
      DOCKER_CERT_PATH: pki.client.dir,
    }),
  ];
  console.log(`\n${runtime}, ${calls} sequential warm /run round trips per transport\n`);
  console.log("| transport | p50 ms | p95 ms | p99 ms | max ms | engine start s |");
  console.log("|---|---|---|---|---|---|");
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.p50Ms} | ${r.p95Ms} | ${r.p99Ms} | ${r.maxMs} | ${(r.startMs / 1000).toFixed(1)} |`,
    );
  }
} finally {
  await dockerd.stop();
  fs.rmSync(work, { recursive: true, force: true });
}
