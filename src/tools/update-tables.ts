// `npm run tables:update`: rewrites grammar/README.md's builtin table and the TextMate grammar's builtin pattern from the op table.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { grammarWithBuiltins, readmeWithTable } from "./tables.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const update = (file: string, f: (text: string) => string): void => {
  const path = join(root, file);
  const before = readFileSync(path, "utf8");
  const after = f(before);
  if (after !== before) writeFileSync(path, after);
  console.log(`${file}: ${after === before ? "up to date" : "updated"}`);
};
update("grammar/README.md", readmeWithTable);
update(join("grammar", "rnn.tmLanguage.json"), grammarWithBuiltins);
