import { Prisma, type UserTokenKind } from "@prisma/client";
import type { Database } from "../db/client";
import type { Mailer } from "../mail/mailer";
import { accountExistsEmail, passwordResetEmail, verificationEmail } from "../mail/templates";
import { hashPassword, verifyPassword } from "./password";
import { type SessionUser, sessionUserSelect } from "./sessions";
import { hashToken, randomToken } from "./tokens";

export type AuthErrorCode =
  | "INVALID_CREDENTIALS"
  | "EMAIL_NOT_VERIFIED"
  | "TOKEN_INVALID"
  | "TOKEN_EXPIRED"
  | "TOKEN_USED"
  | "OAUTH_EMAIL_UNVERIFIED";

/** An expected refusal, with a message fit to show the user. */
export class AuthError extends Error {
  constructor(
    readonly code: AuthErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const TOKEN_TTL_MS: Record<UserTokenKind, number> = {
  VERIFY_EMAIL: 24 * 3_600_000,
  RESET_PASSWORD: 3_600_000,
};

const TOKEN_PATH: Record<UserTokenKind, string> = {
  VERIFY_EMAIL: "/verify",
  RESET_PASSWORD: "/reset-password",
};

export interface AccountDeps {
  db: Database;
  mailer: Mailer;
  /** Origin used in emailed links (configured BASE_URL or the request's origin). */
  origin: string;
}

/**
 * Registers an account and emails a verification link. The answer never says
 * whether the address was already taken (no account enumeration): an existing
 * unverified account gets a fresh link, a verified one gets a notice instead.
 */
export async function register(
  deps: AccountDeps,
  input: { name: string; email: string; password: string },
): Promise<void> {
  const passwordHash = await hashPassword(input.password);
  const existing = await deps.db.user.findUnique({ where: { email: input.email } });
  if (existing) {
    // The new password travels with this link only: the account's is untouched until it is clicked.
    if (!existing.emailVerifiedAt)
      await sendTokenEmail(deps, existing, "VERIFY_EMAIL", passwordHash);
    else await deps.mailer.send(accountExistsEmail(existing.email, existing.name, deps.origin));
    return;
  }
  let user: { id: string; email: string; name: string };
  try {
    user = await deps.db.user.create({
      data: { email: input.email, name: input.name, passwordHash },
      select: { id: true, email: true, name: true },
    });
  } catch (error) {
    // Two registrations of one address at once: the loser answers like a duplicate.
    if (error instanceof Prisma.PrismaClientKnownRequestError && error.code === "P2002") return;
    throw error;
  }
  await sendTokenEmail(deps, user, "VERIFY_EMAIL", passwordHash);
}

export async function resendVerification(deps: AccountDeps, email: string): Promise<void> {
  const user = await deps.db.user.findUnique({ where: { email } });
  if (user && !user.emailVerifiedAt) {
    await sendTokenEmail(deps, user, "VERIFY_EMAIL", user.passwordHash);
  }
}

export async function verifyEmail(db: Database, token: string): Promise<SessionUser> {
  const { userId, passwordHash } = await consumeToken(db, token, "VERIFY_EMAIL");
  return db.user.update({
    where: { id: userId },
    data: { emailVerifiedAt: new Date(), ...(passwordHash ? { passwordHash } : {}) },
    select: sessionUserSelect,
  });
}

/** Checks email and password; unverified accounts are refused with a way forward. */
export async function authenticate(
  db: Database,
  input: { email: string; password: string },
): Promise<SessionUser> {
  const user = await db.user.findUnique({
    where: { email: input.email },
    select: { ...sessionUserSelect, passwordHash: true },
  });
  const ok = await verifyPassword(input.password, user?.passwordHash ?? null);
  if (!user || !ok) throw new AuthError("INVALID_CREDENTIALS", "Wrong email or password.");
  if (!user.emailVerifiedAt) {
    throw new AuthError(
      "EMAIL_NOT_VERIFIED",
      "Verify your email before logging in. We can send you a new verification link.",
    );
  }
  const { passwordHash: _, ...sessionUser } = user;
  return sessionUser;
}

export async function requestPasswordReset(deps: AccountDeps, email: string): Promise<void> {
  const user = await deps.db.user.findUnique({ where: { email } });
  if (user) await sendTokenEmail(deps, user, "RESET_PASSWORD");
}

/** Sets a new password from a reset link, ends every session, and verifies the email (the link proved it). */
export async function resetPassword(
  db: Database,
  input: { token: string; password: string },
): Promise<SessionUser> {
  const passwordHash = await hashPassword(input.password);
  const { userId } = await consumeToken(db, input.token, "RESET_PASSWORD");
  const [user] = await db.$transaction([
    db.user.update({
      where: { id: userId },
      data: { passwordHash, emailVerifiedAt: new Date() },
      select: sessionUserSelect,
    }),
    db.session.deleteMany({ where: { userId } }),
    db.userToken.updateMany({
      where: { userId, kind: "RESET_PASSWORD", usedAt: null },
      data: { usedAt: new Date() },
    }),
  ]);
  return user;
}

/** Whether a token would be accepted now, without using it (the reset form checks before asking). */
export async function checkToken(db: Database, token: string, kind: UserTokenKind): Promise<void> {
  const row = await db.userToken.findUnique({ where: { tokenHash: hashToken(token) } });
  assertUsable(row, kind);
}

async function consumeToken(
  db: Database,
  token: string,
  kind: UserTokenKind,
): Promise<{ userId: string; passwordHash: string | null }> {
  const tokenHash = hashToken(token);
  const row = await db.userToken.findUnique({ where: { tokenHash } });
  assertUsable(row, kind);
  // Single use even under concurrent clicks: only one update can match usedAt = null.
  const claimed = await db.userToken.updateMany({
    where: { tokenHash, usedAt: null, expiresAt: { gt: new Date() } },
    data: { usedAt: new Date() },
  });
  if (claimed.count !== 1) throw new AuthError("TOKEN_USED", "This link has already been used.");
  return { userId: row!.userId, passwordHash: row!.passwordHash };
}

function assertUsable(
  row: { kind: UserTokenKind; usedAt: Date | null; expiresAt: Date } | null,
  kind: UserTokenKind,
) {
  if (!row || row.kind !== kind) throw new AuthError("TOKEN_INVALID", "This link is not valid.");
  if (row.usedAt) throw new AuthError("TOKEN_USED", "This link has already been used.");
  if (row.expiresAt.getTime() <= Date.now()) {
    throw new AuthError("TOKEN_EXPIRED", "This link has expired. Ask for a new one.");
  }
}

async function sendTokenEmail(
  deps: AccountDeps,
  user: { id: string; email: string; name: string },
  kind: UserTokenKind,
  passwordHash: string | null = null,
): Promise<void> {
  const token = randomToken();
  if (kind === "VERIFY_EMAIL") {
    // Only the newest verification link works: an older one may carry a password
    // chosen by someone else who registered this address first.
    await deps.db.userToken.updateMany({
      where: { userId: user.id, kind, usedAt: null },
      data: { usedAt: new Date() },
    });
  }
  await deps.db.userToken.create({
    data: {
      tokenHash: hashToken(token),
      kind,
      userId: user.id,
      passwordHash,
      expiresAt: new Date(Date.now() + TOKEN_TTL_MS[kind]),
    },
  });
  const link = `${deps.origin}${TOKEN_PATH[kind]}?token=${token}`;
  const message =
    kind === "VERIFY_EMAIL"
      ? verificationEmail(user.email, user.name, link)
      : passwordResetEmail(user.email, user.name, link);
  await deps.mailer.send(message);
}

export interface OAuthProfile {
  provider: "github" | "google";
  providerAccountId: string;
  email: string | null;
  emailVerified: boolean;
  name: string;
}

/**
 * Finds or creates the user for an OAuth login. A first login creates a
 * verified user; an existing account is linked only when the provider vouches
 * for the same, verified email.
 */
export async function findOrCreateOAuthUser(
  db: Database,
  profile: OAuthProfile,
): Promise<SessionUser> {
  const linked = await db.oAuthAccount.findUnique({
    where: {
      provider_providerAccountId: {
        provider: profile.provider,
        providerAccountId: profile.providerAccountId,
      },
    },
    select: { user: { select: sessionUserSelect } },
  });
  if (linked) return linked.user;
  if (!profile.email || !profile.emailVerified) {
    throw new AuthError(
      "OAUTH_EMAIL_UNVERIFIED",
      "Your account at the provider has no verified email address, so we cannot sign you in with it.",
    );
  }
  const email = profile.email.toLowerCase();
  return db.$transaction(async (tx) => {
    const existing = await tx.user.findUnique({
      where: { email },
      select: { id: true, emailVerifiedAt: true },
    });
    const user = existing
      ? await tx.user.update({
          where: { id: existing.id },
          // The provider proved the mailbox, which also settles a pending verification.
          // A password set on a never-verified account may be someone else's (an
          // attacker who registered this address first): it is dropped.
          data: existing.emailVerifiedAt ? {} : { emailVerifiedAt: new Date(), passwordHash: null },
          select: sessionUserSelect,
        })
      : await tx.user.create({
          data: { email, name: profile.name.slice(0, 100) || email, emailVerifiedAt: new Date() },
          select: sessionUserSelect,
        });
    await tx.oAuthAccount.create({
      data: {
        userId: user.id,
        provider: profile.provider,
        providerAccountId: profile.providerAccountId,
      },
    });
    return user;
  });
}
