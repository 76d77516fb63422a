// Terminal output made fit for reports: the sequences tools really print (vitest's colours, trivy's
// coloured log levels, npm's progress, hyperlinks) vanish; the text around them stays exactly as it was.
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { stripTerminalCodes } from "../../dagger/src/shared/terminal.js"
import { repoRoot } from "../tools/paths.js"

const ESC = "\x1b"

describe("stripTerminalCodes", () => {
  it("turns a real coloured vitest run into the text a terminal shows", () => {
    const coloured = readFileSync(join(repoRoot, "test/fixtures/vitest/coloured-run.txt"), "utf8")
    expect(coloured).toContain(ESC)
    expect(stripTerminalCodes(coloured).split("\n")).toEqual([
      "",
      " RUN  v4.1.12 /work/main",
      "",
      " ✓ test/shared/terminal.test.ts (13 tests) 5ms",
      "",
      " Test Files  1 passed (1)",
      "      Tests  13 passed (13)",
      "   Start at  09:17:56",
      "   Duration  207ms (transform 30ms, setup 0ms, import 41ms, tests 5ms, environment 0ms)",
      "",
    ])
  })

  it.each([
    // 256-colour and truecolour parameters, a private-mode CSI (hide cursor), erase-line.
    [`${ESC}[38;5;196mred${ESC}[0m ${ESC}[38;2;255;0;0mrgb${ESC}[m`, "red rgb"],
    [`${ESC}[?25lbusy${ESC}[?25h${ESC}[2K`, "busy"],
    // OSC 8 hyperlink with either terminator, and a window title.
    [`see ${ESC}]8;;https://example.test/doc${ESC}\\the docs${ESC}]8;;${ESC}\\ now`, "see the docs now"],
    [`${ESC}]0;npm ci\x07done`, "done"],
    // DCS and APC strings, charset and keypad escapes, 8-bit CSI.
    [`a${ESC}P1$r0m${ESC}\\b${ESC}_x${ESC}\\c`, "abc"],
    [`${ESC}(B${ESC}7x${ESC}8${ESC}=y${ESC}>`, "xy"],
    ["\x9b31mC1\x9b0m", "C1"],
    // A tail cut in the middle of a sequence leaks nothing of it.
    [`ok${ESC}[3`, "ok"],
    [`ok${ESC}]8;;https://cut.example`, "ok"],
  ])("%j → %j", (input, expected) => {
    expect(stripTerminalCodes(input)).toBe(expected)
  })

  it("keeps what a progress bar drew last, turns CRLF into LF and drops stray controls", () => {
    expect(stripTerminalCodes("10%\r55%\r100%\ndone\r\nnext\x07\x08\x00 end\r")).toBe("100%\ndone\nnext end")
  })

  it("leaves plain text — tabs, newlines, non-ASCII, brackets — exactly as it was", () => {
    const text = "| Step | ✅ PASS |\n\tCVE-2099-2001  cross-spawn@7.0.3 → 7.0.5 [2 places]\nÄrger [32m no escape\n"
    expect(stripTerminalCodes(text)).toBe(text)
  })
})
