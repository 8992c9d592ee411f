// The language's documented size limits (src/cli/README.md "Limits"), checked before anything that could recurse or allocate past them.

/** Brackets `(` `[` and unary minus signs open at one point of an expression. */
export const MAX_NESTING = 64;
/** Levels of an expression's tree: each operator of a chain `a + b + c …` is one level, as are brackets and signs. */
export const MAX_EXPRESSION_DEPTH = 256;
/** Syntax errors reported in one top-level declaration: past them the rest of it is not read. */
export const MAX_SYNTAX_ERRORS = 100;
/** Tokens of one expression (the right side of an equation, a layer, an output): the parser's tree for each costs ~1 KB. */
export const MAX_EXPRESSION_TOKENS = 16_384;
/** Declarations (inputs, states, params, gates, layers, outputs, definitions) in one cell or model. */
export const MAX_DECLARATIONS = 10_000;
/** Characters in one .rnn file (1 MiB of ASCII text). */
export const MAX_SOURCE_CHARS = 1 << 20;
/** Bytes a host reads of a file at most: more than any text within MAX_SOURCE_CHARS takes in UTF-8. */
export const MAX_SOURCE_READ = 4 * MAX_SOURCE_CHARS + 4;
/** Elements of any one tensor a spec's dimensions imply (params, states, inputs, every value of a step: 256 MiB of floats). */
export const MAX_TENSOR_ELEMENTS = 1 << 26;
/** Elements of all of a spec's params and one example's step values together (1 GiB of floats). */
export const MAX_TOTAL_ELEMENTS = 1 << 28;
/** Hypotheses a beam search keeps per example at most (generate's `beam`, eval's --beam): each step extends every one by every token. */
export const MAX_BEAM = 4096;
