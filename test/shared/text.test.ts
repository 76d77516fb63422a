// The text helpers on their own: a cut that marks itself and never splits a character, and line breaks
// folded into one line.
import { describe, expect, it } from "vitest"
import { oneLine, truncate } from "../../dagger/src/shared/text.js"

describe("truncate", () => {
  it("leaves text within the limit alone", () => {
    expect(truncate("abc", 3)).toBe("abc")
    expect(truncate("", 0)).toBe("")
  })

  it("cuts to exactly `max` code units, the last one the cut marker", () => {
    const out = truncate("x".repeat(50), 10)
    expect(out).toBe(`${"x".repeat(9)}…`)
    expect(out.length).toBe(10)
  })

  it("never leaves half a surrogate pair at the cut", () => {
    // The cut falls between the two halves of 😀 (U+1F600, two UTF-16 code units).
    const out = truncate(`abc😀${"x".repeat(20)}`, 5)
    expect(out).toBe("abc…")
    expect(out).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/)
    // A whole pair before the cut is kept.
    expect(truncate(`ab😀${"x".repeat(20)}`, 5)).toBe("ab😀…")
  })

  it("counts UTF-16 code units, as Slack and Discord do", () => {
    expect(truncate("😀😀", 4)).toBe("😀😀")
    expect(truncate("😀😀😀", 4)).toBe("😀…")
  })
})

describe("oneLine", () => {
  it("folds every kind of line break, with the blanks around it, into one space", () => {
    expect(oneLine("  first line  \r\n\n   second\rthird\n")).toBe("first line second third")
    expect(oneLine("no breaks  here")).toBe("no breaks  here")
  })
})
