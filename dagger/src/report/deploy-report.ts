// What `deploy-staging` and `deploy-production` return: the run's verdict and its report, as a Dagger
// object so the CLI can print one field (`... json`, `... markdown`) and workflows can read the rest.
// A failed deploy is a DeployReport with succeeded=false, never an exception (docs/architecture.md).
import { func, object } from "@dagger.io/dagger"
import { redact } from "../shared/redact.js"
import { deployReportFields } from "./render.js"
import type { RunRecord } from "./run-record.js"

/** The outcome of one deploy: verdict, URL, image and the run report (Markdown and JSON). */
@object()
export class DeployReport {
  /** "succeeded", "failed" or "rolled-back" (the old release serves; the new one did not ship). */
  @func()
  verdict: string = "failed"

  /** True only when the new release serves (verdict "succeeded"). */
  @func()
  succeeded: boolean = false

  /** The environment's URL (ALB or Cloud Run service URL); "" when none is known. */
  @func()
  url: string = ""

  /** The image deployed, pinned by digest (registry/repository@sha256:...); "" when nothing was published. */
  @func()
  image: string = ""

  /** The run report as Markdown for the GitHub job summary: steps, timeline, scan, image, URLs, rollback, cost. */
  @func()
  markdown: string = ""

  /**
   * The report as one JSON object, for workflows (`jq .succeeded`, `.markdown`, `.url`): verdict,
   * succeeded, url, image, markdown, and `run`, the whole run record (steps, timings, scan, rollback,
   * cost, warnings). Secrets removed.
   */
  @func()
  json: string = ""
}

/**
 * The DeployReport of a finished run, every text field scrubbed of the given secret values. `json`
 * wraps the run record with the other fields, so one `dagger call ... json` gives a workflow all of it.
 */
export function toDeployReport(run: RunRecord, secretValues: readonly (string | undefined)[]): DeployReport {
  const fields = deployReportFields(run, { secretValues })
  const { json, ...rest } = fields
  const document = { ...rest, run: JSON.parse(json) as unknown }
  return Object.assign(new DeployReport(), { ...rest, json: redact(JSON.stringify(document, null, 2), secretValues) })
}
