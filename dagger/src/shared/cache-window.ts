// How long the engine may serve a cached result whose verdict depends on the date, and the instant
// such a verdict is judged at. Ignore-file entries expire by UTC day and the vulnerability DB grows
// every day, so a cached "pass" computed today could be wrong tomorrow. A Dagger function's cache key
// holds only its inputs (no clock), so the bound is a TTL, and the verdict is judged at the END of the
// TTL window: every moment the cached result may be served at, it is still right. The cost is that an
// entry expiring on day D fails from DATED_RESULT_TTL before D begins (23:00 UTC the day before).

/** `@func({ cache })` of every function whose result depends on the date: at most one hour old. */
export const DATED_RESULT_TTL = "1h"

const DATED_RESULT_TTL_MS = 60 * 60 * 1000

/** The last instant a result computed at `now` may be served: judge date-dependent rules at it. */
export function cacheWindowEnd(now: Date = new Date()): Date {
  return new Date(now.getTime() + DATED_RESULT_TTL_MS)
}
