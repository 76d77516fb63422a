// Tool output is written for a terminal: colour codes, cursor moves, hyperlinks, progress bars redrawn
// with carriage returns. A report, an artifact or a notification is not a terminal — a GitHub job summary
// or a Slack message shows those bytes as garbage — so every text that came from a tool passes through
// `stripTerminalCodes` before it is put into one.
//
// Recognised (ECMA-48 / xterm): CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, the string controls DCS, SOS,
// PM and APC `ESC P|X|^|_ … ST`, two- and three-byte escapes (`ESC ( B`, `ESC 7`, `ESC =`), their 8-bit C1
// forms, and any other control character except tab and newline. Printable text, including non-ASCII,
// is kept byte for byte.

// One alternation, tried left to right at each ESC or C1 byte:
// - string controls: opener, then anything up to the string terminator (BEL, ESC \ or 8-bit ST), or to
//   the end when the terminator is missing (a cut-off tail must not leak the rest of the sequence);
// - CSI: parameter bytes 0x30–0x3F, intermediate bytes 0x20–0x2F, one final byte 0x40–0x7E;
// - other escapes: intermediates, then one final byte 0x30–0x7E;
// - a lone ESC or C1 control.
const ESCAPE_SEQUENCE = new RegExp(
  [
    "(?:\\x1b[\\]PX^_]|[\\x90\\x98\\x9d\\x9e\\x9f])[^\\x07\\x1b\\x9c]*(?:\\x07|\\x1b\\\\|\\x9c|$)",
    "(?:\\x1b\\[|\\x9b)[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]?",
    "\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]?",
    "[\\x80-\\x9f]",
  ].join("|"),
  "g",
)

// C0 controls and DEL, except tab (\x09) and newline (\x0a); carriage returns are handled before.
const OTHER_CONTROL = /[\x00-\x08\x0b-\x1f\x7f]/g

/**
 * `text` without terminal escape sequences or control characters, fit for a report. A carriage return
 * that redraws a line (progress bars) keeps only what was drawn last; CRLF becomes LF.
 */
export function stripTerminalCodes(text: string): string {
  return text
    .replace(ESCAPE_SEQUENCE, "")
    .replace(/\r+\n/g, "\n")
    .split("\n")
    .map((line) => {
      const drawn = line.replace(/\r+$/, "")
      return drawn.slice(drawn.lastIndexOf("\r") + 1)
    })
    .join("\n")
    .replace(OTHER_CONTROL, "")
}
