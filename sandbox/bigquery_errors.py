"""BigQuery's words for a query it refuses, from DuckDB's and sqlglot's.

opsbot passes a warehouse error to people, so the sandbox must say what BigQuery says, not what
DuckDB says. BigQuery refuses a query with HTTP 400, reason `invalidQuery` (the "Error messages"
page of the BigQuery docs: "invalidQuery 400: This error returns when you attempt to run an
invalid query"), and a message naming the problem and where it is in the query text, `at [L:C]`
(line and column, 1-based), as BigQuery's answers show it in its client libraries' issue threads:

- `Unrecognized name: value at [9:1]` (mozilla/bigquery-etl#1175)
- `Function not found: charindex at [23:25]` (OHDSI/DataQualityDashboard#424)
- `Syntax error: Expected end of input but got keyword SELECT at [9:1]` (mozilla/bigquery-etl#1527),
  `Syntax error: Unexpected keyword X at [L:C]` (GoogleCloudPlatform/bigquery-utils#157's
  patterns for BigQuery's syntax errors)
- `Name X not found inside T`, `SELECT list expression references column X which is neither
  grouped nor aggregated`, `No matching signature for operator + for argument types: INT64,
  STRING`: BigQuery's (ZetaSQL's) analyzer messages for the other binder errors DuckDB raises.

A DuckDB error with no BigQuery counterpart here keeps its first line without DuckDB's
"Binder Error:" prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import TokenType
from sqlglot.dialects.bigquery import BigQuery
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokenizer_core import Token

from sandbox.json_http import GoogleApiError


class BigQueryError(GoogleApiError):
    """An error BigQuery would return: HTTP code, reason and message in Google's shape."""


def invalid_query(message: str) -> BigQueryError:
    """BigQuery's refusal of a query: 400 `invalidQuery`."""
    return BigQueryError(400, "invalidQuery", message)


def _tokens(sql: str) -> list[Token]:
    try:
        return list(BigQuery().tokenize(sql))
    except TokenError:
        return []


def _at(sql: str, offset: int) -> str:
    """` at [L:C]`: BigQuery's 1-based line and column of a character of the query."""
    line = sql.count("\n", 0, offset) + 1
    column = offset - sql.rfind("\n", 0, offset)
    return f" at [{line}:{column}]"


_NAMES = (TokenType.VAR, TokenType.IDENTIFIER)


def _find(
    tokens: list[Token], name: str, *, before: str | None = None, after: str | None = None
) -> Token | None:
    """The first token spelling `name` (any case; no string literal), preceded by `before` and
    followed by `after` when those are given."""
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.STRING or token.text.lower() != name.lower():
            continue
        if before is not None and (i == 0 or tokens[i - 1].text != before):
            continue
        if after is not None and (i + 1 >= len(tokens) or tokens[i + 1].text != after):
            continue
        return token
    return None


def _located(sql: str, message: str, token: Token | None) -> BigQueryError:
    return invalid_query(message + (_at(sql, token.start) if token is not None else ""))


# --- syntax: what sqlglot could not parse ----------------------------------------------------


def _describe(token: Token | None) -> str:
    """A token as BigQuery's syntax errors name it: keyword FROM, identifier "x", end of script."""
    if token is None:
        return "end of script"
    if token.token_type == TokenType.STRING:
        return f"string literal '{token.text}'"
    if token.token_type == TokenType.NUMBER:
        kind = "integer" if token.text.isdigit() else "floating point"
        return f'{kind} literal "{token.text}"'
    if token.token_type in _NAMES:
        return f'identifier "{token.text}"' if token.token_type == TokenType.VAR else token.text
    if token.text.isalpha():
        return f"keyword {token.text.upper()}"
    return f'"{token.text}"'


_WANTED = re.compile(r"^(?P<want>[A-Z]+) expression expected but got '(?P<got>[^']*)'$")


def syntax_error(sql: str, error: ParseError) -> BigQueryError:
    """`Syntax error: Unexpected <token> at [L:C]`, or `Expected ")" but got <token>`, for a query
    sqlglot could not parse: the token it stopped at, or the end of the script when what it
    missed comes after the last token."""
    tokens = _tokens(sql)
    if not error.errors:  # a check after parsing, e.g. "INTERVAL expression expected but got '1'"
        wanted = _WANTED.match(str(error))
        if wanted is None:
            return invalid_query(f"Syntax error: {error}")
        token = _find(tokens, wanted["got"])
        got = _describe(token) if token is not None else f'"{wanted["got"]}"'
        where = _at(sql, token.start) if token is not None else ""
        return invalid_query(
            f"Syntax error: Expected keyword {wanted['want']} but got {got}{where}"
        )
    found = error.errors[0]
    index = next(
        (
            i
            for i, t in enumerate(tokens)
            if (t.line, t.col) == (found.get("line"), found.get("col"))
        ),
        None,
    )
    description = str(found.get("description", ""))
    if index is None:  # not a token the tokenizer gave: name what sqlglot highlighted
        return invalid_query(f'Syntax error: Unexpected "{found.get("highlight", "")}"')
    missing = description.startswith(("Required keyword", "Expected", "Expecting"))
    token = tokens[index]
    if missing and index == len(tokens) - 1:
        token = None  # nothing follows the last token: the script ended too soon
    where = _at(sql, token.start) if token is not None else _at(sql, len(sql.rstrip()))
    got = _describe(token)
    if description.startswith("Expecting )"):
        return invalid_query(f'Syntax error: Expected ")" but got {got}{where}')
    return invalid_query(f"Syntax error: Unexpected {got}{where}")


# --- DuckDB's binder, catalog and parser errors ----------------------------------------------

_TYPES = {
    "VARCHAR": "STRING",
    "STRING_LITERAL": "STRING",
    "INTEGER_LITERAL": "INT64",
    "BOOLEAN": "BOOL",
    "DOUBLE": "FLOAT64",
    "FLOAT": "FLOAT64",
    "DATE": "DATE",
}


def _bigquery_type(duck: str) -> str:
    duck = duck.strip()
    if duck.endswith("[]"):
        return f"ARRAY<{_bigquery_type(duck[:-2])}>"
    if duck in _TYPES:
        return _TYPES[duck]
    if re.fullmatch(r"U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)", duck):
        return "INT64"
    if duck.startswith("DECIMAL"):
        return "NUMERIC"
    if duck.startswith("TIMESTAMP"):
        return "TIMESTAMP"
    return duck


def _unrecognized(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    name = match["name"]
    return _located(sql, f"Unrecognized name: {name}", _find(tokens, name))


def _not_inside(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    name, table = match["name"], match["table"]
    token = _find(tokens, name, before=".") or _find(tokens, name)
    return _located(sql, f"Name {name} not found inside {table}", token)


def _no_table(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    name = match["name"]
    return _located(sql, f"Unrecognized name: {name}", _find(tokens, name, after="."))


def _no_function(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    token = _find(tokens, match["name"], after="(")
    name = token.text if token is not None else match["name"]  # as the query spells it
    return _located(sql, f"Function not found: {name}", token)


def _not_grouped(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    name = match["name"]
    message = (
        f"SELECT list expression references column {name} which is neither grouped nor aggregated"
    )
    return _located(sql, message, _find(tokens, name))


def _signature(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    name, args = match["name"], match["args"]
    types = ", ".join(_bigquery_type(a) for a in args.split(",")) if args else ""
    if name.isidentifier():
        token = _find(tokens, name, after="(")
        message = f"No matching signature for function {name.upper()} for argument types: {types}"
    else:  # BigQuery points at the expression, which starts with the left operand
        token = _operand_before(tokens, _find(tokens, name))
        message = f"No matching signature for operator {name} for argument types: {types}"
    return _located(sql, message, token)


def _operand_before(tokens: list[Token], operator: Token | None) -> Token | None:
    """The first token of a simple left operand (`a`, `t.a`, `1`) of `operator`."""
    if operator is None:
        return None
    start = tokens.index(operator)
    operand = (*_NAMES, TokenType.DOT, TokenType.NUMBER, TokenType.STRING)
    while start > 0 and tokens[start - 1].token_type in operand:
        start -= 1
    return tokens[start]


def _bad_value(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    kind = "double" if match["type"] in ("DOUBLE", "FLOAT") else "int64"
    return invalid_query(f"Bad {kind} value: {match['value']}")  # a value's, so no place


def _unexpected(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    token = _find(tokens, match["name"])
    return _located(sql, f"Syntax error: Unexpected {_describe(token)}", token)


def _ended(sql: str, tokens: list[Token], match: re.Match[str]) -> BigQueryError:
    return invalid_query("Syntax error: Unexpected end of script" + _at(sql, len(sql.rstrip())))


_Rule = Callable[[str, list[Token], re.Match[str]], BigQueryError]
_RULES: list[tuple[re.Pattern[str], _Rule]] = [
    (re.compile(r'Referenced column "(?P<name>[^"]+)" (not found|was not found)'), _unrecognized),
    (
        re.compile(r'Table "(?P<table>[^"]+)" does not have a column named "(?P<name>[^"]+)"'),
        _not_inside,
    ),
    (re.compile(r'Referenced table "(?P<name>[^"]+)" not found'), _no_table),
    (
        re.compile(r"(Scalar|Aggregate|Table) Function with name (?P<name>\S+) does not exist"),
        _no_function,
    ),
    (re.compile(r'column "(?P<name>[^"]+)" must appear in the GROUP BY clause'), _not_grouped),
    (
        re.compile(
            r"No function matches the given name and argument types "
            r"'(?P<name>[^(]+)\((?P<args>.*)\)'"
        ),
        _signature,
    ),
    (
        re.compile(
            r"Could not convert string '(?P<value>.*)' to "
            r"(?P<type>U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|INT\d+)|DOUBLE|FLOAT)\b"
        ),
        _bad_value,
    ),
    (re.compile(r'syntax error at or near "(?P<name>[^"]+)"'), _unexpected),
    (re.compile(r"syntax error at end of input"), _ended),
]
_PREFIX = re.compile(r"^[A-Za-z ]+ Error: ")


def from_duckdb(sql: str, error: Exception) -> BigQueryError:
    """DuckDB's refusal of the translated query, as BigQuery words it for the query it was sent
    (`sql`: positions are looked up in the text the client sent, not in the translation)."""
    text = str(error)
    tokens = _tokens(sql)
    for pattern, rule in _RULES:
        match = pattern.search(text)
        if match is not None:
            return rule(sql, tokens, match)
    return invalid_query(_PREFIX.sub("", text.splitlines()[0] if text else "").strip())
