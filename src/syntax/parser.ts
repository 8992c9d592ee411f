// Grammar-only chevrotain CstParser for .rnn files (normative form: grammar/rnn.ebnf).
import { CstParser, type CstNode, type IRecognitionException, type ILexingError, type IToken } from "./chevrotain.js";
import { tooDeep, tooLong } from "./nesting.js";
import { MAX_SYNTAX_ERRORS } from "../diagnostics/limits.js";
import * as T from "./tokens.js";

/** The parts of chevrotain's parser that its types leave out, used to bound recovery. */
interface ParserInternals {
  recoveryEnabled: boolean;
  readonly _errors: IRecognitionException[];
  SAVE_ERROR(this: ParserInternals, error: IRecognitionException): IRecognitionException;
  attemptInRepetitionRecovery(this: ParserInternals, ...args: unknown[]): void;
}

class RnnParser extends CstParser {
  constructor() {
    super(T.allTokens as any, { recoveryEnabled: true, maxLookahead: 3, nodeLocationTracking: "onlyOffset" });
    this.performSelfAnalysis();
    // Recovery inside a repetition recurses once per error it recovers from: after MAX_SYNTAX_ERRORS errors it is
    // turned off, so the parse ends at the next one (chevrotain's own switch, read on every recovery).
    const internals = this as unknown as ParserInternals;
    const save = internals.SAVE_ERROR;
    internals.SAVE_ERROR = function (this: ParserInternals, error) {
      const saved = save.call(this, error);
      if (this._errors.length >= MAX_SYNTAX_ERRORS) this.recoveryEnabled = false;
      return saved;
    };
    const recover = internals.attemptInRepetitionRecovery;
    internals.attemptInRepetitionRecovery = function (this: ParserInternals, ...args: unknown[]) {
      if (this.recoveryEnabled) recover.apply(this, args);
    };
  }

  /** Starts a parse of `tokens` with recovery on. */
  begin(tokens: IToken[]): void {
    (this as unknown as ParserInternals).recoveryEnabled = true;
    this.input = tokens;
  }

  program = this.RULE("program", () => {
    this.MANY(() => this.OR([
      { ALT: () => this.SUBRULE(this.importDecl) },
      { ALT: () => this.SUBRULE(this.cellDecl) },
      { ALT: () => this.SUBRULE(this.modelDecl) },
    ]));
  });

  modelDecl = this.RULE("modelDecl", () => {
    this.CONSUME(T.Model);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.dimParams));
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.modelItem));
    this.CONSUME(T.RBrace);
  });

  modelItem = this.RULE("modelItem", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.inputDecl) },
      { ALT: () => this.SUBRULE(this.layerDecl) },
      { ALT: () => this.SUBRULE(this.outputDecl) },
      { ALT: () => this.SUBRULE(this.definition) },
    ]);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  layerDecl = this.RULE("layerDecl", () => {
    this.CONSUME(T.Layer);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.CONSUME2(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Less);
      this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) });
      this.CONSUME(T.Greater);
    });
    this.OPTION2(() => this.SUBRULE(this.argumentList));
  });

  importDecl = this.RULE("importDecl", () => {
    this.CONSUME(T.Import);
    this.CONSUME(T.LBrace);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Identifier) });
    this.CONSUME(T.RBrace);
    this.CONSUME(T.From);
    this.CONSUME(T.StringLiteral);
  });

  cellDecl = this.RULE("cellDecl", () => {
    this.CONSUME(T.Cell);
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.dimParams));
    this.OPTION2(() => this.SUBRULE(this.cellOptions));
    this.CONSUME(T.LBrace);
    this.MANY(() => this.SUBRULE(this.cellItem));
    this.CONSUME(T.RBrace);
  });

  dimParams = this.RULE("dimParams", () => {
    this.CONSUME(T.Less);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.dimParam) });
    this.CONSUME(T.Greater);
  });

  dimParam = this.RULE("dimParam", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.CONSUME(T.NumberLiteral);
    });
  });

  cellOptions = this.RULE("cellOptions", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.cellOption) });
    this.CONSUME(T.RParen);
  });

  cellOption = this.RULE("cellOption", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  cellItem = this.RULE("cellItem", () => {
    this.OR([
      { ALT: () => this.SUBRULE(this.inputDecl) },
      { ALT: () => this.SUBRULE(this.stateDecl) },
      { ALT: () => this.SUBRULE(this.paramDecl) },
      { ALT: () => this.SUBRULE(this.layerDecl) },
      { ALT: () => this.SUBRULE(this.gateDef) },
      { ALT: () => this.SUBRULE(this.outputDecl) },
      { ALT: () => this.SUBRULE(this.definition) },
    ]);
    this.OPTION(() => this.CONSUME(T.Semicolon));
  });

  inputDecl = this.RULE("inputDecl", () => {
    this.CONSUME(T.Input);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.shape);
    // Element type (`int` or `float`): a name on the shape's line that does not begin a definition (`v = …`).
    this.OPTION({
      GATE: () => this.LA(1).startLine === this.LA(0).endLine && this.LA(2).tokenType !== T.Equals,
      DEF: () => this.CONSUME2(T.Identifier),
    });
  });

  stateDecl = this.RULE("stateDecl", () => {
    this.CONSUME(T.State);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Colon);
    this.SUBRULE(this.shape);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expression);
    });
  });

  paramDecl = this.RULE("paramDecl", () => {
    this.CONSUME(T.Param);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.CONSUME(T.Identifier) });
    this.CONSUME(T.Colon);
    this.SUBRULE(this.shape);
    this.OPTION(() => {
      this.CONSUME(T.Tilde);
      this.SUBRULE(this.initializer);
    });
  });

  initializer = this.RULE("initializer", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.argumentList));
  });

  gateDef = this.RULE("gateDef", () => {
    this.CONSUME(T.Gate);
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  outputDecl = this.RULE("outputDecl", () => {
    this.CONSUME(T.Output);
    this.AT_LEAST_ONE_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.outputItem) });
  });

  outputItem = this.RULE("outputItem", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => {
      this.CONSUME(T.Equals);
      this.SUBRULE(this.expression);
    });
  });

  definition = this.RULE("definition", () => {
    this.CONSUME(T.Identifier);
    this.CONSUME(T.Equals);
    this.SUBRULE(this.expression);
  });

  shape = this.RULE("shape", () => {
    this.CONSUME(T.LBracket);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.expression) });
    this.CONSUME(T.RBracket);
  });

  expression = this.RULE("expression", () => {
    this.SUBRULE(this.multiplicative);
    this.MANY(() => {
      this.OR([{ ALT: () => this.CONSUME(T.Plus) }, { ALT: () => this.CONSUME(T.Minus) }]);
      this.SUBRULE2(this.multiplicative);
    });
  });

  multiplicative = this.RULE("multiplicative", () => {
    this.SUBRULE(this.unary);
    this.MANY(() => {
      this.OR([
        { ALT: () => this.CONSUME(T.Star) },
        { ALT: () => this.CONSUME(T.Slash) },
        { ALT: () => this.CONSUME(T.Hadamard) },
        { ALT: () => this.CONSUME(T.MatMul) },
      ]);
      this.SUBRULE2(this.unary);
    });
  });

  unary = this.RULE("unary", () => {
    this.OR([
      { ALT: () => { this.CONSUME(T.Minus); this.SUBRULE(this.unary); } },
      { ALT: () => this.SUBRULE(this.postfix) },
    ]);
  });

  postfix = this.RULE("postfix", () => {
    this.SUBRULE(this.primary);
    this.MANY(() => this.OR([
      { ALT: () => this.SUBRULE(this.indexSuffix) },
      { ALT: () => this.SUBRULE(this.fieldSuffix) },
    ]));
  });

  fieldSuffix = this.RULE("fieldSuffix", () => {
    this.CONSUME(T.Dot);
    this.CONSUME(T.Identifier);
  });

  indexSuffix = this.RULE("indexSuffix", () => {
    this.CONSUME(T.LBracket);
    this.OPTION(() => this.SUBRULE(this.expression));
    this.OPTION2(() => {
      this.CONSUME(T.Colon);
      this.OPTION3(() => this.SUBRULE2(this.expression));
    });
    this.CONSUME(T.RBracket);
  });

  primary = this.RULE("primary", () => {
    this.OR([
      { ALT: () => this.CONSUME(T.NumberLiteral) },
      { ALT: () => this.SUBRULE(this.nameOrCall) },
      { ALT: () => {
        this.CONSUME(T.LParen);
        this.SUBRULE(this.expression);
        this.CONSUME(T.RParen);
      } },
    ]);
  });

  nameOrCall = this.RULE("nameOrCall", () => {
    this.CONSUME(T.Identifier);
    this.OPTION(() => this.SUBRULE(this.argumentList));
  });

  argumentList = this.RULE("argumentList", () => {
    this.CONSUME(T.LParen);
    this.MANY_SEP({ SEP: T.Comma, DEF: () => this.SUBRULE(this.argument) });
    this.CONSUME(T.RParen);
  });

  argument = this.RULE("argument", () => {
    this.OPTION(() => {
      this.CONSUME(T.Identifier);
      this.CONSUME(T.Equals);
    });
    this.SUBRULE(this.expression);
  });
}

/** The single reused parser instance (chevrotain parsers are expensive to build). */
export const parser = new RnnParser();

export interface CstResult {
  cst: CstNode;
  tokens: IToken[];
  comments: IToken[];
  lexErrors: ILexingError[];
  parseErrors: IRecognitionException[];
  /** The token at which brackets and signs nest past MAX_NESTING: the text is then not parsed at all. */
  tooDeep?: IToken;
  /** The token at which one expression runs past MAX_EXPRESSION_TOKENS: the text is then not parsed at all. */
  tooLong?: IToken;
}

/** Lexes and parses one file into a concrete syntax tree; errors are returned, never thrown. */
export function parseCst(text: string): CstResult {
  const lexed = T.rnnLexer.tokenize(text);
  const deep = tooDeep(lexed.tokens);
  const long = deep ? undefined : tooLong(lexed.tokens);
  parser.begin(deep || long ? [] : lexed.tokens);
  // A parse that ran out of recovery (MAX_SYNTAX_ERRORS) ends with no tree: the declarations in it are not read.
  const cst: CstNode = parser.program() ?? { name: "program", children: {} };
  return {
    cst,
    tokens: lexed.tokens,
    comments: (lexed.groups["comments"] ?? []) as IToken[],
    lexErrors: lexed.errors,
    parseErrors: [...parser.errors],
    ...(deep ? { tooDeep: deep } : {}),
    ...(long ? { tooLong: long } : {}),
  };
}
