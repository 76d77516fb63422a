// The staging service's deployment alarms as CloudWatch reports them: which of them are in ALARM, so a
// rollout verdict names the alarm that failed the deployment (ECS's own texts do not). One DescribeAlarms
// through signed-api.ts; the alarms themselves are Terraform's (terraform/modules/aws-ecs-service/alarms.tf).
import { at, list, queryApi, text, type AwsTarget } from "./signed-api.js"

/** One deployment alarm and its state (OK, ALARM, INSUFFICIENT_DATA) with CloudWatch's reason. */
export interface AlarmState {
  name: string
  state: string
  reason?: string
}

/** DescribeAlarms takes at most 100 names per call; a service names a handful. */
const MAX_NAMES = 100

/** The states of the named metric alarms (unknown names are left out). Throws AwsApiError when the call fails. */
export async function describeAlarmStates(target: AwsTarget, names: readonly string[], signal?: AbortSignal): Promise<AlarmState[]> {
  if (names.length === 0) return []
  signal?.throwIfAborted()
  const params = Object.fromEntries(names.slice(0, MAX_NAMES).map((name, i) => [`AlarmNames.member.${i + 1}`, name]))
  const answer = await queryApi(target, "monitoring", "DescribeAlarms", params)
  return list(at(answer, "DescribeAlarmsResult", "MetricAlarms", "member")).flatMap((a) => {
    const name = text(at(a, "AlarmName"))
    const reason = text(at(a, "StateReason"))
    return name ? [{ name, state: text(at(a, "StateValue")) ?? "?", ...(reason ? { reason } : {}) }] : []
  })
}

/**
 * The named alarms CloudWatch reports in ALARM; undefined when they cannot be read (no access, network),
 * since this only sharpens a verdict that is already known and must never replace it with an error.
 */
export async function firingAlarms(target: AwsTarget, names: readonly string[], signal?: AbortSignal): Promise<string[] | undefined> {
  try {
    return (await describeAlarmStates(target, names, signal)).filter((a) => a.state === "ALARM").map((a) => a.name)
  } catch (err) {
    if (signal?.aborted) throw signal.reason
    return undefined
  }
}
