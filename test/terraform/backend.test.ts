// The state backends bootstrapped before `terraform init`: the staging S3 bucket and lock table
// against a real moto server, the production GCS bucket against a local fake of the Storage API
// (test/support/google-apis-fake.ts). Created private and versioned once, found afterwards, safe to race.
import { readFileSync } from "node:fs"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest"
import { parseSettings } from "../../dagger/src/config/settings.js"
import { bootstrapAwsBackend, bootstrapGcsBackend } from "../../dagger/src/terraform/backend.js"
import type { AwsTarget } from "../../dagger/src/terraform/probes/aws.js"
import type { GcpTarget } from "../../dagger/src/terraform/probes/gcp.js"
import { awsNames, gcpNames } from "../../dagger/src/terraform/stacks.js"
import { botoCalls } from "../support/boto3.js"
import { startGoogleApisFake, type GoogleApisFake } from "../support/google-apis-fake.js"
import { startMoto, type Moto } from "../support/moto.js"
import { repoRoot } from "../tools/paths.js"

const settings = parseSettings(readFileSync(`${repoRoot}/ci/pipeline.yaml`, "utf8"))
const aws = awsNames(settings)
const gcp = gcpNames(settings)
const TOKEN = "ya29.backend-test-token"

let moto: Moto
let awsTarget: AwsTarget
let fake: GoogleApisFake

beforeAll(async () => {
  ;[moto, fake] = await Promise.all([startMoto({ region: settings.staging.aws.region }), startGoogleApisFake(TOKEN)])
  awsTarget = { region: moto.region, endpoint: moto.endpoint, credentials: moto.credentials }
})
afterAll(async () => {
  await Promise.all([moto?.stop(), fake?.close()])
})
beforeEach(async () => {
  await moto.reset()
  fake.reset()
})

function gcsTarget(): GcpTarget {
  return { accessToken: TOKEN, endpoints: { storage: fake.endpoint } }
}

describe("bootstrapAwsBackend (moto)", () => {
  it("creates a private, versioned bucket and an active lock table once, then finds them", async () => {
    const first = await bootstrapAwsBackend(awsTarget, { bucket: aws.stateBucket, lockTable: aws.lockTable })
    expect(first).toEqual({
      created: [`S3 bucket ${aws.stateBucket}`, `DynamoDB table ${aws.lockTable}`],
      existing: [],
    })
    // Read back with boto3, an independent client, so the module's request encoding is checked against what moto stored.
    const [versioning, publicAccess, encryption, location, described] = await botoCalls(moto, [
      ["s3", "get_bucket_versioning", { Bucket: aws.stateBucket }],
      ["s3", "get_public_access_block", { Bucket: aws.stateBucket }],
      ["s3", "get_bucket_encryption", { Bucket: aws.stateBucket }],
      ["s3", "get_bucket_location", { Bucket: aws.stateBucket }],
      ["dynamodb", "describe_table", { TableName: aws.lockTable }],
    ])
    expect(versioning).toMatchObject({ Status: "Enabled" })
    expect(publicAccess).toMatchObject({
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
    })
    expect(encryption).toMatchObject({
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "aws:kms" }, BucketKeyEnabled: true }] },
    })
    expect((location as { LocationConstraint?: string | null }).LocationConstraint ?? "us-east-1").toBe(moto.region)
    const table = (described as { Table?: { TableStatus?: string; KeySchema?: unknown; BillingModeSummary?: { BillingMode?: string } } }).Table
    expect(table?.TableStatus).toBe("ACTIVE")
    expect(table?.KeySchema).toEqual([{ AttributeName: "LockID", KeyType: "HASH" }])
    expect(table?.BillingModeSummary?.BillingMode).toBe("PAY_PER_REQUEST")

    const second = await bootstrapAwsBackend(awsTarget, { bucket: aws.stateBucket, lockTable: aws.lockTable })
    expect(second).toEqual({ created: [], existing: [`S3 bucket ${aws.stateBucket}`, `DynamoDB table ${aws.lockTable}`] })
  })

  it("tolerates two runs bootstrapping at the same time", async () => {
    const both = await Promise.all([
      bootstrapAwsBackend(awsTarget, { bucket: aws.stateBucket, lockTable: aws.lockTable }),
      bootstrapAwsBackend(awsTarget, { bucket: aws.stateBucket, lockTable: aws.lockTable }),
    ])
    expect(both.flatMap((r) => [...r.created, ...r.existing]).sort()).toEqual(
      [`DynamoDB table ${aws.lockTable}`, `DynamoDB table ${aws.lockTable}`, `S3 bucket ${aws.stateBucket}`, `S3 bucket ${aws.stateBucket}`],
    )
  })
})

describe("bootstrapGcsBackend (Storage API fake)", () => {
  const backend = { project: gcp.project, bucket: gcp.stateBucket, location: gcp.region }

  it("creates a versioned, uniform-access, public-access-prevented bucket once, then leaves it", async () => {
    expect(await bootstrapGcsBackend(gcsTarget(), backend)).toEqual({ created: true })
    expect(fake.created).toEqual([
      {
        project: gcp.project,
        body: {
          name: gcp.stateBucket,
          location: gcp.region.toUpperCase(),
          versioning: { enabled: true },
          iamConfiguration: { uniformBucketLevelAccess: { enabled: true }, publicAccessPrevention: "enforced" },
        },
      },
    ])
    expect(await bootstrapGcsBackend(gcsTarget(), backend)).toEqual({ created: false })
    expect(fake.created).toHaveLength(1)
  })

  it("says to pick another name when another project owns the bucket name", async () => {
    fake.takenElsewhere.add(gcp.stateBucket)
    await expect(bootstrapGcsBackend(gcsTarget(), backend)).rejects.toThrow(
      /HTTP 403.*if another project owns this one, choose another production\.terraform\.stateBucket/s,
    )
    expect(fake.created).toEqual([])
  })
})
