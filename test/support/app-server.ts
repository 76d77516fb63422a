// Starts the REAL portfolio app (app/src/main.ts) as a child process, so health-check, pipeline and app
// tests talk to the same code the image runs, over real HTTP, with a real SIGTERM.
//
// Design choices, and why:
// - Run from source with tsx (the root dev dependency), not from app/dist: nothing to build first and no
//   stale build to fool a test; a start costs about half a second. The image runs the tsc output of the
//   same files.
// - Port 0 by default: the app binds a port the kernel picks and logs it ("listening on …"), so suites
//   never race for a "free" port.
// - startApp resolves only once GET /health answered 200 (unless waitForReady is false): a real round
//   trip, not a log line.
// - A preloaded watchdog (app-watchdog.mjs) kills the app when our end of its stdin closes, so the app
//   dies with this process even if we are SIGKILLed.
import { spawn } from "node:child_process"
import { request } from "node:http"
import { createRequire } from "node:module"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = resolve(here, "../..")
/** The app's entry point, run through tsx. */
export const APP_ENTRY = join(repoRoot, "app/src/main.ts")
const TSX_LOADER = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href
const WATCHDOG = pathToFileURL(join(here, "app-watchdog.mjs")).href

export interface StartAppOptions {
  /** APP_VERSION the app reports on /health and in its footer, e.g. "1.4.0". */
  version: string
  /** APP_COMMIT (7-40 hex characters, or "unknown"). */
  commit: string
  /** PORT to bind. Default 0: the kernel picks a free one (read it from `port`/`url`). */
  port?: number
  /** Extra environment for the app, e.g. `{ APP_SHUTDOWN_TIMEOUT_MS: "1000" }`. Default: none. */
  env?: Record<string, string>
  /** Resolve only after /health answers 200. Default true; false resolves as soon as the port is bound. */
  waitForReady?: boolean
  /** How long to wait for the port and for readiness. Default 20 000 ms (a cold tsx start takes ~0.5 s). */
  timeoutMs?: number
  /**
   * Keep every log line for `logs()`/`waitForLog`. Default true. Benchmarks pass false: once started, the
   * app still writes its access log into the pipe (as under a container runtime), but lines are read and
   * dropped instead of parsed and stored.
   */
  keepLogs?: boolean
}

/** One stdout line of the app: parsed JSON (the app only logs JSON), or `{ raw }` if it was not JSON. */
export type AppLogLine = Record<string, unknown>

export interface AppExit {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface AppServer {
  /** Base URL on loopback, e.g. http://127.0.0.1:41234 */
  url: string
  port: number
  pid: number
  /** Every stdout line so far, parsed. */
  logs(): AppLogLine[]
  /** Everything written to stderr so far. */
  stderr(): string
  /** Resolves with the first log line (past or future) that matches; rejects after timeoutMs (default 10 000). */
  waitForLog(match: (line: AppLogLine) => boolean, timeoutMs?: number): Promise<AppLogLine>
  /** Settles when the process has exited. */
  exited: Promise<AppExit>
  /** Sends a signal (e.g. "SIGTERM") without waiting. */
  kill(signal: NodeJS.Signals): void
  /** SIGTERM, then wait for the exit (SIGKILL after 15 s). Idempotent; resolves with how it exited. */
  stop(): Promise<AppExit>
}

function getStatus(url: string): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { agent: false, timeout: 2000 }, (res) => {
      res.resume()
      resolvePromise(res.statusCode ?? 0)
    })
    req.on("timeout", () => req.destroy(new Error("timeout")))
    req.on("error", reject)
    req.end()
  })
}

/** Starts the app with the given identity and waits until it serves. */
export async function startApp(options: StartAppOptions): Promise<AppServer> {
  const timeoutMs = options.timeoutMs ?? 20_000
  const child = spawn(process.execPath, ["--import", TSX_LOADER, "--import", WATCHDOG, APP_ENTRY], {
    cwd: repoRoot,
    env: {
      PATH: process.env.PATH ?? "",
      HOST: "127.0.0.1",
      PORT: String(options.port ?? 0),
      APP_VERSION: options.version,
      APP_COMMIT: options.commit,
      ...options.env,
    },
    stdio: ["pipe", "pipe", "pipe"],
  })

  const lines: AppLogLine[] = []
  const waiters = new Set<{ match: (l: AppLogLine) => boolean; resolve: (l: AppLogLine) => void }>()
  let stderrText = ""
  let pending = ""
  child.stdout.setEncoding("utf8")
  let keep = true
  child.stdout.on("data", (chunk: string) => {
    if (!keep) return
    pending += chunk
    let nl: number
    while ((nl = pending.indexOf("\n")) >= 0) {
      const text = pending.slice(0, nl)
      pending = pending.slice(nl + 1)
      if (text.trim() === "") continue
      let line: AppLogLine
      try {
        const parsed: unknown = JSON.parse(text)
        line = typeof parsed === "object" && parsed !== null ? (parsed as AppLogLine) : { raw: text }
      } catch {
        line = { raw: text }
      }
      lines.push(line)
      for (const w of waiters) if (w.match(line)) { waiters.delete(w); w.resolve(line) }
    }
  })
  child.stderr.setEncoding("utf8")
  child.stderr.on("data", (chunk: string) => { stderrText += chunk })

  const exited = new Promise<AppExit>((res) => child.once("exit", (code, signal) => res({ code, signal })))
  let exitInfo: AppExit | undefined
  void exited.then((e) => { exitInfo = e })

  const describe = (): string => {
    const tail = lines.slice(-5).map((l) => JSON.stringify(l)).join("\n    ")
    return `app (pid ${child.pid}) ${exitInfo ? `exited with code ${exitInfo.code} signal ${exitInfo.signal}` : "still running"}` +
      `\n  last log lines:\n    ${tail || "(none)"}\n  stderr:\n    ${stderrText.trim().split("\n").slice(-10).join("\n    ") || "(none)"}`
  }

  const waitForLog = (match: (line: AppLogLine) => boolean, waitMs = 10_000): Promise<AppLogLine> => {
    const seen = lines.find(match)
    if (seen) return Promise.resolve(seen)
    return new Promise((res, rej) => {
      const waiter = { match, resolve: (l: AppLogLine) => { clearTimeout(timer); res(l) } }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        rej(new Error(`no matching app log line within ${waitMs} ms; ${describe()}`))
      }, waitMs)
      waiters.add(waiter)
      void exited.then(() => setImmediate(() => {
        if (!waiters.has(waiter)) return
        waiters.delete(waiter)
        clearTimeout(timer)
        rej(new Error(`the app exited before logging a matching line; ${describe()}`))
      }))
    })
  }

  let stopping: Promise<AppExit> | undefined
  const stop = (): Promise<AppExit> => {
    stopping ??= (async () => {
      if (!exitInfo) {
        child.kill("SIGTERM")
        const killer = setTimeout(() => child.kill("SIGKILL"), 15_000)
        await exited
        clearTimeout(killer)
      }
      child.stdin.destroy()
      return exited
    })()
    return stopping
  }

  let port: number
  try {
    const listening = await waitForLog((l) => typeof l.message === "string" && l.message.startsWith("listening on"), timeoutMs)
    port = Number(listening.port)
  } catch (err) {
    child.kill("SIGKILL")
    throw new Error(`startApp: the app did not start listening (version ${options.version}). ${(err as Error).message}`)
  }
  const url = `http://127.0.0.1:${port}`

  if (options.waitForReady ?? true) {
    const deadline = Date.now() + timeoutMs
    let last = "no answer yet"
    for (;;) {
      if (exitInfo) break
      try {
        const status = await getStatus(`${url}/health`)
        if (status === 200) break
        last = `GET /health answered ${status}`
      } catch (err) {
        last = `GET /health failed: ${(err as Error).message}`
      }
      if (Date.now() > deadline) {
        await stop()
        throw new Error(`startApp: the app never became ready within ${timeoutMs} ms (${last}); ${describe()}`)
      }
      await new Promise((r) => setTimeout(r, 25))
    }
    if (exitInfo) throw new Error(`startApp: the app exited during start-up; ${describe()}`)
  }

  if (options.keepLogs === false) {
    keep = false
    pending = ""
  }

  return {
    url,
    port,
    pid: child.pid ?? -1,
    logs: () => [...lines],
    stderr: () => stderrText,
    waitForLog,
    exited,
    kill: (signal) => { child.kill(signal) },
    stop,
  }
}
