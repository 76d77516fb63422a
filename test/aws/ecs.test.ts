// dagger/src/aws/ecs.ts against moto (scaling, tags, deployments, errors) and against the scripted ECS endpoint
// for what moto 5.2.5 does not model: rollout state transitions, circuit-breaker rollbacks, throttling.
//
// What moto does (read from moto/ecs/models.py 5.2.5 and observed here):
// - CreateService makes one PRIMARY deployment, rolloutState IN_PROGRESS and runningCount 0 — unless the
//   server runs with MOTO_ECS_SERVICE_RUNNING=N, then runningCount N and COMPLETED when N >= desired.
//   The state never changes afterwards.
// - UpdateService(desiredCount) sets the service's running count to it at once (no draining).
// - UpdateService(taskDefinition) only repoints the service; forceNewDeployment re-IDs the one existing
//   deployment in place (its taskDefinition unchanged). Real ECS adds a new PRIMARY deployment instead.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { deployTaskDefinition, describeService, PREVIOUS_DESIRED_COUNT_TAG, registerTaskDefinitionRevision, scaleService, startService, stopService, waitForRollout } from "../../dagger/src/aws/ecs.js"
import { openStagingService, type StagingService } from "../../dagger/src/aws/staging-service.js"
import { stagingRollbackAction } from "../../dagger/src/deploy/staging.js"
import type { RolloutOutcome } from "../../dagger/src/aws/ecs.js"
import { startScriptedEcs, type ScriptedEcs } from "../support/ecs-scripted.js"
import { startMoto, type Moto } from "../support/moto.js"
import { virtualTime } from "../support/virtual-time.js"
import { createEcsClient, EcsError, loadEcsSdk, type ECSClient, type EcsServiceRef } from "../../dagger/src/aws/ecs-client.js"

const ref: EcsServiceRef = { cluster: "portfolio-prod-cluster", service: "portfolio-prod-service" }
const FAMILY = "portfolio-prod-task"

/** Creates the staging shape in moto: a cluster, two task definition revisions, a service at `desired`. */
async function seedStaging(ecs: ECSClient, desired = 1): Promise<void> {
  const sdk = await loadEcsSdk()
  await ecs.send(new sdk.CreateClusterCommand({ clusterName: ref.cluster }))
  for (const image of ["portfolio@sha256:" + "1".repeat(64), "portfolio@sha256:" + "2".repeat(64)]) {
    await ecs.send(
      new sdk.RegisterTaskDefinitionCommand({
        family: FAMILY,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: "256",
        memory: "512",
        containerDefinitions: [{ name: "portfolio", image, essential: true, portMappings: [{ containerPort: 8080 }] }],
      }),
    )
  }
  await ecs.send(
    new sdk.CreateServiceCommand({
      cluster: ref.cluster,
      serviceName: ref.service,
      taskDefinition: `${FAMILY}:1`,
      desiredCount: desired,
      launchType: "FARGATE",
      deploymentController: { type: "ECS" },
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    }),
  )
}

async function tagsOf(ecs: ECSClient): Promise<Record<string, string>> {
  const service = await describeService(ecs, ref, { tags: true })
  return Object.fromEntries((service.tags ?? []).map((t) => [t.key ?? "", t.value ?? ""]))
}

const fastWait = () => ({ budgetMs: 10_000, intervalMs: 50 })

describe("ECS against moto", () => {
  let moto: Moto
  let ecs: ECSClient
  beforeAll(async () => {
    moto = await startMoto()
    ecs = await createEcsClient({ region: moto.region, credentials: moto.credentials, endpointUrl: moto.endpoint })
  })
  afterAll(async () => {
    await moto?.stop()
  })
  beforeEach(async () => {
    await moto.reset()
    await seedStaging(ecs)
  })

  describe("stop and start", () => {
    it("stopService scales to 0, remembers the previous desired count in a tag, and verifies no task runs", async () => {
      const outcome = await stopService(ecs, ref, fastWait())
      expect(outcome).toMatchObject({
        previousDesiredCount: 1,
        desiredCount: 0,
        runningCount: 0,
        region: moto.region,
        verdict: { state: "success" },
      })
      expect(outcome.polls).toBeGreaterThanOrEqual(1)
      const service = await describeService(ecs, ref)
      expect([service.desiredCount, service.runningCount]).toEqual([0, 0])
      expect(await tagsOf(ecs)).toMatchObject({ [PREVIOUS_DESIRED_COUNT_TAG]: "1" })
    })

    it("stopping twice does not forget the count to restore", async () => {
      await stopService(ecs, ref, fastWait())
      const again = await stopService(ecs, ref, fastWait())
      expect(again.previousDesiredCount).toBe(0)
      expect(again.verdict.state).toBe("success")
      expect((await tagsOf(ecs))[PREVIOUS_DESIRED_COUNT_TAG]).toBe("1")
    })

    it("startService restores the remembered count and removes the tag", async () => {
      await scaleService(ecs, ref, 3, fastWait())
      await stopService(ecs, ref, fastWait())
      expect((await tagsOf(ecs))[PREVIOUS_DESIRED_COUNT_TAG]).toBe("3")

      const started = await startService(ecs, ref, { fallbackDesiredCount: 1, wait: fastWait() })

      expect(started).toMatchObject({ previousDesiredCount: 0, desiredCount: 3, runningCount: 3, verdict: { state: "success" } })
      expect(await tagsOf(ecs)).not.toHaveProperty(PREVIOUS_DESIRED_COUNT_TAG)
      expect((await describeService(ecs, ref)).desiredCount).toBe(3)
    })

    it("startService without a remembered count uses the fallback when the service is at 0", async () => {
      await scaleService(ecs, ref, 0, fastWait())
      const started = await startService(ecs, ref, { fallbackDesiredCount: 2, wait: fastWait() })
      expect(started).toMatchObject({ desiredCount: 2, verdict: { state: "success" } })
    })

    it("startService leaves a running service at its count when nothing was remembered", async () => {
      await scaleService(ecs, ref, 2, fastWait())
      const started = await startService(ecs, ref, { fallbackDesiredCount: 1, wait: fastWait() })
      expect(started).toMatchObject({ previousDesiredCount: 2, desiredCount: 2 })
    })

    it("a tag holding garbage stops start with the tag, the value and the fix", async () => {
      const sdk = await loadEcsSdk()
      const service = await describeService(ecs, ref)
      await ecs.send(new sdk.TagResourceCommand({ resourceArn: service.serviceArn, tags: [{ key: PREVIOUS_DESIRED_COUNT_TAG, value: "lots" }] }))
      await expect(startService(ecs, ref, { fallbackDesiredCount: 1, wait: fastWait() })).rejects.toThrow(
        /pipeline:previous-desired-count.*'lots'.*untag-resource/,
      )
    })

    it("rejects a negative desired count before calling AWS", async () => {
      await expect(scaleService(ecs, ref, -1, fastWait())).rejects.toThrow(/non-negative integer, got -1/)
    })
  })

  describe("deployments", () => {
    it("lists the service's deployments with IDs, states and the task definition", async () => {
      const service = await describeService(ecs, ref)
      expect(service.deployments).toHaveLength(1)
      expect(service.deployments![0]).toMatchObject({
        id: expect.stringMatching(/^ecs-svc\/\d+$/),
        status: "PRIMARY",
        rolloutState: "IN_PROGRESS",
        taskDefinition: expect.stringMatching(/task-definition\/portfolio-prod-task:1$/),
      })
    })

    it("deployTaskDefinition repoints the service and returns the new deployment's ID", async () => {
      const before = await describeService(ecs, ref)
      const started = await deployTaskDefinition(ecs, ref, `${FAMILY}:2`)

      expect(started.deploymentId).toMatch(/^ecs-svc\/\d+$/)
      expect(started.deploymentId).not.toBe(before.deployments![0]!.id)
      expect(started.previousTaskDefinition).toMatch(/task-definition\/portfolio-prod-task:1$/)
      const after = await describeService(ecs, ref)
      expect(after.taskDefinition).toMatch(/portfolio-prod-task:2$/)
      expect(after.deployments!.find((d) => d.id === started.deploymentId)?.status).toBe("PRIMARY")
    })

    it("registerTaskDefinitionRevision derives the next revision from the running one, image and env changed", async () => {
      const image = "portfolio@sha256:" + "3".repeat(64)
      const registered = await registerTaskDefinitionRevision(ecs, ref, {
        containerName: "portfolio",
        image,
        environment: { APP_VERSION: "2.0.0", APP_COMMIT: "abc1234" },
      })
      expect(registered.previousTaskDefinitionArn).toMatch(/task-definition\/portfolio-prod-task:1$/)
      expect(registered.taskDefinitionArn).toMatch(/task-definition\/portfolio-prod-task:3$/)

      const sdk = await loadEcsSdk()
      const td = (await ecs.send(new sdk.DescribeTaskDefinitionCommand({ taskDefinition: registered.taskDefinitionArn }))).taskDefinition!
      expect(td).toMatchObject({ family: FAMILY, networkMode: "awsvpc", cpu: "256", memory: "512", requiresCompatibilities: ["FARGATE"] })
      expect(td.containerDefinitions![0]).toMatchObject({
        name: "portfolio",
        image,
        portMappings: [expect.objectContaining({ containerPort: 8080 })],
        environment: expect.arrayContaining([
          { name: "APP_VERSION", value: "2.0.0" },
          { name: "APP_COMMIT", value: "abc1234" },
        ]),
      })

      const started = await deployTaskDefinition(ecs, ref, registered.taskDefinitionArn)
      expect(started.previousTaskDefinition).toBe(registered.previousTaskDefinitionArn)
      expect((await describeService(ecs, ref)).taskDefinition).toBe(registered.taskDefinitionArn)
    })

    it("registerTaskDefinitionRevision names a wrong container name", async () => {
      await expect(
        registerTaskDefinitionRevision(ecs, ref, { containerName: "web", image: "x@sha256:" + "4".repeat(64), environment: {} }),
      ).rejects.toThrow(/no container named 'web' \(it has: 'portfolio'\)/)
    })

    it("an unknown task definition is refused with ECS's reason", async () => {
      await expect(deployTaskDefinition(ecs, ref, `${FAMILY}:99`)).rejects.toThrow(EcsError)
    })

    it("waitForRollout reports a timeout (not success) while moto's rollout stays IN_PROGRESS", async () => {
      const started = await deployTaskDefinition(ecs, ref, `${FAMILY}:2`)
      const time = virtualTime()
      const outcome = await waitForRollout(ecs, ref, started.deploymentId, { budgetMs: 120_000, ...time })
      expect(outcome.verdict).toMatchObject({ state: "failure", kind: "timed-out" })
      expect(outcome.verdict.detail).toMatch(/IN_PROGRESS/)
      // A two-minute budget at ≤ 2 s per pause: 60–120 polls, all in virtual time.
      expect(outcome.polls).toBeGreaterThan(60)
      expect(Math.max(...time.sleeps)).toBeLessThanOrEqual(2_000)
    })
  })

  describe("errors name the input, the problem and the fix", () => {
    it("missing cluster", async () => {
      const err = await stopService(ecs, { ...ref, cluster: "no-such-cluster" }, fastWait()).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(EcsError)
      expect((err as EcsError).code).toBe("ClusterNotFoundException")
      expect((err as Error).message).toMatch(/cluster 'no-such-cluster'.*staging\.names\.cluster.*ci\/pipeline\.yaml/)
    })

    it("missing service", async () => {
      const err = await stopService(ecs, { ...ref, service: "no-such-service" }, fastWait()).catch((e: unknown) => e)
      expect((err as Error).message).toMatch(/service 'no-such-service' in cluster 'portfolio-prod-cluster'.*not found \(MISSING\).*staging\.names\.service/)
    })

    it("a deleted (INACTIVE) service", async () => {
      const sdk = await loadEcsSdk()
      await ecs.send(new sdk.DeleteServiceCommand({ cluster: ref.cluster, service: ref.service, force: true }))
      await expect(stopService(ecs, ref, fastWait())).rejects.toThrow(/is INACTIVE; expected ACTIVE — was it deleted outside Terraform\?/)
    })
  })
})

describe("ECS against moto with running tasks (MOTO_ECS_SERVICE_RUNNING=1)", () => {
  let moto: Moto
  let ecs: ECSClient
  beforeAll(async () => {
    moto = await startMoto({ env: { MOTO_ECS_SERVICE_RUNNING: "1" } })
    ecs = await createEcsClient({ region: moto.region, credentials: moto.credentials, endpointUrl: moto.endpoint })
    await seedStaging(ecs)
  })
  afterAll(async () => {
    await moto?.stop()
  })

  it("a deployment moto reports COMPLETED with running = desired is a success", async () => {
    const staging = await openStagingService(
      { region: moto.region, endpointUrl: moto.endpoint, cluster: ref.cluster, service: ref.service, containerName: "portfolio", desiredCount: 1, budgetMs: 5_000, intervalMs: 20 },
      moto.credentials,
    )
    try {
      const outcome = await rolloutAndRollBack(staging, `${FAMILY}:2`, `${FAMILY}:1`)
      expect(outcome.rollout.verdict).toMatchObject({ state: "success" })
      expect(outcome.rollout.deploymentId).toMatch(/^ecs-svc\//)
      expect(outcome.rollback).toBeUndefined()
    } finally {
      staging.close()
    }
  })
})

// ---- The scripted endpoint: rollout transitions and retries through the real SDK client ----

const ARN = (rev: number) => `arn:aws:ecs:us-west-1:123456789012:task-definition/${FAMILY}:${rev}`
const dep = (id: string, status: string, rev: number, rolloutState: string, reason: string, running = 0) => ({
  id,
  status,
  taskDefinition: ARN(rev),
  desiredCount: 1,
  runningCount: running,
  pendingCount: 1 - running,
  failedTasks: 0,
  createdAt: 1764080000,
  updatedAt: 1764080030,
  launchType: "FARGATE",
  rolloutState,
  rolloutStateReason: reason,
})
const svc = (rev: number, deployments: object[]) => ({
  services: [
    {
      serviceArn: `arn:aws:ecs:us-west-1:123456789012:service/${ref.cluster}/${ref.service}`,
      serviceName: ref.service,
      status: "ACTIVE",
      desiredCount: 1,
      runningCount: 1,
      pendingCount: 0,
      taskDefinition: ARN(rev),
      deployments,
      deploymentController: { type: "ECS" },
    },
  ],
  failures: [],
})
const OLD = "ecs-svc/1111111111111111111"
const NEW = "ecs-svc/2222222222222222222"
const BREAKER = "ecs-svc/3333333333333333333"
const OURS_BACK = "ecs-svc/4444444444444444444"

/**
 * What deploy-staging does with the staging port (deploy/staging.ts): roll out, and on a failed verdict
 * take the rollback action the real algorithm (stagingRollbackAction) decides, through the same port.
 */
async function rolloutAndRollBack(
  staging: StagingService,
  taskDefinition: string,
  previous: string,
): Promise<{ rollout: RolloutOutcome; rollback?: RolloutOutcome }> {
  const signal = new AbortController().signal
  const rollout = await staging.rollout(taskDefinition, 1, signal)
  if (rollout.verdict.state === "success") return { rollout }
  const action = stagingRollbackAction({ touched: true, previous, rollout: rollout.verdict })
  if (action.kind === "none") return { rollout }
  return { rollout, rollback: await staging.rollBack(action, signal) }
}

describe("rollouts through the scripted ECS endpoint (real SDK client)", () => {
  let server: ScriptedEcs
  let ecs: ECSClient
  let staging: StagingService
  const stagingOf = async (): Promise<StagingService> =>
    (staging = await openStagingService(
      { region: "us-west-1", endpointUrl: server.endpoint, cluster: ref.cluster, service: ref.service, containerName: "portfolio", desiredCount: 1, budgetMs: 60_000, intervalMs: 2_000 },
      { accessKeyId: "test", secretAccessKey: "test" },
      virtualTime(),
    ))
  afterEach(() => staging?.close())
  beforeEach(async () => {
    server = await startScriptedEcs()
    ecs = await createEcsClient({
      region: "us-west-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
      endpointUrl: server.endpoint,
      maxAttempts: 3,
    })
  })
  afterEach(async () => {
    await server?.close()
  })

  it("in progress → completed: success on the poll that sees COMPLETED", async () => {
    // The port reads the service first (is it stopped?), then deploys.
    const serving7 = svc(7, [dep(OLD, "PRIMARY", 7, "COMPLETED", `ECS deployment ${OLD} completed.`, 1)])
    server.script("DescribeServices", serving7, serving7)
    server.script("UpdateService", { service: svc(8, [dep(NEW, "PRIMARY", 8, "IN_PROGRESS", `ECS deployment ${NEW} in progress.`), dep(OLD, "ACTIVE", 7, "COMPLETED", "")]).services[0] })
    server.script(
      "DescribeServices",
      svc(8, [dep(NEW, "PRIMARY", 8, "IN_PROGRESS", `ECS deployment ${NEW} in progress.`), dep(OLD, "ACTIVE", 7, "COMPLETED", "", 1)]),
      svc(8, [dep(NEW, "PRIMARY", 8, "IN_PROGRESS", `ECS deployment ${NEW} in progress.`, 1), dep(OLD, "ACTIVE", 7, "COMPLETED", "", 1)]),
      svc(8, [dep(NEW, "PRIMARY", 8, "COMPLETED", `ECS deployment ${NEW} completed.`, 1)]),
    )
    const outcome = await rolloutAndRollBack(await stagingOf(), `${FAMILY}:8`, ARN(7))
    expect(outcome.rollout).toMatchObject({ deploymentId: NEW, verdict: { state: "success" }, polls: 3 })
    expect(outcome.rollback).toBeUndefined()
    const update = server.callsOf("UpdateService")
    expect(update).toHaveLength(1)
    expect(update[0]!.body).toMatchObject({ cluster: ref.cluster, service: ref.service, taskDefinition: `${FAMILY}:8`, forceNewDeployment: true })
    expect(server.unscripted).toEqual([])
  })

  it("circuit breaker rolls back: failure 'rolled-back', then the breaker's own rollback is verified (no second update)", async () => {
    // The port reads the service first (is it stopped?), then deploys.
    const serving7 = svc(7, [dep(OLD, "PRIMARY", 7, "COMPLETED", `ECS deployment ${OLD} completed.`, 1)])
    server.script("DescribeServices", serving7, serving7)
    server.script("UpdateService", { service: svc(8, [dep(NEW, "PRIMARY", 8, "IN_PROGRESS", `ECS deployment ${NEW} in progress.`), dep(OLD, "ACTIVE", 7, "COMPLETED", "", 1)]).services[0] })
    const rollingBack = `ECS deployment circuit breaker: rolling back to deploymentId ${OLD}.`
    server.script(
      "DescribeServices",
      svc(8, [dep(NEW, "PRIMARY", 8, "IN_PROGRESS", `ECS deployment ${NEW} in progress.`), dep(OLD, "ACTIVE", 7, "COMPLETED", "", 1)]),
      svc(7, [dep(BREAKER, "PRIMARY", 7, "IN_PROGRESS", rollingBack, 1), dep(NEW, "ACTIVE", 8, "FAILED", "ECS deployment circuit breaker: tasks failed to start.")]),
      svc(7, [dep(BREAKER, "PRIMARY", 7, "IN_PROGRESS", rollingBack, 1), dep(NEW, "ACTIVE", 8, "FAILED", "ECS deployment circuit breaker: tasks failed to start.")]),
      svc(7, [dep(BREAKER, "PRIMARY", 7, "COMPLETED", `ECS deployment ${BREAKER} completed.`, 1)]),
    )
    const outcome = await rolloutAndRollBack(await stagingOf(), `${FAMILY}:8`, ARN(7))
    expect(outcome.rollout.verdict).toMatchObject({ state: "failure", kind: "rolled-back", rollbackDeploymentId: BREAKER })
    expect(outcome.rollback).toMatchObject({ deploymentId: BREAKER, verdict: { state: "success" }, taskDefinition: ARN(7) })
    expect(server.callsOf("UpdateService")).toHaveLength(1)
  })

  it("FAILED without a breaker rollback: the pipeline rolls back to the previous task definition and verifies it", async () => {
    // The port reads the service first (is it stopped?), then deploys.
    const serving7 = svc(7, [dep(OLD, "PRIMARY", 7, "COMPLETED", `ECS deployment ${OLD} completed.`, 1)])
    server.script("DescribeServices", serving7, serving7)
    server.script(
      "UpdateService",
      { service: svc(8, [dep(NEW, "PRIMARY", 8, "IN_PROGRESS", "in progress"), dep(OLD, "ACTIVE", 7, "COMPLETED", "", 1)]).services[0] },
      { service: svc(7, [dep(OURS_BACK, "PRIMARY", 7, "IN_PROGRESS", "in progress"), dep(NEW, "ACTIVE", 8, "FAILED", "")]).services[0] },
    )
    const failed = svc(8, [dep(NEW, "PRIMARY", 8, "FAILED", "ECS deployment circuit breaker: tasks failed to start."), dep(OLD, "ACTIVE", 7, "COMPLETED", "", 1)])
    server.script(
      "DescribeServices",
      failed, // rollout verdict: FAILED
      failed, // describe before the rollback update
      svc(7, [dep(OURS_BACK, "PRIMARY", 7, "IN_PROGRESS", "in progress", 1)]),
      svc(7, [dep(OURS_BACK, "PRIMARY", 7, "COMPLETED", `ECS deployment ${OURS_BACK} completed.`, 1)]),
    )
    const outcome = await rolloutAndRollBack(await stagingOf(), `${FAMILY}:8`, ARN(7))
    expect(outcome.rollout.verdict).toMatchObject({ state: "failure", kind: "deployment-failed" })
    expect(outcome.rollback).toMatchObject({ deploymentId: OURS_BACK, verdict: { state: "success" } })
    const updates = server.callsOf("UpdateService").map((c) => c.body.taskDefinition)
    expect(updates).toEqual([`${FAMILY}:8`, ARN(7)])
  })

  it("superseded by someone else's deployment: reported, and their deployment is left alone", async () => {
    // The port reads the service first (is it stopped?), then deploys.
    const serving7 = svc(7, [dep(OLD, "PRIMARY", 7, "COMPLETED", "done", 1)])
    server.script("DescribeServices", serving7, serving7)
    server.script("UpdateService", { service: svc(8, [dep(NEW, "PRIMARY", 8, "IN_PROGRESS", "in progress"), dep(OLD, "ACTIVE", 7, "COMPLETED", "", 1)]).services[0] })
    server.script("DescribeServices", svc(9, [dep("ecs-svc/9", "PRIMARY", 9, "IN_PROGRESS", "ECS deployment ecs-svc/9 in progress."), dep(NEW, "ACTIVE", 8, "IN_PROGRESS", "in progress", 1)]))
    const outcome = await rolloutAndRollBack(await stagingOf(), `${FAMILY}:8`, ARN(7))
    expect(outcome.rollout.verdict).toMatchObject({ state: "failure", kind: "superseded" })
    expect(outcome.rollback).toBeUndefined()
    expect(server.callsOf("UpdateService")).toHaveLength(1)
  })

  it("UpdateService that starts no new deployment is an error, not a silent success", async () => {
    const same = svc(7, [dep(OLD, "PRIMARY", 7, "COMPLETED", "done", 1)])
    server.script("DescribeServices", same)
    server.script("UpdateService", { service: same.services[0] })
    await expect(deployTaskDefinition(ecs, ref, `${FAMILY}:8`)).rejects.toThrow(/no new PRIMARY deployment.*rolling-update \(ECS\)/)
  })

  describe("retries (the SDK's standard strategy)", () => {
    it("ThrottlingException twice, then an answer: the call succeeds after 3 attempts", async () => {
      server.script(
        "DescribeServices",
        { error: "ThrottlingException", message: "Rate exceeded" },
        { error: "ThrottlingException", message: "Rate exceeded" },
        svc(7, [dep(OLD, "PRIMARY", 7, "COMPLETED", "done", 1)]),
      )
      const service = await describeService(ecs, ref)
      expect(service.taskDefinition).toBe(ARN(7))
      const calls = server.callsOf("DescribeServices")
      expect(calls).toHaveLength(3)
      // Backed off, not hammered: the SDK waits between attempts.
      expect(calls[2]!.at - calls[0]!.at).toBeGreaterThan(0)
    })

    it("a 503 ServiceUnavailable is transient and retried too", async () => {
      server.script(
        "DescribeServices",
        { error: "ServiceUnavailableException", message: "try again", status: 503 },
        svc(7, [dep(OLD, "PRIMARY", 7, "COMPLETED", "done", 1)]),
      )
      await expect(describeService(ecs, ref)).resolves.toMatchObject({ serviceName: ref.service })
      expect(server.callsOf("DescribeServices")).toHaveLength(2)
    })

    it("throttled on every attempt: gives up after maxAttempts with an explained error", async () => {
      server.script("DescribeServices", { error: "ThrottlingException", message: "Rate exceeded" })
      const err = (await describeService(ecs, ref).catch((e: unknown) => e)) as EcsError
      expect(err).toBeInstanceOf(EcsError)
      expect(err.code).toBe("ThrottlingException")
      expect(err.message).toMatch(/DescribeServices on service 'portfolio-prod-service' in cluster 'portfolio-prod-cluster' \(us-west-1\) failed \(after 3 attempts\): ThrottlingException: Rate exceeded — ECS kept throttling/)
      expect(server.callsOf("DescribeServices")).toHaveLength(3)
    })

    it("an unreachable endpoint is retried, then explained", async () => {
      const closed = await createEcsClient({
        region: "us-west-1",
        credentials: { accessKeyId: "test", secretAccessKey: "test" },
        endpointUrl: "http://127.0.0.1:9",
        maxAttempts: 2,
      })
      await expect(describeService(closed, ref)).rejects.toThrow(
        /DescribeServices on service 'portfolio-prod-service'.*failed \(after 2 attempts\).*ECONNREFUSED.*staging\.aws\.endpointUrl/,
      )
    })

    it("a non-retryable error (bad credentials) is not retried and names the flags to check", async () => {
      server.script("DescribeServices", { error: "AccessDeniedException", message: "User is not authorized to perform ecs:DescribeServices" })
      await expect(describeService(ecs, ref)).rejects.toThrow(/AccessDeniedException.*--aws-access-key-id/)
      expect(server.callsOf("DescribeServices")).toHaveLength(1)
    })
  })
})
