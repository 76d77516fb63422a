// Registry logins: ECR's GetAuthorizationToken answered by a real moto server; Artifact Registry logins
// built from the GCP secret as is.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Secret } from "@dagger.io/dagger"
import { artifactRegistryLogin, decodeEcrToken, ecrAuthorization } from "../../dagger/src/supply-chain/publish.js"
import { startMoto, type Moto } from "../support/moto.js"

let moto: Moto
beforeAll(async () => {
  moto = await startMoto()
})
afterAll(async () => {
  await moto?.stop()
})

describe("ECR authorization via a signed call (moto)", () => {
  it("returns the registry host and a decoded AWS login", async () => {
    const auth = await ecrAuthorization({ region: moto.region, credentials: moto.credentials, endpointUrl: moto.endpoint })
    expect(auth.host).toMatch(new RegExp(`^\\d{12}\\.dkr\\.ecr\\.${moto.region}\\.amazonaws\\.com$`))
    expect(auth.username).toBe("AWS")
    expect(auth.password.length).toBeGreaterThan(8)
    expect(auth.password).not.toContain(":")
  })

  it("fails with the region and what to check, never the credentials", async () => {
    const secretKey = "s3cr3t-key-value-for-test"
    let err: unknown
    try {
      // Nothing listens on port 9 of loopback: the SDK call fails.
      await ecrAuthorization({
        region: "us-west-1",
        credentials: { accessKeyId: "AKIATESTACCESSKEY", secretAccessKey: secretKey },
        endpointUrl: "http://127.0.0.1:9",
      })
    } catch (e) {
      err = e
    }
    const msg = (err as Error).message
    expect(msg).toMatch(/^ECR GetAuthorizationToken failed in us-west-1: /)
    expect(msg).toContain("ecr:GetAuthorizationToken")
    expect(msg).not.toContain(secretKey)
  }, 60_000)
})

describe("decodeEcrToken", () => {
  it("splits base64('AWS:password') at the first colon", () => {
    expect(decodeEcrToken(Buffer.from("AWS:pa:ss").toString("base64"))).toEqual({ username: "AWS", password: "pa:ss" })
  })

  it("rejects a token without a user or password and does not echo it", () => {
    const token = Buffer.from("no-colon-here").toString("base64")
    expect(() => decodeEcrToken(token)).toThrow(/not base64\('user:password'\)/)
    try {
      decodeEcrToken(token)
    } catch (e) {
      expect((e as Error).message).not.toContain("no-colon-here")
      expect((e as Error).message).not.toContain(token)
    }
  })
})

describe("artifactRegistryLogin", () => {
  // Only identity matters here: the Secret objects are handed to withRegistryAuth untouched.
  const key = { tag: "key" } as unknown as Secret
  const token = { tag: "token" } as unknown as Secret

  it("uses _json_key with a service-account key", () => {
    expect(artifactRegistryLogin("us-west1-docker.pkg.dev", { credentials: key })).toEqual({
      host: "us-west1-docker.pkg.dev",
      username: "_json_key",
      password: key,
    })
  })

  it("uses oauth2accesstoken with an access token", () => {
    const login = artifactRegistryLogin("us-west1-docker.pkg.dev", { accessToken: token })
    expect(login.username).toBe("oauth2accesstoken")
    expect(login.password).toBe(token)
  })

  it("needs one of them", () => {
    expect(() => artifactRegistryLogin("us-west1-docker.pkg.dev", {})).toThrow(/--gcp-credentials or --gcp-access-token/)
  })
})
