"""What older CPython versions need to see the native module as newer ones do.

CPython 3.9 drops the text signature from the docstring of a type made by ``PyType_FromSpec``
(which an abi3 extension's classes are), so ``inspect.signature(npaa.NpyAppendArray)`` finds
nothing there and raises; from 3.10 on, PyO3's text signature is visible. On 3.9 the class
gets the signature below instead. It must equal the native one: the tests compare them on
every Python that shows the native signature.
"""

import inspect
import sys


def npy_append_array_signature(
    filename,
    delete_if_exists=False,
    rewrite_header_on_append=True,
    *,
    casting="same_kind",
    durability=None,
    buffer=0,
    mapped=None,
    fortran_order=None,
):
    """The parameters of ``NpyAppendArray(...)``, as its ``#[pyo3(signature)]`` states them."""


class _ClassSignature:
    """``__signature__`` of exactly one class: ``None`` (look further) for its subclasses,
    which may define their own ``__init__``, and for its instances."""

    def __init__(self, cls, signature):
        self._cls = cls
        self._signature = signature

    def __get__(self, instance, owner):
        return self._signature if instance is None and owner is self._cls else None


def apply(native):
    """Gives ``native``'s classes what this Python cannot read from the extension itself."""
    if sys.version_info < (3, 10):
        cls = native.NpyAppendArray
        cls.__signature__ = _ClassSignature(cls, inspect.signature(npy_append_array_signature))
