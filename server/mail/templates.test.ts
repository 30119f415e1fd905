import { describe, expect, it } from "vitest";
import { accountExistsEmail, passwordResetEmail, verificationEmail } from "./templates";

const NAME = `Eve <img src=x onerror="alert(1)"> & co`;

describe("email templates", () => {
  it.each([
    [
      "verification",
      verificationEmail("eve@example.com", NAME, "https://c.example/verify?token=abc"),
    ],
    [
      "reset",
      passwordResetEmail("eve@example.com", NAME, "https://c.example/reset-password?token=abc"),
    ],
    ["account exists", accountExistsEmail("eve@example.com", NAME, "https://c.example")],
  ])("%s: escapes the name in HTML and keeps it as is in text", (_kind, message) => {
    expect(message.to).toBe("eve@example.com");
    expect(message.html).not.toContain("<img");
    expect(message.html).toContain("Eve &lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; co");
    expect(message.text).toContain(`Hi ${NAME},`);
  });

  it("puts the link in both parts", () => {
    const link = "https://c.example/verify?token=abc_DEF-123";
    const message = verificationEmail("a@example.com", "Ada", link);
    expect(message.text).toContain(link);
    expect(message.html).toContain(`href="${link}"`);
    const notice = accountExistsEmail("a@example.com", "Ada", "https://c.example");
    expect(notice.text).toContain("https://c.example/login");
    expect(notice.text).toContain("https://c.example/forgot-password");
    expect(notice.html).toContain('href="https://c.example/forgot-password"');
  });
});
