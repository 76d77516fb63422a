// A new revision of the production service, as the candidate deploy and the previews both make one: its
// template (the release's image and environment on the service's own first container) and the wait for
// Cloud Run to call it ready. One definition, so a preview is deployed exactly as a release is.
import { CloudRunError } from "./errors.js"
import { getRevision, pollSettings, type CloudRunContext, type Service } from "./operations.js"
import { revisionVerdict } from "./traffic.js"
import { waitForVerdict } from "../shared/wait.js"

type Template = NonNullable<Service["template"]>

/**
 * The service's template for `revision`: `image` on its first container, `env` set over that container's
 * own variables (the rest kept), the other containers untouched. Throws when the service has no container.
 */
export function revisionTemplate(
  current: Service,
  input: { service: string; revision: string; image: string; env: Record<string, string> },
): Template {
  const template = current.template ?? {}
  const [first, ...rest] = template.containers ?? []
  if (!first) {
    throw new CloudRunError("rejected", `service '${input.service}' has no container in its template; re-create it with Terraform (terraform/gcp).`)
  }
  const env = (first.env ?? []).filter((e) => !(e.name && e.name in input.env))
  for (const [name, value] of Object.entries(input.env)) env.push({ name, value })
  return { ...template, revision: input.revision, containers: [{ ...first, image: input.image, env }, ...rest] }
}

/**
 * Waits until Cloud Run calls `revision` ready, within what is left of `budget`. A revision that fails or
 * times out throws, naming it as `what` ("candidate revision", "preview revision") and `unchanged`, what
 * still serves, so the reader knows nothing moved.
 */
export async function requireRevisionReady(
  ctx: CloudRunContext,
  input: { revision: string; what: string; unchanged: string },
  budget: { remainingMs(): number },
  signal: AbortSignal,
): Promise<void> {
  const ready = await waitForVerdict(() => getRevision(ctx, input.revision, signal), revisionVerdict, {
    budgetMs: Math.max(1, budget.remainingMs()),
    intervalMs: pollSettings(ctx).maxDelayMs,
    signal,
  })
  if (ready.verdict.state === "failure") {
    throw new CloudRunError(
      ready.verdict.kind === "timed-out" ? "timed-out" : "revision-failed",
      `${input.what} ${input.revision} is not ready: ${ready.verdict.detail}. ${input.unchanged}`,
      { revision: input.revision },
    )
  }
}
