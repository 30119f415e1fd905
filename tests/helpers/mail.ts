import type { Database } from "../../server/db/client";

const LINK = /https?:\/\/[^\s"<>]+\/(verify|reset-password)\?token=([A-Za-z0-9_-]+)/;

export interface EmailedLink {
  url: string;
  path: "/verify" | "/reset-password";
  token: string;
}

/** The link in a message body, if any. */
export function findLink(text: string): EmailedLink | null {
  const match = LINK.exec(text);
  if (!match) return null;
  return { url: match[0], path: `/${match[1]}` as EmailedLink["path"], token: match[2] };
}

/** Messages the outbox mailer stored for an address, oldest first. */
export function outboxFor(db: Database, to: string) {
  return db.outboxEmail.findMany({ where: { to }, orderBy: { createdAt: "asc" } });
}

/** The newest emailed link of a kind for an address; throws when there is none. */
export async function latestLink(
  db: Database,
  to: string,
  path: EmailedLink["path"],
): Promise<EmailedLink> {
  const messages = await outboxFor(db, to);
  for (const message of messages.reverse()) {
    const link = findLink(message.text);
    if (link?.path === path) return link;
  }
  throw new Error(`no ${path} link was emailed to ${to}`);
}
