import { Authenticator } from "remix-auth";
import { OAuth2RequestError, type OAuth2Strategy } from "remix-auth-oauth2";
import type { Config } from "../../config/config";
import type { Database } from "../../db/client";
import { findOrCreateOAuthUser, type OAuthProfile } from "../accounts";
import { isSecureRequest, type SessionCookie } from "../cookie";
import type { SessionUser } from "../sessions";
import { startSession } from "../start-session";
import { createNextCookie, expireStateCookies } from "./cookies";
import { describeOAuthFailure, OAuthMissingStateError } from "./errors";
import { fetchGitHubProfile, GITHUB_SCOPES } from "./github";
import { fetchGoogleProfile, GOOGLE_SCOPES } from "./google";
import { loginErrorUrl, readLoginError } from "./login-error";
import { OAuth2LoginStrategy } from "./strategy";

export type OAuthProviderName = "github" | "google";

const LABELS: Record<OAuthProviderName, string> = { github: "GitHub", google: "Google" };

export interface OAuthDeps {
  config: Config;
  db: Database;
  sessionCookie: SessionCookie;
  log: (line: string) => void;
}

/** How a callback ended: signed in (with the remembered destination, unchecked) or refused. */
export type OAuthCallbackResult =
  | { ok: true; next: string | null; headers: Headers }
  | { ok: false; message: string; headers: Headers };

export interface OAuthService {
  /** One strategy per configured provider, named like the provider. */
  readonly authenticator: Authenticator<SessionUser>;
  isEnabled(name: string): name is OAuthProviderName;
  /** The redirect to the provider, with the flow's cookies. `next` must already be safe. */
  start(provider: OAuthProviderName, request: Request, next: string): Promise<Response>;
  /** Completes a callback: the user signed in with a session cookie, or why not. */
  finish(
    provider: OAuthProviderName,
    request: Request,
    clientIp: string,
  ): Promise<OAuthCallbackResult>;
  /** Where a failed callback sends the browser: /login with the signed reason. */
  loginErrorUrl(message: string): string;
  /** The reason on a /login URL, if it was signed by us. */
  readLoginError(url: URL): string | undefined;
}

/** Built once per process (startServices); strategies exist only for configured providers. */
export function createOAuthService(deps: OAuthDeps): OAuthService {
  const { config, db } = deps;
  const authenticator = new Authenticator<SessionUser>();
  const nextCookie = createNextCookie(config.sessionSecret);
  const secureFor = (request: Request) => isSecureRequest(request.url, request.headers, config);
  const forRequest = (provider: OAuthProviderName) => (request: Request) => ({
    // The provider must send the browser back to the address it came from (or BASE_URL).
    redirectURI: `${config.baseUrl ?? new URL(request.url).origin}/auth/${provider}/callback`,
    secure: secureFor(request),
  });
  const signIn = (fetchProfile: (accessToken: string) => Promise<OAuthProfile>) => {
    return async ({ tokens }: OAuth2Strategy.VerifyOptions) =>
      findOrCreateOAuthUser(db, await fetchProfile(accessTokenOf(tokens)));
  };

  const { github, google } = config.oauth;
  if (github) {
    authenticator.use(
      new OAuth2LoginStrategy(
        { name: "github", ...github, scopes: GITHUB_SCOPES, forRequest: forRequest("github") },
        signIn((token) => fetchGitHubProfile(github.apiUrl, token)),
      ),
    );
  }
  if (google) {
    authenticator.use(
      new OAuth2LoginStrategy(
        { name: "google", ...google, scopes: GOOGLE_SCOPES, forRequest: forRequest("google") },
        signIn((token) => fetchGoogleProfile(google.userInfoUrl, token)),
      ),
    );
  }

  return {
    authenticator,
    loginErrorUrl: (message) => loginErrorUrl(config.sessionSecret, message),
    readLoginError: (url) => readLoginError(config.sessionSecret, url),

    isEnabled(name): name is OAuthProviderName {
      return (name === "github" || name === "google") && authenticator.get(name) !== null;
    },

    async start(provider, request, next) {
      const url = new URL(request.url);
      // Origin, path and cookies only: a `state` in the query would make the
      // library treat this POST as a callback instead of starting a flow.
      const startRequest = new Request(`${url.origin}${url.pathname}`, {
        headers: { cookie: request.headers.get("cookie") ?? "" },
      });
      try {
        await authenticator.authenticate(provider, startRequest);
      } catch (thrown) {
        // The library throws its redirect (with the state cookie) to the provider.
        if (thrown instanceof Response && thrown.headers.has("Location")) {
          const secure = secureFor(request);
          thrown.headers.append("Set-Cookie", await nextCookie.serialize(next, { secure }));
          return thrown;
        }
        throw thrown;
      }
      throw new Error(`OAuth ${provider}: the strategy did not redirect to the provider`);
    },

    async finish(provider, request, clientIp) {
      const secure = secureFor(request);
      const cookieHeader = request.headers.get("cookie");
      const state = new URL(request.url).searchParams.get("state");
      const next = await nextCookie.parse(cookieHeader);
      const headers = new Headers();
      // One callback per attempt, whatever its outcome: forget its state and destination.
      if (state) {
        for (const cookie of expireStateCookies(provider, cookieHeader, state, secure)) {
          headers.append("Set-Cookie", cookie);
        }
      }
      if (next !== null) {
        headers.append("Set-Cookie", await nextCookie.serialize("", { secure, maxAge: 0 }));
      }
      try {
        // Without a state the library would start a new flow rather than finish one.
        if (!state) throw new OAuthMissingStateError();
        const user = await authenticator.authenticate(provider, request);
        const sessionCookie = await startSession(deps, {
          userId: user.id,
          userAgent: request.headers.get("user-agent"),
          ip: clientIp,
          secure,
        });
        headers.append("Set-Cookie", sessionCookie);
        return { ok: true, next: typeof next === "string" ? next : null, headers };
      } catch (error) {
        const failure = describeOAuthFailure(LABELS[provider], error);
        if (failure.log) deps.log(`OAuth ${provider} sign-in failed: ${describeForLog(error)}`);
        return { ok: false, message: failure.message, headers };
      }
    },
  };
}

/**
 * GitHub reports a bad code or verifier as HTTP 200 with an `error` body,
 * which arctic's generic client hands over as if it were tokens.
 */
function accessTokenOf(tokens: OAuth2Strategy.VerifyOptions["tokens"]): string {
  const data = tokens.data as Record<string, unknown>;
  if (typeof data.error === "string") {
    const description = typeof data.error_description === "string" ? data.error_description : null;
    throw new OAuth2RequestError(data.error, description, null, null);
  }
  return tokens.accessToken();
}

/** Name, message and HTTP status (arctic keeps the status out of its message); never tokens. */
function describeForLog(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status =
    "status" in error && typeof error.status === "number" ? ` (HTTP ${error.status})` : "";
  return `${error.name}: ${error.message}${status}`;
}
