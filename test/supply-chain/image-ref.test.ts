import { describe, expect, it } from "vitest"
import {
  ImageRefError,
  artifactRegistryAddress,
  buildIdentity,
  ecrRepositoryAddress,
  formatImageRef,
  isDigestRef,
  parseImageRef,
  parseReference,
  toolImageProblem,
  publishedRef,
  registryHostFromEndpoint,
  requireCommit,
  requireDigestRef,
  resolveVersion,
  withTag,
} from "../../dagger/src/supply-chain/image-ref.js"

const D = "sha256:" + "ab".repeat(32)
const ECR = "123456789012.dkr.ecr.us-west-1.amazonaws.com"

describe("parseImageRef", () => {
  it.each([
    [`${ECR}/portfolio-prod:1.2.3@${D}`, { registry: ECR, repository: "portfolio-prod", tag: "1.2.3", digest: D }],
    [`${ECR}/portfolio-prod@${D}`, { registry: ECR, repository: "portfolio-prod", digest: D }],
    ["us-west1-docker.pkg.dev/p-123/repo/app:abc1234", { registry: "us-west1-docker.pkg.dev", repository: "p-123/repo/app", tag: "abc1234" }],
    ["localhost:5000/a/b", { registry: "localhost:5000", repository: "a/b" }],
    ["127.0.0.1:5000/app:v1", { registry: "127.0.0.1:5000", repository: "app", tag: "v1" }],
  ])("parses %s and formats it back unchanged", (text, expected) => {
    expect(parseImageRef(text)).toEqual(expected)
    expect(formatImageRef(parseImageRef(text))).toBe(text)
  })

  it.each([
    ["node:20", /no registry host/],
    ["library/node:20", /no registry host \('library' is a path component: a host has a '\.' or a ':port', or is localhost\)/],
    [`${ECR}/App:1`, /path component 'App'/],
    [`${ECR}/app:-bad`, /tag '-bad'/],
    [`${ECR}/app@sha256:abc`, /digest 'sha256:abc'/],
    [` ${ECR}/app`, /whitespace/],
    ["", /empty/],
  ])("rejects %j naming the problem", (text, why) => {
    expect(() => parseImageRef(text)).toThrow(ImageRefError)
    expect(() => parseImageRef(text)).toThrow(why)
  })
})

// The distribution reference grammar, as registries and clients implement it (see image-ref.ts).
describe("parseReference: the whole reference grammar", () => {
  const T = "0.69.3"
  it.each([
    // No registry: Docker Hub names, official images, a first component that is only a path.
    ["node", { registry: "", repository: "node" }],
    ["node:24.20.0-alpine3.24", { registry: "", repository: "node", tag: "24.20.0-alpine3.24" }],
    [`aquasec/trivy:${T}@${D}`, { registry: "", repository: "aquasec/trivy", tag: T, digest: D }],
    ["library/node@" + D, { registry: "", repository: "library/node", digest: D }],
    ["a__b/c-d/e---f.g_h", { registry: "", repository: "a__b/c-d/e---f.g_h" }],
    // A registry: a dotted host, a port, localhost, an IPv4 or IPv6 address, an upper-case host.
    [`registry.internal:5000/aquasec/trivy:${T}@${D}`, { registry: "registry.internal:5000", repository: "aquasec/trivy", tag: T, digest: D }],
    ["registry.internal:5000/aquasec/trivy", { registry: "registry.internal:5000", repository: "aquasec/trivy" }],
    ["mirror.gcr.io/aquasec/trivy-db:2", { registry: "mirror.gcr.io", repository: "aquasec/trivy-db", tag: "2" }],
    ["localhost/app", { registry: "localhost", repository: "app" }],
    ["mirror:5000/app:1", { registry: "mirror:5000", repository: "app", tag: "1" }],
    ["10.0.0.7:443/team/app:v1", { registry: "10.0.0.7:443", repository: "team/app", tag: "v1" }],
    ["[::1]:5000/app:v1", { registry: "[::1]:5000", repository: "app", tag: "v1" }],
    ["Registry.Example.COM/app", { registry: "Registry.Example.COM", repository: "app" }],
    ["public.ecr.aws/aquasecurity/trivy-db:2", { registry: "public.ecr.aws", repository: "aquasecurity/trivy-db", tag: "2" }],
    // Tags up to 128 characters, sha512 digests.
    [`app:${"_".repeat(128)}`, { registry: "", repository: "app", tag: "_".repeat(128) }],
    [`app@sha512:${"0f".repeat(64)}`, { registry: "", repository: "app", digest: `sha512:${"0f".repeat(64)}` }],
  ])("accepts %s", (text, expected) => {
    expect(parseReference(text)).toEqual(expected)
    expect(formatImageRef(parseReference(text))).toBe(text)
  })

  it.each([
    ["", /is empty/],
    [" node:20", /surrounding whitespace/],
    ["Node:20", /path component 'Node'/],
    ["registry.internal:5000/Aquasec/trivy", /path component 'Aquasec'/],
    ["app/", /path component ''/],
    ["app//x", /path component ''/],
    ["-app", /path component '-app'/],
    ["app_", /path component 'app_'/],
    ["app:", /tag ''/],
    [`app:${"a".repeat(129)}`, /tag 'a{129}'/],
    ["app:-1", /tag '-1'/],
    ["app:1:2", /path component 'app:1'|tag/],
    ["registry.internal:port/app", /'registry.internal:port' where the registry host\[:port\] should be/],
    ["-bad.example/app", /'-bad.example' where the registry host/],
    ["bad..example/app", /'bad..example' where the registry host/],
    ["[::1/app", /where the registry host/],
    ["app@sha256:abc", /digest 'sha256:abc'/],
    [`app@sha256:${"AB".repeat(32)}`, /digest/],
    [`app@md5:${"ab".repeat(16)}`, /digest 'md5:/],
    [`app@${D}@${D}`, /digest/],
    [`r.example/${"a".repeat(250)}`, /name of 260 characters \(at most 255\)/],
  ])("refuses %j, naming the part and the expected form", (text, why) => {
    expect(() => parseReference(text)).toThrow(ImageRefError)
    expect(() => parseReference(text)).toThrow(why)
    expect(() => parseReference(text)).toThrow("expected '[host[:port]/]path[:tag][@sha256:<digest>]'")
  })
})

describe("toolImageProblem: ci/pipeline.yaml images", () => {
  it.each([
    "node:24.20.0-alpine3.24@" + D,
    "registry.internal:5000/aquasec/trivy:0.69.3@" + D,
    "registry.internal:5000/aquasec/trivy:0.69.3",
    "hashicorp/terraform:1.13.4",
    "localhost:5000/checkov@" + D,
  ])("accepts %s (valid and pinned)", (ref) => {
    expect(toolImageProblem(ref)).toBeUndefined()
  })

  it.each([
    ["aquasec/trivy:latest", "must be pinned to a version tag or digest: ':latest' moves"],
    ["node:alpine", "must be pinned to a version tag or digest: ':alpine' moves"],
    ["node", "must be pinned to a version tag or digest: it has neither"],
    // A port is not a tag: an untagged mirror reference is not pinned.
    ["registry.internal:5000/aquasec/trivy", "must be pinned to a version tag or digest: it has neither"],
    ["Registry:5000/Trivy:1", "is not a valid image reference: it has repository path component 'Trivy'"],
    ["trivy@sha256:123", "is not a valid image reference: it has digest 'sha256:123'"],
  ])("refuses %s", (ref, problem) => {
    expect(toolImageProblem(ref)).toContain(problem)
  })
})

describe("digest-only references for deploys", () => {
  it("drops the tag and keeps the digest", () => {
    expect(requireDigestRef(`${ECR}/portfolio-prod:1.2.3@${D}`)).toBe(`${ECR}/portfolio-prod@${D}`)
    expect(isDigestRef(`${ECR}/portfolio-prod@${D}`)).toBe(true)
  })

  it("refuses a tag-only reference and says how to get a pinned one", () => {
    expect(() => requireDigestRef(`${ECR}/portfolio-prod:1.2.3`, "--image")).toThrow(
      /--image '.*portfolio-prod:1.2.3' is not pinned by digest.*reference printed by `publish`/,
    )
    expect(isDigestRef(`${ECR}/portfolio-prod:1.2.3`)).toBe(false)
    expect(isDigestRef("not a ref")).toBe(false)
  })

  it("accepts the registry's answer only for the repository that was pushed", () => {
    expect(publishedRef(`${ECR}/portfolio-prod:abc1234`, `${ECR}/portfolio-prod:abc1234@${D}`)).toBe(`${ECR}/portfolio-prod@${D}`)
    expect(() => publishedRef(`${ECR}/portfolio-prod:abc1234`, `${ECR}/other:abc1234@${D}`)).toThrow(/another repository/)
    expect(() => publishedRef(`${ECR}/portfolio-prod:abc1234`, `${ECR}/portfolio-prod:abc1234`)).toThrow(/without a digest/)
  })
})

describe("versions and tags", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567"

  it("defaults the version to the short commit", () => {
    expect(resolveVersion(sha)).toBe("0123456")
    expect(resolveVersion(sha, "")).toBe("0123456")
    expect(resolveVersion(sha, "1.4.2-rc.1")).toBe("1.4.2-rc.1")
  })

  it("rejects a version that cannot be a tag, with an example of one that can", () => {
    expect(() => resolveVersion(sha, "1.4.2+build")).toThrow(/--version '1.4.2\+build' cannot be used as an image tag.*1.4.2-rc.1/)
  })

  it("requires a real git SHA for --commit", () => {
    expect(requireCommit("abc1234")).toBe("abc1234")
    expect(() => requireCommit("HEAD")).toThrow(/--commit 'HEAD' is not a git SHA.*git rev-parse HEAD/)
    expect(() => requireCommit("ABC1234")).toThrow(/not a git SHA/)
  })

  it("tags a bare address and refuses an already tagged one", () => {
    expect(withTag(`${ECR}/portfolio-prod`, "abc1234")).toBe(`${ECR}/portfolio-prod:abc1234`)
    expect(() => withTag(`${ECR}/portfolio-prod:x`, "abc1234")).toThrow(/already has a tag/)
  })
})

describe("registry addresses", () => {
  it("builds the ECR repository address from ECR's proxy endpoint", () => {
    const host = registryHostFromEndpoint(`https://${ECR}`)
    expect(host).toBe(ECR)
    expect(ecrRepositoryAddress(host, "portfolio-prod")).toBe(`${ECR}/portfolio-prod`)
    expect(() => registryHostFromEndpoint("not a url")).toThrow(/not a URL/)
    expect(() => registryHostFromEndpoint(`https://${ECR}/v2/`)).toThrow(/has a path/)
  })

  it("builds the Artifact Registry address region-docker.pkg.dev/project/repository/image", () => {
    expect(artifactRegistryAddress("us-west1", "portfolio-test-476200", "portfolio-prod", "portfolio")).toBe(
      "us-west1-docker.pkg.dev/portfolio-test-476200/portfolio-prod/portfolio",
    )
  })
})

describe("buildIdentity (builds outside a release)", () => {
  it("uses the commit when given, else 'unknown' and 0.0.0-dev", () => {
    expect(buildIdentity("abcdef0123")).toEqual({ commit: "abcdef0123", version: "abcdef0" })
    expect(buildIdentity()).toEqual({ commit: "unknown", version: "0.0.0-dev" })
    expect(buildIdentity(undefined, "1.2.3")).toEqual({ commit: "unknown", version: "1.2.3" })
    expect(() => buildIdentity(undefined, "a b")).toThrow(/--version .a b. cannot be used as an image tag/)
    expect(() => buildIdentity(undefined, "_1.0")).toThrow(/starting with a letter or digit/)
    expect(() => buildIdentity(undefined, "1".repeat(65))).toThrow(/at most 64/)
    expect(() => buildIdentity("main")).toThrow(/not a git SHA/)
  })
})
