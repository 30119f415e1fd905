import { createHash, randomBytes } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * Local stand-ins for GitHub's and Google's OAuth HTTP APIs, strict where the
 * real ones are and stricter about PKCE (the challenge is required), so a
 * client that drops PKCE or sends the wrong verifier fails the tests. The
 * authorize endpoint answers at once, as if the user had signed in and
 * consented (or refused, with `deny`). oauth2-mock-server was not used: it
 * accepts any client secret and a token request without code_verifier.
 */

export type FakeProviderKind = "github" | "google";

export interface FakeAccount {
  /** GitHub's numeric user id (as a string) or Google's `sub`. */
  id: string;
  name: string;
  /** GitHub login; defaults to a slug of the name. */
  login?: string;
  email: string | null;
  emailVerified: boolean;
  /** More GitHub addresses, besides the primary one above. */
  otherEmails?: Array<{ email: string; verified: boolean }>;
}

export interface TokenRequestRecord {
  params: URLSearchParams;
  clientAuth: "ok" | "bad";
  pkce: "ok" | "missing" | "mismatch" | "not-checked";
}

export interface FakeProvider {
  kind: FakeProviderKind;
  url: string;
  clientId: string;
  clientSecret: string;
  /** GITHUB_* or GOOGLE_* variables for startTestApp. */
  env: Record<string, string>;
  /** Who signs in at the provider on the next authorization. */
  account: FakeAccount;
  /** The next authorizations are refused by the user (error=access_denied). */
  deny: boolean;
  /** Make an endpoint answer with this status instead. */
  failures: { token?: number; profile?: number };
  /** Query of every authorization request received. */
  authorizations: URLSearchParams[];
  tokenRequests: TokenRequestRecord[];
  /** Back to the default account and behaviour, with the records emptied. */
  reset(): void;
  close(): Promise<void>;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string | null;
  challenge: string;
  account: FakeAccount;
  scope: string;
  expiresAt: number;
}

const PATHS = {
  github: {
    authorize: "/login/oauth/authorize",
    token: "/login/oauth/access_token",
    user: "/api/user",
    emails: "/api/user/emails",
  },
  google: { authorize: "/o/oauth2/v2/auth", token: "/token", userinfo: "/v1/userinfo" },
} as const;

export function startFakeGitHub(account?: Partial<FakeAccount>) {
  return startFakeProvider("github", account);
}

export function startFakeGoogle(account?: Partial<FakeAccount>) {
  return startFakeProvider("google", account);
}

export function defaultAccount(kind: FakeProviderKind): FakeAccount {
  const n = randomBytes(3).readUIntBE(0, 3);
  return {
    id: kind === "github" ? String(n) : `1${n}${n}`,
    name: "Octo Cat",
    email: `octo-${n}@example.com`,
    emailVerified: true,
  };
}

async function startFakeProvider(
  kind: FakeProviderKind,
  account?: Partial<FakeAccount>,
): Promise<FakeProvider> {
  const codes = new Map<string, IssuedCode>();
  const tokens = new Map<string, FakeAccount>();
  const initial = () => ({ ...defaultAccount(kind), ...account });
  const server = http.createServer((req, res) => {
    route(provider, codes, tokens, req, res).catch((error) => {
      res.writeHead(500).end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clientId = `${kind}-client-${randomBytes(4).toString("hex")}`;
  const clientSecret = randomBytes(16).toString("hex");
  const provider: FakeProvider = {
    kind,
    url,
    clientId,
    clientSecret,
    env:
      kind === "github"
        ? {
            GITHUB_CLIENT_ID: clientId,
            GITHUB_CLIENT_SECRET: clientSecret,
            GITHUB_AUTHORIZE_URL: `${url}${PATHS.github.authorize}`,
            GITHUB_TOKEN_URL: `${url}${PATHS.github.token}`,
            GITHUB_API_URL: `${url}/api`,
          }
        : {
            GOOGLE_CLIENT_ID: clientId,
            GOOGLE_CLIENT_SECRET: clientSecret,
            GOOGLE_AUTHORIZE_URL: `${url}${PATHS.google.authorize}`,
            GOOGLE_TOKEN_URL: `${url}${PATHS.google.token}`,
            GOOGLE_USERINFO_URL: `${url}${PATHS.google.userinfo}`,
          },
    account: initial(),
    deny: false,
    failures: {},
    authorizations: [],
    tokenRequests: [],
    reset() {
      provider.account = initial();
      provider.deny = false;
      provider.failures = {};
      provider.authorizations = [];
      provider.tokenRequests = [];
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return provider;
}

async function route(
  provider: FakeProvider,
  codes: Map<string, IssuedCode>,
  tokens: Map<string, FakeAccount>,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const url = new URL(req.url ?? "/", provider.url);
  const paths = PATHS[provider.kind];
  if (req.method === "GET" && url.pathname === paths.authorize) {
    return authorize(provider, codes, url.searchParams, res);
  }
  if (req.method === "POST" && url.pathname === paths.token) {
    return token(provider, codes, tokens, req, res);
  }
  if (req.method === "GET") {
    const account = tokens.get(bearer(req) ?? "");
    if (provider.kind === "github" && url.pathname.startsWith("/api/")) {
      // Like GitHub: no User-Agent, no API.
      if (!req.headers["user-agent"]) return json(res, 403, { message: "User-Agent required" });
      if (!account) return json(res, 401, { message: "Bad credentials" });
      if (provider.failures.profile) return json(res, provider.failures.profile, {});
      if (url.pathname === PATHS.github.user) return json(res, 200, githubUser(account));
      if (url.pathname === PATHS.github.emails) return json(res, 200, githubEmails(account));
    }
    if (provider.kind === "google" && url.pathname === PATHS.google.userinfo) {
      if (!account) return json(res, 401, { error: "invalid_token" });
      if (provider.failures.profile) return json(res, provider.failures.profile, {});
      return json(res, 200, {
        sub: account.id,
        name: account.name,
        ...(account.email ? { email: account.email, email_verified: account.emailVerified } : {}),
      });
    }
  }
  json(res, 404, { message: "Not Found" });
}

function authorize(
  provider: FakeProvider,
  codes: Map<string, IssuedCode>,
  query: URLSearchParams,
  res: ServerResponse,
) {
  provider.authorizations.push(new URLSearchParams(query));
  if (query.get("client_id") !== provider.clientId) {
    return json(res, 400, { error: "invalid_client", error_description: "Unknown client_id" });
  }
  const redirectUri = query.get("redirect_uri");
  if (!redirectUri || (provider.kind === "google" && query.get("response_type") !== "code")) {
    return json(res, 400, { error: "invalid_request", error_description: "redirect_uri required" });
  }
  const back = new URL(redirectUri);
  const state = query.get("state");
  const challenge = query.get("code_challenge");
  if (provider.deny) {
    back.searchParams.set("error", "access_denied");
    back.searchParams.set("error_description", "The user has denied your application access.");
  } else if (!challenge || query.get("code_challenge_method") !== "S256") {
    back.searchParams.set("error", "invalid_request");
    back.searchParams.set("error_description", "PKCE with S256 is required");
  } else {
    const code = randomBytes(10).toString("hex");
    codes.set(code, {
      clientId: provider.clientId,
      redirectUri,
      challenge,
      account: { ...provider.account },
      scope: query.get("scope") ?? "",
      expiresAt: Date.now() + 600_000,
    });
    back.searchParams.set("code", code);
  }
  if (state) back.searchParams.set("state", state);
  res.writeHead(302, { Location: back.toString() }).end();
}

async function token(
  provider: FakeProvider,
  codes: Map<string, IssuedCode>,
  tokens: Map<string, FakeAccount>,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const params = new URLSearchParams(await readBody(req));
  const record: TokenRequestRecord = { params, clientAuth: "bad", pkce: "not-checked" };
  provider.tokenRequests.push(record);
  if (provider.failures.token) {
    return json(res, provider.failures.token, { message: "Internal error" });
  }
  // GitHub reports token errors with status 200; Google with 400/401.
  const fail = (status: number, error: string, description: string) =>
    provider.kind === "github"
      ? json(res, 200, { error, error_description: description })
      : json(res, status, { error, error_description: description });

  const [id, secret] = clientCredentials(req, params);
  if (id !== provider.clientId || secret !== provider.clientSecret) {
    return fail(
      401,
      provider.kind === "github" ? "incorrect_client_credentials" : "invalid_client",
      "Bad client credentials",
    );
  }
  record.clientAuth = "ok";
  if (params.get("grant_type") !== "authorization_code") {
    return fail(400, "unsupported_grant_type", "Only authorization_code");
  }
  const code = params.get("code") ?? "";
  const issued = codes.get(code);
  codes.delete(code); // single use, even when the exchange fails
  const badCode = provider.kind === "github" ? "bad_verification_code" : "invalid_grant";
  if (!issued || issued.expiresAt < Date.now() || issued.clientId !== id) {
    return fail(400, badCode, "The code passed is incorrect or expired.");
  }
  if ((params.get("redirect_uri") ?? issued.redirectUri) !== issued.redirectUri) {
    return fail(400, "redirect_uri_mismatch", "The redirect_uri does not match.");
  }
  const verifier = params.get("code_verifier");
  if (!verifier) {
    record.pkce = "missing";
    return fail(400, badCode, "code_verifier is required.");
  }
  if (createHash("sha256").update(verifier).digest("base64url") !== issued.challenge) {
    record.pkce = "mismatch";
    return fail(400, badCode, "code_verifier does not match the code_challenge.");
  }
  record.pkce = "ok";
  const accessToken = `${provider.kind}_at_${randomBytes(16).toString("hex")}`;
  tokens.set(accessToken, issued.account);
  json(
    res,
    200,
    provider.kind === "github"
      ? { access_token: accessToken, token_type: "bearer", scope: issued.scope.replace(/ /g, ",") }
      : { access_token: accessToken, token_type: "Bearer", expires_in: 3599, scope: issued.scope },
  );
}

function githubUser(account: FakeAccount) {
  const login = account.login ?? account.name.toLowerCase().replace(/[^a-z0-9]+/g, "-");
  // /user's email is the public one: GitHub may show it even when not verified.
  return { id: Number(account.id), login, name: account.name, email: account.email };
}

function githubEmails(account: FakeAccount) {
  const primary = account.email
    ? [
        {
          email: account.email,
          primary: true,
          verified: account.emailVerified,
          visibility: "private",
        },
      ]
    : [];
  const others = (account.otherEmails ?? []).map((e) => ({
    ...e,
    primary: false,
    visibility: null,
  }));
  return [...primary, ...others];
}

/** client_secret_basic (what arctic sends) or client_secret_post. */
function clientCredentials(req: IncomingMessage, params: URLSearchParams): [string?, string?] {
  const header = req.headers.authorization;
  if (header?.startsWith("Basic ")) {
    const decoded = Buffer.from(header.slice(6), "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    return [decoded.slice(0, colon), decoded.slice(colon + 1)];
  }
  return [params.get("client_id") ?? undefined, params.get("client_secret") ?? undefined];
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  return header?.startsWith("Bearer ") ? header.slice(7) : undefined;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function json(res: ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(payload),
  });
  res.end(payload);
}
