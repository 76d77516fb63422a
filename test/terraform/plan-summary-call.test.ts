// `dagger call plan-summary` through the SDK's real module entrypoint: the engine double answers
// Terraform, moto answers the import probes. Asserted: the plan is read-only (no backend bootstrap, no
// state lock, nothing applied), adopts what exists, and comes back as the pull-request Markdown.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { parseSettings, type Settings } from "../../dagger/src/config/settings.js"
import { callFunction, startEngineDouble, type Chain, type EngineDouble, type ScriptFn } from "../support/engine-double.js"
import { botoCalls } from "../support/boto3.js"
import { startMoto, type Moto } from "../support/moto.js"
import { repoRoot } from "../tools/paths.js"

const settingsText = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")

function lastExec(chain: Chain): string[] | undefined {
  for (let i = chain.length - 1; i >= 0; i--) if (chain[i]!.field === "withExec") return (chain[i]!.args["args"] as string[]) ?? []
  return undefined
}
const isTf = (args: string[] | undefined, ...sub: string[]) => !!args && args[0] === "terraform" && sub.every((s, i) => args[i + 1] === s)

describe("plan-summary --stack=AWS through the module entrypoint (moto for the probes)", () => {
  let moto: Moto
  let double: EngineDouble
  let repo: string
  let settings: Settings

  beforeAll(async () => {
    moto = await startMoto({ region: parseSettings(settingsText).staging.aws.region })
    double = await startEngineDouble()
    repo = mkdtempSync(join(tmpdir(), "plan-summary-"))
    mkdirSync(join(repo, "ci"))
    const pointed = settingsText.replace(/(\nstaging:\n  aws:\n    region: )[^\n]+\n/, `$1${moto.region}\n    endpointUrl: ${moto.endpoint}\n`)
    settings = parseSettings(pointed)
    writeFileSync(join(repo, "ci/pipeline.yaml"), pointed)
    copyFileSync(join(repoRoot, "ci/pricing.yaml"), join(repo, "ci/pricing.yaml"))
  }, 120_000)
  afterAll(async () => {
    await double?.close()
    await moto?.stop()
    if (repo) rmSync(repo, { recursive: true, force: true })
  })

  it("plans read-only and returns the Markdown: the adopted registry, the refused load balancer in red", async () => {
    await botoCalls(moto, [["ecr", "create_repository", { repositoryName: settings.staging.names.ecrRepository }]])
    const planJson = {
      format_version: "1.2",
      resource_changes: [
        {
          address: "module.registry.aws_ecr_repository.this",
          type: "aws_ecr_repository",
          mode: "managed",
          change: { actions: ["no-op"], importing: { id: settings.staging.names.ecrRepository } },
        },
        { address: "module.service.aws_lb.this", type: "aws_lb", mode: "managed", change: { actions: ["delete"], before: {}, after: null } },
      ],
    }
    const script: ScriptFn = (q) => {
      const args = lastExec(q.chain)
      if (isTf(args, "state", "list")) return q.leaf === "exitCode" ? 1 : q.leaf === "stderr" ? "No state file was found!\n" : ""
      if (isTf(args, "show", "-no-color") && q.leaf === "stdout") return "Terraform will perform the following actions:\n"
      if (isTf(args, "show", "-json") && q.leaf === "contents") return JSON.stringify(planJson)
      return undefined
    }
    double.setScript(script)
    const r = await callFunction(double, {
      fn: "plan-summary",
      constructorArgs: { source: double.hostDirectory(repo) },
      args: {
        stack: "AWS",
        awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", "AKIAPLANREADONLY0001"),
        awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", "plan-read-only-secret-0123456789"),
      },
      timeoutMs: 180_000,
    })
    expect(r.error, r.stderr).toBeUndefined()
    const markdown = String(r.result)
    expect(markdown).toMatch(/^### AWS \(terraform\/aws\): 1 to import, 0 to add, 0 to change, 0 to replace, 1 to destroy\n/)
    expect(markdown).toContain("- ❌ **`module.service.aws_lb.this` destroyed**")
    expect(markdown).toContain("**Adopted**")
    expect(markdown).toContain("`module.registry.aws_ecr_repository.this`")
    expect(markdown).toContain("(−$18.98/month)")

    const plans = double.execs().filter((e) => isTf(e.args, "plan"))
    expect(plans).toHaveLength(1)
    expect(plans[0]!.args).toContain("-lock=false")
    expect(plans[0]!.args.some((a) => a.startsWith("-lock-timeout"))).toBe(false)
    expect(double.execs().some((e) => isTf(e.args, "apply"))).toBe(false)
    // No backend was created: read-only credentials may not, and the call did not try.
    await expect(botoCalls(moto, [["s3", "head_bucket", { Bucket: settings.staging.terraform.stateBucket }]])).rejects.toThrow(/404/)
    expect(double.secretLeaks()).toEqual([])
  }, 240_000)
})
