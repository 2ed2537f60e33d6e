"""A secret in every form it travels in: JSON, URL, HTML/XML and base64 encodings, each
line, without its quotes; passwords in URLs up to their last `@`; and whatever the
smoke then encodes (JSON, HTML, XML) holds none of them."""

from __future__ import annotations

import base64
import html
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smoke.masking import MASK, Masker, neutralise, quoted, url_password, url_passwords
from tests.secret_forms import base64_runs, carried, readable

TOKEN = 'tok-Ünï"code&<9>/'


def _junit_attribute(text: str) -> str:
    written = ET.tostring(ET.Element("failure", message=text), encoding="unicode")
    return re.fullmatch(r'<failure message="(.*)" />', written, re.S)[1]  # type: ignore[index]


#: Each output's encoding of a value, without the markup around it (which a secret
#: could match by chance: "mess" is in `message=`).
ENCODERS: dict[str, Callable[[str], str]] = {
    "log file": lambda text: text,
    "OTLP JSON": lambda text: json.dumps(text)[1:-1],
    "JSON, UTF-8": lambda text: json.dumps(text, ensure_ascii=False)[1:-1],
    "HTML report": html.escape,
    "JUnit XML": _junit_attribute,
}

_WEIGHTED = st.sampled_from('"\\&<>%@:/$#')
_ANY = st.characters(exclude_categories=("Cs",))  # Unicode scalar values


@settings(max_examples=400, deadline=None, derandomize=True)
@given(secret=st.text(st.one_of(_WEIGHTED, _WEIGHTED, _ANY), min_size=4, max_size=24))
def test_no_form_of_a_secret_survives_masking_for_any_file(secret: str) -> None:
    # The mask itself is no secret; a value of stars is out of scope.
    if "*" in secret or not secret.strip():
        return
    runs = base64_runs(secret) if len(secret.encode()) >= 8 else []  # base64 from 8 bytes
    text = " | ".join([*carried(secret), *runs])
    masked = Masker([secret])(text)
    for name, encode in ENCODERS.items():
        written = encode(masked)
        assert not readable(secret, written), (name, secret, written)


@pytest.mark.parametrize("token", [TOKEN, "it's (a) pass/word!"])
def test_each_encoded_form_is_masked_and_the_text_around_it_kept(token: str) -> None:
    masker = Masker([token])
    for form in carried(token):
        assert masker(f"[{form}]") == f"[{MASK}]", form
    assert masker(f"token={quote(token, safe='')}&page=2") == f"token={MASK}&page=2"
    assert masker(f'{{"token": {json.dumps(token)}}}') == f'{{"token": "{MASK}"}}'


def test_base64_is_masked_at_each_alignment_inside_a_longer_run() -> None:
    masker = Masker(["hunter2-hunter2"])
    for run in base64_runs("hunter2-hunter2"):
        masked = masker(f"Authorization: Basic {run}")
        assert MASK in masked
        assert not readable("hunter2-hunter2", masked)


def test_short_secrets_are_masked_as_they_are_only() -> None:
    assert Masker(["a&b"])("a&b a&amp;b") == f"{MASK} a&amp;b"  # 3 chars: raw only
    assert Masker(["%7e"])("%7e %7E") == f"{MASK} %7E"  # not even in another case
    # 4 to 7 bytes: encoded forms, no base64 (too many strings would match).
    masked = Masker(["p@ss"])(f"p%40ss {base64.b64encode(b'xx:p@ss').decode()}")
    assert masked == f"{MASK} eHg6cEBzcw=="


def test_each_line_of_a_multi_line_secret_and_the_secret_without_its_quotes() -> None:
    key = "-----BEGIN KEY-----\nMIIBOgIBAAJBAKj34GkxFhD\n-----END KEY-----"
    masked = Masker([key])("got MIIBOgIBAAJBAKj34GkxFhD from the file")
    assert masked == f"got {MASK} from the file"
    assert Masker(['"quoted-value"'])("value=quoted-value") == f"value={MASK}"
    assert Masker(["'single-quoted'"])("single-quoted") == MASK


def test_lines_apart_at_a_carriage_return_and_after_a_short_first_line() -> None:
    assert Masker(["old-mac-line\rsecond-line"])("got second-line") == f"got {MASK}"
    assert Masker(["ab\nlonger-line"])("ab: longer-line") == f"ab: {MASK}"  # `ab`: too short


@pytest.mark.parametrize("wrapped", ["Xtoken-valueX", "ttoken-valuet", "*token-value*"])
def test_only_quotes_around_a_secret_are_trimmed(wrapped: str) -> None:
    assert Masker([wrapped])(f"token-value {wrapped}") == f"token-value {MASK}"


def test_a_secret_that_is_not_unicode_is_masked_as_it_is() -> None:
    """os.environ holds a value of non-UTF-8 bytes with lone surrogates
    (surrogateescape); masking it must neither fail nor miss it."""
    secret = "pässwörd-\udcff-1"
    masker = Masker([secret])
    assert masker(f"password={secret};") == f"password={MASK};"
    assert masker(f"password={quote(secret, errors='surrogatepass')}") == f"password={MASK}"


def test_a_base64_run_holding_the_secret_is_masked_in_all_its_groups() -> None:
    secret = "hunter2-hunt"  # 12 bytes: four whole groups, at the run's own alignment
    run = base64.b64encode(f"ab:{secret}".encode()).decode()
    assert Masker([secret])(f"Basic {run}") == f"Basic YWI6{MASK}"  # `ab:` is no secret


def test_url_passwords_run_to_the_last_at_sign() -> None:
    masker = Masker()
    assert masker("postgresql://contoso:Xk9@Lm2:Qp7@db/contoso up") == (
        f"postgresql://contoso:{MASK}@db/contoso up"
    )
    assert masker("redis://:a/b#c?d@cache:6379") == f"redis://:{MASK}@cache:6379"
    assert masker("amqp://u:Xk9%40Lm2%3AQp7@mq") == f"amqp://u:{MASK}@mq"
    assert masker('{"a":"http://u:p@h","b":"x@y"}') == f'{{"a":"http://u:{MASK}@h","b":"x@y"}}'
    assert url_password("postgresql://contoso:Xk9@Lm2:Qp7@db/contoso") == "Xk9@Lm2:Qp7"
    assert url_passwords("amqp://u:Xk9%40Lm2@mq") == {"Xk9%40Lm2", "Xk9@Lm2"}
    assert url_passwords("no url") == set()


def test_known_values_go_before_the_url_rule() -> None:
    """A known password holding `@` would otherwise be cut at its first `@`."""
    masked = Masker(["Xk9@Lm2:Qp7"])("postgresql://contoso:Xk9@Lm2:Qp7@db/contoso and Xk9@Lm2:Qp7")
    assert masked == f"postgresql://contoso:{MASK}@db/contoso and {MASK}"


def test_every_format_character_is_made_visible_but_zwj_and_zwnj() -> None:
    shown = neutralise("a\u200bb\ufeffc\u200fd\u061ce\U000e0041f\u202eg\u2066h\x9bi")
    assert shown == r"a\u200bb\ufeffc\u200fd\u061ce\U000e0041f\u202eg\u2066h\x9bi"
    assert neutralise("می\u200cخواهم 👩\u200d💻") == "می\u200cخواهم 👩\u200d💻"
    kept = {"\u200c", "\u200d"}
    for point in range(0x110000):
        char = chr(point)
        if unicodedata.category(char) == "Cf" and char not in kept:
            assert neutralise(char) != char, f"U+{point:04X}"


def test_a_lone_surrogate_is_shown_not_printed() -> None:
    assert neutralise("a\udc80b") == r"a\udc80b"


def test_service_text_on_several_lines_is_marked_on_each_further_line() -> None:
    text = quoted("  blame: chat 500: boom\nPASS  smoke lite: 6 steps\n    blame: db")
    assert text.split("\n") == [
        "  blame: chat 500: boom",
        "  │ PASS  smoke lite: 6 steps",
        "  │     blame: db",
    ]
    assert quoted("one line") == "one line"
