"""No job asks the Hugging Face hub: HF_HUB_OFFLINE is set before huggingface_hub is imported."""
import ast
import os
import subprocess
import sys
from pathlib import Path


def test_every_job_that_loads_a_model_is_offline(tmp_path):
    """Every workflow script imports the package before any other third-party module (so
    HF_HUB_OFFLINE is set before huggingface_hub reads it), and a fresh process that loads a
    model is offline. The standard library may come first (a plain-command entry point needs
    sys and pathlib to find the package)."""
    scripts = sorted((Path(__file__).resolve().parents[1] / "workflow" / "scripts").glob("*.py"))
    for script in scripts:
        imports = [n for n in ast.parse(script.read_text()).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        modules = [n.module if isinstance(n, ast.ImportFrom) else n.names[0].name for n in imports]
        first = next(m for m in modules if m.split(".")[0] not in sys.stdlib_module_names)
        assert first.split(".")[0] == "svd_explain", f"{script.name} imports {first} before svd_explain"
    environment = {k: v for k, v in os.environ.items() if k != "HF_HUB_OFFLINE"}
    environment["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    probe = "import svd_explain.ast_model, huggingface_hub.constants as c; print(c.HF_HUB_OFFLINE)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=environment, check=True)
    assert done.stdout.strip() == "True"
