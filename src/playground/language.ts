// The .rnn language for CodeMirror 6: a stream tokenizer (keywords from the lexer's own list, names, numbers, operators, comments) and its highlighting.
import { HighlightStyle, StreamLanguage, syntaxHighlighting, type StreamParser } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import { keywords } from "../syntax/tokens.js";

const KEYWORDS = new Set(keywords.map((k) => k.name.toLowerCase()));
const CONSTRUCTS = new Set(["scan", "map", "apply", "generate", "last", "final", "bidirectional", "concat", "dropout", "zoneout"]);

const parser: StreamParser<{ block: boolean }> = {
  name: "rnn",
  startState: () => ({ block: false }),
  token(stream, state) {
    if (state.block) {
      if (stream.skipTo("*/")) { stream.match("*/"); state.block = false; } else stream.skipToEnd();
      return "comment";
    }
    if (stream.eatSpace()) return null;
    if (stream.match("///")) { stream.skipToEnd(); return "docComment"; }
    if (stream.match("//")) { stream.skipToEnd(); return "lineComment"; }
    if (stream.match("/*")) { state.block = true; return "comment"; }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) return "string";
    if (stream.match(/^\d+(\.\d*)?([eE][+-]?\d+)?/)) return "number";
    const word = stream.match(/^[\p{L}_][\p{L}\p{N}_']*/u) as RegExpMatchArray | null;
    if (word) {
      const w = word[0];
      if (KEYWORDS.has(w)) return "keyword";
      if (CONSTRUCTS.has(w)) return "macroName";
      if (stream.match(/^\s*\[t-\d+\]/, false)) return "variableName.special";
      return /^[A-Z]/.test(w) ? "typeName" : "variableName";
    }
    if (stream.match(/^(->|[@⊙σ+\-*/=~<>:,.()[\]{}^])/u)) return "operator";
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: "//", block: { open: "/*", close: "*/" } } },
};

export const rnnLanguage = StreamLanguage.define(parser);

export const rnnHighlighting = syntaxHighlighting(HighlightStyle.define([
  { tag: tags.keyword, color: "#8a2be2", fontWeight: "bold" },
  { tag: tags.macroName, color: "#b35900" },
  { tag: tags.typeName, color: "#0b6e4f" },
  { tag: tags.number, color: "#1750a0" },
  { tag: tags.string, color: "#a31515" },
  { tag: [tags.lineComment, tags.comment], color: "#7a7a7a", fontStyle: "italic" },
  { tag: tags.docComment, color: "#5b7d5b", fontStyle: "italic" },
  { tag: tags.special(tags.variableName), color: "#2f5f9e", fontWeight: "bold" },
  { tag: tags.operator, color: "#555" },
]));
