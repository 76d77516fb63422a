// deploy-staging end to end: the SDK's real module entrypoint (engine double), ECS in moto, the ALB URL
// pointed at the REAL app serving the new or the old release, notifications to a real HTTP receiver.
// The container parts (app tests, Trivy, registry push, Terraform) are answered by the double's script
// (test/support/deploy-world.ts); the orchestration, the ECS calls, the health checks, the rollback and
// the report are the module's own.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { describeService, PREVIOUS_DESIRED_COUNT_TAG, stopService } from "../../dagger/src/aws/ecs.js"
import type { Settings } from "../../dagger/src/config/settings.js"
import { startApp, type AppServer } from "../support/app-server.js"
import {
  awsOutputs,
  execArgs,
  keySigning,
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
import { awsNames } from "../../dagger/src/terraform/stacks.js"
import { botoCalls, type BotoCall } from "../support/boto3.js"
import { degradedProxy, startFaultyServer, type Plan } from "../support/faulty-server.js"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { attestArgs, CONTAINER_FILES, COSIGN_PASSWORD_ENV, DOCKER_CONFIG_DIR, signArgs, verifyArgs, verifyAttestationArgs } from "../../dagger/src/supply-chain/sign/commands.js"
import { cosignScript, cosignStderr } from "../support/cosign-script.js"
import { writeFileSync } from "node:fs"
import { join } from "node:path"

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
  signature?: { signer: string; attestations: string[]; verified: boolean; detail: string }
  analysis?: { step: string; source: string; verdict: string; reason?: string; baseline?: object; candidate?: object }[]
  diagnostics?: { source: string; title: string; lines: string[]; links?: { label: string; url: string }[] }[]
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

async function seedStaging(
  serving: { version: string; commit: string; commitTime: string } = { ...OLD_RELEASE, commitTime: OLD_COMMIT_TIME },
  options: { targetGroupArn?: string } = {},
): Promise<string> {
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
      ...(options.targetGroupArn ? { loadBalancers: [{ targetGroupArn: options.targetGroupArn, containerName: n.containerName, containerPort: 8080 }] } : {}),
    }),
  )
  return td.taskDefinition!.taskDefinitionArn!
}

/**
 * `builtDigest`: the manifest digest the build's tarball names (read only when the tag is already taken);
 * unset = an unscripted read, so a run that reads it without a reason fails.
 */
function deploy(opts: { albUrl: string; scan?: "clean" | "critical"; args?: Record<string, unknown>; webhook?: string; applyFails?: string; checkoutDir?: string; builtDigest?: string; cosign?: ReturnType<typeof cosignScript> }) {
  double.reset()
  const world = worldScript({ scan: opts.scan ?? "clean", outputs: awsOutputs(opts.albUrl, settings), applyFails: opts.applyFails })
  double.setScript((q) => {
    const signed = opts.cosign?.(q)
    if (signed !== undefined) return signed
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
      // Signed with the world's key (cosign answered by the script) unless a case says otherwise.
      ...keySigning(double),
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

/**
 * The warnings besides the one every unsigned deploy carries: the world deploys unsigned under
 * signing.staging warn (the signing suite above checks that warning itself).
 */
function unsignedAside(warnings: RunJson["warnings"]): RunJson["warnings"] {
  return warnings.filter((w) => !(w.source === "signing" && /is unsigned .*signing\.staging is warn/.test(w.message)))
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
      ["sign and attest", "succeeded"],
      ["verify signature", "succeeded"],
      ["terraform apply (aws)", "succeeded"],
      ["task definition", "succeeded"],
      ["traffic baseline", "succeeded"],
      ["rollout", "succeeded"],
      ["health check", "succeeded"],
      ["traffic analysis", "succeeded"],
      ["cost estimate", "succeeded"],
    ])
    expect(run.scan).toMatchObject({ gate: "passed" })
    // The candidate's burst on the ALB, judged against the one sent before the rollout.
    expect(run.analysis).toEqual([expect.objectContaining({ step: "rollout", source: "synthetic", verdict: "pass", baseline: expect.any(Object), candidate: expect.any(Object) })])
    expect(run.diagnostics).toBeUndefined()
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

    const rebuilt = `sha256:${"e".repeat(64)}`
    const cosignRuns = () => double.execs().filter((e) => e.args[0] === "cosign" && e.ranSeq !== undefined)

    it("another digest, the published image signed and attested for this commit: deployed, no push, no tag change, not signed again", async () => {
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, builtDigest: rebuilt }))
      expect(r).toMatchObject({ verdict: "succeeded", succeeded: true })
      expect(r.image).toMatch(new RegExp(`/${repository()}@${published}$`))
      const publish = run.steps.find((s) => s.name === "publish to ECR")!
      expect(publish.outcome).toBe("warning")
      for (const part of [`${repository()}:${NEW_RELEASE.version}`, published, rebuilt, "nothing was pushed", "scan verdict PASS"]) expect(publish.detail).toContain(part)
      expect(run.warnings).toContainEqual({ source: "publish", message: publish.detail })
      // The published digest is verified before it is adopted and again before the rollout; nothing signs it anew.
      const key = { kind: "key" } as const
      const verification = [verifyArgs(r.image, key, NEW_RELEASE.commit), verifyAttestationArgs(r.image, key, "sbom"), verifyAttestationArgs(r.image, key, "scan")]
      expect(cosignRuns().map((e) => e.args)).toEqual([...verification, ...verification])
      expect(run.steps.find((s) => s.name === "sign and attest")).toMatchObject({ outcome: "skipped" })
      expect(run.steps.find((s) => s.name === "verify signature")).toMatchObject({ outcome: "succeeded" })
      expect(run.signature).toMatchObject({ verified: true, attestations: ["CycloneDX SBOM", "scan verdict"] })
      expect(double.findChains((_, call) => call.leaf === "publish")).toEqual([])
      expect((await currentTaskDefinition()).image).toBe(r.image)
      expect(await tagDigest()).toBe(published)
    })

    it("another digest, the published image not verifiable (another commit's signature): fails naming the tag, both digests, the reason and the fix; nothing pushed or changed", async () => {
      const before = await currentTaskDefinition()
      const cosign = cosignScript({ refuse: { command: "verify", refusal: "otherCommit" } })
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, builtDigest: rebuilt, cosign }))
      expect(r).toMatchObject({ verdict: "failed", succeeded: false })
      expect(run.failingStep).toBe("publish to ECR")
      const detail = run.steps.find((s) => s.name === "publish to ECR")!.detail!
      for (const part of [
        `${repository()}:${NEW_RELEASE.version}`,
        published,
        rebuilt,
        "not overwritten",
        "could not be verified",
        "missing or incorrect annotation",
        "same build cache",
        "bump the version",
      ]) {
        expect(detail).toContain(part)
      }
      // Only the verification of the published digest ran: nothing signed, nothing pushed, ECS untouched.
      expect(cosignRuns().map((e) => e.args[1])).toEqual(["verify"])
      expect(double.findChains((_, call) => call.leaf === "publish")).toEqual([])
      expect(double.execs().filter((e) => e.args[0] === "terraform")).toEqual([])
      expect((await currentTaskDefinition()).arn).toBe(before.arn)
      expect(await tagDigest()).toBe(published)
    })
  })

  describe("signed and verified before the service changes (issue 15)", () => {
    const KEY = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nplanted-cosign-private-key-never-printed\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
    const PASSWORD = "planted-cosign-password-never-printed"
    const PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nplanted-cosign-public-key\n-----END PUBLIC KEY-----\n"
    const ecsWrites = () => awsProxy.requests.filter((q) => ["CreateService", "UpdateService", "RegisterTaskDefinition", "TagResource", "UntagResource"].includes(q.action))
    const cosignExecs = () => double.execs().filter((e) => e.args[0] === "cosign" && e.ranSeq !== undefined)
    let signing: ReturnType<typeof makeCheckout>
    const signingCheckout = (policy: "block" | "warn") => {
      const c = makeCheckout(
        pipelineYaml({
          awsEndpoint: awsProxy.url,
          region: moto.region,
          signing: { staging: policy, identity: { ...settings.signing.identity, repository: "acme/portfolio", publicKey: "cosign.pub" } },
        }),
      )
      writeFileSync(join(c.dir, "ci/cosign.pub"), PUBLIC_KEY)
      return c
    }
    const keyArgs = () => ({ signingKey: double.secret("COSIGN_KEY", KEY), signingPassword: double.secret("COSIGN_PASSWORD", PASSWORD) })
    afterAll(() => signing?.remove())

    it("with a key: cosign runs commands.ts's argv, the key and password as secrets only; verified before Terraform; the report shows signer and attestations", async () => {
      signing = signingCheckout("block")
      const result = await deploy({ albUrl: newApp.url, checkoutDir: signing.dir, args: keyArgs(), cosign: cosignScript() })
      const { report: r, run } = report(result)
      expect(r).toMatchObject({ verdict: "succeeded", succeeded: true })
      expect(run.steps.map((s) => [s.name, s.outcome]).slice(2, 5)).toEqual([
        ["publish to ECR", "succeeded"],
        ["sign and attest", "succeeded"],
        ["verify signature", "succeeded"],
      ])
      expect(run.steps[5]!.name).toBe("terraform apply (aws)")

      // Exactly the command lines of commands.ts, on the pushed digest, in the pinned image.
      const commit = NEW_RELEASE.commit
      const key = { kind: "key" } as const
      const execs = cosignExecs()
      expect(execs.map((e) => e.args)).toEqual([
        signArgs(r.image, key, commit),
        attestArgs(r.image, key, "sbom"),
        attestArgs(r.image, key, "scan"),
        verifyArgs(r.image, key, commit),
        verifyAttestationArgs(r.image, key, "sbom"),
        verifyAttestationArgs(r.image, key, "scan"),
      ])
      for (const e of execs) {
        expect(e.image).toBe(settings.images.cosign)
        // The registry login as a mounted docker config.json, built from the ECR login the push used.
        const config = e.mounts.find((m) => m.path === `${DOCKER_CONFIG_DIR}/config.json`)
        expect(config?.op).toBe("withMountedSecret")
        const auths = JSON.parse(String(config!.source!.at(-1)!.args["plaintext"])) as { auths: Record<string, { auth: string }> }
        expect(Object.keys(auths.auths)).toEqual([r.image.slice(0, r.image.indexOf("/"))])
        expect(Buffer.from(Object.values(auths.auths)[0]!.auth, "base64").toString()).toMatch(/^AWS:./)
        expect(e.env["DOCKER_CONFIG"]).toBe(DOCKER_CONFIG_DIR)
      }
      for (const e of execs.slice(0, 3)) {
        const mounted = e.mounts.find((m) => m.path === CONTAINER_FILES.key)
        expect(mounted).toMatchObject({ op: "withMountedSecret", source: [{ field: "secret", args: { uri: "env://COSIGN_KEY" } }] })
        expect(e.secretEnv[COSIGN_PASSWORD_ENV]).toEqual([{ field: "secret", args: { uri: "env://COSIGN_PASSWORD" } }])
        expect(e.env).not.toHaveProperty(COSIGN_PASSWORD_ENV)
      }
      // The attested files: the SBOM the build made and the gate's verdict for this commit.
      const scanPredicate = execs[2]!.mounts.find((m) => m.path === CONTAINER_FILES.predicates.scan)
      expect(JSON.parse(String(scanPredicate!.args["contents"]))).toMatchObject({ verdict: "PASS", commit, version: NEW_RELEASE.version, scanner: settings.images.trivy })
      expect(execs[1]!.mounts.find((m) => m.path === CONTAINER_FILES.predicates.sbom)?.op).toBe("withMountedFile")
      // Verification against the committed public key and the policies, with no private key in reach.
      for (const e of execs.slice(3)) {
        expect(e.mounts.find((m) => m.path === CONTAINER_FILES.publicKey)?.args["contents"]).toBe(PUBLIC_KEY)
        expect(String(e.mounts.find((m) => m.path === CONTAINER_FILES.policies.scan)?.args["contents"])).toContain(`input.predicate.commit == "${commit}"`)
        expect(e.mounts.some((m) => m.path === CONTAINER_FILES.key)).toBe(false)
        expect(e.secretEnv).not.toHaveProperty(COSIGN_PASSWORD_ENV)
      }
      // Signed and verified before Terraform ran.
      const terraform = double.execs().filter((e) => e.args[0] === "terraform" && e.ranSeq !== undefined)
      expect(Math.min(...terraform.map((e) => e.ranSeq!))).toBeGreaterThan(Math.max(...execs.map((e) => e.ranSeq!)))

      expect(run.signature).toEqual({ signer: "key ci/cosign.pub", attestations: ["CycloneDX SBOM", "scan verdict"], verified: true, detail: expect.stringContaining("verified") })
      expect(r.markdown).toContain("### Signature")
      expect(r.markdown).toContain("**✅ Verified** · **Signer** `key ci/cosign.pub` · **Attestations** CycloneDX SBOM, scan verdict")
      assertNoSecretLeaks(result, r, [KEY, PASSWORD, "planted-webhook-token-0001"])
    })

    it("a signature that does not verify (another key): refused before Terraform and ECS, with cosign's reason", async () => {
      signing = signingCheckout("warn")
      const before = await currentTaskDefinition()
      const cosign = cosignScript({ refuse: { command: "verify", refusal: "wrongKey" } })
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, checkoutDir: signing.dir, args: keyArgs(), cosign }))
      expect(r).toMatchObject({ verdict: "failed", succeeded: false })
      expect(run.failingStep).toBe("verify signature")
      const detail = run.steps.find((s) => s.name === "verify signature")!.detail!
      expect(detail).toContain("cosign verify of")
      expect(detail).toContain("exit code 12")
      expect(detail).toContain("no matching signatures: invalid signature when validating ASN.1 encoded signature")
      expect(cosignStderr("wrongKey")).toContain(detail.match(/Error: [^—]*/)![0].trim())
      expect(run.signature).toMatchObject({ signer: "key ci/cosign.pub", verified: false, detail: expect.stringMatching(/^verification failed: /) })
      expect(r.markdown).toContain("❌ Not verified")
      expect(double.execs().filter((e) => e.args[0] === "terraform")).toEqual([])
      expect(ecsWrites()).toEqual([])
      expect((await currentTaskDefinition()).arn).toBe(before.arn)
      expect(run.rollback).toBeUndefined()
    })

    it("unsigned under signing.staging: block: refused before Terraform and ECS; no cosign ran", async () => {
      signing = signingCheckout("block")
      const before = await currentTaskDefinition()
      const unsigned = { signingKey: undefined, signingPassword: undefined }
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, checkoutDir: signing.dir, args: unsigned, cosign: cosignScript() }))
      expect(r).toMatchObject({ verdict: "failed", succeeded: false })
      expect(run.failingStep).toBe("verify signature")
      expect(run.steps.find((s) => s.name === "sign and attest")).toMatchObject({ outcome: "skipped" })
      expect(run.steps.find((s) => s.name === "verify signature")!.detail).toMatch(/is unsigned .*signing\.staging in ci\/pipeline\.yaml is block/)
      expect(r.markdown).toContain("⚠️ Unsigned")
      expect(cosignExecs()).toEqual([])
      expect(double.execs().filter((e) => e.args[0] === "terraform")).toEqual([])
      expect(ecsWrites()).toEqual([])
      expect((await currentTaskDefinition()).arn).toBe(before.arn)
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
      expect(unsignedAside(run.warnings)).toEqual([{ source: "release-order", message: expect.stringMatching(/is older than commit dddddddddddd .*--allow-older/) }])
      const td = await currentTaskDefinition()
      expect(td.arn).not.toBe(newerArn)
      expect(td.env).toMatchObject({ APP_COMMIT: NEW_RELEASE.commit, APP_COMMIT_TIME: NEW_COMMIT_TIME })
    })

    it("without --commit-time the order is not checked (a warning says why), and the new revision does not inherit the old time", async () => {
      const { report: r, run } = report(await deploy({ albUrl: newApp.url, args: { commitTime: "" } }))
      expect(r.succeeded).toBe(true)
      expect(unsignedAside(run.warnings)).toEqual([{ source: "release-order", message: expect.stringMatching(/release order was not checked .*: --commit-time was not given/) }])
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

    const { report: r, run } = report(await deploy({ albUrl: newApp.url }))
    expect(r.succeeded).toBe(true)
    // No old release served, so none was measured: the candidate is judged on its error rate alone.
    expect(run.steps.find((s) => s.name === "traffic baseline")?.detail).toMatch(/^staging was stopped \(0 tasks\): no previous release to measure/)
    expect(run.analysis).toEqual([expect.objectContaining({ step: "rollout", verdict: "pass" })])
    expect(run.analysis![0]).not.toHaveProperty("baseline")
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

  it("a candidate healthy on /health but failing 5 % of / fails its traffic analysis on the ALB → rolled back, the report naming the error rate", async () => {
    // The ALB serves whatever ECS points it at: the old release, then (after the pipeline's rollout) the new
    // one failing every 20th request to /, then the old one again after the rollback's update.
    let plan: Plan = () => ({ kind: "proxy", target: oldApp.url })
    const alb = await startFaultyServer((r) => plan(r))
    awsProxy.hold = ({ action, body }) => {
      if (action === "UpdateService" && body.includes('"taskDefinition"')) {
        const to = (JSON.parse(body) as { taskDefinition: string }).taskDefinition
        plan = to === previousArn ? () => ({ kind: "proxy", target: oldApp.url }) : degradedProxy(newApp.url, { failPath: "/", failEvery: 20 })
      }
      return 0
    }
    try {
      const { report: r, run } = report(await deploy({ albUrl: alb.url }))
      expect(r).toMatchObject({ verdict: "rolled-back", succeeded: false })
      expect(run.failingStep).toBe("traffic analysis")
      expect(run.steps.find((s) => s.name === "traffic analysis")!.detail).toMatch(/^traffic analysis failed: error rate \d+\.\d % > 1\.0 % \(\d+ of \d+ requests failed\)/)
      // Judged against the burst the old release answered before the rollout.
      expect(run.steps.find((s) => s.name === "traffic baseline")).toMatchObject({ outcome: "succeeded", detail: expect.stringMatching(/^previous release: \d+ requests, 0 errors/) })
      expect(run.analysis).toEqual([expect.objectContaining({ step: "rollout", source: "synthetic", verdict: "fail", baseline: expect.objectContaining({ errors: 0 }) })])
      expect(run.rollback).toMatchObject({ attempted: true, outcome: "succeeded" })
      expect((await currentTaskDefinition()).arn).toBe(previousArn)
      // The burst's failed answer and ECS's account of the service are both in the report.
      expect(run.diagnostics?.map((d) => d.source)).toEqual(expect.arrayContaining(["analysis", "ecs"]))
      expect(r.markdown).toContain("GET / → 500")
    } finally {
      awsProxy.hold = undefined
      await alb.close()
    }
  })

  describe("a deployment alarm fails the rollout (issue 14): ECS rolls back, the report names the alarm and carries ECS's diagnostics", () => {
    // moto models no deployment alarms, events or rollbacks: this endpoint sits between the module and the
    // counting proxy and plays ECS's part. Once the pipeline points the service at the new revision, it rolls
    // the service back in moto itself (as ECS would; never through the counting proxy, so only the
    // pipeline's own writes are counted) and answers DescribeServices shaped like the API reference: the
    // alarm's events, the service's deployment alarms, first the rollback IN_PROGRESS beside ours FAILED,
    // then the rollback COMPLETED. Everything else (CloudWatch's alarm states, tasks, target health) is moto.
    let alarming: { url: string; close(): Promise<void> }
    let checkoutAlarming: ReturnType<typeof makeCheckout>
    let previous: string
    let instances: string[]
    const n = () => awsNames(settings)

    async function startAlarmingEcs(): Promise<{ url: string; close(): Promise<void> }> {
      const sdk = await loadEcsSdk()
      const names = settings.staging.names
      let ours: { id: string; taskDefinition: string } | undefined
      let rollbackId: string | undefined
      let polls = 0
      const server = createServer((req, res) => {
        const chunks: Buffer[] = []
        req.on("data", (c: Buffer) => chunks.push(c))
        req.on("end", async () => {
          const body = Buffer.concat(chunks)
          const action = String(req.headers["x-amz-target"] ?? "").split(".").pop() ?? ""
          const upstream = await fetch(new URL(req.url ?? "/", awsProxy.url), {
            method: req.method ?? "POST",
            headers: Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== "host" && k !== "content-length").map(([k, v]) => [k, String(v)])),
            ...(req.method === "GET" || req.method === "HEAD" ? {} : { body }),
          })
          let text = await upstream.text()
          const request = action ? (JSON.parse(body.toString() || "{}") as { taskDefinition?: string }) : {}
          if (action === "UpdateService" && request.taskDefinition && request.taskDefinition !== previous && !ours) {
            const answer = JSON.parse(text) as { service: { deployments: { id: string; status: string }[] } }
            ours = { id: answer.service.deployments.find((d) => d.status === "PRIMARY")!.id, taskDefinition: request.taskDefinition }
            // ECS's own rollback, in moto: the service back on the previous revision under a new deployment.
            const back = await ecs.send(new sdk.UpdateServiceCommand({ cluster: names.cluster, service: names.service, taskDefinition: previous, forceNewDeployment: true }))
            rollbackId = back.service!.deployments![0]!.id!
          }
          if (action === "DescribeServices" && ours && rollbackId) {
            const answer = JSON.parse(text) as { services: Record<string, unknown>[] }
            const service = answer.services[0]!
            const at = Date.now() / 1000
            const deployment = (id: string, status: string, td: string, rolloutState: string, running: number, reason?: string) => ({
              id, status, taskDefinition: td, desiredCount: 1, pendingCount: 0, runningCount: running, failedTasks: 0,
              createdAt: at - 60, updatedAt: at, launchType: "FARGATE", rolloutState, ...(reason ? { rolloutStateReason: reason } : {}),
            })
            const done = ++polls > 2
            Object.assign(service, {
              deploymentConfiguration: {
                deploymentCircuitBreaker: { enable: true, rollback: true },
                maximumPercent: 200,
                minimumHealthyPercent: 100,
                alarms: { alarmNames: [n().alarm5xxRate, n().alarmLatency], enable: true, rollback: true },
              },
              deployments: done
                ? [deployment(rollbackId, "PRIMARY", previous, "COMPLETED", 1, `ECS deployment ${rollbackId} completed.`)]
                : [deployment(rollbackId, "PRIMARY", previous, "IN_PROGRESS", 1, `ECS deployment ${rollbackId} in progress.`), deployment(ours.id, "ACTIVE", ours.taskDefinition, "FAILED", 0)],
              events: [
                { id: "e3", createdAt: at - 5, message: `(service ${names.service}) rolling back to deployment ${rollbackId}.` },
                { id: "e2", createdAt: at - 6, message: `(service ${names.service}) (deployment ${ours.id}) deployment failed: alarm detected.` },
                { id: "e1", createdAt: at - 50, message: `(service ${names.service}) has started 1 tasks: (task 3f2a9c0e5b7d4c1e8a6f0b2d4e6c8a01).` },
              ],
            })
            text = JSON.stringify(answer)
          }
          const headers = Object.fromEntries([...upstream.headers].filter(([k]) => k !== "content-length" && k !== "content-encoding" && k !== "transfer-encoding"))
          res.writeHead(upstream.status, headers)
          res.end(text)
        })
      })
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
      const { port } = server.address() as AddressInfo
      return {
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
      }
    }

    beforeEach(async () => {
      await moto.reset()
      // The service's target group: one target whose instance stopped (the unhealthy target moto models).
      const [vpcOut] = await botoCalls(moto, [["ec2", "create_vpc", { CidrBlock: "10.60.0.0/16" }]])
      const vpcId = (vpcOut as { Vpc: { VpcId: string } }).Vpc.VpcId
      const made = await botoCalls(moto, [
        ["elbv2", "create_target_group", { Name: n().targetGroup, Protocol: "HTTP", Port: 8080, VpcId: vpcId, TargetType: "instance" }],
        ["ec2", "run_instances", { ImageId: "ami-12c6146b", MinCount: 1, MaxCount: 1 }],
        // The deployment alarms Terraform makes; the 5xx one went into ALARM under the new release.
        ...[n().alarm5xxRate, n().alarmLatency].map((AlarmName): BotoCall => [
          "cloudwatch",
          "put_metric_alarm",
          { AlarmName, Namespace: "AWS/ApplicationELB", MetricName: "TargetResponseTime", Statistic: "Average", Period: 60, EvaluationPeriods: 2, Threshold: 1, ComparisonOperator: "GreaterThanThreshold" },
        ]),
        ["cloudwatch", "set_alarm_state", { AlarmName: n().alarm5xxRate, StateValue: "ALARM", StateReason: "Threshold Crossed: 2 datapoints [12.5, 9.0] were greater than the threshold (5.0)." }],
      ])
      const targetGroupArn = (made[0] as { TargetGroups: { TargetGroupArn: string }[] }).TargetGroups[0]!.TargetGroupArn
      instances = (made[1] as { Instances: { InstanceId: string }[] }).Instances.map((i) => i.InstanceId)
      await botoCalls(moto, [
        ["elbv2", "register_targets", { TargetGroupArn: targetGroupArn, Targets: instances.map((Id) => ({ Id, Port: 8080 })) }],
        ["ec2", "stop_instances", { InstanceIds: instances }],
      ])
      previous = await seedStaging(undefined, { targetGroupArn })
      // A task of the new release that ECS stopped, its logs in the stack's log group. moto cannot start an
      // awsvpc task (its ENI lacks private_dns_name), so this one runs a bridge-mode revision.
      const sdk = await loadEcsSdk()
      const names = settings.staging.names
      const failed = await ecs.send(
        new sdk.RegisterTaskDefinitionCommand({
          family: `${names.taskFamily}-failed`,
          networkMode: "bridge",
          containerDefinitions: [
            {
              name: names.containerName,
              image: "example/app:1",
              memory: 512,
              essential: true,
              logConfiguration: { logDriver: "awslogs", options: { "awslogs-group": n().logGroup, "awslogs-region": moto.region, "awslogs-stream-prefix": "app" } },
            },
          ],
        }),
      )
      const task = await ecs.send(
        new sdk.RunTaskCommand({ cluster: names.cluster, taskDefinition: failed.taskDefinition!.taskDefinitionArn, launchType: "FARGATE", group: `service:${names.service}` }),
      )
      await ecs.send(new sdk.StopTaskCommand({ cluster: names.cluster, task: task.tasks![0]!.taskArn, reason: "Task failed ELB health checks in (target-group portfolio-prod-tg)" }))
      alarming = await startAlarmingEcs()
      checkoutAlarming = makeCheckout(pipelineYaml({ awsEndpoint: alarming.url, region: moto.region }))
      awsProxy.requests.length = 0
    }, 120_000)
    afterEach(async () => {
      await alarming?.close()
      checkoutAlarming?.remove()
    })

    it("the rollout fails naming the alarm in ALARM; ECS's own rollback is verified (no second update); events, stopped task, log link and unhealthy target are in the json and the markdown", async () => {
      const result = await deploy({ albUrl: oldApp.url, checkoutDir: checkoutAlarming.dir })
      const { report: r, run } = report(result)

      // Not a success: the new release never shipped; the old one is proven to serve again.
      expect(r).toMatchObject({ verdict: "rolled-back", succeeded: false })
      expect(run.failingStep).toBe("rollout")
      const detail = run.steps.find((s) => s.name === "rollout")!.detail!
      expect(detail).toContain(`deployment alarm ${n().alarm5xxRate} went into ALARM`)
      expect(detail).toContain("(rolled-back)")
      expect(detail).not.toContain(n().alarmLatency)
      expect(detail).not.toMatch(/circuit breaker/)
      expect(run.steps.map((s) => s.name)).not.toContain("health check")
      expect(run.rollback).toMatchObject({ attempted: true, outcome: "succeeded", detail: expect.stringMatching(/answers healthy/) })
      // The pipeline wrote once (the rollout) and left the rollback to ECS; moto runs the old revision.
      const updates = awsProxy.requests.filter((q) => q.action === "UpdateService")
      expect(updates).toHaveLength(1)
      expect((await currentTaskDefinition()).arn).toBe(previous)

      // ECS's account of the failure, in the record.
      const diagnostics = run.diagnostics ?? []
      const events = diagnostics.find((d) => d.title.startsWith(`service ${settings.staging.names.service}: last`))
      expect(events?.lines).toContainEqual(expect.stringContaining("deployment failed: alarm detected."))
      const stopped = diagnostics.find((d) => d.title.startsWith("task "))
      expect(stopped?.title).toMatch(/stopped: Task failed ELB health checks in \(target-group portfolio-prod-tg\)$/)
      const logLink = stopped?.links?.[0]?.url ?? ""
      expect(logLink).toContain(`#logsV2:log-groups/log-group/${encodeURIComponent(n().logGroup).replace(/%/g, "$25")}/log-events/app$252F${settings.staging.names.containerName}$252F`)
      const targets = diagnostics.find((d) => d.title.startsWith(`target group ${n().targetGroup}`))
      expect(targets?.lines).toEqual([`${instances[0]}:8080 unused (Target.InvalidState): Target is in the stopped state`])

      // ... and in what people read.
      for (const text of [n().alarm5xxRate, "deployment failed: alarm detected.", "Task failed ELB health checks", "Target.InvalidState", "log-events/app$252F"]) {
        expect(r.markdown, text).toContain(text)
      }
      expect(receiver.requests[0]!.json).toMatchObject({ verdict: "rolled-back", failingStep: "rollout" })
      assertNoSecretLeaks(result, r, ["planted-webhook-token-0001"])
    }, 120_000)
  })

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
    expect(unsignedAside(run.warnings)).toEqual([expect.objectContaining({ source: "notify:webhook" })])
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
