// dagger/src/config/credentials.ts: a blank Secret means "not given" for every function that takes
// Secrets (GitHub Actions passes "" for a secret that is not set), and the two halves of an AWS key come
// together or not at all. Pure tables first, then the module's functions through its real entrypoint on
// the engine double, with both clouds' endpoints pointed at a receiver that records every request.
import { join } from "node:path"
import { Secret } from "@dagger.io/dagger"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { optionalAwsSecrets, presentSecrets, requireAwsSecrets } from "../../dagger/src/config/credentials.js"
import { callFunction, startEngineDouble, type ArgValue, type EngineDouble } from "../support/engine-double.js"
import { makeCheckout, pipelineYaml } from "../support/deploy-world.js"
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js"
import { repoRoot } from "../tools/paths.js"

/** A stand-in for a Dagger Secret: presentSecrets only reads its plaintext. */
const secretOf = (value: string) => ({ plaintext: async () => value })

describe("presentSecrets", () => {
  it("drops absent, empty and blank Secrets; keeps the others, with each value as given and trimmed", async () => {
    const key = secretOf("AKIAPRESENT0000001")
    const hook = secretOf(" https://hooks.example.test/T0/B0/x \n")
    const { given, values } = await presentSecrets({
      awsAccessKeyId: key,
      awsSecretAccessKey: secretOf(""),
      awsSessionToken: secretOf(" \n\t"),
      slackWebhook: undefined,
      webhook: hook,
    })
    expect(Object.keys(given).sort()).toEqual(["awsAccessKeyId", "webhook"])
    expect(given.awsAccessKeyId).toBe(key)
    expect(given.webhook).toBe(hook)
    expect(values).toEqual(["AKIAPRESENT0000001", "AKIAPRESENT0000001", " https://hooks.example.test/T0/B0/x \n", "https://hooks.example.test/T0/B0/x"])
  })
})

describe("the AWS key: both halves or neither", () => {
  // Never read here: only which arguments are present matters, so lazy Secrets with no engine behind them do.
  const id = new Secret()
  const key = new Secret()
  const token = new Secret()

  it("both halves make AwsSecrets, with the session token when given", () => {
    const plain = requireAwsSecrets({ awsAccessKeyId: id, awsSecretAccessKey: key })
    expect(Object.keys(plain).sort()).toEqual(["accessKeyId", "secretAccessKey"])
    expect(plain.accessKeyId).toBe(id)
    expect(plain.secretAccessKey).toBe(key)
    const temporary = optionalAwsSecrets({ awsAccessKeyId: id, awsSecretAccessKey: key, awsSessionToken: token })
    expect(temporary?.accessKeyId).toBe(id)
    expect(temporary?.secretAccessKey).toBe(key)
    expect(temporary?.sessionToken).toBe(token)
  })

  it("no AWS argument at all is fine only where AWS is optional", () => {
    expect(optionalAwsSecrets({})).toBeUndefined()
    expect(() => requireAwsSecrets({})).toThrow(/^AWS credentials are incomplete: --aws-access-key-id and --aws-secret-access-key not given\. Pass them as secrets/)
  })

  it.each([
    ["the key ID alone", { awsAccessKeyId: id }, "--aws-secret-access-key not given"],
    ["the secret key alone", { awsSecretAccessKey: key }, "--aws-access-key-id not given"],
    ["a session token alone", { awsSessionToken: token }, "--aws-access-key-id and --aws-secret-access-key not given"],
  ])("%s is refused, naming what is missing, even where AWS is optional", (_what, args, missing) => {
    expect(() => optionalAwsSecrets(args)).toThrow(`AWS credentials are incomplete: ${missing}.`)
    expect(() => requireAwsSecrets(args)).toThrow(`AWS credentials are incomplete: ${missing}.`)
  })
})

describe("a blank Secret is 'not given' in every function (engine double, real entrypoint)", () => {
  let double: EngineDouble
  // Stands in for AWS (staging.aws.endpointUrl) and every Google API (production.gcp.cloudRunEndpoint).
  let cloud: WebhookReceiver
  let checkout: { dir: string; remove(): void }
  const savedTsconfig = process.env["TSX_TSCONFIG_PATH"]

  beforeAll(async () => {
    // The entrypoint child compiles the module with the module's own tsconfig, as the Dagger runtime does.
    process.env["TSX_TSCONFIG_PATH"] = join(repoRoot, "dagger/tsconfig.json")
    double = await startEngineDouble()
    cloud = await startWebhookReceiver({
      otherwise: { kind: "status", status: 403, body: '{"error":{"code":403,"status":"PERMISSION_DENIED","message":"denied"}}' },
    })
    checkout = makeCheckout(pipelineYaml({ awsEndpoint: cloud.url, cloudRunEndpoint: cloud.url }))
  }, 60_000)
  afterAll(async () => {
    if (savedTsconfig === undefined) delete process.env["TSX_TSCONFIG_PATH"]
    else process.env["TSX_TSCONFIG_PATH"] = savedTsconfig
    await double?.close()
    await cloud?.close()
    checkout?.remove()
  })
  beforeEach(() => {
    double.reset()
    cloud.requests.length = 0
  })

  const call = (fn: string, args: Record<string, ArgValue>) =>
    callFunction(double, { fn, constructorArgs: { source: double.hostDirectory(checkout.dir) }, args, timeoutMs: 120_000 })
  const blank = (name: string) => double.secret(name, "")

  it.each(["stop-aws", "start-aws"])(
    "%s: a blank --aws-access-key-id is a missing one, refused before any request",
    async (fn) => {
      const r = await call(fn, { awsAccessKeyId: blank("AWS_ACCESS_KEY_ID"), awsSecretAccessKey: double.secret("AWS_SECRET_ACCESS_KEY", "key-half") })
      expect(r.error?.message).toMatch(/^AWS credentials are incomplete: --aws-access-key-id not given\./)
      expect(cloud.requests).toEqual([])
      expect(double.execs()).toEqual([])
    },
    180_000,
  )

  it("plan --stack=AWS: two blank halves are no AWS key, refused before any container or request", async () => {
    const r = await call("plan", {
      stack: "AWS",
      awsAccessKeyId: blank("AWS_ACCESS_KEY_ID"),
      awsSecretAccessKey: blank("AWS_SECRET_ACCESS_KEY"),
      awsSessionToken: blank("AWS_SESSION_TOKEN"),
    })
    expect(r.error?.message).toMatch(/^AWS credentials are incomplete: --aws-access-key-id and --aws-secret-access-key not given\./)
    expect(cloud.requests).toEqual([])
    expect(double.execs()).toEqual([])
  }, 180_000)

  it("publish: blank credentials for both registries are no registry at all, refused before the build", async () => {
    const r = await call("publish", {
      commit: "c0ffee1234567890abcdef1234567890abcdef12",
      awsAccessKeyId: blank("AWS_ACCESS_KEY_ID"),
      awsSecretAccessKey: blank("AWS_SECRET_ACCESS_KEY"),
      gcpCredentials: blank("GCP_SERVICE_ACCOUNT_KEY"),
      gcpAccessToken: blank("GCP_ACCESS_TOKEN"),
    })
    expect(r.error?.message).toMatch(/no registry to publish to/)
    expect(cloud.requests).toEqual([])
    expect(double.execs()).toEqual([])
  }, 180_000)

  it("plan --stack=GCP: a blank --gcp-credentials beside an access token is not 'both'; the token is what Google sees", async () => {
    const r = await call("plan", { stack: "GCP", gcpCredentials: blank("GCP_SERVICE_ACCOUNT_KEY"), gcpAccessToken: double.secret("GCP_ACCESS_TOKEN", "ya29.blank-test") })
    // The receiver refuses everything, so the plan fails, but only after Google was asked with the token.
    expect(r.error?.message ?? "").not.toMatch(/GCP credentials/)
    expect(cloud.requests.length).toBeGreaterThan(0)
    expect(cloud.requests.every((q) => q.headers.authorization === "Bearer ya29.blank-test")).toBe(true)
    expect(double.execs()).toEqual([])
  }, 180_000)
})
