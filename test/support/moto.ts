// moto fixture: a real moto_server (the pinned one from test/tools/setup.mjs) on a loopback port.
//
// Design choices, and why:
// - Port 0: moto binds a port the kernel picks and prints it ("Running on http://127.0.0.1:PORT"), so
//   two suites can never race for the same "free" port.
// - The server runs under a tiny Python watchdog that exits when its stdin closes. stdin is a pipe from
//   this process, so the server dies with us even when we are SIGKILLed (a vitest worker torn down, a
//   crashed run) — an `exit` handler alone cannot cover that.
// - Readiness is proven with a real HTTP round trip (POST /moto-api/reset), not by the log line alone.
import { spawn, type ChildProcess } from "node:child_process"
import { toolPath } from "../tools/paths.js"

export interface MotoCredentials {
  accessKeyId: string
  secretAccessKey: string
}

export interface Moto {
  /** Base URL for AWS SDK clients (`endpoint`) and AWS_ENDPOINT_URL, e.g. http://127.0.0.1:40217 */
  endpoint: string
  port: number
  /** The region tests should use; moto accepts any, this one matches ci/pipeline.yaml. */
  region: string
  /** Fake credentials; moto accepts anything, but the SDK insists on having some. */
  credentials: MotoCredentials
  /** The server's process id (for the fixture's own tests). */
  pid: number
  /** Clears every resource in every moto backend (POST /moto-api/reset). */
  reset(): Promise<void>
  /** Stops the server and waits until the process has exited. Idempotent. */
  stop(): Promise<void>
}

export interface StartMotoOptions {
  /** Region handed to tests. Default "us-west-1". */
  region?: string
  /** How long to wait for the server to answer. Default 30 000 ms (a cold venv import takes 1–3 s). */
  readyTimeoutMs?: number
  /**
   * Extra environment for the server, for moto's documented knobs, e.g. `MOTO_ECS_SERVICE_RUNNING: "1"`
   * (services report that many running tasks and a COMPLETED deployment). Read by moto when a resource
   * is created, so it applies for the server's lifetime. Default: none.
   */
  env?: Record<string, string>
}

// Runs moto_server's own entry point (the console script) after starting a thread that ends the
// process as soon as stdin reaches EOF, i.e. when the parent goes away for any reason.
const WATCHDOG = [
  "import os, runpy, sys, threading",
  "def _watch():",
  "    try:",
  "        while sys.stdin.buffer.read(65536): pass",
  "    finally:",
  "        os._exit(0)",
  "threading.Thread(target=_watch, daemon=True).start()",
  "script = sys.argv[1]",
  "sys.argv = ['moto_server'] + sys.argv[2:]",
  "runpy.run_path(script, run_name='__main__')",
].join("\n")

const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // Synchronous last resort for a normal exit; the stdin watchdog covers abnormal ones.
  process.on("exit", () => {
    for (const child of live) child.kill("SIGKILL")
  })
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => child.once("exit", () => resolve()))
}

/** Starts moto_server on a kernel-chosen loopback port and resolves once it answers HTTP. */
export async function startMoto(options: StartMotoOptions = {}): Promise<Moto> {
  const region = options.region ?? "us-west-1"
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000
  const motoServer = toolPath("python", "moto", "moto_server")
  const python = toolPath("python", "moto", "python")

  const child = spawn(python, ["-c", WATCHDOG, motoServer, "-H", "127.0.0.1", "-p", "0"], {
    stdio: ["pipe", "pipe", "pipe"],
    env: { ...process.env, ...options.env, PYTHONUNBUFFERED: "1" },
  })
  installExitHook()
  live.add(child)
  child.once("exit", () => live.delete(child))

  let output = ""
  const onData = (chunk: Buffer) => {
    // Keep only the tail: it is for error messages, and moto logs every request.
    output = (output + chunk.toString("utf8")).slice(-8_000)
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000)
      await exited(child)
      clearTimeout(timer)
    }
    child.stdin?.destroy()
  }

  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`moto_server did not report a listening port within ${readyTimeoutMs} ms`)),
        readyTimeoutMs,
      )
      const check = () => {
        const m = /Running on http:\/\/127\.0\.0\.1:(\d+)/.exec(output)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      }
      child.stdout!.on("data", check)
      child.stderr!.on("data", check)
      child.once("error", (err) => {
        clearTimeout(timer)
        reject(new Error(`could not start moto_server (${motoServer}): ${err.message}`))
      })
      child.once("exit", (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`moto_server exited before it was ready (code ${code}, signal ${signal})`))
      })
    })
    const endpoint = `http://127.0.0.1:${port}`

    const reset = async () => {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: "POST" })
      if (!res.ok) throw new Error(`moto reset failed: HTTP ${res.status} ${await res.text()}`)
    }

    const deadline = Date.now() + readyTimeoutMs
    for (;;) {
      try {
        await reset()
        break
      } catch (err) {
        if (Date.now() > deadline) throw err
        await new Promise((r) => setTimeout(r, 50))
      }
    }

    return {
      endpoint,
      port,
      region,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
      pid: child.pid!,
      reset,
      stop,
    }
  } catch (err) {
    await stop()
    throw new Error(`${(err as Error).message}\n--- moto_server output (tail) ---\n${output.slice(-2_000)}`)
  }
}
