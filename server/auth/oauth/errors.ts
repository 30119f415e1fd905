import { OAuth2RequestError } from "remix-auth-oauth2";
import { AuthError } from "../accounts";

/** The provider could not be reached or answered something we cannot use. */
export class OAuthProviderError extends Error {}

/** The callback came without the state it must echo back. */
export class OAuthMissingStateError extends Error {
  constructor() {
    super("Missing state in the callback URL");
  }
}

// remix-auth-oauth2 3.x throws plain ReferenceError/RangeError for these; the
// unit test next to this file pins the messages against the installed version.
const STATE_FAILURES = new Set([
  "Missing state on cookie.",
  "State in URL doesn't match state in cookie.",
  "Missing code verifier on cookie.",
]);
const MISSING_CODE = "Missing code in the URL";

export interface OAuthFailure {
  /** For the login page. */
  message: string;
  /** Unexpected failures are logged; a user cancelling or a stale tab is not news. */
  log: boolean;
}

/** Turns whatever ended a sign-in into words for the user. */
export function describeOAuthFailure(label: string, error: unknown): OAuthFailure {
  if (error instanceof AuthError) return { message: error.message, log: false };
  if (error instanceof OAuth2RequestError) {
    if (error.code === "access_denied") {
      return { message: `Signing in with ${label} was cancelled.`, log: false };
    }
    return {
      message: `${label} refused the sign-in (${errorCode(error.code)}). Please try again.`,
      log: true,
    };
  }
  if (
    error instanceof OAuthMissingStateError ||
    ((error instanceof ReferenceError || error instanceof RangeError) &&
      STATE_FAILURES.has(error.message))
  ) {
    return {
      message: `Signing in with ${label} could not be completed: the attempt expired or was started in another browser. Please try again.`,
      log: false,
    };
  }
  if (error instanceof ReferenceError && error.message === MISSING_CODE) {
    return {
      message: `${label} did not send back an authorization code. Please try again.`,
      log: true,
    };
  }
  return {
    message: `${label} did not answer as expected, so we could not sign you in. Please try again in a moment.`,
    log: true,
  };
}

/** OAuth error codes are short snake_case words; anything else is not worth echoing. */
function errorCode(code: string): string {
  return /^[a-z0-9_.-]{1,60}$/i.test(code) ? code : "unknown error";
}
