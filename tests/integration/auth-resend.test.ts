import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { MailDeliveryError, ResendMailer } from "../../server/mail/mailer";
import { startTestApp, type TestApp } from "../helpers/app";
import { HttpClient } from "../helpers/http-client";
import { findLink } from "../helpers/mail";
import { RESEND_OUTAGE, type ResendServer, startResendServer } from "../helpers/resend-server";

// Email through Resend's API, served by a local stand-in that records what it
// gets: the SDK's real requests, the real links, and what happens when the
// provider refuses.

const PASSWORD = "correct-horse-9";
const FROM = "Cloudless <no-reply@cloudless.test>";

let resend: ResendServer;
let app: TestApp;

beforeAll(async () => {
  resend = await startResendServer({ apiKey: "test-key" });
  app = await startTestApp({
    RESEND_API_KEY: "test-key",
    RESEND_BASE_URL: resend.url,
    MAIL_FROM: FROM,
    AUTH_RATE_LIMIT_PER_IP: "1000",
    AUTH_RATE_LIMIT_PER_EMAIL: "1000",
  });
});
afterAll(async () => {
  await app?.close();
  await resend?.close();
});
beforeEach(() => resend.recover());

function sentTo(email: string) {
  return resend.emails.filter(
    (e) => e.to === email || (Array.isArray(e.to) && e.to.includes(email)),
  );
}

describe("the stand-in Resend server", () => {
  it("answers like Resend: an id, 401 for a bad key, 422 for a missing field", async () => {
    const send = (key: string | null, body: object) =>
      fetch(`${resend.url}/emails`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...(key === null ? {} : { Authorization: `Bearer ${key}` }),
        },
        body: JSON.stringify(body),
      });
    const message = { from: FROM, to: "x@example.com", subject: "Hi", text: "Hello" };
    const ok = await send("test-key", message);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect((await send("wrong-key", message)).status).toBe(401);
    expect((await send(null, message)).status).toBe(401);
    const missing = await send("test-key", { ...message, to: undefined });
    expect(missing.status).toBe(422);
    expect(await missing.json()).toEqual({
      statusCode: 422,
      name: "missing_required_field",
      message: "Missing `to` field.",
    });
    expect(
      (await send("test-key", { from: FROM, to: "x@example.com", subject: "No body" })).status,
    ).toBe(422);
  });

  it("is what the Resend SDK talks to, with the key as a Bearer token", async () => {
    await new ResendMailer("test-key", FROM, resend.url).send({
      to: "sdk@example.com",
      subject: "Through the SDK",
      text: "plain",
      html: "<p>html</p>",
    });
    const [email] = sentTo("sdk@example.com");
    expect(email).toMatchObject({
      from: FROM,
      subject: "Through the SDK",
      text: "plain",
      html: "<p>html</p>",
    });
    expect(email.headers.authorization).toBe("Bearer test-key");
    expect(email.headers["content-type"]).toBe("application/json");
    expect(email.headers["user-agent"]).toMatch(/^resend-node:/);
  });

  it("makes the mailer throw MailDeliveryError for a wrong key or an unreachable server", async () => {
    const message = { to: "x@example.com", subject: "s", text: "t", html: "<p>t</p>" };
    await expect(new ResendMailer("wrong-key", FROM, resend.url).send(message)).rejects.toThrow(
      MailDeliveryError,
    );
    // A port nothing listens on: the SDK reports it as an error, which must not pass silently.
    await expect(
      new ResendMailer("test-key", FROM, "http://127.0.0.1:9").send(message),
    ).rejects.toThrow(MailDeliveryError);
  });
});

describe("with RESEND_API_KEY set", () => {
  it("sends the verification email through Resend, with a link that verifies the account", async () => {
    const browser = new HttpClient(app.url);
    const registered = await browser.mutation("auth.register", {
      name: "Katherine Johnson",
      email: "katherine@example.com",
      password: PASSWORD,
    });
    expect(registered.status).toBe(200);

    const email = await resend.waitForEmail((e) => e.to === "katherine@example.com");
    expect(email.from).toBe(FROM);
    expect(email.subject).toBe("Verify your Cloudless email");
    expect(email.text).toContain("Hi Katherine Johnson,");
    const link = findLink(email.text ?? "");
    expect(link?.url.startsWith(`${app.url}/verify?token=`)).toBe(true);
    expect(email.html).toContain(`href="${link!.url}"`);
    // Nothing went to the development outbox, and the outbox page does not exist.
    expect(await app.services.db.outboxEmail.count()).toBe(0);
    expect((await browser.get("/dev/outbox")).status).toBe(404);

    const opened = await browser.get(new URL(link!.url).pathname + new URL(link!.url).search);
    expect(opened.status).toBe(200);
    const verified = await browser.form("/verify", { intent: "verify", token: link!.token });
    expect(verified.headers.get("location")).toBe("/login?notice=verified");
    const login = await browser.form("/login", {
      email: "katherine@example.com",
      password: PASSWORD,
    });
    expect(login.status).toBe(302);
    expect(login.headers.get("location")).toBe("/user");
  });

  it("sends password-reset links through Resend as well", async () => {
    await app.services.db.user.create({
      data: { email: "dorothy@example.com", name: "Dorothy", emailVerifiedAt: new Date() },
    });
    const asked = await new HttpClient(app.url).form("/forgot-password", {
      email: "dorothy@example.com",
    });
    expect(asked.status).toBe(200);
    const email = await resend.waitForEmail((e) => e.to === "dorothy@example.com");
    expect(email.subject).toBe("Reset your Cloudless password");
    expect(findLink(email.text ?? "")?.path).toBe("/reset-password");
  });
});

describe("when Resend refuses", () => {
  // Decision: the account row stays (unverified) when its email cannot be sent,
  // so nothing is lost; asking for a new link, or registering again, sends one
  // once the provider is back. The visitor gets a 503 that says to try later.
  it("registration fails with a clear 503, and a new link can be had once Resend is back", async () => {
    resend.fail(RESEND_OUTAGE);
    const failed = await new HttpClient(app.url).mutation("auth.register", {
      name: "Mary Jackson",
      email: "mary@example.com",
      password: PASSWORD,
    });
    expect(failed.status).toBe(503);
    expect(failed.body.error?.data.code).toBe("SERVICE_UNAVAILABLE");
    expect(failed.body.error?.message).toBe(
      "We could not send the email just now. Try again in a few minutes.",
    );
    // The provider's own words stay in the log.
    expect(failed.text).not.toContain("unexpected error occurred");
    expect(resend.answered.at(-1)).toBe(500);
    expect(sentTo("mary@example.com")).toHaveLength(0);

    const form = await new HttpClient(app.url).form("/register", {
      name: "Mary Jackson",
      email: "mary@example.com",
      password: PASSWORD,
    });
    expect(form.status).toBe(503);
    expect(await form.text()).toContain("We could not send the email just now.");

    const user = await app.services.db.user.findUniqueOrThrow({
      where: { email: "mary@example.com" },
    });
    expect(user.emailVerifiedAt).toBeNull();

    resend.recover();
    const resent = await new HttpClient(app.url).form("/verify", {
      intent: "resend",
      email: "mary@example.com",
    });
    expect(resent.status).toBe(200);
    const email = await resend.waitForEmail((e) => e.to === "mary@example.com");
    const link = findLink(email.text ?? "");
    const browser = new HttpClient(app.url);
    expect((await browser.form("/verify", { intent: "verify", token: link!.token })).status).toBe(
      302,
    );
    expect(
      (await browser.form("/login", { email: "mary@example.com", password: PASSWORD })).headers.get(
        "location",
      ),
    ).toBe("/user");
  });

  it("registering again after a failure sends the link (the address is not stuck)", async () => {
    resend.fail(RESEND_OUTAGE);
    const client = new HttpClient(app.url);
    const input = { name: "Christine Darden", email: "christine@example.com", password: PASSWORD };
    expect((await client.mutation("auth.register", input)).status).toBe(503);
    resend.recover();
    expect((await client.mutation("auth.register", input)).status).toBe(200);
    const email = await resend.waitForEmail((e) => e.to === "christine@example.com");
    expect(findLink(email.text ?? "")?.path).toBe("/verify");
    expect(await app.services.db.user.count({ where: { email: "christine@example.com" } })).toBe(1);
  });

  it("a wrong API key is a 503 too, not a silent success", async () => {
    const misconfigured = await startTestApp({
      RESEND_API_KEY: "not-the-key",
      RESEND_BASE_URL: resend.url,
    });
    try {
      const before = resend.answered.length;
      const result = await new HttpClient(misconfigured.url).mutation("auth.requestPasswordReset", {
        email: "anyone@example.com",
      });
      // No account: nothing to send, and the answer does not say so.
      expect(result.status).toBe(200);
      await misconfigured.services.db.user.create({
        data: { email: "anyone@example.com", name: "Anyone", emailVerifiedAt: new Date() },
      });
      const failed = await new HttpClient(misconfigured.url).mutation("auth.requestPasswordReset", {
        email: "anyone@example.com",
      });
      expect(failed.status).toBe(503);
      expect(resend.answered.slice(before)).toEqual([401]);
    } finally {
      await misconfigured.close();
    }
  });
});
