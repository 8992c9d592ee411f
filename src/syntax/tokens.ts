// Lexical tokens of the .rnn language, in the order the lexer tries them.
import { createToken, Lexer, type TokenType } from "./chevrotain.js";

// Letters of any script (σ, Greek names from papers), digits, underscores and primes. Chevrotain drops
// the `u` flag of pattern regexes, so the Unicode classes are matched by a custom matcher.
const identifierRegex = /[\p{L}_][\p{L}\p{N}_']*/uy;
export const Identifier = createToken({
  name: "Identifier",
  pattern: {
    exec(text: string, offset: number): RegExpExecArray | null {
      identifierRegex.lastIndex = offset;
      return identifierRegex.exec(text);
    },
  },
  line_breaks: false,
});

const keyword = (word: string): TokenType =>
  createToken({ name: word[0]!.toUpperCase() + word.slice(1), pattern: new RegExp(word), longer_alt: Identifier });

export const WhiteSpace = createToken({ name: "WhiteSpace", pattern: /[ \t\r\n\u00a0]+/, group: Lexer.SKIPPED, line_breaks: true });
export const DocComment = createToken({ name: "DocComment", pattern: /\/\/\/[^\n\r]*/, group: "comments" });
export const LineComment = createToken({ name: "LineComment", pattern: /\/\/[^\n\r]*/, group: "comments" });
export const BlockComment = createToken({ name: "BlockComment", pattern: /\/\*[\s\S]*?\*\//, group: "comments", line_breaks: true });

export const Import = keyword("import");
export const From = keyword("from");
export const Cell = keyword("cell");
export const Model = keyword("model");
export const Input = keyword("input");
export const State = keyword("state");
export const Param = keyword("param");
export const Gate = keyword("gate");
export const Output = keyword("output");
export const Layer = keyword("layer");

export const NumberLiteral = createToken({ name: "NumberLiteral", pattern: /(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/ });
export const StringLiteral = createToken({ name: "StringLiteral", pattern: /"(?:[^"\\\n\r]|\\.)*"/ });

export const MatMul = createToken({ name: "MatMul", pattern: /@|·/ });
export const Hadamard = createToken({ name: "Hadamard", pattern: /⊙|∘/ });
export const Star = createToken({ name: "Star", pattern: /\*/ });
export const Slash = createToken({ name: "Slash", pattern: /\// });
export const Plus = createToken({ name: "Plus", pattern: /\+/ });
export const Minus = createToken({ name: "Minus", pattern: /-|−/ });
export const Tilde = createToken({ name: "Tilde", pattern: /~/ });
export const Equals = createToken({ name: "Equals", pattern: /=/ });
export const Colon = createToken({ name: "Colon", pattern: /:/ });
export const Comma = createToken({ name: "Comma", pattern: /,/ });
export const Semicolon = createToken({ name: "Semicolon", pattern: /;/ });
export const LParen = createToken({ name: "LParen", pattern: /\(/ });
export const RParen = createToken({ name: "RParen", pattern: /\)/ });
export const LBracket = createToken({ name: "LBracket", pattern: /\[/ });
export const RBracket = createToken({ name: "RBracket", pattern: /\]/ });
export const LBrace = createToken({ name: "LBrace", pattern: /\{/ });
export const RBrace = createToken({ name: "RBrace", pattern: /\}/ });
export const Less = createToken({ name: "Less", pattern: /</ });
export const Greater = createToken({ name: "Greater", pattern: />/ });
export const Dot = createToken({ name: "Dot", pattern: /\./ });

export const keywords: readonly TokenType[] = [Import, From, Cell, Model, Input, State, Param, Gate, Output, Layer];

/** Every token, in the order the lexer tries them (comments before operators, keywords before names). */
export const allTokens: readonly TokenType[] = [
  WhiteSpace, DocComment, LineComment, BlockComment,
  ...keywords, Identifier,
  NumberLiteral, StringLiteral,
  MatMul, Hadamard, Star, Slash, Plus, Minus, Tilde, Equals, Colon, Comma, Semicolon,
  LParen, RParen, LBracket, RBracket, LBrace, RBrace, Less, Greater, Dot,
];

export const rnnLexer = new Lexer(allTokens as TokenType[], { positionTracking: "full", ensureOptimizations: false });
