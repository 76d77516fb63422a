// Pure verdicts on ECS DescribeServices output. No SDK, no I/O: a service object in, a verdict out.
//
// Why not "service stable" (the SDK waiter's rule: one deployment and running = desired)? Because after the
// deployment circuit breaker rolls a bad deployment back, the service is stable again — on the OLD task
// definition. The only honest question is "did the deployment *we* started finish?", so the rollout verdict
// is tied to the deployment ID returned by our UpdateService call.
//
// ECS facts this relies on (ECS API reference, `Deployment`):
// - status: PRIMARY = most recent deployment; ACTIVE = older one still running tasks while being replaced;
//   INACTIVE = completely replaced (dropped from DescribeServices).
// - rolloutState (rolling-update "ECS" controller only): IN_PROGRESS → COMPLETED at steady state, or
//   FAILED when the circuit breaker trips. With rollback on, ECS then starts a NEW PRIMARY deployment of the
//   last completed task definition, whose rolloutStateReason reads
//   "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/…"; ours becomes ACTIVE/FAILED and,
//   once drained, disappears from the list.
// - Deployment alarms (deploymentConfiguration.alarms, ECS developer guide "CloudWatch alarms"): when one of
//   the named CloudWatch alarms goes into ALARM during the deployment or its bake time, ECS sets the deployment
//   FAILED and, with rollback on, rolls back the same way. Neither rolloutStateReason nor the events name the
//   alarm: ECS writes the service events "(service S) (deployment ecs-svc/…) deployment failed: alarm
//   detected." and "(service S) rolling back to deployment ecs-svc/…." (as AWS's own Copilot CLI tests quote
//   them). So the verdict takes the alarm names from the service's configuration and, when the adapter read
//   them, which of those CloudWatch reports in ALARM.

/** The fields of an ECS `Deployment` the verdicts read (the SDK's type is assignable to this). */
export interface DeploymentView {
  id?: string
  status?: string
  taskDefinition?: string
  desiredCount?: number
  runningCount?: number
  pendingCount?: number
  failedTasks?: number
  rolloutState?: string
  rolloutStateReason?: string
}

/** The fields of an ECS `Service` the verdicts read (the SDK's type is assignable to this). */
export interface ServiceView {
  serviceName?: string
  status?: string
  desiredCount?: number
  runningCount?: number
  pendingCount?: number
  taskDefinition?: string
  deployments?: DeploymentView[]
  deploymentConfiguration?: { alarms?: { alarmNames?: string[]; enable?: boolean; rollback?: boolean } }
  /** Newest first, as DescribeServices lists them. */
  events?: { message?: string }[]
}

/** What the adapter learned outside DescribeServices: which deployment alarms CloudWatch reports in ALARM. */
export interface AlarmStates {
  /** Names of the service's deployment alarms in state ALARM; undefined when they could not be read. */
  firing?: readonly string[]
}

export type FailureKind =
  /** The service is DRAINING or INACTIVE (deleted, or being deleted). */
  | "service-not-active"
  /** Our deployment reports rolloutState FAILED (circuit breaker tripped, or a deployment alarm with rollback off). */
  | "deployment-failed"
  /** ECS (circuit breaker or a deployment alarm) is rolling, or has rolled, the service back to an earlier deployment. */
  | "rolled-back"
  /** A later deployment replaced ours before it completed (someone else deployed). */
  | "superseded"
  /** The service does not report rollout states (not the rolling-update controller). */
  | "unsupported"
  /** Still pending when the time budget ran out (set by waitForVerdict, never by a verdict function). */
  | "timed-out"

export type Verdict =
  | { state: "success"; detail: string }
  | { state: "pending"; detail: string }
  | {
      state: "failure"
      kind: FailureKind
      detail: string
      rollbackDeploymentId?: string
      /** Set when a deployment alarm failed the deployment: what tripped, and the alarms it names. */
      trigger?: "alarm"
      /** The alarms that fired, or (when that is unknown) every deployment alarm of the service. */
      alarms?: string[]
    }

const ROLLBACK = /circuit breaker|roll(?:ing|ed)? ?back/i

function describeDeployment(d: DeploymentView): string {
  const reason = d.rolloutStateReason ? ` — "${d.rolloutStateReason}"` : ""
  return (
    `${d.id ?? "(no id)"} ${d.status ?? "?"} ${d.rolloutState ?? "(no rolloutState)"} ` +
    `running ${d.runningCount ?? 0}/${d.desiredCount ?? 0}, pending ${d.pendingCount ?? 0}, ` +
    `failed tasks ${d.failedTasks ?? 0}, task definition ${shortTaskDefinition(d.taskDefinition)}${reason}`
  )
}

/** `arn:aws:ecs:…:task-definition/app:7` → `app:7` (what people recognise). */
export function shortTaskDefinition(arn: string | undefined): string {
  if (!arn) return "(none)"
  const slash = arn.lastIndexOf("/")
  return slash >= 0 ? arn.slice(slash + 1) : arn
}

function notActive(service: ServiceView): Verdict | undefined {
  if (service.status === undefined || service.status === "ACTIVE") return undefined
  return {
    state: "failure",
    kind: "service-not-active",
    detail:
      `service '${service.serviceName ?? "?"}' is ${service.status}; expected ACTIVE — ` +
      "was it deleted outside Terraform? Re-create it with the Terraform apply of this pipeline.",
  }
}

/**
 * The alarm side of a failure, when ECS says a deployment alarm failed `deploymentId`: its event naming that
 * deployment, and the alarms to name (those firing, else all the service's deployment alarms).
 */
export function alarmFailure(service: ServiceView, deploymentId: string, states: AlarmStates = {}): { event: string; alarms: string[] } | undefined {
  const event = service.events?.find((e) => (e.message ?? "").includes(deploymentId) && ALARM_FAILED.test(e.message ?? ""))?.message
  if (!event) return undefined
  const configured = service.deploymentConfiguration?.alarms?.alarmNames ?? []
  const firing = (states.firing ?? []).filter((name) => configured.length === 0 || configured.includes(name))
  return { event, alarms: firing.length > 0 ? [...firing] : [...configured] }
}

const ALARM_FAILED = /deployment failed: alarm/i

function describeAlarms(failure: { event: string; alarms: string[] }, states: AlarmStates): string {
  const firing = failure.alarms.length > 0 && failure.alarms.every((a) => states.firing?.includes(a))
  const named =
    failure.alarms.length === 0
      ? "a deployment alarm"
      : firing
        ? `deployment alarm${failure.alarms.length > 1 ? "s" : ""} ${failure.alarms.join(", ")}`
        : `one of the deployment alarms ${failure.alarms.join(", ")} (none is in ALARM now, or their state could not be read)`
  return `${named} went into ALARM (ECS: "${failure.event}")`
}

/**
 * The rollback deployment ECS started: a PRIMARY that is not ours, which says it rolls back — or, after a
 * deployment alarm failed ours with rollback on, whatever PRIMARY ECS put in its place.
 */
function rollbackPrimary(service: ServiceView, ours: string, alarmFailed: boolean): DeploymentView | undefined {
  const primary = service.deployments?.find((d) => d.status === "PRIMARY" && d.id !== ours)
  if (!primary) return undefined
  if (ROLLBACK.test(primary.rolloutStateReason ?? "")) return primary
  return alarmFailed && service.deploymentConfiguration?.alarms?.rollback !== false ? primary : undefined
}

/**
 * Verdict on the rollout of deployment `deploymentId`.
 * - success: that deployment is PRIMARY, rolloutState COMPLETED and running = desired;
 * - failure: it FAILED, the circuit breaker or a deployment alarm rolled it back, another deployment
 *   replaced it, or the service is no longer ACTIVE; `states` (the alarms CloudWatch reports in ALARM)
 *   only sharpens which alarm a deployment alarm's failure names;
 * - pending: anything else (in progress, or completed but still short of running tasks).
 */
export function rolloutVerdict(service: ServiceView, deploymentId: string, states: AlarmStates = {}): Verdict {
  const inactive = notActive(service)
  if (inactive) return inactive
  const alarm = alarmFailure(service, deploymentId, states)
  const verdict = breakerVerdict(service, deploymentId, alarm !== undefined)
  if (!alarm || verdict.state !== "failure") return verdict
  if (verdict.kind !== "rolled-back" && verdict.kind !== "deployment-failed") return { ...verdict, trigger: "alarm", alarms: alarm.alarms }
  // The breaker's words ("circuit breaker") would mislead here: say the alarm did it, and which.
  const rollback = verdict.kind === "rolled-back" ? service.deployments?.find((d) => d.id === verdict.rollbackDeploymentId) : undefined
  const rollbackOff = service.deploymentConfiguration?.alarms?.rollback === false
  return {
    ...verdict,
    trigger: "alarm",
    alarms: alarm.alarms,
    detail:
      `deployment ${deploymentId} failed: ${describeAlarms(alarm, states)}` +
      (rollback
        ? `; ECS rolled back, PRIMARY is now ${describeDeployment(rollback)}`
        : rollbackOff
          ? "; ECS does not roll back (the service's alarms rollback is off)"
          : "; ECS has started no rollback deployment") +
      ". See the alarm's graph in CloudWatch and the diagnostics below for what the new release did wrong.",
  }
}

function breakerVerdict(service: ServiceView, deploymentId: string, alarmFailed: boolean): Verdict {
  const deployments = service.deployments ?? []
  const ours = deployments.find((d) => d.id === deploymentId)
  const rollback = rollbackPrimary(service, deploymentId, alarmFailed)
  const primary = deployments.find((d) => d.status === "PRIMARY")

  if (!ours) {
    // A deployment only leaves the list once fully replaced, so ours lost: tell how.
    if (rollback) {
      return {
        state: "failure",
        kind: "rolled-back",
        rollbackDeploymentId: rollback.id,
        detail:
          `deployment ${deploymentId} was rolled back by the circuit breaker; PRIMARY is now ` +
          describeDeployment(rollback),
      }
    }
    return {
      state: "failure",
      kind: "superseded",
      detail:
        `deployment ${deploymentId} is no longer listed; PRIMARY is ` +
        (primary ? describeDeployment(primary) : "(none)") +
        ". It was replaced: either the circuit breaker rolled it back and finished (see the service " +
        "events), or another deployment started — check who deployed concurrently.",
    }
  }

  if (ours.rolloutState === "FAILED") {
    return {
      state: "failure",
      kind: rollback ? "rolled-back" : "deployment-failed",
      ...(rollback ? { rollbackDeploymentId: rollback.id } : {}),
      detail:
        `deployment ${describeDeployment(ours)}` +
        (rollback ? `; circuit breaker rolling back: ${describeDeployment(rollback)}` : "") +
        ". See the service events and stopped tasks' stoppedReason for the cause.",
    }
  }

  if (ours.status !== "PRIMARY") {
    if (rollback) {
      return {
        state: "failure",
        kind: "rolled-back",
        rollbackDeploymentId: rollback.id,
        detail: `circuit breaker is rolling back deployment ${deploymentId}: ${describeDeployment(rollback)}`,
      }
    }
    return {
      state: "failure",
      kind: "superseded",
      detail:
        `deployment ${deploymentId} is ${ours.status ?? "not PRIMARY"}; a later deployment ` +
        (primary ? describeDeployment(primary) : "") +
        " replaced it — check who deployed concurrently.",
    }
  }

  if (ours.rolloutState === undefined) {
    return {
      state: "failure",
      kind: "unsupported",
      detail:
        `deployment ${deploymentId} has no rolloutState: ECS reports it only for the rolling-update (ECS) ` +
        "deployment controller without a Classic Load Balancer. Use deployment_controller ECS with the " +
        "deployment circuit breaker enabled.",
    }
  }

  if (ours.rolloutState === "COMPLETED" && (ours.runningCount ?? 0) === (ours.desiredCount ?? -1)) {
    return { state: "success", detail: `deployment ${describeDeployment(ours)}` }
  }
  return { state: "pending", detail: `deployment ${describeDeployment(ours)}` }
}

/**
 * Verdict on scaling a service to `desiredCount` (stop = 0, start = N). Scaling creates no deployment, so
 * this reads the service's own counts: success when desired = running = target and nothing is pending.
 * A PRIMARY deployment whose rollout FAILED while starting is a failure, not something to wait out.
 */
export function scaleVerdict(service: ServiceView, desiredCount: number): Verdict {
  const inactive = notActive(service)
  if (inactive) return inactive

  const counts =
    `desired ${service.desiredCount ?? "?"}, running ${service.runningCount ?? "?"}, ` +
    `pending ${service.pendingCount ?? "?"} (target ${desiredCount})`
  const failed = service.deployments?.find((d) => d.status === "PRIMARY" && d.rolloutState === "FAILED")
  if (desiredCount > 0 && failed) {
    return {
      state: "failure",
      kind: "deployment-failed",
      detail: `${counts}; the current deployment failed: ${describeDeployment(failed)}`,
    }
  }
  if (service.desiredCount !== desiredCount) {
    // Right after UpdateService this can be read-after-write lag; if it persists, something else
    // (an autoscaling policy, a concurrent run) owns the count.
    return { state: "pending", detail: `${counts}; desired count not yet ${desiredCount} — is autoscaling overriding it?` }
  }
  if (service.runningCount === desiredCount && (service.pendingCount ?? 0) === 0) {
    return { state: "success", detail: counts }
  }
  return { state: "pending", detail: counts }
}

/**
 * The deployment an UpdateService call started: the PRIMARY deployment in the response that did not exist
 * before the call. `undefined` when none is new (ECS did not start one).
 */
export function newDeploymentId(before: ServiceView, after: ServiceView): string | undefined {
  const known = new Set((before.deployments ?? []).map((d) => d.id))
  return after.deployments?.find((d) => d.status === "PRIMARY" && d.id !== undefined && !known.has(d.id))?.id
}
