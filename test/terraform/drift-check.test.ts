// `dagger call drift` through the SDK's real module entrypoint against the engine double: Terraform
// cannot run here, so the double answers the refresh-only plan's exit code and JSON (the golden
// fixtures of drift.test.ts); a local webhook receiver stands in for Slack. Asserted: the read-only
// refresh-only plan the module asks for, the quiet success, the named drift and the notification.
import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { callFunction, execError, startEngineDouble, type Chain, type EngineDouble, type ScriptFn } from "../support/engine-double.js"
import { repoRoot } from "../tools/paths.js"

const fixture = (name: string) => readFileSync(join(repoRoot, "test/fixtures/terraform-drift", name, "plan.json"), "utf8")

function lastExec(chain: Chain): string[] | undefined {
  for (let i = chain.length - 1; i >= 0; i--) if (chain[i]!.field === "withExec") return (chain[i]!.args["args"] as string[]) ?? []
  return undefined
}
const isTf = (args: string[] | undefined, ...sub: string[]) => !!args && args[0] === "terraform" && sub.every((s, i) => args[i + 1] === s)

function refreshOnly(exitCode: number, planJson = "{}", stderr = ""): ScriptFn {
  return (q) => {
    const args = lastExec(q.chain)
    if (isTf(args, "plan") && q.leaf === "exitCode") return exitCode
    if (isTf(args, "plan") && q.leaf === "stderr") return stderr
    if (isTf(args, "show", "-json") && q.leaf === "contents") return planJson
    return undefined
  }
}

describe("drift --stack=AWS through the module entrypoint", () => {
  let double: EngineDouble
  let receiver: Server
  let received: unknown[] = []
  let hookUrl = ""

  beforeAll(async () => {
    double = await startEngineDouble()
    receiver = createServer((req, res) => {
      let body = ""
      req.on("data", (c) => (body += c))
      req.on("end", () => {
        received.push(JSON.parse(body))
        res.writeHead(200).end("ok")
      })
    })
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r))
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/services/T000/B000/drift-secret`
  })
  afterAll(async () => {
    await double?.close()
    await new Promise((r) => receiver?.close(r))
  })
  beforeEach(() => {
    double.reset()
    received = []
  })

  const call = () =>
    callFunction(double, {
      fn: "drift",
      constructorArgs: { source: double.hostDirectory(repoRoot) },
      args: {
        stack: "AWS",
        awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", "AKIADRIFTREADONLY01"),
        awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", "drift-read-only-secret-0123456789"),
        slackWebhook: double.secret("SLACK_WEBHOOK_URL", hookUrl),
      },
      timeoutMs: 180_000,
    })
  const driftPlan = () => {
    const plans = double.execs().filter((e) => isTf(e.args, "plan"))
    expect(plans).toHaveLength(1)
    return plans[0]!
  }
  const state = (result: unknown) => result as Record<string, unknown>

  it("names the hand-edited health path and log retention, ignores desired_count, and tells Slack", async () => {
    double.setScript(refreshOnly(2, fixture("hand-edits")))
    const r = await call()
    expect(r.error).toBeUndefined()
    const check = state(r.result)
    expect(check["drifted"]).toBe(true)
    expect(check["lines"]).toEqual([
      'AWS module.service.aws_lb_target_group.this.health_check[0].path: "/health" → "/healthz"',
      "AWS module.service.aws_cloudwatch_log_group.app.retention_in_days: 7 → 30",
    ])
    expect(String(check["summary"])).not.toContain("desired_count")
    // Refresh-only, exit code 2 for changes, and read-only: no lock taken.
    expect(driftPlan().args).toEqual(expect.arrayContaining(["-refresh-only", "-detailed-exitcode", "-lock=false"]))
    expect(double.execs().some((e) => isTf(e.args, "apply"))).toBe(false)
    expect(received).toHaveLength(1)
    expect(JSON.stringify(received[0])).toContain("health_check[0].path")
    expect(double.secretLeaks()).toEqual([])
  }, 240_000)

  it("is a quiet success without drift: no JSON read, no message", async () => {
    double.setScript(refreshOnly(0))
    const r = await call()
    expect(r.error).toBeUndefined()
    expect(state(r.result)["drifted"]).toBe(false)
    expect(state(r.result)["summary"]).toBe("**AWS**: no drift.\n")
    expect(double.execs().some((e) => isTf(e.args, "show"))).toBe(false)
    expect(received).toEqual([])
  }, 240_000)

  it("exit 2 with only the pipeline's own fields changed is no drift and sends nothing", async () => {
    // The AWS stack's part of the fixture (it also holds a Cloud Run service, owned only in the GCP stack).
    const plan = JSON.parse(fixture("owned-fields-only")) as { resource_drift: { type: string }[] }
    plan.resource_drift = plan.resource_drift.filter((d) => d.type.startsWith("aws_"))
    expect(plan.resource_drift).toHaveLength(1)
    double.setScript(refreshOnly(2, JSON.stringify(plan)))
    const r = await call()
    expect(state(r.result)["drifted"]).toBe(false)
    expect(received).toEqual([])
  }, 240_000)

  it("a failing refresh (exit 1) fails the call with Terraform's words and the read-only roles to check", async () => {
    double.setScript(refreshOnly(1, "{}", "Error: AccessDenied: not authorized to perform: s3:GetObject"))
    const r = await call()
    expect(r.error?.message).toMatch(/terraform plan -refresh-only \(terraform\/aws\) failed with exit code 1/)
    expect(r.error?.message).toContain("s3:GetObject")
    expect(r.error?.message).toContain("Read-only roles")
  }, 240_000)

  it("a failing init is explained before any plan", async () => {
    double.setScript((q) => (isTf(lastExec(q.chain), "init") && q.leaf === "sync" ? execError({ exitCode: 1, stderr: "Error: bucket not found" }) : undefined))
    const r = await call()
    expect(r.error?.message).toMatch(/terraform init \(terraform\/aws\) failed/)
    expect(double.execs().filter((e) => isTf(e.args, "plan"))).toEqual([])
  }, 240_000)
})
