// Ctrl-C and SIGTERM of the module process (a cancelled `dagger call`, a stopped CI job) during a deploy:
// instead of dying half-way, the run is cancelled like a run timeout — the running step is cancelled, the
// rollback runs if the service changed, and the report is still returned.
const SIGNALS = ["SIGTERM", "SIGINT"] as const

/** Runs `use` with a signal that aborts when the process receives SIGTERM or SIGINT; the handlers go afterwards. */
export async function whileInterruptible<T>(use: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const onSignal = (name: NodeJS.Signals): void => {
    controller.abort(new Error(`the module process received ${name}; rolling back what this run changed, then reporting`))
  }
  for (const name of SIGNALS) process.on(name, onSignal)
  try {
    return await use(controller.signal)
  } finally {
    for (const name of SIGNALS) process.off(name, onSignal)
  }
}
