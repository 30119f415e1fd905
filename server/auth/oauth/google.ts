import { z } from "zod";
import type { OAuthProfile } from "../accounts";
import { getProviderJson } from "./fetch-json";

export const GOOGLE_SCOPES = ["openid", "email", "profile"];

const userInfoSchema = z.object({
  sub: z.string().min(1),
  email: z.string().optional(),
  // Google sends a boolean; some OIDC servers send the string form.
  email_verified: z.union([z.boolean(), z.enum(["true", "false"])]).optional(),
  name: z.string().optional(),
});

/** The profile behind a Google access token, from the OIDC userinfo endpoint. */
export async function fetchGoogleProfile(
  userInfoUrl: string,
  accessToken: string,
): Promise<OAuthProfile> {
  const info = await getProviderJson(
    "Google",
    userInfoUrl,
    { Authorization: `Bearer ${accessToken}`, Accept: "application/json" },
    userInfoSchema,
  );
  return {
    provider: "google",
    providerAccountId: info.sub,
    email: info.email ?? null,
    emailVerified: info.email_verified === true || info.email_verified === "true",
    name: info.name?.trim() ?? "",
  };
}
