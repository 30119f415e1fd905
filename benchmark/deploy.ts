import { randomBytes } from "node:crypto";
import type { RuntimeName } from "../runners/types";
import { createApiKey } from "../server/auth/api-keys";
import { hashPassword } from "../server/auth/password";
import { type CloudlessClient, createCloudlessClient, toBase64 } from "../server/client/index";
import { createDatabase } from "../server/db/client";

export interface BenchUser {
  userId: string;
  apiKey: string;
}

/**
 * A verified user and an API key, written straight to the database with the
 * same services `cloudless user create` / `apikey create` use
 * (server/cli/admin.ts), without its reliance on process.env.
 */
export async function createBenchUser(databaseUrl: string): Promise<BenchUser> {
  const db = createDatabase(databaseUrl, { maxConnections: 1 });
  try {
    const password = randomBytes(18).toString("base64url");
    const user = await db.user.create({
      data: {
        email: `benchmark-${randomBytes(4).toString("hex")}@cloudless.local`,
        name: "benchmark",
        passwordHash: await hashPassword(password),
        emailVerifiedAt: new Date(),
      },
      select: { id: true },
    });
    const { key } = await createApiKey(db, user.id, "benchmark");
    return { userId: user.id, apiKey: key };
  } finally {
    await db.$disconnect();
  }
}

export interface BenchFunction {
  id: string;
  runtime: RuntimeName;
  /** `<module>.<function>`: how the invocation URL names it. */
  handler: string;
  /** Versions uploaded so far (1 = the one created with the function). */
  versions: number;
}

/** The trivial work every phase runs, and the same work as a one-liner for the baseline. */
export const TRIVIAL = {
  python: {
    module: "bench_python",
    file: "bench_python.py",
    source: (version: number, nonce: string) =>
      `# Cloudless benchmark function, version ${version} (${nonce}).\n# Only this comment changes between versions.\n\n\ndef handler(event, context):\n    return {"ok": True}\n`,
    oneLiner: 'import json; print(json.dumps({"ok": True}))',
  },
  node: {
    module: "bench_node",
    file: "bench_node.js",
    source: (version: number, nonce: string) =>
      `// Cloudless benchmark function, version ${version} (${nonce}).\n// Only this comment changes between versions.\nexports.handler = (event, context) => ({ ok: true });\n`,
    oneLiner: "console.log(JSON.stringify({ ok: true }))",
  },
} as const satisfies Record<RuntimeName, unknown>;

/** The JSON the one-liner prints, for checking the baseline ran. */
export const TRIVIAL_OUTPUT: Record<RuntimeName, string> = {
  python: '{"ok": true}',
  node: '{"ok":true}',
};

/** Creates the benchmark functions and uploads new versions, through the SDK (tRPC with the API key). */
export class Deployer {
  private readonly client: CloudlessClient;
  // Unique per run: two versions of one run never share a hash, nor do two runs.
  private readonly nonce = randomBytes(4).toString("hex");

  constructor(url: string, apiKey: string) {
    this.client = createCloudlessClient({ url, apiKey });
  }

  async create(runtime: RuntimeName, maxConcurrency: number): Promise<BenchFunction> {
    const trivial = TRIVIAL[runtime];
    const created = await this.client.functions.create.mutate({
      name: `bench-${runtime}`,
      runtime,
      handler: `${trivial.module}.handler`,
      style: "handler",
      description: "Created by npm run benchmark",
      memoryMb: 128,
      timeoutSeconds: 30,
      maxConcurrency,
      minWarm: 0,
      isPublic: false,
      networkEnabled: false,
      env: {},
      codeBase64: toBase64(Buffer.from(trivial.source(1, this.nonce))),
      fileName: trivial.file,
    });
    return { id: created.id, runtime, handler: `${trivial.module}.handler`, versions: 1 };
  }

  /** A new version (only a comment changes): the next call needs a new instance. */
  async newVersion(fn: BenchFunction): Promise<void> {
    const trivial = TRIVIAL[fn.runtime];
    const version = fn.versions + 1;
    await this.client.functions.uploadCode.mutate({
      id: fn.id,
      codeBase64: toBase64(Buffer.from(trivial.source(version, this.nonce))),
      fileName: trivial.file,
    });
    fn.versions = version;
  }
}
