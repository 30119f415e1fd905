import { describe, expect, it } from "vitest";
import { isSecureRequest } from "./cookie";

describe("secure cookies", () => {
  const plain = new Headers();
  const proxied = new Headers({ "x-forwarded-proto": "https" });

  it("are secure over https, behind a trusted https proxy, or with an https BASE_URL", () => {
    expect(isSecureRequest("https://a.test/", plain, { trustProxy: false })).toBe(true);
    expect(isSecureRequest("http://a.test/", proxied, { trustProxy: true })).toBe(true);
    expect(
      isSecureRequest("http://a.test/", plain, { trustProxy: false, baseUrl: "https://a.test" }),
    ).toBe(true);
  });

  it("are not secure over plain http, and an untrusted X-Forwarded-Proto changes nothing", () => {
    expect(isSecureRequest("http://a.test/", plain, { trustProxy: false })).toBe(false);
    expect(isSecureRequest("http://a.test/", proxied, { trustProxy: false })).toBe(false);
    expect(
      isSecureRequest("http://a.test/", plain, { trustProxy: false, baseUrl: "http://a.test" }),
    ).toBe(false);
  });
});
