// deploy-preview and remove-preview: a pull request's release on the production Cloud Run service with no
// traffic, behind the tag `pr-<number>`. The sequence is deploy-production's first half: build → tests ∥
// scan ∥ SBOM → publish to Artifact Registry by digest (checkAndPublish, the same release port), then the
// PR's revision at 0 % (a new push moves the tag to a new revision) and a health check on the tag URL
// requiring the PR's version and commit. Nothing here changes who serves production or any other tag
// (gcp/preview-traffic.ts decides, gcp/preview.ts reads everything back). No Terraform, no staging stop,
// no canary, no notification: a preview is the PR's business.
import { func, object, type Directory } from "@dagger.io/dagger"
import { requireGcpSecrets, presentSecrets, type SecretArgs } from "../config/credentials.js"
import { loadSettings, type Settings } from "../config/settings.js"
import { gcpNames } from "../terraform/stacks.js"
import { validatePreviewTag } from "../gcp/preview-traffic.js"
import { connectPreviewService } from "../gcp/preview.js"
import { finishRun, startRun, type Clock, type RunRecord, systemClock } from "../report/run-record.js"
import { redact } from "../shared/redact.js"
import { whileInterruptible } from "../shared/interrupt.js"
import { oneLine } from "../shared/text.js"
import { requireCommit, resolveVersion } from "../supply-chain/image-ref.js"
import { artifactRegistryTarget } from "../supply-chain/publish.js"
import type { HealthPort, ReleasePort } from "./ports.js"
import { releaseEnvironment } from "./release-order.js"
import { startSteps, stepDetail } from "./step-runner.js"
import { checkAndPublish, requireHealthy } from "./steps.js"
import { healthPort, releasePort } from "./wiring.js"

/** The PR's revision as Cloud Run reports it after the deploy. */
export interface PreviewDeployment {
  revision: string
  /** The tag URL: reaches only this revision. */
  url: string
  image: string
  notices: string[]
}

/** What a removal did. */
export interface PreviewRemoval {
  /** False when the tag was not there (already removed, or never deployed). */
  tagRemoved: boolean
  deleted: string[]
  /** The PR's revisions left in place, each with why (traffic or a tag someone put on it). */
  kept: string[]
  /** Who serves, as read after the removal (unchanged). */
  traffic: string
}

/** The preview's side of Cloud Run (gcp/preview.ts). */
export interface PreviewPort {
  /** A revision of `image` at 0 % behind `tag`; the split and every other tag unchanged, read back. */
  deploy(input: { image: string; tag: string; env: Record<string, string> }, signal: AbortSignal): Promise<PreviewDeployment>
  /** `tag` removed and the PR's idle revisions deleted; the split and every other tag unchanged. */
  remove(input: { tag: string; pr: number }, signal: AbortSignal): Promise<PreviewRemoval>
}

export interface PreviewPorts {
  clock: Clock
  release: ReleasePort
  cloudRun: PreviewPort
  health: HealthPort
}

/** Validated input of one preview deploy. */
export interface PreviewPlan {
  settings: Settings
  pr: number
  tag: string
  commit: string
  version: string
}

/** Checks the PR number, tag length, commit and version before any cloud call; throws naming the bad input. */
export function planPreview(input: { settings: Settings; pr: number; commit: string; version?: string }): PreviewPlan {
  const tag = validatePreviewTag(gcpNames(input.settings).service, input.pr)
  const commit = requireCommit(input.commit)
  return { settings: input.settings, pr: input.pr, tag, commit, version: resolveVersion(commit, input.version) }
}

/** The outcome of deploy-preview: the tag URL to click, and the run as Markdown for the job summary. */
@object()
export class Preview {
  /** The preview's URL (Cloud Run tag URL, reaches only the PR's revision); "" when the deploy failed before it. */
  @func()
  url: string = ""

  /** The Cloud Run tag, pr-<number>. */
  @func()
  tag: string = ""

  /** The PR's revision behind the tag; "" when none was created. */
  @func()
  revision: string = ""

  /** "succeeded" (the PR's release answers healthy at the URL) or "failed". */
  @func()
  verdict: string = "failed"

  /** The run for the GitHub job summary: URL, revision, image and every step with its outcome. */
  @func()
  markdown: string = ""
}

/** Runs a preview deploy to the end; failures are in the record, not thrown. */
export async function deployPreview(plan: PreviewPlan, ports: PreviewPorts, options: { signal?: AbortSignal } = {}): Promise<{ run: RunRecord; deployment?: PreviewDeployment }> {
  const { settings, commit, version, tag } = plan
  const run = startRun({ environment: "production", commit, version }, ports.clock)
  const steps = startSteps(run, settings, ports.clock, options.signal)
  let deployment: PreviewDeployment | undefined
  try {
    const image = await checkAndPublish(steps, ports.release, settings, "Artifact Registry")
    const d = await steps.step("preview revision", "rollout", async (ctx) => {
      const d = await ports.cloudRun.deploy({ image, tag, env: releaseEnvironment({ version, commit }) }, ctx.signal)
      ctx.note(`${d.revision} at 0 % behind tag '${tag}'; production traffic unchanged${d.notices.length ? ` (${d.notices.join("; ")})` : ""}`)
      return d
    })
    deployment = d
    run.urls.canary = d.url
    await steps.step("health check (preview URL)", "health", (ctx) => requireHealthy(ports.health, d.url, { version, commit }, ctx))
  } catch {
    // Recorded by the failed step; a preview has nothing to roll back (it never held traffic).
  } finally {
    finishRun(run, ports.clock)
    steps.close()
  }
  return deployment ? { run, deployment } : { run }
}

/** The job summary of a preview (pure). */
export function renderPreview(plan: Pick<PreviewPlan, "pr" | "tag">, run: RunRecord, deployment: PreviewDeployment | undefined): string {
  const ok = run.verdict === "succeeded"
  const lines = [`## ${ok ? "✅" : "❌"} Preview of PR #${plan.pr} ${ok ? "is ready" : "failed"}`, ""]
  if (deployment) lines.push(`**URL** ${deployment.url}  `, `**Revision** \`${deployment.revision}\` (tag \`${plan.tag}\`, no traffic)  `)
  lines.push(`**Version** \`${run.version}\` · **Commit** \`${run.commit.slice(0, 12)}\``)
  if (run.image) lines.push("", `**Image** \`${run.image}\``)
  lines.push("", "| Step | Outcome | Detail |", "| --- | --- | --- |")
  for (const s of run.steps) lines.push(`| ${s.name} | ${s.outcome} | ${oneLine(s.detail ?? "").replace(/\|/g, "\\|")} |`)
  return `${lines.join("\n")}\n`
}

// --- The commands --------------------------------------------------------------------------------

export interface PreviewCommandInput {
  source: Directory
  pr: number
  commit: string
  version?: string
  secrets: Pick<SecretArgs, "gcpCredentials" | "gcpAccessToken">
}

/** deploy-preview: validates everything before any cloud call, runs the sequence, returns the Preview. */
export async function runDeployPreview(input: PreviewCommandInput): Promise<Preview> {
  const settings = await loadSettings(input.source)
  const plan = planPreview({ settings, pr: input.pr, commit: input.commit, version: input.version })
  const { given, values } = await presentSecrets(input.secrets)
  const gcp = requireGcpSecrets(given.gcpCredentials, given.gcpAccessToken)
  const cloudRun = await connectPreviewService(settings, gcp)
  try {
    const ports: PreviewPorts = {
      clock: systemClock,
      release: releasePort({
        source: input.source,
        settings,
        commit: plan.commit,
        version: plan.version,
        now: new Date(),
        target: async () => artifactRegistryTarget(settings, gcp),
      }),
      cloudRun,
      health: healthPort(settings, "production"),
    }
    const { run, deployment } = await whileInterruptible((signal) => deployPreview(plan, ports, { signal }))
    return Object.assign(new Preview(), {
      url: deployment?.url ?? "",
      tag: plan.tag,
      revision: deployment?.revision ?? "",
      verdict: run.verdict === "succeeded" ? "succeeded" : "failed",
      markdown: redact(renderPreview(plan, run, deployment), values),
    })
  } finally {
    await cloudRun.close()
  }
}

/** remove-preview: the PR's tag and idle revisions removed; answers one line per thing done. */
export async function runRemovePreview(input: Omit<PreviewCommandInput, "commit" | "version">): Promise<string> {
  const settings = await loadSettings(input.source)
  const tag = validatePreviewTag(gcpNames(settings).service, input.pr)
  const { given, values } = await presentSecrets(input.secrets)
  const gcp = requireGcpSecrets(given.gcpCredentials, given.gcpAccessToken)
  const cloudRun = await connectPreviewService(settings, gcp)
  try {
    const removal = await whileInterruptible((signal) => removePreview({ settings, pr: input.pr, tag }, { clock: systemClock, cloudRun }, { signal }))
    return redact(describeRemoval(input.pr, tag, removal), values)
  } finally {
    await cloudRun.close()
  }
}

/**
 * The removal as one step of the runner (its rollout budget, the run's deadline, cancellation). Throws
 * when it failed: a preview left behind must turn the closing job red, not pass as done.
 */
export async function removePreview(
  input: { settings: Settings; pr: number; tag: string },
  ports: Pick<PreviewPorts, "clock" | "cloudRun">,
  options: { signal?: AbortSignal } = {},
): Promise<PreviewRemoval> {
  const run = startRun({ environment: "production", commit: "unknown" }, ports.clock)
  const steps = startSteps(run, input.settings, ports.clock, options.signal)
  try {
    return await steps.step("remove preview", "rollout", (ctx) => ports.cloudRun.remove({ tag: input.tag, pr: input.pr }, ctx.signal))
  } catch (err) {
    throw new Error(`removing the preview of PR #${input.pr} (tag '${input.tag}') failed: ${stepDetail(err)}. Re-run the job; the removal is safe to repeat.`)
  } finally {
    steps.close()
  }
}

/** One line per thing a removal did (pure). */
export function describeRemoval(pr: number, tag: string, r: PreviewRemoval): string {
  const lines = [
    r.tagRemoved ? `Preview of PR #${pr} removed: tag '${tag}' taken off.` : `Preview of PR #${pr}: tag '${tag}' was not there (nothing to take off).`,
    r.deleted.length > 0 ? `Deleted revision(s): ${r.deleted.join(", ")}.` : "No revision of the PR to delete.",
    ...(r.kept.length > 0 ? [`Kept: ${r.kept.join("; ")}.`] : []),
    `Traffic unchanged: ${r.traffic}.`,
  ]
  return `${lines.join("\n")}\n`
}
