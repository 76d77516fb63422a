// A pull request's preview on the production service: implements deploy/preview.ts's PreviewPort over the
// v2 clients. Deploy = one read-modify-write (operations.ts updateService) that creates the PR's revision with
// no traffic behind the tag `pr-<number>`; removal = the tag taken off the same way, then the PR's revisions
// deleted. The traffic decisions are preview-traffic.ts's; after each write the split and every tag are read
// back and must be exactly as planned (who serves never changes, no other tag moves).
//
// Every call takes the step's AbortSignal (operations.ts): once it aborts nothing more is sent to Cloud Run.
import type { PreviewDeployment, PreviewPort, PreviewRemoval } from "../deploy/preview.js"
import type { GcpSecrets } from "../config/credentials.js"
import { stepTimeoutMs, type Settings } from "../config/settings.js"
import { timeBudget } from "../shared/wait.js"
import { apiError, CloudRunError } from "./errors.js"
import {
  abortable,
  type CloudRunContext,
  readServiceTraffic,
  requireBudget,
  serviceName,
  type Service,
  toProtoTarget,
  updateService,
  verifyTraffic,
  waitForOperation,
  writable,
} from "./operations.js"
import { planPreviewRemoval, planPreviewTraffic, previewRevisionsToDelete, type PreviewTraffic, tagMismatches } from "./preview-traffic.js"
import { candidateRevisionName, describeTraffic, readTraffic, shortName, validateCandidate } from "./traffic.js"
import { connectProductionContext, randomRevisionSuffix } from "./operations.js"
import { requireRevisionReady, revisionTemplate } from "./revision.js"

export interface PreviewServiceOptions {
  /** Time budget of a deploy (operation and readiness) and of a removal's write, ms. */
  rolloutMs: number
  /** Random suffix for revision names (4 lower-case letters/digits). Default: crypto random. */
  randomSuffix?: () => string
}

export class PreviewService implements PreviewPort {
  private readonly options: Required<PreviewServiceOptions>

  constructor(
    readonly ctx: CloudRunContext,
    options: PreviewServiceOptions,
  ) {
    requireBudget(options.rolloutMs, "deploying or removing a preview")
    this.options = { randomSuffix: randomRevisionSuffix, ...options }
  }

  /**
   * A revision of `image` with no traffic behind `tag` (moved from the PR's earlier revision, if any); the
   * split and every other tag stay as they are. `env` is set on the first container. Waits for readiness.
   */
  async deploy(input: { image: string; tag: string; env: Record<string, string> }, signal: AbortSignal): Promise<PreviewDeployment> {
    const { ctx } = this
    const service = ctx.target.service
    const image = validateCandidate({ service, tag: input.tag, image: input.image })
    const budget = timeBudget(this.options.rolloutMs)
    const revision = candidateRevisionName(service, input.tag, this.options.randomSuffix())
    const doing = `deploying preview revision ${revision} of '${service}'`
    let planned: PreviewTraffic | undefined
    await updateService(ctx, { doing, timeoutMs: this.options.rolloutMs, signal }, (current) => {
      const plan = planPreviewTraffic(readTraffic(current), { tag: input.tag, revision })
      planned = plan
      const next: Service = {
        ...writable(current),
        template: revisionTemplate(current, { service, revision, image, env: input.env }),
        traffic: plan.targets.map(toProtoTarget),
      }
      return { service: next, plan: { targets: plan.targets, expected: plan.expected, notices: plan.notices }, revision }
    })
    await requireRevisionReady(ctx, { revision, what: "preview revision", unchanged: "Production traffic was not changed." }, budget, signal)
    const reading = await this.verify(doing, planned!, signal)
    const uri = reading.tags.find((t) => t.tag === input.tag)?.uri
    if (!uri) {
      throw new CloudRunError("traffic-mismatch", `after ${doing}, tag '${input.tag}' has no URL; check the service's traffic in the console.`, { revision })
    }
    return { revision, url: uri, image, notices: planned!.notices }
  }

  /**
   * Takes `tag` off (split and other tags unchanged), then deletes the PR's revisions that neither hold
   * traffic nor carry a tag. Harmless to repeat: a missing tag writes nothing, deleted revisions are gone.
   */
  async remove(input: { tag: string; pr: number }, signal: AbortSignal): Promise<PreviewRemoval> {
    const { ctx } = this
    const doing = `removing tag '${input.tag}' from '${ctx.target.service}'`
    let planned: PreviewTraffic | undefined
    const before = await readServiceTraffic(ctx, undefined, signal)
    const tagRemoved = before.tags.some((t) => t.tag === input.tag)
    if (tagRemoved) {
      await updateService(ctx, { doing, timeoutMs: this.options.rolloutMs, signal }, (current) => {
        // Re-planned on every attempt; a tag gone meanwhile (another removal) leaves the traffic as it is.
        const reading = readTraffic(current)
        planned = planPreviewRemoval(reading, input.tag) ?? {
          targets: [],
          expected: new Map(reading.holders.map((h) => [h.revision, h.percent])),
          tags: new Map(reading.tags.map((t) => [t.tag, t.revision])),
          notices: [],
        }
        const traffic = planned.targets.length > 0 ? planned.targets.map(toProtoTarget) : current.traffic
        return { service: { ...writable(current), traffic }, plan: { targets: planned.targets, expected: planned.expected, notices: [] } }
      })
    }
    const reading = planned ? await this.verify(doing, planned, signal) : before
    const names = await this.revisionNames(signal)
    const { remove, keep } = previewRevisionsToDelete(reading, { service: ctx.target.service, pr: input.pr, revisions: names })
    for (const revision of remove) await this.deleteRevision(revision, signal)
    return { tagRemoved, deleted: remove, kept: keep.map((k) => `${k.revision} (${k.why})`), traffic: describeTraffic(reading) }
  }

  /** Reads traffic back: the split must be what it was, the tags exactly as planned. */
  private verify(doing: string, plan: PreviewTraffic, signal: AbortSignal) {
    return verifyTraffic(this.ctx, doing, plan, undefined, signal, (reading) => tagMismatches(reading, plan.tags))
  }

  private async revisionNames(signal: AbortSignal): Promise<string[]> {
    try {
      const [revisions] = await abortable(this.ctx.clients.revisions.listRevisions({ parent: serviceName(this.ctx.target) }), signal)
      return revisions.map((r) => shortName(r.name)).filter((n): n is string => n !== undefined)
    } catch (err) {
      if (signal.aborted) throw signal.reason
      throw apiError(`listing the revisions of '${this.ctx.target.service}'`, err)
    }
  }

  private async deleteRevision(revision: string, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    const doing = `deleting preview revision ${revision}`
    try {
      const [op] = await abortable(this.ctx.clients.revisions.deleteRevision({ name: `${serviceName(this.ctx.target)}/revisions/${revision}` }), signal)
      await waitForOperation(this.ctx, op, this.options.rolloutMs, signal)
    } catch (err) {
      if (signal.aborted) throw signal.reason
      throw apiError(doing, err, revision)
    }
  }

  close(): Promise<void> {
    return this.ctx.clients.close()
  }
}

/** The preview side of the production service of ci/pipeline.yaml, with the rollout budget. Close it when done. */
export async function connectPreviewService(settings: Settings, secrets: GcpSecrets): Promise<PreviewService> {
  return new PreviewService(await connectProductionContext(settings, secrets), { rolloutMs: stepTimeoutMs(settings, "rollout") })
}
