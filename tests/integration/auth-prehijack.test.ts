import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findOrCreateOAuthUser } from "../../server/auth/accounts";
import type { Services } from "../../server/services";
import { startTestServices } from "../helpers/app";
import { CallerClient, trpcError } from "../helpers/caller";
import { findLink, outboxFor } from "../helpers/mail";

// Account pre-hijacking: an attacker registers the victim's address first,
// with a password of their own, and waits for the victim to activate it.

let env: Awaited<ReturnType<typeof startTestServices>>;
let services: Services;

beforeAll(async () => {
  env = await startTestServices({
    AUTH_RATE_LIMIT_PER_IP: "1000",
    AUTH_RATE_LIMIT_PER_EMAIL: "1000",
  });
  services = env.services;
});
afterAll(() => env?.close());

const client = () => new CallerClient(services);

async function links(email: string) {
  const messages = await outboxFor(services.db, email);
  return messages.map((m) => findLink(m.text)).filter((l) => l?.path === "/verify");
}

describe("pre-registered address", () => {
  it("the owner's link activates the owner's password, never the attacker's", async () => {
    const email = "victim@example.com";
    await client().run((c) =>
      c.auth.register({ name: "Mallory", email, password: "attacker-pass-1" }),
    );
    await client().run((c) =>
      c.auth.register({ name: "Victim", email, password: "owner-pass-123" }),
    );
    const [attackerLink, ownerLink] = await links(email);
    // The victim clicks the link in their inbox that came with their own registration.
    await client().run((c) => c.auth.verifyEmail({ token: ownerLink!.token }));

    const error = await trpcError(
      client().run((c) => c.auth.login({ email, password: "attacker-pass-1" })),
    );
    expect(error.code).toBe("UNAUTHORIZED");
    await client().run((c) => c.auth.login({ email, password: "owner-pass-123" }));
    // The older link (carrying the attacker's password) no longer works.
    const stale = await trpcError(
      client().run((c) => c.auth.verifyEmail({ token: attackerLink!.token })),
    );
    expect(stale.code).toBe("BAD_REQUEST");
  });

  it("linking an OAuth login to a never-verified account drops the password set on it", async () => {
    const email = "oauth-victim@example.com";
    await client().run((c) =>
      c.auth.register({ name: "Mallory", email, password: "attacker-pass-2" }),
    );
    await findOrCreateOAuthUser(services.db, {
      provider: "github",
      providerAccountId: "424242",
      email,
      emailVerified: true,
      name: "Victim",
    });
    const user = await services.db.user.findUniqueOrThrow({ where: { email } });
    expect(user.emailVerifiedAt).not.toBeNull();
    expect(user.passwordHash).toBeNull();
    const error = await trpcError(
      client().run((c) => c.auth.login({ email, password: "attacker-pass-2" })),
    );
    expect(error.code).toBe("UNAUTHORIZED");
  });
});
