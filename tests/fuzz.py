"""Hypothesis strategies for fuzzing what requests carry: text with the characters that have broken parsers here
(NUL, '²', huge numbers, quotes, operators), and the settings those tests share."""
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# The client and database fixtures are per test, not per example: fine here, every example only reads or is
# refused (and what one writes does not change what the next must answer: a status below 500).
FUZZ = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

NASTY = ["", "²", "①", "٣", "\x00", "a\x00b", "9" * 30, "-1", "0", "1e999", "nan", "inf", '"', "\\", "(", ")",
         "date:9999-12", "date:0999-01", "0001-01-01", "9999-12-31", "-" * 240 + "dog", "%", "'", "<b>", "OR",
         "\u2028", "\ud7ff", "x" * 600, "1,2,²", "dog>=0.5", " "]

text = st.one_of(st.sampled_from(NASTY), st.text(max_size=40),
                 st.lists(st.sampled_from(NASTY), max_size=4).map("".join))
