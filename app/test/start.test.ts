// A newcomer's `cd app && npm start`, in a checkout without a build: npm builds first (prestart), then
// serves the compiled app as the image does. Run on a copy of app/ without dist/, so nothing here leans
// on a build someone made earlier.
import { spawn, type ChildProcess } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterEach, describe, expect, it } from "vitest"
import { httpRequest } from "./http.js"

const appDir = join(dirname(fileURLToPath(import.meta.url)), "..")

let child: ChildProcess | undefined
let dir: string | undefined
afterEach(() => {
  // npm runs the app in its own child: signal the whole group.
  if (child?.pid && child.exitCode === null) process.kill(-child.pid, "SIGTERM")
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Resolves with the port the app logs once it listens, or rejects with what npm printed. */
function listeningPort(proc: ChildProcess, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = ""
    const timer = setTimeout(() => reject(new Error(`npm start did not listen within ${timeoutMs} ms:\n${out}`)), timeoutMs)
    const read = (chunk: Buffer) => {
      out += chunk.toString()
      const m = /"message":"listening on [^"]*:(\d+)"/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    proc.stdout?.on("data", read)
    proc.stderr?.on("data", read)
    proc.on("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`npm start exited with code ${code} before listening:\n${out}`))
    })
  })
}

describe("npm start in app/", () => {
  it("builds first, then serves the compiled app", async () => {
    dir = mkdtempSync(join(tmpdir(), "app-start-"))
    for (const entry of ["package.json", "package-lock.json", "tsconfig.json", "src", "content", "public"]) {
      cpSync(join(appDir, entry), join(dir, entry), { recursive: true })
    }
    symlinkSync(join(appDir, "node_modules"), join(dir, "node_modules"), "dir")
    expect(existsSync(join(dir, "dist"))).toBe(false)

    child = spawn("npm", ["start"], { cwd: dir, env: { ...process.env, PORT: "0", HOST: "127.0.0.1" }, detached: true })
    const port = await listeningPort(child, 60_000)
    expect(existsSync(join(dir, "dist", "main.js"))).toBe(true)
    let health = await httpRequest(`http://127.0.0.1:${port}/health`)
    for (let i = 0; i < 50 && health.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100))
      health = await httpRequest(`http://127.0.0.1:${port}/health`)
    }
    expect(health.status).toBe(200)
    expect(JSON.parse(health.body.toString())).toMatchObject({ status: "ok", version: "0.0.0-dev", commit: "unknown" })
  }, 90_000)
})
