// The outputs the pipeline reads after apply: typed, sensitive ones dropped, missing ones named.
import { describe, expect, it } from "vitest"
import { AWS_OUTPUTS, outputValues, parseAwsOutputs, parseGcpOutputs } from "../../dagger/src/terraform/outputs.js"

describe("outputs", () => {
  const json = (values: Record<string, unknown>, sensitive: string[] = []) =>
    JSON.stringify(
      Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v, type: "string", sensitive: sensitive.includes(k) }])),
    )

  it("reads the staging outputs typed", () => {
    const values = Object.fromEntries(AWS_OUTPUTS.map((k) => [k, `${k}-value`]))
    expect(parseAwsOutputs(outputValues(json(values))).service_url).toBe("service_url-value")
  })

  it("drops sensitive outputs and names the missing ones", () => {
    expect(outputValues(json({ a: "1", b: "2" }, ["b"]))).toEqual({ a: "1" })
    expect(() => parseGcpOutputs(outputValues(json({ project: "p" })))).toThrow(/terraform\/gcp outputs lack or mistype: .*service_url/)
    // A sensitive service_url is dropped, so it counts as missing: it would otherwise reach reports.
    const sensitive = Object.fromEntries(AWS_OUTPUTS.map((k) => [k, `${k}-value`]))
    expect(() => parseAwsOutputs(outputValues(json(sensitive, ["service_url"])))).toThrow(/terraform\/aws outputs lack or mistype: service_url/)
    expect(() => outputValues("not json")).toThrow(/did not print JSON/)
  })
})
