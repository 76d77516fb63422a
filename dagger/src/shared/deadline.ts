// Time limits of the pipeline's steps: the error a step that ran out of time fails with, and the race of
// work against a limit for work that is awaited rather than cancelled (Dagger execs cannot be cancelled from
// the module; the engine finishes them).
import { formatDuration } from "./text.js"

/** A step ran out of time. */
export class StepTimeoutError extends Error {
  override name = "StepTimeoutError"
  constructor(
    readonly step: string,
    readonly timeoutMs: number,
    message?: string,
  ) {
    super(
      message ??
        `step '${step}' did not finish within ${formatDuration(timeoutMs)} and was cancelled; ` +
          "if it is legitimately that slow, raise its entry in timeouts.stepMinutes (ci/pipeline.yaml).",
    )
  }
}

/**
 * Resolves like `work`, or rejects with `onTimeout()` after `ms`. Never leaves a timer behind, so a
 * finished step does not keep the module process alive. It stops waiting; it cannot stop the work.
 */
export async function raceDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  try {
    return await Promise.race([work, deadline])
  } finally {
    clearTimeout(timer)
  }
}
