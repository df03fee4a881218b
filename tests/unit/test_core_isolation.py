import subprocess
import sys


def test_core_never_imports_nonebot():
    # A fresh interpreter: the test session itself has nonebot loaded by other tests.
    code = (
        "import pkgutil, importlib, sys, wenku\n"
        "for module in pkgutil.walk_packages(wenku.__path__, 'wenku.'):\n"
        "    importlib.import_module(module.name)\n"
        "loaded = sorted(name for name in sys.modules if name.split('.')[0] in ('nonebot', 'nonebug'))\n"
        "print(loaded)\n"
        "sys.exit(1 if loaded else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
