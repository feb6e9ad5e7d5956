/**
 * Does a role's trust policy let a GitHub Actions OIDC token assume it? The policy engine
 * ignores the provider's condition keys (`token.actions.githubusercontent.com:sub`, `:aud`,
 * ...), so this small evaluator decides them, following the IAM User Guide: "IAM JSON policy
 * elements: Condition operators" (StringEquals/StringLike and their negations, `...IfExists`,
 * case-insensitive keys), "Multivalued context keys" (ForAnyValue:/ForAllValues:), and
 * "Policy evaluation logic" (an explicit Deny wins; all condition blocks must hold; several
 * values of one key are ORed). GitHub's claims: "About security hardening with OpenID
 * Connect" (GitHub Docs). Pure; an operator or key it does not know throws rather than guess.
 */

export const OIDC_HOST = 'token.actions.githubusercontent.com';

/** The claims of one token (`sub`, `aud`, and any other claim a condition names). */
export type Claims = Record<string, string | string[]>;

type Statement = {
  Effect?: string;
  Action?: string | string[];
  Principal?: { Federated?: string | string[] } | string;
  Condition?: Record<string, Record<string, string | string[]>>;
};

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** IAM's `*` (any run of characters) and `?` (one character), anchored; also how IAM matches resource ARNs. */
export function matchesPattern(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 's').test(value);
}

const matchers: Record<string, (expected: string, actual: string) => boolean> = {
  StringEquals: (expected, actual) => expected === actual,
  StringEqualsIgnoreCase: (expected, actual) => expected.toLowerCase() === actual.toLowerCase(),
  StringLike: matchesPattern,
};

/** One condition `operator: { key: values }` against the token's claims. */
function conditionHolds(operator: string, key: string, expected: string[], claims: Claims): boolean {
  const prefix = /^(ForAnyValue|ForAllValues):/.exec(operator)?.[1];
  let base = prefix ? operator.slice(prefix.length + 1) : operator;
  const ifExists = base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  const negated = /^String(Not)(Equals|EqualsIgnoreCase|Like)$/.test(base);
  if (negated) base = base.replace('Not', '');
  const match = matchers[base];
  if (match === undefined)
    throw new Error(`Trust evaluator: condition operator ${operator} is not supported.`);

  const lower = key.toLowerCase();
  if (!lower.startsWith(`${OIDC_HOST}:`)) {
    throw new Error(
      `Trust evaluator: condition key ${key} is not a GitHub OIDC claim; it cannot be decided here.`,
    );
  }
  const claim = Object.keys(claims).find((name) => `${OIDC_HOST}:${name}`.toLowerCase() === lower);
  const actual = claim === undefined ? [] : list(claims[claim]);
  if (actual.length === 0) {
    // A missing key: only ...IfExists, a negation and ForAllValues hold (vacuously).
    return ifExists || negated || prefix === 'ForAllValues';
  }
  const one = (value: string) => expected.some((pattern) => match(pattern, value));
  if (negated) {
    // "StringNotEquals": true when the value matches none of the listed values.
    return prefix === 'ForAnyValue' ? actual.some((v) => !one(v)) : actual.every((v) => !one(v));
  }
  if (prefix === 'ForAllValues') return actual.every(one);
  // Single-valued operators on a single-valued claim, and ForAnyValue: any value matches.
  return actual.some(one);
}

function statementApplies(statement: Statement, providerArn: string, claims: Claims): boolean {
  const actions = list(statement.Action);
  if (!actions.some((action) => matchesPattern(action.toLowerCase(), 'sts:assumerolewithwebidentity')))
    return false;
  const principal = statement.Principal;
  const federated = typeof principal === 'string' ? [principal] : list(principal?.Federated);
  if (!federated.some((arn) => arn === '*' || arn === providerArn)) return false;
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) =>
    Object.entries(keys).every(([key, values]) => conditionHolds(operator, key, list(values), claims)),
  );
}

/**
 * True when a token with `claims`, presented through the OIDC provider `providerArn`, may
 * call sts:AssumeRoleWithWebIdentity on a role with this trust policy.
 */
export function trustAllows(
  trust: { Statement: Statement[] | Statement },
  providerArn: string,
  claims: Claims,
): boolean {
  const statements = list(trust.Statement);
  const applies = (effect: string) =>
    statements.some((s) => s.Effect === effect && statementApplies(s, providerArn, claims));
  return !applies('Deny') && applies('Allow');
}
