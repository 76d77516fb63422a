// AWS fixtures made with boto3 (the moto venv's own, from test/tools/setup.mjs), for the services the
// module no longer ships an SDK client for (EC2, ELBv2, IAM, CloudWatch Logs, S3, DynamoDB, ECR). A second, independent
// AWS client: the module's own signed calls (dagger/src/aws/signed-api.ts) then read what
// boto3 wrote, so a mistake in how they encode a request or read an answer cannot cancel itself out.
import { execFile } from "node:child_process"
import type { Moto } from "./moto.js"
import { toolPath } from "../tools/paths.js"

/** One boto3 call: service ("ec2", "elbv2", "iam", "logs", "s3", "dynamodb", "ecr"), operation in boto3's snake_case, parameters as the API names them. */
export type BotoCall = [service: string, operation: string, params: Record<string, unknown>]

// Runs the calls in order in one interpreter (boto3 takes ~0.5 s to import) and prints their answers as JSON.
const SCRIPT = [
  "import json, sys, boto3",
  "req = json.load(sys.stdin)",
  "out = []",
  "for service, op, params in req['calls']:",
  "    c = boto3.client(service, endpoint_url=req['endpoint'], region_name=req['region'],",
  "                     aws_access_key_id=req['key'], aws_secret_access_key=req['secret'])",
  "    r = getattr(c, op)(**params)",
  "    r.pop('ResponseMetadata', None)",
  "    out.append(r)",
  "json.dump(out, sys.stdout, default=str)",
].join("\n")

/** Runs the calls against moto with boto3, in order, and returns their answers; a failed call rejects with boto3's error. */
export function botoCalls(moto: Moto, calls: readonly BotoCall[]): Promise<Record<string, unknown>[]> {
  const python = toolPath("python", "moto", "python")
  return new Promise((resolve, reject) => {
    const child = execFile(python, ["-c", SCRIPT], { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`boto3 fixture calls failed (${calls.map((c) => c[1]).join(", ")}): ${stderr || err.message}`))
      resolve(JSON.parse(stdout) as Record<string, unknown>[])
    })
    child.stdin!.end(
      JSON.stringify({ endpoint: moto.endpoint, region: moto.region, key: moto.credentials.accessKeyId, secret: moto.credentials.secretAccessKey, calls }),
    )
  })
}
