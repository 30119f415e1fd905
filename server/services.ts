import { EventEmitter } from "node:events";
import path from "node:path";
import { DockerEngine } from "../runners/docker/engine";
import { RunnerManager } from "../runners/manager";
import { NanosEngine } from "../runners/nanos/engine";
import type { Engine } from "../runners/types";
import { AsyncInvocations } from "./async/service";
import { createSessionCookie, type SessionCookie } from "./auth/cookie";
import { createOAuthService, type OAuthService } from "./auth/oauth/service";
import { AuthRateLimiter } from "./auth/rate-limit";
import { ClusterBus } from "./cluster/bus";
import { NodeRegistry } from "./cluster/node-registry";
import type { Config } from "./config/config";
import type { Database } from "./db/client";
import { openDatabase } from "./db/open";
import { CodeCache } from "./functions/code-cache";
import { FunctionDirectory } from "./invocations/function-directory";
import { RecordJournal } from "./invocations/journal";
import { InvocationMetrics } from "./invocations/metrics";
import { InvocationRecorder } from "./invocations/recorder";
import { keepWarmMinimums } from "./invocations/warm-keeper";
import { type Mailer, OutboxMailer, ResendMailer } from "./mail/mailer";
import { CodeStore } from "./storage/code-store";
import { startEmbeddedS3 } from "./storage/embedded-s3";

/** Past-tense events about functions; the runner manager drains instances on them. */
export interface FunctionEvents {
  /** Code, settings or active version changed, or the function was deleted. */
  changed: [functionId: string];
}

export interface ApiKeyEvents {
  /** A key was revoked: caches of key → user must forget it. */
  revoked: [keyId: string];
}

export type Log = (line: string) => void;

/** Everything the routes and procedures use, created once per process. */
export interface Services {
  config: Config;
  db: Database;
  mailer: Mailer;
  rateLimiter: AuthRateLimiter;
  sessionCookie: SessionCookie;
  /** GitHub / Google sign-in through remix-auth, for the configured providers. */
  oauth: OAuthService;
  /** Function code in S3 (configured, or the embedded S3-compatible server). */
  codeStore: CodeStore;
  functionEvents: EventEmitter<FunctionEvents>;
  apiKeyEvents: EventEmitter<ApiKeyEvents>;
  /** Warm pools and engines (Docker, Nanos) that run the functions. */
  runners: RunnerManager;
  functionDirectory: FunctionDirectory;
  recorder: InvocationRecorder;
  metrics: InvocationMetrics;
  /** Async calls and schedules on the queue (pg-boss) in the same PostgreSQL. */
  asyncCalls: AsyncInvocations;
  /** This process as a node: its registry row (heartbeat) and the cache bus to the others. */
  node: NodeRegistry;
  /** True once stopping began: /health answers 503 and new calls are refused (another node takes them). */
  readonly draining: boolean;
  /** Starts draining: this node takes no new calls; the ones in progress finish. */
  drain(): Promise<void>;
  log: Log;
  close(): Promise<void>;
}

/**
 * Starts the services in dependency order: the database (embedded unless
 * DATABASE_URL is set), its migrations, then the rest.
 */
export async function startServices(config: Config, log: Log = console.log): Promise<Services> {
  const closers: Array<() => Promise<void>> = [];
  try {
    const database = await openDatabase(config, log);
    closers.push(database.close);
    const { db } = database;

    const mailer: Mailer = config.mail.resendApiKey
      ? new ResendMailer(config.mail.resendApiKey, config.mail.from, config.mail.resendBaseUrl)
      : new OutboxMailer(db, log);

    const codeStore = await startCodeStore(config, log, closers);

    const functionEvents = new EventEmitter<FunctionEvents>();
    const codeCache = new CodeCache(codeStore, path.join(config.dataDir, "code-cache"));
    const runners = new RunnerManager(
      config.runners,
      createEngines(config),
      (target) => codeCache.get(target.sha256, target.s3Key),
      log,
    );
    functionEvents.on("changed", (functionId) => void runners.drainFunction(functionId));
    const recorder = new InvocationRecorder(
      db,
      log,
      { maxPendingBytes: config.invocations.recordBufferBytes },
      new RecordJournal(path.join(config.dataDir, "records"), log),
    );
    // Records a killed process answered but had not written yet.
    recorder.replayJournal();
    // Closers run in reverse: calls in progress drain first, then their records are written.
    closers.push(() => recorder.close());
    await runners.start(log);
    closers.push(() => runners.stop());
    const functionDirectory = new FunctionDirectory(db, functionEvents);
    const metrics = new InvocationMetrics(runners, recorder);
    // After the runners: it closes first, so jobs in progress finish while pools still run.
    const asyncCalls = await AsyncInvocations.start({
      config,
      db,
      databaseUrl: database.url,
      runners,
      directory: functionDirectory,
      recorder,
      functionEvents,
      registry: metrics.registry,
      log,
    });
    closers.push(() => asyncCalls.close());

    const apiKeyEvents = new EventEmitter<ApiKeyEvents>();
    // Other nodes on this database hear this one's changes and revokes, and it theirs.
    const bus = new ClusterBus({
      databaseUrl: database.url,
      functionEvents,
      apiKeyEvents,
      forgetEverything: () => functionDirectory.clear(),
      query: (sql, values) => db.$executeRawUnsafe(sql, ...values),
      log,
    });
    await bus.start();
    closers.push(() => bus.close());
    const node = new NodeRegistry(db, runners, config.node, log);
    await node.start();
    // Closers run in reverse: the row is marked stopped after everything else closed.
    closers.splice(closers.indexOf(database.close) + 1, 0, () => node.stop());

    const sessionCookie = createSessionCookie({
      secret: config.sessionSecret,
      ttlDays: config.sessionTtlDays,
    });

    let draining = false;
    const services: Services = {
      config,
      db,
      mailer,
      rateLimiter: new AuthRateLimiter(config.rateLimit, db),
      sessionCookie,
      oauth: createOAuthService({ config, db, sessionCookie, log }),
      codeStore,
      functionEvents,
      apiKeyEvents,
      runners,
      functionDirectory,
      recorder,
      metrics,
      asyncCalls,
      node,
      get draining() {
        return draining;
      },
      async drain() {
        draining = true;
        await node.drain();
      },
      log,
      close: () => closeAll(closers),
    };
    await keepWarmMinimums(services);
    return services;
  } catch (error) {
    await closeAll(closers);
    throw error;
  }
}

function createEngines(config: Config): Engine[] {
  const engines: Engine[] = [];
  if (config.engines.includes("docker")) engines.push(new DockerEngine(config.runners));
  if (config.engines.includes("nanos")) engines.push(new NanosEngine(config.runners));
  return engines;
}

async function startCodeStore(
  config: Config,
  log: Log,
  closers: Array<() => Promise<void>>,
): Promise<CodeStore> {
  let settings = config.s3 && { bucket: config.s3Bucket, ...config.s3 };
  if (!settings) {
    const dir = path.join(config.dataDir, "s3");
    const embedded = await startEmbeddedS3({ dir, bucket: config.s3Bucket });
    closers.push(embedded.stop);
    log(`Embedded S3-compatible storage in ${dir}`);
    settings = {
      bucket: config.s3Bucket,
      region: "us-east-1",
      endpoint: embedded.endpoint,
      accessKeyId: embedded.accessKeyId,
      secretAccessKey: embedded.secretAccessKey,
      forcePathStyle: true,
    };
  }
  const store = new CodeStore(settings);
  closers.push(async () => store.destroy());
  return store;
}

async function closeAll(closers: Array<() => Promise<void>>) {
  for (const close of closers.reverse()) {
    await close().catch(() => {});
  }
}
