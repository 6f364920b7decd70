"""Plugins are found through entry points, one broken plugin never hides the
others, and every hook is tested and documented."""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import fxregistry
from fxregistry import Effect, Parameter, registry
from fxregistry.cli.main import cli
from fxregistry.errors import DuplicateNameError, UnknownNameError
from fxregistry.registry import hookspecs

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"
HOOKS = sorted(
    name
    for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
    if name.startswith("register_")
)

THIRD_PARTY_EFFECT = """
import fxregistry

def render(audio, sample_rate, *, gain_db):
    return audio * 10 ** (gain_db / 20)

@fxregistry.hookimpl
def register_effects(register):
    register(fxregistry.Effect(
        name="gain", description="Plain gain",
        parameters=(fxregistry.Parameter("gain_db", "dB", grid=(-6.0, 0.0), range=(-12.0, 0.0)),),
        render=render, identity={"gain_db": 0.0},
    ))
"""


def list_effects_json(runner=None) -> list[dict]:
    result = (runner or CliRunner()).invoke(cli, ["list-effects", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


class InlinePlugin:
    """A plugin registered by hand, the way a test or an application embeds fxr."""

    def __init__(self, *effects):
        self.effects = effects

    @fxregistry.hookimpl
    def register_effects(self, register):
        for effect in self.effects:
            register(effect)


def make_effect(name: str) -> Effect:
    return Effect(
        name,
        "test effect",
        (Parameter("x", "dB", (0.0, 1.0), (0.0, 1.0)),),
        render=lambda audio, sample_rate, x: audio.copy(),
    )


def test_every_hook_has_a_test_here():
    source = Path(__file__).read_text()
    for hook in HOOKS:
        assert f"def test_hook_{hook}" in source, f"hook {hook} has no test_hook_{hook}"


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature(hook):
    signature = f"{hook}{inspect.signature(getattr(hookspecs, hook))}"
    signature = re.sub(r"'", "", signature)
    assert f"`{hook}(register)`" in DOCS.read_text(), f"{hook} missing from docs/plugins.md"
    assert "register" in signature


def test_hook_register_effects():
    pm = registry.get_plugin_manager()
    pm.register(InlinePlugin(make_effect("inline")), name="inline-test")
    found = registry.registrations("effect")
    assert found["inline"].plugin == "inline-test"
    assert found["inline"].distribution == "local"
    assert registry.get_effect("inline").parameter_names == ("x",)


def test_hook_register_sources():
    found = registry.registrations("source")
    assert "synth" in found
    assert found["synth"].distribution == "fxregistry"


def test_hook_register_models():
    class ModelPlugin:
        @fxregistry.hookimpl
        def register_models(self, register):
            register(fxregistry.Model("tiny", "a test model", create=lambda **kw: None))

    registry.get_plugin_manager().register(ModelPlugin(), name="model-test")
    assert registry.get_model("tiny").description == "a test model"
    result = CliRunner().invoke(cli, ["list-models", "--json"])
    listed = {m["name"]: m for m in json.loads(result.stdout)}
    assert {"cnn", "encdec", "unet", "tiny"} <= set(listed)
    assert listed["tiny"]["entry_point"] == "model-test"


def test_hook_register_estimators():
    class EstimatorPlugin:
        @fxregistry.hookimpl
        def register_estimators(self, register):
            register(fxregistry.Estimator("tiny-wet", "delay", "wet", "tiny.pt", "a test"))

    registry.get_plugin_manager().register(EstimatorPlugin(), name="estimator-test")
    found = registry.registrations("estimator")
    assert found["tiny-wet"].plugin == "estimator-test"
    result = CliRunner().invoke(cli, ["list-estimators", "--json"])
    listed = {e["name"]: e for e in json.loads(result.stdout)}
    assert listed["tiny-wet"]["effect"] == "delay"
    assert listed["tiny-wet"]["task"] == "parameters"


def test_builtin_effects_come_through_the_entry_point_group_like_any_plugin():
    found = registry.registrations("effect")
    for name in ("limiter", "bitcrusher", "sample-rate", "delay"):
        assert found[name].distribution == "fxregistry"
        assert found[name].plugin == name  # the entry-point name


def test_a_third_party_distribution_is_discovered_without_pip(fake_distribution):
    fake_distribution(
        "fxr-test-gain", {"gain": "fxr_test_gain"}, {"fxr_test_gain.py": THIRD_PARTY_EFFECT}
    )
    effects = {e["name"]: e for e in list_effects_json()}
    assert effects["gain"]["plugin"] == "fxr-test-gain"
    assert effects["gain"]["parameters"][0]["grid"] == [-6.0, 0.0]
    assert {"limiter", "bitcrusher", "sample-rate", "delay"} <= set(effects)


def test_a_plugin_that_fails_to_import_is_named_in_one_warning(fake_distribution, capsys):
    fake_distribution(
        "fxr-test-broken",
        {"broken": "fxr_test_broken"},
        {"fxr_test_broken.py": "import a_module_that_does_not_exist\n"},
    )
    names = registry.effect_names()
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1
    assert "'broken'" in warning[0] and "fxr-test-broken" in warning[0]
    assert "ModuleNotFoundError" in warning[0]
    assert {"limiter", "bitcrusher", "sample-rate", "delay"} <= set(names)


def test_the_cli_still_works_when_a_plugin_is_broken(fake_distribution):
    fake_distribution(
        "fxr-test-broken",
        {"broken": "fxr_test_broken"},
        {"fxr_test_broken.py": "raise RuntimeError('boom')\n"},
    )
    result = CliRunner().invoke(cli, ["list-effects", "--json"])
    assert result.exit_code == 0
    assert "plugin 'broken'" in result.stderr and "RuntimeError: boom" in result.stderr
    assert "delay" in {e["name"] for e in json.loads(result.stdout)}


def test_a_hook_that_raises_is_named_and_skipped(capsys):
    class Raising:
        @fxregistry.hookimpl
        def register_effects(self, register):
            register(make_effect("half-registered"))
            raise ValueError("bad configuration")

    registry.get_plugin_manager().register(Raising(), name="raising")
    names = registry.effect_names()
    assert "half-registered" not in names and "delay" in names
    err = capsys.readouterr().err
    assert "plugin 'raising' failed in register_effects: ValueError: bad configuration" in err


def test_registering_the_wrong_kind_of_object_is_a_plugin_error(capsys):
    class Wrong:
        @fxregistry.hookimpl
        def register_effects(self, register):
            register("limiter")

    registry.get_plugin_manager().register(Wrong(), name="wrong")
    assert "delay" in registry.effect_names()
    assert "register() takes a Effect, got str" in capsys.readouterr().err


def test_two_plugins_registering_one_name_is_an_error_naming_both():
    pm = registry.get_plugin_manager()
    pm.register(InlinePlugin(make_effect("delay")), name="other-delay")
    with pytest.raises(
        DuplicateNameError, match=r"'delay' is registered twice.*'delay'.*'other-delay'"
    ):
        registry.registrations("effect")
    result = CliRunner().invoke(cli, ["list-effects"])
    assert result.exit_code == 2
    assert "other-delay" in result.stderr and "registered twice" in result.stderr


def test_unknown_names_list_the_known_ones_and_suggest_the_closest():
    with pytest.raises(UnknownNameError) as info:
        registry.get_effect("limitr")
    message = str(info.value)
    assert "did you mean 'limiter'?" in message
    assert "bitcrusher, delay, limiter, sample-rate" in message


def test_fxr_plugins_variable_chooses_which_entry_points_load(monkeypatch):
    monkeypatch.setenv("FXR_PLUGINS", "delay,synth")
    registry.reset()
    assert registry.effect_names() == ["delay"]
    monkeypatch.setenv("FXR_PLUGINS", "")
    registry.reset()
    assert registry.effect_names() == []
    result = CliRunner().invoke(cli, ["list-effects"])
    assert result.exit_code == 0 and "none installed" in result.stdout


def test_plugins_command_lists_distributions_and_hooks():
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    found = {p["name"]: p for p in json.loads(result.stdout)}
    assert found["limiter"]["hooks"] == ["register_effects"]
    assert found["synth"]["hooks"] == ["register_sources"]
    assert found["limiter"]["distribution"] == "fxregistry"


@pytest.mark.parametrize("name", registry.effect_names())
def test_the_core_never_names_an_effect(name):
    # Not in code, help texts or comments: a new effect must need no core change,
    # and nothing in the core may read as if one effect were special.
    core = Path(fxregistry.__file__).parent
    for path in sorted(core.rglob("*.py")):
        text = path.read_text().lower()
        where = path.relative_to(core)
        assert not re.search(rf"\b{re.escape(name)}\b", text), f"{where} names {name}"


PLUGIN_FILES = sorted((ROOT / "plugins").rglob("*.py"))


def public_api_violations(tree: ast.AST) -> list[str]:
    """Every use of fxregistry in ``tree`` that goes past its public API (``__all__``)."""
    public = set(fxregistry.__all__)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("fxregistry.")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fxregistry."):
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.ImportFrom) and node.module == "fxregistry":
            found += [
                f"from fxregistry import {a.name}" for a in node.names if a.name not in public
            ]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "fxregistry" and node.attr not in public:
                found.append(f"fxregistry.{node.attr}")
    return found


def test_the_import_check_catches_internal_imports():
    code = (
        "import fxregistry.registry\nfrom fxregistry.errors import FxrError\n"
        "from fxregistry import registry, Effect\nimport fxregistry\nfxregistry.dataset.x\n"
        "fxregistry.Effect\n"
    )
    assert public_api_violations(ast.parse(code)) == [
        "fxregistry.registry",
        "from fxregistry.errors import ...",
        "from fxregistry import registry",
        "fxregistry.dataset",
    ]


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugins_use_only_the_public_api(path):
    # Built-ins are written exactly like third-party plugins: what they need,
    # fxregistry exports; its subpackages may change without notice.
    assert public_api_violations(ast.parse(path.read_text())) == []


def test_the_example_plugin_is_among_the_checked_files():
    names = {p.name for p in PLUGIN_FILES} | {p.parent.name for p in PLUGIN_FILES}
    assert {"fxr_distortion", "limiter.py", "drums.py", "models.py"} <= names


UNKNOWN_HOOK = (
    THIRD_PARTY_EFFECT
    + """
@fxregistry.hookimpl
def register_modles(register):
    raise AssertionError("an unknown hook is never called")


@fxregistry.hookimpl(optionalhook=True)
def register_presets(register):
    pass
"""
)


def test_an_unknown_hook_is_named_in_one_warning_with_the_closest_hook(fake_distribution, capsys):
    fake_distribution(
        "fxr-test-typo", {"typo": "fxr_test_typo"}, {"fxr_test_typo.py": UNKNOWN_HOOK}
    )
    names = registry.effect_names()
    assert "gain" in names and {"limiter", "delay"} <= set(names)  # the rest keeps working
    assert "cnn" in registry.registrations("model")
    warning = capsys.readouterr().err.strip().splitlines()
    assert len(warning) == 1  # the optional hook is not reported
    assert "'typo'" in warning[0] and "fxr-test-typo" in warning[0]
    assert "unknown hook 'register_modles' (did you mean 'register_models'?)" in warning[0]


def test_a_hook_with_a_wrong_signature_is_a_broken_plugin(fake_distribution):
    bad = THIRD_PARTY_EFFECT.replace("def register_effects(register)", "def register_effects(x)")
    fake_distribution("fxr-test-sig", {"sig": "fxr_test_sig"}, {"fxr_test_sig.py": bad})
    result = CliRunner().invoke(cli, ["list-effects", "--json"])
    assert result.exit_code == 0
    assert result.stderr.count("\n") == 1
    assert "plugin 'sig' from fxr-test-sig 1.0 could not be loaded" in result.stderr
    assert "PluginValidationError" in result.stderr and "register_effects" in result.stderr
    effects = {e["name"] for e in json.loads(result.stdout)}
    assert "gain" not in effects and "delay" in effects


def test_fxr_trace_hooks_prints_every_hook_call(monkeypatch):
    monkeypatch.setenv("FXR_TRACE_HOOKS", "1")
    registry.reset()

    class Raising:
        @fxregistry.hookimpl
        def register_effects(self, register):
            raise ValueError("bad configuration")

    registry.get_plugin_manager().register(Raising(), name="raising")
    result = CliRunner().invoke(cli, ["list-effects", "--json"])
    assert result.exit_code == 0
    trace = [line for line in result.stderr.splitlines() if line.startswith("fxr: trace: ")]
    for name in ("limiter", "bitcrusher", "sample-rate", "delay"):
        assert f"fxr: trace: register_effects in plugin {name!r}: registered {name}" in trace
    assert (
        "fxr: trace: register_effects in plugin 'raising': raised ValueError: bad configuration"
    ) in trace
    assert len(trace) == len(registry.registrations("effect")) + 1
    assert "register_sources" not in result.stderr  # list-effects asks for effects only


def test_without_fxr_trace_hooks_nothing_is_traced():
    result = CliRunner().invoke(cli, ["list-effects", "--json"])
    assert result.exit_code == 0 and "trace" not in result.stderr


def test_tests_load_only_fxrs_own_plugins(monkeypatch, fake_distribution):
    # An installed distribution (as `pip install ./plugins/fxr-distortion` makes)
    # stays out until a test asks for it.
    allowed = os.environ["FXR_PLUGINS"]
    fake_distribution(
        "fxr-test-gain", {"gain": "fxr_test_gain"}, {"fxr_test_gain.py": THIRD_PARTY_EFFECT}
    )
    monkeypatch.setenv("FXR_PLUGINS", allowed)
    registry.reset()
    assert "gain" not in registry.effect_names()
    loaded = {name for name, _ in registry.get_plugin_manager().list_name_plugin()}
    assert loaded == set(allowed.split(","))
    assert {"limiter", "synth", "models"} <= loaded
