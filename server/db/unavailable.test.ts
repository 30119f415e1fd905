import { describe, expect, it } from "vitest";
import { isDatabaseUnavailable } from "./unavailable";

// Shapes as Prisma 6.19 with @prisma/adapter-pg throws them (seen against a stopped PostgreSQL).
describe("isDatabaseUnavailable", () => {
  it("recognises an unreachable or restarting PostgreSQL", () => {
    const unreachable = {
      code: "P2010",
      message: "Raw query failed. Message: `Can't reach database server at 127.0.0.1:5432`",
      meta: { driverAdapterError: { cause: { kind: "DatabaseNotReachable" } } },
    };
    expect(isDatabaseUnavailable(unreachable)).toBe(true);
    expect(isDatabaseUnavailable({ code: "P1001", message: "x" })).toBe(true);
    expect(isDatabaseUnavailable({ cause: { code: "57P01", message: "terminating" } })).toBe(true);
    expect(isDatabaseUnavailable(new Error("timeout exceeded when trying to connect"))).toBe(true);
  });

  it("does not mistake refusals or other services' outages for it", () => {
    const unique = {
      code: "P2002",
      message: "Unique constraint failed",
      meta: { driverAdapterError: { cause: { kind: "UniqueConstraintViolation" } } },
    };
    expect(isDatabaseUnavailable(unique)).toBe(false);
    // S3 down: the SDK's error says ECONNREFUSED too.
    const s3 = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9000"), {
      code: "ECONNREFUSED",
    });
    expect(isDatabaseUnavailable(new Error("Object storage is unreachable", { cause: s3 }))).toBe(
      false,
    );
    expect(isDatabaseUnavailable(null)).toBe(false);
  });
});
