import { describe, expect, it } from "vitest";
import { isCrossOriginRequest, isCrossSiteRequest } from "./cross-origin";

const HOST = "cloudless.local:3000";
const TRUSTED = ["https://cloudless.example.com"];

function refused(method: string, headers: Record<string, string>, trusted = TRUSTED) {
  return isCrossOriginRequest(method, { host: HOST, ...headers }, trusted);
}

describe("cross-origin (CSRF) check", () => {
  it("lets safe methods through whatever their headers say", () => {
    for (const method of ["GET", "HEAD", "OPTIONS", "get"]) {
      expect(
        refused(method, { "sec-fetch-site": "cross-site", origin: "http://evil.example" }),
      ).toBe(false);
    }
  });

  it("decides from Sec-Fetch-Site when the browser sends it", () => {
    expect(refused("POST", { "sec-fetch-site": "same-origin" })).toBe(false);
    // Typed in the address bar or opened from a bookmark: the user's own navigation.
    expect(refused("POST", { "sec-fetch-site": "none" })).toBe(false);
    expect(refused("POST", { "sec-fetch-site": "cross-site" })).toBe(true);
    // A sibling subdomain is another origin too (it may be someone else's).
    expect(refused("POST", { "sec-fetch-site": "same-site" })).toBe(true);
    for (const method of ["PUT", "PATCH", "DELETE"]) {
      expect(refused(method, { "sec-fetch-site": "cross-site" })).toBe(true);
    }
  });

  it("trusts Sec-Fetch-Site over a matching Origin, since only the browser can set it", () => {
    expect(refused("POST", { "sec-fetch-site": "cross-site", origin: `http://${HOST}` })).toBe(
      true,
    );
  });

  it("falls back to comparing Origin with Host for browsers without Fetch Metadata", () => {
    expect(refused("POST", { origin: `http://${HOST}` })).toBe(false);
    expect(refused("POST", { origin: `https://${HOST}` })).toBe(false);
    expect(refused("POST", { origin: "http://evil.example" })).toBe(true);
    // Same host name, other port: another origin.
    expect(refused("POST", { origin: "http://cloudless.local:4000" })).toBe(true);
    // A look-alike that merely starts with our host.
    expect(refused("POST", { origin: `http://${HOST}.evil.example` })).toBe(true);
  });

  it('refuses the opaque "null" origin (sandboxed frames, data: URLs) and garbage', () => {
    expect(refused("POST", { origin: "null" })).toBe(true);
    expect(refused("POST", { origin: "not a url" })).toBe(true);
  });

  it("accepts the configured BASE_URL origin when the proxy rewrote Host", () => {
    expect(refused("POST", { origin: "https://cloudless.example.com" })).toBe(false);
    expect(refused("POST", { origin: "http://cloudless.example.com" })).toBe(true);
    expect(refused("POST", { origin: "https://cloudless.example.com" }, [])).toBe(true);
  });

  it("lets requests with neither header through: they are not from a browser", () => {
    expect(refused("POST", {})).toBe(false);
  });
});

describe("cross-site check for any method (cookie-authenticated function calls)", () => {
  it("refuses another site's GET as it refuses its POST", () => {
    const site = (headers: Record<string, string>) =>
      isCrossSiteRequest({ host: HOST, ...headers }, TRUSTED);
    expect(site({ "sec-fetch-site": "cross-site" })).toBe(true);
    expect(site({ "sec-fetch-site": "same-site" })).toBe(true);
    expect(site({ origin: "http://evil.example" })).toBe(true);
    expect(site({ "sec-fetch-site": "same-origin" })).toBe(false);
    expect(site({ "sec-fetch-site": "none" })).toBe(false);
    expect(site({ origin: `http://${HOST}` })).toBe(false);
    expect(site({ origin: TRUSTED[0]! })).toBe(false);
    // No browser headers: a program, which carries no ambient cookie.
    expect(site({})).toBe(false);
  });
});
