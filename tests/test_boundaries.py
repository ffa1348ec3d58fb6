"""Package boundaries the team brief fixes: ``analysis/`` and ``training/`` never import Django;
``exportformat/`` and ``mvfit_common/`` import neither Django nor any mvfit app."""

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


APPS = ("analysis", "training", "annotation", "experiments", "mturk", "demo", "webapp", "bench")


def test_the_shared_packages_import_neither_django_nor_any_app():
    code = (
        "import importlib, pkgutil, sys\n"
        "import exportformat, mvfit_common\n"
        "for package in (exportformat, mvfit_common):\n"
        "    for module in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(module.name)\n"
        "import exportformat as e\n"
        "e.read_export, e.write_export\n"  # the lazily loaded halves too
        f"apps = {APPS!r}\n"
        "loaded = sorted(n for n in sys.modules if n.split('.')[0] in ('django', *apps))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_export_schema_is_light_enough_for_the_request_path():
    # The platform imports exportformat.schema while serving requests; pandas and pyarrow load only on use.
    code = "import sys, exportformat\nassert not {'pandas', 'pyarrow', 'pandera'} & set(sys.modules), sorted(sys.modules)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
