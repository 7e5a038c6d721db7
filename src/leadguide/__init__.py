"""leadguide: Markdown chapters and YAML data to an exact-length PDF guide, and its email."""
from .native import load_libraries_directly

load_libraries_directly()  # before anything imports WeasyPrint: no compiler runs at its import

from .build import BuildResult, build  # noqa: E402
from .errors import GuideError  # noqa: E402
from .guide.config import GuideConfig, load_config  # noqa: E402

__version__ = "0.1.0"
__all__ = ["BuildResult", "GuideConfig", "GuideError", "build", "load_config"]
