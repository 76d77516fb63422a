// The cosign port's pure part (dagger/src/supply-chain/sign/cosign.ts); the port itself runs through the engine
// double in the deploy suites (test/deploy/staging.test.ts, production.test.ts).
import { describe, expect, it } from "vitest"
import { dockerConfigJson } from "../../../dagger/src/supply-chain/sign/cosign.js"

describe("dockerConfigJson", () => {
  it("one registry's login as docker writes it", () => {
    const json = JSON.parse(dockerConfigJson({ host: "123456789012.dkr.ecr.us-west-1.amazonaws.com", username: "AWS", password: "pw" })) as { auths: Record<string, { auth: string }> }
    expect(json).toEqual({ auths: { "123456789012.dkr.ecr.us-west-1.amazonaws.com": { auth: Buffer.from("AWS:pw").toString("base64") } } })
  })
})
