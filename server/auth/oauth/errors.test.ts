import { OAuth2Strategy } from "remix-auth-oauth2";
import { describe, expect, it } from "vitest";
import { AuthError } from "../accounts";
import { describeOAuthFailure, OAuthMissingStateError, OAuthProviderError } from "./errors";

// The real library, so an upgrade that rewords its errors fails here, not in production.
const strategy = new OAuth2Strategy(
  {
    clientId: "id",
    clientSecret: "secret",
    authorizationEndpoint: "https://provider.example/authorize",
    tokenEndpoint: "https://provider.example/token",
    redirectURI: "https://app.example/auth/github/callback",
    cookie: "flow",
  },
  async () => "user",
);

async function failureOf(query: string, cookie?: string) {
  const request = new Request(`https://app.example/auth/github/callback?${query}`, {
    headers: cookie ? { cookie } : {},
  });
  const error = await strategy.authenticate(request).then(
    () => new Error("expected a failure"),
    (thrown: unknown) => thrown,
  );
  return describeOAuthFailure("GitHub", error);
}

const FLOW_COOKIE = "flow:1=state=abc&abc=verifier";

describe("describeOAuthFailure", () => {
  it("calls a callback without its state cookie an expired attempt", async () => {
    const failure = await failureOf("state=abc&code=c");
    expect(failure).toEqual({ message: expect.stringContaining("expired"), log: false });
  });

  it("calls a state that does not match the cookie an expired attempt", async () => {
    const failure = await failureOf("state=tampered&code=c", FLOW_COOKIE);
    expect(failure.message).toContain("the attempt expired or was started in another browser");
  });

  it("treats a missing state in the URL the same way", () => {
    const failure = describeOAuthFailure("GitHub", new OAuthMissingStateError());
    expect(failure.message).toContain("the attempt expired");
  });

  it("names a missing code", async () => {
    const failure = await failureOf("state=abc", FLOW_COOKIE);
    expect(failure).toEqual({
      message: "GitHub did not send back an authorization code. Please try again.",
      log: true,
    });
  });

  it("says the user cancelled on access_denied, without logging it", async () => {
    const failure = await failureOf("state=abc&error=access_denied", FLOW_COOKIE);
    expect(failure).toEqual({ message: "Signing in with GitHub was cancelled.", log: false });
  });

  it("echoes a provider error code only when it looks like one", async () => {
    expect((await failureOf("state=abc&error=server_error", FLOW_COOKIE)).message).toBe(
      "GitHub refused the sign-in (server_error). Please try again.",
    );
    expect((await failureOf("state=abc&error=%3Cscript%3E", FLOW_COOKIE)).message).toBe(
      "GitHub refused the sign-in (unknown error). Please try again.",
    );
  });

  it("passes account refusals through and hides everything else", () => {
    const refusal = new AuthError("OAUTH_EMAIL_UNVERIFIED", "No verified email.");
    expect(describeOAuthFailure("Google", refusal)).toEqual({
      message: "No verified email.",
      log: false,
    });
    const broken = describeOAuthFailure("Google", new OAuthProviderError("500 from userinfo"));
    expect(broken).toEqual({
      message:
        "Google did not answer as expected, so we could not sign you in. Please try again in a moment.",
      log: true,
    });
  });
});
