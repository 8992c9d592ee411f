// A prettier plugin for .rnn files: `prettier --plugin rnnc/prettier-plugin file.rnn`; the printing is rnnc's own formatter.
import { formatText } from "./format.js";

interface RnnRoot { readonly type: "rnn-file"; readonly text: string; readonly formatted: string }

export const languages = [{ name: "rnn", parsers: ["rnn"], extensions: [".rnn"], vscodeLanguageIds: ["rnn"] }];

export const parsers = {
  rnn: {
    astFormat: "rnn-ast",
    parse(text: string): RnnRoot {
      const r = formatText(text);
      if (r.text === undefined) {
        const d = r.diagnostics[0]!;
        const before = text.slice(0, d.primary.span.start);
        const line = before.split("\n").length;
        const column = before.length - before.lastIndexOf("\n");
        throw Object.assign(new SyntaxError(`${d.message} (${line}:${column})`), { loc: { start: { line, column } } });
      }
      return { type: "rnn-file", text, formatted: r.text };
    },
    locStart: () => 0,
    locEnd: (node: RnnRoot) => node.text.length,
  },
};

export const printers = {
  "rnn-ast": {
    print(path: { getValue(): RnnRoot }): string {
      return path.getValue().formatted;
    },
  },
};

export default { languages, parsers, printers };
