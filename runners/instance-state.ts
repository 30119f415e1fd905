/**
 * The life of an instance as a closed union, with transitions as plain
 * functions: starting → generic → specializing → idle ⇄ busy → removing.
 * An instance leaves `busy` for `removing` after a timeout, crash or OOM; it
 * is never returned to a pool then.
 */
export type InstanceState = "starting" | "generic" | "specializing" | "idle" | "busy" | "removing";

export type InstanceEvent =
  | "booted"
  | "specialize"
  | "specialized"
  | "acquired"
  | "released"
  | "failed"
  | "remove";

const TRANSITIONS: Record<InstanceState, Partial<Record<InstanceEvent, InstanceState>>> = {
  starting: { booted: "generic", failed: "removing", remove: "removing" },
  generic: { specialize: "specializing", remove: "removing", failed: "removing" },
  specializing: { specialized: "idle", failed: "removing", remove: "removing" },
  idle: { acquired: "busy", remove: "removing", failed: "removing" },
  busy: { released: "idle", failed: "removing", remove: "removing" },
  removing: { remove: "removing", failed: "removing" },
};

export class InvalidTransitionError extends Error {}

/** The next state, or an error naming the illegal move (a bug in the caller). */
export function transition(state: InstanceState, event: InstanceEvent): InstanceState {
  const next = TRANSITIONS[state][event];
  if (!next) throw new InvalidTransitionError(`Instance cannot "${event}" while ${state}`);
  return next;
}

export function canServe(state: InstanceState): boolean {
  return state === "idle";
}
