"""The public API is pinned against ../shared/API.md (the contract) and jaxmle.__all__."""

import inspect
import pathlib
import re

import pytest

import jaxmle

API_MD = pathlib.Path(__file__).resolve().parents[2] / "shared" / "API.md"


@pytest.fixture(scope="module")
def api_text():
    if not API_MD.exists():
        pytest.skip("shared/API.md is not beside this checkout")
    return API_MD.read_text()


def test_maximize_signature_matches_contract(api_text):
    line = re.search(r"## `jaxmle\.maximize\((.*)\) -> MLEResult`", api_text).group(1)
    contract = [p.split("=")[0].strip() for p in line.replace("*,", "").split(",") if p.strip()]
    params = inspect.signature(jaxmle.maximize).parameters
    for name in contract:
        assert name in params, name
    assert list(params)[:3] == ["loglik", "params0", "data"]
    assert all(params[n].kind is inspect.Parameter.KEYWORD_ONLY for n in contract[3:])
    assert not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()), "no **kwargs"


def test_mleresult_fields_match_contract(api_text):
    table = api_text.split("## `MLEResult`")[1].split("## ")[0]
    names = re.findall(r"^\| `([a-z_]+)[`(]", table, flags=re.M)
    names += re.findall(r"`, `([a-z_]+)`", table)
    names = {re.sub(r"\(.*", "", n) for n in names}
    assert {"params", "loglik", "stderr", "conf_int", "summary", "transform"} <= names
    for name in names:
        assert hasattr(jaxmle.MLEResult, name) or name in jaxmle.MLEResult.__dataclass_fields__, name


def test_all_exports_exist():
    for name in jaxmle.__all__:
        assert hasattr(jaxmle, name), name
    # nothing private leaks into the namespace except the private modules themselves
    private = [n for n in dir(jaxmle) if n.startswith("_") and not n.startswith("__")]
    assert all(inspect.ismodule(getattr(jaxmle, n)) for n in private), private
