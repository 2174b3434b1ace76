"""The rule parser: every example of the reference, type checks, errors with positions, the
canonical form, and robustness on arbitrary text."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from radarcore import Rule, RuleSet, RuleSetError, RuleSyntaxError, ValueList
from radarcore.rules import parse_condition, parse_rule
from radarcore.rules.ast import (
    Action,
    And,
    AttributeRef,
    BooleanAttribute,
    CmpOp,
    Comparison,
    InlineList,
    MetadataRef,
    Not,
    NumberLiteral,
    Or,
    StringLiteral,
    ValueListRef,
)
from radarcore.rules.parser import MAX_DEPTH, MAX_RULE_LENGTH
from strategies import conditions, rule_nodes

# Every rule of the reference written in the rule language (sections 1 and 3).
REFERENCE_RULES = [
    "Block if :amount_in_usd: > 1000.00",
    "Block if :card_country: != :ip_country:",
    "Block if :card_country: in @card_countries_to_block",
    "Block if :email_domain: = 'definitelyfraud.com'",
    "Review if :email_domain: != 'definitelysafe.com'",
    "Review if NOT (:email_domain: = 'definitelysafe.com')",
    "Block if :risk_level: = 'highest'",
    "Review if :risk_level: = 'elevated'",
    "Resolve dispute if :amount_in_usd: <= 10.00",
    "Block if :card_country: != :ip_country: and :amount_in_usd: > 500",
]
# Every condition example of the reference (sections 1.3 to 1.9 and 3.1).
REFERENCE_CONDITIONS = [
    ":card_brand: = 'amex'",
    ":card_country: != 'US'",
    ":amount_in_usd: >= 1000.00",
    ":is_anonymous_ip:",
    ":card_country: = 'us'",
    ":card_funding: != 'prepaid'",
    ":amount_in_gbp: < 10.00",
    ":amount_in_usd: > 500.00",
    ":amount_in_eur: <= 100.00",
    ":amount_in_cad: >= 10.00",
    ":card_country: IN ('gb', 'ie')",
    ":ip_address: INCLUDES '192.168'",
    ":email: LIKE 'fraud%@stripe.com'",
    "::customer:Trusted:: = 'true'",
    "::account:Internal Risk Rating:: = 'high'",
    "::Customer Age:: > 30",
    "::Item ID:: = '5A381D'",
    "::destination:key:: = 'x'",
    "is_missing(:email_domain:)",
    "!(is_missing(::foo::))",
    "not(:is_anonymous_ip:)",
    ":card_country: IN ('CA', 'DE', 'AE')",
    "if :risk_level: = 'elevated'",
    "if :account_risk_level: = 'highest'",
    "if :account_risk_level: = 'elevated'",
    "if :payment_method_type: = 'us_bank_account'",
    ":ip_state: = 'CA'",
    ":ip_state: = 'ENG'",
    ":ip_state: = 'L'",
]


@pytest.mark.parametrize("text", REFERENCE_RULES)
def test_reference_rules_parse_and_round_trip(text: str) -> None:
    node = parse_rule(text)
    assert parse_rule(str(node)) == node
    assert str(parse_rule(str(node))) == str(node)


@pytest.mark.parametrize("text", REFERENCE_CONDITIONS)
def test_reference_conditions_parse_and_round_trip(text: str) -> None:
    node = parse_condition(text)
    assert parse_condition(str(node)) == node


def test_parsed_tree_of_a_full_rule() -> None:
    node = parse_rule("Block if :card_country: != :ip_country: and :amount_in_usd: > 500")
    assert node.action is Action.BLOCK
    assert node.condition == And(
        (
            Comparison(AttributeRef("card_country"), CmpOp.NE, AttributeRef("ip_country")),
            Comparison(AttributeRef("amount_in_usd"), CmpOp.GT, NumberLiteral(500.0)),
        )
    )


def test_all_four_actions_and_case_insensitive_action_words() -> None:
    texts = {
        "Request 3D Secure if :is_off_session:": Action.REQUEST_THREE_D_SECURE,
        "request   3d  secure if :is_off_session:": Action.REQUEST_THREE_D_SECURE,
        "ALLOW IF :is_off_session:": Action.ALLOW,
        "block if :is_off_session:": Action.BLOCK,
        "Review if :is_off_session:": Action.REVIEW,
    }
    for text, action in texts.items():
        node = parse_rule(text)
        assert node.action is action
        assert str(node).startswith(action.keyword + " if ")


def test_precedence_not_then_and_then_or() -> None:
    x = Comparison(AttributeRef("card_brand"), CmpOp.EQ, StringLiteral("visa"))
    y = BooleanAttribute(AttributeRef("is_anonymous_ip"))
    z = Comparison(AttributeRef("amount_in_usd"), CmpOp.GT, NumberLiteral(5.0))
    text = ":card_brand: = 'visa' OR NOT :is_anonymous_ip: AND :amount_in_usd: > 5"
    assert parse_condition(text) == Or((x, And((Not(y), z))))
    symbolic = ":card_brand: = 'visa' || ! :is_anonymous_ip: && :amount_in_usd: > 5"
    assert parse_condition(symbolic) == parse_condition(text)
    grouped = parse_condition(
        "(:card_brand: = 'visa' or not :is_anonymous_ip:) and :amount_in_usd: > 5"
    )
    assert grouped == And((Or((x, Not(y))), z))


def test_keywords_are_case_insensitive_and_whitespace_free() -> None:
    lower = parse_condition(":card_country: in ('gb','ie')  and  not :is_anonymous_ip:")
    upper = parse_condition(":card_country:  IN ( 'gb' , 'ie' ) AND NOT :is_anonymous_ip:")
    assert lower == upper
    assert parse_condition(":email: includes 'x'") == parse_condition(":email: INCLUDES 'x'")
    assert parse_condition(":email: Like 'x%'") == parse_condition(":email: LIKE 'x%'")


def test_metadata_scopes_and_keys() -> None:
    assert parse_condition("::Customer Age:: > 30").left == MetadataRef("", "Customer Age")
    assert parse_condition("::customer:Trusted:: = 'true'").left == MetadataRef(
        "customer", "Trusted"
    )
    assert parse_condition("::destination:tier:: = 'a'").left == MetadataRef("destination", "tier")
    assert parse_condition("::account:Risk Rating:: = 'a'").left == MetadataRef(
        "account", "Risk Rating"
    )
    assert parse_condition("::order:id:: = 'a'").left == MetadataRef("", "order:id")


def test_lists_inline_numeric_and_saved() -> None:
    node = parse_condition(":amount_in_usd: IN (10, 20.5)")
    assert node == Comparison(
        AttributeRef("amount_in_usd"),
        CmpOp.IN,
        InlineList((NumberLiteral(10.0), NumberLiteral(20.5))),
    )
    assert parse_condition(":email: in @blocked_emails").right == ValueListRef("blocked_emails")


def test_strings_escape_quotes_and_backslashes() -> None:
    node = parse_condition(r":cardholder_name: = 'O\'Brien \\ co'")
    assert node.right == StringLiteral("O'Brien \\ co")
    assert parse_condition(str(node)) == node


def test_canonical_numbers_have_no_exponent() -> None:
    node = parse_condition(":amount_in_usd: > 0.0000001")
    assert str(node) == ":amount_in_usd: > 0.0000001"
    big = parse_condition(":amount_in_usd: > " + "9" * 30)
    assert parse_condition(str(big)) == big


def _error(text: str, *, condition: bool = False) -> RuleSyntaxError:
    with pytest.raises(RuleSyntaxError) as info:
        (parse_condition if condition else parse_rule)(text)
    return info.value


# The invalid examples of section 1.3 with the reason the reference gives.
@pytest.mark.parametrize(
    ("text", "position", "reason"),
    [
        (
            "Block if :risk_level: < 'highest'",
            22,
            "strings allow only =, !=, IN, INCLUDES and LIKE",
        ),
        ("Block if :ip_country: = 'Canada'", 24, "countries must be 2-letter ISO 3166-1 codes"),
        ("Block if :amount_in_usd: >= 'one thousand dollars'", 28, "numbers must be numbers"),
        ("Block if :is_anonymous_ip: = 'true'", 27, "boolean attributes take no operator or value"),
    ],
)
def test_reference_invalid_examples(text: str, position: int, reason: str) -> None:
    error = _error(text)
    assert reason in error.message
    assert error.position == position
    assert error.text == text
    assert f"(at position {position})" in str(error)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        (
            ":card_contry: = 'US'",
            0,
            "unknown attribute :card_contry:; did you mean :card_country:?",
        ),
        (":card_country: = 'US", 17, "string is not closed"),
        (':card_country: = "US"', 17, "strings take single quotes"),
        (":card_country: == 'US'", 15, "equality is a single '='"),
        (":card_country: = 'US' :ip_country: = 'US'", 22, "expected AND or OR before"),
        (":card_country:", 14, "needs an operator and a value"),
        (":amount_in_usd:", 15, "needs an operator and a value, e.g. :amount_in_usd: > 10"),
        ("::Customer Age::", 16, "metadata: it needs an operator"),
        (":card_bin: = 424242", 13, "strings must be quoted"),
        (":amount_in_usd: LIKE '1%'", 16, "numbers allow =, !=, <, >, <=, >= and IN, not LIKE"),
        (":card_country: IN ()", 19, "expected a quoted string or a number"),
        (":card_country: IN ('US', 5)", 18, "a list mixes strings and numbers"),
        (":card_country: IN 'US'", 18, "IN takes a list"),
        (":card_country: = @countries", 17, "a list can only follow IN"),
        (":email: LIKE :email_domain:", 13, "LIKE takes a quoted string"),
        (":card_country: = ('US')", 17, "a parenthesised list can only follow IN"),
        (":amount_in_usd: IN @amounts", 19, "value lists hold strings"),
        (
            ":card_country: = :amount_in_usd:",
            17,
            "cannot compare country :card_country: with numeric",
        ),
        (":card_country: = :is_anonymous_ip:", 17, ":is_anonymous_ip: is boolean"),
        (":risk_level: = 'hihgest'", 15, "'hihgest' is not a value of :risk_level:"),
        (":ip_state: = 'US-CA'", 13, "states must be ISO 3166-2 codes without the country prefix"),
        ("::account:Internal Risk Rating: = 'high'", 0, "metadata reference is not closed"),
        ("::tier:: > 'gold'", 11, "compares metadata as numbers, and 'gold' is not a number"),
        ("::tier:: < :email:", 9, "strings allow only"),
        ("is_missing(:is_anonymous_ip:)", 11, "is boolean and never missing"),
        ("is_missing('x')", 11, "expected an attribute or metadata"),
        (":is_anonymous_ip: = true", 18, "boolean attributes take no operator"),
        (":amount_in_usd: > 1e5", 18, "malformed number"),
        (":amount_in_usd: > 5 AND", 23, "the condition ends too early"),
        ("(:is_anonymous_ip:", 18, "expected ')' to close the '(' at position 0"),
        ("'US' = :card_country:", 0, "a condition starts with an attribute"),
        ("card_country = 'US'", 0, "unknown word 'card_country'"),
        (":is_anonymous_ip: AND AND :is_3d_secure:", 22, "expected an attribute before 'AND'"),
        ("", 0, "the condition is empty"),
        (":card_country: = 'US' #", 22, "unexpected character '#'"),
        (":email: in @", 11, "a list reference needs an alias"),
        (":amount_in_usd: > true", 18, "there are no true/false literals"),
        (":: :: = 'x'", 0, "metadata key is empty or spans lines"),
        (":email: IN @" + "a" * 101, 11, "a list alias is at most 100 characters"),
        (":amount_in_usd: > " + "9" * 400, 18, "number is too large"),
        (":amount_in_usd: >", 17, "expected a value after >, found end of rule"),
        (":amount_in_usd: > ,", 18, "expected a value after >, found ','"),
        ("is_missing(:email:", 18, "expected ')' to close is_missing("),
        ("is_missing :email:", 11, "expected '(' after is_missing"),
        (":email: IN ('a' 'b')", 16, "expected ',' or ')' in the list"),
        (":card_country", 0, "attribute reference is not closed"),
    ],
)
def test_condition_errors(text: str, position: int, message: str) -> None:
    error = _error(text, condition=True)
    assert message in error.message
    assert error.position == position


def test_rule_set_default_keeps_given_default_lists() -> None:
    lists = [ValueList("default_email_block_list", item_type="email", items=["a@b.co"])]
    rule_set = RuleSet.default(lists=lists)
    assert rule_set.evaluate_one({"email": "A@b.co"}).action == "block"
    assert len(rule_set.lists) == 22


def test_rule_errors_for_actions() -> None:
    error = _error("if :is_anonymous_ip:")
    assert error.position == 0
    assert "a rule starts with its action" in error.message
    error = _error("  Deny if :is_anonymous_ip:")
    assert error.position == 2
    assert "unknown action" in error.message
    error = _error("Block when :is_anonymous_ip:")
    assert error.position == 6
    assert "expected 'if' after Block" in error.message


def test_limits_length_and_depth() -> None:
    text = "Block if :email: = '" + "x" * (MAX_RULE_LENGTH - 21) + "'"
    assert len(text) == MAX_RULE_LENGTH
    assert parse_rule(text).action is Action.BLOCK
    too_long = "Block if " + ":email: = '" + "x" * MAX_RULE_LENGTH + "'"
    error = _error(too_long)
    assert error.position == MAX_RULE_LENGTH
    assert f"a rule is at most {MAX_RULE_LENGTH} characters" in error.message
    deep = "Block if " + "(" * (MAX_DEPTH + 1) + ":is_3d_secure:" + ")" * (MAX_DEPTH + 1)
    error = _error(deep)
    assert error.position == 9 + MAX_DEPTH
    assert "nest at most" in error.message
    nots = "Block if " + "NOT " * MAX_DEPTH + ":is_3d_secure:"
    assert parse_rule(nots).action is Action.BLOCK


def test_non_string_text_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="rule text must be a str, not int"):
        parse_rule(5)  # type: ignore[arg-type]


def test_rule_object_ids_and_printing() -> None:
    rule = Rule.parse("block  if :card_country:   = 'us'")
    assert str(rule) == "Block if :card_country: = 'us'"
    assert rule.predicate == ":card_country: = 'us'"
    assert rule.id == Rule.parse("Block if :card_country: = 'us'").id
    assert rule.id != Rule.parse("Block if :card_country: = 'US'").id
    assert Rule.parse("Block if :is_3d_secure:", id="my_rule").id == "my_rule"
    assert Rule.parse("Block if :cvc_check: = 'fail'").post_authorization
    assert not rule.post_authorization


def test_rule_construction_errors() -> None:
    with pytest.raises(TypeError, match="node must be a RuleNode, not str"):
        Rule("Block if :is_3d_secure:")  # type: ignore[arg-type]
    with pytest.raises(RuleSetError, match="a rule id is a non-empty string"):
        Rule.parse("Block if :is_3d_secure:", id="")
    with pytest.raises(RuleSetError, match="two rules share the id 'x'"):
        RuleSet(
            [
                Rule.parse("Block if :is_3d_secure:", id="x"),
                Rule.parse("Allow if :is_3d_secure:", id="x"),
            ]
        )
    with pytest.raises(RuleSetError, match="a rule set holds at most 200 rules, got 201"):
        RuleSet([f"Block if :amount_in_usd: > {i}" for i in range(201)])
    with pytest.raises(RuleSetError, match="Resolve dispute rules act on disputes"):
        RuleSet(["Resolve dispute if :amount_in_usd: <= 10.00"])
    same = ValueList("same")
    with pytest.raises(RuleSetError, match="two lists share the alias @same"):
        RuleSet([], lists=[same, ValueList("same")])


def test_rule_set_parse_reports_line_and_offset() -> None:
    text = "Block if :is_3d_secure:\n\n# a comment\nReview if :risk_level: < 'highest'\n"
    with pytest.raises(RuleSyntaxError) as info:
        RuleSet.parse(text)
    assert info.value.message.startswith("line 4: :risk_level: is a string: strings allow only")
    assert text[info.value.position] == "<"
    rules = RuleSet.parse("Block if :is_3d_secure:\n  \n# note\nAllow if :is_off_session:")
    assert [r.action for r in rules] == [Action.BLOCK, Action.ALLOW]
    assert str(RuleSet.parse(str(rules))) == str(rules)


def test_rule_set_checks_lists() -> None:
    with pytest.raises(RuleSyntaxError) as info:
        RuleSet(["Block if :email: IN @blocked_emails"])
    assert info.value.message == "unknown list @blocked_emails"
    assert info.value.position == 20
    countries = ValueList("countries", item_type="country", items=["US"])
    with pytest.raises(RuleSyntaxError, match="list @countries holds country items and cannot be"):
        RuleSet(["Block if :email: IN @countries"], lists=[countries])
    assert len(RuleSet(["Block if :ip_country: IN @countries"], lists=[countries])) == 1


@settings(max_examples=300, deadline=None)
@given(rule_nodes())
def test_generated_rules_round_trip(node: object) -> None:
    text = str(node)
    assert parse_rule(text) == node
    assert str(parse_rule(text)) == text


@settings(max_examples=200, deadline=None)
@given(conditions())
def test_generated_conditions_round_trip(node: object) -> None:
    assert parse_condition(str(node)) == node


def _parses_or_fails_cleanly(text: str) -> None:
    failure: RuleSyntaxError | None = None
    try:
        node = parse_rule(text)
    except RuleSyntaxError as error:
        failure = error
    if failure is not None:
        assert 0 <= failure.position <= len(text)
        assert failure.message
    else:
        assert parse_rule(str(node)) == node


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_raises_rule_syntax_error(text: str) -> None:
    _parses_or_fails_cleanly(text)


TOKENS = [
    "Block", "if", "Allow", "Review", "Request 3D Secure", ":card_country:", ":amount_in_usd:",
    ":is_anonymous_ip:", "::m::", "::customer:k::", "'US'", "'x'", "5", "-1.5", "=", "!=", "<",
    ">=", "IN", "INCLUDES", "LIKE", "AND", "OR", "NOT", "&&", "||", "!", "(", ")", ",",
    "@list", "is_missing", ":", "::", "'", "\\", "1.", "@",
]  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25), st.sampled_from([" ", ""]))
def test_token_soup_parses_or_raises_rule_syntax_error(tokens: list[str], sep: str) -> None:
    _parses_or_fails_cleanly(sep.join(tokens))
    _parses_or_fails_cleanly("Block if " + sep.join(tokens))
