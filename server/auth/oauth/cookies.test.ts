import { describe, expect, it } from "vitest";
import { expireStateCookies, stateCookieOptions } from "./cookies";

describe("OAuth state cookies", () => {
  it("are HttpOnly, SameSite=Lax, scoped to the provider and Secure only on https", () => {
    expect(stateCookieOptions("github", false)).toEqual({
      name: "cl_oauth_github",
      path: "/auth/github",
      httpOnly: true,
      sameSite: "Lax",
      maxAge: 600,
    });
    expect(stateCookieOptions("github", true)).toMatchObject({ secure: true });
  });

  it("expires only the cookie that holds the state just used", () => {
    const header = [
      "cl_session=abc",
      "cl_oauth_github:one=state=s1&s1=v1",
      "cl_oauth_github:two=state=s2&s2=v2",
      "cl_oauth_google:three=state=s1&s1=v3",
    ].join("; ");
    expect(expireStateCookies("github", header, "s1", true)).toEqual([
      "cl_oauth_github:one=; Path=/auth/github; Max-Age=0; HttpOnly; SameSite=Lax; Secure",
    ]);
    expect(expireStateCookies("github", header, "nope", false)).toEqual([]);
    expect(expireStateCookies("github", null, "s1", false)).toEqual([]);
  });
});
