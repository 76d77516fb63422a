// The world the deploy end-to-end tests run in: a checkout whose ci/ points the module at local peers
// (moto, the Cloud Run fake), and an engine-double script that answers the container parts the way
// the real tools would (app tests, Trivy's JSON report and CycloneDX SBOM, the registry's digest,
// Terraform's state list, plan JSON, apply and outputs). Everything else the module does for real:
// SDK calls to moto and the fake, HTTP health checks against the real app, webhooks to a receiver.
import { createServer, request } from "node:http"
import type { AddressInfo } from "node:net"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { stringify } from "yaml"
import { parseSettings, type Settings } from "../../dagger/src/config/settings.js"
import { execError, type Chain, type EngineDouble, type LeafQuery, type ObjectRef, type ScriptFn } from "./engine-double.js"
import { cosignScript } from "./cosign-script.js"
import { repoRoot } from "../tools/paths.js"

/** A 40-hex commit and the version the deploy bakes in, for the "new" and "old" releases. */
export const NEW_RELEASE = { version: "1.1.0", commit: "c0ffee1234567890abcdef1234567890abcdef12" }
export const OLD_RELEASE = { version: "1.0.0", commit: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567" }

/** A sha256 digest made from a seed (never a real image's). */
export function digestOf(seed: string): string {
  const hex = Buffer.from(seed).toString("hex").padEnd(64, "0").slice(0, 64)
  return `sha256:${hex}`
}

export const IMAGE_ID = digestOf("image-config")
export const PUSHED_DIGEST = digestOf("pushed-manifest")

/** Settings overrides the tests need: local endpoints, short budgets, no canary pause. */
export interface WorldSettings {
  awsEndpoint?: string
  cloudRunEndpoint?: string
  region?: string
  /** Steps of the canary. Default: the repository's (10, 50, 100). */
  canarySteps?: number[]
  healthBudgetSeconds?: number
  /** timeouts.stepMinutes.rollout in seconds (the rollout's wait budget is cut to fit). Default 2 min. */
  rolloutStepSeconds?: number
  /** ci/pipeline.yaml signing. Default: the committed policies, and the checkout's test public key (ci/cosign.pub) for --signing-key. */
  signing?: Partial<Settings["signing"]>
  /** production.canary.pauseSeconds. Default 0. */
  pauseSeconds?: number
  /**
   * Changes to the traffic analysis. Default: the committed thresholds, a small burst (20 requests, 4 of
   * them warm-up, 4 at a time, 5 s), and no served-traffic reading (the suites about other things have no
   * Cloud Monitoring; a suite that does sets `servedTraffic: { enabled: true }`).
   */
  analysis?: Partial<Omit<Settings["analysis"], "thresholds">> & { thresholds?: Partial<Settings["analysis"]["thresholds"]> }
}

/** The repository's ci/pipeline.yaml with the test's endpoints and short time budgets. */
export function pipelineYaml(o: WorldSettings): string {
  const data = parseSettings(readFileSync(join(repoRoot, "ci/pipeline.yaml"), "utf8"))
  const health = { intervalMs: 50, requestTimeoutMs: 1000, budgetSeconds: o.healthBudgetSeconds ?? 3, consecutiveSuccesses: 3 }
  data.staging.aws = { region: o.region ?? "us-west-1", ...(o.awsEndpoint ? { endpointUrl: o.awsEndpoint } : {}) }
  data.staging.rollout = { timeoutSeconds: 15, pollIntervalSeconds: 0.1 }
  data.staging.health = health
  if (o.cloudRunEndpoint) data.production.gcp.cloudRunEndpoint = o.cloudRunEndpoint
  data.production.canary.pauseSeconds = o.pauseSeconds ?? 0
  // A small burst keeps every canary step quick; the thresholds stay the committed ones unless a test says.
  const { thresholds, ...burst } = o.analysis ?? {}
  data.analysis = {
    ...data.analysis,
    requests: 20,
    warmupRequests: 4,
    concurrency: 4,
    requestTimeoutMs: 1000,
    budgetSeconds: 5,
    servedTraffic: { enabled: false },
    ...burst,
    thresholds: { ...data.analysis.thresholds, ...thresholds },
  }
  if (o.canarySteps) data.production.canary.steps = o.canarySteps
  data.signing = { ...data.signing, identity: { ...data.signing.identity, publicKey: SIGNING_PUBLIC_KEY_FILE }, ...o.signing }
  data.production.health = health
  // A 5-minute run, with step budgets that fit inside it (the committed ones do not: settings refuse that).
  data.timeouts = { runMinutes: 5, stepMinutes: { build: 2, test: 1, scan: 1, publish: 1, terraform: 2, rollout: 2, health: 1, rollback: 2, notify: 1 } }
  if (o.rolloutStepSeconds) {
    data.timeouts.stepMinutes.rollout = o.rolloutStepSeconds / 60
    data.staging.rollout.timeoutSeconds = Math.min(data.staging.rollout.timeoutSeconds, o.rolloutStepSeconds)
  }
  const text = stringify(data)
  parseSettings(text)
  return text
}

export function settingsOf(text: string): Settings {
  return parseSettings(text)
}

/**
 * The deploys sign with a key by default (keySigning): cosign is answered by the script (cosign-script.ts),
 * so the key is a planted text, and the checkout carries the public key the deploy verifies against.
 */
export const SIGNING_PUBLIC_KEY_FILE = "cosign.pub"
export const SIGNING_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nplanted-world-public-key\n-----END PUBLIC KEY-----\n"
export const SIGNING_KEY = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nplanted-world-private-key-never-printed\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
export const SIGNING_PASSWORD = "planted-world-key-password-never-printed"

/** The signing flags of a world deploy: the planted key and its password, as Secrets. */
export function keySigning(double: EngineDouble): { signingKey: ObjectRef; signingPassword: ObjectRef } {
  return { signingKey: double.secret("COSIGN_PRIVATE_KEY", SIGNING_KEY), signingPassword: double.secret("COSIGN_PASSWORD", SIGNING_PASSWORD) }
}

/** A checkout with ci/pipeline.yaml, ci/pricing.yaml, the signing public key and an empty accepted-findings file. */
export function makeCheckout(pipeline: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), "deploy-e2e-"))
  mkdirSync(join(dir, "ci"))
  writeFileSync(join(dir, "ci/pipeline.yaml"), pipeline)
  writeFileSync(join(dir, "ci", SIGNING_PUBLIC_KEY_FILE), SIGNING_PUBLIC_KEY)
  writeFileSync(join(dir, "ci/pricing.yaml"), readFileSync(join(repoRoot, "ci/pricing.yaml"), "utf8"))
  writeFileSync(join(dir, "ci/.trivyignore.yaml"), "vulnerabilities: []\n")
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Trivy JSON (schema 2) of the image: clean, or with one fixable CRITICAL vulnerability. */
export function trivyReport(kind: "clean" | "critical"): string {
  const vulnerabilities =
    kind === "critical"
      ? [
          {
            VulnerabilityID: "CVE-2099-0001",
            PkgName: "openssl",
            InstalledVersion: "3.0.0",
            FixedVersion: "3.0.99",
            Status: "fixed",
            Severity: "CRITICAL",
            Title: "a planted critical finding",
          },
        ]
      : []
  return JSON.stringify({
    SchemaVersion: 2,
    ArtifactName: "/scan/image.tar",
    ArtifactType: "container_image",
    Metadata: { ImageID: IMAGE_ID, OS: { Family: "alpine", Name: "3.22.1" } },
    Results: [{ Target: "portfolio (alpine 3.22.1)", Class: "os-pkgs", Type: "alpine", Vulnerabilities: vulnerabilities }],
  })
}

/** A CycloneDX SBOM naming the image ID, as Trivy writes it for an image tarball. */
export function sbomJson(): string {
  return JSON.stringify({
    bomFormat: "CycloneDX",
    specVersion: "1.6",
    metadata: {
      component: { name: "/scan/image.tar", type: "container", properties: [{ name: "aquasecurity:trivy:ImageID", value: IMAGE_ID }] },
    },
    components: [{ name: "openssl", version: "3.0.99" }],
  })
}

/** The withExec argument lists of a chain, in order. */
export function execArgs(chain: Chain): string[][] {
  return chain.filter((l) => l.field === "withExec").map((l) => (l.args["args"] as string[] | undefined) ?? [])
}

function lastFile(chain: Chain): string | undefined {
  const link = [...chain].reverse().find((l) => l.field === "file")
  return typeof link?.args["path"] === "string" ? link.args["path"] : undefined
}

export interface WorldScript {
  scan: "clean" | "critical"
  /** Terraform outputs (name → value) after apply; service_url is what the deploy health-checks. */
  outputs: Record<string, string>
  /** What `publish` answers (the digest the registry assigned). Default PUSHED_DIGEST. */
  digest?: string
  /** When set, `terraform apply` fails with this stderr (exit code 1). */
  applyFails?: string
  /** cosign's answers. Default: every command succeeds (cosign-script.ts). */
  cosign?: ScriptFn
}

/**
 * Answers the container leaves a deploy reaches. Anything not listed stays unscripted, so a test
 * fails loudly when the module starts running a tool the test did not expect.
 */
export function worldScript(w: WorldScript): ScriptFn {
  const cosign = w.cosign ?? cosignScript()
  return (q: LeafQuery) => {
    if (q.list) return undefined
    const signed = cosign(q)
    if (signed !== undefined) return signed
    const execs = execArgs(q.chain)
    const last = execs.at(-1) ?? []
    const tf = last[0] === "terraform" ? last[1] : undefined
    switch (q.leaf) {
      case "stdout":
        if (last.includes("vitest")) return " ✓ app/test (42 tests)\n"
        if (tf === "state") return ""
        if (tf === "show") return "Terraform will perform the following actions:\n  (none: the test's plan changes nothing)\n"
        if (tf === "apply") {
          return w.applyFails ? execError({ exitCode: 1, stderr: w.applyFails }) : "Apply complete! Resources: 0 added, 0 changed, 0 destroyed.\n"
        }
        if (tf === "output") {
          return JSON.stringify(Object.fromEntries(Object.entries(w.outputs).map(([k, v]) => [k, { value: v, type: "string", sensitive: false }])))
        }
        return undefined
      case "stderr":
        return tf === "state" ? "" : undefined
      case "exitCode":
        return tf === "state" ? 0 : undefined
      case "contents": {
        const file = lastFile(q.chain)
        if (file === "/scan/out/trivy.json") return trivyReport(w.scan)
        if (file === "/scan/out/sbom.cdx.json") return sbomJson()
        if (file === "tfplan.json") return JSON.stringify({ format_version: "1.2", resource_changes: [] })
        return undefined
      }
      case "publish": {
        const address = String(q.args["address"])
        return `${address}@${w.digest ?? PUSHED_DIGEST}`
      }
      default:
        return undefined
    }
  }
}

/** The AWS outputs terraform/aws declares, with the ALB URL pointed at `serviceUrl`. */
export function awsOutputs(serviceUrl: string, s: Settings): Record<string, string> {
  const n = s.staging.names
  return {
    region: s.staging.aws.region,
    cluster_name: n.cluster,
    service_name: n.service,
    task_family: n.taskFamily,
    task_definition_arn: `arn:aws:ecs:${s.staging.aws.region}:123456789012:task-definition/${n.taskFamily}:1`,
    container_name: n.containerName,
    ecr_repository_url: `123456789012.dkr.ecr.${s.staging.aws.region}.amazonaws.com/${n.ecrRepository}`,
    service_url: serviceUrl,
    target_group_arn: `arn:aws:elasticloadbalancing:${s.staging.aws.region}:123456789012:targetgroup/${n.prefix}-tg/0123456789abcdef`,
    log_group_name: `/ecs/${n.prefix}`,
    execution_role_arn: `arn:aws:iam::123456789012:role/${n.prefix}-task-execution`,
    task_role_arn: `arn:aws:iam::123456789012:role/${n.prefix}-task`,
    state_bucket: s.staging.terraform.stateBucket,
    lock_table: s.staging.terraform.lockTable,
  }
}

/**
 * A forwarding HTTP proxy that records what passes, with the instant each request arrived: proves whether a
 * run reached a peer at all, and that no write reached it after a given moment (the verdict). `hold` delays
 * the answer to chosen requests, like a slow cloud API.
 */
export interface CountingProxy {
  url: string
  /** Requests forwarded so far: method, path, the AWS action (X-Amz-Target's operation), body, arrival (ms). */
  requests: { method: string; path: string; action: string; body: string; at: number }[]
  /** Delays the answer to each request by what it returns (ms); undefined or 0 = at once. */
  hold: ((request: { action: string; body: string }) => number) | undefined
  close(): Promise<void>
}

export async function startCountingProxy(target: string): Promise<CountingProxy> {
  const proxy: CountingProxy = { url: "", requests: [], hold: undefined, close: async () => undefined }
  const server = createServer((req, res) => {
    const at = Date.now()
    const chunks: Buffer[] = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const body = Buffer.concat(chunks)
      const action = String(req.headers["x-amz-target"] ?? "").split(".").pop() ?? ""
      proxy.requests.push({ method: req.method ?? "", path: req.url ?? "", action, body: body.toString("utf8"), at })
      const forward = (): void => {
        const url = new URL(req.url ?? "/", target)
        const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers)
          up.pipe(res)
        })
        upstream.on("error", (err) => {
          if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" })
          res.end(`counting proxy: ${err.message}`)
        })
        upstream.end(body)
      }
      const delay = proxy.hold?.({ action, body: body.toString("utf8") }) ?? 0
      if (delay > 0) setTimeout(forward, delay)
      else forward()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  proxy.url = `http://127.0.0.1:${port}`
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return proxy
}

/**
 * The Google APIs the production deploy calls, on one local endpoint (production.gcp.cloudRunEndpoint):
 * Cloud Run Admin v2 (`/v2/...`) is forwarded to the Cloud Run fake; the state bucket, the Artifact
 * Registry repository and the runtime service account (the Terraform probes) exist. Artifact Registry's
 * image tags (`.../packages/...`, looked up before a push) are forwarded to `opts.artifactRegistry`
 * (a google-apis-fake.ts endpoint) when given, else every tag is free. Cloud Monitoring (`/v3/...`) is
 * forwarded to `opts.monitoring` (a monitoring-fake.ts endpoint) when it gives one. Every request is
 * counted, so a test can prove a run never reached GCP.
 */
export async function startGoogleApis(
  cloudRunFake: () => string,
  opts: { artifactRegistry?: () => string; monitoring?: () => string | undefined } = {},
): Promise<CountingProxy> {
  const requests: CountingProxy["requests"] = []
  const server = createServer((req, res) => {
    const path = req.url ?? "/"
    requests.push({ method: req.method ?? "", path, action: "", body: "", at: Date.now() })
    const imageTag = /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/]+\/packages\//.test(path)
    const upstreamBase = path.startsWith("/v2/")
      ? cloudRunFake()
      : imageTag
        ? opts.artifactRegistry?.()
        : path.startsWith("/v3/")
          ? opts.monitoring?.()
          : undefined
    if (upstreamBase !== undefined) {
      const url = new URL(path, upstreamBase)
      const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      upstream.on("error", (err) => {
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" })
        res.end(`google apis: ${err.message}`)
      })
      req.pipe(upstream)
      return
    }
    req.resume()
    const exists =
      req.method === "GET" &&
      (/^\/storage\/v1\/b\/[^/?]+$/.test(path) ||
        /^\/v1\/projects\/[^/]+\/locations\/[^/]+\/repositories\/[^/?]+$/.test(path) ||
        /^\/v1\/projects\/[^/]+\/serviceAccounts\/[^/?]+$/.test(path))
    res.writeHead(exists ? 200 : 404, { "content-type": "application/json" })
    res.end(JSON.stringify(exists ? { name: path } : { error: { code: 404, status: "NOT_FOUND", message: `${path} not found` } }))
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    hold: undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
