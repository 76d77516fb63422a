// A failed exec is recognised by what the error carries (the runtime's bundle has no ExecError class to
// test against with instanceof): the SDK's real ExecError passes, look-alikes without its fields do not.
import { ExecError } from "@dagger.io/dagger"
import { describe, expect, it } from "vitest"
import { ToolError, explainExecError, isExecError } from "../../dagger/src/shared/tool-errors.js"

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
