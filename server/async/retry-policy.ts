/** The parts of an attempt's outcome that decide what happens next. */
export interface AttemptOutcome {
  status: number;
  timeout: boolean;
  error: string | null;
  /** The engine could not run it at all (unavailable, host at capacity). */
  engineUnavailable?: boolean;
}

export type NextStep = "succeeded" | "failed" | "retry" | "dead";

const TIMEOUT = 124;
const KILLED = 137;

/**
 * A failure of the platform or of the instance, not of the user's code: the
 * instance crashed, timed out or ran out of memory, or the engine could not
 * run the call. These are worth another attempt; a clean non-zero exit of
 * user code is only retried when the function asks for it.
 */
export function isPlatformFailure(outcome: AttemptOutcome): boolean {
  return (
    Boolean(outcome.engineUnavailable) ||
    outcome.timeout ||
    outcome.status === TIMEOUT ||
    outcome.status === KILLED ||
    outcome.error === "instance crashed" ||
    outcome.error === "out of memory"
  );
}

/** What to do after an attempt, given whether attempts remain. */
export function nextStep(
  outcome: AttemptOutcome,
  options: { retryOnError: boolean; attemptsLeft: boolean },
): NextStep {
  if (!outcome.engineUnavailable && outcome.status === 0 && !outcome.timeout) return "succeeded";
  const retryable = isPlatformFailure(outcome) || options.retryOnError;
  if (!retryable) return "failed";
  return options.attemptsLeft ? "retry" : "dead";
}
