import { z } from "zod";
import type { OAuthProfile } from "../accounts";
import { getProviderJson } from "./fetch-json";

export const GITHUB_SCOPES = ["read:user", "user:email"];

const userSchema = z.object({
  id: z.number().int(),
  login: z.string(),
  name: z.string().nullish(),
});

const emailsSchema = z.array(
  z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }),
);

/** The profile behind a GitHub access token: GET /user and GET /user/emails. */
export async function fetchGitHubProfile(
  apiUrl: string,
  accessToken: string,
): Promise<OAuthProfile> {
  const headers = {
    Authorization: `Bearer ${accessToken}`,
    Accept: "application/vnd.github+json",
    "X-GitHub-Api-Version": "2022-11-28",
    // GitHub's REST API refuses requests without one.
    "User-Agent": "Cloudless",
  };
  const [user, emails] = await Promise.all([
    getProviderJson("GitHub", `${apiUrl}/user`, headers, userSchema),
    // /user's own `email` is the public one and says nothing about verification.
    getProviderJson("GitHub", `${apiUrl}/user/emails`, headers, emailsSchema),
  ]);
  const chosen =
    emails.find((e) => e.primary && e.verified) ??
    emails.find((e) => e.verified) ??
    emails.find((e) => e.primary);
  return {
    provider: "github",
    providerAccountId: String(user.id),
    email: chosen?.email ?? null,
    emailVerified: chosen?.verified ?? false,
    name: user.name?.trim() || user.login,
  };
}
