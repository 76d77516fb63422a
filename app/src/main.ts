// Process entry point (`node dist/main.js` in the image, `tsx src/main.ts` in tests): reads the
// environment, starts the server, and turns SIGTERM/SIGINT into a bounded drain.
//
// Exit codes: 0 = drained cleanly; 1 = could not start (bad environment, port, content) or the drain
// timed out and connections were cut; 130 = a second signal forced an immediate exit.
import { loadConfig } from "./config.js"
import { eventLogLine } from "./log.js"
import { startServer } from "./server.js"

const log = (line: string): void => {
  process.stdout.write(line + "\n")
}

function fail(message: string): never {
  log(eventLogLine("CRITICAL", message, new Date()))
  process.exit(1)
}

process.on("uncaughtException", (err) => fail(`uncaught exception: ${err.stack ?? String(err)}`))
process.on("unhandledRejection", (err) => fail(`unhandled rejection: ${err instanceof Error ? err.stack : String(err)}`))

let config
try {
  config = loadConfig(process.env)
} catch (err) {
  fail((err as Error).message)
}

const server = await startServer({ config, log }).catch((err: Error) => fail(err.message))

server.ready.catch((err: Error) => fail(`start-up failed, not serving: ${err.message}`))

let signalled = false
const onSignal = (signal: NodeJS.Signals): void => {
  if (signalled) {
    log(eventLogLine("WARNING", `second ${signal} during drain: exiting now`, new Date()))
    process.exit(130)
  }
  signalled = true
  void server.shutdown(signal).then((result) => {
    log(eventLogLine(result.forced ? "WARNING" : "INFO",
      result.forced
        ? `stopped: drain timed out after ${result.durationMs} ms, cut ${result.connectionsCut} open connection(s)`
        : `stopped: drained in ${result.durationMs} ms`,
      new Date(), { ...result }))
    process.exit(result.forced ? 1 : 0)
  })
}
process.on("SIGTERM", onSignal)
process.on("SIGINT", onSignal)
