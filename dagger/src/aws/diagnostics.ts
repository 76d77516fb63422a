// What an operator needs after a failed staging deploy, read from ECS and the load balancer: the service's
// last events, each recently stopped task's stoppedReason with its containers' exit codes and reasons (and a
// console link to the task's CloudWatch Logs stream), and the target group's unhealthy targets with ELB's
// reason. Read-only and bounded (the last few of each); each part that cannot be read becomes one line
// saying so, so one missing permission does not hide the rest. deploy/diagnostics.ts runs it under its budget.
import type { Service, Task, TaskDefinition } from "#aws-sdk/client-ecs"
import type { Diagnostic } from "../report/run-record.js"
import { firstLine, oneLine } from "../shared/text.js"
import { describeService, describeTaskDefinition } from "./ecs.js"
import { explain, loadEcsSdk, type ECSClient, type EcsServiceRef } from "./ecs-client.js"
import { at, list, queryApi, text, type AwsTarget } from "./signed-api.js"

/** How much is gathered: enough to act on, small enough for a job summary. */
export interface DiagnosticLimits {
  /** Service events, newest first. */
  events: number
  /** Stopped tasks of the service, most recently stopped first. */
  stoppedTasks: number
  /** Unhealthy targets listed per target group. */
  targets: number
}

export const DIAGNOSTIC_LIMITS: DiagnosticLimits = { events: 8, stoppedTasks: 3, targets: 10 }

/** Stopped tasks asked about per call: ECS keeps them about an hour, a failed deploy leaves a handful. */
const MAX_LISTED_TASKS = 20

export interface EcsDiagnosticsTarget {
  ecs: ECSClient
  ref: EcsServiceRef
  /** Region, credentials and emulator endpoint for the ELBv2 calls (signed-api.ts). */
  api: AwsTarget
}

/** The ECS diagnostics of the staging service; never rejects for a read that failed (that becomes a line). */
export async function diagnoseEcsService(t: EcsDiagnosticsTarget, signal: AbortSignal, limits: DiagnosticLimits = DIAGNOSTIC_LIMITS): Promise<Diagnostic[]> {
  let service: Service
  try {
    service = await describeService(t.ecs, t.ref, { requireActive: false, signal })
  } catch (err) {
    if (signal.aborted) throw signal.reason
    return [unreadable(`service ${t.ref.service}`, err)]
  }
  const [tasks, targets] = await Promise.all([stoppedTasks(t, service, signal, limits), unhealthyTargets(t, service, signal, limits)])
  return [serviceEvents(t, service, limits), ...tasks, ...targets]
}

function serviceEvents(t: EcsDiagnosticsTarget, service: Service, limits: DiagnosticLimits): Diagnostic {
  const events = (service.events ?? []).slice(0, limits.events)
  return {
    source: "ecs",
    title: `service ${t.ref.service}: last ${events.length} event${events.length === 1 ? "" : "s"}`,
    lines: events.map((e) => line(`${e.createdAt ? e.createdAt.toISOString() : "?"} ${e.message ?? ""}`)),
    links: [{ label: "service events (ECS console)", url: ecsServiceUrl(t.api.region, t.ref) }],
  }
}

// --- Stopped tasks ---------------------------------------------------------------------------------

async function stoppedTasks(t: EcsDiagnosticsTarget, service: Service, signal: AbortSignal, limits: DiagnosticLimits): Promise<Diagnostic[]> {
  let tasks: Task[]
  try {
    tasks = await listStoppedTasks(t, signal)
  } catch (err) {
    if (signal.aborted) throw signal.reason
    return [unreadable(`stopped tasks of ${t.ref.service}`, err)]
  }
  // A service's tasks are in the group "service:<name>"; anything else in the cluster is someone else's.
  const ours = tasks
    .filter((task) => task.group === `service:${service.serviceName ?? t.ref.service}`)
    .sort((a, b) => stopTime(b) - stopTime(a))
    .slice(0, limits.stoppedTasks)
  if (ours.length === 0) return []
  const definitions = new Map<string, Promise<TaskDefinition | undefined>>()
  const definition = (arn: string | undefined) => {
    if (!arn) return Promise.resolve(undefined)
    if (!definitions.has(arn)) definitions.set(arn, describeTaskDefinition(t.ecs, t.ref, arn, signal).catch(() => undefined))
    return definitions.get(arn)!
  }
  return Promise.all(ours.map(async (task) => stoppedTask(t, task, await definition(task.taskDefinitionArn))))
}

async function listStoppedTasks(t: EcsDiagnosticsTarget, signal: AbortSignal): Promise<Task[]> {
  const { ListTasksCommand, DescribeTasksCommand } = await loadEcsSdk()
  try {
    signal.throwIfAborted()
    const listed = await t.ecs.send(
      new ListTasksCommand({ cluster: t.ref.cluster, serviceName: t.ref.service, desiredStatus: "STOPPED", maxResults: MAX_LISTED_TASKS }),
      { abortSignal: signal },
    )
    const arns = listed.taskArns ?? []
    if (arns.length === 0) return []
    signal.throwIfAborted()
    return (await t.ecs.send(new DescribeTasksCommand({ cluster: t.ref.cluster, tasks: arns }), { abortSignal: signal })).tasks ?? []
  } catch (err) {
    throw await explain(err, "ListTasks/DescribeTasks", t.ref, t.ecs, signal)
  }
}

function stopTime(task: Task): number {
  return (task.stoppedAt ?? task.stoppingAt ?? task.createdAt)?.getTime() ?? 0
}

function stoppedTask(t: EcsDiagnosticsTarget, task: Task, td: TaskDefinition | undefined): Diagnostic {
  const id = taskId(task.taskArn)
  const lines = [
    `task definition ${shortArn(task.taskDefinitionArn)}${task.stopCode ? `, stop code ${task.stopCode}` : ""}${task.stoppedAt ? `, stopped ${task.stoppedAt.toISOString()}` : ""}`,
    ...(task.containers ?? []).map((c) => {
      const exit = c.exitCode === undefined ? "no exit code" : `exit code ${c.exitCode}`
      return line(`container ${c.name ?? "?"}: ${c.lastStatus ?? "?"}, ${exit}${c.reason ? ` — ${c.reason}` : ""}`)
    }),
  ]
  const links = (td?.containerDefinitions ?? []).flatMap((c) => {
    const stream = logStream(c, id)
    return stream ? [{ label: `logs of ${c.name} in task ${id.slice(0, 12)} (CloudWatch)`, url: logStreamUrl(stream.region ?? t.api.region, stream.group, stream.name) }] : []
  })
  return {
    source: "ecs",
    title: line(`task ${id.slice(0, 12)} stopped: ${task.stoppedReason || "(ECS gave no reason)"}`),
    lines,
    ...(links.length > 0 ? { links } : {}),
  }
}

/**
 * Where the awslogs driver writes a container's output: group `awslogs-group`, stream
 * `<awslogs-stream-prefix>/<container name>/<task id>` (the driver's documented naming). Undefined for
 * another driver or without a prefix (the stream is then named by the container's ID, unknown here).
 */
export function logStream(
  container: { name?: string; logConfiguration?: { logDriver?: string; options?: Record<string, string> } },
  taskId: string,
): { group: string; name: string; region?: string } | undefined {
  const log = container.logConfiguration
  const group = log?.options?.["awslogs-group"]
  const prefix = log?.options?.["awslogs-stream-prefix"]
  if (log?.logDriver !== "awslogs" || !group || !prefix || !container.name) return undefined
  const region = log.options?.["awslogs-region"]
  return { group, name: `${prefix}/${container.name}/${taskId}`, ...(region ? { region } : {}) }
}

// --- Target health ---------------------------------------------------------------------------------

async function unhealthyTargets(t: EcsDiagnosticsTarget, service: Service, signal: AbortSignal, limits: DiagnosticLimits): Promise<Diagnostic[]> {
  const groups = [...new Set((service.loadBalancers ?? []).map((lb) => lb.targetGroupArn).filter((arn): arn is string => !!arn))]
  return Promise.all(groups.map((arn) => targetGroupHealth(t, arn, signal, limits)))
}

async function targetGroupHealth(t: EcsDiagnosticsTarget, arn: string, signal: AbortSignal, limits: DiagnosticLimits): Promise<Diagnostic> {
  const name = arn.split("/").at(-2) ?? arn
  let targets: { id: string; port?: string; state: string; reason?: string; description?: string }[]
  try {
    signal.throwIfAborted()
    const answer = await queryApi(t.api, "elasticloadbalancing", "DescribeTargetHealth", { TargetGroupArn: arn })
    targets = list(at(answer, "DescribeTargetHealthResult", "TargetHealthDescriptions", "member")).map((d) => {
      const port = text(at(d, "Target", "Port"))
      const reason = text(at(d, "TargetHealth", "Reason"))
      const description = text(at(d, "TargetHealth", "Description"))
      return {
        id: text(at(d, "Target", "Id")) ?? "?",
        state: text(at(d, "TargetHealth", "State")) ?? "?",
        ...(port ? { port } : {}),
        ...(reason ? { reason } : {}),
        ...(description ? { description } : {}),
      }
    })
  } catch (err) {
    if (signal.aborted) throw signal.reason
    return unreadable(`target health of ${name}`, err)
  }
  const unhealthy = targets.filter((x) => x.state !== "healthy")
  const title =
    targets.length === 0
      ? `target group ${name}: no target registered (no task passed into the load balancer)`
      : `target group ${name}: ${unhealthy.length} of ${targets.length} target${targets.length === 1 ? "" : "s"} not healthy`
  return {
    source: "ecs",
    title,
    lines: unhealthy
      .slice(0, limits.targets)
      .map((x) => line(`${x.id}${x.port ? `:${x.port}` : ""} ${x.state}${x.reason ? ` (${x.reason})` : ""}${x.description ? `: ${x.description}` : ""}`)),
  }
}

// --- Small helpers ---------------------------------------------------------------------------------

function unreadable(what: string, err: unknown): Diagnostic {
  return { source: "ecs", title: `${what} could not be read`, lines: [line(firstLine(err))] }
}

// Lines stay uncut: the report cuts them after scrubbing secrets (a cut made first could keep a secret's prefix).
function line(s: string): string {
  return oneLine(s)
}

function taskId(arn: string | undefined): string {
  return arn?.split("/").at(-1) ?? "?"
}

function shortArn(arn: string | undefined): string {
  return arn?.split("/").at(-1) ?? "(unknown)"
}

function consoleHost(region: string): string {
  return region.startsWith("cn-") ? `${region}.console.amazonaws.cn` : `${region}.console.aws.amazon.com`
}

/** The CloudWatch console's address of one log stream (its fragment escapes '%' as '$25'). */
export function logStreamUrl(region: string, group: string, stream: string): string {
  const part = (s: string) => encodeURIComponent(s).replace(/%/g, "$25")
  return `https://${consoleHost(region)}/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${part(group)}/log-events/${part(stream)}`
}

function ecsServiceUrl(region: string, ref: EcsServiceRef): string {
  return `https://${consoleHost(region)}/ecs/v2/clusters/${encodeURIComponent(ref.cluster)}/services/${encodeURIComponent(ref.service)}/events?region=${region}`
}
