/**
 * Errors that services throw and routers catch, recognisable across copies of
 * server/ code. The Remix build bundles its own copy of server/ while
 * `context.services` comes from the server entry's (decision 0001), so an error
 * thrown by a service is not `instanceof` the bundle's class of the same name.
 * A branded class answers `instanceof` by a global symbol instead:
 *
 *   const BRAND = Symbol.for("cloudless.SomeError");
 *   class SomeError extends Error {
 *     readonly [BRAND] = true;
 *     static [Symbol.hasInstance](v: unknown): v is SomeError { return hasBrand(v, BRAND); }
 *   }
 */
export function hasBrand(value: unknown, brand: symbol): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    (value as Record<symbol, unknown>)[brand] === true
  );
}
