// Text from a spec made safe to place in generated comments: no line breaks out of a line comment, no `*/` out of a block comment.

/** For a `//` comment: control characters and line separators become spaces. */
export function lineSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, " ");
}

/** For a `/** … *\/` comment: each line prefixed, `*\/` broken up, `@` not read as a tag. */
export function docComment(lines: readonly string[], indent = ""): string {
  const body = lines.flatMap((l) => l.split(/\r\n|\r|\n|\u2028|\u2029/)).map((l) => l.replace(/\*\//g, "*\\/").replace(/@/g, "\\@").replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, " "));
  return [`${indent}/**`, ...body.map((l) => `${indent} * ${l}`.trimEnd()), `${indent} */`].join("\n");
}
