// A failed exec is recognised by what the error carries (the runtime's bundle has no ExecError class to
// test against with instanceof): the SDK's real ExecError passes, look-alikes without its fields do not.
import { ExecError } from "@dagger.io/dagger"
import { describe, expect, it } from "vitest"
import { ToolError, explainExecError, isExecError, tail } from "../../dagger/src/shared/tool-errors.js"

const execError = (): ExecError =>
  new ExecError("process exited", { cmd: ["trivy", "image"], exitCode: 2, stdout: "", stderr: "FATAL db download failed\n" })

describe("isExecError", () => {
  it("accepts the SDK's ExecError and refuses errors without its fields", () => {
    expect(isExecError(execError())).toBe(true)
    expect(isExecError(new Error("boom"))).toBe(false)
    expect(isExecError(Object.assign(new Error("x"), { name: "ExecError" }))).toBe(false)
    expect(isExecError({ name: "ExecError", cmd: [], exitCode: 1, stdout: "", stderr: "" })).toBe(false)
  })
})

describe("explainExecError", () => {
  it("turns a failed exec into a ToolError naming the step, command, exit code, stderr and fix", () => {
    let thrown: unknown
    try {
      explainExecError(execError(), "The image scan", "Re-run with network access.")
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(ToolError)
    expect((thrown as ToolError).exitCode).toBe(2)
    expect((thrown as Error).message).toBe("The image scan failed: `trivy image` exited with code 2.\nFATAL db download failed\nRe-run with network access.")
  })

  it("rethrows any other error unchanged", () => {
    const other = new TypeError("not an exec")
    expect(() => explainExecError(other, "x", "y")).toThrow(other)
  })
})

describe("tail", () => {
  it("keeps a coloured tool's words without its terminal codes, also where the cut falls inside one", () => {
    const trivy = "2026-05-01T09:00:00Z\t\x1b[31mFATAL\x1b[0m\tFatal error\t\x1b[91m\"init error\"\x1b[0m\n"
    expect(tail(trivy)).toBe('2026-05-01T09:00:00Z\tFATAL\tFatal error\t"init error"')
    expect(tail("x".repeat(50) + "\n\x1b[31mboom\x1b[0m", 10)).toBe("...\nboom")
    const thrown = (() => {
      try {
        explainExecError(new ExecError("exit", { cmd: ["trivy"], exitCode: 1, stdout: "", stderr: trivy }), "The image scan", "Retry.")
      } catch (e) {
        return e as Error
      }
    })()
    expect(thrown?.message).not.toContain("\x1b")
  })
})
