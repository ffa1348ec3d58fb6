"""Package boundaries the team brief fixes: ``analysis/`` and ``training/`` never import Django."""

import subprocess
import sys


def test_analysis_and_training_import_without_django():
    # A fresh interpreter: this test process has Django loaded already. Every module of both packages is
    # imported, so a Django import anywhere (even via analysis.schema, which experiments shares) fails here.
    code = (
        "import importlib, pkgutil, sys\n"
        "import analysis, training\n"
        "for package in (analysis, training):\n"
        "    for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if not module.name.endswith('.__main__'):  # __main__ runs the CLI\n"
        "            importlib.import_module(module.name)\n"
        "loaded = sorted(name for name in sys.modules if name == 'django' or name.startswith('django.'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
