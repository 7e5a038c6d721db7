"""leadguide: Markdown chapters and YAML data to an exact-length PDF guide, and its email."""
from .build import BuildResult, build
from .errors import GuideError
from .guide.config import GuideConfig, load_config

__version__ = "0.1.0"
__all__ = ["BuildResult", "GuideConfig", "GuideError", "build", "load_config"]
