// The next task definition revision of a deploy, computed from the one the service runs now: same
// family, roles, sizes, ports and logging (all owned by Terraform), only the app container's image and
// its APP_VERSION / APP_COMMIT environment changed. Pure: DescribeTaskDefinition output in, the
// RegisterTaskDefinition input out (types only from the SDK; erased at runtime).
import type { KeyValuePair, RegisterTaskDefinitionRequest, TaskDefinition } from "#aws-sdk/client-ecs"

/** What a deploy changes in the app container. */
export interface TaskDefinitionChange {
  /** Container to update: `staging.names.containerName`. */
  containerName: string
  /** Image reference to run, preferably by digest (repo@sha256:…). */
  image: string
  /** Environment variables to set (replacing same-named ones), e.g. APP_VERSION and APP_COMMIT. */
  environment: Record<string, string>
}

/**
 * Builds the RegisterTaskDefinition request for the next revision. Copies only the fields
 * RegisterTaskDefinition accepts (an allow-list: DescribeTaskDefinition also returns read-only fields
 * such as revision, status, registeredAt and requiresAttributes, which the API rejects).
 */
export function nextTaskDefinition(current: TaskDefinition, change: TaskDefinitionChange): RegisterTaskDefinitionRequest {
  const containers = current.containerDefinitions ?? []
  const target = containers.find((c) => c.name === change.containerName)
  if (!target) {
    throw new Error(
      `task definition ${current.family ?? "?"}:${current.revision ?? "?"} has no container named ` +
        `'${change.containerName}' (it has: ${containers.map((c) => `'${c.name}'`).join(", ") || "none"}). ` +
        "Set staging.names.containerName in ci/pipeline.yaml to the app container's name.",
    )
  }
  if (change.image.trim() === "") {
    throw new Error("Expected an image reference for the new task definition, got an empty string.")
  }
  if (!current.family) throw new Error("DescribeTaskDefinition returned a task definition without a family.")

  const names = new Set(Object.keys(change.environment))
  const environment: KeyValuePair[] = [
    ...(target.environment ?? []).filter((kv) => !names.has(kv.name ?? "")),
    ...Object.entries(change.environment).map(([name, value]) => ({ name, value })),
  ]
  const containerDefinitions = containers.map((c) => (c === target ? { ...c, image: change.image, environment } : c))

  // Optional fields: copied only when set, so the request says exactly what the current revision says.
  const optional = [
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
  ] as const satisfies readonly (keyof RegisterTaskDefinitionRequest & keyof TaskDefinition)[]
  const copied: Partial<RegisterTaskDefinitionRequest> = Object.fromEntries(
    optional
      .map((key) => [key, current[key]] as const)
      .filter(([, value]) => value !== undefined && !(Array.isArray(value) && value.length === 0)),
  )
  return { ...copied, family: current.family, containerDefinitions }
}
