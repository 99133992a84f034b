#!/usr/bin/env node
// Checks the VS Code extension's TextMate grammar (editors/vscode/syntaxes/perk.tmLanguage.json)
// against Perk's own grammar: every keyword of grammar/Perk.g4 is scoped as a keyword, and on
// every .perk program in the repository each token a small reference lexer (following Perk.g4's
// lexer rules) finds is scoped as intended: keywords, strings, numbers, money, durations,
// dates, comments, names; and nothing but stray characters is left without a scope.
//
// usage: node tests/textmate/test_grammar.js   (after `npm install` in tests/textmate)
// Prints `ok`/`FAIL` per program and `N passed, N failed`; exits 1 on any failure.
'use strict';
const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const ROOT = path.resolve(__dirname, '..', '..');
const GRAMMAR = path.join(ROOT, 'editors', 'vscode', 'syntaxes', 'perk.tmLanguage.json');

// The keywords, from the lexer rules between PROGRAM and DURATION (as ast_builder.cpp reads them).
function grammarKeywords() {
  const g4 = fs.readFileSync(path.join(ROOT, 'grammar', 'Perk.g4'), 'utf8');
  const rules = [...g4.matchAll(/^([A-Z_]+): '([a-z_]+)';$/gm)];
  const first = rules.findIndex((m) => m[1] === 'PROGRAM');
  const last = rules.findIndex((m) => m[1] === 'DURATION');
  if (first < 0 || last < first) throw new Error('cannot find the keywords in Perk.g4');
  return rules.slice(first, last + 1).map((m) => m[2]);
}
const KEYWORDS = new Set(grammarKeywords());
const UNITS = new Set(['minute', 'minutes', 'hour', 'hours', 'day', 'days', 'week', 'weeks', 'month', 'months',
  'year', 'years']);

// A reference lexer after Perk.g4's lexer rules; a token is {kind, text, line, col}.
const LEX = [
  ['comment', /#[^\r\n]*/y],
  ['string', /"(?:[^"\\\r\n]|\\[^\r\n])*"?/y],
  ['time', /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?/y],
  ['date', /\d{4}-\d{2}-\d{2}/y],
  ['percent', /\d(?:_?\d)*(?:\.\d(?:_?\d)*)?%/y],
  ['decimal', /\d(?:_?\d)*\.\d(?:_?\d)*/y],
  ['int', /\d(?:_?\d)*/y],
  ['ident', /[\p{L}_][\p{L}\p{Mn}\p{Mc}\p{Nd}_]*/uy],
  ['op', /==|!=|<=|>=|&&|\|\||[<>=+\-*/!]/y],
  ['punct', /[{}\[\](),:.]/y],
];

function lex(line, lineNo) {
  const tokens = [];
  let i = 0;
  while (i < line.length) {
    const ws = /[ \t\r\f]+/y;
    ws.lastIndex = i;
    if (ws.exec(line)) { i = ws.lastIndex; continue; }
    let token = null;
    for (const [kind, re] of LEX) {
      re.lastIndex = i;
      const m = re.exec(line);
      if (m && m[0].length > 0) { token = { kind, text: m[0], line: lineNo, col: i }; break; }
    }
    if (!token) {
      const cp = String.fromCodePoint(line.codePointAt(i));
      token = { kind: 'bad', text: cp, line: lineNo, col: i };
    }
    if (token.kind === 'ident' && KEYWORDS.has(token.text)) token.kind = 'keyword';
    tokens.push(token);
    i += token.text.length;
  }
  return tokens;
}

const KEYWORD_SCOPE = /^(keyword|storage|support|constant\.language|variable\.language)\./;

// What scope a token must carry, from the token and its neighbours on the line.
function expectation(tokens, k) {
  const t = tokens[k], prev = tokens[k - 1], next = tokens[k + 1], next2 = tokens[k + 2];
  const number = (x) => x && (x.kind === 'int' || x.kind === 'decimal');
  const currency = (x) => x && x.kind === 'ident' && /^[A-Z]{3}$/.test(x.text);
  const unit = (x) => x && x.kind === 'keyword' && UNITS.has(x.text);
  switch (t.kind) {
    case 'comment': return [/^comment\.line/, 'a comment'];
    case 'string': return [/^string\.quoted/, 'a string'];
    case 'time': case 'date': return [/^constant\.other\.(time|date)/, 'a date or time'];
    case 'percent': return [/^constant\.numeric\.percent/, 'a percentage'];
    case 'int': case 'decimal':
      if (currency(next)) return [/^constant\.numeric\.money/, 'money'];
      if (t.kind === 'int' && unit(next)) return [/^constant\.numeric\.duration/, 'a duration'];
      return [/^constant\.numeric/, 'a number'];
    case 'keyword':
      if (prev && prev.text === '.') return [/^variable\.other\.property/, 'a field'];
      // A field or data key named like a keyword (`date: date`), or a misnamed declaration.
      if (next && next.text === ':') return [/^(variable\.other\.property|entity\.name)/, 'a field'];
      if (unit(t) && t.kind === 'keyword' && prev && prev.kind === 'int') return [/^constant\.numeric\.duration/, 'a duration'];
      return [KEYWORD_SCOPE, 'a keyword'];
    case 'ident':
      if (currency(t) && number(prev)) return [/^constant\.numeric\.money/, 'money'];
      return [/^(variable\.|entity\.name|support\.function)/, 'a name'];
    case 'bad': return null;
    default: return [/^(keyword\.operator|punctuation)/, 'an operator or punctuation'];
  }
}

async function main() {
  const wasm = fs.readFileSync(path.join(__dirname, 'node_modules', 'vscode-oniguruma', 'release', 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async () => vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR),
  });
  const grammar = await registry.loadGrammar('source.perk');

  // Each token's scopes (innermost last), by line and start column.
  function scopesOf(text) {
    let stack = vsctm.INITIAL;
    const lines = text.split('\n');
    return lines.map((line) => {
      const r = grammar.tokenizeLine(line.replace(/\r$/, ''), stack);
      stack = r.ruleStack;
      return r.tokens;
    });
  }
  function scopeAt(lineTokens, col) {
    const tok = lineTokens.find((t) => col >= t.startIndex && col < t.endIndex);
    return tok ? tok.scopes.filter((s) => s !== 'source.perk') : [];
  }
  // The failures in one text: "line:col `text`: wanted ..., got ...".
  function check(text) {
    const failures = [];
    const scoped = scopesOf(text);
    text.split('\n').forEach((line, n) => {
      const tokens = lex(line.replace(/\r$/, ''), n);
      tokens.forEach((t, k) => {
        const want = expectation(tokens, k);
        if (!want) return;
        const scopes = scopeAt(scoped[n], t.col);
        if (!scopes.some((s) => want[0].test(s)))
          failures.push(`${n + 1}:${t.col + 1} \`${t.text}\`: wanted ${want[1]}, got [${scopes.join(', ') || 'no scope'}]`);
      });
    });
    return failures;
  }

  let passed = 0, failed = 0;
  const report = (name, failures) => {
    if (failures.length === 0) { passed++; console.log(`ok   ${name}`); return; }
    failed++;
    console.log(`FAIL ${name}`);
    failures.slice(0, 10).forEach((f) => console.log(`     ${f}`));
  };

  // Every keyword of Perk.g4, alone on a line, is scoped as a keyword.
  report('every keyword of grammar/Perk.g4', [...KEYWORDS].flatMap((kw) => check(kw).map((f) => `${kw}: ${f}`)));

  // Literals scoped exactly as intended, token by token (the checker's own test can fail here).
  const sample = 'rule r on deposit when deposit.amount >= 250.50 USD and count(login within 30 days) > 2 # c\n';
  const s = scopesOf(sample)[0];
  const exact = [['250.50', 'constant.numeric.money.perk'], ['USD', 'support.constant.currency.perk'],
    ['30', 'constant.numeric.duration.perk'], ['days', 'keyword.other.unit.perk'], ['2', 'constant.numeric.integer.perk'],
    ['rule', 'storage.type.rule.perk'], ['r', 'entity.name.function.rule.perk'], ['when', 'keyword.control.perk'],
    ['amount', 'variable.other.property.perk'], ['count', 'support.function.aggregate.perk'], ['# c', 'comment.line.number-sign.perk']];
  report('scopes of a sample line', exact.flatMap(([text, scope]) => {
    const at = { '2': sample.indexOf('2 #'), r: sample.indexOf(' r ') + 1 }[text];
    const got = scopeAt(s, at === undefined ? sample.indexOf(text) : at);
    return got.includes(scope) ? [] : [`\`${text}\`: wanted ${scope}, got [${got.join(', ')}]`];
  }));

  // Every program in the repository.
  const programs = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules' || /^build/.test(entry.name)) continue;
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.perk')) programs.push(p);
    }
  };
  walk(ROOT);
  programs.sort();
  if (programs.length < 50) report('programs found', [`only ${programs.length} .perk files under ${ROOT}`]);
  for (const p of programs) report(path.relative(ROOT, p), check(fs.readFileSync(p, 'utf8')));
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.log(`FAIL ${e.stack || e}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
