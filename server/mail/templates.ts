import type { MailMessage } from "./mailer";

/** Transactional emails: short, plain, with the link in both text and HTML. */
export function verificationEmail(to: string, name: string, link: string): MailMessage {
  return message(
    to,
    "Verify your Cloudless email",
    `Hi ${name},`,
    "Confirm this address to finish creating your Cloudless account. The link works once and expires in 24 hours.",
    "Verify email",
    link,
  );
}

export function passwordResetEmail(to: string, name: string, link: string): MailMessage {
  return message(
    to,
    "Reset your Cloudless password",
    `Hi ${name},`,
    "Someone asked to reset the password of this Cloudless account. If it was you, use the link below within an hour. If not, ignore this email: nothing changes.",
    "Choose a new password",
    link,
  );
}

/** To the owner of an address someone tried to register again (instead of a second account). */
export function accountExistsEmail(to: string, name: string, origin: string): MailMessage {
  const subject = "Someone tried to register with your email";
  const body =
    "Someone tried to create a Cloudless account with this address, which already has one. If it was you, log in, or reset your password if you forgot it. If not, ignore this email: nothing changes.";
  const login = `${origin}/login`;
  const reset = `${origin}/forgot-password`;
  const text = `Hi ${name},\n\n${body}\n\nLog in: ${login}\nReset your password: ${reset}\n\n— Cloudless`;
  const html = `<p>${escapeHtml(`Hi ${name},`)}</p><p>${escapeHtml(body)}</p><p><a href="${escapeHtml(login)}">Log in</a> · <a href="${escapeHtml(reset)}">Reset your password</a></p><p>— Cloudless</p>`;
  return { to, subject, text, html };
}

function message(
  to: string,
  subject: string,
  greeting: string,
  body: string,
  action: string,
  link: string,
): MailMessage {
  const text = `${greeting}\n\n${body}\n\n${action}: ${link}\n\n— Cloudless`;
  const html = `<p>${escapeHtml(greeting)}</p><p>${escapeHtml(body)}</p><p><a href="${escapeHtml(link)}">${escapeHtml(action)}</a></p><p style="color:#666">${escapeHtml(link)}</p><p>— Cloudless</p>`;
  return { to, subject, text, html };
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}
