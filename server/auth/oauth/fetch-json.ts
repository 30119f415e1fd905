import type { z } from "zod";
import { OAuthProviderError } from "./errors";

// A provider that hangs must not hold the browser's callback request forever.
const TIMEOUT_MS = 10_000;

/** GET a provider API with the user's access token; anything but a valid answer is an OAuthProviderError. */
export async function getProviderJson<T>(
  label: string,
  url: string,
  headers: Record<string, string>,
  schema: z.ZodType<T>,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (error) {
    throw new OAuthProviderError(`${label} did not answer GET ${url}`, { cause: error });
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new OAuthProviderError(`${label} answered ${response.status} to GET ${url}`);
  }
  const parsed = schema.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success) {
    throw new OAuthProviderError(`${label} sent an unexpected answer to GET ${url}`);
  }
  return parsed.data;
}
