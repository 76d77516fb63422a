// stop-aws / start-aws: the settings → target mapping (pure), the capability against moto, and the
// CLI functions end to end — the SDK's real module entrypoint, driven by the engine double, with
// settings read from a real ci/pipeline.yaml and the ECS calls going to moto.
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { describeService, PREVIOUS_DESIRED_COUNT_TAG, type ScaleOutcome } from "../../dagger/src/aws/ecs.js"
import { parseSettings, type Settings } from "../../dagger/src/config/settings.js"
import { toAwsStagingScale } from "../../dagger/src/aws/stop-aws.js"
import { openStagingService, stagingTarget } from "../../dagger/src/aws/staging-service.js"
import { callFunction, startEngineDouble, type EngineDouble } from "../support/engine-double.js"
import { startMoto, type Moto } from "../support/moto.js"
import { repoRoot } from "../tools/paths.js"
import { createEcsClient, loadEcsSdk, type ECSClient } from "../../dagger/src/aws/ecs-client.js"

const settingsText = readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8")

/** The repository's settings, pointed at moto. */
function settingsFor(moto: Moto): Settings {
  const s = parseSettings(settingsText)
  return { ...s, staging: { ...s.staging, aws: { region: moto.region, endpointUrl: moto.endpoint } } }
}

async function seed(ecs: ECSClient, settings: Settings, desired: number): Promise<void> {
  const sdk = await loadEcsSdk()
  const { cluster, service, taskFamily } = settings.staging.names
  await ecs.send(new sdk.CreateClusterCommand({ clusterName: cluster }))
  await ecs.send(
    new sdk.RegisterTaskDefinitionCommand({
      family: taskFamily,
      containerDefinitions: [{ name: "portfolio", image: "portfolio:1.0.0", memory: 512 }],
    }),
  )
  await ecs.send(
    new sdk.CreateServiceCommand({ cluster, serviceName: service, taskDefinition: taskFamily, desiredCount: desired, launchType: "FARGATE" }),
  )
}

describe("toAwsStagingScale", () => {
  const outcome: ScaleOutcome = {
    ref: { cluster: "c", service: "s" },
    region: "us-west-1",
    previousDesiredCount: 2,
    desiredCount: 0,
    runningCount: 1,
    verdict: { state: "failure", kind: "timed-out", detail: "still pending after 600 s: desired 0, running 1" },
    polls: 400,
    elapsedMs: 600_000,
  }

  it("fails the call on a non-success verdict, saying what was left and what to run", () => {
    expect(() => toAwsStagingScale("stop", outcome)).toThrow(
      /stop-aws: service 's' in cluster 'c' \(us-west-1\) did not stop \(timed-out\): still pending.*remembered in tag pipeline:previous-desired-count.*start-aws/,
    )
  })

  it("maps a success to the CLI object", () => {
    const ok = toAwsStagingScale("stop", { ...outcome, runningCount: 0, verdict: { state: "success", detail: "desired 0, running 0" } })
    expect(ok).toMatchObject({ action: "stop", verdict: "stopped", previousDesiredCount: 2, desiredCount: 0, runningCount: 0, polls: 400 })
  })
})

describe("the staging service's stop and start against moto", () => {
  let moto: Moto
  let ecs: ECSClient
  let settings: Settings
  beforeAll(async () => {
    moto = await startMoto()
    settings = settingsFor(moto)
    ecs = await createEcsClient({ region: moto.region, credentials: moto.credentials, endpointUrl: moto.endpoint })
  })
  afterAll(async () => {
    await moto?.stop()
  })
  beforeEach(async () => {
    await moto.reset()
    await seed(ecs, settings, 2)
  })

  it("stop then start round-trips the desired count through the tag", async () => {
    const target = stagingTarget(settings)
    const ref = { cluster: target.cluster, service: target.service }
    const staging = await openStagingService(target, moto.credentials)
    const signal = new AbortController().signal

    const stopped = await staging.stop(signal)
    expect(stopped).toMatchObject({ previousDesiredCount: 2, desiredCount: 0, runningCount: 0, verdict: { state: "success" } })
    expect((await describeService(ecs, ref, { tags: true })).tags).toContainEqual({ key: PREVIOUS_DESIRED_COUNT_TAG, value: "2" })

    const started = await staging.start(signal)
    staging.close()
    expect(started).toMatchObject({ previousDesiredCount: 0, desiredCount: 2, runningCount: 2, verdict: { state: "success" } })
    const after = await describeService(ecs, ref, { tags: true })
    expect(after.desiredCount).toBe(2)
    expect(after.tags ?? []).not.toContainEqual(expect.objectContaining({ key: PREVIOUS_DESIRED_COUNT_TAG }))
  })
})

describe("stop-aws and start-aws through the SDK entrypoint (engine double + moto)", () => {
  let moto: Moto
  let double: EngineDouble
  let ecs: ECSClient
  let repo: string
  const accessKey = "AKIAEXAMPLESTOPAWS01"
  const secretKey = "stop-aws-secret-key-never-printed"

  const savedTsconfig = process.env["TSX_TSCONFIG_PATH"]
  beforeAll(async () => {
    // The entrypoint runner (a tsx child that inherits this env) compiles the module with the module's own
    // tsconfig, as the Dagger runtime does. The root tsconfig maps @aws-sdk/client-* to .d.ts files for
    // type-checking tests, and tsx would follow that mapping at run time.
    process.env["TSX_TSCONFIG_PATH"] = join(repoRoot, "dagger/tsconfig.json")
    moto = await startMoto()
    double = await startEngineDouble()
    ecs = await createEcsClient({ region: moto.region, credentials: moto.credentials, endpointUrl: moto.endpoint })
    // A checkout whose ci/pipeline.yaml points staging at moto, as a test run would configure it.
    repo = mkdtempSync(join(tmpdir(), "stop-aws-"))
    mkdirSync(join(repo, "ci"))
    const pointed = settingsText.replace(/(\nstaging:\n  aws:\n    region: )[^\n]+\n/, `$1${moto.region}\n    endpointUrl: ${moto.endpoint}\n`)
    expect(parseSettings(pointed).staging.aws.endpointUrl).toBe(moto.endpoint)
    writeFileSync(join(repo, "ci/pipeline.yaml"), pointed)
    await seed(ecs, settingsFor(moto), 1)
  })
  afterAll(async () => {
    if (savedTsconfig === undefined) delete process.env["TSX_TSCONFIG_PATH"]
    else process.env["TSX_TSCONFIG_PATH"] = savedTsconfig
    await double?.close()
    await moto?.stop()
    if (repo) rmSync(repo, { recursive: true, force: true })
  })

  const call = (fn: string) =>
    callFunction(double, {
      fn,
      constructorArgs: { source: double.hostDirectory(repo) },
      args: {
        awsAccessKeyId: double.secret("AWS_ACCESS_KEY_ID", accessKey),
        awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", secretKey),
      },
      timeoutMs: 90_000,
    })

  it("stop-aws scales staging to 0 and returns the counts; start-aws restores them", async () => {
    const names = parseSettings(settingsText).staging.names
    const ref = { cluster: names.cluster, service: names.service }

    const stopped = await call("stop-aws")
    expect(stopped.error, stopped.stderr).toBeUndefined()
    expect(stopped.result).toMatchObject({
      action: "stop",
      verdict: "stopped",
      cluster: names.cluster,
      service: names.service,
      region: moto.region,
      previousDesiredCount: 1,
      desiredCount: 0,
      runningCount: 0,
    })
    expect((await describeService(ecs, ref)).desiredCount).toBe(0)

    const started = await call("start-aws")
    expect(started.error, started.stderr).toBeUndefined()
    expect(started.result).toMatchObject({ action: "start", verdict: "started", previousDesiredCount: 0, desiredCount: 1 })
    expect((await describeService(ecs, ref)).desiredCount).toBe(1)

    // The credentials were read as secrets and never passed anywhere else.
    expect(double.secretLeaks()).toEqual([])
    for (const out of [stopped.stdout, stopped.stderr, started.stdout, started.stderr, JSON.stringify(stopped.result)]) {
      expect(out).not.toContain(secretKey)
    }
  }, 180_000)

  it("a missing service fails the call with the service, the cluster and the fix", async () => {
    const sdk = await loadEcsSdk()
    const names = parseSettings(settingsText).staging.names
    await ecs.send(new sdk.DeleteServiceCommand({ cluster: names.cluster, service: names.service, force: true }))
    const res = await call("stop-aws")
    expect(res.error?.message).toMatch(/service '.+' in cluster '.+' \(us-west-1\) is INACTIVE; expected ACTIVE/)
    expect(res.error?.message).not.toContain(secretKey)
  }, 120_000)
})
