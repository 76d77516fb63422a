/**
 * Multi-cloud deploy pipeline for the portfolio app: build, test, scan and ship it to
 * AWS ECS (staging) and GCP Cloud Run (production), with verdicts, rollback and reports.
 *
 * Settings live in the repository's ci/ folder; credentials arrive only as Secrets.
 */
import { Container, Directory, File, Secret, argument, check, func, object } from "@dagger.io/dagger"
import { appImage } from "./supply-chain/build.js"
import { CheckReport, runCheck } from "./supply-chain/check.js"
import { enforceTerraformChecks, terraformCheckInput } from "./supply-chain/iac-check.js"
import { optionalAwsSecrets, presentSecrets, requireAwsSecrets, requireGcpSecrets } from "./config/credentials.js"
import { buildIdentity, localImageName } from "./supply-chain/image-ref.js"
import { artifactRegistryTarget, ecrTarget } from "./supply-chain/publish.js"
import { DATED_RESULT_TTL, cacheWindowEnd } from "./shared/cache-window.js"
import { Release, ignoreFilePath, releaseImage, runAppTests } from "./supply-chain/release.js"
import { Scan, scanImage } from "./supply-chain/scan/scan.js"
import { ScanSeverity } from "./supply-chain/scan/severity.js"
import { scanPolicy } from "./supply-chain/scan/gate.js"
import { imageSbom } from "./supply-chain/sbom.js"
import { type HealthCheck, toHealthCheck } from "./health/health-check.js"
import { checkHealth } from "./health/poll.js"
import { loadSettings } from "./config/settings.js"
import { runDeployProduction } from "./deploy/production.js"
import { runDeployStaging } from "./deploy/staging.js"
import { Preview, runDeployPreview, runRemovePreview } from "./deploy/preview.js"
import { DeployReport } from "./report/deploy-report.js"
import { NotifyMode } from "./notify/mode.js"
import { Stack, TerraformApply, TerraformPlan, applyPlan, cloudAdapter, planStack, stackCredentials, stackDefinition } from "./terraform/apply.js"
import { DriftCheck, checkDrift } from "./terraform/drift-check.js"
import { renderPlanSummary } from "./terraform/plan-summary.js"
import { loadPricing } from "./report/cost.js"
import { type AwsStagingScale, scaleAwsStaging } from "./aws/stop-aws.js"

// Longer than the ~350 lines a file holds here, on purpose: one doc-commented function per command is the
// table of contents users read as `dagger functions` and `--help`; each body only delegates.

/**
 * The pipeline: `check` needs no cloud account; `deploy-staging` ships to AWS ECS and
 * `deploy-production` to GCP Cloud Run.
 */
@object()
export class PortfolioPipeline {
  /** The repository checkout (the app, Terraform and ci/ settings are read from it). */
  source: Directory

  /**
   * @param source The repository root. Defaults to the git root of the module's repository.
   */
  constructor(
    @argument({ defaultPath: "/", ignore: ["**/node_modules", ".git", ".tools", "**/.terraform"] })
    source: Directory,
  ) {
    this.source = source
  }

  /**
   * Builds the app's runtime image from app/Dockerfile (its `runtime` stage) with the version and
   * commit baked in as APP_VERSION / APP_COMMIT, which /health serves. The Dockerfile installs from
   * package.json and the lockfile before it copies any source, so a code-only change does not
   * reinstall dependencies.
   *
   * @param commit Git SHA baked in as APP_COMMIT. Default: "unknown" (a local build).
   * @param version Version baked in as APP_VERSION. Default: the short commit, or 0.0.0-dev without --commit.
   */
  @func()
  async build(commit?: string, version?: string): Promise<Container> {
    const id = buildIdentity(commit, version)
    return appImage({ app: this.source.directory("app"), ...id })
  }

  /**
   * Runs the app's test suite (app/test, vitest, against the real app) in a container and returns its
   * output. Fails when a test fails. A check: `dagger check` runs it.
   */
  @func()
  @check()
  async test(): Promise<string> {
    const settings = await loadSettings(this.source)
    return runAppTests(this.source, settings.images.node)
  }

  /**
   * Builds the image and scans its tarball with Trivy (vulnerabilities and secrets) before anything is
   * pushed. The verdict comes from the JSON report and the policy in ci/pipeline.yaml (scan.*), with
   * accepted findings from ci/.trivyignore.yaml; an expired entry there fails the scan. Returns the
   * Scan whatever its verdict; chain `enforce` to fail on a FAIL verdict. Cached for an hour, with
   * expiry judged at the end of that hour (shared/cache-window.ts), as the verdict depends on the date.
   *
   * @param commit Git SHA baked into the scanned image. Default: "unknown".
   * @param version Version baked into the scanned image. Default: the short commit, or 0.0.0-dev.
   * @param severity Severities that fail the gate. Default: scan.severities in ci/pipeline.yaml (HIGH,CRITICAL).
   * @param ignoreUnfixed Whether findings with no fixed version are tolerated. Default: scan.ignoreUnfixed in ci/pipeline.yaml (true).
   */
  @func({ cache: DATED_RESULT_TTL })
  async scan(commit?: string, version?: string, severity?: ScanSeverity[], ignoreUnfixed?: boolean): Promise<Scan> {
    const settings = await loadSettings(this.source)
    const id = buildIdentity(commit, version)
    const policy = scanPolicy(settings.scan, { severities: severity, ignoreUnfixed })
    const image = appImage({ app: this.source.directory("app"), ...id })
    const ignorePath = ignoreFilePath(settings)
    return scanImage({
      tarball: image.asTarball(),
      ignoreFile: { text: await this.source.file(ignorePath).contents(), file: this.source.file(ignorePath), source: ignorePath },
      policy,
      trivyImage: settings.images.trivy,
      now: cacheWindowEnd(),
      image: localImageName(settings.app.name, id.version),
      dbRepositories: settings.scan.dbRepositories,
    })
  }

  /**
   * Check: the image scan gate. Builds and scans the image exactly as `scan` does, with the policy in
   * ci/pipeline.yaml, and fails with the summary on a FAIL verdict or when the scanner is unavailable;
   * returns the summary otherwise. `dagger check` runs it. Cached for an hour, like `scan`.
   */
  @func({ cache: DATED_RESULT_TTL })
  @check()
  async scanGate(): Promise<string> {
    return (await this.scan()).enforce()
  }

  /**
   * Check: the Terraform static checks, checkov and trivy config on terraform/ as in `check`. Fails with
   * their summaries when either finds a problem; returns them otherwise. `dagger check` runs it.
   * Cached for an hour, like `scan`.
   */
  @func({ cache: DATED_RESULT_TTL })
  @check()
  async terraformChecks(): Promise<string> {
    return enforceTerraformChecks(terraformCheckInput(this.source, await loadSettings(this.source), cacheWindowEnd()))
  }

  /**
   * CycloneDX JSON SBOM of the built image, generated by Trivy from the image tarball. The file is
   * named sbom-<image ID>.cdx.json and its metadata names the image (portfolio:<version>) and its ID
   * (the config digest). A check: `dagger check` runs it.
   *
   * @param commit Git SHA baked into the image. Default: "unknown".
   * @param version Version baked into the image. Default: the short commit, or 0.0.0-dev.
   */
  @func()
  @check()
  async sbom(commit?: string, version?: string): Promise<File> {
    const settings = await loadSettings(this.source)
    const id = buildIdentity(commit, version)
    const image = appImage({ app: this.source.directory("app"), ...id })
    const sbom = await imageSbom({ tarball: image.asTarball(), trivyImage: settings.images.trivy, image: localImageName(settings.app.name, id.version) })
    return sbom.file
  }

  /**
   * Builds, tests and scans the image, and only if all pass pushes that same image to ECR (given AWS
   * credentials) and/or Artifact Registry (given GCP credentials), tagged with the version. Returns the
   * references WITH digest (deploys use only digests), the gating scan and the SBOM. Registry logins
   * happen first, so bad credentials fail before the build.
   *
   * @param commit Git SHA of the release (baked in as APP_COMMIT).
   * @param version Version baked in and used as the tag. Default: the short commit.
   * @param awsAccessKeyId AWS access key ID, to push to ECR (e.g. env://AWS_ACCESS_KEY_ID). Default: no ECR push.
   * @param awsSecretAccessKey AWS secret access key (e.g. env://AWS_SECRET_ACCESS_KEY).
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param gcpCredentials GCP service-account key JSON, to push to Artifact Registry. Default: no push there.
   * @param gcpAccessToken GCP OAuth access token (workload identity federation), instead of --gcp-credentials.
   */
  @func({ cache: "never" })
  async publish(
    commit: string,
    version?: string,
    awsAccessKeyId?: Secret,
    awsSecretAccessKey?: Secret,
    awsSessionToken?: Secret,
    gcpCredentials?: Secret,
    gcpAccessToken?: Secret,
  ): Promise<Release> {
    const settings = await loadSettings(this.source)
    const { given } = await presentSecrets({ awsAccessKeyId, awsSecretAccessKey, awsSessionToken, gcpCredentials, gcpAccessToken })
    const aws = optionalAwsSecrets(given)
    const gcp = given.gcpCredentials || given.gcpAccessToken ? requireGcpSecrets(given.gcpCredentials, given.gcpAccessToken) : undefined
    return releaseImage({
      source: this.source,
      settings,
      commit,
      version,
      now: new Date(),
      targets: async () => ({
        ecr: aws ? await ecrTarget(settings, aws) : undefined,
        artifactRegistry: gcp ? artifactRegistryTarget(settings, gcp) : undefined,
      }),
    })
  }

  /**
   * Everything that needs no cloud account, independent steps in parallel: build, app tests, Trivy
   * scan of the image tarball, CycloneDX SBOM, and Terraform static checks (checkov and trivy config on
   * terraform/). Every step runs even when an earlier one fails, so one run shows every problem. Fails
   * (non-zero exit, the summary in the error) when any step failed; with --allow-failure it returns the
   * report (verdict, markdown summary, report files) whatever the verdict, e.g. for CI:
   * `check --allow-failure artifacts export --path=DIR`, then fail on DIR/verdict.txt. Cached for an
   * hour, like `scan`, so a warm call does no work.
   *
   * @param commit Git SHA baked into the checked image. Default: "unknown".
   * @param version Version baked into the checked image. Default: the short commit, or 0.0.0-dev.
   * @param allowFailure Return the report even when the verdict is FAIL. Default: false (a FAIL fails the call).
   */
  @func({ cache: DATED_RESULT_TTL })
  async check(commit?: string, version?: string, allowFailure = false): Promise<CheckReport> {
    const settings = await loadSettings(this.source)
    const id = buildIdentity(commit, version)
    const report = await runCheck({ source: this.source, settings, now: cacheWindowEnd(), ...id })
    if (!allowFailure) await report.enforce()
    return report
  }

  /**
   * Deploys a commit to AWS staging (ECS Fargate behind an ALB): build, tests, Trivy scan and SBOM (a
   * failed gate stops before anything is pushed) → push to ECR by digest, signed with its SBOM and
   * scan verdict attested (cosign) → signature verified → Terraform (adopt what exists, plan, apply) →
   * new task definition revision with the digest and APP_VERSION/APP_COMMIT, service at
   * staging.desiredCount → rollout verdict tied to this deployment (deployment alarms included) → health
   * check on the ALB's /health requiring this version and commit → traffic analysis (a burst judged
   * against the old release's). On any failure after apply the service goes back to the previous task
   * definition, verified, and the report carries the failure's diagnostics. Then cost estimate and notifications. Returns the
   * report; a failed deploy is a report with succeeded=false, only bad input fails the call.
   * Re-running the same commit is safe; a commit older than the one serving (by --commit-time) is
   * refused before anything changes, unless --allow-older.
   *
   * @param commit Git SHA to deploy (baked in as APP_COMMIT), e.g. --commit=$(git rev-parse HEAD).
   * @param awsAccessKeyId AWS access key ID (e.g. env://AWS_ACCESS_KEY_ID).
   * @param awsSecretAccessKey AWS secret access key (e.g. env://AWS_SECRET_ACCESS_KEY).
   * @param version Version baked in as APP_VERSION and used as the image tag. Default: the short commit.
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param slackWebhook Slack incoming-webhook URL (e.g. env://SLACK_WEBHOOK_URL). Default: no Slack message.
   * @param discordWebhook Discord webhook URL (e.g. env://DISCORD_WEBHOOK_URL). Default: no Discord message.
   * @param webhook URL that receives the run as JSON (e.g. env://DEPLOY_WEBHOOK_URL). Default: none.
   * @param notify When to notify: ALWAYS, FAILURES_ONLY or NEVER. Default: notifications.mode in ci/pipeline.yaml.
   * @param runUrl Link to the CI run, shown in the report and notifications. Default: none.
   * @param commitTime The commit's committer time, ISO 8601 (e.g. --commit-time=$(git log -1 --format=%cI)), baked in as APP_COMMIT_TIME. Before anything changes, a commit older than the one serving is refused. Default: none (the order is not checked; the report warns).
   * @param allowOlder Deploy even when the commit is older than the one serving: a deliberate rollback. Default: false.
   * @param signingKey cosign private key that signs the image and attests its SBOM and scan verdict (e.g. file://cosign.key or env://COSIGN_PRIVATE_KEY), for runs outside GitHub Actions; verified against signing.identity.publicKey in ci/pipeline.yaml. Default: none (keyless with --oidc-request-token, or unsigned: signing.<environment> decides).
   * @param signingPassword Password of --signing-key (e.g. env://COSIGN_PASSWORD). Default: none (a key without password).
   * @param oidcRequestToken GitHub Actions OIDC request token (env://ACTIONS_ID_TOKEN_REQUEST_TOKEN, in a job with id-token: write) for keyless signing: a fresh Sigstore id token is minted right before each cosign command (id tokens live 5 minutes). Give with --oidc-request-url. Default: none.
   * @param oidcRequestUrl GitHub Actions OIDC request URL (env://ACTIONS_ID_TOKEN_REQUEST_URL), with --oidc-request-token. Default: none.
   */
  @func({ cache: "never" })
  async deployStaging(
    commit: string,
    awsAccessKeyId: Secret,
    awsSecretAccessKey: Secret,
    version?: string,
    awsSessionToken?: Secret,
    slackWebhook?: Secret,
    discordWebhook?: Secret,
    webhook?: Secret,
    notify?: NotifyMode,
    runUrl?: string,
    commitTime?: string,
    allowOlder = false,
    signingKey?: Secret,
    signingPassword?: Secret,
    oidcRequestToken?: Secret,
    oidcRequestUrl?: Secret,
  ): Promise<DeployReport> {
    return runDeployStaging({
      source: this.source,
      commit,
      version,
      secrets: { awsAccessKeyId, awsSecretAccessKey, awsSessionToken, slackWebhook, discordWebhook, webhook, signingKey, signingPassword, oidcRequestToken, oidcRequestUrl },
      notify,
      runUrl,
      commitTime,
      allowOlder,
    })
  }

  /**
   * Deploys a commit to GCP production (Cloud Run) with a canary, and stops AWS staging meanwhile.
   * In parallel: scale AWS staging to 0 (previous count remembered; skipped with --skip-aws-stop or
   * without AWS credentials; a failed stop is a warning, never a failed deploy) and build, tests,
   * Trivy scan and SBOM → push to Artifact Registry by digest, signed and attested. Then the signature
   * verified → Terraform (adopt, plan, apply) → candidate revision with 0 % traffic behind the canary tag
   * → health check on the tag URL requiring this version → traffic in steps (pause, health check and
   * traffic analysis at each: a burst on the tag URL and Cloud Run's served-traffic metrics, judged
   * against the previous release) → on failure all traffic back to the previous revision, verified, and
   * the report carries the failure's diagnostics. Then cost estimate and notifications. Returns the report; a failed
   * deploy is a report with succeeded=false, only bad input fails the call. A traffic split left by an
   * interrupted run is put back by the next run. A commit older than the one serving (by --commit-time)
   * is refused before anything changes, staging included, unless --allow-older.
   *
   * @param commit Git SHA to deploy (baked in as APP_COMMIT), e.g. --commit=$(git rev-parse HEAD).
   * @param version Version baked in as APP_VERSION and used as the image tag. Default: the short commit.
   * @param gcpCredentials GCP service-account key JSON (e.g. env://GCP_SERVICE_ACCOUNT_KEY). Give this or --gcp-access-token.
   * @param gcpAccessToken GCP OAuth access token (workload identity federation), instead of --gcp-credentials.
   * @param skipAwsStop Leave AWS staging running. Default: false (staging is scaled to 0).
   * @param awsAccessKeyId AWS access key ID for the staging stop (e.g. env://AWS_ACCESS_KEY_ID). Default: none (the stop is skipped and reported).
   * @param awsSecretAccessKey AWS secret access key for the staging stop (e.g. env://AWS_SECRET_ACCESS_KEY).
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param canarySteps Traffic percentages on the new revision, e.g. 10,50,100 (ascending, ending at 100). Default: production.canary.steps in ci/pipeline.yaml.
   * @param slackWebhook Slack incoming-webhook URL (e.g. env://SLACK_WEBHOOK_URL). Default: no Slack message.
   * @param discordWebhook Discord webhook URL (e.g. env://DISCORD_WEBHOOK_URL). Default: no Discord message.
   * @param webhook URL that receives the run as JSON (e.g. env://DEPLOY_WEBHOOK_URL). Default: none.
   * @param notify When to notify: ALWAYS, FAILURES_ONLY or NEVER. Default: notifications.mode in ci/pipeline.yaml.
   * @param runUrl Link to the CI run, shown in the report and notifications. Default: none.
   * @param commitTime The commit's committer time, ISO 8601 (e.g. --commit-time=$(git log -1 --format=%cI)), baked in as APP_COMMIT_TIME. Before anything changes, a commit older than the one serving is refused. Default: none (the order is not checked; the report warns).
   * @param allowOlder Deploy even when the commit is older than the one serving: a deliberate rollback. Default: false.
   * @param signingKey cosign private key that signs the image and attests its SBOM and scan verdict (e.g. file://cosign.key or env://COSIGN_PRIVATE_KEY), for runs outside GitHub Actions; verified against signing.identity.publicKey in ci/pipeline.yaml. Default: none (keyless with --oidc-request-token, or unsigned: signing.<environment> decides).
   * @param signingPassword Password of --signing-key (e.g. env://COSIGN_PASSWORD). Default: none (a key without password).
   * @param oidcRequestToken GitHub Actions OIDC request token (env://ACTIONS_ID_TOKEN_REQUEST_TOKEN, in a job with id-token: write) for keyless signing: a fresh Sigstore id token is minted right before each cosign command (id tokens live 5 minutes). Give with --oidc-request-url. Default: none.
   * @param oidcRequestUrl GitHub Actions OIDC request URL (env://ACTIONS_ID_TOKEN_REQUEST_URL), with --oidc-request-token. Default: none.
   */
  @func({ cache: "never" })
  async deployProduction(
    commit: string,
    version?: string,
    gcpCredentials?: Secret,
    gcpAccessToken?: Secret,
    skipAwsStop = false,
    awsAccessKeyId?: Secret,
    awsSecretAccessKey?: Secret,
    awsSessionToken?: Secret,
    canarySteps?: string,
    slackWebhook?: Secret,
    discordWebhook?: Secret,
    webhook?: Secret,
    notify?: NotifyMode,
    runUrl?: string,
    commitTime?: string,
    allowOlder = false,
    signingKey?: Secret,
    signingPassword?: Secret,
    oidcRequestToken?: Secret,
    oidcRequestUrl?: Secret,
  ): Promise<DeployReport> {
    return runDeployProduction({
      source: this.source,
      commit,
      version,
      secrets: { gcpCredentials, gcpAccessToken, awsAccessKeyId, awsSecretAccessKey, awsSessionToken, slackWebhook, discordWebhook, webhook, signingKey, signingPassword, oidcRequestToken, oidcRequestUrl },
      skipAwsStop,
      canarySteps,
      notify,
      runUrl,
      commitTime,
      allowOlder,
    })
  }

  /**
   * Deploys a pull request's commit as a preview on the production Cloud Run service: build, tests,
   * Trivy scan and SBOM exactly as a release (a failed gate stops before anything is pushed) → push to
   * Artifact Registry by digest → a revision with NO traffic behind the tag pr-<number> → health check on
   * the tag URL requiring this version and commit. Each push makes a new revision and moves the tag. The
   * traffic split and every other tag (the canary tag, anyone else's) are never changed, and read back to
   * prove it. Returns the preview (url, tag, revision, verdict, markdown for the job summary); a failed
   * deploy is a Preview with verdict "failed", only bad input (e.g. tag + service name over 46
   * characters) fails the call, before any cloud request.
   *
   * @param pr The pull request's number; the tag is pr-<number>.
   * @param commit Git SHA of the PR's head (baked in as APP_COMMIT), e.g. --commit=${{ github.event.pull_request.head.sha }}.
   * @param version Version baked in as APP_VERSION and used as the image tag. Default: the short commit.
   * @param gcpCredentials GCP service-account key JSON (e.g. env://GCP_SERVICE_ACCOUNT_KEY). Give this or --gcp-access-token.
   * @param gcpAccessToken GCP OAuth access token (workload identity federation), instead of --gcp-credentials.
   */
  @func({ cache: "never" })
  async deployPreview(pr: number, commit: string, version?: string, gcpCredentials?: Secret, gcpAccessToken?: Secret): Promise<Preview> {
    return runDeployPreview({ source: this.source, pr, commit, version, secrets: { gcpCredentials, gcpAccessToken } })
  }

  /**
   * Removes a pull request's preview: takes the tag pr-<number> off the production Cloud Run service and
   * deletes the PR's revisions, except one that holds traffic or carries another tag (kept and named).
   * The traffic split and every other tag are never changed. Safe to repeat (nothing left = nothing
   * done). Returns what it did, one line per thing.
   *
   * @param pr The pull request's number; the tag removed is pr-<number>.
   * @param gcpCredentials GCP service-account key JSON (e.g. env://GCP_SERVICE_ACCOUNT_KEY). Give this or --gcp-access-token.
   * @param gcpAccessToken GCP OAuth access token (workload identity federation), instead of --gcp-credentials.
   */
  @func({ cache: "never" })
  async removePreview(pr: number, gcpCredentials?: Secret, gcpAccessToken?: Secret): Promise<string> {
    return runRemovePreview({ source: this.source, pr, secrets: { gcpCredentials, gcpAccessToken } })
  }

  /**
   * Polls `<url>/health` until the expected release answers healthy several times in a row, and
   * reports what it saw: attempts, failures by kind (refused, timeout, dns, reset, tls, http5xx,
   * http4xx, unready, wrongVersion, badBody), the last error and the time to the verdict. The first
   * request goes out at once; no fixed sleep. An answer from another version (e.g. the old release
   * still serving) does not count. Works on any http(s) URL; note that it runs inside the module's
   * container, where localhost is that container, not your machine. Never cached: it reports the
   * service as it is now.
   *
   * @param url Base URL of the service, http or https (e.g. https://portfolio-abc123-uw.a.run.app); the path is appended.
   * @param expectedVersion Version the body's `version` must equal. Default: not checked.
   * @param expectedCommit Git SHA the body's `commit` must match (full or ≥ 7-character prefix). Default: not checked.
   * @param consecutiveSuccesses Successful answers in a row needed for "healthy". Default 3.
   * @param intervalMs Milliseconds between the starts of two attempts. Default 250.
   * @param requestTimeoutMs Per-request timeout in milliseconds. Default 2000.
   * @param budgetSeconds Give up (unhealthy) after this many seconds. Default 120.
   * @param path Health endpoint path appended to the URL. Default /health.
   */
  @func({ cache: "never" })
  async healthCheck(
    url: string,
    expectedVersion?: string,
    expectedCommit?: string,
    consecutiveSuccesses = 3,
    intervalMs = 250,
    requestTimeoutMs = 2000,
    budgetSeconds = 120,
    path = "/health",
  ): Promise<HealthCheck> {
    const result = await checkHealth(
      url,
      { version: expectedVersion, commit: expectedCommit },
      { consecutiveSuccesses, intervalMs, requestTimeoutMs, budgetSeconds, path },
    )
    return toHealthCheck(result)
  }

  /**
   * Stops AWS staging: scales its ECS service to 0 and waits until no task runs, remembering the
   * desired count it had (service tag pipeline:previous-desired-count) so start-aws restores it.
   * Cluster, service and region come from ci/pipeline.yaml (staging.*). Fails when the service is
   * missing or not ACTIVE, or when tasks are still running at the end of the time budget.
   *
   * @param awsAccessKeyId AWS access key ID (e.g. env://AWS_ACCESS_KEY_ID).
   * @param awsSecretAccessKey AWS secret access key (e.g. env://AWS_SECRET_ACCESS_KEY).
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param timeoutSeconds Time budget for the verdict. Default: staging.rollout.timeoutSeconds in ci/pipeline.yaml.
   */
  @func({ cache: "never" })
  async stopAws(
    awsAccessKeyId: Secret,
    awsSecretAccessKey: Secret,
    awsSessionToken?: Secret,
    timeoutSeconds?: number,
  ): Promise<AwsStagingScale> {
    const secrets = requireAwsSecrets((await presentSecrets({ awsAccessKeyId, awsSecretAccessKey, awsSessionToken })).given)
    return scaleAwsStaging("stop", { settings: await loadSettings(this.source), secrets, timeoutSeconds })
  }

  /**
   * Starts AWS staging again: scales its ECS service back to the desired count stop-aws remembered
   * (else staging.desiredCount from ci/pipeline.yaml) and waits until that many tasks run.
   *
   * @param awsAccessKeyId AWS access key ID (e.g. env://AWS_ACCESS_KEY_ID).
   * @param awsSecretAccessKey AWS secret access key (e.g. env://AWS_SECRET_ACCESS_KEY).
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param timeoutSeconds Time budget for the verdict. Default: staging.rollout.timeoutSeconds in ci/pipeline.yaml.
   */
  @func({ cache: "never" })
  async startAws(
    awsAccessKeyId: Secret,
    awsSecretAccessKey: Secret,
    awsSessionToken?: Secret,
    timeoutSeconds?: number,
  ): Promise<AwsStagingScale> {
    const secrets = requireAwsSecrets((await presentSecrets({ awsAccessKeyId, awsSecretAccessKey, awsSessionToken })).given)
    return scaleAwsStaging("start", { settings: await loadSettings(this.source), secrets, timeoutSeconds })
  }

  /**
   * Plans a Terraform stack and saves the plan: AWS (terraform/aws, staging) or GCP (terraform/gcp,
   * production). Creates the stack's state backend first if it is missing, then adopts resources that
   * already exist in the cloud but not in state (generated import blocks; a second run imports
   * nothing), and runs `terraform plan` in the Terraform image pinned in ci/pipeline.yaml. Names come
   * from ci/pipeline.yaml. Chain `apply` to apply exactly this plan, or `summary` / `json` to read it.
   *
   * @param stack AWS (staging, needs the --aws-* secrets) or GCP (production, needs --gcp-credentials or --gcp-access-token).
   * @param awsAccessKeyId AWS access key ID (e.g. env://AWS_ACCESS_KEY_ID). Required for --stack=AWS.
   * @param awsSecretAccessKey AWS secret access key (e.g. env://AWS_SECRET_ACCESS_KEY). Required for --stack=AWS.
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param gcpCredentials GCP service-account key JSON (e.g. env://GCP_SERVICE_ACCOUNT_KEY). For --stack=GCP.
   * @param gcpAccessToken GCP OAuth access token (workload identity federation), instead of --gcp-credentials.
   * @param initialImage Image for the first revision when the service does not exist yet. Default: the stack's own (see terraform/<stack>/variables.tf).
   */
  @func({ cache: "never" })
  async plan(
    stack: Stack,
    awsAccessKeyId?: Secret,
    awsSecretAccessKey?: Secret,
    awsSessionToken?: Secret,
    gcpCredentials?: Secret,
    gcpAccessToken?: Secret,
    initialImage?: string,
  ): Promise<TerraformPlan> {
    const settings = await loadSettings(this.source)
    const { given } = await presentSecrets({ awsAccessKeyId, awsSecretAccessKey, awsSessionToken, gcpCredentials, gcpAccessToken })
    const credentials = stackCredentials(stack, given)
    return planStack({
      source: this.source,
      settings,
      credentials,
      cloud: cloudAdapter(settings, credentials),
      options: { initialImage },
      now: new Date(),
    })
  }

  /**
   * Plans a Terraform stack (exactly as `plan`) and applies that saved plan. Refuses, and says why,
   * when the plan would destroy or replace a stateful resource (a state bucket, the lock table, an
   * image registry) unless --allow-destroy is given. Returns the changes and the stack's outputs.
   *
   * @param stack AWS (staging, needs the --aws-* secrets) or GCP (production, needs --gcp-credentials or --gcp-access-token).
   * @param awsAccessKeyId AWS access key ID (e.g. env://AWS_ACCESS_KEY_ID). Required for --stack=AWS.
   * @param awsSecretAccessKey AWS secret access key (e.g. env://AWS_SECRET_ACCESS_KEY). Required for --stack=AWS.
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param gcpCredentials GCP service-account key JSON (e.g. env://GCP_SERVICE_ACCOUNT_KEY). For --stack=GCP.
   * @param gcpAccessToken GCP OAuth access token (workload identity federation), instead of --gcp-credentials.
   * @param initialImage Image for the first revision when the service does not exist yet. Default: the stack's own (see terraform/<stack>/variables.tf).
   * @param allowDestroy Apply even if the plan destroys stateful resources. Default: false.
   */
  @func({ cache: "never" })
  async apply(
    stack: Stack,
    awsAccessKeyId?: Secret,
    awsSecretAccessKey?: Secret,
    awsSessionToken?: Secret,
    gcpCredentials?: Secret,
    gcpAccessToken?: Secret,
    initialImage?: string,
    allowDestroy = false,
  ): Promise<TerraformApply> {
    const plan = await this.plan(stack, awsAccessKeyId, awsSecretAccessKey, awsSessionToken, gcpCredentials, gcpAccessToken, initialImage)
    return applyPlan(plan, { allowDestroy, now: new Date() })
  }

  /**
   * Plans a Terraform stack with read-only credentials and renders the plan for a pull request as
   * Markdown: resources to add, change, replace, destroy and import (the adopt-or-create imports),
   * what the destroy guard would refuse to apply (❌, bold), and the priced resources the plan changes
   * with the rates from ci/pricing.yaml. Needs only credentials that read state and describe resources
   * (README, "Read-only roles"): it creates no state backend, takes no state lock and applies nothing.
   * Never cached: a plan reads live state and the cloud, which change between calls.
   *
   * @param stack AWS (staging, needs the --aws-* secrets) or GCP (production, needs --gcp-credentials or --gcp-access-token).
   * @param awsAccessKeyId AWS access key ID of the read-only plan role (e.g. env://AWS_ACCESS_KEY_ID). Required for --stack=AWS.
   * @param awsSecretAccessKey AWS secret access key of the read-only plan role. Required for --stack=AWS.
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param gcpCredentials GCP key JSON of the read-only plan service account. For --stack=GCP.
   * @param gcpAccessToken GCP OAuth access token of the read-only plan service account, instead of --gcp-credentials.
   */
  @func({ cache: "never" })
  async planSummary(
    stack: Stack,
    awsAccessKeyId?: Secret,
    awsSecretAccessKey?: Secret,
    awsSessionToken?: Secret,
    gcpCredentials?: Secret,
    gcpAccessToken?: Secret,
  ): Promise<string> {
    const settings = await loadSettings(this.source)
    const pricing = await loadPricing(this.source)
    const { given } = await presentSecrets({ awsAccessKeyId, awsSecretAccessKey, awsSessionToken, gcpCredentials, gcpAccessToken })
    const credentials = stackCredentials(stack, given)
    const plan = await planStack({
      source: this.source,
      settings,
      credentials,
      cloud: cloudAdapter(settings, credentials),
      now: new Date(),
      readOnly: true,
    })
    const planJson: unknown = JSON.parse(await plan.json.contents())
    const dir = stackDefinition(stack, settings).dir
    return renderPlanSummary({ stack, dir: `terraform/${dir}`, planJson, pricing, bootstrapped: plan.bootstrapped })
  }

  /**
   * Checks a Terraform stack for drift: a refresh-only plan (`terraform plan -refresh-only
   * -detailed-exitcode`) compares state with the cloud, ignoring the fields the pipeline changes on
   * every deploy (dagger/src/terraform/ownership.ts: task count and revision, Cloud Run revision and
   * traffic). Returns each drifted address and attribute; when there is drift it is also sent to the
   * given webhooks. No drift: a quiet success. Read-only: no lock, nothing applied.
   * Never cached: it reads live state and the cloud, and announces what it finds.
   *
   * @param stack AWS (staging, needs the --aws-* secrets) or GCP (production, needs --gcp-credentials or --gcp-access-token).
   * @param awsAccessKeyId AWS access key ID of the read-only role (e.g. env://AWS_ACCESS_KEY_ID). Required for --stack=AWS.
   * @param awsSecretAccessKey AWS secret access key of the read-only role. Required for --stack=AWS.
   * @param awsSessionToken AWS session token, for temporary (OIDC role) credentials. Default: none.
   * @param gcpCredentials GCP key JSON of the read-only service account. For --stack=GCP.
   * @param gcpAccessToken GCP OAuth access token of the read-only service account, instead of --gcp-credentials.
   * @param slackWebhook Slack incoming-webhook URL told about drift (e.g. env://SLACK_WEBHOOK_URL). Default: no Slack message.
   * @param discordWebhook Discord webhook URL told about drift (e.g. env://DISCORD_WEBHOOK_URL). Default: no Discord message.
   * @param webhook URL that receives the drift as JSON (e.g. env://DEPLOY_WEBHOOK_URL). Default: none.
   */
  @func({ cache: "never" })
  async drift(
    stack: Stack,
    awsAccessKeyId?: Secret,
    awsSecretAccessKey?: Secret,
    awsSessionToken?: Secret,
    gcpCredentials?: Secret,
    gcpAccessToken?: Secret,
    slackWebhook?: Secret,
    discordWebhook?: Secret,
    webhook?: Secret,
  ): Promise<DriftCheck> {
    const settings = await loadSettings(this.source)
    const { given } = await presentSecrets({ awsAccessKeyId, awsSecretAccessKey, awsSessionToken, gcpCredentials, gcpAccessToken })
    return checkDrift({
      source: this.source,
      settings,
      credentials: stackCredentials(stack, given),
      notify: { slack: slackWebhook, discord: discordWebhook, webhook },
      now: new Date(),
    })
  }
}
