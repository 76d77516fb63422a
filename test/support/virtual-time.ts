// Virtual time for waits: `sleep` advances the clock instantly instead of blocking, so a ten-minute
// budget runs in milliseconds and every pause the code asked for is recorded.
export interface VirtualTime {
  now: () => number
  sleep: (ms: number) => Promise<void>
  /** Every pause requested, in ms, in order. */
  sleeps: number[]
  /** Moves the clock without a sleep (e.g. to model a slow API call). */
  advance(ms: number): void
}

export function virtualTime(start = 1_000_000): VirtualTime {
  let t = start
  const sleeps: number[] = []
  return {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms)
      t += ms
    },
    sleeps,
    advance(ms) {
      t += ms
    },
  }
}
