// deploy-staging end to end: the SDK's real module entrypoint (engine double), ECS in moto, the ALB URL
// pointed at the REAL app serving the new or the old release, notifications to a real HTTP receiver.
// The container parts (app tests, Trivy, registry push, Terraform) are answered by the double's script
// (test/support/deploy-world.ts); the orchestration, the ECS calls, the health checks, the rollback and
// the report are the module's own.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { describeService, PREVIOUS_DESIRED_COUNT_TAG, stopService } from "../../dagger/src/aws/ecs.js"
import type { Settings } from "../../dagger/src/config/settings.js"
import { startApp, type AppServer } from "../support/app-server.js"
import {
  awsOutputs,
  execArgs,
  makeCheckout,
  NEW_RELEASE,
  OLD_RELEASE,
  pipelineYaml,
  PUSHED_DIGEST,
  settingsOf,
  startCountingProxy,
  worldScript,
  type CountingProxy,
} from "../support/deploy-world.js"
import { callFunction, startEngineDouble, type EngineDouble } from "../support/engine-double.js"
import { startMoto, type Moto } from "../support/moto.js"
import { startWebhookReceiver, unreachableUrl, type WebhookReceiver } from "../support/webhook-receiver.js"
import { createEcsClient, loadEcsSdk, type ECSClient } from "../../dagger/src/aws/ecs-client.js"
import { jsonApi } from "../../dagger/src/aws/signed-api.js"

interface Report {
  verdict: string
  succeeded: boolean
  url: string
  image: string
  markdown: string
  json: string
}

interface RunJson {
  verdict: string
  failingStep?: string
  image?: string
  steps: { name: string; outcome: string; detail?: string }[]
  rollback?: { attempted: boolean; outcome: string; detail?: string }
  scan?: { gate: string; counts: Record<string, number> }
  warnings: { source: string; message: string }[]
  cost?: { staging: { desiredCount: number } }
  urls: { service?: string; run?: string }
}

const ACCESS_KEY = "AKIAPLANTEDSTAGING01"
const SECRET_KEY = "planted-aws-secret-key-never-printed-anywhere"
const SESSION_TOKEN = "planted-aws-session-token-never-printed"
const RUN_URL = "https://github.com/example/portfolio/actions/runs/42"
/** Committer times (git log -1 --format=%cI) of the releases: the old one first. */
const OLD_COMMIT_TIME = "2025-06-01T09:00:00Z"
const NEW_COMMIT_TIME = "2025-06-02T10:00:00+02:00"
/** A release committed after NEW_RELEASE, for a re-run of an old run to be refused against. */
const NEWER_RELEASE = { version: "1.2.0", commit: "d".repeat(40), commitTime: "2025-06-03T08:00:00Z" }

let moto: Moto
/** The module reaches moto only through this proxy, so a test can prove a run made no AWS call. */
let awsProxy: CountingProxy
let double: EngineDouble
let ecs: ECSClient
let newApp: AppServer
let oldApp: AppServer
let receiver: WebhookReceiver
let settings: Settings
let checkout: ReturnType<typeof makeCheckout>

async function seedStaging(serving: { version: string; commit: string; commitTime: string } = { ...OLD_RELEASE, commitTime: OLD_COMMIT_TIME }): Promise<string> {
  const sdk = await loadEcsSdk()
  const n = settings.staging.names
  await ecs.send(new sdk.CreateClusterCommand({ clusterName: n.cluster }))
  const td = await ecs.send(
    new sdk.RegisterTaskDefinitionCommand({
      family: n.taskFamily,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: "256",
      memory: "512",
      containerDefinitions: [
        {
          name: n.containerName,
          image: `123456789012.dkr.ecr.us-west-1.amazonaws.com/${n.ecrRepository}@sha256:${"1".repeat(64)}`,
          essential: true,
          portMappings: [{ containerPort: 8080 }],
          environment: [
            { name: "APP_VERSION", value: serving.version },
            { name: "APP_COMMIT", value: serving.commit },
            { name: "APP_COMMIT_TIME", value: serving.commitTime },
          ],
        },
      ],
    }),
  )
  await ecs.send(
    new sdk.CreateServiceCommand({
      cluster: n.cluster,
      serviceName: n.service,
      taskDefinition: td.taskDefinition!.taskDefinitionArn,
      desiredCount: 1,
      launchType: "FARGATE",
      deploymentController: { type: "ECS" },
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    }),
  )
  return td.taskDefinition!.taskDefinitionArn!
}

/**
 * `builtDigest`: the manifest digest the build's tarball names (read only when the tag is already taken);
 * unset = an unscripted read, so a run that reads it without a reason fails.
 */
function deploy(opts: { albUrl: string; scan?: "clean" | "critical"; args?: Record<string, unknown>; webhook?: string; applyFails?: string; checkoutDir?: string; builtDigest?: string }) {
  double.reset()
  const world = worldScript({ scan: opts.scan ?? "clean", outputs: awsOutputs(opts.albUrl, settings), applyFails: opts.applyFails })
  double.setScript((q) => {
    const tar = !q.list && q.leaf === "stdout" && execArgs(q.chain).at(-1)?.[0] === "tar"
    if (tar && opts.builtDigest) return JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: opts.builtDigest }] })
    return world(q)
  })
  return callFunction(double, {
    fn: "deploy-staging",
    constructorArgs: { source: double.hostDirectory(opts.checkoutDir ?? checkout.dir) },
    args: {
      commit: NEW_RELEASE.commit,
      version: NEW_RELEASE.version,
      commitTime: NEW_COMMIT_TIME,
      awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", ACCESS_KEY),
      awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
      awsSessionToken: double.secret("AWS_SESSION_TOKEN", SESSION_TOKEN),
      webhook: double.secret("DEPLOY_WEBHOOK_URL", opts.webhook ?? `${receiver.url}/hooks/planted-webhook-token-0001`),
      runUrl: RUN_URL,
      ...(opts.args as Record<string, never>),
    },
    timeoutMs: 120_000,
  })
}

function report(result: Awaited<ReturnType<typeof deploy>>): { report: Report; run: RunJson } {
  expect(result.error, `${result.error?.message}\n${result.stderr}`).toBeUndefined()
  const r = result.result as Report
  const document = JSON.parse(r.json) as Omit<Report, "json"> & { run: RunJson }
  // What the workflows read with jq: the same fields at the top, the run record under `run`.
  expect(document).toMatchObject({ verdict: r.verdict, succeeded: r.succeeded, url: r.url, image: r.image, markdown: r.markdown })
  return { report: r, run: document.run }
}

async function currentTaskDefinition(): Promise<{ arn: string; image: string; env: Record<string, string> }> {
  const sdk = await loadEcsSdk()
  const n = settings.staging.names
  const service = await describeService(ecs, { cluster: n.cluster, service: n.service })
  const td = (await ecs.send(new sdk.DescribeTaskDefinitionCommand({ taskDefinition: service.taskDefinition }))).taskDefinition!
  const c = td.containerDefinitions!.find((x) => x.name === n.containerName)!
  return { arn: td.taskDefinitionArn!, image: c.image!, env: Object.fromEntries((c.environment ?? []).map((e) => [e.name!, e.value!])) }
}

function assertNoSecretLeaks(result: Awaited<ReturnType<typeof deploy>>, r: Report, extra: string[] = []): void {
  const secrets = [ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, ...extra]
  expect(double.secretLeaks()).toEqual([])
  for (const exec of double.execs()) {
    const visible = JSON.stringify({ args: exec.args, env: exec.env })
    for (const s of secrets) expect(visible).not.toContain(s)
  }
  for (const text of [result.stdout, result.stderr, r.markdown, r.json, r.url, r.image, ...receiver.requests.map((q) => q.body)]) {
    for (const s of secrets) expect(text).not.toContain(s)
  }
}

beforeAll(async () => {
  moto = await startMoto({ env: { MOTO_ECS_SERVICE_RUNNING: "1" } })
  awsProxy = await startCountingProxy(moto.endpoint)
  settings = settingsOf(pipelineYaml({ awsEndpoint: awsProxy.url, region: moto.region }))
  checkout = makeCheckout(pipelineYaml({ awsEndpoint: awsProxy.url, region: moto.region }))
  ecs = await createEcsClient({ region: moto.region, credentials: moto.credentials, endpointUrl: moto.endpoint })
  double = await startEngineDouble()
  ;[newApp, oldApp, receiver] = await Promise.all([
    startApp(NEW_RELEASE),
    startApp(OLD_RELEASE),
    startWebhookReceiver(),
  ])
}, 60_000)

afterAll(async () => {
  await Promise.all([double?.close(), awsProxy?.close(), moto?.stop(), newApp?.stop(), oldApp?.stop(), receiver?.close()])
  checkout?.remove()
})

describe("deploy-staging through the SDK entrypoint", () => {
  let previousArn: string
  beforeEach(async () => {
    await moto.reset()
    previousArn = await seedStaging()
    receiver.requests.length = 0
    awsProxy.requests.length = 0
    receiver.script([], { kind: "status", status: 200, body: "ok" })
  })

  it("happy path: checked image by digest → Terraform → new revision → rollout → healthy new release; report and webhook", async () => {
    const result = await deploy({ albUrl: newApp.url })
    const { report: r, run } = report(result)

    expect(r).toMatchObject({ verdict: "succeeded", succeeded: true, url: newApp.url })
    // The image's timestamps come from --commit-time, so a re-run rebuilds them alike.
    const builds = double.findChains((chain) => chain.some((l) => l.field === "dockerBuild"))
    expect(builds.length).toBeGreaterThan(0)
    const build = builds[0]!.chain.find((l) => l.field === "dockerBuild")!
    expect(build.args["buildArgs"]).toContainEqual({ name: "SOURCE_DATE_EPOCH", value: String(Date.parse(NEW_COMMIT_TIME) / 1000) })
    const ecrRef = new RegExp(`^\\d+\\.dkr\\.ecr\\.${moto.region}\\.amazonaws\\.com/${settings.staging.names.ecrRepository}@${PUSHED_DIGEST}$`)
    expect(r.image).toMatch(ecrRef)
    expect(run.steps.map((s) => [s.name, s.outcome])).toEqual([
      ["release order", "succeeded"],
      ["build, test, scan, SBOM", "succeeded"],
      ["publish to ECR", "succeeded"],
      ["terraform apply (aws)", "succeeded"],
      ["task definition", "succeeded"],
      ["rollout", "succeeded"],
      ["health check", "succeeded"],
      ["cost estimate", "succeeded"],
    ])
    expect(run.scan).toMatchObject({ gate: "passed" })
    expect(run.urls).toMatchObject({ service: newApp.url, run: RUN_URL })
    expect(run.cost?.staging.desiredCount).toBe(1)

    // ECS now runs a new revision: the pushed digest, with the release's version and commit.
    const td = await currentTaskDefinition()
    expect(td.arn).not.toBe(previousArn)
    expect(td.image).toBe(r.image)
    expect(td.env).toMatchObject({ APP_VERSION: NEW_RELEASE.version, APP_COMMIT: NEW_RELEASE.commit, APP_COMMIT_TIME: NEW_COMMIT_TIME })
    expect(run.steps[0]!.detail).toMatch(/is not older than task definition .* \(commit 0a1b2c3d4e5f\)/)

    // What was pushed is what was scanned: the push came after the scan report was read.
    const scanRead = double.findChains((c, call) => call.leaf === "contents" && c.some((l) => l.field === "file" && l.args["path"] === "/scan/out/trivy.json"))
    const pushed = double.findChains((_, call) => call.leaf === "publish")
    expect(pushed).toHaveLength(1)
    expect(scanRead[0]!.seq).toBeLessThan(pushed[0]!.seq)

    // Terraform ran with the AWS credentials as secret variables only, and applied the saved plan.
    const apply = double.execs().find((e) => e.args[0] === "terraform" && e.args[1] === "apply")
    expect(apply?.args.at(-1)).toBe("tfplan")
    expect(Object.keys(apply!.secretEnv)).toEqual(expect.arrayContaining(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]))
    expect(apply!.env).not.toHaveProperty("AWS_SECRET_ACCESS_KEY")
    expect(apply!.env["AWS_ENDPOINT_URL"]).toBe(awsProxy.url)
    // ECR login, import probes, state backend and ECS all went to the configured endpoint.
    expect(awsProxy.requests.length).toBeGreaterThan(5)

    // The report and the notification tell the same story.
    expect(r.markdown).toContain("Staging deploy succeeded")
    expect(r.markdown).toContain("```mermaid")
    expect(receiver.requests).toHaveLength(1)
    expect(receiver.requests[0]!.json).toMatchObject({ environment: "staging", verdict: "succeeded" })
    assertNoSecretLeaks(result, r, ["planted-webhook-token-0001"])
  })

  it("re-running the same commit is safe: same image, another verified rollout, same release serving", async () => {
    const first = report(await deploy({ albUrl: newApp.url }))
    const second = report(await deploy({ albUrl: newApp.url }))
    expect(second.report).toMatchObject({ verdict: "succeeded", image: first.report.image })
    const td = await currentTaskDefinition()
    expect(td.image).toBe(first.report.image)
    expect(td.env).toMatchObject({ APP_VERSION: NEW_RELEASE.version })
  })

  describe("a re-run of a published commit on a runner without the first run's cache (issue 15)", () => {
    // The first run left its image in an IMMUTABLE repository (moto refuses the tag again, as ECR does).
    const ecr = () => ({ region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials })
    const repository = () => settings.staging.names.ecrRepository
    let published: string
    beforeEach(async () => {
      await jsonApi(ecr(), "ecr", "CreateRepository", { repositoryName: repository(), imageTagMutability: "IMMUTABLE" })
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: { mediaType: "application/vnd.oci.image.config.v1+json", size: 2, digest: `sha256:${"c".repeat(64)}` },
        layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", size: 3, digest: `sha256:${"a".repeat(64)}` }],
      })
      const out = (await jsonApi(ecr(), "ecr", "PutImage", { repositoryName: repository(), imageManifest: manifest, imageTag: NEW_RELEASE.version })) as {
        image: { imageId: { imageDigest: string } }
      }
      published = out.image.imageId.imageDigest
    })
    const tagDigest = async () =>
      ((await jsonApi(ecr(), "ecr", "DescribeImages", { repositoryName: repository(), imageIds: [{ imageTag: NEW_RELEASE.version }] })) as {
        imageDetails: { imageDigest: string }[]
      }).imageDetails[0]!.imageDigest

    it("the rebuild has the published digest: nothing is pushed, the published image is deployed", async () => {
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, builtDigest: published }))
      expect(r).toMatchObject({ verdict: "succeeded", succeeded: true })
      expect(r.image).toMatch(new RegExp(`/${repository()}@${published}$`))
      expect(run.steps.find((s) => s.name === "publish to ECR")).toMatchObject({ outcome: "succeeded" })
      expect(double.findChains((_, call) => call.leaf === "publish")).toEqual([])
      expect((await currentTaskDefinition()).image).toBe(r.image)
      expect(await tagDigest()).toBe(published)
    })

    it("the rebuild has another digest: the publish step fails naming the tag, both digests and the fix; nothing pushed or changed", async () => {
      const rebuilt = `sha256:${"e".repeat(64)}`
      const before = await currentTaskDefinition()
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, builtDigest: rebuilt }))
      expect(r).toMatchObject({ verdict: "failed", succeeded: false })
      expect(run.failingStep).toBe("publish to ECR")
      const detail = run.steps.find((s) => s.name === "publish to ECR")!.detail!
      for (const part of [`${repository()}:${NEW_RELEASE.version}`, published, rebuilt, "same build cache", "bump the version"]) expect(detail).toContain(part)
      expect(double.findChains((_, call) => call.leaf === "publish")).toEqual([])
      expect((await currentTaskDefinition()).arn).toBe(before.arn)
      expect(await tagDigest()).toBe(published)
    })
  })

  describe("a re-run of an old run (issue 13.8): the commit is older than the one serving", () => {
    const ecsWrites = () => awsProxy.requests.filter((q) => ["UpdateService", "RegisterTaskDefinition", "TagResource", "UntagResource"].includes(q.action))
    let newerArn: string
    beforeEach(async () => {
      await moto.reset()
      newerArn = await seedStaging(NEWER_RELEASE)
      awsProxy.requests.length = 0
    })

    it("refused as a failed first step naming both commits, both times and the fix; nothing built, applied or changed", async () => {
      const { report: r, run } = report(await deploy({ albUrl: newApp.url }))
      expect(r).toMatchObject({ verdict: "failed", succeeded: false, image: "" })
      expect(run.failingStep).toBe("release order")
      const detail = run.steps.find((s) => s.name === "release order")!.detail!
      for (const part of [NEW_RELEASE.commit.slice(0, 12), NEW_COMMIT_TIME, NEWER_RELEASE.commit.slice(0, 12), NEWER_RELEASE.commitTime, "--allow-older"]) {
        expect(detail).toContain(part)
      }
      expect(run.steps.map((s) => s.name)).toEqual(["release order", "cost estimate"])
      expect(double.execs()).toEqual([])
      expect(double.findChains((_, call) => call.leaf === "publish")).toEqual([])
      // Refused before the service changed: no ECS write, so no rollback either.
      expect(ecsWrites()).toEqual([])
      expect(run.rollback).toBeUndefined()
      expect((await currentTaskDefinition()).arn).toBe(newerArn)
      expect(r.markdown).toContain("release order")
      expect(receiver.requests[0]!.json).toMatchObject({ verdict: "failed", failingStep: "release order" })
    })

    it("--allow-older deploys it on purpose (a rollback), with a warning in the report", async () => {
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, args: { allowOlder: true } }))
      expect(r).toMatchObject({ verdict: "succeeded", succeeded: true })
      expect(run.steps[0]).toMatchObject({ name: "release order", outcome: "warning" })
      expect(run.warnings).toEqual([{ source: "release-order", message: expect.stringMatching(/is older than commit dddddddddddd .*--allow-older/) }])
      const td = await currentTaskDefinition()
      expect(td.arn).not.toBe(newerArn)
      expect(td.env).toMatchObject({ APP_COMMIT: NEW_RELEASE.commit, APP_COMMIT_TIME: NEW_COMMIT_TIME })
    })

    it("without --commit-time the order is not checked (a warning says why), and the new revision does not inherit the old time", async () => {
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, args: { commitTime: "" } }))
      expect(r.succeeded).toBe(true)
      expect(run.warnings).toEqual([{ source: "release-order", message: expect.stringMatching(/release order was not checked .*: --commit-time was not given/) }])
      expect((await currentTaskDefinition()).env).toMatchObject({ APP_COMMIT: NEW_RELEASE.commit, APP_COMMIT_TIME: "" })
    })
  })

  it("a --commit-time that is not an ISO-8601 time is refused before any cloud call", async () => {
    const result = await deploy({ albUrl: newApp.url, args: { commitTime: "yesterday" } })
    expect(result.error?.message).toMatch(/--commit-time 'yesterday' is not an ISO-8601 time.*git log -1 --format=%cI/)
    expect(awsProxy.requests).toEqual([])
  })

  it("staging stopped by a production deploy is started again at the count it had, then deployed", async () => {
    const n = settings.staging.names
    const ref = { cluster: n.cluster, service: n.service }
    await stopService(ecs, ref, { budgetMs: 5_000, intervalMs: 50 })
    expect((await describeService(ecs, ref, { tags: true })).tags).toContainEqual({ key: PREVIOUS_DESIRED_COUNT_TAG, value: "1" })

    const { report: r } = report(await deploy({ albUrl: newApp.url }))
    expect(r.succeeded).toBe(true)
    const after = await describeService(ecs, ref, { tags: true })
    expect(after.desiredCount).toBe(1)
    expect(after.tags ?? []).not.toContainEqual(expect.objectContaining({ key: PREVIOUS_DESIRED_COUNT_TAG }))
    expect((await currentTaskDefinition()).image).toBe(r.image)
  })

  it("the ALB keeps answering with the old release → health check fails → back on the previous task definition, verified", async () => {
    const { report: r, run } = report(await deploy({ albUrl: oldApp.url }))

    expect(r).toMatchObject({ verdict: "rolled-back", succeeded: false })
    expect(run.failingStep).toBe("health check")
    const health = run.steps.find((s) => s.name === "health check")!
    expect(health.detail).toMatch(/unhealthy/)
    expect(health.detail).toMatch(new RegExp(`version ${OLD_RELEASE.version.replace(/\./g, "\\.")}`))
    expect(run.steps.find((s) => s.name === "rollback")).toMatchObject({ outcome: "succeeded" })
    expect(run.rollback).toMatchObject({ attempted: true, outcome: "succeeded" })
    expect(run.rollback!.detail).toMatch(/answers healthy/)

    // ECS really runs the previous revision again.
    expect((await currentTaskDefinition()).arn).toBe(previousArn)
    expect(r.markdown).toContain("rolled back")
    expect(receiver.requests[0]!.json).toMatchObject({ verdict: "rolled-back" })
  })

  it("the old release does not come back after the rollback (a third one answers) → not proven → failed, not rolled-back", async () => {
    const stranger = await startApp({ version: "0.9.0", commit: "9".repeat(40) })
    try {
      const { report: r, run } = report(await deploy({ albUrl: stranger.url }))
      expect(r).toMatchObject({ verdict: "failed", succeeded: false })
      expect(run.failingStep).toBe("health check")
      expect(run.rollback).toMatchObject({ attempted: true, outcome: "failed" })
      expect(run.rollback!.detail).toMatch(new RegExp(`release ${OLD_RELEASE.version.replace(/\./g, "\\.")} does not answer healthy`))
      // ECS was pointed back all the same: the verdict says it could not be proven, not that nothing was done.
      expect((await currentTaskDefinition()).arn).toBe(previousArn)
    } finally {
      await stranger.stop()
    }
  })

  it("a rollout step that times out is cancelled for real: no ECS write reaches AWS after the verdict", async () => {
    // The reproduction: staging stopped at 0, tasks slow to start (here: ECS slow to answer the first
    // poll after the scale-up, 12 s) and a 10 s rollout step. Without cancellation the abandoned start went
    // on after the rollback and sent UpdateService(taskDefinition=<new>) after the verdict.
    const n = settings.staging.names
    await stopService(ecs, { cluster: n.cluster, service: n.service }, { budgetMs: 5_000, intervalMs: 50 })
    const slow = makeCheckout(pipelineYaml({ awsEndpoint: awsProxy.url, region: moto.region, rolloutStepSeconds: 10 }))
    let scaledUp = false
    let held = false
    awsProxy.hold = ({ action }) => {
      if (action === "UpdateService") scaledUp = true
      if (!scaledUp || held || action !== "DescribeServices") return 0
      held = true
      return 12_000
    }
    try {
      const result = await deploy({ albUrl: oldApp.url, checkoutDir: slow.dir })
      const returnedAt = Date.now()
      const { report: r, run } = report(result)
      expect(run.failingStep).toBe("rollout")
      expect(run.steps.find((s) => s.name === "rollout")!.detail).toMatch(/did not finish within 10\.0 s/)
      expect(r.verdict).toBe("rolled-back")
      // The held answer arrives 12 s after it was asked; anything the abandoned work would send follows it.
      await new Promise((resolve) => setTimeout(resolve, 5_000))
      const writes = awsProxy.requests.filter((q) => ["UpdateService", "RegisterTaskDefinition", "TagResource", "UntagResource"].includes(q.action))
      expect(writes.filter((w) => w.at > returnedAt)).toEqual([])
      // The last write is the rollback's, back to the previous revision; ECS runs it.
      const lastUpdate = writes.filter((w) => w.action === "UpdateService").pop()!
      expect(JSON.parse(lastUpdate.body)).toMatchObject({ taskDefinition: previousArn })
      expect((await currentTaskDefinition()).arn).toBe(previousArn)
    } finally {
      awsProxy.hold = undefined
      slow.remove()
    }
  }, 60_000)

  it("a failed scan gate stops before anything is pushed or applied", async () => {
    const { report: r, run } = report(await deploy({ albUrl: newApp.url, scan: "critical" }))

    expect(r).toMatchObject({ verdict: "failed", succeeded: false, image: "" })
    expect(run.failingStep).toBe("build, test, scan, SBOM")
    expect(run.steps.find((s) => s.name === "build, test, scan, SBOM")?.detail).toMatch(/CVE-2099-0001|blocking|FAIL/)
    expect(run.scan).toMatchObject({ gate: "failed", counts: { CRITICAL: 1 } })
    expect(run.steps.map((s) => s.name)).not.toContain("publish to ECR")
    expect(double.findChains((_, call) => call.leaf === "publish")).toEqual([])
    expect(double.execs().filter((e) => e.args[0] === "terraform")).toEqual([])
    expect((await currentTaskDefinition()).arn).toBe(previousArn)
    expect(run.rollback).toBeUndefined()
  })

  it("a failed terraform apply fails the deploy with Terraform's error; the service is left on its old revision", async () => {
    const { report: r, run } = report(await deploy({ albUrl: newApp.url, applyFails: "Error: creating ELBv2 Listener: AccessDenied: not authorized" }))
    expect(r).toMatchObject({ verdict: "failed", succeeded: false })
    expect(r.image).toMatch(/@sha256:/)
    expect(run.failingStep).toBe("terraform apply (aws)")
    expect(run.steps.find((s) => s.name === "terraform apply (aws)")?.detail).toMatch(
      /^terraform apply \(AWS\) failed \(exit code 1\): Error: creating ELBv2 Listener: AccessDenied: not authorized — /,
    )
    expect(r.markdown).toContain("AccessDenied")
    expect(run.steps.map((s) => s.name)).not.toContain("task definition")
    expect(run.rollback).toBeUndefined()
    expect((await currentTaskDefinition()).arn).toBe(previousArn)
  })

  it("a webhook that cannot be reached is a warning, not a different verdict", async () => {
    const { report: r, run } = report(await deploy({ albUrl: newApp.url, webhook: `${await unreachableUrl()}/hooks/planted-webhook-token-0002` }))
    expect(r).toMatchObject({ verdict: "succeeded", succeeded: true })
    expect(run.warnings).toEqual([expect.objectContaining({ source: "notify:webhook" })])
    expect(r.markdown).toContain("notify:webhook")
    expect(r.markdown).not.toContain("planted-webhook-token-0002")
  })

  it("--notify=FAILURES_ONLY keeps a successful deploy quiet", async () => {
    report(await deploy({ albUrl: newApp.url, args: { notify: "FAILURES_ONLY" } }))
    expect(receiver.requests).toEqual([])
  })

  it("bad settings: a clear error naming the key, and not one request reaches AWS", async () => {
    const broken = makeCheckout(pipelineYaml({ awsEndpoint: awsProxy.url, region: moto.region }).replace(/desiredCount: 1/, "desiredCount: -3"))
    try {
      double.reset()
      double.setScript(worldScript({ scan: "clean", outputs: awsOutputs(newApp.url, settings) }))
      const result = await callFunction(double, {
        fn: "deploy-staging",
        constructorArgs: { source: double.hostDirectory(broken.dir) },
        args: {
          commit: NEW_RELEASE.commit,
          awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", ACCESS_KEY),
          awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
        },
        timeoutMs: 120_000,
      })
      expect(result.error?.message).toMatch(/ci\/pipeline\.yaml is invalid/)
      expect(result.error?.message).toMatch(/staging\.desiredCount/)
      expect(result.error?.message).toMatch(/nothing was built or deployed/)
      expect(double.execs()).toEqual([])
      expect(awsProxy.requests).toEqual([])
    } finally {
      broken.remove()
    }
  })

  it("a commit that is not a SHA is refused before any cloud call", async () => {
    double.reset()
    const result = await callFunction(double, {
      fn: "deploy-staging",
      constructorArgs: { source: double.hostDirectory(checkout.dir) },
      args: {
        commit: "main",
        awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
      },
      timeoutMs: 120_000,
    })
    expect(result.error?.message).toMatch(/--commit 'main' is not a git SHA/)
    expect(awsProxy.requests).toEqual([])
  })

  it("an empty secret (GitHub's value for an unset one) counts as not given", async () => {
    double.reset()
    const result = await callFunction(double, {
      fn: "deploy-staging",
      constructorArgs: { source: double.hostDirectory(checkout.dir) },
      args: {
        commit: NEW_RELEASE.commit,
        awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", ACCESS_KEY),
        awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", ""),
      },
      timeoutMs: 120_000,
    })
    expect(result.error?.message).toMatch(/--aws-secret-access-key not given/)
  })
})
