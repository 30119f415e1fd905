import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import type { ApiKeyEvents } from "../services";
import { ApiKeyCache } from "./api-key-cache";

// The cache's own rules, with a lookup the test controls (the route against a
// real database and a real revoke is in tests/integration/invoke-access.test.ts).

function setup(ttlMs = 10_000) {
  const events = new EventEmitter<ApiKeyEvents>();
  const owners = new Map([["k1", "alice"]]);
  let lookups = 0;
  let hold: Promise<void> | null = null;
  const cache = new ApiKeyCache(
    async (key) => {
      lookups += 1;
      const owner = owners.get(key) ?? null;
      await hold;
      return owner;
    },
    events,
    ttlMs,
  );
  return {
    cache,
    events,
    owners,
    lookups: () => lookups,
    holdLookups(gate: Promise<void>) {
      hold = gate;
    },
  };
}

describe("ApiKeyCache", () => {
  it("answers repeat lookups from memory, unknown keys too", async () => {
    const t = setup();
    expect(await t.cache.userIdFor("k1")).toBe("alice");
    expect(await t.cache.userIdFor("k1")).toBe("alice");
    expect(await t.cache.userIdFor("nope")).toBeNull();
    expect(await t.cache.userIdFor("nope")).toBeNull();
    expect(t.lookups()).toBe(2);
  });

  it("forgets everything on a revoke", async () => {
    const t = setup();
    await t.cache.userIdFor("k1");
    t.owners.delete("k1");
    t.events.emit("revoked", "id-of-k1");
    expect(await t.cache.userIdFor("k1")).toBeNull();
  });

  it("does not keep what a lookup read before a revoke that happened while it ran", async () => {
    const t = setup();
    let release!: () => void;
    t.holdLookups(new Promise<void>((r) => (release = r)));
    // Read the owner, then the revoke lands before the answer comes back.
    const inFlight = t.cache.userIdFor("k1");
    t.owners.delete("k1");
    t.events.emit("revoked", "id-of-k1");
    release();
    // The call that started before the revoke may go through...
    expect(await inFlight).toBe("alice");
    t.holdLookups(Promise.resolve());
    // ...but the next one asks again and is refused.
    expect(await t.cache.userIdFor("k1")).toBeNull();
  });

  it("asks again once the TTL is over", async () => {
    const t = setup(30);
    await t.cache.userIdFor("k1");
    t.owners.delete("k1");
    expect(await t.cache.userIdFor("k1")).toBe("alice");
    await new Promise((r) => setTimeout(r, 40));
    expect(await t.cache.userIdFor("k1")).toBeNull();
  });
});
