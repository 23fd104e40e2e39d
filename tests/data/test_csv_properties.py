"""Property-based tests of the CSV reader: whatever the bytes, it loads or raises InputFormatError, never anything else.

Examples hypothesis found that once broke this are kept as explicit regression tests below.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from attentivechrome.data import read_csv
from attentivechrome.exceptions import InputFormatError

_VALID = "".join(f"G{g},{b},{g + b},0,{b % 3},1.5,0,{g % 2}\n" for g in range(2) for b in range(1, 4))
_TOKENS = [",", '"', "\n", "\r", "\r\n", "-", "e", "E9", "e39", ".", "nan", "inf", "-inf", "1e400", "0x1", " ", "\t", "#", "\x00",
           "é", "gene_id", "bin_id", "label", "2", "0", "9" * 40, "\ufeff", "'", ";"]  # fmt: skip
_SETTINGS = settings(max_examples=int(__import__("os").environ.get("CSV_EXAMPLES", "120")), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _check(path, raw: bytes) -> None:
    path.write_bytes(raw)
    try:
        data = read_csv(path)
    except InputFormatError:
        return
    # What loads is well-formed: finite non-negative float32 counts, one label per gene.
    assert data.counts.dtype == np.float32 and np.isfinite(data.counts).all() and (data.counts >= 0).all()
    assert data.counts.shape[0] == len(data.gene_ids) > 0
    if data.labels is not None:
        assert set(np.unique(data.labels)) <= {0, 1}


@st.composite
def _mutated(draw) -> bytes:
    text = _VALID
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        token = draw(st.sampled_from(_TOKENS))
        if kind == "insert":
            text = text[:at] + token + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 5)) :]
        else:
            text = text[:at] + token + text[at + len(token) :]
    return text.encode("utf-8")


@_SETTINGS
@given(raw=_mutated())
def test_mutated_files_load_or_raise_input_format_error(tmp_path, raw):
    _check(tmp_path / "m.csv", raw)


@_SETTINGS
@given(raw=st.binary(max_size=200))
@example(raw=b"\x1f\x8b")  # a gzip magic number and nothing more
def test_arbitrary_bytes_load_or_raise_input_format_error(tmp_path, raw):
    _check(tmp_path / "b.csv", raw)


@_SETTINGS
@given(rows=st.lists(st.lists(st.sampled_from(_TOKENS + ["g", "1", "3"]), min_size=1, max_size=9).map(",".join), min_size=1, max_size=6))
def test_rows_of_odd_tokens_load_or_raise_input_format_error(tmp_path, rows):
    _check(tmp_path / "r.csv", "\n".join(rows).encode("utf-8"))


# Regression examples the properties above found (each failed before the fix named): the error each must give, or None to load.
@pytest.mark.parametrize(
    "raw,message",
    [
        pytest.param(b'g,1,0,0,0,0,0,1\n"g,2,0,0,0,0,0,1\n', r"x.csv:2: a quote", id="unclosed-quote"),
        # a quote opening mid-field on line 1 and closing nowhere: pandas' tokenizer error, once a traceback
        pytest.param(b'-"G0,"1,1,0,1,1.5,0,0\nG0,2,2,0,2,1.5,0,0\n', r"x.csv:1: a quote", id="quote-after-a-character"),
        pytest.param(b"g,1,0,0,0,0,1e39,1\n", r"x.csv:1: H3K9me3 must be at most", id="beyond-float32"),
        pytest.param(b"g,1,0,0,0,0,0,1\n\n", None, id="trailing-blank-line"),
    ],
)
def test_found_examples(tmp_path, raw, message):
    path = tmp_path / "x.csv"
    if message is None:
        _check(path, raw)
        assert read_csv(path).n_genes == 1
    else:
        path.write_bytes(raw)
        with pytest.raises(InputFormatError, match=message):
            read_csv(path)
