// ECS operations the pipeline needs: scale (stop/start staging), register and deploy a task definition,
// verify its rollout by deployment ID. A thin imperative shell: every decision is a pure function in
// rollout-verdict.ts, every wait goes through shared/wait.ts; the client and its errors are ecs-client.ts.
import type { ECSClient, Service, TaskDefinition } from "#aws-sdk/client-ecs"
import { EcsError, explain, loadEcsSdk, missingServiceFix, where, type EcsServiceRef } from "./ecs-client.js"
import { newDeploymentId, rolloutVerdict, scaleVerdict, shortTaskDefinition, type Verdict } from "./rollout-verdict.js"
import { nextTaskDefinition, type TaskDefinitionChange } from "./task-definition.js"
import { waitForVerdict, type WaitOptions } from "../shared/wait.js"
import { releaseFromEnvironment, type ServingRelease } from "../deploy/release-order.js"

/** Tag that remembers the desired count a service had before `stopService` scaled it to 0. */
export const PREVIOUS_DESIRED_COUNT_TAG = "pipeline:previous-desired-count"

/**
 * Reads one service. Throws EcsError when the cluster or service does not exist, and — with
 * `requireActive` (default true) — when the service is DRAINING or INACTIVE.
 */
export async function describeService(
  ecs: ECSClient,
  ref: EcsServiceRef,
  options: { tags?: boolean; requireActive?: boolean; signal?: AbortSignal } = {},
): Promise<Service> {
  const { DescribeServicesCommand } = await loadEcsSdk()
  let out
  try {
    options.signal?.throwIfAborted()
    out = await ecs.send(
      new DescribeServicesCommand({
        cluster: ref.cluster,
        services: [ref.service],
        ...(options.tags ? { include: ["TAGS"] } : {}),
      }),
      { abortSignal: options.signal },
    )
  } catch (err) {
    throw await explain(err, "DescribeServices", ref, ecs, options.signal)
  }
  const service = out.services?.find((s) => s.serviceName === ref.service || s.serviceArn?.endsWith(`/${ref.service}`))
  if (!service) {
    const failure = out.failures?.[0]
    throw new EcsError(
      `${await where(ref, ecs)} was not found (${failure?.reason ?? "no such service"}): ${missingServiceFix(ref)}`,
      failure?.reason,
    )
  }
  if ((options.requireActive ?? true) && service.status !== "ACTIVE") {
    throw new EcsError(
      `${await where(ref, ecs)} is ${service.status}; expected ACTIVE — was it deleted outside Terraform? ` +
        "Re-create it by applying the staging Terraform (deploy-staging).",
      "ServiceNotActive",
    )
  }
  return service
}

/** How waits are tuned; see WaitOptions. `budgetMs` is required. */
export type EcsWaitOptions = WaitOptions

/** The outcome of a scale operation (stop, start, or a plain scale). */
export interface ScaleOutcome {
  ref: EcsServiceRef
  region: string
  /** Desired count before this call. */
  previousDesiredCount: number
  /** Desired count requested. */
  desiredCount: number
  /** Running tasks at the verdict. */
  runningCount: number
  verdict: Exclude<Verdict, { state: "pending" }>
  polls: number
  elapsedMs: number
}

/**
 * Sets the desired count and waits until the service's running count matches (scaleVerdict). Does not
 * touch tags; see stopService / startService.
 */
export async function scaleService(
  ecs: ECSClient,
  ref: EcsServiceRef,
  desiredCount: number,
  wait: EcsWaitOptions,
  previous?: Service,
): Promise<ScaleOutcome> {
  if (!Number.isInteger(desiredCount) || desiredCount < 0) {
    throw new EcsError(`Expected the desired count to be a non-negative integer, got ${desiredCount}.`)
  }
  const { signal } = wait
  const before = previous ?? (await describeService(ecs, ref, { signal }))
  const { UpdateServiceCommand } = await loadEcsSdk()
  try {
    signal?.throwIfAborted()
    await ecs.send(new UpdateServiceCommand({ cluster: ref.cluster, service: ref.service, desiredCount }), { abortSignal: signal })
  } catch (err) {
    throw await explain(err, "UpdateService", ref, ecs, signal)
  }
  const result = await waitForVerdict(
    () => describeService(ecs, ref, { requireActive: false, signal }),
    (service) => scaleVerdict(service, desiredCount),
    wait,
  )
  return {
    ref,
    region: await ecs.config.region(),
    previousDesiredCount: before.desiredCount ?? 0,
    desiredCount,
    runningCount: result.last.runningCount ?? 0,
    verdict: result.verdict,
    polls: result.polls,
    elapsedMs: result.elapsedMs,
  }
}

/** The desired count remembered by the tag, or undefined; throws when the tag holds garbage. */
export function rememberedDesiredCount(service: Service): number | undefined {
  const tag = service.tags?.find((t) => t.key === PREVIOUS_DESIRED_COUNT_TAG)
  if (tag?.value === undefined) return undefined
  if (!/^\d{1,4}$/.test(tag.value)) {
    throw new EcsError(
      `tag ${PREVIOUS_DESIRED_COUNT_TAG} on service '${service.serviceName}' holds '${tag.value}'; expected a ` +
        "desired count like '1'. Fix or delete the tag (aws ecs untag-resource), then run again.",
    )
  }
  return Number(tag.value)
}

/**
 * Scales a service to 0 and waits until no task runs. Before scaling, records the current desired count
 * in the PREVIOUS_DESIRED_COUNT_TAG tag so startService can restore it. Already at 0: the tag from the
 * earlier stop is kept (stopping twice must not forget the count).
 */
export async function stopService(ecs: ECSClient, ref: EcsServiceRef, wait: EcsWaitOptions): Promise<ScaleOutcome> {
  const { signal } = wait
  const before = await describeService(ecs, ref, { tags: true, signal })
  const current = before.desiredCount ?? 0
  if (current > 0) {
    const { TagResourceCommand } = await loadEcsSdk()
    try {
      // Tag first: if the scale-down fails half-way, the count to restore is already recorded.
      signal?.throwIfAborted()
      await ecs.send(
        new TagResourceCommand({
          resourceArn: before.serviceArn,
          tags: [{ key: PREVIOUS_DESIRED_COUNT_TAG, value: String(current) }],
        }),
        { abortSignal: signal },
      )
    } catch (err) {
      throw await explain(err, "TagResource", ref, ecs, signal)
    }
  }
  return scaleService(ecs, ref, 0, wait, before)
}

/**
 * Scales a service back up and waits until the tasks run: to the count remembered by stopService, else to
 * `fallbackDesiredCount` when the service is at 0, else it stays at its current count. Removes the tag
 * once the service runs again.
 */
export async function startService(
  ecs: ECSClient,
  ref: EcsServiceRef,
  options: { fallbackDesiredCount: number; wait: EcsWaitOptions },
): Promise<ScaleOutcome> {
  const { signal } = options.wait
  const before = await describeService(ecs, ref, { tags: true, signal })
  const remembered = rememberedDesiredCount(before)
  const current = before.desiredCount ?? 0
  const target = remembered ?? (current > 0 ? current : options.fallbackDesiredCount)
  const outcome = await scaleService(ecs, ref, target, options.wait, before)
  if (outcome.verdict.state === "success" && remembered !== undefined) {
    const { UntagResourceCommand } = await loadEcsSdk()
    try {
      signal?.throwIfAborted()
      await ecs.send(new UntagResourceCommand({ resourceArn: before.serviceArn, tagKeys: [PREVIOUS_DESIRED_COUNT_TAG] }), {
        abortSignal: signal,
      })
    } catch (err) {
      throw await explain(err, "UntagResource", ref, ecs, signal)
    }
  }
  return outcome
}

/** The release a task definition runs, read from its app container's APP_VERSION / APP_COMMIT / APP_COMMIT_TIME. */
export interface TaskRelease {
  version: string
  commit: string
  /** The commit's committer time, when the deploy that registered the revision knew it (release-order.ts). */
  commitTime?: string
}

/** A task definition revision registered for a deploy. */
export interface RegisteredTaskDefinition {
  /** ARN of the new revision (what deployTaskDefinition takes). */
  taskDefinitionArn: string
  /** ARN of the revision the service ran before (the rollback target). */
  previousTaskDefinitionArn: string
  /**
   * The release the previous revision runs, when its app container names one: what a rollback must be
   * seen serving. Absent for a revision that does not (e.g. Terraform's template revision).
   */
  previousRelease?: TaskRelease
}

/** Reads one task definition (family:revision or ARN). */
export async function describeTaskDefinition(
  ecs: ECSClient,
  ref: EcsServiceRef,
  taskDefinition: string,
  signal?: AbortSignal,
): Promise<TaskDefinition> {
  const { DescribeTaskDefinitionCommand } = await loadEcsSdk()
  let found
  try {
    signal?.throwIfAborted()
    found = (await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition }), { abortSignal: signal })).taskDefinition
  } catch (err) {
    throw await explain(err, "DescribeTaskDefinition", ref, ecs, signal)
  }
  if (!found) throw new EcsError(`DescribeTaskDefinition returned nothing for ${taskDefinition}.`)
  return found
}

/** The release `containerName` of a task definition runs, or undefined when it names no version and commit. */
export function taskRelease(td: TaskDefinition, containerName: string): TaskRelease | undefined {
  const env = td.containerDefinitions?.find((c) => c.name === containerName)?.environment ?? []
  const { version, commit, commitTime } = releaseFromEnvironment("", env)
  return version && commit ? { version, commit, ...(commitTime ? { commitTime } : {}) } : undefined
}

/** What DescribeServices says when there is no service (yet): a missing cluster or service. */
const NO_SERVICE = new Set(["ClusterNotFoundException", "ServiceNotFoundException", "MISSING"])

/**
 * The release the service runs now: its current task definition's `containerName` environment, named
 * "task definition family:revision". Undefined when there is no ACTIVE service yet (before the first
 * apply, or deleted). Read-only.
 */
export async function servingRelease(
  ecs: ECSClient,
  ref: EcsServiceRef,
  containerName: string,
  signal?: AbortSignal,
): Promise<ServingRelease | undefined> {
  let service: Service
  try {
    service = await describeService(ecs, ref, { requireActive: false, signal })
  } catch (err) {
    if (err instanceof EcsError && err.code !== undefined && NO_SERVICE.has(err.code)) return undefined
    throw err
  }
  if (service.status !== "ACTIVE" || !service.taskDefinition) return undefined
  const td = await describeTaskDefinition(ecs, ref, service.taskDefinition, signal)
  const env = td.containerDefinitions?.find((c) => c.name === containerName)?.environment ?? []
  return releaseFromEnvironment(`task definition ${shortTaskDefinition(td.taskDefinitionArn ?? service.taskDefinition)}`, env)
}

/**
 * Registers the next revision of the service's current task definition with the app container's image
 * and environment changed (nextTaskDefinition); everything else stays as Terraform made it.
 */
export async function registerTaskDefinitionRevision(
  ecs: ECSClient,
  ref: EcsServiceRef,
  change: TaskDefinitionChange,
  signal?: AbortSignal,
): Promise<RegisteredTaskDefinition> {
  const service = await describeService(ecs, ref, { signal })
  const previous = service.taskDefinition
  if (!previous) throw new EcsError(`${await where(ref, ecs)} has no task definition to derive the next revision from.`)
  const current = await describeTaskDefinition(ecs, ref, previous, signal)
  const { RegisterTaskDefinitionCommand } = await loadEcsSdk()
  let registered
  try {
    signal?.throwIfAborted()
    registered = (await ecs.send(new RegisterTaskDefinitionCommand(nextTaskDefinition(current, change)), { abortSignal: signal }))
      .taskDefinition
  } catch (err) {
    throw await explain(err, "RegisterTaskDefinition", ref, ecs, signal)
  }
  if (!registered?.taskDefinitionArn) throw new EcsError(`RegisterTaskDefinition returned no ARN for family ${current.family}.`)
  const previousRelease = taskRelease(current, change.containerName)
  return {
    taskDefinitionArn: registered.taskDefinitionArn,
    previousTaskDefinitionArn: current.taskDefinitionArn ?? previous,
    ...(previousRelease ? { previousRelease } : {}),
  }
}

/** A deployment this pipeline started. */
export interface StartedDeployment {
  ref: EcsServiceRef
  /** The ECS deployment ID (ecs-svc/…) the verdict is tied to. */
  deploymentId: string
  /** Task definition deployed (as requested: ARN or family:revision). */
  taskDefinition: string
  /** Task definition the service ran before, for rollback. */
  previousTaskDefinition: string
}

/**
 * Points the service at `taskDefinition` and returns the ID of the deployment ECS started for it.
 * `forceNewDeployment` is set so that re-deploying the same revision also yields a deployment to verify.
 */
export async function deployTaskDefinition(
  ecs: ECSClient,
  ref: EcsServiceRef,
  taskDefinition: string,
  signal?: AbortSignal,
): Promise<StartedDeployment> {
  if (taskDefinition.trim() === "") {
    throw new EcsError("Expected a task definition (family:revision or ARN), got an empty string.")
  }
  const before = await describeService(ecs, ref, { signal })
  const { UpdateServiceCommand } = await loadEcsSdk()
  let after: Service | undefined
  try {
    signal?.throwIfAborted()
    after = (
      await ecs.send(
        new UpdateServiceCommand({ cluster: ref.cluster, service: ref.service, taskDefinition, forceNewDeployment: true }),
        { abortSignal: signal },
      )
    ).service
  } catch (err) {
    throw await explain(err, "UpdateService", ref, ecs, signal)
  }
  const deploymentId = after ? newDeploymentId(before, after) : undefined
  if (!deploymentId) {
    throw new EcsError(
      `ECS accepted the update of ${await where(ref, ecs)} to ${shortTaskDefinition(taskDefinition)} but listed ` +
        `no new PRIMARY deployment (deployments: ${JSON.stringify(after?.deployments?.map((d) => d.id) ?? [])}). ` +
        "The service must use the rolling-update (ECS) deployment controller.",
    )
  }
  return { ref, deploymentId, taskDefinition, previousTaskDefinition: before.taskDefinition ?? "" }
}

/** The outcome of waiting for one deployment. */
export interface RolloutOutcome {
  deploymentId: string
  verdict: Exclude<Verdict, { state: "pending" }>
  polls: number
  elapsedMs: number
  /** Task definition of the service at the verdict. */
  taskDefinition: string
}

/**
 * Which of the named CloudWatch alarms are in ALARM; undefined when that cannot be read. Never throws for a
 * failed read: the verdict is already known, this only sharpens which alarm it names.
 */
export type FiringAlarms = (names: readonly string[], signal?: AbortSignal) => Promise<string[] | undefined>

/**
 * Waits for the verdict on `deploymentId` (rolloutVerdict): tied to that deployment, not to "stable". When a
 * deployment alarm failed it, `firingAlarms` (if given) tells which of the service's alarms fired.
 */
export async function waitForRollout(
  ecs: ECSClient,
  ref: EcsServiceRef,
  deploymentId: string,
  wait: EcsWaitOptions,
  firingAlarms?: FiringAlarms,
): Promise<RolloutOutcome> {
  const result = await waitForVerdict(
    () => describeService(ecs, ref, { requireActive: false, signal: wait.signal }),
    (service) => rolloutVerdict(service, deploymentId),
    wait,
  )
  let verdict = result.verdict
  if (verdict.state === "failure" && verdict.trigger === "alarm" && verdict.alarms?.length && firingAlarms) {
    const firing = await firingAlarms(verdict.alarms, wait.signal)
    const named = rolloutVerdict(result.last, deploymentId, { ...(firing ? { firing } : {}) })
    if (named.state === "failure") verdict = named
  }
  return {
    deploymentId,
    verdict,
    polls: result.polls,
    elapsedMs: result.elapsedMs,
    taskDefinition: result.last.taskDefinition ?? "",
  }
}
