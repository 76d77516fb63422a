// CLI signatures of deploy-staging and deploy-production (docs/architecture.md, "The two deploy
// functions") and of the DeployReport they return, read by the SDK's own introspector.
import { beforeAll, describe, expect, it } from "vitest"
import { introspectModule, typeName, type ModuleTypedefs } from "../support/introspect.js"
import { expectFunction } from "../support/signature.js"

let t: ModuleTypedefs
beforeAll(async () => {
  t = await introspectModule()
})

const notifyFlags = {
  "slack-webhook": { type: "Secret", optional: true },
  "discord-webhook": { type: "Secret", optional: true },
  webhook: { type: "Secret", optional: true },
  notify: { type: "NotifyMode", optional: true, enumValues: ["ALWAYS", "FAILURES_ONLY", "NEVER"], description: /notifications\.mode/ },
  "run-url": { type: "String", optional: true },
}

// Both deploys refuse a commit older than the one serving (deploy/release-order.ts).
const releaseOrderFlags = {
  "commit-time": { type: "String", optional: true, description: /git log -1 --format=%cI/ },
  "allow-older": { type: "Boolean", default: false, description: /deliberate rollback/ },
}

// Both deploys sign and attest the published image and verify it before the rollout (deploy/sign.ts).
const signingFlags = {
  "signing-key": { type: "Secret", optional: true, description: /signing\.identity\.publicKey/ },
  "signing-password": { type: "Secret", optional: true },
  "oidc-request-token": { type: "Secret", optional: true, description: /ACTIONS_ID_TOKEN_REQUEST_TOKEN.*5 minutes/ },
  "oidc-request-url": { type: "Secret", optional: true, description: /ACTIONS_ID_TOKEN_REQUEST_URL/ },
}

describe("the deploy functions", () => {
  it("deploy-staging --commit --aws-access-key-id --aws-secret-access-key [...] → DeployReport, never cached", () => {
    expectFunction(t, "deploy-staging", {
      args: {
        commit: { type: "String", required: true },
        version: { type: "String", optional: true, description: /Default: the short commit/ },
        "aws-access-key-id": { type: "Secret", required: true },
        "aws-secret-access-key": { type: "Secret", required: true },
        "aws-session-token": { type: "Secret", optional: true },
        ...notifyFlags,
        ...releaseOrderFlags,
        ...signingFlags,
      },
      returns: "DeployReport",
      cache: "never",
    })
  })

  it("deploy-production --commit (--gcp-credentials|--gcp-access-token) [--skip-aws-stop] [AWS secrets] [--canary-steps] [...] → DeployReport", () => {
    expectFunction(t, "deploy-production", {
      args: {
        commit: { type: "String", required: true },
        version: { type: "String", optional: true },
        "gcp-credentials": { type: "Secret", optional: true },
        "gcp-access-token": { type: "Secret", optional: true },
        "skip-aws-stop": { type: "Boolean", default: false },
        "aws-access-key-id": { type: "Secret", optional: true },
        "aws-secret-access-key": { type: "Secret", optional: true },
        "aws-session-token": { type: "Secret", optional: true },
        "canary-steps": { type: "String", optional: true, description: /production\.canary\.steps/ },
        ...notifyFlags,
        ...releaseOrderFlags,
        ...signingFlags,
      },
      returns: "DeployReport",
      cache: "never",
    })
  })

  it("DeployReport carries verdict, succeeded, url, image, markdown and json", () => {
    const props = Object.values(t.objects["DeployReport"]?.properties ?? {})
    for (const p of props) expect(p.description, `DeployReport.${p.name} has a doc comment`).not.toBe("")
    expect(props.filter((p) => p.isExposed).map((p) => `${p.name}: ${typeName(p.type)}`)).toEqual([
      "verdict: String",
      "succeeded: Boolean",
      "url: String",
      "image: String",
      "markdown: String",
      "json: String",
    ])
  })
})
