"""The hand-written type stubs (`npaa/_native.pyi`) say what the native module has: the same
public names, and for every function and method the module describes, the same parameters
(names, kinds, defaults) and the same attributes of each class."""

import ast
import inspect
import os

import pytest

import npaa
from npaa import _native

STUB = os.path.join(os.path.dirname(npaa.__file__), "_native.pyi")


def stub_tree():
    with open(STUB) as f:
        return ast.parse(f.read())


def stub_signature(fn):
    """inspect.Signature of a stub `def`, without `self` and annotations."""
    args = fn.args
    params = []
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for arg, default in zip(positional, defaults):
        if arg.arg == "self":
            continue
        params.append(inspect.Parameter(
            arg.arg, inspect.Parameter.POSITIONAL_OR_KEYWORD,
            default=inspect.Parameter.empty if default is None else ast.literal_eval(default)))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        params.append(inspect.Parameter(
            arg.arg, inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if default is None else ast.literal_eval(default)))
    return inspect.Signature(params)


def top_level():
    return {node.name: node for node in stub_tree().body
            if isinstance(node, (ast.ClassDef, ast.FunctionDef))}


def test_the_stub_names_what_the_module_has():
    public = {n for n in dir(_native) if not n.startswith("_")}
    assert {n for n in top_level() if not n.startswith("_")} == public
    # The private classes the package's pure-Python classes build on are there too.
    assert all(hasattr(_native, n) for n in top_level())


@pytest.mark.parametrize("name", sorted(n for n, node in top_level().items()
                                        if isinstance(node, ast.FunctionDef)))
def test_functions(name):
    assert stub_signature(top_level()[name]) == inspect.signature(getattr(_native, name))


@pytest.mark.parametrize("name", sorted(n for n, node in top_level().items()
                                        if isinstance(node, ast.ClassDef)))
def test_classes(name):
    cls = getattr(_native, name)
    node = top_level()[name]
    members = {}
    for item in node.body:
        if isinstance(item, ast.FunctionDef):
            members[item.name] = item
        elif isinstance(item, ast.AnnAssign):
            members[item.target.id] = item
    public = {n for n in dir(cls) if not n.startswith("_")}
    if not issubclass(cls, BaseException):
        assert {n for n in members if not n.startswith("_")} == public
    if "__init__" in members:
        assert stub_signature(members["__init__"]) == inspect.signature(cls)
    for n, item in members.items():
        if isinstance(item, ast.FunctionDef) and not n.startswith("_") and callable(
                getattr(cls, n)) and not isinstance(getattr(cls, n), property):
            try:
                actual = inspect.signature(getattr(cls, n))
            except ValueError:
                continue  # no text signature
            expected = stub_signature(item)
            assert expected == actual.replace(parameters=[
                p for p in actual.parameters.values() if p.name != "self"]), n
