import fs from "node:fs";
import path from "node:path";
import { Command } from "commander";
import { renderNginxConfig } from "../server/cluster/nginx-config";

/**
 * `npm run cluster:config -- --node host:port --node host:port [--listen 80]
 * [--run-dir /var/lib/cloudless-nginx] [--out nginx.conf]`: the balancer's
 * configuration for a list of nodes (see server/cluster/nginx-config.ts).
 * Regenerate it and `nginx -s reload` when nodes come or go.
 */
const program = new Command("npm run cluster:config --")
  .requiredOption(
    "--node <host:port>",
    "a node (repeat for each)",
    (value: string, list: string[]) => [...list, value],
    [] as string[],
  )
  .option("--listen <address>", "where nginx listens", "8080")
  .option("--run-dir <dir>", "nginx's pid, logs and temp files", "/var/lib/cloudless-nginx")
  .option("--max-body-bytes <n>", "largest request body a node accepts", String(4 * 1024 * 1024))
  .option("--out <file>", "write here instead of standard output");
program.parse();
const o = program.opts<{
  node: string[];
  listen: string;
  runDir: string;
  maxBodyBytes: string;
  out?: string;
}>();
try {
  const conf = renderNginxConfig({
    nodes: o.node,
    listen: o.listen,
    runDir: path.resolve(o.runDir),
    maxBodyBytes: Number(o.maxBodyBytes),
  });
  if (o.out) {
    fs.writeFileSync(o.out, conf);
    console.error(`Wrote ${o.out} for ${o.node.length} node(s)`);
  } else process.stdout.write(conf);
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exit(1);
}
