// The nesting and length limits enforced on tokens, before the parser (which recurses once per level and builds a
// tree node per token and level) sees them.
import type { IToken } from "chevrotain";
import { MAX_EXPRESSION_TOKENS, MAX_NESTING } from "../diagnostics/limits.js";
import * as T from "./tokens.js";

/** Tokens after which a `-` is a binary minus (they end an operand). */
const endsOperand = new Set([T.Identifier, T.NumberLiteral, T.RParen, T.RBracket]);
/** Tokens after which an operand starts afresh: the signs in front of the one before are closed. */
const separates = new Set([T.Plus, T.Star, T.Slash, T.Hadamard, T.MatMul, T.Comma, T.Equals, T.Colon, T.Tilde, T.Semicolon, T.LBrace, T.RBrace]);

/**
 * The first token at which brackets and unary minus signs nest deeper than MAX_NESTING, or undefined. Runs over the
 * token list without recursion, so the parser (which recurses once per level) never sees an input deeper than that.
 */
export function tooDeep(tokens: readonly IToken[]): IToken | undefined {
  const signs: number[] = [0]; // unary signs pending at each bracket level
  let open = 0;
  let pending = 0; // the sum of `signs`
  let prev: IToken | undefined;
  for (const t of tokens) {
    const type = t.tokenType;
    if (type === T.LParen || type === T.LBracket) {
      open++;
      signs.push(0);
    } else if (type === T.RParen || type === T.RBracket) {
      if (signs.length > 1) {
        pending -= signs.pop()!;
        open--;
      }
    } else if (type === T.Minus && !(prev && endsOperand.has(prev.tokenType))) {
      signs[signs.length - 1]!++;
      pending++;
    } else if (separates.has(type) || (type === T.Minus && prev) || T.keywords.includes(type)) {
      pending -= signs[signs.length - 1]!;
      signs[signs.length - 1] = 0;
    }
    if (open + pending > MAX_NESTING) return t;
    prev = t;
  }
  return undefined;
}

/** Tokens that end one expression and start the next (an equation's `=`, an initializer's `~`, a type's `:`, a brace). */
const startsExpression = new Set([T.Equals, T.Tilde, T.Colon, T.Semicolon, T.LBrace, T.RBrace]);

/**
 * The first token past MAX_EXPRESSION_TOKENS in one expression (the tokens between one `=`, `~`, `:` or brace and the
 * next), or undefined: an equation of 400,000 tokens would cost the parser ~500 MB before any other
 * limit is reached.
 */
export function tooLong(tokens: readonly IToken[]): IToken | undefined {
  let run = 0;
  for (const t of tokens) {
    if (startsExpression.has(t.tokenType)) run = 0;
    else if (++run > MAX_EXPRESSION_TOKENS) return t;
  }
  return undefined;
}
