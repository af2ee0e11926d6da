"""The pickers' fuzzy matching: subsequences, word by word, ranked by how natural the match is."""

import pytest

from frontdesk.tui.fuzzy import fuzzy_fields_score, fuzzy_score


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("", "anything"),
        ("bob", "Bob Example"),
        ("bex", "Bob Example"),
        ("BEX", "bob example"),
        ("helm k8", "k8s networking helm"),  # words in any order
        ("dist", "Bob Example Distribution bob@example.com"),
        ("ack", "ack Acknowledge: received"),
    ],
)
def test_matches(query, text):
    assert fuzzy_score(query, text) is not None


@pytest.mark.parametrize(
    ("query", "text"),
    [
        ("xyz", "Bob Example"),
        ("bobb", "Bob Example"),  # each letter is used once
        ("helm zz", "helm"),  # every word must match
        ("a", ""),
    ],
)
def test_misses(query, text):
    assert fuzzy_score(query, text) is None


def test_empty_query_scores_zero():
    assert fuzzy_score("   ", "Bob") == 0


@pytest.mark.parametrize(
    ("query", "better", "worse"),
    [
        ("he", "helm", "the storage"),  # a word start beats letters inside a word
        ("helm", "helm upgrades", "h e l m"),  # adjacent letters beat scattered ones
        ("be", "Bob Example", "ubuntu release"),  # initials
        ("log", "logs", "blog"),
    ],
)
def test_ranking(query, better, worse):
    assert fuzzy_score(query, better) > fuzzy_score(query, worse)


def test_the_best_alignment_is_found_not_the_first():
    # Greedy matching would take the "h" of "the" and miss the word start of "helm".
    assert fuzzy_score("helm", "the helm") == fuzzy_score("helm", "helm")


def test_fields_each_word_matches_inside_one_field():
    fields = ["Bob Example", "Distribution", "bob@example.com", "helm"]
    assert fuzzy_fields_score("bill", fields) is None  # b-i-l-l only exists across fields
    assert fuzzy_fields_score("bob helm", fields) == fuzzy_score("bob", "Bob Example") + fuzzy_score("helm", "helm")
    assert fuzzy_fields_score("", fields) == 0
