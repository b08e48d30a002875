"""The jupyter_server extension behind the JupyterLab "Models" panel: JSON under `/nbmodels/api/`.

Enabled on install by `jupyter-config/server-config/nbmodels.json`; found through
`nbmodels._jupyter_server_extension_points`, which names this module.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["_load_jupyter_server_extension"]


def _load_jupyter_server_extension(server_app) -> None:
    """Add the handlers under the server's base URL, rooted at its contents root."""
    from .handlers import routes

    root_dir = Path(getattr(server_app.contents_manager, "root_dir", None) or server_app.root_dir)
    web_app = server_app.web_app
    web_app.add_handlers(".*$", routes(web_app.settings["base_url"], root_dir))
    server_app.log.info("nbmodels | /nbmodels/api/ serving registries under %s", root_dir)
