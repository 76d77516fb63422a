// dagger/src/gcp/connect.ts: from the GCP Secret (read and checked once by config/credentials.ts
// readGcpCredentials) to real @google-cloud/run v2 clients that authenticate to the Cloud Run fake.
import { createVerify, generateKeyPairSync } from "node:crypto"
import type { Secret } from "@dagger.io/dagger"
import { afterEach, describe, expect, it } from "vitest"
import { readGcpCredentials } from "../../dagger/src/config/credentials.js"
import { connectCloudRun, endpointOptions } from "../../dagger/src/gcp/connect.js"
import { readServiceTraffic } from "../../dagger/src/gcp/operations.js"
import { caught, type CloudRunWorld, PROJECT, RUNNING, STABLE, startCloudRunWorld } from "../support/cloud-run-world.js"

let world: CloudRunWorld | undefined
afterEach(async () => {
  await world?.close()
  world = undefined
})

/** A Secret as the module sees it: only plaintext() is called. */
const secret = (value: string) => ({ plaintext: async () => value }) as unknown as Secret

function serviceAccountKey(): { keyJson: string; publicKey: ReturnType<typeof generateKeyPairSync>["publicKey"] } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 })
  const keyJson = JSON.stringify({
    type: "service_account",
    project_id: PROJECT,
    private_key_id: "test-key-1",
    private_key: privateKey.export({ type: "pkcs8", format: "pem" }),
    client_email: `deployer@${PROJECT}.iam.gserviceaccount.com`,
    client_id: "1",
  })
  return { keyJson, publicKey }
}

describe("endpointOptions", () => {
  it("turns the endpoint into explicit REST options (the client hangs without port and protocol)", () => {
    expect(endpointOptions()).toEqual({ fallback: true })
    expect(endpointOptions("http://127.0.0.1:8123")).toEqual({ fallback: true, apiEndpoint: "127.0.0.1", port: 8123, protocol: "http" })
    expect(endpointOptions("https://run.example.test")).toEqual({ fallback: true, apiEndpoint: "run.example.test", port: 443, protocol: "https" })
    expect(() => endpointOptions("127.0.0.1:8123")).toThrow(/is not a URL/)
    expect(() => endpointOptions("ftp://127.0.0.1:8123")).toThrow(/must be http\(s\):\/\/host/)
    expect(() => endpointOptions("http://127.0.0.1:8123/v2")).toThrow(/no path/)
  })
})

describe("readGcpCredentials: the one way from a GCP Secret to plaintext credentials", () => {
  it("trims an access token", async () => {
    expect(await readGcpCredentials({ accessToken: secret("ya29.token\n") }, "for Cloud Run")).toEqual({ kind: "access-token", token: "ya29.token" })
  })

  it("keeps the fields of a service-account key the client signs with", async () => {
    const { keyJson } = serviceAccountKey()
    const creds = await readGcpCredentials({ credentials: secret(keyJson) }, "for Cloud Run")
    expect(creds).toEqual({
      kind: "service-account-key",
      key: {
        clientEmail: `deployer@${PROJECT}.iam.gserviceaccount.com`,
        privateKey: expect.stringContaining("BEGIN PRIVATE KEY"),
        privateKeyId: "test-key-1",
        projectId: PROJECT,
      },
    })
  })

  it("rejects a credentials file that is not a service-account key, without echoing it", async () => {
    const planted = JSON.stringify({ type: "authorized_user", refresh_token: "very-secret-refresh-token" })
    const err = await caught(readGcpCredentials({ credentials: secret(planted) }, "for Cloud Run"))
    expect(err.message).toContain("not a service-account key (type 'authorized_user', missing client_email and private_key)")
    expect(err.message).not.toContain("very-secret")
    const notJson = await caught(readGcpCredentials({ credentials: secret("{nope very-secret") }, "for Cloud Run"))
    expect(notJson.message).toContain("--gcp-credentials is not JSON")
    expect(notJson.message).not.toContain("very-secret")
  })

  it("rejects a blank token, and no credentials at all, naming the flags", async () => {
    await expect(readGcpCredentials({ accessToken: secret(" \n") }, "for Cloud Run")).rejects.toThrow(/--gcp-access-token is empty/)
    await expect(readGcpCredentials({}, "for Cloud Run")).rejects.toThrow("no GCP credentials for Cloud Run: pass --gcp-credentials or --gcp-access-token")
  })
})

describe("connectCloudRun", () => {
  it("hands the computed options to an injected client factory", async () => {
    world = await startCloudRunWorld()
    const seen: Array<Record<string, unknown>> = []
    const injected = await connectCloudRun({
      auth: { kind: "access-token", token: "t0k" },
      endpoint: world.fake.endpoint,
      createClients: (options) => {
        seen.push({ ...options })
        return world!.clients
      },
    })
    expect(injected).toBe(world.clients)
    expect(seen).toEqual([
      expect.objectContaining({ fallback: true, apiEndpoint: "127.0.0.1", port: world.fake.port, protocol: "http", authClient: expect.anything() }),
    ])
  })

  it("refuses to run without credentials against Google", async () => {
    await expect(connectCloudRun({ auth: { kind: "none" } })).rejects.toThrow(/no GCP credentials/)
  })

  it("sends an access token as a Bearer token", async () => {
    world = await startCloudRunWorld()
    const auth = await readGcpCredentials({ accessToken: secret("ya29.test-token") }, "for Cloud Run")
    const withToken = await connectCloudRun({ auth, endpoint: world.fake.endpoint })
    try {
      const reading = await readServiceTraffic({ ...world.ctx, clients: withToken }, undefined, RUNNING)
      expect(reading.stable).toBe(STABLE)
      expect(world.fake.state.requests.at(-1)?.authorization).toBe("Bearer ya29.test-token")
    } finally {
      await withToken.close()
    }
  })

  it("signs requests with a service-account key through google-auth-library (a JWT the key's public half verifies)", async () => {
    world = await startCloudRunWorld()
    const { keyJson, publicKey } = serviceAccountKey()
    const auth = await readGcpCredentials({ credentials: secret(keyJson) }, "for Cloud Run")
    const withKey = await connectCloudRun({ auth, endpoint: world.fake.endpoint })
    try {
      await readServiceTraffic({ ...world.ctx, clients: withKey }, undefined, RUNNING)
      const header = world.fake.state.requests.at(-1)?.authorization ?? ""
      expect(header).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/)
      const [head, payload, signature] = header.slice("Bearer ".length).split(".") as [string, string, string]
      const verifier = createVerify("RSA-SHA256")
      verifier.update(`${head}.${payload}`)
      expect(verifier.verify(publicKey, Buffer.from(signature, "base64url"))).toBe(true)
      expect(JSON.parse(Buffer.from(head, "base64url").toString())).toMatchObject({ kid: "test-key-1" })
      const claims = JSON.parse(Buffer.from(payload, "base64url").toString()) as Record<string, unknown>
      expect(claims["iss"]).toBe(`deployer@${PROJECT}.iam.gserviceaccount.com`)
      expect(claims["scope"]).toBe("https://www.googleapis.com/auth/cloud-platform")
    } finally {
      await withKey.close()
    }
  })
})
