// shared/interrupt.ts with real OS signals: a child process runs a "deploy" whose step honours its signal;
// SIGTERM (or SIGINT) cancels the step, the cleanup (the rollback's place) still runs, and the process
// finishes with its report instead of dying half-way.
import { spawn } from "node:child_process"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { describe, expect, it } from "vitest"
import { repoRoot } from "../tools/paths.js"

const moduleUrl = pathToFileURL(join(repoRoot, "dagger/src/shared/interrupt.ts")).href
const script = `
import { whileInterruptible } from ${JSON.stringify(moduleUrl)}
const report = await whileInterruptible(async (signal) => {
  console.log("rollout started")
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 60_000)
      signal.addEventListener("abort", () => { clearTimeout(timer); reject(signal.reason) })
    })
    return "succeeded"
  } catch (err) {
    console.log("rollback after: " + err.message)
    return "rolled-back"
  }
})
console.log("report: " + report)
console.log("handlers left: " + process.listenerCount("SIGTERM") + process.listenerCount("SIGINT"))
`

function runAndSignal(signal: NodeJS.Signals): Promise<{ code: number | null; out: string }> {
  const tsx = pathToFileURL(join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs")).href
  const child = spawn(process.execPath, ["--import", tsx, "--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  return new Promise((resolve) => {
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
      if (out.includes("rollout started") && !child.killed) child.kill(signal)
    })
    child.stderr.on("data", (d: Buffer) => (out += d.toString()))
    child.on("exit", (code) => resolve({ code, out }))
  })
}

describe("whileInterruptible", () => {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`${signal} cancels the run, the rollback still runs and the report comes out`, async () => {
      const { code, out } = await runAndSignal(signal)
      expect(out).toContain(`rollback after: the module process received ${signal}`)
      expect(out).toContain("report: rolled-back")
      expect(out).toContain("handlers left: 00")
      expect(code).toBe(0)
    }, 30_000)
  }
})
