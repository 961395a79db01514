"""Keep the sim-LLM tests offline and out of the home directory.

Set before dspy / litellm are first imported: DSPy opens its disk cache at import time (in
$DSPY_CACHEDIR or ~/.dspy_cache), and LiteLLM (and DSPy's model metadata) would otherwise try to
fetch a model cost map from GitHub."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
if "DSPY_CACHEDIR" not in os.environ:
    _cache_dir = tempfile.mkdtemp(prefix="flywheel-test-dspy-cache-")
    os.environ["DSPY_CACHEDIR"] = _cache_dir
    atexit.register(shutil.rmtree, _cache_dir, ignore_errors=True)
