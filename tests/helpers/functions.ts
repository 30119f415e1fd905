import { createHash } from "node:crypto";
import net from "node:net";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { expect } from "vitest";
import { createApiKey } from "../../server/auth/api-keys";
import { startSession } from "../../server/auth/start-session";
import { createCaller } from "../../server/root";
import type { Services } from "../../server/services";
import { createContext } from "../../server/trpc";
import type { Caller } from "./caller";

export const b64 = (code: string | Uint8Array) => Buffer.from(code).toString("base64");

export const sha256 = (bytes: string | Uint8Array) =>
  createHash("sha256").update(bytes).digest("hex");

export interface TestUser {
  id: string;
  email: string;
  /** A full API key (`cl_…`). */
  key: string;
  /** `cl_session=…`, a signed-in browser's cookie. */
  cookie: string;
}

/** A verified user with an API key and a browser session, made directly in the database. */
export async function createTestUser(services: Services, email: string): Promise<TestUser> {
  const user = await services.db.user.create({
    data: { email, name: email.split("@")[0]!, emailVerifiedAt: new Date() },
  });
  const { key } = await createApiKey(services.db, user.id, "tests");
  const setCookie = await startSession(services, {
    userId: user.id,
    userAgent: "tests",
    ip: null,
    secure: false,
  });
  return { id: user.id, email, key, cookie: setCookie.split(";")[0]! };
}

/**
 * The procedures as a program calls them: `Authorization: Bearer <key>`,
 * resolved afresh for each caller (so a revoked key fails on the next one).
 */
export async function apiCaller(services: Services, key: string): Promise<Caller> {
  return callerWith(services, { authorization: `Bearer ${key}` });
}

/** The procedures as a signed-in browser calls them (through Remix loaders). */
export async function sessionCaller(services: Services, cookie: string): Promise<Caller> {
  return callerWith(services, { cookie });
}

async function callerWith(services: Services, headers: Record<string, string>) {
  const ctx = await createContext(
    services,
    { url: "http://cloudless.test/", headers: new Headers(headers), ip: "192.0.2.1" },
    new Headers(),
  );
  return createCaller(ctx);
}

export interface StoredObject {
  key: string;
  size: number;
}

/** Every object in the code bucket, listed with the store's own S3 client. */
export async function listObjects(services: Services): Promise<StoredObject[]> {
  const objects: StoredObject[] = [];
  let token: string | undefined;
  do {
    const page = await services.codeStore.client.send(
      new ListObjectsV2Command({
        Bucket: services.codeStore.settings.bucket,
        ContinuationToken: token,
      }),
    );
    for (const o of page.Contents ?? []) objects.push({ key: o.Key!, size: o.Size! });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return objects.sort((a, b) => a.key.localeCompare(b.key));
}

/** An object's bytes, read straight from S3 (not through the CodeStore, which could hide a fault). */
export async function readObject(services: Services, key: string): Promise<Uint8Array> {
  const result = await services.codeStore.client.send(
    new GetObjectCommand({ Bucket: services.codeStore.settings.bucket, Key: key }),
  );
  return result.Body!.transformToByteArray();
}

/** Everything a function operation can change: rows (with timestamps) and objects. */
export async function snapshot(services: Services) {
  const [functions, versions, objects] = await Promise.all([
    services.db.function.findMany({ orderBy: { id: "asc" } }),
    services.db.functionVersion.findMany({ orderBy: [{ functionId: "asc" }, { number: "asc" }] }),
    listObjects(services),
  ]);
  return { functions, versions, objects };
}

// Keys already read back and hashed, per store. A key holds the content's
// sha256, so what was verified once only needs to be still listed, with its size.
const verifiedKeys = new WeakMap<Services, Set<string>>();

/**
 * Nothing half-written: every version's object exists with the recorded size
 * and sha256, and every object belongs to some version.
 */
export async function expectConsistent(services: Services) {
  const { versions, objects } = await snapshot(services);
  const sizes = new Map(objects.map((o) => [o.key, o.size]));
  const verified = verifiedKeys.get(services) ?? new Set<string>();
  verifiedKeys.set(services, verified);
  for (const version of versions) {
    expect(sizes.get(version.s3Key), `object of version ${version.number}`).toBe(version.sizeBytes);
    if (verified.has(version.s3Key)) continue;
    const bytes = await readObject(services, version.s3Key);
    expect(bytes.byteLength).toBe(version.sizeBytes);
    expect(sha256(bytes)).toBe(version.sha256);
    verified.add(version.s3Key);
  }
  const referenced = new Set(versions.map((v) => v.s3Key));
  expect(objects.filter((o) => !referenced.has(o.key))).toEqual([]);
}

/** A loopback port nothing listens on (fetch refuses "bad" ports such as 9 outright). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
