import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApp, type TestApp } from "../helpers/app";
import { HttpClient } from "../helpers/http-client";

// Bad input at the doors: each answered 400 with a message for the field at
// fault, fast, and with nothing stored or sent.

const GOOD = { name: "Ada Lovelace", email: "ada@example.com", password: "correct-horse-9" };
const MEGABYTE = 1024 * 1024;

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp({ AUTH_RATE_LIMIT_PER_IP: "1000", AUTH_RATE_LIMIT_PER_EMAIL: "1000" });
});
afterAll(() => app?.close());

async function nothingStored() {
  const db = app.services.db;
  expect({
    users: await db.user.count(),
    tokens: await db.userToken.count(),
    sessions: await db.session.count(),
    mails: await db.outboxEmail.count(),
  }).toEqual({ users: 0, tokens: 0, sessions: 0, mails: 0 });
}

const cases: Array<[string, Partial<typeof GOOD>, string, string]> = [
  ["an empty name", { name: "" }, "name", "Enter your name"],
  ["a blank name", { name: " \u00a0 " }, "name", "Enter your name"],
  ["an over-long name", { name: "n".repeat(101) }, "name", "Names are at most 100 characters"],
  ["a megabyte name", { name: "n".repeat(MEGABYTE) }, "name", "Names are at most 100 characters"],
  [
    "a NUL in the name",
    { name: "Ada\u0000Lovelace" },
    "name",
    "Names cannot contain control characters",
  ],
  [
    "a newline in the name",
    { name: "Ada\r\nBcc: x" },
    "name",
    "Names cannot contain control characters",
  ],
  [
    "an escape sequence in the name",
    { name: "Ada\u001b[31m" },
    "name",
    "Names cannot contain control characters",
  ],
  [
    "a C1 control in the name",
    { name: "Ada\u0085" },
    "name",
    "Names cannot contain control characters",
  ],
  ["an empty email", { email: "" }, "email", "Enter your email address"],
  ["an email without @", { email: "ada.example.com" }, "email", "Enter a valid email address"],
  [
    "an email with spaces",
    { email: "ada lovelace@example.com" },
    "email",
    "Enter a valid email address",
  ],
  ["an email with two @", { email: "ada@@example.com" }, "email", "Enter a valid email address"],
  [
    "an email with a NUL",
    { email: "ada\u0000@example.com" },
    "email",
    "Enter a valid email address",
  ],
  [
    "a 255-character email",
    { email: `${"a".repeat(64)}@${"d".repeat(186)}.com` },
    "email",
    "Email addresses are at most 254 characters",
  ],
  [
    "a megabyte email",
    { email: `${"a".repeat(MEGABYTE)}@example.com` },
    "email",
    "Email addresses are at most 254 characters",
  ],
  ["a short password", { password: "short" }, "password", "Use at least 8 characters"],
  [
    "a 129-character password",
    { password: "p".repeat(129) },
    "password",
    "Use at most 128 characters",
  ],
  [
    "a megabyte password",
    { password: "p".repeat(MEGABYTE) },
    "password",
    "Use at most 128 characters",
  ],
];

describe("registration refuses bad input", () => {
  it.each(cases)("over tRPC: %s", async (_name, change, field, message) => {
    const started = performance.now();
    const result = await new HttpClient(app.url).mutation("auth.register", { ...GOOD, ...change });
    expect(result.status).toBe(400);
    expect(result.body.error?.data.code).toBe("BAD_REQUEST");
    expect(result.body.error?.data.fieldErrors).toEqual({ [field]: [message] });
    // Refused by the schema, not after hashing or a database round trip.
    expect(performance.now() - started).toBeLessThan(2_000);
    await nothingStored();
  });

  it.each(cases)("through the form: %s", async (_name, change, field, message) => {
    const response = await new HttpClient(app.url).form("/register", { ...GOOD, ...change });
    expect(response.status).toBe(400);
    const page = await response.text();
    expect(page).toContain(message);
    // The message sits by its field (the input points at it for screen readers).
    expect(page).toMatch(
      new RegExp(`name="${field}"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*name="${field}"`),
    );
    if (field === "password") expect(page).not.toContain(change.password);
    await nothingStored();
  });

  it("reports every bad field at once, and a wrong type as a missing value", async () => {
    const result = await new HttpClient(app.url).mutation("auth.register", {
      name: 42,
      email: ["ada@example.com"],
    });
    expect(result.status).toBe(400);
    expect(result.body.error?.data.fieldErrors).toEqual({
      name: ["Enter your name"],
      email: ["Enter your email address"],
      password: ["Enter a password"],
    });
    await nothingStored();
  });
});

describe("other forms refuse bad input too", () => {
  it("login: a megabyte password or email is a 400, not an expensive check", async () => {
    const client = new HttpClient(app.url);
    const password = await client.mutation("auth.login", {
      email: "ada@example.com",
      password: "p".repeat(MEGABYTE),
    });
    expect(password.status).toBe(400);
    expect(password.body.error?.data.fieldErrors).toEqual({
      password: ["Wrong email or password"],
    });
    const email = await client.form("/login", {
      email: `${"a".repeat(MEGABYTE)}@example.com`,
      password: "whatever-1",
    });
    expect(email.status).toBe(400);
    expect(await email.text()).toContain("Email addresses are at most 254 characters");
    await nothingStored();
  });

  it("password reset and verification requests: a malformed email is a 400 with its message", async () => {
    const client = new HttpClient(app.url);
    for (const procedure of ["auth.requestPasswordReset", "auth.resendVerification"]) {
      const result = await client.mutation(procedure, { email: "not an email" });
      expect(result.status).toBe(400);
      expect(result.body.error?.data.fieldErrors).toEqual({
        email: ["Enter a valid email address"],
      });
    }
    const form = await client.form("/forgot-password", { email: "" });
    expect(form.status).toBe(400);
    expect(await form.text()).toContain("Enter your email address");
    await nothingStored();
  });

  it("tokens: malformed ones are a 400 with a plain message", async () => {
    const client = new HttpClient(app.url);
    for (const token of [
      "short",
      "x".repeat(201),
      `${"a".repeat(40)}<script>`,
      "a".repeat(MEGABYTE),
    ]) {
      const result = await client.mutation("auth.verifyEmail", { token });
      expect(result.status).toBe(400);
      expect(result.body.error?.data.fieldErrors).toEqual({ token: ["This link is not valid"] });
    }
    const form = await client.form("/verify", { intent: "verify", token: "../../etc/passwd" });
    expect(form.status).toBe(400);
  });

  it("a body over 4 MB is refused with 413 before anything reads it", async () => {
    const response = await new HttpClient(app.url).form("/register", {
      ...GOOD,
      password: "p".repeat(5 * MEGABYTE),
    });
    expect(response.status).toBe(413);
    await nothingStored();
  });
});
