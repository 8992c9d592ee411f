// chevrotain, as the parser and lexer load it. In dist/ the build replaces this file by chevrotain's own one-file
// build (src/tools/chevrotain-bundle.ts): the package's entry loads several hundred modules, half a second of every start.
export * from "chevrotain";
