// The Perk grammar (spec §1-§3): one combined lexer and parser, read only by ast_builder.cpp.
grammar Perk;

// ---------------------------------------------------------------- parser

program: header decl* EOF;
// The REPL's entry point.
exprOnly: expr EOF;

header: PROGRAM name=str;

decl
  : currencyDecl
  | timezoneDecl
  | eventDecl
  | clientDecl
  | walletDecl
  | varDecl
  | paramDecl
  | tierDecl
  | segmentDecl
  | ruleDecl
  | revenueDecl
  ;

currencyDecl: CURRENCY code=IDENT;
// [v0.2] An IANA time zone name; the checker loads it.
timezoneDecl: TIMEZONE name=str;
// Commas between fields are optional, and so is a trailing one.
eventDecl: EVENT name=IDENT LBRACE (fieldDecl COMMA?)* RBRACE;
clientDecl: CLIENT LBRACE (fieldDecl COMMA?)* RBRACE;
fieldDecl: name=fieldName COLON typeRef (ASSIGN value=expr)?;
walletDecl: WALLET name=IDENT COLON typeRef (WORTH worth=expr)? (EXPIRES AFTER expiry=duration)?;
varDecl: VAR name=IDENT COLON typeRef ASSIGN value=expr;
paramDecl: PARAM name=IDENT (COLON typeRef)? ASSIGN value=expr;
tierDecl: TIER name=IDENT (WHEN cond=expr (HOLD hold=duration)?)?;
segmentDecl: SEGMENT name=IDENT WHEN cond=expr;
// [v0.2] A money field that is the broker's revenue, for reports (C12); it changes no effect.
revenueDecl: REVENUE event=IDENT DOT field=word (WHERE cond=expr)?;

// [v0.2] `client`: a client, by id (event fields and client attributes).
typeRef: INT | DECIMAL | MONEY | BOOL | STRING | TIME | DATE | TIER | CLIENT;

// The clauses come in any order; the builder reports one given twice.
ruleDecl: RULE name=IDENT label=str? renaming? trigger clause* THEN action* END;

// `renamed from OLD`: the rule carries OLD's history in the state (docs/state.md). The two
// words are not keywords, so that `from` stays usable as a name; the builder checks them, and
// the later words are optional so that a stray word is one error the builder words.
renaming: renamed=IDENT (from=IDENT old=IDENT?)?;

// Written so every choice is made on one token: errors then name exactly what was expected.
trigger
  : ON (event=IDENT reversed=REVERSED? | changed=TIER_CHANGED | (entering=ENTERING | leaving=LEAVING) segment=IDENT)
  | EVERY (DAY | WEEK | MONTH)
  ;

clause
  : WHEN cond=expr                                           # WhenClause
  // `per client`, or [v0.2] `per KEY` with KEY an expression over the trigger event's fields.
  | LIMIT (ONCE | count=primary) PER (CLIENT | key=expr) (WITHIN window=windowSpec)?  # LimitClause
  // [v0.2] `per client` and `partial`; a rule may have one campaign and one per-client budget.
  | BUDGET amount=expr (PER perClient=CLIENT)? (WITHIN window=windowSpec)? PARTIAL?  # BudgetClause
  ;

action
  : CREDIT target=IDENT amount=expr (PENDING pendingFor=duration)?  # CreditAction
  | DEBIT target=IDENT amount=expr      # DebitAction
  | SET target=IDENT ASSIGN value=expr  # SetAction
  | NOTIFY tmpl=str dataMap?            # NotifyAction
  | GRANT badge=str                     # GrantAction
  | EMIT name=str dataMap?              # EmitAction
  | SEND event=IDENT TO to=expr dataMap?  # SendAction
  // The else branch is a plain action list: `else if ... end end` nests.
  | IF cond=expr THEN thenActions+=action* (ELSE elseActions+=action*)? END  # IfAction
  ;

dataMap: LBRACE (dataEntry COMMA?)* RBRACE;
// A data key is any word (`{ tier: tier, from: previous_tier }`): keys are only ever sent out.
dataEntry: key=word COLON value=expr;

// ---- expressions, lowest precedence first

// `if c then a else b` has the lowest precedence: its else branch runs to the end of the
// expression. It is parsed as a primary (see below) so that `1 + if ...` parses too and the
// builder can ask for parentheses in one clear error, instead of a cascade.
expr: orExpr;
orExpr: operands+=andExpr (ops+=OR operands+=andExpr)*;
andExpr: operands+=notExpr (ops+=AND operands+=notExpr)*;
notExpr
  : NOT operand=notExpr  # Not
  | comparison           # PlainNot
  ;
// Comparisons and `in` do not chain: `a < b < c` is a syntax error. `x is set` and
// `x is not set` (v0.2) bind like comparisons.
comparison
  : left=otherwise (op=(EQ | NE | LT | LE | GT | GE) right=otherwise
                   | IN LBRACKET (items+=expr (COMMA items+=expr)*)? RBRACKET
                   | IS negated=NOT? SET)?
  ;
// `x otherwise y` (v0.2): looser than arithmetic, tighter than comparisons; it groups to the
// right, so `a otherwise b otherwise c` tries a, then b, then c.
otherwise: operands+=additive (OTHERWISE operands+=additive)*;
additive: operands+=multiplicative (ops+=(PLUS | MINUS) operands+=multiplicative)*;
multiplicative: operands+=unary (ops+=(STAR | SLASH | MOD) operands+=unary)*;
unary
  : MINUS operand=unary  # Negate
  | postfix              # PlainUnary
  ;
postfix: base=primary (DOT fields+=word)*;

// A number may carry a currency (`250.50 USD`: money) or a unit (`30 days`: a duration).
// Calls share their alternative with plain names, so every choice here is made on one token.
primary
  : value=(INT_LIT | DECIMAL_LIT) (currency=IDENT | unit=durationUnit)?  # NumberLit
  | PERCENT_LIT                                 # PercentLit
  | str                                         # StringLit
  | (TRUE | FALSE)                              # BoolLit
  | DATE_LIT                                    # DateLit
  | TIME_LIT                                    # TimeLit
  // `n days` (v0.2): an int param as the count of a duration.
  | callee=IDENT (LPAREN (args+=expr (COMMA args+=expr)*)? RPAREN | unit=durationUnit)?  # NameOrCall
  // `date` is a type name and a function.
  | callee=DATE LPAREN (args+=expr (COMMA args+=expr)*)? RPAREN           # DateCall
  // [v0.2] The calendar functions are keywords (`year`, `month`, `day`, `hour`, `minute`)
  // that act as functions when followed by `(`.
  | callee=(YEAR | MONTH | DAY | HOUR | MINUTE) LPAREN (args+=expr (COMMA args+=expr)*)? RPAREN  # CalendarCall
  // [v0.2] `pending(W)`: `pending` is a keyword (`credit W x pending D`) and a function.
  | callee=PENDING LPAREN (args+=expr (COMMA args+=expr)*)? RPAREN        # PendingCall
  | agg=(COUNT | SUM | AVG | HIGHEST | LOWEST)
      LPAREN event=IDENT (DOT field=word)? (WHERE filter=expr)? (WITHIN window=windowSpec)?
      RPAREN                                    # Aggregate
  | CLIENT                                      # ClientRef
  | TIER                                        # TierRef
  | PREVIOUS_TIER                               # PreviousTierRef
  | NOW                                         # NowRef
  | TODAY                                       # TodayRef
  | LPAREN inner=expr RPAREN                    # Paren
  | IF cond=expr THEN yes=expr ELSE no=expr     # IfExpr
  ;

// v0.2: the count may be an int param (`within n days`), or the whole duration a duration
// param (`within inactive`).
duration: count=INT_LIT unit=durationUnit | param=IDENT unit=durationUnit?;
// [v0.2] `within previous 1 month`: the whole units before the current one.
windowSpec: previous=PREVIOUS? span=duration;
durationUnit: MINUTE | MINUTES | HOUR | HOURS | DAY | DAYS | WEEK | WEEKS | MONTH | MONTHS | YEAR | YEARS;
// An unterminated string still parses as a string, so one missing quote is one error (the
// builder reports it) rather than a cascade.
str: STRING_LIT | UNTERMINATED_STRING;

// A declared field or data key may be a keyword (`date: date`), since `x.date` reads it back;
// but not one that starts a declaration, rule part or action, nor an operator or value: an
// unclosed `{` then ends at the next declaration instead of swallowing the rest of the file.
// (`client` stays, so the checker can say it is a built-in field.)
fieldName
  : IDENT | CLIENT | ONCE | PER | WITHIN | HOLD | NOW | TODAY | TIER_CHANGED | PREVIOUS_TIER
  | COUNT | SUM | AVG | HIGHEST | LOWEST | WHERE
  | INT | DECIMAL | MONEY | BOOL | STRING | TIME | DATE
  | MINUTE | MINUTES | HOUR | HOURS | DAY | DAYS | WEEK | WEEKS
  | MONTH | MONTHS | YEAR | YEARS | PREVIOUS | PARTIAL | ENTERING | LEAVING | REVERSED
  | PENDING | EXPIRES | AFTER | WORTH | TO | DURATION
  ;

// After `.` any word names a field, keywords included (`deposit.time`, `client.id`).
word
  : IDENT
  | PROGRAM | CURRENCY | EVENT | CLIENT | WALLET | VAR | PARAM | TIER | SEGMENT | RULE
  | ON | WHEN | THEN | END | EVERY | DAY | LIMIT | ONCE | PER | WITHIN | BUDGET | HOLD
  | CREDIT | DEBIT | SET | NOTIFY | GRANT | EMIT | IF | ELSE | AND | OR | NOT | IN | MOD
  | TRUE | FALSE | NOW | TODAY | TIER_CHANGED | PREVIOUS_TIER
  | COUNT | SUM | AVG | HIGHEST | LOWEST | WHERE
  | INT | DECIMAL | MONEY | BOOL | STRING | TIME | DATE
  | MINUTE | MINUTES | HOUR | HOURS | DAYS | WEEK | WEEKS
  | TIMEZONE | MONTH | MONTHS | YEAR | YEARS | PREVIOUS | PARTIAL | SEND | TO | IS | OTHERWISE
  | ENTERING | LEAVING | REVERSED | PENDING | EXPIRES | AFTER | WORTH | REVENUE | DURATION
  ;

// ---------------------------------------------------------------- lexer

// Keywords (spec §1) come before IDENT so that they win ties of equal length; the first is
// `program` and the last `duration` (ast_builder.cpp's IsKeyword reads that range).
PROGRAM: 'program';
CURRENCY: 'currency';
EVENT: 'event';
CLIENT: 'client';
WALLET: 'wallet';
VAR: 'var';
PARAM: 'param';
TIER: 'tier';
SEGMENT: 'segment';
RULE: 'rule';
ON: 'on';
WHEN: 'when';
THEN: 'then';
END: 'end';
EVERY: 'every';
DAY: 'day';
LIMIT: 'limit';
ONCE: 'once';
PER: 'per';
WITHIN: 'within';
BUDGET: 'budget';
HOLD: 'hold';
CREDIT: 'credit';
DEBIT: 'debit';
SET: 'set';
NOTIFY: 'notify';
GRANT: 'grant';
EMIT: 'emit';
IF: 'if';
ELSE: 'else';
AND: 'and';
OR: 'or';
NOT: 'not';
IN: 'in';
MOD: 'mod';
TRUE: 'true';
FALSE: 'false';
NOW: 'now';
TODAY: 'today';
TIER_CHANGED: 'tier_changed';
PREVIOUS_TIER: 'previous_tier';
COUNT: 'count';
SUM: 'sum';
AVG: 'avg';
HIGHEST: 'highest';
LOWEST: 'lowest';
WHERE: 'where';
INT: 'int';
DECIMAL: 'decimal';
MONEY: 'money';
BOOL: 'bool';
STRING: 'string';
TIME: 'time';
DATE: 'date';
MINUTE: 'minute';
MINUTES: 'minutes';
HOUR: 'hour';
HOURS: 'hours';
DAYS: 'days';
WEEK: 'week';
WEEKS: 'weeks';
// [v0.2] keywords (spec §1).
TIMEZONE: 'timezone';
MONTH: 'month';
MONTHS: 'months';
YEAR: 'year';
YEARS: 'years';
PREVIOUS: 'previous';
PARTIAL: 'partial';
SEND: 'send';
TO: 'to';
IS: 'is';
OTHERWISE: 'otherwise';
ENTERING: 'entering';
LEAVING: 'leaving';
REVERSED: 'reversed';
PENDING: 'pending';
EXPIRES: 'expires';
AFTER: 'after';
WORTH: 'worth';
REVENUE: 'revenue';
DURATION: 'duration';

// Dates and times win over subtraction by longest match (`2026-03-01` is one token). Seconds
// and the zone are optional here so that `2026-03-01T10:00` gets a clear BadLiteral from the
// builder instead of a confusing run of tokens.
TIME_LIT: DATE_PART 'T' D D ':' D D (':' D D ('.' D+)?)? ('Z' | [+-] D D ':' D D)?;
DATE_LIT: DATE_PART;
PERCENT_LIT: DIGITS ('.' DIGITS)? '%';
DECIMAL_LIT: DIGITS '.' DIGITS;
INT_LIT: DIGITS;
STRING_LIT: '"' STRING_CHAR* '"';
// A string cut off by the end of its line; longest match prefers STRING_LIT when it closes.
UNTERMINATED_STRING: '"' STRING_CHAR* '\\'?;

IDENT: [\p{L}_] [\p{L}\p{Mn}\p{Mc}\p{Nd}_]*;

EQ: '==';
NE: '!=';
LE: '<=';
GE: '>=';
LT: '<';
GT: '>';
ASSIGN: '=';
PLUS: '+';
MINUS: '-';
STAR: '*';
SLASH: '/';
LPAREN: '(';
RPAREN: ')';
LBRACE: '{';
RBRACE: '}';
LBRACKET: '[';
RBRACKET: ']';
COMMA: ',';
COLON: ':';
DOT: '.';
// Operators from spreadsheets and code: they read as the keyword, so parsing goes on, and the
// builder reports each one with the word to write instead.
AND_SYMBOL: '&&' -> type(AND);
OR_SYMBOL: '||' -> type(OR);
NOT_SYMBOL: '!' -> type(NOT);

// Comments ride the hidden channel, like stray characters: the parser never sees them, and
// `perk fmt` gets them back in place from the token stream (docs/fmt.md).
COMMENT: '#' ~[\r\n]* -> channel(HIDDEN);
WS: [ \t\r\n\f]+ -> skip;
// Any other character: hidden from the parser (so it causes no cascade) and reported by the
// builder with a message about that character.
BAD_CHAR: . -> channel(HIDDEN);

fragment D: [0-9];
fragment DIGITS: D ('_'? D)*;
fragment DATE_PART: D D D D '-' D D '-' D D;
// Escapes are checked and decoded by the builder; here a backslash takes any next character.
fragment STRING_CHAR: ~["\\\r\n] | '\\' ~[\r\n];
