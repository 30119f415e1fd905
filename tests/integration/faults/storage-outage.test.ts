import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { TRPCClientError } from "@trpc/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedS3, startEmbeddedS3 } from "../../../server/storage/embedded-s3";
import { startTestApp, type TestApp } from "../../helpers/app";
import {
  call,
  callOk,
  createTenant,
  type Deployed,
  DOCKER_ENV,
  deploy,
  ownerOf,
  removeOwnerContainers,
  type Tenant,
} from "../../helpers/docker";
import { b64 } from "../../helpers/functions";
import { freePort } from "../../helpers/ports";

// The S3 server stopped (its port closed) and started again: code cached on
// the host keeps running, a cold start of uncached code answers 503 with the
// reason, uploads fail with a clear SERVICE_UNAVAILABLE and leave no row
// without its object (nor an object without its row), and everything works
// again once S3 is back, without a restart.

const BUCKET = "outage-code";
let s3Dir: string;
let s3Port: number;
let s3: EmbeddedS3;
let app: TestApp;
let tenant: Tenant;
let warm: Deployed;
let cached: Deployed;
let uncached: Deployed;

const code = (n: number) => `def main(event, context):\n    return {'n': ${n}}\n`;
const common = { runtime: "python", style: "handler", memoryMb: 64, isPublic: true } as const;

beforeAll(async () => {
  s3Dir = fs.mkdtempSync(path.join(os.tmpdir(), "cloudless-outage-s3-"));
  s3Port = await freePort();
  s3 = await startEmbeddedS3({ dir: s3Dir, bucket: BUCKET, port: s3Port });
  app = await startTestApp({
    ...DOCKER_ENV,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: BUCKET,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
  });
  tenant = await createTenant(app, "s3-outage@example.com");
  [warm, cached, uncached] = await Promise.all([
    deploy(tenant, { ...common, name: "warm", handler: "warm.main", code: code(1) }),
    deploy(tenant, { ...common, name: "cached", handler: "cached.main", code: code(2) }),
    deploy(tenant, { ...common, name: "uncached", handler: "uncached.main", code: code(3) }),
  ]);
  await callOk(app, tenant, warm, { key: null });
  await callOk(app, tenant, cached, { key: null });
  // Its instance is gone: the next call starts a new one from the host's code cache.
  await app.services.runners.drainFunction(cached.id);
  // Looked up (so only the code is missing), never run.
  await app.services.functionDirectory.find(uncached.userId, uncached.handler);
}, 120_000);

afterAll(async () => {
  if (app) {
    await removeOwnerContainers(ownerOf(app));
    await app.close();
  }
  await s3?.stop();
  fs.rmSync(s3Dir, { recursive: true, force: true });
});

async function objectKeys(): Promise<string[]> {
  const page = await app.services.codeStore.client.send(
    new ListObjectsV2Command({ Bucket: BUCKET }),
  );
  return (page.Contents ?? []).map((o) => o.Key!).sort();
}

async function versionKeys(): Promise<string[]> {
  const rows = await app.services.db.functionVersion.findMany({ select: { s3Key: true } });
  return [...new Set(rows.map((r) => r.s3Key))].sort();
}

async function uploadError(work: () => Promise<unknown>) {
  const started = performance.now();
  const error = await work().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TRPCClientError);
  const data = (error as TRPCClientError<never>).data as unknown as {
    code: string;
    httpStatus: number;
  };
  return { message: (error as Error).message, ...data, ms: performance.now() - started };
}

describe("S3 unreachable", () => {
  it("keeps cached code running, refuses uploads cleanly, and recovers", async () => {
    await s3.stop();

    // Warm, and a new instance of code cached on the host: both run.
    expect((await callOk(app, tenant, warm, { key: null })).result).toEqual({ n: 1 });
    const fresh = await callOk(app, tenant, cached, { key: null });
    expect(fresh.result).toEqual({ n: 2 });
    expect(fresh.start).not.toBe("warm");

    // Code that is not on this host cannot start: 503 with the reason, quickly.
    const cold = await call(app, tenant, uncached, { key: null });
    expect(cold.http).toBe(503);
    expect(cold.body.error).toBe("The function's code is unavailable");
    expect(cold.body.reason).toMatch(/not cached on the host.*Object storage is unreachable/);
    expect(cold.ms).toBeLessThan(15_000);

    // Uploads (a new function, a new version) fail clearly and change nothing.
    const create = await uploadError(() =>
      tenant.sdk.functions.create.mutate({
        ...common,
        name: "late",
        handler: "late.main",
        codeBase64: b64(code(4)),
        fileName: "late.py",
      }),
    );
    const upload = await uploadError(() =>
      tenant.sdk.functions.uploadCode.mutate({
        id: warm.id,
        codeBase64: b64(code(5)),
        fileName: "warm.py",
      }),
    );
    for (const e of [create, upload]) {
      expect(e.code).toBe("SERVICE_UNAVAILABLE");
      expect(e.httpStatus).toBe(503);
      expect(e.message).toMatch(/^Object storage is unreachable .*try again shortly\.$/);
      expect(e.ms).toBeLessThan(15_000);
    }
    expect(await app.services.db.function.count({ where: { name: "late" } })).toBe(0);
    const versions = await tenant.sdk.functions.listVersions.query({ id: warm.id });
    expect(versions).toHaveLength(1);

    // Back, on the same port: no restart of Cloudless needed.
    s3 = await startEmbeddedS3({ dir: s3Dir, bucket: BUCKET, port: s3Port });
    expect(await objectKeys()).toEqual(await versionKeys());
    expect((await callOk(app, tenant, uncached, { key: null })).result).toEqual({ n: 3 });
    await tenant.sdk.functions.uploadCode.mutate({
      id: warm.id,
      codeBase64: b64(code(5)),
      fileName: "warm.py",
    });
    expect((await callOk(app, tenant, warm, { key: null })).result).toEqual({ n: 5 });
    // Every row has its object and every object its row.
    expect(await objectKeys()).toEqual(await versionKeys());
  }, 120_000);
});
